"""Helpers shared by sub-commands: settings, store opening, durations."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from crawlers.timeparse import parse_duration, parse_since

if TYPE_CHECKING:
    from scrapy.settings import Settings

    from crawlers.storage import Store

__all__ = ["check_settings", "open_cli_store", "parse_duration", "parse_since", "settings_for"]

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
    from urllib.parse import unquote, urlsplit

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
        if parts.netloc:
            raise ConfigError(f"bad SQLite store URI {store!r}: use sqlite:///relative/path.db "
                              "(three slashes) or sqlite:////absolute/path.db (four)")
        path = unquote(parts.path)[1:]
        if path and path != ":memory:" and not path.startswith(("/", "~")):
            from pathlib import Path

            notes.append(f"store: {Path(path).resolve()} (sqlite:///{path} is relative to the "
                         f"current folder; write sqlite:////{path} for /{path})")
    mail = str(settings.get("MAIL_URL") or "")
    if mail and urlsplit(mail).scheme.lower() not in MAILERS:
        known = ", ".join(f"{k}://" for k in MAILERS)
        raise ConfigError(f"mail URL {mask_url(mail)!r} (MAIL_URL or TINGFENG_MAIL_URL) has no "
                          f"known scheme; use one of {known}")
    return notes
