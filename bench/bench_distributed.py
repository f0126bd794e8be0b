"""Distributed crawl throughput: pages/s with 1, 2 and 4 ``tingfeng worker`` processes against the
recorded-response server with 50 ms latency per request, beside the politeness limit.

    python bench/bench_distributed.py [--keywords 16] [--pages 20] [--rate 60] [--cap 8]

Needs redis-server (Debian's package) and the distributed extra. Each worker crawls at most
2 requests at a time (CONCURRENT_REQUESTS=2), so one worker manages ≈ 2/latency pages/s and
more workers should add as much, until the host's global politeness limit (``--rate``
requests/s, i.e. DOWNLOAD_DELAY = 1/rate; at most ``--cap`` in flight) is reached. The target is
≥ 0.8× linear scaling up to that limit; the limit itself must never be exceeded (checked on
the server's own arrival times).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from crawlers.config import load_settings  # noqa: E402
from scheduler.runner import run_crawl  # noqa: E402
from tests.test_distributed_servers import (  # noqa: E402
    LatencyReplay,
    RedisServer,
    start_worker,
    stop_workers,
)

SEARCH_PAGE = (
    REPO / "tests" / "fixtures" / "weibo" / "constructed-m.weibo.cn-getIndex-search-p1.json"
)


def build_fixtures(root: Path, pages: int) -> None:
    """One search page served for every page number of any keyword (as bench_crawl.py)."""
    site = root / "weibo"
    site.mkdir(parents=True)
    shutil.copy(SEARCH_PAGE, site / SEARCH_PAGE.name)
    routes = [{"url": f"https://m.weibo.cn/api/container/getIndex?page_type=searchall&page={n}",
               "file": SEARCH_PAGE.name, "origin": "constructed",
               "content_type": "application/json; charset=utf-8"} for n in range(1, pages + 1)]
    (site / "manifest.json").write_text(json.dumps({"platform": "weibo", "routes": routes}),
                                        encoding="utf-8")


def served_latency(args: argparse.Namespace, fixtures: Path, n: int = 20) -> float:
    """Seconds the replay server really takes per request on one kept-alive connection (the
    latency the scaling figures rest on: printed beside the nominal one, so a slow test server
    cannot pass for slow workers)."""
    import httpx

    url = "/m.weibo.cn/api/container/getIndex?page_type=searchall&page=1"
    with LatencyReplay(latency=args.latency, fixtures=fixtures) as srv, httpx.Client() as client:
        client.get(srv.base_url + url)
        started = time.monotonic()
        for _ in range(n):
            client.get(srv.base_url + url)
        return (time.monotonic() - started) / n


def wait_for_workers(redis: RedisServer, n: int, timeout: float = 60) -> None:
    client = redis.client()
    end = time.monotonic() + timeout
    while len(list(client.scan_iter("tingfeng:worker:*"))) < n:
        if time.monotonic() > end:
            raise SystemExit(f"only some of {n} workers came up")
        time.sleep(0.1)


def one_run(n: int, args: argparse.Namespace, redis: RedisServer, tmp: Path) -> dict[str, float]:
    redis.client().flushall()
    folder = tmp / f"w{n}"
    workers = [start_worker(redis.url, folder / "logs", f"w{i}", CONCURRENT_REQUESTS=2,
                            CONCURRENT_REQUESTS_PER_DOMAIN=args.cap, LOG_LEVEL="WARNING")
               for i in range(n)]
    try:
        wait_for_workers(redis, n)
        with LatencyReplay(latency=args.latency, fixtures=tmp / "fixtures") as srv:
            settings = load_settings({
                "STORE_URI": f"sqlite:///{folder / 'bench.db'}",
                "PLATFORM_BASE_URLS": json.dumps({"weibo": srv.base_url}),
                "DOWNLOAD_DELAY": 1 / args.rate, "AUTOTHROTTLE_ENABLED": False,
                "ROBOTSTXT_OBEY": False, "STORE_SPOOL_DIR": str(folder / "spool"),
                "REDIS_URL": redis.url, "DISTRIBUTED_POLL_INTERVAL": 0.05})
            started = time.monotonic()
            result = run_crawl("weibo", settings=settings, topic="bench", max_pages=args.pages,
                               keywords=[f"bench{i}" for i in range(args.keywords)],
                               extra_args={"comments": 0, "reposts": 0, "profiles": "no"},
                               timeout=300)
            elapsed = time.monotonic() - started
            pages = sum(1 for _, host, _ in srv.arrivals if host == "m.weibo.cn")
            window = max(srv.max_in_window("m.weibo.cn", 1.0), 0)
            in_flight = srv.max_in_flight.get("m.weibo.cn", 0)
    finally:
        stop_workers(workers)
    if not result.ok:
        raise SystemExit(f"{n} workers: the crawl did not finish: {result.log_tail[-2000:]}")
    return {"pages": pages, "seconds": elapsed, "pages_per_s": pages / elapsed,
            "max_per_1s": window, "max_in_flight": in_flight}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keywords", type=int, default=16)
    parser.add_argument("--pages", type=int, default=20)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--rate", type=float, default=60.0, help="host limit, requests/s")
    parser.add_argument("--cap", type=int, default=8, help="host limit, requests in flight")
    args = parser.parse_args()
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("redis-server is not installed (apt-get install redis-server)")
    with tempfile.TemporaryDirectory(prefix="tingfeng-bench-") as name:
        tmp = Path(name)
        build_fixtures(tmp / "fixtures", args.pages)
        served = served_latency(args, tmp / "fixtures")
        redis = RedisServer(binary, tmp / "redis").start()
        try:
            runs = {n: one_run(n, args, redis, tmp) for n in (1, 2, 4)}
        finally:
            redis.stop()
    single = runs[1]["pages_per_s"]
    limit = min(args.rate, args.cap / args.latency)
    print(f"{args.keywords} keywords × {args.pages} pages, {args.latency * 1000:.0f} ms per "
          f"request; politeness limit {args.rate:g} req/s and {args.cap} in flight per host")
    print(f"the replay server answers in {served * 1000:.0f} ms per request on a kept-alive "
          f"connection (nominal {args.latency * 1000:.0f} ms)")
    print(f"{'workers':>7} {'pages':>6} {'s':>6} {'pages/s':>8} {'× 1 worker':>10} "
          f"{'vs linear':>9} {'vs min(linear, limit)':>21} {'max/1s':>6} {'max in flight':>13}")
    ok = True
    for n, r in runs.items():
        speedup = r["pages_per_s"] / single
        target = min(n * single, limit)
        polite = r["max_per_1s"] <= 1 + args.rate * 1.0 and r["max_in_flight"] <= args.cap
        ok = ok and polite
        print(f"{n:>7} {r['pages']:>6.0f} {r['seconds']:>6.2f} {r['pages_per_s']:>8.1f} "
              f"{speedup:>10.2f} {speedup / n:>9.2f} {r['pages_per_s'] / target:>21.2f} "
              f"{r['max_per_1s']:>6.0f} {r['max_in_flight']:>13.0f}")
    print("politeness limit never exceeded" if ok else "POLITENESS LIMIT EXCEEDED")
    if not ok:
        sys.exit(1)


if __name__ == "__main__":
    main()
