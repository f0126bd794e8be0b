"""``tingfeng sentiment score|rescore|train|eval``: score JSON lines, rescore the store, retrain
and evaluate the sentiment model. Cheap to import: numpy, scoring and snownlp load in handlers."""

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
                       model=model.version)
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
                print(f"  {name:<20} {value:.4f}")
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
