"""Benchmark: the measurement models (funnel, health, share of voice, metric sheets) on 1M posts.

Synthetic data (fixed seed): 1,000,000 posts over 90 days on four platforms (Weibo 50%: originals,
reposts, comments; WeChat 15% articles; Zhihu 15% answers, articles, questions; forums 20%
threads and replies) by 200k authors with lognormal followers; counters are lognormal with 10%
missing and a few absurd ones (a 5-million-reply 水楼 thread a day); four brands, one post in
twenty mentions two; sentiment labels 45/35/20 positive/neutral/negative.

    python bench/bench_measure.py                        # 1M posts, 200k authors
    python bench/bench_measure.py --posts 100000 --authors 20000

Timed: funnel_report, health_index (brand A against the whole category), share_of_voice and
metric_sheets, each as a report would call it (every one reads the posts itself). Generating the
records is reported but not counted against the target. Wall and CPU seconds are both printed:
on a shared machine wall time includes waiting for a core. Peak memory is the process's max RSS
(records included).
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from crawlers.items import Author, AuthorKey, Post  # noqa: E402
from scoring.measure.funnel import funnel_report  # noqa: E402
from scoring.measure.health import health_index  # noqa: E402
from scoring.measure.share import share_of_voice  # noqa: E402
from scoring.measure.sheets import metric_sheets  # noqa: E402

PLATFORMS = ("weibo", "wechat", "zhihu", "forum")
SHARE = np.array([0.50, 0.15, 0.15, 0.20])
KINDS = {"weibo": (("original", "repost", "comment"), (0.4, 0.4, 0.2)),
         "wechat": (("article",), (1.0,)),
         "zhihu": (("answer", "article", "thread", "comment"), (0.55, 0.1, 0.15, 0.2)),
         "forum": (("thread", "reply"), (0.3, 0.7))}
BRANDS = ("A", "B", "C", "D")
LABELS = ("positive", "neutral", "negative")
NOW = datetime(2026, 5, 1, tzinfo=UTC)
TARGET_SECONDS, TARGET_BYTES = 30.0, 2 * 1024**3


def _counts(rng: np.random.Generator, n: int, mean: float, sigma: float) -> list[int | None]:
    values = np.floor(rng.lognormal(mean, sigma, size=n)).astype(np.int64)
    missing = rng.random(n) < 0.1
    return [None if m else v for v, m in zip(values.tolist(), missing.tolist(), strict=True)]


def synthetic(n_posts: int, n_authors: int, seed: int = 0) -> tuple[
        list[Post], dict[AuthorKey, Author], dict[str, list[Post]]]:
    rng = np.random.default_rng(seed)
    plat = rng.choice(len(PLATFORMS), size=n_posts, p=SHARE)
    author = rng.integers(0, n_authors, size=n_posts)
    ages = rng.uniform(0, 90 * 86400, size=n_posts)
    stamps = [NOW - timedelta(seconds=s) for s in ages.tolist()]
    reads = _counts(rng, n_posts, 7.0, 1.5)
    likes = _counts(rng, n_posts, 1.5, 1.5)
    comments = _counts(rng, n_posts, 1.0, 1.4)
    reposts = _counts(rng, n_posts, 0.8, 1.6)
    label = rng.choice(3, size=n_posts, p=(0.45, 0.35, 0.20)).tolist()
    brand = rng.choice(len(BRANDS), size=n_posts, p=(0.4, 0.3, 0.2, 0.1)).tolist()
    second = (rng.random(n_posts) < 0.05).tolist()
    kind_draw = rng.random(n_posts).tolist()
    water = set(rng.choice(n_posts, size=90, replace=False).tolist())

    posts: list[Post] = []
    by_brand: dict[str, list[Post]] = {b: [] for b in BRANDS}
    for i, (pc, a) in enumerate(zip(plat.tolist(), author.tolist(), strict=True)):
        platform = PLATFORMS[pc]
        kinds, weights = KINDS[platform]
        kind = kinds[int(np.searchsorted(np.cumsum(weights), kind_draw[i], side="right"))
                     if len(kinds) > 1 else 0]
        extra: dict[str, Any] = {}
        if platform == "wechat":
            extra = {"idx": 1 + i % 3, "old_like_num": likes[i]}
        if kind == "repost":  # 60% bare reposts, the others with words before the chain
            text = "转发微博" if i % 5 < 3 else f"说得对{i % 997} //@u{a}: 新品体验"
        else:
            text = f"新品体验第{i}条：续航不错[赞]" if i % 4 else f"[哈哈]@u{a}"
        p = Post(platform, f"p{i}", text=text,
                 created_at=stamps[i], kind=kind, author_id=f"u{a}",
                 read_count=reads[i] if platform in ("wechat", "forum") else None,
                 like_count=likes[i], comment_count=5_000_000 if i in water else comments[i],
                 repost_count=reposts[i] if platform != "forum" else None,
                 sentiment_label=LABELS[label[i]], extra=extra)
        posts.append(p)
        by_brand[BRANDS[brand[i]]].append(p)
        if second[i]:
            by_brand[BRANDS[(brand[i] + 1) % len(BRANDS)]].append(p)
    followers = np.floor(rng.lognormal(6.0, 2.2, size=n_authors)).astype(np.int64).tolist()
    authors = {}
    # a profile for every (platform, author) that posted, except WeChat accounts (no public
    # follower count); the same id on two platforms is two accounts with one follower count
    for pair in np.unique(plat * n_authors + author).tolist():
        platform, a = PLATFORMS[pair // n_authors], pair % n_authors
        if platform != "wechat":
            authors[(platform, f"u{a}")] = Author(platform, f"u{a}", followers=followers[a],
                                                  verified=followers[a] > 500_000)
    return posts, authors, by_brand


def peak_rss_bytes() -> int:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024  # macOS: bytes; Linux: KiB


def timed(label: str, fn: Callable[[], Any], seconds: dict[str, float],
          cpu: dict[str, float]) -> Any:
    began, began_cpu = time.perf_counter(), time.process_time()
    result = fn()
    seconds[label] = time.perf_counter() - began
    cpu[label] = time.process_time() - began_cpu
    print(f"{label:<16} {seconds[label]:7.2f} s   (CPU {cpu[label]:6.2f} s)", flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=1_000_000)
    parser.add_argument("--authors", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    began = time.perf_counter()
    posts, authors, by_brand = synthetic(args.posts, args.authors, args.seed)
    print(f"generated {len(posts):,} posts, {len(authors):,} author profiles in "
          f"{time.perf_counter() - began:.2f} s (not counted)")

    seconds: dict[str, float] = {}
    cpu: dict[str, float] = {}
    funnel = timed("funnel_report", lambda: funnel_report(posts, authors=authors), seconds, cpu)
    health = timed("health_index", lambda: health_index(
        by_brand["A"], now=NOW, authors=authors, category=posts), seconds, cpu)
    sov = timed("share_of_voice", lambda: share_of_voice(by_brand, authors), seconds, cpu)
    sheets = timed("metric_sheets", lambda: metric_sheets(posts, authors, days=90), seconds,
                   cpu)

    total = sum(seconds.values())
    peak = peak_rss_bytes()
    t = funnel.total
    print(f"\nfunnel: exposure {t.exposure:,.0f} → interaction {t.interaction:,} → creation "
          f"{t.creation:,} → sharing {t.sharing:,}; "
          f"{sum(len(d) for d in funnel.daily.values())} platform-days")
    for c in funnel.capping:
        if c.capped:
            print(f"  capped {c.platform}/{c.counter}: {c.capped:,} posts at {c.cap:,.0f}")
    print(f"health: index {health.index:.1f}; " + ", ".join(
        f"{c.name} {c.score:.1f}" for c in health.components if c.score is not None))
    print("share of voice: " + ", ".join(f"{b} {s.share_pct:.1f}%" for b, s in sov.overall.items())
          + f"; {sov.overlap.multi_brand_posts:,} posts in two brands; {len(sov.kols)} KOLs")
    print(f"sheets: {sheets.totals.articles:,} articles, {sheets.totals.media_outlets:,} outlets")
    print(f"\ntotal {total:7.2f} s (CPU {sum(cpu.values()):.2f} s; wall exceeds CPU when other "
          f"processes share the cores)   peak RSS {peak / 1024**2:,.0f} MiB")
    print(f"targets: <= {TARGET_SECONDS:.0f} s: {'met' if total <= TARGET_SECONDS else 'MISSED'}; "
          f"<= 2 GB peak RSS: {'met' if peak <= TARGET_BYTES else 'MISSED'}")


if __name__ == "__main__":
    main()
