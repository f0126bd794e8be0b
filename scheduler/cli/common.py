"""Helpers shared by sub-commands: settings, store opening, durations."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from crawlers.timeparse import parse_duration, parse_since

if TYPE_CHECKING:
    from scrapy.settings import Settings

    from crawlers.storage import Store

__all__ = ["open_cli_store", "parse_duration", "parse_since", "settings_for"]

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
