"""``tingfeng sentiment score|rescore|train|adapt|train-abuse|eval``: score JSON lines, rescore
the store, retrain the sentiment model (on the shared corpora, or adapted to the store's own
posts), retrain the abuse model and evaluate. Cheap to import: numpy, scoring and snownlp load
in handlers."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from scheduler.cli.common import open_cli_store, parse_since, settings_for

__all__ = ["register"]

DEFAULT_DATA = "../shared/datasets/sentiment"

EPILOG = """\
examples:
  echo '{"text": "太好用了[哈哈]"}' | tingfeng sentiment score
  tingfeng sentiment score --baseline snownlp < posts.jsonl > scored.jsonl
  tingfeng sentiment rescore --topic 品牌A
  tingfeng sentiment rescore --all            (rescore every post, e.g. after editing RISK_* words)
  tingfeng sentiment eval --data ../shared/datasets/sentiment
  tingfeng sentiment train --data ../shared/datasets/sentiment --out scoring/models
  tingfeng sentiment adapt --topic 品牌A --out models/品牌A
  tingfeng sentiment train-abuse --data ../shared/datasets/sentiment --out scoring/models

The model is Tingfeng's (hashed char n-grams + emoticon/emoji/negation cues, linear weights in
scoring/models); snownlp's stock model is the baseline. SENTIMENT_MODEL_PATH picks another
trained model; SENTIMENT_NEUTRAL_LOW/HIGH set the neutral band."""
ABOUT = EPILOG.split("\n\n", 1)[1]


def _own(*lines: str) -> str:
    """A sub-command's epilog: its own examples, then what the model is."""
    return "examples:\n" + "\n".join(f"  {line}" for line in lines) + "\n\n" + ABOUT


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    group = sub.add_parser(
        "sentiment", help="score texts, rescore stored posts, train and evaluate the model",
        description="Sentiment (score in [0, 1], label, emotion) of posts and texts.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    cmds = group.add_subparsers(dest="sentiment_command", metavar="ACTION", required=True)

    p = cmds.add_parser(
        "score", help="score JSON lines {\"text\": …} from stdin",
        description="Read JSON lines with a \"text\" field on stdin; write each back on stdout "
                    "with score, label, emotion and model added. Bad lines are reported on "
                    "stderr with their line number and skipped.",
        epilog=_own("echo '{\"text\": \"太好用了[哈哈]\"}' | tingfeng sentiment score",
                    "tingfeng sentiment score --baseline snownlp < posts.jsonl > scored.jsonl"),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--model", metavar="PATH", help="model metadata .json (default: shipped)")
    p.add_argument("--baseline", choices=["snownlp"], help="score with stock snownlp instead")
    p.add_argument("--batch-size", type=int, default=1000, metavar="N", help="lines per batch")
    p.set_defaults(func=run_score)

    p = cmds.add_parser(
        "rescore", help="score stored posts whose model version differs; re-tier authors",
        description="Score stored posts not yet scored by the current model (sentiment, "
                    "label, emotion, risk hits), then recompute author tiers and influence.",
        epilog=_own("tingfeng sentiment rescore --topic 品牌A",
                    "tingfeng sentiment rescore --all   (every post, e.g. after editing RISK_*)"),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--topic", metavar="T", help="only posts and authors of topic T")
    p.add_argument("--all", action="store_true",
                   help="rescore every post, even those the current model already scored")
    p.add_argument("--model", metavar="PATH", help="model metadata .json (default: settings)")
    p.add_argument("--since", metavar="WHEN",
                   help="window of the author indices: 30d or a date (default: all posts)")
    p.add_argument("--batch-size", type=int, default=1000, metavar="N", help="posts per write")
    p.set_defaults(func=run_rescore)

    p = cmds.add_parser(
        "train", help="retrain the model on the labelled corpora",
        description="Train on the corpora (10% of each held out by a fixed hash split), "
                    "write tingfeng-sentiment.npz/.json into --out and print held-out "
                    "figures. Needs scikit-learn.",
        epilog=_own("tingfeng sentiment train --data ../shared/datasets/sentiment "
                    "--out scoring/models"),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--data", default=DEFAULT_DATA, metavar="DIR",
                   help=f"folder of the *.train.jsonl files (default {DEFAULT_DATA})")
    p.add_argument("--out", required=True, metavar="DIR", help="folder for the model files")
    p.set_defaults(func=run_train)

    p = cmds.add_parser(
        "adapt", help="retrain on the store's own posts so the model follows your topics",
        description="Label stored posts by their own emoticons ([哈哈] positive, [怒] "
                    "negative…; emoticons then stripped, near-duplicates and sentences "
                    "shared with any dev text dropped) and, where emoticons say nothing, by "
                    "the current model's confident scores; train on them plus the shared "
                    "corpora; write a new model into --out (never over the shipped one or "
                    "the current one) and print held-out figures before and after, and a "
                    "learning curve. Then set SENTIMENT_MODEL_PATH to the new model and run "
                    "`tingfeng sentiment rescore`. Needs scikit-learn; 10–20 minutes on 2 "
                    "cores (one fit per curve point).",
        epilog=_own("tingfeng sentiment adapt --topic 品牌A --out models/品牌A",
                    "tingfeng sentiment adapt --out models/mine --min-confidence 0.95"),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--topic", metavar="T", help="only posts of topic T (default: every post)")
    p.add_argument("--out", required=True, metavar="DIR", help="folder for the model files")
    p.add_argument("--min-confidence", type=float, metavar="P",
                   help="label a post without emoticons by the current model when its score "
                        "is at least P from either side (max(p, 1-p) >= P; default "
                        "SENTIMENT_ADAPT_MIN_CONFIDENCE, 0.9; 1 turns it off)")
    p.add_argument("--data", default=DEFAULT_DATA, metavar="DIR",
                   help=f"folder of the *.train.jsonl files (default {DEFAULT_DATA})")
    p.add_argument("--model", metavar="PATH",
                   help="model metadata .json to start from (default: settings)")
    p.set_defaults(func=run_adapt)

    p = cmds.add_parser(
        "train-abuse", help="retrain the offensive-language model of the risk radar",
        description="Train the abuse model on COLD (offensive.train.jsonl; 10% held out by "
                    "a fixed hash split), calibrate it and choose its threshold (best F1) "
                    "on the held-out split, write tingfeng-abuse.npz/.json into --out and "
                    "print precision, recall and F1 beside the abuse word list's on the same "
                    "split. Needs scikit-learn; under a minute.",
        epilog=_own("tingfeng sentiment train-abuse --data ../shared/datasets/sentiment "
                    "--out scoring/models"),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--data", default=DEFAULT_DATA, metavar="DIR",
                   help=f"folder of the *.train.jsonl files (default {DEFAULT_DATA})")
    p.add_argument("--out", required=True, metavar="DIR", help="folder for the model files")
    p.set_defaults(func=run_train_abuse)

    p = cmds.add_parser(
        "eval", help="accuracy, macro-F1, calibration and emotion figures",
        description="Evaluate on the dev splits training excluded, or on any labelled "
                    "JSON-lines file (--file: {\"text\", \"label\"} with label 1/0, "
                    "positive/negative or an NLPCC emotion name).",
        epilog=_own("tingfeng sentiment eval --data ../shared/datasets/sentiment",
                    "tingfeng sentiment eval --file labelled.jsonl"),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--data", default=DEFAULT_DATA, metavar="DIR",
                   help=f"folder of the *.train.jsonl files (default {DEFAULT_DATA})")
    p.add_argument("--model", metavar="PATH", help="model metadata .json (default: shipped)")
    p.add_argument("--file", metavar="JSONL", help="a labelled JSON-lines file to evaluate on")
    p.add_argument("--baseline", action="store_true",
                   help="also evaluate stock snownlp (on --sample texts per split)")
    p.add_argument("--sample", type=int, default=2000, metavar="N",
                   help="texts per split for snownlp (default 2000)")
    p.set_defaults(func=run_eval)


def _model(args: argparse.Namespace) -> Any:
    from scheduler.rescore import model_from_settings
    from scoring.sentiment import SnowNLPModel

    settings = settings_for(args)
    if getattr(args, "baseline", None) == "snownlp":
        return SnowNLPModel(neutral_band=(float(settings.get("SENTIMENT_NEUTRAL_LOW") or 0.4),
                                          float(settings.get("SENTIMENT_NEUTRAL_HIGH") or 0.6)))
    if args.model and not Path(args.model).exists():
        from crawlers.errors import ConfigError

        raise ConfigError(f"--model {args.model}: no such file; give a model's metadata .json "
                          "(written by `tingfeng sentiment train --out DIR`) or leave it out for "
                          "the shipped model")
    return model_from_settings(settings, args.model)


def run_score(args: argparse.Namespace, stdin: TextIO | None = None,
              stdout: TextIO | None = None) -> int:
    src, out = stdin or sys.stdin, stdout or sys.stdout
    model = _model(args)
    bad = 0
    batch: list[dict[str, Any]] = []

    def flush() -> None:
        for row, r in zip(batch, model.score([row["text"] for row in batch]), strict=True):
            row.update(score=round(r.score, 4), label=r.label, emotion=r.emotion,
                       emotion_confidence=(None if r.confidence is None
                                           else round(r.confidence, 3)),
                       model=r.model or model.version)
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
        batch.clear()

    for lineno, line in enumerate(src, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            if not isinstance(row, dict) or not isinstance(row.get("text"), str):
                raise ValueError('expected an object with a string "text"')
        except ValueError as exc:
            bad += 1
            print(f"tingfeng sentiment score: line {lineno} skipped: {exc}", file=sys.stderr)
            continue
        batch.append(row)
        if len(batch) >= args.batch_size:
            flush()
    flush()
    out.flush()
    if bad:
        print(f"tingfeng sentiment score: {bad} bad line(s) skipped", file=sys.stderr)
        return 1
    return 0


def run_rescore(args: argparse.Namespace) -> int:
    from scheduler.rescore import (
        lexicon_from_settings,
        rescore_store,
        score_authors,
        tiers_from_settings,
    )

    settings = settings_for(args)
    model = _model(args)
    now = datetime.now(UTC)
    since = parse_since(args.since, now)

    def progress(done: int, total: int | None) -> None:
        of = f"/{total:,}" if total is not None else ""
        print(f"\rscored {done:,}{of} posts", end="", file=sys.stderr, flush=True)

    with open_cli_store(args) as store:
        posts = rescore_store(store, model, topic=args.topic, batch_size=args.batch_size,
                              progress=progress, lexicon=lexicon_from_settings(settings),
                              force=args.all)
        if posts:
            print(file=sys.stderr)
        authors = score_authors(store, topic=args.topic, since=since, now=now,
                                tiers=tiers_from_settings(settings))
    print(f"posts scored: {posts} (model {model.version})")
    print(f"authors tiered: {authors}")
    return 0


def _data_dir(text: str) -> Path:
    from crawlers.errors import ConfigError

    path = Path(text)
    if not path.is_dir():
        raise ConfigError(f"sentiment data folder {path} not found: pass --data DIR (the folder "
                          "holding weibo_polarity.train.jsonl, reviews_polarity.train.jsonl and "
                          "weibo_emotion.train.jsonl)")
    return path


def run_train(args: argparse.Namespace) -> int:
    from scoring.training import format_table

    try:
        from scoring.training import train
        meta = train(_data_dir(args.data), args.out,
                     progress=lambda msg: print(msg, file=sys.stderr, flush=True))
    except ModuleNotFoundError as exc:
        print(f"tingfeng: error: training needs {exc.name}: pip install scikit-learn",
              file=sys.stderr)
        return 2
    print(f"model {meta['version']} written to {args.out}")
    print(format_table({meta["version"]: meta["dev"]}))
    return 0


def run_adapt(args: argparse.Namespace) -> int:
    from crawlers.errors import ConfigError
    from scoring.sentiment import DEFAULT_MODEL_PATH, TingfengModel, load_model

    settings = settings_for(args)
    confidence = args.min_confidence
    if confidence is None:
        confidence = float(settings.get("SENTIMENT_ADAPT_MIN_CONFIDENCE", 0.9) or 0.9)
    if not 0.5 <= confidence <= 1.0:
        raise ConfigError(f"--min-confidence {confidence:g}: give a probability between 0.5 "
                          "and 1 (1 labels no post by the model)")
    base_path = args.model or settings.get("SENTIMENT_MODEL_PATH") or None
    if base_path and not Path(base_path).exists():
        raise ConfigError(f"model {base_path} (--model or SENTIMENT_MODEL_PATH) not found: "
                          "give a model's metadata .json or leave both empty for the shipped "
                          "model")
    out = Path(args.out).resolve()
    base_dir = Path(base_path).resolve() if base_path else DEFAULT_MODEL_PATH.parent
    if base_dir.is_file() or base_dir.suffix in (".json", ".npz"):
        base_dir = base_dir.parent
    for taken, what in ((DEFAULT_MODEL_PATH.parent.resolve(), "the shipped model"),
                        (base_dir, "the model adapt starts from")):
        if out == taken:
            raise ConfigError(f"--out {args.out} holds {what}, which adapt never overwrites: "
                              "give a new folder, e.g. --out models/adapted")
    base = load_model(base_path)
    if not isinstance(base, TingfengModel):
        raise ConfigError(f"adapt starts from a Tingfeng model; {base.version} is not one")
    data = _data_dir(args.data)
    with open_cli_store(args) as store:
        posts = [(p.text, "comment" if p.kind in ("comment", "reply") else "weibo")
                 for p in store.posts(topic=args.topic)]
    if not posts:
        where = f"topic {args.topic!r}" if args.topic else "the store"
        raise ConfigError(f"no posts in {where} to adapt to: crawl first (tingfeng crawl …), "
                          "or pass the --store/--topic that holds your posts")
    try:
        from scoring.training import adapt, format_table

        meta = adapt(data, out, posts, base, min_confidence=confidence,
                     progress=lambda msg: print(msg, file=sys.stderr, flush=True))
    except ModuleNotFoundError as exc:
        print(f"tingfeng: error: adapting needs {exc.name}: pip install scikit-learn",
              file=sys.stderr)
        return 2
    info, n = meta["adapt"], meta["adapt"]["counts"]
    print(f"store: {n['posts']:,} posts; {n['labelled']:,} carry polarity emoticons → "
          f"{n['train']:,} training and {n['dev']:,} held-out rows ({n['duplicates']:,} "
          f"near-duplicates, {n['excluded']:,} sharing a sentence with dev text, "
          f"{n['empty']:,} empty without emoticons dropped); {n['confident']:,} more labelled "
          f"by {base.version} at confidence >= {confidence:g}")
    print("learning curve (share of the store's emoticon rows → held-out store posts, "
          "text-only Weibo dev, comments dev):")
    for point in info["curve"]:
        cells = "  ".join("   n/a" if point[k] is None else f"{point[k]:.4f}"
                          for k in ("store", "weibo_stripped", "comments"))
        print(f"  {point['share']:>4.0%} {point['rows']:>9,} rows  {cells}")
    print(format_table({"after (adapted)": meta["dev"], "before (base model)": info["before"]}))
    print(f"model {meta['version']} written to {out}")
    print(f"use it: SENTIMENT_MODEL_PATH={out / 'tingfeng-sentiment.json'} (environment "
          "TINGFENG_SENTIMENT_MODEL), then `tingfeng sentiment rescore` rescores every post "
          "(the model version differs)")
    return 0


def run_train_abuse(args: argparse.Namespace) -> int:
    try:
        from scoring.abuse import train_abuse, wordlist_figures

        meta = train_abuse(_data_dir(args.data), args.out,
                           progress=lambda msg: print(msg, file=sys.stderr, flush=True))
    except ModuleNotFoundError as exc:
        print(f"tingfeng: error: training needs {exc.name}: pip install scikit-learn",
              file=sys.stderr)
        return 2
    from scheduler.rescore import lexicon_from_settings
    from scoring.corpora import load_corpus, split

    dev = split(load_corpus(_data_dir(args.data), "offensive"))[1]
    words = wordlist_figures(dev, lexicon_from_settings(settings_for(args)))
    print(f"model {meta['version']} written to {args.out} (threshold {meta['threshold']:g}, "
          "best F1 on dev)")
    print(f"dev split ({len(dev):,} COLD rows)  precision  recall      F1")
    for name, f in (("model", meta["dev"]), ("abuse word list", words)):
        print(f"  {name:<28}{f['precision']:>9.4f}{f['recall']:>8.4f}{f['f1']:>8.4f}")
    return 0


def run_eval(args: argparse.Namespace) -> int:
    from scoring.sentiment import SnowNLPModel
    from scoring.training import evaluate, evaluate_rows, format_table

    model = _model(args)
    if args.file:
        from scoring.corpora import read_labelled

        rows = list(read_labelled(args.file))
        figures = evaluate_rows(model, rows)
        print(f"{model.version} on {args.file} ({figures['rows']:,} rows)")
        for name, value in figures.items():
            if name != "rows":
                print(f"  {name:<20} {'n/a' if value is None else format(value, '.4f')}")
        return 0
    from scoring.training import dev_sets

    sets = dev_sets(_data_dir(args.data))
    print(f"evaluating {model.version} on the dev splits", file=sys.stderr)
    table = {model.version: evaluate(model, sets)}
    if args.baseline:
        print(f"evaluating snownlp on {args.sample} texts per split", file=sys.stderr)
        table[f"snownlp (n={args.sample})"] = evaluate(SnowNLPModel(), sets, sample=args.sample)
    print(format_table(table))
    return 0
