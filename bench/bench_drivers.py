"""Drivers bench: hot_terms + negative_drivers on a 100,000-post window of real Chinese texts.

    python bench/bench_drivers.py [--data ../shared/datasets/sentiment] [--posts 100000]
                                  [--million] [--seed 0]

Texts are real: every row of weibo_polarity, weibo_comments_polarity and reviews_polarity
(~117k Weibo posts, Weibo comments and shop/food-delivery reviews; label 0 is negative). A
window of N posts takes the rows in a seeded order, and one post in three (every post past the
first pass over the rows) gets a clause of another real row appended, so texts stay distinct;
the previous window is built the same way with the next seed. 1 % of the window's negative
posts get an injected complaint ("电池鼓包", "客服推诿", "退款难"), and the bench reports
where those rank: a check that the answer is right, not only fast.

Timed: negative_drivers(window), then hot_terms(window, previous). The second call finds the
window's segmentation in words.py's bounded cache (2^18 texts), as the monitor job would.
Building posts is not timed. --million runs a 1,000,000-post window (and previous window)
generated lazily, so the memory figure is the analysis's and not a million Post objects'.
Targets are the whole why-layer's (≤ 20 s and ≤ 2 GB at 100k posts); this prints the drivers'
share of them.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import resource
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
DEFAULT_DATA = REPO.parent / "shared" / "datasets" / "sentiment"
CORPORA = ("weibo_polarity", "weibo_comments_polarity", "reviews_polarity")
THEMES = {
    "电池鼓包": ["手机的电池鼓包了", "用了半年电池鼓包", "电池鼓包，后盖都顶开了"],
    "客服推诿": ["客服推诿，让我找门店", "打了三次电话客服推诿", "客服推诿扯皮"],
    "退款难": ["退款难", "申请售后退款难", "退款难，一拖再拖"],
}
TARGET_SECONDS, TARGET_BYTES = 20.0, 2 * 1024**3
_CLAUSE = re.compile(r"[，。！？；,.!?;\s]+")

from crawlers.items import Post  # noqa: E402
from scoring.why.drivers import hot_terms, negative_drivers  # noqa: E402


def load_rows(data: Path) -> list[tuple[str, int]]:
    rows: list[tuple[str, int]] = []
    for name in CORPORA:
        with open(data / f"{name}.train.jsonl", encoding="utf-8") as fh:
            rows += [(r["text"], int(r["label"])) for r in map(json.loads, fh)]
    return rows


def window(rows: list[tuple[str, int]], n: int, seed: int, inject: bool) -> Iterator[Post]:
    """``n`` posts from the rows (see the module docstring); the same seed, the same posts."""
    rng = random.Random(seed)
    order = list(range(len(rows)))
    rng.shuffle(order)
    for i in range(n):
        text, label = rows[order[i % len(rows)]]
        if i >= len(rows) or rng.random() < 1 / 3:
            clauses = [c for c in _CLAUSE.split(rng.choice(rows)[0]) if c]
            if clauses:
                text = f"{text}，{rng.choice(clauses)}"
        if inject and label == 0 and rng.random() < 0.01:
            text += "。" + "，".join(rng.choice(v) for v in THEMES.values())
        yield Post("weibo", f"{seed}-{i}", text=text,
                   sentiment_label="negative" if label == 0 else "positive",
                   like_count=int(rng.paretovariate(1.2)) - 1, repost_count=rng.randint(0, 3))


def rss_bytes() -> int:
    """Current resident set size (Linux /proc; falls back to the peak elsewhere)."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
        return pages * resource.getpagesize()
    except OSError:
        return peak_rss_bytes()


def peak_rss_bytes() -> int:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024  # macOS: bytes; Linux: KiB


def timed(label: str, fn: Callable[[], Any], seconds: dict[str, float],
          cpu: dict[str, float]) -> Any:
    began, began_cpu = time.perf_counter(), time.process_time()
    result = fn()
    seconds[label] = time.perf_counter() - began
    cpu[label] = time.process_time() - began_cpu
    print(f"{label:<30} {seconds[label]:7.2f} s ({cpu[label]:.2f} s CPU)", flush=True)
    return result


