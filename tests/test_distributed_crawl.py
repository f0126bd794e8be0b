"""Distributed crawling end to end, with real servers: redis-server, ``tingfeng worker``
processes and the recorded-response server with an injected per-request latency.

The reference is the same crawl in one process (REDIS_URL unset, as today). A distributed crawl
must store the same posts and authors, fetch every page exactly once, survive a worker killed
mid-crawl and a Redis restart, and keep each host's rate and concurrency limits across workers.
"""

from __future__ import annotations

import json
import signal
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from crawlers.config import load_settings
from crawlers.items import Monitor, utcnow
from crawlers.spiders.weibo import DEMO_ARGS
from crawlers.storage import open_store
from scheduler.jobs import monitor_topic
from scheduler.notify import MemoryMailer
from scheduler.runner import run_crawl
from tests import test_distributed_servers as servers
from tests.test_distributed_servers import LatencyReplay, RedisServer, start_worker, stop_workers

# The servers' fixtures, by name (pytest finds fixtures among a module's globals).
redis_server, redis_url = servers.redis_server, servers.redis_url

pytestmark = pytest.mark.slow
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


def _settings(srv: LatencyReplay, folder: Path, redis: str | None, **extra: Any) -> Any:
    return load_settings({
        "STORE_URI": f"sqlite:///{folder / 'store.db'}",
        "PLATFORM_BASE_URLS": json.dumps({"weibo": srv.base_url}),
        "DOWNLOAD_DELAY": 0, "AUTOTHROTTLE_ENABLED": False, "CRAWL_BACKOFF_BASE": 0,
        "STORE_SPOOL_DIR": str(folder / "spool"), "REDIS_URL": redis or "",
        "DISTRIBUTED_POLL_INTERVAL": 0.05, "LOG_LEVEL": "INFO", **extra,
    })


def _contents(store_uri: str, topic: str) -> tuple[set[tuple[str, str, str, str | None]],
                                                    set[tuple[str, str]]]:
    with open_store(store_uri) as store:
        posts = list(store.posts(topic=topic, since=EPOCH))
        keys = {(p.platform, p.post_id, p.kind, p.parent_post_id) for p in posts}
        authors = store.authors({(p.platform, p.author_id) for p in posts if p.author_id})
        assert len(posts) == len({(p.platform, p.post_id) for p in posts})
        return keys, set(authors)


def _pages(srv: LatencyReplay, since: int = 0) -> Counter[str]:
    return Counter(path for _, _, path in srv.arrivals[since:] if "robots.txt" not in path)


@pytest.fixture(scope="module")
def replay() -> Iterator[LatencyReplay]:
    with LatencyReplay(latency=0.05) as srv:
        yield srv


