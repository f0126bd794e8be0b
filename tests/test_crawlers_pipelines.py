"""The spool of StorePipeline: records survive a store outage, a crash mid-write and two
crawls sharing one spool directory."""

from __future__ import annotations

from pathlib import Path

import pytest

import crawlers.pipelines as pipelines
from crawlers.items import Post, to_dict
from crawlers.pipelines import replay_spool, spool
from crawlers.storage import open_store


def _posts(*ids: str) -> list[Post]:
    return [Post("weibo", i, text=f"post {i}") for i in ids]


def test_a_replay_during_a_spool_write_loses_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Monitors run crawls in parallel over one STORE_SPOOL_DIR: crawl B opens (and replays)
    # while crawl A is still writing its spool file.
    store = open_store("memory://")
    calls = 0

    def to_dict_with_a_concurrent_replay(record: object) -> dict[str, object]:
        nonlocal calls
        calls += 1
        if calls == 2:
            replay_spool(store, tmp_path)
        return to_dict(record)

    monkeypatch.setattr(pipelines, "to_dict", to_dict_with_a_concurrent_replay)
    spool(_posts("1", "2", "3"), tmp_path)
    monkeypatch.undo()
    replay_spool(store, tmp_path)
    assert sorted(p.post_id for p in store.posts()) == ["1", "2", "3"]


