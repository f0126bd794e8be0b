"""Store throughput: N realistic posts upserted into a fresh SQLite store, then upserted again.

    python bench/bench_store.py [--n 100000] [--batch 500] [--uri sqlite:///path/to/bench.db]

Targets (issue 2): >= 20,000 posts/s on both passes, peak memory <= 500 MB. Only the
``upsert_posts`` calls are timed; posts are generated batch by batch, as a crawl hands them over.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

if __package__ in (None, ""):  # `python bench/bench_store.py` from the repository root
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from crawlers.items import Post  # noqa: E402
from crawlers.storage import open_store  # noqa: E402

TARGET_RATE = 20_000  # posts/s, both passes
TARGET_MB = 500
TOPICS = [f"话题{i:02d}" for i in range(20)]
START = datetime(2026, 3, 1, tzinfo=UTC)
SPAN = timedelta(days=30)
_HANZI = (
    "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下"
    "过子说产种面而方后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都"
)
_TAILS = ("！", "。", "？", "…", " 😂", " 👍", " #热搜#", " [doge]", " //@路人甲:转发微博")


def make_posts(n: int, batch: int, rnd_seed: int, bump: int) -> Iterator[list[Post]]:
    """Batches of ``n`` posts; ``bump`` > 0 yields the same posts with higher counts."""
    rnd = random.Random(rnd_seed)
    for first in range(0, n, batch):
        posts = []
        for i in range(first, min(first + batch, n)):
            created = START + SPAN * (i / n) + timedelta(seconds=rnd.randint(0, 59))
            root = i - i % 40  # cascades of 40: one original and its reposts and comments
            kind = "original" if i == root else rnd.choice(("repost", "comment", "repost"))
            text = "".join(rnd.choices(_HANZI, k=78)) + rnd.choice(_TAILS)
            posts.append(Post(
                platform="weibo",
                post_id=str(5_000_000_000_000_000 + i),
                text=text,
                created_at=created,
                kind=kind,
                url=f"https://m.weibo.cn/detail/{5_000_000_000_000_000 + i}",
                author_id=str(1_000_000 + rnd.randrange(20_000)),
                author_name=f"用户{rnd.randrange(20_000)}",
                parent_post_id=None if i == root else str(5_000_000_000_000_000 + root),
                root_post_id=None if i == root else str(5_000_000_000_000_000 + root),
                repost_count=rnd.randrange(1000) + bump * 3,
                comment_count=rnd.randrange(500) + bump * 2,
                like_count=rnd.randrange(10_000) + bump * 7,
                region=rnd.choice(("北京", "上海", "广东", "浙江", None)),
                topics=rnd.sample(TOPICS, 2),
                fetched_at=created + timedelta(hours=1 + bump),
                extra={"source": "iPhone客户端", "mblogid": f"N{i:x}", "isLongText": False,
                       "pic_num": rnd.randrange(10)},
            ))
        yield posts


def upsert_pass(store: object, n: int, batch: int, bump: int) -> tuple[float, float]:
    """(wall seconds, CPU seconds) spent inside upsert_posts for one pass."""
    wall = cpu = 0.0
    for posts in make_posts(n, batch, rnd_seed=7, bump=bump):
        w0, c0 = time.perf_counter(), time.process_time()
        store.upsert_posts(posts)  # type: ignore[attr-defined]
        wall += time.perf_counter() - w0
        cpu += time.process_time() - c0
    return wall, cpu


def peak_mb() -> float:
    # ru_maxrss is in KiB on Linux (bytes on macOS).
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / (1024 * 1024) if sys.platform == "darwin" else rss / 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=100_000, help="posts to generate (100000)")
    parser.add_argument("--batch", type=int, default=500, help="posts per upsert call (500)")
    parser.add_argument("--uri", help="store URI (default: a fresh SQLite file in a temp dir)")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="tingfeng-bench-") as tmp:
        uri = args.uri or f"sqlite:///{Path(tmp) / 'bench.db'}"
        store = open_store(uri)
        if store.counts()["posts"]:
            print(f"warning: {uri} already holds posts; the first pass is not all inserts",
                  file=sys.stderr)
        rows = []
        with store:
            for label, bump in (("upsert, 1st pass (insert)", 0), ("upsert, 2nd pass (update)", 1)):
                wall, cpu = upsert_pass(store, args.n, args.batch, bump)
                rows.append((label, args.n, wall, cpu, TARGET_RATE))
            stored = store.counts()["posts"]
            since, until = START + SPAN / 4, START + SPAN * 3 / 4
            w0, c0 = time.perf_counter(), time.process_time()
            read = sum(1 for _ in store.posts(topic=TOPICS[3], since=since, until=until))
            rows.append(("read one topic, 15-day window", read, time.perf_counter() - w0,
                         time.process_time() - c0, None))

    load = os.getloadavg()[0]
    print(f"store benchmark: {uri}  ({args.n:,} posts, batches of {args.batch}, "
          f"{stored:,} stored; load average {load:.1f} on {os.cpu_count()} CPUs)")
    print(f"{'step':<30} {'posts':>8} {'seconds':>8} {'posts/s':>8} {'per CPU-s':>9} "
          f"{'target':>7} {'ratio':>6}")
    for label, count, wall, cpu, target in rows:
        rate = count / wall
        ratio = f"{rate / target:5.2f}x" if target else "     -"
        verdict = "" if not target else ("  ok" if rate >= target else "  BELOW TARGET")
        print(f"{label:<30} {count:>8,} {wall:>8.2f} {rate:>8,.0f} {count / max(cpu, 1e-9):>9,.0f} "
              f"{target or '-':>7} {ratio}{verdict}")
    if load > (os.cpu_count() or 1):
        print("note: the machine is busy (load above its CPU count); posts/s is understated, "
              "posts per CPU-second is the steadier figure")
    peak = peak_mb()
    verdict = "ok" if peak <= TARGET_MB else "ABOVE TARGET"
    print(f"{'peak memory (ru_maxrss)':<30} {peak:>8.0f} MB   target <= {TARGET_MB} MB  {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
