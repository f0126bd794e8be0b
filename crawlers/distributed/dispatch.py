"""The monitor-run side: enqueue a crawl's start requests into Redis, wait until workers have
drained them, and merge the workers' parts into the run's CrawlRun.

``run_distributed`` is what ``scheduler.runner.run_crawl`` calls instead of starting a
subprocess when REDIS_URL is set. The spider is built here (no reactor: its ``start()`` is
iterated on a private asyncio loop) only to produce its start requests, which go into the run's
scrapy-redis queue with the run id in their meta; the run's arguments and settings are
published beside them so every worker builds the same spider.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import redis
from scrapy_redis import picklecompat
from scrapy_redis.dupefilter import RFPDupeFilter

from crawlers.distributed import scripts
from crawlers.distributed.frontier import drain_state, enqueue, requeue_dead
from crawlers.distributed.keys import Keys, redis_client, text
from crawlers.distributed.runs import RUN, merge_parts, run_record
from crawlers.items import CrawlRun, utcnow

if TYPE_CHECKING:
    from scrapy import Request, Spider
    from scrapy.settings import Settings

__all__ = ["Outcome", "Fence", "run_distributed", "start_requests"]

log = logging.getLogger(__name__)
REDIS_DOWN = (redis.ConnectionError, redis.TimeoutError)


@dataclass(frozen=True)
class Fence:
    """A monitor-run lock as held: its key and this holder's token (locks.RedisLock)."""

    key: str
    token: str


@dataclass
class Outcome:
    """How a distributed crawl ended (``ended`` as scheduler.runner's: normal, timeout-…)."""

    run_id: str
    record: CrawlRun
    ended: str = "normal"
    lines: list[str] = field(default_factory=list)


def start_requests(platform: str, settings: Settings, args: Mapping[str, Any]
                   ) -> tuple[Spider, list[Request]]:
    """The spider of ``platform`` built with ``args``, and what its ``start()`` yields."""
    from scrapy.crawler import Crawler
    from scrapy.http import Request
    from scrapy.spiderloader import get_spider_loader

    spidercls = get_spider_loader(settings).load(platform)
    crawler = Crawler(spidercls, settings)
    spider = spidercls.from_crawler(crawler, **{k: str(v) for k, v in args.items()})

    async def collect() -> list[Request]:
        return [r async for r in spider.start() if isinstance(r, Request)]

    loop = asyncio.new_event_loop()  # the caller may be any thread, with or without a loop
    try:
        return spider, loop.run_until_complete(collect())
    finally:
        loop.close()


