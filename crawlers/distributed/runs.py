"""Run bookkeeping: when a leased request is done, a worker's part of a run, the merged record.

A leased request is *done* once its callback (or errback) has finished and every item it
yielded has passed the item pipelines; it is *acknowledged* (its lease deleted) only after the
store pipeline's next flush, so a worker killed at any moment loses nothing: whatever was not
acknowledged is re-queued and crawled again (upserts make the repeat harmless).

Components, named in the settings of each run's crawler by the worker:

* ``RunSpiderMiddleware`` counts items per lease, strips the lease from child requests, and
  drops the spider's own start requests (the monitor run seeded them).
* ``RunStorePipeline`` is StorePipeline with serialized flushes and, at close, the worker's part
  of the run's record written to Redis instead of a CrawlRun of its own.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import weakref
from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from scrapy import Request, signals

from crawlers.items import CrawlRun, utcnow
from crawlers.pipelines import StorePipeline

if TYPE_CHECKING:
    from scrapy import Spider
    from scrapy.crawler import Crawler
    from scrapy.http import Response

__all__ = [
    "LEASE",
    "RUN",
    "RunBook",
    "RunSpiderMiddleware",
    "RunStorePipeline",
    "merge_parts",
]

log = logging.getLogger(__name__)

LEASE = "tingfeng_lease"  # request.meta: the lease this request was popped under (never stored)
RUN = "tingfeng_run"  # request.meta: the run id, on every request of a distributed run


class RunBook:
    """Per crawler: which leases are in flight, and which are done and wait for a flush."""

    _books: weakref.WeakKeyDictionary[Crawler, RunBook] = weakref.WeakKeyDictionary()

    def __init__(self) -> None:
        self.outstanding: dict[str, int] = {}  # lease → 1 (its callback) + items not through
        self.callback_done: set[str] = set()
        self.settled: list[str] = []  # done; acknowledged after the next flush
        self.pipeline: RunStorePipeline | None = None

    @classmethod
    def for_crawler(cls, crawler: Crawler) -> RunBook:
        book = cls._books.get(crawler)
        if book is None:
            book = cls._books[crawler] = cls()
        return book

    def taken(self, lease: str) -> None:
        self.outstanding[lease] = 1

    def item_out(self, lease: str | None) -> None:
        if lease in self.outstanding:
            self.outstanding[lease] += 1

    def item_through(self, lease: str | None) -> None:
        if lease in self.outstanding:
            self.outstanding[lease] -= 1
            self._settle(lease)

    def done(self, lease: str | None) -> None:
        """The request's callback or errback finished (or it was replaced by a retry or a
        redirect already queued). Idempotent."""
        if lease in self.outstanding and lease not in self.callback_done:
            self.callback_done.add(lease)
            self.outstanding[lease] -= 1
            self._settle(lease)

    def _settle(self, lease: str) -> None:
        if self.outstanding.get(lease) == 0:
            del self.outstanding[lease]
            self.callback_done.discard(lease)
            self.settled.append(lease)

    def take_settled(self) -> list[str]:
        settled, self.settled = self.settled, []
        return settled

    def unsettled(self) -> list[str]:
        return list(self.outstanding)


def _lease_of(response: Any) -> str | None:
    request = getattr(response, "request", None)  # a Response, or a Failure (Scrapy sets it)
    meta = getattr(request, "meta", None)
    return meta.get(LEASE) if isinstance(meta, dict) else None


class RunSpiderMiddleware:
    """Lease accounting on the spider side; see the module docstring. Order: closest to the
    engine (it must see exactly what the engine receives)."""

    def __init__(self, crawler: Crawler) -> None:
        self.book = RunBook.for_crawler(crawler)
        self.run_id = crawler.settings.get("CRAWL_RUN_ID") or ""
        for signal in (signals.item_scraped, signals.item_dropped, signals.item_error):
            crawler.signals.connect(self._item_through, signal=signal)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RunSpiderMiddleware:
        return cls(crawler)

    def _item_through(self, item: Any, response: Any = None, **kwargs: Any) -> None:
        self.book.item_through(_lease_of(response))

    async def process_start(self, start: AsyncIterator[Any]) -> AsyncIterator[Any]:
        # The monitor run enqueued this run's start requests; the spider's start() still runs
        # here for its side effects (Zhihu loads its signer there) but its requests are dropped.
        async for output in start:
            if not isinstance(output, Request):
                yield output

    async def process_spider_output(self, response: Response, result: AsyncIterator[Any]
                                    ) -> AsyncIterator[Any]:
        lease = _lease_of(response)
        try:
            async for output in result:
                if isinstance(output, Request):
                    output.meta.pop(LEASE, None)  # a child has its own lease once popped
                    output.meta[RUN] = self.run_id
                else:
                    self.book.item_out(lease)
                yield output
        finally:
            self.book.done(lease)

    def process_spider_exception(self, response: Response, exception: BaseException) -> None:
        self.book.done(_lease_of(response))


class RunStorePipeline(StorePipeline):
    """StorePipeline for a worker's share of a run (replaces it in ITEM_PIPELINES).

    Flushes are serialized, so "flush finished" means every item buffered before it is stored
    (or spooled); the close record goes to Redis as this worker's part of the run.

    Settings: those of StorePipeline, REDIS_URL, DISTRIBUTED_KEY_PREFIX, DISTRIBUTED_WORKER_ID.
    """

    def __init__(self, crawler: Crawler, *args: Any, **kwargs: Any) -> None:
        super().__init__(crawler, *args, **kwargs)
        self._flush_lock: asyncio.Lock | None = None
        RunBook.for_crawler(crawler).pipeline = self

    async def flush(self) -> None:
        """Store everything buffered so far (waiting for a flush already under way)."""
        if self._flush_lock is None:
            self._flush_lock = asyncio.Lock()
        async with self._flush_lock:
            await StorePipeline._flush(self)

    async def _flush(self) -> None:
        await self.flush()

    def spider_closed(self, spider: Spider, reason: str) -> None:
        from crawlers.distributed.keys import Keys, redis_client

        settings = self.crawler.settings
        stats = dict(self.crawler.stats.get_stats()) if self.crawler.stats else {}
        worker = str(settings.get("DISTRIBUTED_WORKER_ID") or "")
        part = {
            "worker": worker,
            "finish_reason": "items_lost" if self.lost else reason,
            "started_at": self.started_at.isoformat(),
            "finished_at": utcnow().isoformat(),
            "stats": {k: _jsonable(v) for k, v in stats.items()},
            "errors": [str(stats["tingfeng/close_message"])]
            if "tingfeng/close_message" in stats else [],
        }
        keys = Keys.from_settings(settings).for_run(self.run_id)
        try:
            _retrying(lambda: redis_client(settings).hset(
                keys.parts, worker, json.dumps(part, ensure_ascii=False)))
        except Exception as exc:  # noqa: BLE001 - stats only; the items are stored already
            log.error("could not hand this worker's part of run %s to Redis: %s",
                      self.run_id, exc)
        finally:
            if self.store is not None:
                self.store.close()


def _retrying(fn: Any, attempts: int = 20, pause: float = 0.5) -> Any:
    """``fn()``, retried through a short Redis outage (a restart takes a second or two)."""
    import redis

    for attempt in range(attempts):
        try:
            return fn()
        except (redis.ConnectionError, redis.TimeoutError):
            if attempt == attempts - 1:
                raise
            time.sleep(pause)
    return None  # pragma: no cover


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, (int, float, str, bool)) or value is None:
        return value
    return str(value)


# -- merging the parts ------------------------------------------------------------------------
_FIRST = ("start_time",)
_LAST = ("finish_time",)


@dataclass
class Merged:
    stats: dict[str, Any] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    started_at: datetime | None = None
    finished_at: datetime | None = None
    lost: bool = False


def merge_parts(parts: Iterable[Mapping[str, Any]]) -> Merged:
    """One run's stats from its workers' parts: counters are summed, ``*max*`` keys and
    ``elapsed_time_seconds`` take the largest, ``*min*`` the smallest, start/finish times the
    earliest/latest, other text the first seen; ``distributed/workers`` counts the parts.

    >>> merge_parts([{"stats": {"item_scraped_count": 2, "memusage/max": 5}},
    ...              {"stats": {"item_scraped_count": 3, "memusage/max": 7}}]).stats
    {'item_scraped_count': 5, 'memusage/max': 7, 'distributed/workers': 2}
    """
    out = Merged()
    count = 0
    for part in parts:
        count += 1
        out.errors += [str(e) for e in part.get("errors") or []]
        out.lost = out.lost or part.get("finish_reason") == "items_lost"
        for key, stamp in (("started_at", min), ("finished_at", max)):
            raw = part.get(key)
            if raw:
                value = datetime.fromisoformat(str(raw))
                current = getattr(out, key)
                setattr(out, key, value if current is None else stamp(current, value))
        for key, value in (part.get("stats") or {}).items():
            if key not in out.stats:
                out.stats[key] = value
                continue
            old = out.stats[key]
            if isinstance(value, bool) or not isinstance(value, (int, float)) \
                    or not isinstance(old, (int, float)):
                if key in _FIRST:
                    out.stats[key] = min(str(old), str(value))
                elif key in _LAST:
                    out.stats[key] = max(str(old), str(value))
                continue
            if "max" in key or key == "elapsed_time_seconds":
                out.stats[key] = max(old, value)
            elif "min" in key:
                out.stats[key] = min(old, value)
            else:
                out.stats[key] = old + value
    out.stats["distributed/workers"] = count
    return out


def run_record(run_id: str, spec: Mapping[str, Any], merged: Merged, finish_reason: str,
               *, requeued: int, now: datetime) -> CrawlRun:
    """The run's CrawlRun, as a local crawl's StorePipeline would have written it."""
    args = dict(spec.get("args") or {})
    keywords = [k for k in str(args.get("keywords") or "").split(",") if k]
    stats = dict(merged.stats)
    stats["distributed/requeued"] = requeued
    return CrawlRun(
        run_id=run_id, platform=str(spec.get("platform")), topic=args.get("topic") or None,
        kind="crawl", started_at=merged.started_at or now, finished_at=merged.finished_at or now,
        finish_reason="items_lost" if merged.lost else finish_reason,
        args={"keywords": keywords, "max_pages": args.get("max_pages"),
              "since": args.get("since"), "distributed": True},
        stats=stats, errors=merged.errors)