def ranks(found: list[str]) -> str:
    return ", ".join(f"{t} #{found.index(t) + 1}" if t in found else f"{t} missing"
                     for t in THEMES)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA,
                        help=f"folder of the *.train.jsonl corpora (default {DEFAULT_DATA})")
    parser.add_argument("--posts", type=int, default=100_000, help="window size (default 100k)")
    parser.add_argument("--million", action="store_true",
                        help="a 1,000,000-post window, posts generated lazily")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if not all((args.data / f"{name}.train.jsonl").is_file() for name in CORPORA):
        print(f"bench_drivers: {', '.join(CORPORA)} (.train.jsonl) not found in {args.data}. "
              "Pass --data DIR, normally ../shared/datasets/sentiment next to the checkout.",
              file=sys.stderr)
        return 2

    n = 1_000_000 if args.million else args.posts
    rows = load_rows(args.data)
    print(f"{len(rows):,} real texts, {sum(len(t) for t, _ in rows) / len(rows):.0f} characters "
          f"on average; window and previous window of {n:,} posts each")

    def now() -> Iterator[Post]:
        return window(rows, n, args.seed, inject=True)

    def before() -> Iterator[Post]:
        return window(rows, n, args.seed + 1, inject=False)

    posts: tuple[Any, Any] = (now, before)
    if not args.million:
        began = time.perf_counter()
        built = list(now()), list(before())
        posts = (lambda: built[0]), (lambda: built[1])
        print(f"built {2 * n:,} Post objects in {time.perf_counter() - began:.1f} s (not timed)")
    else:
        began = time.process_time()
        for _ in now():
            pass
        making = time.process_time() - began
        print(f"generating the {n:,} window posts alone takes {making:.1f} s CPU: the timings "
              "below include it once per pass over a window (three passes)")
    from scoring.why.words import terms

    terms("预热")  # load jieba's dictionary (about 0.6 s, once per process) outside the timing
    base_rss = rss_bytes()

    seconds: dict[str, float] = {}
    cpu: dict[str, float] = {}
    result = timed("negative_drivers(window, previous)",
                   lambda: negative_drivers(posts[0](), k=50, previous_posts=posts[1]()),
                   seconds, cpu)
    hot = timed("hot_terms(window, previous)", lambda: hot_terms(posts[0](), posts[1](), k=50),
                seconds, cpu)
    total, total_cpu, peak = sum(seconds.values()), sum(cpu.values()), peak_rss_bytes()

    print(f"\nnegative_drivers: {result.negative_posts:,} negative vs {result.other_posts:,} "
          f"other texts used, skipped {dict(result.skipped)}; note {result.note!r}")
    print("  top: " + ", ".join(f"{d.term} ({d.count}, z {d.z:.1f})" for d in result.drivers[:8]))
    print(f"  injected: {ranks([d.term for d in result.drivers])}")
    print("emerging (this window's negative posts against the previous window's): "
          + ", ".join(f"{d.term} ({d.other_count}→{d.count}, z {d.z:.1f})"
                      for d in result.emerging[:8]))
    print(f"  injected: {ranks([d.term for d in result.emerging])} (target: top 5)")
    print("hot_terms top: " + ", ".join(f"{h.term} ({h.previous_count}→{h.count}, z {h.z:.1f})"
                                       for h in hot[:8]))
    print(f"  injected: {ranks([h.term for h in hot])}")

    posts_per_s = n / total
    print(f"\ntotal {total:.2f} s ({total_cpu:.2f} s CPU) for {n:,} posts "
          f"({posts_per_s:,.0f} window posts/s; hot_terms also read the {n:,}-post previous "
          f"window). Wall time above CPU time means other processes shared the cores.")
    print(f"peak RSS {peak / 1024**2:,.0f} MiB; before the analysis {base_rss / 1024**2:,.0f} MiB "
          f"(posts, jieba dictionary), so the drivers added {(peak - base_rss) / 1024**2:,.0f} MiB")
    if not args.million:
        print(f"drivers' share of the why-layer's targets at 100k posts: "
              f"{100 * total / TARGET_SECONDS:.0f} % of {TARGET_SECONDS:.0f} s "
              f"({100 * total_cpu / TARGET_SECONDS:.0f} % in CPU time), "
              f"{100 * peak / TARGET_BYTES:.0f} % of 2 GB peak RSS "
              f"({'within' if total <= TARGET_SECONDS and peak <= TARGET_BYTES else 'OVER'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
