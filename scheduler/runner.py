"""Run one crawl as a subprocess (``python -m scrapy crawl <platform>``) and read its result back.

A subprocess per crawl means no Twisted reactor reuse inside a long-lived scheduler, crash
isolation and a clean memory footprint (Scrapy docs, "Common practices"). The crawl's stats are
written by StorePipeline as a CrawlRun record; the runner finds it by the run id it passes in.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import uuid
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crawlers.errors import StoreError
from crawlers.storage import open_store

if TYPE_CHECKING:
    from scrapy.settings import Settings

__all__ = ["CrawlResult", "crawl_command", "run_crawl"]

REPO_ROOT = Path(__file__).resolve().parent.parent
# Settings forwarded to the crawl subprocess when they differ from crawlers/settings.py.
FORWARDED = (
    "STORE_URI",
    "PLATFORM_BASE_URLS",
    "DOWNLOAD_DELAY",
    "AUTOTHROTTLE_ENABLED",
    "CRAWL_BACKOFF_BASE",
    "CRAWL_MAX_PAGES",
    "STORE_SPOOL_DIR",
    "LOG_LEVEL",
    "ROBOTSTXT_OBEY",
)


@dataclass
class CrawlResult:
    """What one crawl did. ``finish_reason`` is Scrapy's ("finished", "login_required", …)."""

    platform: str
    run_id: str
    returncode: int
    finish_reason: str | None = None
    stats: dict[str, Any] = field(default_factory=dict)
    log_tail: str = ""

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and self.finish_reason == "finished"

    @property
    def items(self) -> int:
        return int(self.stats.get("item_scraped_count", 0))


def crawl_command(
    platform: str, spider_args: Mapping[str, Any], settings: Mapping[str, Any]
) -> list[str]:
    cmd = [sys.executable, "-m", "scrapy", "crawl", platform]
    for key, value in spider_args.items():
        if value is not None and value != "":
            cmd += ["-a", f"{key}={value}"]
    for key, value in settings.items():
        if isinstance(value, (dict, list)):
            value = json.dumps(value, ensure_ascii=False)
        cmd += ["-s", f"{key}={value}"]
    return cmd


def run_crawl(
    platform: str,
    *,
    settings: Settings,
    keywords: list[str] | None = None,
    topic: str | None = None,
    since: datetime | None = None,
    max_pages: int | None = None,
    extra_args: Mapping[str, Any] | None = None,
    timeout: float | None = None,
    on_line: Callable[[str], None] | None = None,
) -> CrawlResult:
    """Crawl ``platform`` in a subprocess and return its result (never raises for crawl trouble).

    ``on_line`` receives each log line as it arrives (progress display); the last 40 lines are
    kept in ``log_tail``.
    """
    run_id = f"{platform}-{uuid.uuid4().hex[:12]}"
    spider_args: dict[str, Any] = {
        "keywords": ",".join(keywords or []),
        "topic": topic,
        "since": since.isoformat() if since else None,
        "max_pages": max_pages,
        **(extra_args or {}),
    }
    forwarded = {k: settings.get(k) for k in FORWARDED if settings.get(k) not in (None, "", {})}
    if "PLATFORM_BASE_URLS" in forwarded:
        forwarded["PLATFORM_BASE_URLS"] = dict(settings.getdict("PLATFORM_BASE_URLS"))
    forwarded["CRAWL_RUN_ID"] = run_id
    env = dict(os.environ)
    env["SCRAPY_SETTINGS_MODULE"] = "crawlers.settings"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    tail: deque[str] = deque(maxlen=40)
    started = datetime.now(UTC)
    with subprocess.Popen(
        crawl_command(platform, spider_args, forwarded),
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        encoding="utf-8",
        errors="replace",
    ) as proc:
        # Reading the log blocks until the crawl ends, so the time limit is a watchdog.
        watchdog = threading.Timer(timeout, proc.kill) if timeout else None
        if watchdog:
            watchdog.start()
        try:
            assert proc.stdout is not None
            for line in proc.stdout:
                tail.append(line.rstrip())
                if on_line:
                    on_line(line.rstrip())
            returncode = proc.wait()
        finally:
            if watchdog:
                watchdog.cancel()
    if timeout and returncode == -signal.SIGKILL:
        tail.append(f"crawl killed after {timeout}s (MONITOR_CRAWL_TIMEOUT)")
    result = CrawlResult(platform, run_id, returncode, log_tail="\n".join(tail))
    try:
        with open_store(settings.get("STORE_URI")) as store:
            # The record is written by the crawl's StorePipeline with a start time after ours.
            since_start = started - timedelta(minutes=1)
            for run in store.runs(platform=platform, kind="crawl", since=since_start):
                if run.run_id == run_id:
                    result.finish_reason = run.finish_reason
                    result.stats = run.stats
    except StoreError as exc:  # a result without stats is still a result
        result.log_tail += f"\n(could not read the crawl record: {exc})"
    return result