def run_distributed(
    platform: str, *, run_id: str, settings: Settings, spider_args: Mapping[str, Any],
    forwarded: Mapping[str, Any], timeout: float | None, grace: float,
    on_line: Callable[[str], None], fence: Fence | None = None,
    server: redis.Redis | None = None,
) -> Outcome:
    """Crawl ``platform`` on the workers; returns the merged record (not yet stored).

    ``timeout`` (seconds, None for none) stops the run like a local crawl's time limit: the
    workers are told to close it ("shutdown") and get ``grace`` seconds to hand in their parts.
    :raises LockLost: when ``fence`` no longer holds (another scheduler runs this monitor).
    """
    from crawlers.distributed.locks import LockLost

    server = server or redis_client(settings)
    keys = Keys.from_settings(settings)
    run = keys.for_run(run_id)
    args = {k: v for k, v in spider_args.items() if v not in (None, "")}
    seeding = settings.copy()
    for key, value in forwarded.items():
        seeding.set(key, value, priority="cmdline")
    spider, seeds = start_requests(platform, seeding, args)
    spec = {"run_id": run_id, "platform": platform, "args": args,
            "settings": dict(forwarded)}
    published = server.register_script(scripts.PUBLISH)(
        keys=[keys.runs, run.run, fence.key if fence else run.run],
        args=[run_id, json.dumps(spec, ensure_ascii=False, default=str), platform,
              fence.token if fence else ""])
    if not int(published):
        held = fence.key if fence else ""
        raise LockLost(f"run {run_id} not started: the monitor-run lock {held} is held by "
                       "another scheduler now")
    df = RFPDupeFilter(server, run.dupefilter)
    for request in seeds:
        request.meta[RUN] = run_id
        enqueue(server, keys, run_id, picklecompat.dumps(request.to_dict(spider=spider)),
                df.request_fingerprint(request), request.priority, request.dont_filter)
    server.hset(run.run, "seeded", "1")
    on_line(f"{platform}: run {run_id} queued in Redis ({len(seeds)} start requests)")
    started = time.monotonic()
    deadline = started + timeout if timeout else None
    poll = settings.getfloat("DISTRIBUTED_POLL_INTERVAL", 0.2)
    ended, reason, last_note = "normal", "", 0.0
    while True:
        try:
            requeue_dead(server, keys, run_id)
            seeded, queued, leased, reason = drain_state(server, run)
        except REDIS_DOWN as exc:
            on_line(f"{platform}: Redis unreachable, still waiting: {exc}")
            seeded, queued, leased = True, 1, 1
        if reason or (seeded and queued == 0 and leased == 0):
            break
        now = time.monotonic()
        if deadline is not None and now >= deadline and ended == "normal":
            ended = "timeout-graceful"
            on_line(f"{platform}: crawl stopped after {timeout:g}s (MONITOR_CRAWL_TIMEOUT): "
                    "the workers close the run")
            _quietly(lambda: server.hsetnx(run.run, "close_reason", "shutdown"))
        if now - last_note >= 15:
            on_line(f"{platform}: {queued} requests queued, {leased} in flight")
            last_note = now
        time.sleep(poll)
    # Closed to newcomers, then every worker that joined hands in its part (or is dead).
    _quietly(lambda: server.srem(keys.runs, run_id))
    parts = _collect_parts(server, keys, run_id, grace, poll)
    if parts.missing and ended != "normal":
        ended = "timeout-killed"
    requeued = int(_quietly(lambda: server.hget(run.run, "requeued")) or 0)
    merged = merge_parts(parts.parts)
    merged.errors += [f"worker {w} died during the run; its stats are missing (its requests "
                      "were re-queued)" for w in parts.dead]
    if not parts.parts and not parts.dead:
        merged.errors.append("no tingfeng worker took the run (is one running with the same "
                             "REDIS_URL?)")
    record = run_record(run_id, spec, merged, reason or "finished", requeued=requeued,
                        now=utcnow())
    _quietly(lambda: server.delete(*run.all()))
    on_line(f"{platform}: run {run_id} {record.finish_reason} on "
            f"{len(parts.parts)} worker(s), {record.stats.get('item_scraped_count', 0)} items")
    return Outcome(run_id, record, ended)


@dataclass
class _Parts:
    parts: list[dict[str, Any]] = field(default_factory=list)
    dead: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)


def _collect_parts(server: redis.Redis, keys: Keys, run_id: str, grace: float,
                   poll: float) -> _Parts:
    run = keys.for_run(run_id)
    give_up = time.monotonic() + grace
    while True:
        try:
            joined = {text(w) for w in server.smembers(run.workers)}
            raw = server.hgetall(run.parts)
            alive = {w for w in joined if server.exists(keys.worker(w))}
        except REDIS_DOWN:
            if time.monotonic() >= give_up:
                return _Parts()
            time.sleep(poll)
            continue
        got = {text(k): json.loads(v) for k, v in raw.items()}
        waiting = alive - set(got)
        if not waiting or time.monotonic() >= give_up:
            return _Parts(list(got.values()), sorted(joined - alive - set(got)), sorted(waiting))
        time.sleep(poll)


def _quietly(fn: Callable[[], Any]) -> Any:
    try:
        return fn()
    except REDIS_DOWN as exc:
        log.warning("Redis unreachable: %s", exc)
        return None
