"""Rescoring bench: how close scoring stored posts comes to the model's own speed, on a big store.

    python bench/bench_rescore.py [--n 1000000] [--uri sqlite:///…]

Builds an SQLite store of ``--n`` posts (bench_store's generator: 20 topics, each post in two),
then times (1) the model alone on the same texts, (2) ``rescore_store`` over the whole store,
never scored, (3) ``rescore_store`` of one topic (a tenth of the store) after a model change
(the first `monitor run` of a big topic), (4) the whole store again after a model change that
keeps every label (the same weights under a new version: the best case of a retrained model).
Targets (issue 10): (2) ≥ 80% of (1)'s texts/s; (3) ≤ 120 s. Also prints where (2)'s time
goes: reading, the model, risk words, writing.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"  # one core, before numpy is imported

import argparse  # noqa: E402
import copy  # noqa: E402
import itertools  # noqa: E402
import resource  # noqa: E402
import shutil  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

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
    unscored = None
    if uri.startswith("sqlite:///"):  # a never-scored copy, for the time split at the end
        unscored = uri.removeprefix("sqlite:///") + ".unscored"
        shutil.copy(uri.removeprefix("sqlite:///"), unscored)

    start = time.perf_counter()
    for i in range(0, len(texts), 1000):
        model.score(texts[i:i + 1000])
    alone = len(texts) / (time.perf_counter() - start)
    print(f"model alone: {alone:,.0f} texts/s on {len(texts):,} of the store's texts")

    written, seconds = _rescore(uri, model)
    rate = written / seconds
    print(f"rescore of the whole store: {written:,} posts in {seconds:.1f} s = {rate:,.0f} "
          f"posts/s = {rate / alone:.0%} of the model alone (target ≥ {TARGET_RATIO:.0%}: "
          f"{'met' if rate / alone >= TARGET_RATIO else 'MISSED'})")

    # as after `sentiment train`: every post is stale
    topic_written, seconds = _rescore(uri, model, "-next", topic=TOPICS[0])
    print(f"first run of topic {TOPICS[0]} after a model change: {topic_written:,} posts "
          f"rescored in {seconds:.1f} s (target ≤ {TARGET_TOPIC_SECONDS:.0f} s: "
          f"{'met' if seconds <= TARGET_TOPIC_SECONDS else 'MISSED'})")

    written, seconds = _rescore(uri, model, "-retrained")  # same weights: every label kept
    rate = written / seconds
    print(f"rescore of the whole store after a model change that keeps the labels: "
          f"{written:,} posts in {seconds:.1f} s = {rate:,.0f} posts/s = {rate / alone:.0%} "
          f"of the model alone")
    if unscored:
        spent = _split(unscored, model, len(texts))
        print(f"where the first rescore's time goes, on {len(texts):,} posts: "
              + ", ".join(f"{k} {v:.1f} s" for k, v in spent.items()))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory {peak:,.0f} MB")
    shutil.rmtree(folder, ignore_errors=True)  # the store it built (half a GB per 200k posts)


def _rescore(uri: str, model: Any, suffix: str = "", *, topic: str | None = None
             ) -> tuple[int, float]:
    """(posts written, seconds) of one rescore, by ``model`` under its version + ``suffix``."""
    if suffix:
        model = copy.copy(model)
        model.version += suffix
    with open_store(uri) as store:
        start = time.perf_counter()
        written = rescore_store(store, model, topic=topic, batch_size=2000)
        return written, time.perf_counter() - start


def _split(path: str, model: Any, n: int) -> dict[str, float]:
    """The steps of a first rescore, timed apart on ``n`` posts of the store file ``path``."""
    from crawlers.items import PostScore
    from scoring.risk import posts_risk_hits

    spent = dict.fromkeys(("read", "model", "risk words", "write"), 0.0)
    with open_store("sqlite:///" + path) as store:
        source = itertools.islice(store.score_inputs(model.version), n)
        while True:
            start = time.perf_counter()
            batch = list(itertools.islice(source, 20_000))
            spent["read"] += time.perf_counter() - start
            if not batch:
                break
            start = time.perf_counter()
            results = [r for i in range(0, len(batch), 2000)
                       for r in model.score([p.text for p in batch[i:i + 2000]])]
            spent["model"] += time.perf_counter() - start
            start = time.perf_counter()
            hits = posts_risk_hits(batch)
            spent["risk words"] += time.perf_counter() - start
            start = time.perf_counter()
            store.set_scores({p.key: PostScore(r.score, r.label, model.version, r.emotion, h)
                              for p, r, h in zip(batch, results, hits, strict=True)})
            spent["write"] += time.perf_counter() - start
    os.remove(path)
    return spent


if __name__ == "__main__":
    main()
