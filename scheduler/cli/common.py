"""Helpers shared by sub-commands: settings, store opening, durations."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from crawlers.timeparse import parse_duration, parse_since
from scheduler.monitors import PLATFORMS as MONITOR_PLATFORMS

if TYPE_CHECKING:
    from scrapy.settings import Settings

    from crawlers.storage import Store

__all__ = [
    "PLATFORMS", "check_settings", "find_monitor", "open_cli_store", "parse_duration",
    "parse_since", "past_since", "platform_arg", "platforms_arg", "settings_for", "tier_arg",
    "window_bounds", "window_options",
]

PLATFORMS = MONITOR_PLATFORMS


def platform_arg(text: str) -> str:
    """argparse type: one platform slug, refused with the list when unknown."""
    if text not in PLATFORMS:
        raise argparse.ArgumentTypeError(
            f"unknown platform {text!r}; use one of {', '.join(PLATFORMS)}")
    return text


def platforms_arg(text: str) -> list[str]:
    """argparse type: comma-separated platform slugs (``weibo,zhihu``), each checked; with
    ``action="extend"`` the option may also repeat."""
    return [platform_arg(t.strip()) for t in text.split(",") if t.strip()]


def tier_arg(text: str) -> str:
    """argparse type: one influence tier (scoring.influence.Tier), refused with the list when
    unknown. Imported here, not at module level: scoring loads numpy, and --help stays instant."""
    from scoring.influence import Tier

    tiers = [t.value for t in Tier]
    if text not in tiers:
        raise argparse.ArgumentTypeError(f"unknown tier {text!r}; use one of {', '.join(tiers)}")
    return text


def past_since(text: str | None) -> Any:
    """``--since`` for commands that collect: a start in the future would collect nothing.

    :raises ConfigError: naming the value and the fix.
    """
    from datetime import UTC, datetime

    from crawlers.errors import ConfigError

    since = parse_since(text)
    if since is not None and since > datetime.now(UTC):
        raise ConfigError(f"--since {text!r} is in the future: nothing could be collected; "
                          "give a past date or a duration like 7d")
    return since

def window_options(p: argparse.ArgumentParser) -> None:
    """--monitor | --topic, --since, --until and --platform: the window every report reads."""
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--monitor", metavar="NAME",
                       help="a monitor: its topic, filtered by its query")
    which.add_argument("--topic", metavar="T", help="a topic as stored by crawls (-a topic=T)")
    p.add_argument("--since", default="7d",
                   help="window start: a duration back from now (7d, 12h) or a date; 'all' for "
                        "no bound (default 7d)")
    p.add_argument("--until", help="window end (ISO date or time, default now)")
    p.add_argument("--platform", action="extend", default=[], metavar="SLUGS",
                   type=platforms_arg,
                   help="only these platforms, comma-separated or repeated: weibo, wechat, "
                        "zhihu, forum")


def window_bounds(args: argparse.Namespace) -> tuple[Any, Any]:
    """(since, until) of --since/--until: since None for 'all', until now by default.

    :raises ConfigError: when the window is empty.
    """
    from datetime import UTC, datetime

    from crawlers.errors import ConfigError

    now = datetime.now(UTC)
    since = None if args.since in ("all", "") else parse_since(args.since, now)
    until = (parse_since(args.until, now) if args.until else None) or now
    if since is not None and since >= until:
        raise ConfigError(f"--since {args.since} is not before --until: widen the window")
    return since, until


def find_monitor(store: Store, name: str) -> Any:
    """The monitor ``name`` a report is about, or a ConfigError naming the known ones."""
    from crawlers.errors import ConfigError

    monitor = store.get_monitor(name)
    if monitor is None:
        known = ", ".join(m.name for m in store.monitors()) or "none yet"
        raise ConfigError(f"no monitor {name!r} (known: {known}); "
                          "see `tingfeng monitor list` or use --topic")
    return monitor


def settings_for(args: argparse.Namespace, **overrides: Any) -> Settings:
    """Project settings with the CLI's --store applied."""
    from crawlers.config import load_settings

    if getattr(args, "store", None):
        overrides["STORE_URI"] = args.store
    return load_settings(overrides)


def open_cli_store(args: argparse.Namespace) -> Store:
    """Open the store named by --store, TINGFENG_STORE or the default, creating its folder."""
    from crawlers.storage import open_store

    settings = settings_for(args)
    return open_store(settings.get("STORE_URI"))


def check_settings(settings: Any) -> list[str]:
    """Refuse a store or mail URL no backend understands, before any work starts (a crawl
    into a store that cannot open would spool everything). Returns notes worth printing, e.g.
    which file a relative SQLite URI names.

    :raises ConfigError: naming the setting, the bad value (credentials masked) and the fix.
    """
    from urllib.parse import urlsplit

    from crawlers.errors import ConfigError
    from crawlers.storage import BACKENDS
    from scheduler.notify.mailers import MAILERS, mask_url

    notes = []
    store = str(settings.get("STORE_URI") or "")
    parts = urlsplit(store)
    if parts.scheme.lower() not in BACKENDS:
        known = ", ".join(f"{k}://" for k in BACKENDS)
        raise ConfigError(f"store URI {mask_url(store)!r} (--store or TINGFENG_STORE) has no "
                          f"known scheme; use one of {known}, e.g. sqlite:////abs/path.db")
    if parts.scheme.lower() == "sqlite":
        from crawlers.storage.sqlite import sqlite_path

        path = sqlite_path(store)
        if path != ":memory:" and not path.startswith(("/", "~")):
            from pathlib import Path

            notes.append(f"store: {Path(path).resolve()} (sqlite:///{path} is relative to the "
                         f"current folder; write sqlite:////{path} for /{path})")
    mail = str(settings.get("MAIL_URL") or "")
    if mail and urlsplit(mail).scheme.lower() not in MAILERS:
        known = ", ".join(f"{k}://" for k in MAILERS)
        raise ConfigError(f"mail URL {mask_url(mail)!r} (MAIL_URL or TINGFENG_MAIL_URL) has no "
                          f"known scheme; use one of {known}")
    from scheduler.i18n import check_language

    check_language(settings.get("LANGUAGE"))
    base = str(settings.get("WEB_BASE_URL") or "")
    if base and urlsplit(base).scheme not in ("http", "https"):
        raise ConfigError(f"WEB_BASE_URL={base!r} (TINGFENG_WEB_BASE_URL) must be an http(s) "
                          "address such as https://tingfeng.example.com")
    if parts.scheme.lower().startswith("mongodb"):
        from crawlers.storage._mongoconf import mongo_options

        mongo_options(settings)  # MONGO_* settings refused before any work, not at connect
    from crawlers.config import dispatch_mode

    dispatch_mode(settings)
    return notes
