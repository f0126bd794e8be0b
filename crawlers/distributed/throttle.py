"""Politeness across workers: one token bucket and one concurrency cap per host, in Redis.

A platform's DOWNLOAD_DELAY becomes a global rate of 1/DOWNLOAD_DELAY requests per second per
host, and its CONCURRENT_REQUESTS_PER_DOMAIN a global cap on requests in flight to the host,
however many workers crawl it. Both are taken in one Lua script on the server's clock
(scripts.ACQUIRE), so no two workers can take the same token, and a worker that dies holding a
slot only holds it until DOWNLOAD_TIMEOUT has passed. A request *reserves* the host's next send
time and sleeps until it, so the workers together use the whole rate, in the server's order.
The host is the platform's real host (``meta["real_url"]``), so the replay server in tests is
throttled per platform host too.

While Redis is unreachable requests wait (politeness is never traded for progress).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import redis

from crawlers.distributed import scripts
from crawlers.distributed.keys import Keys, redis_client

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.crawler import Crawler
    from scrapy.http import Response

__all__ = ["GlobalThrottleMiddleware", "TokenBucket", "host_of"]

log = logging.getLogger(__name__)

SLOT = "tingfeng_throttle"  # request.meta: (host, member) of the concurrency slot it holds
REDIS_DOWN = (redis.ConnectionError, redis.TimeoutError)
# The platform counts arrivals, not our send times: network and scheduling jitter can bring two
# sends closer than DOWNLOAD_DELAY on the way. Spacing sends 2% wider leaves ~20 ms of jitter
# (at 60 req/s) before a platform could see one request too many in a second.
JITTER_MARGIN = 0.02


def host_of(request: Request) -> str:
    """The host a request is polite to: the real platform host when the URL was rebased."""
    real = request.meta.get("real_url") or request.url
    return (urlsplit(real).hostname or "unknown").lower()


class TokenBucket:
    """The per-host bucket and cap (``rate`` tokens per second up to ``burst``; ``concurrency``
    slots, 0 for none)."""

    def __init__(self, server: redis.Redis, keys: Keys, *, rate: float, burst: float,
                 concurrency: int, hold: float) -> None:
        self.server, self.keys = server, keys
        self.rate, self.burst = rate, max(burst, 1.0)
        self.concurrency, self.hold = concurrency, hold
        # How late a reserved send may still go: half the spacing of two requests, so a late
        # one and the next on-time one are still at least half a DOWNLOAD_DELAY apart.
        self.slack = 0.5 / rate if rate > 0 else float("inf")
        self._script = server.register_script(scripts.ACQUIRE)

    def try_acquire(self, host: str, member: str) -> tuple[float, int]:
        """(0, server time in µs) when a token and a slot were taken for ``member`` now; else
        (seconds to wait before trying again, server time)."""
        granted, wait, now = self._acquire(host, member, reserve=False)
        return (0.0 if granted else wait), now

    def reserve(self, host: str, member: str) -> tuple[bool, float]:
        """Take a slot and the host's next send time for ``member``: (True, seconds until that
        time, to be slept before sending) or, when the host's concurrency cap is full,
        (False, seconds before asking again)."""
        granted, wait, _ = self._acquire(host, member, reserve=True)
        return granted, wait

    def _acquire(self, host: str, member: str, *, reserve: bool) -> tuple[bool, float, int]:
        granted, wait, now = self._script(
            keys=[self.keys.bucket(host), self.keys.active(host)],
            args=[self.rate, self.burst, self.concurrency, member, int(self.hold * 1000),
                  "1" if reserve else "0"])
        # A grant's wait is in µs (a send time), a refusal's in ms (a polling pause).
        return bool(granted), int(wait) / (1e6 if granted else 1e3), int(now)

    def release(self, host: str, member: str) -> None:
        if self.concurrency > 0:
            self.server.zrem(self.keys.active(host), member)


class GlobalThrottleMiddleware:
    """Downloader middleware (last before the download handler): waits for the host's token.

    Settings: DISTRIBUTED_HOST_DELAY and DISTRIBUTED_HOST_CONCURRENCY (the worker sets them from
    the platform's DOWNLOAD_DELAY and CONCURRENT_REQUESTS_PER_DOMAIN, then turns the local
    delay off so a granted token is sent at once), DISTRIBUTED_THROTTLE_BURST, DOWNLOAD_TIMEOUT,
    REDIS_URL, DISTRIBUTED_KEY_PREFIX, DISTRIBUTED_WORKER_ID.
    """

    def __init__(self, crawler: Crawler, bucket: TokenBucket, worker: str) -> None:
        self.crawler, self.bucket, self.worker = crawler, bucket, worker
        self._seq = itertools.count()
        self._down = False
        self._unreleased: list[tuple[str, str]] = []  # slots to give back once Redis answers

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> GlobalThrottleMiddleware:
        s = crawler.settings
        delay = s.getfloat("DISTRIBUTED_HOST_DELAY", s.getfloat("DOWNLOAD_DELAY"))
        concurrency = s.getint("DISTRIBUTED_HOST_CONCURRENCY",
                               s.getint("CONCURRENT_REQUESTS_PER_DOMAIN"))
        bucket = TokenBucket(redis_client(s), Keys.from_settings(s),
                             rate=(1 - JITTER_MARGIN) / delay if delay > 0 else 0.0,
                             burst=s.getfloat("DISTRIBUTED_THROTTLE_BURST", 1.0),
                             concurrency=max(concurrency, 0),
                             hold=s.getfloat("DOWNLOAD_TIMEOUT", 180) + 30)
        return cls(crawler, bucket, str(s.get("DISTRIBUTED_WORKER_ID") or "local"))

    async def process_request(self, request: Request) -> None:
        host = host_of(request)
        waited = 0.0
        while True:
            member = f"{self.worker}:{next(self._seq)}"
            asked = time.monotonic()
            granted, wait = await self._reserve(host, member)
            if not granted:  # the host's concurrency cap is full (or Redis is down)
                waited += wait
                await asyncio.sleep(wait)
                continue
            request.meta[SLOT] = (host, member)  # held from now: released however this ends
            if wait <= 0:
                break
            try:
                await asyncio.sleep(wait)  # until the send time the server reserved for it
            except BaseException:
                self._release(request)
                raise
            waited += time.monotonic() - asked
            # Woken too late (a busy event loop, a starved CPU): sending now would bunch this
            # request up against the next worker's, so the slot is given up for a new one.
            if time.monotonic() - asked - wait <= self.bucket.slack:
                break
            self._release(request)
            self._stat("distributed/throttle/late_slots", 1)
        if waited:
            self._stat("distributed/throttle/waited_ms", int(waited * 1000))

    async def _reserve(self, host: str, member: str) -> tuple[bool, float]:
        try:
            while self._unreleased:  # else they would block the host until they expire
                self.bucket.release(*self._unreleased[0])
                self._unreleased.pop(0)
            granted, wait = self.bucket.reserve(host, member)
        except REDIS_DOWN as exc:
            if not self._down:
                log.warning("throttle: Redis unreachable, requests wait for it: %s", exc)
                self._down = True
            return False, 0.5
        if self._down:
            log.warning("throttle: Redis is back")
            self._down = False
        return granted, wait

    def _stat(self, key: str, n: int) -> None:
        if self.crawler.stats is not None:
            self.crawler.stats.inc_value(key, n)

    def process_response(self, request: Request, response: Response) -> Response:
        self._release(request)
        return response

    def process_exception(self, request: Request, exception: BaseException) -> None:
        self._release(request)

    def _release(self, request: Request) -> None:
        slot: Any = request.meta.pop(SLOT, None)
        if slot:
            try:
                self.bucket.release(*slot)
            except REDIS_DOWN:
                self._unreleased.append(slot)
