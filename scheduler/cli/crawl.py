"""``tingfeng crawl`` (run a spider into the store) and ``tingfeng parse`` (re-parse a saved
response offline: the tool to reach for when a platform changes its format)."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from scheduler.cli.common import PLATFORMS, past_since, settings_for

__all__ = ["FAILURE_REASONS", "PLATFORMS", "format_result", "register"]

# The typed soft failures of crawlers/errors.py; platforms also count informational stats
# (platform/weibo/long_text…) that are not failures.
FAILURE_REASONS = frozenset(
    {"rate_limited", "login_required", "blocked", "content_unavailable", "unexpected_payload"}
)

CRAWL_EPILOG = """\
examples:
  tingfeng crawl weibo --keyword 品牌A --since 7d --max-pages 5
  tingfeng crawl zhihu --keyword 品牌A --keyword 品牌A投诉 --topic brand-a
  tingfeng crawl forum -a site=tieba --keyword 品牌A
  WEIBO_COOKIE='SUB=…' tingfeng crawl weibo --keyword 品牌A   (cookies only from the environment)

The crawl runs as a Scrapy subprocess with per-platform politeness (delays, one request at a
time per host, backoff when the platform pushes back). Progress lines go to stderr."""

PARSE_EPILOG = """\
examples:
  tingfeng parse weibo saved/hotflow.json
  tingfeng parse weibo saved/page.json --endpoint search
  tingfeng parse forum saved/thread.html --now 2026-11-20T12:00:00+08:00

Prints one JSON line per item ({"type": "post"|"author", …}). A response that is a platform
error (rate limit, login wall, deleted content…) prints {"type": "error", …} and exits 1."""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "crawl",
        help="crawl a platform for keywords into the store",
        description="Crawl a platform for keywords into the store.",
        epilog=CRAWL_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("platform", choices=PLATFORMS)
    p.add_argument(
        "--keyword", "-k", action="append", default=[], help="search keyword (repeatable)"
    )
    p.add_argument("--topic", help="topic the posts are stored under (default: the first keyword)")
    p.add_argument(
        "--since", help="only newer content: a duration (7d, 12h) or a date (2026-11-01)"
    )
    p.add_argument("--max-pages", type=int, help="pages per listing (default CRAWL_MAX_PAGES)")
    p.add_argument(
        "-a",
        dest="spider_args",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="extra spider argument (repeatable), e.g. -a site=tieba -a comments=3",
    )
    p.add_argument("--quiet", "-q", action="store_true", help="no progress lines")
    p.set_defaults(func=run_crawl_command)

    p = sub.add_parser(
        "parse",
        help="re-parse a saved platform response and print JSON lines",
        description="Re-parse a saved platform response offline and print its items as JSON lines.",
        epilog=PARSE_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("platform", choices=PLATFORMS)
    p.add_argument("file", type=Path, help="a saved response body (JSON or HTML, any encoding)")
    p.add_argument("--endpoint", help="which parser to use (default: detected from the body)")
    p.add_argument("--now", help="ISO time that relative times ('3分钟前') are read against")
    p.add_argument(
        "--context",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="what the body itself does not say, e.g. --context post_id=4900000000000102 "
        "for Weibo's long-text endpoint (repeatable)",
    )
    p.set_defaults(func=run_parse_command)


def _spider_args(pairs: list[str]) -> dict[str, str]:
    from crawlers.errors import ConfigError

    out: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise ConfigError(f"bad argument {pair!r}: use NAME=VALUE, e.g. -a site=tieba")
        out[name] = value
    return out


def run_crawl_command(args: argparse.Namespace) -> int:
    from crawlers.errors import ConfigError
    from scheduler.runner import run_crawl

    extra = _spider_args(args.spider_args)
    if not args.keyword and not any(k in extra for k in ("site", "feed", "discuz", "uid", "url")):
        raise ConfigError(
            "nothing to crawl: give --keyword WORD (or a platform argument like -a feed=URL)"
        )
    settings = settings_for(args)
    since = past_since(args.since)

    def progress(line: str) -> None:
        # Scrapy's progress lines and warnings/errors, not the closing stats dump.
        if not args.quiet and any(m in line for m in ("INFO: Crawled", "] WARNING:", "] ERROR:")):
            print(line, file=sys.stderr)

    print(
        f"crawling {args.platform} for {', '.join(args.keyword) or extra} "
        f"into {_safe(settings.get('STORE_URI'))}",
        file=sys.stderr,
    )
    result = run_crawl(
        args.platform,
        settings=settings,
        keywords=args.keyword,
        topic=args.topic,
        since=since,
        max_pages=args.max_pages,
        extra_args=extra,
        on_line=progress,
    )
    print(format_result(result))
    if result.returncode != 0 and not result.stats:
        print(result.log_tail, file=sys.stderr)
    return 0 if result.ok else 1


def format_result(result: Any) -> str:
    """A short human summary of a CrawlResult: reason, items, stored, failures by kind."""
    stats = result.stats
    lines = [
        f"{result.platform}: {result.finish_reason or 'no record'} "
        f"(pages {stats.get('response_received_count', 0)}, items {result.items}, "
        f"posts stored {stats.get('tingfeng/posts_stored', 0)}, "
        f"authors stored {stats.get('tingfeng/authors_stored', 0)})"
    ]
    prefix = f"platform/{result.platform}/"
    failures = {
        k[len(prefix) :]: v
        for k, v in stats.items()
        if k.startswith(prefix) and k[len(prefix) :] in FAILURE_REASONS
    }
    if failures:
        lines.append("  failures: " + ", ".join(f"{k} {v}" for k, v in sorted(failures.items())))
    return "\n".join(lines)


def _safe(uri: str) -> str:
    """A store URI with any password masked."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(uri)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return urlunsplit(parts._replace(netloc=netloc))
    return uri


