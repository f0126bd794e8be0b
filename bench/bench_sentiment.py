"""Sentiment bench: each model route on every dev split, against the targets.

    python bench/bench_sentiment.py [--data ../shared/datasets/sentiment] [--sample 1000]
                                    [--model PATH ...] [--no-snownlp]

Dev splits are the ones training excluded (scoring.corpora.is_dev). Per split: accuracy
(score > 0.5 is positive), the share labelled neutral and the predicted positive share beside
the true one; ECE (expected calibration error) with the reliability curve; NLPCC emotion
macro-F1 (like and happiness merged, no emotion counts as a miss) beside the majority class;
texts/s of the full score on one core (BLAS/OpenMP pinned to one thread before numpy loads).
snownlp runs on the first --sample rows of each split (a few hundred texts/s).
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
    parser.add_argument("--model", action="append", default=[],
                        help="another model's metadata .json (repeatable; shipped always runs)")
    parser.add_argument("--sample", type=int, default=1000,
                        help="rows per split for snownlp (default 1000)")
    parser.add_argument("--no-snownlp", action="store_true", help="skip the baseline")
    args = parser.parse_args(argv)
    if not args.data.is_dir():
        print(f"bench_sentiment: data folder {args.data} not found. Pass --data DIR, the folder "
              "holding the *.train.jsonl corpora (normally ../shared/datasets/sentiment next "
              "to the checkout).", file=sys.stderr)
        return 2

    from scoring.sentiment import SnowNLPModel, load_model
    from scoring.training import (
        POLARITY_RECIPE,
        calibration_error,
        dev_sets,
        evaluate,
        format_table,
        throughput,
    )

    sets = dev_sets(args.data)
    print("dev rows: " + ", ".join(f"{k} {len(v[1]):,}" for k, v in sets.items()),
          file=sys.stderr)
    texts = [r.text for k in POLARITY_RECIPE for r in sets[k][1]]
    rows = {}
    curves = {}
    for path in [None, *args.model]:
        model = load_model(path)
        figures = evaluate(model, sets)
        model.score(texts[:1000])  # warm caches before timing
        figures["texts_per_s"] = max(throughput(model, texts) for _ in range(3))
        rows[model.version] = figures
        dev_rows = [r for k in POLARITY_RECIPE for r in sets[k][1]]
        scores = [r.score for r in model.score([r.text for r in dev_rows])]
        curves[model.version] = calibration_error(scores, [int(r.label) for r in dev_rows])[1]
    if not args.no_snownlp:
        print(f"snownlp on {args.sample} rows per split…", file=sys.stderr)
        base = SnowNLPModel()
        base.score(["预热"])  # pay the import outside the timing
        start = time.perf_counter()
        figures = evaluate(base, sets, sample=args.sample)
        figures["texts_per_s"] = throughput(base, texts[:args.sample])
        print(f"snownlp took {time.perf_counter() - start:.0f} s", file=sys.stderr)
        rows[f"snownlp (n<={args.sample})"] = figures
    print(format_table(rows))
    first = next(iter(rows))
    print("\nlabel balance (predicted positive / true positive / neutral share), "
          f"{first}:")
    for name in ("weibo_stripped", "comments", "chnsenticorp", "nlpcc_sc", "reviews"):
        f = rows[first]
        if f"{name}/positive_share" in f:
            print(f"  {name:<16} {f[f'{name}/positive_share']:.3f} / "
                  f"{f[f'{name}/true_positive_share']:.3f} / {f[f'{name}/neutral_share']:.3f}")
    print(f"\nreliability curve (mean predicted → observed positive rate, n), {first}:")
    for conf, acc, n in curves[first]:
        print(f"  {conf:.2f} → {acc:.3f}  ({n:,})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
