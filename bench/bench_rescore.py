"""Rescoring bench: how close scoring stored posts comes to the model's own speed, on a big store.

    python bench/bench_rescore.py [--n 1000000] [--topic-posts 200000] [--uri sqlite:///…]

Builds an SQLite store of ``--n`` posts (bench_store's generator: 20 topics, each post in two),
then times (1) the model alone on the same texts, (2) ``rescore_store`` over the whole store,
(3) ``rescore_store`` of one topic of about ``--topic-posts`` posts after a model change (the
first `monitor run` of a big topic). Targets (issue 10): (2) ≥ 80% of (1)'s texts/s; (3) ≤ 120 s.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"  # one core, before numpy is imported

import argparse  # noqa: E402
import copy  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bench_store import TOPICS, make_posts  # noqa: E402
from crawlers.storage import open_store  # noqa: E402
from scheduler.rescore import rescore_store  # noqa: E402
from scoring.sentiment import load_model  # noqa: E402

TARGET_RATIO = 0.80
TARGET_TOPIC_SECONDS = 120.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="posts in the store")
    parser.add_argument("--uri", help="store URI (default: a temporary SQLite file)")
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="tingfeng-bench-")
    uri = args.uri or f"sqlite:///{Path(folder) / 'rescore.db'}"
    model = load_model()
    texts: list[str] = []
    start = time.perf_counter()
    with open_store(uri) as store:
        for batch in make_posts(args.n, 5000, 7, 0):
            store.upsert_posts(batch)
            if len(texts) < 200_000:
                texts += [p.text for p in batch]
    print(f"store: {args.n:,} posts in {time.perf_counter() - start:.0f} s ({uri})")

    start = time.perf_counter()
    for i in range(0, len(texts), 1000):
        model.score(texts[i:i + 1000])
    alone = len(texts) / (time.perf_counter() - start)
    print(f"model alone: {alone:,.0f} texts/s on {len(texts):,} of the store's texts")

    with open_store(uri) as store:
        start = time.perf_counter()
        written = rescore_store(store, model, batch_size=2000)
        seconds = time.perf_counter() - start
    rate = written / seconds
    print(f"rescore of the whole store: {written:,} posts in {seconds:.1f} s = {rate:,.0f} "
          f"posts/s = {rate / alone:.0%} of the model alone (target ≥ {TARGET_RATIO:.0%}: "
          f"{'met' if rate / alone >= TARGET_RATIO else 'MISSED'})")

    changed = copy.copy(model)
    changed.version = model.version + "-next"  # as after `sentiment train`: every post is stale
    with open_store(uri) as store:
        start = time.perf_counter()
        topic_written = rescore_store(store, changed, topic=TOPICS[0], batch_size=2000)
        seconds = time.perf_counter() - start
    print(f"first run of topic {TOPICS[0]} after a model change: {topic_written:,} posts "
          f"rescored in {seconds:.1f} s (target ≤ {TARGET_TOPIC_SECONDS:.0f} s: "
          f"{'met' if seconds <= TARGET_TOPIC_SECONDS else 'MISSED'})")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory {peak:,.0f} MB")


if __name__ == "__main__":
    main()
