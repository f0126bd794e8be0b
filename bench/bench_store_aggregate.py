"""Dashboard aggregates on a large SQLite store: post_counts and author_counts over 1,000,000 posts.

    python bench/bench_store_aggregate.py [--n 1000000] [--uri sqlite:///path/to/bench.db]
                                          [--repeat 5]

Loads N posts from bench_store.py's generator (30 days, 20,000 authors, 20 topics), spread over
four platforms and three sentiment labels, into a fresh SQLite store (or reuses ``--uri`` if it
already holds posts), then times:

- ``post_counts(since, until, bucket="day", by=("platform", "sentiment_label"))`` over the whole
  30 days, Beijing days (target: 500 ms);
- ``author_counts(since, until, limit=50)`` over the same 30 days (target: 500 ms);
- for reference, without a target: one topic's daily counts and one day's top authors.

Each query runs ``--repeat`` times after one cold run; the best and the median are reported, in
wall and CPU milliseconds (on a busy machine CPU time is the steadier figure).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
if str(BENCH) not in sys.path:  # `python bench/bench_store_aggregate.py` from the repository root
    sys.path.insert(0, str(BENCH))
    sys.path.insert(0, str(BENCH.parent))

from bench_store import SPAN, START, TOPICS, make_posts  # noqa: E402

from crawlers.items import Post  # noqa: E402
from crawlers.storage import open_store  # noqa: E402

TARGET_MS = 500
PLATFORMS = ("weibo", "zhihu", "wechat", "forum")
LABELS = ("positive", "negative", "neutral")


def dashboard_posts(n: int, batch: int) -> Iterator[list[Post]]:
    """bench_store's posts, each put on one of four platforms with a sentiment label."""
    rnd = random.Random(11)
    for posts in make_posts(n, batch, rnd_seed=7, bump=0):
        for post in posts:
            post.platform = rnd.choice(PLATFORMS)
            post.sentiment_label = rnd.choices(LABELS, weights=(3, 2, 5))[0]
        yield posts


def timed(call: Callable[[], Any], repeat: int) -> tuple[Any, float, list[tuple[float, float]]]:
    """(result, cold wall ms, [(wall ms, CPU ms)] of the warm runs)."""
    w0 = time.perf_counter()
    result = call()
    cold = (time.perf_counter() - w0) * 1000
    runs = []
    for _ in range(repeat):
        w0, c0 = time.perf_counter(), time.process_time()
        call()
        runs.append(((time.perf_counter() - w0) * 1000, (time.process_time() - c0) * 1000))
    return result, cold, runs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="posts to load (1000000)")
    parser.add_argument("--uri", help="store URI (default: a fresh SQLite file in a temp dir); "
                        "reused as is if it already holds posts")
    parser.add_argument("--repeat", type=int, default=5, help="warm runs per query (5)")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="tingfeng-bench-") as tmp:
        uri = args.uri or f"sqlite:///{Path(tmp) / 'bench.db'}"
        with open_store(uri) as store:
            stored = store.counts()["posts"]
            if stored:
                print(f"reusing {uri}: {stored:,} posts already stored")
            else:
                w0 = time.perf_counter()
                for posts in dashboard_posts(args.n, 1000):
                    store.upsert_posts(posts)
                stored = store.counts()["posts"]
                print(f"loaded {stored:,} posts in {time.perf_counter() - w0:.1f} s")
            since, until = START, START + SPAN
            day = (START + timedelta(days=14), START + timedelta(days=15))
            queries: list[tuple[str, Callable[[], Any], int | None]] = [
                ("post_counts 30 days, day x platform x sentiment",
                 lambda: store.post_counts(since=since, until=until, bucket="day",
                                           by=("platform", "sentiment_label")), TARGET_MS),
                ("author_counts 30 days, top 50",
                 lambda: store.author_counts(since=since, until=until, limit=50), TARGET_MS),
                ("post_counts 30 days, one topic, by sentiment",
                 lambda: store.post_counts(topic=TOPICS[3], since=since, until=until), None),
                ("author_counts 1 day, top 50",
                 lambda: store.author_counts(since=day[0], until=day[1], limit=50), None),
            ]
            rows = []
            for label, call, target in queries:
                result, cold, runs = timed(call, args.repeat)
                rows.append((label, len(result), cold, runs, target))

    load = os.getloadavg()[0]
    print(f"aggregate benchmark: {uri} ({stored:,} posts; load average {load:.1f} on "
          f"{os.cpu_count()} CPUs; {args.repeat} warm runs each)")
    print(f"{'query':<48} {'rows':>5} {'cold':>6} {'best':>6} {'median':>6} {'CPU':>6} "
          f"{'target':>6}")
    for label, count, cold, runs, target in rows:
        best = min(wall for wall, _ in runs)
        median = statistics.median(wall for wall, _ in runs)
        cpu = min(c for _, c in runs)
        verdict = "" if target is None else ("  ok" if median <= target else "  ABOVE TARGET")
        print(f"{label:<48} {count:>5} {cold:>6.0f} {best:>6.0f} {median:>6.0f} {cpu:>6.0f} "
              f"{target or '-':>6}{verdict}")
    print("(milliseconds; the verdict compares the warm median with the target)")
    if load > (os.cpu_count() or 1):
        print("note: the machine is busy (load above its CPU count); wall times are inflated, "
              "CPU milliseconds are the steadier figure")
    return 0


if __name__ == "__main__":
    sys.exit(main())
