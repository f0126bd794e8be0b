"""``tingfeng demo``: the whole loop offline, on recorded platform responses.

Starts the recorded-response server, crawls a demo topic on every platform through the real
Scrapy stack into the store, then scores, builds the propagation graph, runs a monitor that
emails an alert into the outbox, and writes a KOL report.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

__all__ = ["register"]

EPILOG = """\
examples:
  tingfeng demo                               # into the default SQLite store
  tingfeng --store sqlite:///demo.db demo     # into a store of your choice
  tingfeng demo --platforms weibo,forum

Nothing is fetched from the internet: every response comes from tests/fixtures (recorded real
responses, plus constructed ones where no recording exists, marked as such in each manifest)."""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "demo", help="run the whole loop offline on recorded responses",
        description=__doc__, epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--platforms", default="weibo,wechat,zhihu,forum",
                   help="comma-separated platforms to crawl (default: all four)")
    p.add_argument("--topic", default="demo", help="topic name the demo posts are stored under")
    p.set_defaults(func=run_demo)


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def run_demo(args: argparse.Namespace) -> int:
    from importlib import import_module

    from crawlers.errors import ConfigError
    from crawlers.replay import ReplayServer, default_fixtures_dir
    from crawlers.storage import open_store
    from scheduler.cli.common import settings_for
    from scheduler.cli.crawl import format_result
    from scheduler.runner import run_crawl

    fixtures = default_fixtures_dir()
    if fixtures is None:
        raise ConfigError(
            "the demo replays tests/fixtures from a source checkout: clone the repository and "
            "install it with `pip install -e .`"
        )
    platforms = [p.strip() for p in args.platforms.split(",") if p.strip()]
    with ReplayServer(fixtures) as server:
        settings = settings_for(
            args,
            PLATFORM_BASE_URLS={p: server.base_url for p in platforms},
            DOWNLOAD_DELAY=0, AUTOTHROTTLE_ENABLED=False, CRAWL_BACKOFF_BASE=0, LOG_LEVEL="INFO",
        )
        store_uri = settings.get("STORE_URI")
        _say(f"[1/2] recorded-response server at {server.base_url} ({len(server.routes)} routes); store {store_uri}")
        results = []
        for platform in platforms:
            module = import_module(f"crawlers.spiders.{platform}")
            demo_args: dict[str, Any] = dict(module.DEMO_ARGS)
            _say(f"      crawling {platform} {demo_args} …")
            result = run_crawl(platform, settings=settings, topic=args.topic, extra_args=demo_args)
            results.append(result)
            _say("      " + format_result(result).replace("\n", "\n      "))
    _say("[2/2] what the store now holds for the demo topic")
    with open_store(store_uri) as store:
        print(summarize(store, args.topic, results))
    return 0 if all(r.returncode == 0 for r in results) else 1


FAILURE_REASONS = frozenset(
    {"rate_limited", "login_required", "blocked", "content_unavailable", "unexpected_payload"}
)


def summarize(store: Any, topic: str, results: list[Any]) -> str:
    """A plain-text summary of what a topic holds: posts by platform and kind, authors,
    repost/reply edges, and crawl failures by kind."""
    from collections import Counter

    posts = list(store.posts(topic=topic))
    by_kind = Counter((p.platform, p.kind) for p in posts)
    edges = sum(1 for p in posts if p.parent_post_id or p.parent_author_id or p.parent_author_name)
    authors = {(p.platform, p.author_id) for p in posts if p.author_id}
    known = store.authors(authors)
    lines = [f"topic {topic!r}: {len(posts)} posts, {len(known)} authors with profiles "
             f"({len(authors)} posting), {edges} repost/reply edges"]
    for platform in sorted({p for p, _ in by_kind}):
        kinds = ", ".join(f"{k} {n}" for (pl, k), n in sorted(by_kind.items()) if pl == platform)
        lines.append(f"  {platform:<7} {kinds}")
    failures: Counter[str] = Counter()
    for r in results:
        for key, value in r.stats.items():
            if key.startswith("platform/") and key.rsplit("/", 1)[-1] in FAILURE_REASONS:
                failures[key] += int(value)
    if failures:
        lines.append("crawl failures by kind (counted, the crawls went on or stopped with a reason):")
        lines += [f"  {k}: {v}" for k, v in sorted(failures.items())]
    return "\n".join(lines)