@pytest.fixture(scope="module")
def reference(replay: LatencyReplay, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The demo crawl in one process, today's way (a subprocess, no Redis)."""
    folder = tmp_path_factory.mktemp("reference")
    settings = _settings(replay, folder, None)
    mark = len(replay.arrivals)
    result = run_crawl("weibo", settings=settings, topic="t", extra_args=dict(DEMO_ARGS))
    assert result.ok, result.log_tail
    posts, authors = _contents(settings.get("STORE_URI"), "t")
    return {"posts": posts, "authors": authors, "pages": _pages(replay, mark),
            "items": result.items}


def _workers(n: int, redis: str, folder: Path, **settings: Any) -> list[subprocess.Popen[bytes]]:
    return [start_worker(redis, folder / "logs", f"w{i}", **settings) for i in range(n)]


def _distributed_crawl(replay: LatencyReplay, folder: Path, redis: str,
                       during: Any = None) -> tuple[Any, Any]:
    settings = _settings(replay, folder, redis)
    box: dict[str, Any] = {}

    def crawl() -> None:
        box["result"] = run_crawl("weibo", settings=settings, topic="t",
                                  extra_args=dict(DEMO_ARGS), timeout=60)

    thread = threading.Thread(target=crawl)
    thread.start()
    if during is not None:
        during()
    thread.join(90)
    assert not thread.is_alive(), "the distributed crawl never finished"
    return box["result"], settings


def _logs(folder: Path) -> str:
    return "\n".join(p.read_text(errors="replace")[-3000:] for p in (folder / "logs").glob("*"))


def _monitor_run(settings: Any, now: datetime) -> Any:
    with open_store(settings.get("STORE_URI")) as store:
        store.save_monitor(Monitor("t", "听风演示", ["weibo"], every=1800))
    return monitor_topic("t", settings=settings, mailer=MemoryMailer(), now=now,
                         rescore=lambda store, *, topic, now: None,
                         graph_report=lambda posts, authors: None,
                         charts=lambda posts, now: {})


def test_three_workers_and_a_monitor_run_store_what_one_process_stores(
    replay: LatencyReplay, redis_url: str, tmp_path: Path
) -> None:
    now = utcnow()
    local = _settings(replay, tmp_path / "local", None)
    assert _monitor_run(local, now).crawls[0]["finish_reason"] == "finished"
    workers = _workers(3, redis_url, tmp_path, CONCURRENT_REQUESTS_PER_DOMAIN=2)
    try:
        settings = _settings(replay, tmp_path, redis_url)
        mark = len(replay.arrivals)
        run = _monitor_run(settings, now)
        pages = _pages(replay, mark)
    finally:
        assert stop_workers(workers) == [0, 0, 0], _logs(tmp_path)
    assert run is not None and run.crawls[0]["finish_reason"] == "finished", _logs(tmp_path)
    with open_store(settings.get("STORE_URI")) as store:
        record = next(r for r in store.runs(kind="crawl") if r.run_id == run.crawls[0]["run_id"])
        monitor = store.get_monitor("t")
    assert record.stats["distributed/workers"] == 3  # every worker took part
    assert monitor is not None and monitor.collected_until == now  # the run completed
    assert _contents(settings.get("STORE_URI"), "t") == _contents(local.get("STORE_URI"), "t")
    assert max(pages.values()) == 1, "a page was fetched twice"


def test_a_crawl_on_three_workers_equals_one_process_with_no_page_fetched_twice(
    replay: LatencyReplay, reference: dict[str, Any], redis_url: str, tmp_path: Path
) -> None:
    workers = _workers(3, redis_url, tmp_path, CONCURRENT_REQUESTS_PER_DOMAIN=2)
    mark = len(replay.arrivals)
    replay.max_in_flight.clear()
    try:
        result, settings = _distributed_crawl(replay, tmp_path, redis_url)
    finally:
        assert stop_workers(workers) == [0, 0, 0], _logs(tmp_path)
    assert result.ok and result.ended == "normal", result.log_tail + _logs(tmp_path)
    posts, authors = _contents(settings.get("STORE_URI"), "t")
    assert posts == reference["posts"]
    assert authors == reference["authors"]
    pages = _pages(replay, mark)
    assert pages == reference["pages"]  # the same pages, each exactly once (0 duplicates)
    assert result.stats["distributed/workers"] == 3
    for host in {h for _, h, _ in replay.arrivals[mark:]}:
        assert replay.max_in_flight[host] <= 2, host  # the global per-host cap held


def test_a_worker_killed_mid_crawl_loses_nothing(
    redis_server: RedisServer, redis_url: str, reference: dict[str, Any], tmp_path: Path
) -> None:
    with LatencyReplay(latency=0.25) as slow:
        workers = _workers(3, redis_url, tmp_path, CONCURRENT_REQUESTS_PER_DOMAIN=3)
        killed: list[str] = []

        def kill_one_holding_leases() -> None:
            client = redis_server.client()
            end = time.monotonic() + 30
            while time.monotonic() < end and not killed:
                for key in client.scan_iter("tingfeng:run:*:leases"):
                    owners = {f.split(b"|")[0].decode() for f in client.hkeys(key)}
                    for proc in workers:
                        if any(o.split("-")[-2] == str(proc.pid) for o in owners):
                            proc.send_signal(signal.SIGKILL)
                            killed.append(str(proc.pid))
                            return
                time.sleep(0.02)

        try:
            result, settings = _distributed_crawl(slow, tmp_path, redis_url,
                                                  during=kill_one_holding_leases)
        finally:
            stop_workers(workers)
    assert killed, "no worker ever held a lease"
    assert result.ok, result.log_tail + _logs(tmp_path)
    assert result.stats["distributed/requeued"] >= 1  # its in-flight requests went back
    assert any("died during the run" in e for e in result.log_tail.splitlines())
    posts, authors = _contents(settings.get("STORE_URI"), "t")
    # Every post and author is there. Reposts chained across repost pages the dead worker had
    # already crawled may lack their parent link (its in-memory chain index died with it, as
    # in a restarted one-process crawl); graph/resolve.py links them from repost_path.
    assert {k[:3] for k in posts} == {k[:3] for k in reference["posts"]}
    assert authors == reference["authors"]


def test_a_redis_restart_mid_crawl_and_the_crawl_resumes(
    redis_server: RedisServer, redis_url: str, reference: dict[str, Any], tmp_path: Path
) -> None:
    with LatencyReplay(latency=0.2) as slow:
        workers = _workers(2, redis_url, tmp_path, CONCURRENT_REQUESTS_PER_DOMAIN=2)

        def restart_after_some_pages() -> None:
            end = time.monotonic() + 30
            while len(slow.arrivals) < 6 and time.monotonic() < end:
                time.sleep(0.02)
            redis_server.restart(down_for=1.0)

        try:
            result, settings = _distributed_crawl(slow, tmp_path, redis_url,
                                                  during=restart_after_some_pages)
        finally:
            assert stop_workers(workers) == [0, 0], _logs(tmp_path)
    assert result.ok, result.log_tail + _logs(tmp_path)
    assert "Redis is back" in _logs(tmp_path)
    posts, authors = _contents(settings.get("STORE_URI"), "t")
    assert posts == reference["posts"] and authors == reference["authors"]


def test_a_run_no_worker_takes_ends_at_its_time_limit_and_says_why(
    replay: LatencyReplay, redis_url: str, tmp_path: Path
) -> None:
    settings = _settings(replay, tmp_path, redis_url, CRAWL_KILL_GRACE=1)
    result = run_crawl("weibo", settings=settings, topic="t", extra_args=dict(DEMO_ARGS),
                       timeout=1)
    assert result.finish_reason == "shutdown" and result.ended == "timeout-graceful"
    assert "no tingfeng worker took the run" in result.log_tail
    with open_store(settings.get("STORE_URI")) as store:
        assert [r.run_id for r in store.runs(kind="crawl")] == [result.run_id]
