"""Sentiment bench: each model route on every dev split, against the targets.

    python bench/bench_sentiment.py [--data ../shared/datasets/sentiment] [--sample 1000]
                                    [--model PATH ...] [--no-snownlp] [--adapt [N]]

Dev splits are the ones training excluded (scoring.corpora.is_dev). Per split: accuracy
(score > 0.5 is positive), the share labelled neutral and the predicted positive share beside
the true one; ECE (expected calibration error) with the reliability curve; NLPCC emotion
macro-F1 (like and happiness merged, no emotion counts as a miss) beside the majority class,
and the emotions' confidence against how often they are right (NLPCC and COVID dev);
texts/s of the full score on one core (BLAS/OpenMP pinned to one thread before numpy loads);
accuracy on each split word-segmented by jieba beside the text as published.
snownlp runs on the first --sample rows of each split (a few hundred texts/s).

--adapt N (instead of the tables; trains, 15–25 minutes on 2 cores): the learning curve of
``tingfeng sentiment adapt`` on a stand-in store of N real emoticon-labelled Weibo posts (a
fixed hash half of the shared Weibo corpus, emoticons intact as crawled), removed from the
shared corpora so that neither its training nor its held-out posts are seen twice: shares 0%
(the recipe without the store: the fair "before"), 10%, 25%, 50%, 100% of the store's
emoticon rows → accuracy on its held-out posts (emoticons stripped), text-only Weibo dev and
comments dev; then the adapted model beside the shipped one on every dev split.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"  # one core, before numpy is imported

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

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
    parser.add_argument("--adapt", type=int, nargs="?", const=20_000, metavar="N",
                        help="learning curve of sentiment adapt on N stand-in store posts "
                             "(default 20000)")
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
        emotion_calibration,
        evaluate,
        format_table,
        throughput,
    )

    sets = dev_sets(args.data)
    if args.adapt:
        return _adapt_curve(args.data, sets, args.adapt)
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
    for name in ("weibo_stripped", "comments", "chnsenticorp", "nlpcc_sc", "reviews",
                 "nlpcc_folded", "covid_folded"):
        f = rows[first]
        if f"{name}/positive_share" in f:
            print(f"  {name:<16} {f[f'{name}/positive_share']:.3f} / "
                  f"{f[f'{name}/true_positive_share']:.3f} / {f[f'{name}/neutral_share']:.3f}")
    print(f"\nreliability curve (mean predicted → observed positive rate, n), {first}:")
    for conf, acc, n in curves[first]:
        print(f"  {conf:.2f} → {acc:.3f}  ({n:,})")
    shipped = load_model()
    for name in ("nlpcc_emotion", "covid_emotion"):
        emo_rows = sets[name][1]
        found = emotion_calibration(emo_rows, shipped.score([row.text for row in emo_rows]),
                                    bins=5)
        if found:
            ece, curve = found
            print(f"\nemotion confidence → share right (exact emotion, n), {shipped.version}, "
                  f"{name} dev (temperature {shipped.emotion_temperature:g}; ECE {ece:.3f}):")
            for conf, acc, n in curve:
                print(f"  {conf:.2f} → {acc:.3f}  ({n:,})")
    bands = getattr(shipped, "domain_bands", {})
    if bands:
        print("\nneutral band per domain (chosen on dev: at most 2 points of label accuracy): "
              + ", ".join(f"{d} {lo:.2f}–{hi:.2f}" for d, (lo, hi) in bands.items()))
    _print_segmented(shipped, sets)
    _print_emotion_tuning()
    return 0


def _print_segmented(model: Any, sets: dict[str, Any]) -> None:
    """Accuracy on each polarity dev split as it is and word-segmented by jieba (spaces between
    words, the way some corpora are published: the Weibo comments were): the two should match."""
    import logging
    from dataclasses import replace

    import jieba

    from scoring.training import POLARITY_RECIPE, evaluate_rows

    jieba.setLogLevel(logging.WARNING)
    print("\nword-segmented input (jieba, spaces between words) vs as published, accuracy:")
    for name in POLARITY_RECIPE:
        dev = sets[name][1]
        if not dev:
            continue
        segmented = [replace(r, text=" ".join(jieba.cut(r.text))) for r in dev]
        print(f"  {name:<16} {evaluate_rows(model, dev)['accuracy']:.4f} → "
              f"{evaluate_rows(model, segmented)['accuracy']:.4f}")


def _print_emotion_tuning() -> None:
    import json

    from scoring.sentiment import DEFAULT_MODEL_PATH

    meta = json.loads(DEFAULT_MODEL_PATH.read_text(encoding="utf-8"))
    tuning = meta.get("training", {}).get("emotion", {}).get("tuning")
    if tuning:
        cv = tuning["cv_macro_f1"]
        print(f"emotion, 5-fold CV on the NLPCC training split (macro-F1): head alone "
              f"{cv['head']:.4f}, reweighted by polarity (power {tuning['power']}) "
              f"{cv['fused']:.4f}, with class biases and threshold {tuning['threshold']} "
              f"{cv['tuned']:.4f} (biases chosen on these folds: optimistic)")


def _adapt_curve(data: Path, sets: dict[str, Any], n: int) -> int:
    import tempfile
    import zlib

    from scoring.corpora import load_corpus
    from scoring.features import strip_emoticons
    from scoring.sentiment import TingfengModel, load_model
    from scoring.training import adapt, format_table

    store = [r.text for r in load_corpus(data, "weibo")
             if zlib.crc32(r.text.encode()) % 2 == 0][:n]
    taken = set(store) | {strip_emoticons(t) for t in store}
    for name in ("weibo", "weibo_stripped", "distant"):
        train, dev = sets[name]
        sets[name] = ([r for r in train if r.text not in taken],
                      [r for r in dev if r.text not in taken])
    base = load_model()
    assert isinstance(base, TingfengModel)  # the shipped model (no remote service here)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as out:
        meta = adapt(data, out, [(t, "weibo") for t in store], base, sets=sets,
                     curve=(0.0, 0.1, 0.25, 0.5, 1.0),
                     progress=lambda msg: print(msg, file=sys.stderr, flush=True))
    info = meta["adapt"]
    c = info["counts"]
    print(f"stand-in store: {c['posts']:,} Weibo posts; {c['train']:,} emoticon-labelled "
          f"training rows, {c['dev']:,} held out; {c['confident']:,} labelled by the model; "
          f"adapt took {time.perf_counter() - start:.0f} s")
    print("share  rows     held-out store  text-only Weibo dev  comments dev")
    for p in info["curve"]:
        print(f"{p['share']:>5.0%} {p['rows']:>6,}  {p['store']:>14.4f}  "
              f"{p['weibo_stripped']:>19.4f}  {p['comments']:>12.4f}")
    print(f"shipped model on the held-out store posts: {info['before']['store']:.4f} (it was "
          "trained on the store's training posts, so the 0% row is the fair before)")
    print(format_table({"adapted (100%)": meta["dev"], "shipped": info["before"]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
