"""The ``tingfeng`` command. Thin: each sub-command lives in a module of this package that
exposes ``register(subparsers)``; handlers parse arguments, call library functions and print.

Sub-command modules must import cheaply at module level (no scrapy, snownlp, matplotlib or
networkx at import time): heavy imports go inside the handler, so ``tingfeng --help`` is instant.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from importlib import import_module

__all__ = ["COMMAND_MODULES", "build_parser", "main"]

COMMAND_MODULES = (
    "scheduler.cli.crawl",  # crawl, parse
    "scheduler.cli.demo",  # demo
    "scheduler.cli.sentiment",  # sentiment score|rescore|eval
    "scheduler.cli.graph",  # graph, graph export, cascade stats
    "scheduler.cli.monitor",  # monitor add|list|show|edit|pause|resume|remove|run|export|import
    "scheduler.cli.service",  # scheduler run
    "scheduler.cli.report",  # report kol|topic
)

DESCRIPTION = """\
听风 Tingfeng: collect what Chinese social media says about a topic, show who spreads it and
how, and warn early when opinion turns negative.

Start with `tingfeng demo` (offline, on recorded responses). Store: --store URI or
TINGFENG_STORE (default: an SQLite file in your data directory)."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tingfeng",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--store",
        metavar="URI",
        help="store URI: sqlite:///path.db (default), mongodb://host/db, memory://",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug output")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        try:
            module = import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue  # a command group not built yet
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``tingfeng`` console script. Returns the process exit code."""
    from crawlers.errors import TingfengError
    from crawlers.redact import install as mask_secrets_in_logs

    parser = build_parser()
    args = parser.parse_args(argv)
    mask_secrets_in_logs()
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        return int(args.func(args) or 0)
    except TingfengError as exc:
        print(f"tingfeng: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("tingfeng: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
