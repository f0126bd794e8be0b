"""Crawl throughput: the Weibo spider (real Scrapy stack, pipelines into SQLite) against the
recorded-response server, beside `scrapy bench` measured in the same run.

    python bench/bench_crawl.py [--keywords 8] [--pages 60] [--bench-seconds 10]

Both sides get the same concurrency (16 per host, no delay): this measures our machinery
(parsing, validation, batched upserts), not the politeness settings a real crawl uses.
The target is ≥ 0.5× scrapy bench's pages/s.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from crawlers.replay import ReplayServer  # noqa: E402

SEARCH_PAGE = (
    REPO / "tests" / "fixtures" / "weibo" / "constructed-m.weibo.cn-getIndex-search-p1.json"
)


def build_fixtures(root: Path, pages: int) -> None:
    """One search page served for every page number of any keyword (routes without ``q``)."""
    site = root / "weibo"
    site.mkdir(parents=True)
    shutil.copy(SEARCH_PAGE, site / SEARCH_PAGE.name)
    routes = [
        {
            "url": f"https://m.weibo.cn/api/container/getIndex?page_type=searchall&page={n}",
            "file": SEARCH_PAGE.name,
            "origin": "constructed",
            "content_type": "application/json; charset=utf-8",
        }
        for n in range(1, pages + 1)
    ]
    (site / "manifest.json").write_text(
        json.dumps({"platform": "weibo", "routes": routes}), encoding="utf-8"
    )


def final_stats(log: str) -> dict[str, float]:
    """The numbers of Scrapy's closing 'Dumping Scrapy stats' block."""
    block = log[log.rfind("Dumping Scrapy stats") :]
    return {k: float(v) for k, v in re.findall(r"'([\w/]+)': ([\d.]+)", block)}


def run_ours(base_url: str, tmp: Path, keywords: int, pages: int) -> dict[str, float]:
    settings = {
        "STORE_URI": f"sqlite:///{tmp / 'bench.db'}",
        "PLATFORM_BASE_URLS": json.dumps({"weibo": base_url}),
        "DOWNLOAD_DELAY": 0,
        "AUTOTHROTTLE_ENABLED": False,
        "CONCURRENT_REQUESTS": 16,
        "CONCURRENT_REQUESTS_PER_DOMAIN": 16,
        "ROBOTSTXT_OBEY": False,
        "LOG_LEVEL": "INFO",
        "STORE_SPOOL_DIR": str(tmp / "spool"),
        "HTTPCACHE_ENABLED": False,
    }
    args = {
        "keywords": ",".join(f"bench{i}" for i in range(keywords)),
        "max_pages": pages,
        "comments": 0,
        "reposts": 0,
        "profiles": "no",
    }
    cmd = [sys.executable, "-m", "scrapy", "crawl", "weibo"]
    for k, v in args.items():
        cmd += ["-a", f"{k}={v}"]
    for k, v in settings.items():
        cmd += ["-s", f"{k}={v}"]
    env = {**os.environ, "SCRAPY_SETTINGS_MODULE": "crawlers.settings", "PYTHONPATH": str(REPO)}
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=900)
    if proc.returncode != 0:
        sys.exit(proc.stderr[-3000:])
    return final_stats(proc.stderr)


def run_scrapy_bench(seconds: int, tmp: Path) -> dict[str, float]:
    env = {k: v for k, v in os.environ.items() if k != "SCRAPY_SETTINGS_MODULE"}
    cmd = [
        sys.executable,
        "-m",
        "scrapy",
        "bench",
        "-s",
        f"CLOSESPIDER_TIMEOUT={seconds}",
        "-s",
        "LOG_LEVEL=INFO",
    ]
    proc = subprocess.run(
        cmd, cwd=tmp, env=env, capture_output=True, text=True, timeout=seconds * 10 + 60
    )
    return final_stats(proc.stderr)


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--keywords", type=int, default=8)
    ap.add_argument("--pages", type=int, default=60, help="search pages per keyword")
    ap.add_argument("--bench-seconds", type=int, default=10)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        build_fixtures(tmp / "fixtures", args.pages)
        with ReplayServer(tmp / "fixtures") as server:
            print(
                f"weibo spider: {args.keywords} keywords × {args.pages} pages "
                f"against {server.base_url} …",
                file=sys.stderr,
            )
            ours = run_ours(server.base_url, tmp, args.keywords, args.pages)
        print(f"scrapy bench: {args.bench_seconds} s …", file=sys.stderr)
        ref = run_scrapy_bench(args.bench_seconds, tmp)
    o_pages = ours["response_received_count"] / ours["elapsed_time_seconds"]
    o_items = ours.get("item_scraped_count", 0) / ours["elapsed_time_seconds"]
    r_pages = ref["response_received_count"] / ref["elapsed_time_seconds"]
    ratio = o_pages / r_pages
    print(f"{'':24}{'pages':>8}{'items':>9}{'seconds':>9}{'pages/s':>9}{'items/s':>9}")
    print(
        f"{'weibo spider (ours)':24}{ours['response_received_count']:>8.0f}"
        f"{ours.get('item_scraped_count', 0):>9.0f}"
        f"{ours['elapsed_time_seconds']:>9.1f}{o_pages:>9.1f}{o_items:>9.1f}"
    )
    print(
        f"{'scrapy bench':24}{ref['response_received_count']:>8.0f}{'-':>9}"
        f"{ref['elapsed_time_seconds']:>9.1f}{r_pages:>9.1f}{'-':>9}"
    )
    print(
        f"ratio ours/scrapy bench: {ratio:.2f}×  "
        f"(target ≥ 0.5×: {'met' if ratio >= 0.5 else 'GAP'})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
