"""Item pipelines: ValidatePipeline (drop malformed items with a reason) → StorePipeline
(batched idempotent upserts; the crawl's stats saved as a CrawlRun when it closes).

A store that is down never loses items: after a few retries a batch is spooled to a JSON-lines
file (STORE_SPOOL_DIR) and replayed into the store when the next crawl opens it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scrapy import signals
from scrapy.exceptions import DropItem

from crawlers.errors import StoreError
from crawlers.items import KINDS, Author, CrawlRun, Post, from_dict, to_dict, utcnow
from crawlers.storage import open_store

if TYPE_CHECKING:
    from scrapy import Spider
    from scrapy.crawler import Crawler

    from crawlers.storage import Store

__all__ = ["StorePipeline", "ValidatePipeline", "replay_spool", "spool_dir_for"]

log = logging.getLogger(__name__)


class ValidatePipeline:
    """Drops items that would corrupt the store, with a reason Scrapy counts
    (``item_dropped_reasons_count/DropItem``) and ours (``validate/<reason>``); fills in the
    crawl's topic and ``fetched_at``."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ValidatePipeline:
        return cls(crawler)

    def _drop(self, reason: str, item: Any) -> DropItem:
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value(f"validate/{reason}")
        return DropItem(
            f"{reason}: {type(item).__name__} "
            f"{getattr(item, 'post_id', getattr(item, 'author_id', ''))!r}"
        )

    def process_item(self, item: Any) -> Any:
        spider = self.crawler.spider
        if isinstance(item, Post):
            if not item.platform or not item.post_id:
                raise self._drop("missing_id", item)
            if item.kind not in KINDS:
                raise self._drop("unknown_kind", item)
            if item.created_at is not None and item.created_at.tzinfo is None:
                raise self._drop("naive_created_at", item)
            if item.created_at is None:
                assert self.crawler.stats is not None
                self.crawler.stats.inc_value("validate/missing_created_at")  # kept, but counted
            before = getattr(spider, "too_old", None)
            if before is not None and before(item.created_at):
                # `crawl --since 7d` bounds what is stored: search pages and timelines also
                # carry years-old posts (a 2019 post in a 2026 search), which are not news
                raise self._drop("before_since", item)
            topic = getattr(spider, "topic", None)
            if topic and topic not in item.topics:
                item.topics.append(topic)
            item.fetched_at = item.fetched_at or utcnow()
            return item
        if isinstance(item, Author):
            if not item.platform or not item.author_id:
                raise self._drop("missing_id", item)
            item.updated_at = item.updated_at or utcnow()
            return item
        raise self._drop("unknown_item_type", item)


