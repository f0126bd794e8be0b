"""scheduler.runner.run_crawl: a real crawl subprocess against the fixture server, its result read
back from the store, and the watchdog that stops a crawl past its time limit."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crawlers.config import load_settings
from crawlers.spiders.weibo import DEMO_ARGS
from scheduler.runner import run_crawl
from tests.fixture_server import ReplayServer

pytestmark = pytest.mark.slow


def _settings(server: ReplayServer, tmp_path: Path, **extra: object):  # type: ignore[no-untyped-def]
    return load_settings({
        "STORE_URI": f"sqlite:///{tmp_path / 'run.db'}",
        "PLATFORM_BASE_URLS": json.dumps({"weibo": server.base_url}),
        "DOWNLOAD_DELAY": 0, "AUTOTHROTTLE_ENABLED": False, "CRAWL_BACKOFF_BASE": 0,
        "STORE_SPOOL_DIR": str(tmp_path / "spool"), **extra,
    })


def test_a_crawl_result_carries_the_stats_its_pipeline_recorded(
    fixture_server: ReplayServer, tmp_path: Path
) -> None:
    lines: list[str] = []
    result = run_crawl("weibo", settings=_settings(fixture_server, tmp_path), topic="t",
                       extra_args=dict(DEMO_ARGS), on_line=lines.append)
    assert result.ok, result.log_tail
    assert result.finish_reason == "finished"
    assert result.items == result.stats["item_scraped_count"] > 0
    assert result.stats["tingfeng/posts_stored"] > 0
    assert any("Spider closed (finished)" in line for line in lines)


def test_the_watchdog_kills_a_crawl_past_its_time_limit(
    fixture_server: ReplayServer, tmp_path: Path
) -> None:
    # A 3 s politeness delay makes the demo crawl take far longer than the 2 s limit.
    settings = _settings(fixture_server, tmp_path, DOWNLOAD_DELAY=3)
    result = run_crawl("weibo", settings=settings, topic="t", extra_args=dict(DEMO_ARGS), timeout=2)
    assert not result.ok
    assert result.returncode < 0
    assert "crawl killed after 2s" in result.log_tail
