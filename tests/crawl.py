"""Run a real Scrapy crawl as a subprocess against the fixture server (as production does,
HOUSE_STYLE §3.4 step 2), then let the test assert on the store."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent

__all__ = ["crawl_command", "run_crawl_subprocess"]


def crawl_command(
    slug: str, args: dict[str, Any], store_uri: str, base_url: str, **settings: Any
) -> list[str]:
    cmd = [sys.executable, "-m", "scrapy", "crawl", slug]
    for key, value in args.items():
        cmd += ["-a", f"{key}={value}"]
    all_settings = {
        "STORE_URI": store_uri,
        "PLATFORM_BASE_URLS": json.dumps({slug: base_url}),
        "DOWNLOAD_DELAY": 0,
        "AUTOTHROTTLE_ENABLED": False,
        "CRAWL_BACKOFF_BASE": 0,
        "LOG_LEVEL": "INFO",
        **settings,
    }
    for key, value in all_settings.items():
        cmd += ["-s", f"{key}={value}"]
    return cmd


def run_crawl_subprocess(
    slug: str,
    args: dict[str, Any],
    tmp_path: Path,
    base_url: str,
    *,
    store_uri: str | None = None,
    timeout: float = 120,
    **settings: Any,
) -> tuple[subprocess.CompletedProcess[str], str]:
    """Crawl ``slug`` with spider ``args`` into an SQLite store under ``tmp_path``.

    Returns the completed process (stdout/stderr captured as text) and the store URI.
    """
    store_uri = store_uri or f"sqlite:///{tmp_path / 'crawl.db'}"
    settings.setdefault("STORE_SPOOL_DIR", str(tmp_path / "spool"))
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    env["SCRAPY_SETTINGS_MODULE"] = "crawlers.settings"
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.run(
        crawl_command(slug, args, store_uri, base_url, **settings),
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return proc, store_uri
