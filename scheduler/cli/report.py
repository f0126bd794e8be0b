"""``tingfeng report kol`` (who carries a topic) and ``tingfeng report topic`` (how it spreads):
table, JSON, CSV or one self-contained HTML file."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from datetime import UTC
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scheduler.cli.common import (
    find_monitor,
    open_cli_store,
    settings_for,
    tier_arg,
    window_bounds,
    window_options,
)

if TYPE_CHECKING:
    from crawlers.items import Monitor, Post

__all__ = ["register"]

FORMATS = ("table", "json", "csv", "html")

KOL_EPILOG = """\
examples:
  tingfeng report kol --monitor 品牌A --since 7d
  tingfeng report kol --topic 品牌A --platform weibo --tier head --tier waist --top 20
  tingfeng report kol --monitor 品牌A --format html -o 品牌A-kol.html
  tingfeng report kol --topic 品牌A --format csv -o kol.csv   (Excel shows the Chinese intact)

--monitor NAME reports on the monitor's topic and keeps only posts its query matches; --topic T
uses every post stored under T. The HTML file embeds its charts: mail it or open it offline."""

TOPIC_EPILOG = """\
examples:
  tingfeng report topic --monitor 品牌A --since 30d --format html -o 品牌A.html
  tingfeng report topic --topic 品牌A --since 2026-11-01 --until 2026-11-08

The same report with the emphasis on the topic: volume and sentiment over time, platforms,
tiers and the largest cascades, with the ten leading accounts."""


def _common(p: argparse.ArgumentParser, top_default: str) -> None:
    window_options(p)
    p.add_argument("--tier", action="append", default=[], metavar="TIER", type=tier_arg,
                   help="only accounts of this tier (repeatable), e.g. head, waist, tail")
    p.add_argument("--top", type=int, metavar="K", help=f"accounts listed (default {top_default})")
    p.add_argument("--format", "-f", choices=FORMATS, default="table", help="output format")
    p.add_argument("-o", "--output", type=Path, metavar="FILE", help="write to FILE, not stdout")
    p.add_argument("--no-pictures", action="store_true",
                   help="HTML without charts and cascade pictures (faster)")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    report = sub.add_parser(
        "report", help="KOL and topic reports (table, JSON, CSV, HTML)",
        description="Reports on a topic or monitor, from the store.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n  tingfeng report kol --monitor 品牌A --format html -o kol.html\n"
               "  tingfeng report topic --topic 品牌A --since 30d",
    )
    kinds = report.add_subparsers(dest="report_kind", metavar="KIND", required=True)
    p = kinds.add_parser(
        "kol", help="the accounts that carry a topic, ranked",
        description="Key opinion leaders of a topic: per account platform, name, tier, "
                    "followers, posts, engagement, downstream reach, key-node rank, net "
                    "sentiment and first seen; plus the topic's timeline and top cascades.",
        epilog=KOL_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _common(p, "REPORT_TOP_K, 50")
    p.set_defaults(func=run_report, report_k=None)
    p = kinds.add_parser(
        "topic", help="how a topic spread: timeline, platforms, tiers, cascades",
        description="A topic report: volume and sentiment timeline, platform and tier split, "
                    "the largest cascades with their shape, and the leading accounts.",
        epilog=TOPIC_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _common(p, "10")
    p.set_defaults(func=run_report, report_k=10)
    from scheduler.cli.analysis import register_kinds

    register_kinds(kinds)


def _query_filter(monitor: Monitor) -> Callable[[list[Post]], list[Post]]:
    """The monitor's query as a post selection: matching posts and their threads."""
    from scheduler.query import parse_query

    return parse_query(monitor.query).select  # a bad query raises ConfigError showing the position


def _progress(message: str) -> None:
    print(f"tingfeng: {message}", file=sys.stderr, flush=True)


def run_report(args: argparse.Namespace) -> int:
    from datetime import datetime

    from crawlers.errors import ConfigError
    from scheduler.reports import RENDERERS, kol_report

    now = datetime.now(UTC)
    since, until = window_bounds(args)
    settings = settings_for(args)
    k = args.top or args.report_k or settings.getint("REPORT_TOP_K", 50)
    if k < 1:
        raise ConfigError("--top must be at least 1")
    post_filter = None
    with open_cli_store(args) as store:
        topic = args.topic
        if args.monitor:
            monitor = find_monitor(store, args.monitor)
            topic = monitor.name
            post_filter = _query_filter(monitor)
        pictures = args.format == "html" and not args.no_pictures
        _progress(f"assembling report for {topic!r}…")
        report = kol_report(store, topic=topic, since=since, until=until,
                            platform=args.platform or None, tier=args.tier or None, now=now,
                            k=k, post_filter=post_filter, pictures=pictures)
        if args.report_kind == "topic":
            import dataclasses

            report = dataclasses.replace(report, title="话题报告")
    if report.post_count == 0:
        _progress(f"no posts for {topic!r} in the window: crawl first (`tingfeng crawl … "
                  f"--topic {topic}`) or widen --since")
    kwargs: dict[str, Any] = {}
    if args.format == "html":
        _progress("drawing charts…" if pictures else "rendering…")
        if not pictures:
            kwargs["charts"] = {}
    text = RENDERERS[args.format](report, **kwargs)
    text = _with_why(text, args, settings, topic, since, until, post_filter)
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(text, encoding="utf-8", newline="")
        _progress(f"wrote {args.output} ({len(report.accounts)} accounts, "
                  f"{report.post_count} posts)")
    else:
        sys.stdout.write(text.removeprefix("\ufeff") if args.format == "csv" and
                         sys.stdout.isatty() else text)
    return 0


def _with_why(text: str, args: argparse.Namespace, settings: Any, topic: str, since: Any,
              until: Any, post_filter: Any) -> str:
    """The KOL and topic reports with their appendix (scheduler.analysis.appendix): negative
    drivers, events, regions, emotions and influence indices of the same window (JSON: "why"
    and "influence" keys; CSV stays the account table)."""
    if args.format == "csv":
        return text
    import json

    from scheduler.analysis.appendix import appendix_html, appendix_table, report_appendix
    from scheduler.analysis.sections import _jsonable
    from scheduler.i18n import wording_for

    w = wording_for(settings)
    with open_cli_store(args) as store:
        posts = [p for p in store.posts(topic=topic, since=since, until=until)
                 if not args.platform or p.platform in args.platform]
        posts = post_filter(posts) if post_filter else posts
        authors = store.authors({(p.platform, p.author_id) for p in posts if p.author_id})
    appendix = report_appendix(posts, authors, since=since, until=until, w=w)
    if args.format == "json":
        data = json.loads(text)
        data.update(_jsonable(appendix.data))
        return json.dumps(data, ensure_ascii=False, indent=2) + "\n"
    if args.format == "html":
        head = appendix_html(appendix, w)
        return text.replace("</body>", head + "</body>", 1) if "</body>" in text else text + head
    return text + appendix_table(appendix, w)