def run_parse_command(args: argparse.Namespace) -> int:
    from importlib import import_module

    from crawlers.errors import ConfigError, PlatformError
    from crawlers.items import Author, to_dict

    if not args.file.is_file():
        raise ConfigError(f"{args.file}: no such file")
    module = import_module(f"crawlers.spiders.{args.platform}")
    body = args.file.read_bytes()
    try:
        now = datetime.fromisoformat(args.now) if args.now else datetime.now(UTC)
    except ValueError:
        from crawlers.errors import ConfigError

        raise ConfigError(f"--now {args.now!r} is not an ISO time: write e.g. "
                          "2026-11-20T12:00:00+08:00") from None
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    try:
        module.check_response(200, body, str(args.file))
        endpoint = args.endpoint or module.detect_endpoint(body, str(args.file))
        if endpoint not in module.ENDPOINTS:
            raise ConfigError(
                f"unknown endpoint {endpoint!r} for {args.platform}; "
                f"known: {', '.join(module.ENDPOINTS)}"
            )
        items = module.ENDPOINTS[endpoint](body, now=now, **_spider_args(args.context))
    except PlatformError as exc:
        error = {
            "type": "error",
            "error": type(exc).__name__,
            "reason": exc.reason,
            "message": exc.message,
            "file": str(args.file),
        }
        print(json.dumps(error, ensure_ascii=False))
        print(f"tingfeng: {args.file}: {type(exc).__name__}: {exc.message}", file=sys.stderr)
        return 1
    for item in items:
        kind = "author" if isinstance(item, Author) else "post"
        print(json.dumps({"type": kind, **to_dict(item)}, ensure_ascii=False))
    print(f"{len(items)} items ({endpoint})", file=sys.stderr)
    if any(not getattr(i, "post_id", "x") for i in items):
        print(
            f"note: the {endpoint} body does not name its post; pass --context post_id=ID",
            file=sys.stderr,
        )
    return 0
