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
from typing import NoReturn

__all__ = ["COMMAND_MODULES", "build_parser", "main"]

COMMAND_MODULES = (
    "scheduler.cli.crawl",  # crawl, parse
    "scheduler.cli.demo",  # demo
    "scheduler.cli.sentiment",  # sentiment score|rescore|eval
    "scheduler.cli.graph",  # graph, graph export, cascade stats
    "scheduler.cli.monitor",  # monitor add|list|show|edit|pause|resume|remove|run|export|import
    "scheduler.cli.service",  # scheduler run
    "scheduler.cli.report",  # report kol|topic
    "scheduler.cli.alert",  # alert list|show|review|precision|test
    "scheduler.cli.attribution",  # attribution import|report
    "scheduler.cli.serve",  # serve (the web app)
    "scheduler.cli.user",  # user add|list|passwd|role|token|remove (web app accounts)
    "scheduler.cli.worker",  # worker (distributed crawling on Redis)
    "scheduler.cli.store",  # store indexes (MongoDB)
)

DESCRIPTION = """\
听风 Tingfeng: collect what Chinese social media says about a topic, show who spreads it and
how, and warn early when opinion turns negative.

Start with `tingfeng demo` (offline, on recorded responses). Store: --store URI or
TINGFENG_STORE (default: an SQLite file in your data directory)."""


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors that name the help to read (sub-commands inherit it)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


def _global_options(parser: argparse.ArgumentParser, *, top: bool) -> None:
    """--store and --verbose, accepted before or after any sub-command. Below the top level the
    default is SUPPRESS, so a sub-command's parser never overwrites a value given earlier."""
    default: dict[str, object] = {} if top else {"default": argparse.SUPPRESS}
    parser.add_argument(
        "--store", metavar="URI", **default,  # type: ignore[arg-type]
        help="store URI: sqlite:///relative.db, sqlite:////absolute.db (default: "
             "TINGFENG_STORE or the data directory), mongodb://host/db, memory://",
    )
    parser.add_argument("-v", "--verbose", action="store_true", **default,  # type: ignore[arg-type]
                        help="log debug output")


def _subparsers(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    out = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in dict.fromkeys(action.choices.values()):
                out.append(child)
                out.extend(_subparsers(child))
    return out


def build_parser() -> argparse.ArgumentParser:
    from importlib.metadata import PackageNotFoundError, version

    try:
        release = version("tingfeng")
    except PackageNotFoundError:  # run from a checkout that was never installed
        release = "unknown"
    parser = Parser(
        prog="tingfeng",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"tingfeng {release}")
    _global_options(parser, top=True)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        try:
            module = import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue  # a command group not built yet
        module.register(sub)
    for child in _subparsers(parser):
        if not any("--store" in a.option_strings for a in child._actions):
            _global_options(child, top=False)
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
        from scheduler.cli.common import check_settings, settings_for

        for note in check_settings(settings_for(args)):
            print(f"tingfeng: {note}", file=sys.stderr)
        return int(args.func(args) or 0)
    except TingfengError as exc:
        print(f"tingfeng: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("tingfeng: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # `tingfeng monitor show X | head -1`: the reader left; not an error of ours.
        import os

        try:  # no second error when Python flushes stdout at exit
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (OSError, ValueError, AttributeError):
            pass
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
