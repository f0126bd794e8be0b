"""Politeness across workers: one token bucket and one concurrency cap per host, in Redis.

A platform's DOWNLOAD_DELAY becomes a global rate of 1/DOWNLOAD_DELAY requests per second per
host, and its CONCURRENT_REQUESTS_PER_DOMAIN a global cap on requests in flight to the host,
however many workers crawl it. Both are taken in one Lua script on the server's clock
(scripts.ACQUIRE), so no two workers can take the same token, and a worker that dies holding a
slot only holds it until DOWNLOAD_TIMEOUT has passed. The host is the platform's real host
(``meta["real_url"]``), so the replay server in tests is throttled per platform host too.

While Redis is unreachable requests wait (politeness is never traded for progress).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
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
        self._script = server.register_script(scripts.ACQUIRE)

    def try_acquire(self, host: str, member: str) -> tuple[float, int]:
        """(0, server time in µs) when a token and a slot were taken for ``member``; else
        (seconds to wait before trying again, server time)."""
        wait_ms, now = self._script(
            keys=[self.keys.bucket(host), self.keys.active(host)],
            args=[self.rate, self.burst, self.concurrency, member, int(self.hold * 1000)])
        return int(wait_ms) / 1000.0, int(now)

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
                             rate=1.0 / delay if delay > 0 else 0.0,
                             burst=s.getfloat("DISTRIBUTED_THROTTLE_BURST", 1.0),
                             concurrency=max(concurrency, 0),
                             hold=s.getfloat("DOWNLOAD_TIMEOUT", 180) + 30)
        return cls(crawler, bucket, str(s.get("DISTRIBUTED_WORKER_ID") or "local"))

    async def process_request(self, request: Request) -> None:
        host = host_of(request)
        member = f"{self.worker}:{next(self._seq)}"
        waited = 0.0
        while True:
            try:
                while self._unreleased:  # else they would block the host until they expire
                    self.bucket.release(*self._unreleased[0])
                    self._unreleased.pop(0)
                wait, _ = self.bucket.try_acquire(host, member)
                if self._down:
                    log.warning("throttle: Redis is back")
                    self._down = False
            except REDIS_DOWN as exc:
                if not self._down:
                    log.warning("throttle: Redis unreachable, requests wait for it: %s", exc)
                    self._down = True
                wait = 0.5
            if wait <= 0:
                break
            waited += wait
            await asyncio.sleep(wait)
        request.meta[SLOT] = (host, member)
        if waited and self.crawler.stats is not None:
            self.crawler.stats.inc_value("distributed/throttle/waited_ms", int(waited * 1000))

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