class StorePipeline:
    """Batched upserts into the store named by STORE_URI.

    Settings: STORE_URI, STORE_BATCH_SIZE, STORE_RETRIES, STORE_SPOOL_DIR, CRAWL_RUN_ID (set by
    the runner so it can find this crawl's record; a random id otherwise).
    """

    def __init__(
        self, crawler: Crawler, uri: str, batch_size: int, retries: int, spool_dir: Path
    ) -> None:
        self.crawler = crawler
        self.uri = uri
        self.batch_size = max(1, batch_size)
        self.retries = retries
        self.spool_dir = spool_dir
        self.store: Store | None = None
        self.posts: list[Post] = []
        self.authors: list[Author] = []
        self.run_id = crawler.settings.get("CRAWL_RUN_ID") or uuid.uuid4().hex[:12]
        self.lost = 0  # records neither stored nor spooled: the crawl then ends "items_lost"
        self._outages = 0  # consecutive batches the store could not take
        self._down_until = 0.0  # time.monotonic() before which batches go straight to the spool
        self.started_at = utcnow()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StorePipeline:
        s = crawler.settings
        pipeline = cls(
            crawler,
            uri=s.get("STORE_URI"),
            batch_size=s.getint("STORE_BATCH_SIZE", 500),
            retries=s.getint("STORE_RETRIES", 3),
            spool_dir=spool_dir_for(Path(s.get("STORE_SPOOL_DIR")), s.get("STORE_URI")),
        )
        crawler.signals.connect(pipeline.spider_closed, signal=signals.spider_closed)
        return pipeline

    def open_spider(self) -> None:
        if self._connect():
            assert self.store is not None
            replayed = replay_spool(self.store, self.spool_dir)
            if replayed:
                log.info("replayed %d spooled records into the store", replayed)
                self._stat("tingfeng/spool_replayed", replayed)

    def _connect(self) -> bool:
        """Open the store if it is not open; a store that is down is not fatal (we spool)."""
        if self.store is None:
            try:
                self.store = open_store(self.uri)
            except StoreError as exc:
                log.error("store unavailable, items will be spooled to %s: %s", self.spool_dir, exc)
                return False
        return True

    async def process_item(self, item: Any) -> Any:
        (self.posts if isinstance(item, Post) else self.authors).append(item)
        if len(self.posts) >= self.batch_size or len(self.authors) >= self.batch_size:
            await self._flush()
        return item

    async def close_spider(self) -> None:
        await self._flush()

    async def _flush(self) -> None:
        posts, self.posts = self.posts, []
        authors, self.authors = self.authors, []
        for records, method, stat in (
            (posts, "upsert_posts", "posts"),
            (authors, "upsert_authors", "authors"),
        ):
            if records:
                await self._write(records, method, stat)

    def _store_down(self) -> bool:
        """True while the store is in its backoff after a batch had to be spooled: the next
        batches go straight to the spool instead of each waiting out every retry (a down store
        would otherwise slow the crawl many times over and trip its time limit)."""
        return _now() < self._down_until

    def _mark_down(self) -> None:
        self._outages += 1
        wait = min(5.0 * 2 ** (self._outages - 1), 120.0)
        self._down_until = _now() + wait
        self._stat("tingfeng/store_backoffs", 1)
        log.warning("store down: the next batches are spooled for %.0f s before it is tried "
                    "again", wait)

    async def _write(self, records: list[Any], method: str, stat: str) -> None:
        if self._store_down():
            self._spool_batch(records, stat)
            return
        # After an outage, one probe: a store that is still down costs one try, not all.
        tries = 1 if self._outages else self.retries + 1
        for attempt in range(tries):
            if not await asyncio.to_thread(self._connect):
                if attempt < tries - 1:
                    await asyncio.sleep(min(2**attempt, 30))
                continue
            try:
                n, kept = await asyncio.to_thread(self._upsert, method, records)
                self._stat(f"tingfeng/{stat}_stored", n)
                if kept:  # a snippet or mojibake that would have replaced a better text
                    self._stat("tingfeng/text_kept", kept)
                if self._outages:
                    self._outages = 0
                    await self._recovered()
                return
            except StoreError as exc:
                log.warning("store write failed (attempt %d/%d): %s", attempt + 1, tries, exc)
                if attempt < tries - 1:
                    await asyncio.sleep(min(2**attempt, 30))
        self._mark_down()
        self._spool_batch(records, stat)

    def _upsert(self, method: str, records: list[Any]) -> tuple[int, int]:
        assert self.store is not None
        n = getattr(self.store, method)(records)
        stats = getattr(self.store, "last_upsert_stats", None) or {}
        return n, int(stats.get("text_kept", 0)) if method == "upsert_posts" else 0

    async def _recovered(self) -> None:
        """The store is back: what this crawl spooled meanwhile goes in now, not next crawl."""
        assert self.store is not None
        try:
            replayed = await asyncio.to_thread(replay_spool, self.store, self.spool_dir)
        except StoreError as exc:
            log.warning("store back but the spool could not be replayed yet: %s", exc)
            return
        if replayed:
            log.info("store back: replayed %d spooled records", replayed)
            self._stat("tingfeng/spool_replayed", replayed)

    def _spool_batch(self, records: list[Any], stat: str) -> None:
        try:
            path = spool(records, self.spool_dir)
        except OSError as exc:
            # Neither stored nor spooled (disk full, read-only spool): the crawl must not end
            # "finished" with these gone. Count them, say so, and stop collecting more.
            self._stat(f"tingfeng/{stat}_lost", len(records))
            message = (f"{len(records)} {stat} could be neither stored nor spooled to "
                       f"{self.spool_dir} ({exc.strerror or exc}): free disk space or set "
                       "STORE_SPOOL_DIR, then crawl again")
            log.critical(message)
            if self.crawler.stats is not None:
                self.crawler.stats.set_value("tingfeng/close_message", message)
            self.lost += len(records)
            return
        self._stat("tingfeng/spooled", len(records))
        log.error(
            "store unavailable: %d %s spooled to %s; replayed on the next crawl",
            len(records),
            stat,
            path,
        )

    def spider_closed(self, spider: Spider, reason: str) -> None:
        stats = dict(self.crawler.stats.get_stats()) if self.crawler.stats else {}
        run = CrawlRun(
            run_id=self.run_id,
            platform=spider.name,
            topic=getattr(spider, "topic", None),
            started_at=self.started_at,
            finished_at=utcnow(),
            finish_reason="items_lost" if self.lost else reason,
            args={k: getattr(spider, k) for k in ("keywords", "max_pages") if hasattr(spider, k)}
            | {"since": s.isoformat() if (s := getattr(spider, "since", None)) else None},
            stats={k: _jsonable(v) for k, v in stats.items()},
            errors=[str(stats["tingfeng/close_message"])]
            if "tingfeng/close_message" in stats
            else [],
        )
        try:
            if not self._connect():
                raise StoreError("store unavailable")
            assert self.store is not None
            self.store.record_run(run)
        except StoreError as exc:
            spool([run], self.spool_dir)
            log.error("could not record the crawl run (%s); spooled", exc)
        finally:
            if self.store is not None:
                self.store.close()

    def _stat(self, key: str, n: int) -> None:
        if self.crawler.stats is not None:
            self.crawler.stats.inc_value(key, n)


