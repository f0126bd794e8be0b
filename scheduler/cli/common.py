"""Helpers shared by sub-commands: settings, store opening, durations."""

from __future__ import annotations

import argparse
import re
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from crawlers.errors import ConfigError

if TYPE_CHECKING:
    from scrapy.settings import Settings

    from crawlers.storage import Store

__all__ = ["open_cli_store", "parse_duration", "parse_since", "settings_for"]

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str) -> timedelta:
    """'30m', '2h', '7d', '1w', '45s' → timedelta.

    >>> parse_duration("7d")
    datetime.timedelta(days=7)
    """
    m = _DURATION.match(text)
    if not m:
        raise ConfigError(f"bad duration {text!r}: use a number and a unit, e.g. 30m, 2h, 7d, 1w")
    return timedelta(seconds=float(m.group(1)) * _UNITS[m.group(2)])


def parse_since(text: str | None, now: datetime | None = None) -> datetime | None:
    """'7d' (relative to now) or an ISO date/datetime (UTC if no offset) → aware datetime."""
    if not text:
        return None
    now = now or datetime.now(UTC)
    if _DURATION.match(text):
        return now - parse_duration(text)
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise ConfigError(
            f"bad --since {text!r}: use a duration like 7d or a date like 2026-11-01"
        ) from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


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
