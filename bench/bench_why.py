"""The why-layer's speed target: drivers + events + regions on one window, one core.

    python bench/bench_why.py [--posts 100000] [--million] [--data ../shared/datasets/sentiment]

Target (issue 11): at most 20 s and 2 GB for a 100,000-post window. The window is
bench_events.py's (real texts from --data; 30% copy-paste variants in campaigns, 10% reposts,
four sentiment labels in turn) with a region string on three posts in five (the forms the
platforms write: "IP属地：广东", "发布于 深圳", "北京"…); the previous window, for hot terms, is
the same recipe with the next seed. Timed in one process, in the order a report runs them:
negative_drivers(window), hot_terms(window, previous) (it finds the window's segmentation in
words.py's cache), find_events(window) (near-duplicates included), region_breakdown(window).
Building the posts is not timed; jieba's dictionary is loaded before the clock starts (0.6 s,
once per process). Wall time above CPU time means other processes shared the cores. Peak RSS
is the process's, the posts included.
"""

from __future__ import annotations

import argparse
import importlib.util
import resource
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from types import ModuleType
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
DEFAULT_DATA = REPO.parent / "shared" / "datasets" / "sentiment"
TARGET_SECONDS, TARGET_BYTES = 20.0, 2 * 1024**3
REGIONS = ["IP属地：广东", "发布于 深圳", "北京", "IP属地：上海", "四川 成都", "浙江杭州",
           "IP属地：美国", "湖北", "其他", "江苏 南京"]


def _bench_events() -> ModuleType:
    """bench_events.py's window recipe (one source of the posts both benches time)."""
    path = REPO / "bench" / "bench_events.py"
    spec = importlib.util.spec_from_file_location("bench_events", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def rss_bytes() -> int:
    """Current resident set size (Linux /proc; the peak elsewhere)."""
    try:
        return int(Path("/proc/self/statm").read_text().split()[1]) * resource.getpagesize()
    except OSError:
        return peak_rss_bytes()


def peak_rss_bytes() -> int:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


def timed(label: str, fn: Callable[[], Any], rows: list[tuple[str, float, float]]) -> Any:
    began, began_cpu = time.perf_counter(), time.process_time()
    result = fn()
    rows.append((label, time.perf_counter() - began, time.process_time() - began_cpu))
    print(f"{label:<30} {rows[-1][1]:7.2f} s wall {rows[-1][2]:7.2f} s CPU", flush=True)
    return result


def run(data: Path, n: int) -> bool:
    from scoring.why.drivers import hot_terms, negative_drivers
    from scoring.why.events import find_events
    from scoring.why.regions import region_breakdown
    from scoring.why.words import terms

    bench = _bench_events()
    began = time.perf_counter()
    window = [replace(p, region=REGIONS[i % len(REGIONS)]) if i % 5 < 3 else p
              for i, p in enumerate(bench.synthetic_window(data, n, seed=0))]
    previous = bench.synthetic_window(data, n, seed=1)
    print(f"\n{n:,} posts and {n:,} previous posts built in "
          f"{time.perf_counter() - began:.1f} s (not timed)")
    terms("预热")  # jieba's dictionary, once per process
    before = rss_bytes()
    rows: list[tuple[str, float, float]] = []
    drivers = timed("negative_drivers(window, previous)",  # with the emerging drivers
                    lambda: negative_drivers(window, k=15, previous_posts=previous), rows)
    hot = timed("hot_terms(window, previous)", lambda: hot_terms(window, previous, k=20), rows)
    events = timed("find_events(window)", lambda: find_events(window), rows)
    regions = timed("region_breakdown(window)", lambda: region_breakdown(window), rows)
    wall, cpu, peak = sum(r[1] for r in rows), sum(r[2] for r in rows), peak_rss_bytes()
    print(f"  drivers: {', '.join(d.term for d in drivers.drivers[:6])}")
    print(f"  emerging: {', '.join(d.term for d in drivers.emerging[:6])}")
    print(f"  hot: {', '.join(h.term for h in hot[:6])}")
    print(f"  events: {len(events):,}, largest {events[0].size if events else 0:,} posts; "
          f"regions: coverage {regions.coverage:.0%}")
    ok = wall <= TARGET_SECONDS and peak <= TARGET_BYTES
    print(f"total {wall:.2f} s wall ({cpu:.2f} s CPU), peak RSS {peak / 1024**2:,.0f} MiB for "
          f"{n:,} posts" + (f": target ≤ {TARGET_SECONDS:.0f} s and ≤ 2 GB "
                            f"{'met' if ok else 'MISSED'}" if n == 100_000 else ""))
    print(f"  RSS before the analysis {before / 1024**2:,.0f} MiB (the two windows' posts, "
          f"jieba): the analysis added up to {(peak - before) / 1024**2:,.0f} MiB")
    return ok


def step(data: Path, n: int) -> None:
    """The monitor run's events step on an SQLite file: a first run over ``n`` posts, the next
    run over the following ``n`` (the stories of the first grow), then that run repeated."""
    import tempfile

    from crawlers.storage.sqlite import SqliteStore
    from scheduler.analysis.eventstore import update_events

    posts = _bench_events().synthetic_window(data, 2 * n, seed=0)  # in time order
    with tempfile.TemporaryDirectory() as folder:
        store = SqliteStore(Path(folder) / "events.db")
        rows: list[tuple[str, float, float]] = []
        for label, window in (("first run", posts[:n]), ("next run", posts[n:]),
                              ("next run again", posts[n:])):
            at = max(p.created_at for p in window if p.created_at)

            def once(window: list[Any] = window, at: Any = at) -> Any:
                return update_events(store, "bench", window, now=at, active_since=None)

            done = timed(f"update_events: {label}", once, rows)
            print(f"  {len(done.new):,} new, {len(done.grown):,} grown, {done.saved:,} saved; "
                  f"file {(Path(folder) / 'events.db').stat().st_size / 1024**2:,.0f} MiB")
        store.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA,
                        help=f"folder of the *.train.jsonl corpora (default {DEFAULT_DATA})")
    parser.add_argument("--posts", type=int, default=100_000, help="window size (default 100k)")
    parser.add_argument("--million", action="store_true",
                        help="1,000,000 posts instead (run it alone: peak RSS is the process's)")
    parser.add_argument("--step", action="store_true",
                        help="time the monitor run's events step (SQLite) on two windows of "
                             "--posts posts instead")
    args = parser.parse_args(argv)
    if not args.data.is_dir():
        print(f"bench_why: no corpora at {args.data}; pass --data DIR", file=sys.stderr)
        return 2
    if args.step:
        step(args.data, args.posts)
        return 0
    run(args.data, 1_000_000 if args.million else args.posts)
    return 0


if __name__ == "__main__":
    sys.exit(main())