def _now() -> float:
    """The pipeline's clock for store backoff (a seam for tests; asyncio keeps its own)."""
    import time

    return time.monotonic()


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, (int, float, str, bool)) or value is None:
        return value
    return str(value)


_SPOOL_TYPES: dict[str, type] = {"Post": Post, "Author": Author, "CrawlRun": CrawlRun}


def spool_dir_for(base: Path, uri: str) -> Path:
    """The spool folder of one store: ``base/<hash of the store URI>``, so items spooled for a
    store are only ever replayed into that store (a crawl with a mistyped ``--store`` must not
    pour its items into the default store next time). ``store.txt`` inside names the store,
    credentials masked, for whoever looks at the folder.
    """
    import hashlib
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(uri or "")
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    identity = urlunsplit((parts.scheme.lower(), host, parts.path, parts.query, ""))
    folder = base / hashlib.sha256(identity.encode("utf-8")).hexdigest()[:16]
    try:
        folder.mkdir(parents=True, exist_ok=True)
        label = folder / "store.txt"
        if not label.exists():
            label.write_text(identity + "\n", encoding="utf-8")
    except OSError as exc:  # a read-only spool folder shows when something is spooled
        log.debug("spool folder %s not prepared: %s", folder, exc)
    return folder


def spool(records: list[Any], spool_dir: Path) -> Path:
    """Write ``records`` to a new JSON-lines file in ``spool_dir`` (fsynced) and return its path.

    The file is written under a name replay ignores and renamed when complete: another crawl
    replaying the same directory never reads (and deletes) a half-written file.
    """
    spool_dir.mkdir(parents=True, exist_ok=True)
    path = spool_dir / f"spool-{uuid.uuid4().hex}.jsonl"
    partial = path.with_name(path.name + ".part")
    with partial.open("w", encoding="utf-8") as fh:
        for record in records:
            fh.write(
                json.dumps(
                    {"type": type(record).__name__, "data": to_dict(record)}, ensure_ascii=False
                )
                + "\n"
            )
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(partial, path)
    return path


def _read_spool(path: Path) -> tuple[dict[str, list[Any]], int]:
    """The records of one spool file by type, and how many lines could not be read (a crawl
    killed mid-write, a disk that filled up)."""
    groups: dict[str, list[Any]] = {"Post": [], "Author": [], "CrawlRun": []}
    bad = 0
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
            groups[rec["type"]].append(from_dict(_SPOOL_TYPES[rec["type"]], rec["data"]))
        except (ValueError, KeyError, TypeError):
            bad += 1
    return groups, bad


def replay_spool(store: Store, spool_dir: Path) -> int:
    """Write every spooled record into ``store``; each file is deleted once it is stored.
    A file that fails stays for the next attempt. Returns the number of records replayed."""
    total = 0
    if not spool_dir.is_dir():
        return 0
    for path in sorted(spool_dir.glob("spool-*.jsonl")):
        try:
            groups, bad = _read_spool(path)
        except FileNotFoundError:  # replayed by a crawl running beside this one
            continue
        try:
            store.upsert_posts(groups["Post"])
            store.upsert_authors(groups["Author"])
            for run in groups["CrawlRun"]:
                store.record_run(run)
        except StoreError as exc:
            log.warning("spool replay of %s failed, kept for later: %s", path, exc)
            break
        total += sum(len(g) for g in groups.values())
        if bad:
            # Kept for a person to look at, under a name the next replay skips.
            log.error("spool file %s had %d unreadable lines; kept as .rejected", path, bad)
            with contextlib.suppress(FileNotFoundError):  # a parallel replay moved it first
                path.replace(path.with_name(path.name + ".rejected"))
        else:
            path.unlink(missing_ok=True)
    return total
