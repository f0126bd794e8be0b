"""Sentiment bench: Tingfeng's model beside stock snownlp on the held-out split, against targets.

    python bench/bench_sentiment.py [--data ../shared/datasets/sentiment] [--sample 2000]

Uses the exact split training excluded (scoring.training.is_heldout). Speed is the full score
(score + label + emotion) on one core: BLAS/OpenMP pools are pinned to one thread before numpy
loads. snownlp is measured on the first --sample texts of each split (it runs a few hundred
texts/s), Tingfeng's model on every held-out text.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"  # one core, before numpy is imported

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
DEFAULT_DATA = REPO.parent / "shared" / "datasets" / "sentiment"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA,
                        help=f"folder of the *.train.jsonl corpora (default {DEFAULT_DATA})")
    parser.add_argument("--model", help="model metadata .json (default: the shipped model)")
    parser.add_argument("--sample", type=int, default=2000,
                        help="texts per split for snownlp (default 2000)")
    parser.add_argument("--no-snownlp", action="store_true", help="skip the baseline")
    args = parser.parse_args(argv)
    if not args.data.is_dir():
        print(f"bench_sentiment: data folder {args.data} not found. Pass --data DIR, the folder "
              "holding weibo_polarity.train.jsonl, reviews_polarity.train.jsonl and "
              "weibo_emotion.train.jsonl (normally ../shared/datasets/sentiment next to the "
              "checkout).", file=sys.stderr)
        return 2

    from scoring.sentiment import SnowNLPModel, load_model
    from scoring.training import evaluate, format_table, load_corpora, throughput

    corpora = load_corpora(args.data)
    sizes = {k: len(v[1]) for k, v in corpora.items()}
    print(f"held-out rows: {sizes}", file=sys.stderr)
    model = load_model(args.model)
    rows = {model.version: evaluate(model, corpora)}
    texts = [t for _, held in corpora.values() for t, _ in held]
    model.score(texts[:1000])  # warm caches before timing
    rows[model.version]["texts_per_s"] = max(throughput(model, texts) for _ in range(3))
    if not args.no_snownlp:
        print(f"snownlp on {args.sample} texts per split…", file=sys.stderr)
        base = SnowNLPModel()
        base.score(["预热"])  # pay the import outside the timing
        start = time.perf_counter()
        figures = evaluate(base, corpora, sample=args.sample)
        print(f"snownlp took {time.perf_counter() - start:.0f} s", file=sys.stderr)
        rows[f"snownlp (n<={args.sample})"] = figures
    print(format_table(rows))
    print(f"\naccuracy: score > 0.5 is positive. weibo_no_emoticons: [xx] and emoji stripped from "
          f"the Weibo held-out texts, empty results dropped. texts_per_s: full score on one core "
          f"({len(texts):,} held-out texts for {model.version}; the Weibo sample for snownlp).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