def test_a_truncated_spool_file_neither_blocks_replay_nor_is_lost(tmp_path: Path) -> None:
    # A crawl killed mid-write leaves a half line; the next crawls must still open and replay.
    spool(_posts("1"), tmp_path)
    broken = tmp_path / "spool-0-broken.jsonl"
    good_line = spool(_posts("2"), tmp_path / "x").read_text(encoding="utf-8")
    broken.write_text(good_line + good_line[: len(good_line) // 2], encoding="utf-8")
    store = open_store("memory://")
    assert replay_spool(store, tmp_path) == 2
    assert sorted(p.post_id for p in store.posts()) == ["1", "2"]
    # The unreadable rest is kept for a person, out of the replay's way.
    assert not list(tmp_path.glob("spool-*.jsonl"))
    assert list(tmp_path.glob("spool-0-broken.jsonl*"))
    assert replay_spool(store, tmp_path) == 0


def test_a_spool_is_bound_to_the_store_it_was_meant_for(tmp_path: Path) -> None:
    from crawlers.pipelines import spool_dir_for

    wrong = spool_dir_for(tmp_path, "foo://x")
    right = spool_dir_for(tmp_path, "sqlite:////data/t.db")
    assert wrong != right and right == spool_dir_for(tmp_path, "sqlite:////data/t.db")
    # the password is not part of the identity, nor written down
    a = spool_dir_for(tmp_path, "mongodb://u:secret@db:27017/t")
    assert a == spool_dir_for(tmp_path, "mongodb://u:other@db:27017/t")
    assert "secret" not in (a / "store.txt").read_text(encoding="utf-8")
    spool(_posts("1", "2"), wrong)
    store = open_store("memory://")
    assert replay_spool(store, right) == 0  # never replayed into another store
    assert list(wrong.glob("spool-*.jsonl"))


def test_since_bounds_what_is_stored() -> None:
    from datetime import UTC, datetime

    from scrapy.exceptions import DropItem
    from scrapy.utils.test import get_crawler

    from crawlers.pipelines import ValidatePipeline
    from crawlers.spiders.weibo.spider import WeiboSpider

    crawler = get_crawler(WeiboSpider)
    crawler.spider = WeiboSpider.from_crawler(crawler, keywords="听风", since="7d",
                                              now="2026-11-20T12:00:00+00:00")
    crawler.stats.open_spider()
    pipeline = ValidatePipeline.from_crawler(crawler)
    fresh = Post("weibo", "1", text="新", created_at=datetime(2026, 11, 19, tzinfo=UTC))
    old = Post("weibo", "2", text="旧", created_at=datetime(2019, 6, 1, tzinfo=UTC))
    assert pipeline.process_item(fresh) is fresh
    with pytest.raises(DropItem, match="before_since"):
        pipeline.process_item(old)
    assert crawler.stats.get_value("validate/before_since") == 1


def test_a_batch_neither_stored_nor_spooled_fails_the_crawl_with_its_count(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio
    import errno

    from scrapy.utils.test import get_crawler

    from crawlers.pipelines import StorePipeline
    from crawlers.spiders.weibo.spider import WeiboSpider

    def disk_full(records, spool_dir):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(pipelines, "spool", disk_full)
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    down = open_store(f"sqlite:///{tmp_path / 'ok.db'}")  # where the run record goes
    crawler = get_crawler(WeiboSpider, {"STORE_URI": f"sqlite:///{blocker / 'db.sqlite'}",
                                        "STORE_RETRIES": 0,
                                        "STORE_SPOOL_DIR": str(tmp_path / "spool")})
    crawler.spider = WeiboSpider.from_crawler(crawler, keywords="听风")
    crawler.stats.open_spider()
    pipeline = StorePipeline.from_crawler(crawler)
    pipeline.posts = _posts("1", "2", "3")
    asyncio.run(pipeline._flush())
    assert crawler.stats.get_value("tingfeng/posts_lost") == 3
    assert "neither stored nor spooled" in crawler.stats.get_value("tingfeng/close_message")
    recorded = []
    monkeypatch.setattr(pipeline, "_connect", lambda: True)
    pipeline.store = down
    monkeypatch.setattr(down, "record_run", recorded.append)
    pipeline.spider_closed(crawler.spider, "finished")
    assert recorded[0].finish_reason == "items_lost"
    assert recorded[0].stats["tingfeng/posts_lost"] == 3


def test_a_down_store_costs_one_batch_its_retries_then_the_rest_spool_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Without backoff across batches every batch waited out STORE_RETRIES against a dead store:
    # crawls 6.6x to 23x slower, then killed by their time limit.
    import asyncio

    from scrapy.utils.test import get_crawler

    from crawlers.errors import BackendUnavailable
    from crawlers.pipelines import StorePipeline
    from crawlers.spiders.weibo.spider import WeiboSpider
    from crawlers.storage.memory import MemoryStore

    class Outage(MemoryStore):
        down = True
        calls = 0

        def upsert_posts(self, posts):  # type: ignore[no-untyped-def]
            Outage.calls += 1
            if self.down:
                raise BackendUnavailable("connection refused")
            return super().upsert_posts(posts)

    store = Outage()
    clock = [0.0]
    monkeypatch.setattr(pipelines, "_now", lambda: clock[0])

    async def no_sleep(seconds: float) -> None:
        return None

    monkeypatch.setattr(pipelines.asyncio, "sleep", no_sleep)
    crawler = get_crawler(WeiboSpider, {"STORE_URI": "memory://", "STORE_RETRIES": 3,
                                        "STORE_SPOOL_DIR": str(tmp_path / "spool")})
    crawler.spider = WeiboSpider.from_crawler(crawler, keywords="听风")
    crawler.stats.open_spider()
    pipeline = StorePipeline.from_crawler(crawler)
    pipeline.store = store

    async def batches(first: int, count: int) -> None:
        for b in range(first, first + count):
            pipeline.posts = _posts(*(f"{b}-{i}" for i in range(5)))
            await pipeline._flush()

    asyncio.run(batches(0, 10))  # the store is down for all ten
    assert Outage.calls == 4  # the first batch's 1 + 3 retries; the other nine spooled at once
    assert crawler.stats.get_value("tingfeng/spooled") == 50
    clock[0] += 6  # past the first backoff (5 s): one probe, still down → a longer backoff
    asyncio.run(batches(10, 1))
    assert Outage.calls == 5 and crawler.stats.get_value("tingfeng/store_backoffs") == 2
    store.down = False
    clock[0] += 11
    asyncio.run(batches(11, 1))  # the probe works: this batch stored, the spool replayed
    assert len(list(store.posts())) == 60
    assert crawler.stats.get_value("tingfeng/spool_replayed") == 55


def test_a_snippet_never_replaces_the_full_text_and_the_crawl_counts_it(tmp_path: Path) -> None:
    import asyncio

    from scrapy.utils.test import get_crawler

    from crawlers.pipelines import StorePipeline
    from crawlers.spiders.weibo.spider import WeiboSpider

    store = open_store(f"sqlite:///{tmp_path / 's.db'}")
    full = "新品发布会现场：电池续航两天，屏幕更亮，价格不变，首批现货今晚开售"
    store.upsert_posts([Post("weibo", "1", text=full)])
    crawler = get_crawler(WeiboSpider, {"STORE_URI": "memory://",
                                        "STORE_SPOOL_DIR": str(tmp_path / "spool")})
    crawler.spider = WeiboSpider.from_crawler(crawler, keywords="听风")
    crawler.stats.open_spider()
    pipeline = StorePipeline.from_crawler(crawler)
    pipeline.store = store
    pipeline.posts = [Post("weibo", "1", text=full[:12] + "...全文", like_count=5)]
    asyncio.run(pipeline._flush())
    got = store.get_posts([("weibo", "1")])[("weibo", "1")]
    assert got.text == full and got.like_count == 5  # the other fields still merge
    assert crawler.stats.get_value("tingfeng/text_kept") == 1
