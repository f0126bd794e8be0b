"""Load Tingfeng's settings (crawlers/settings.py) outside a Scrapy crawl: CLI, scheduler."""

from __future__ import annotations

import os
from typing import Any

from scrapy.settings import Settings
from scrapy.utils.project import get_project_settings

__all__ = ["load_settings"]


def load_settings(overrides: dict[str, Any] | None = None) -> Settings:
    """The project settings with ``overrides`` applied at command-line priority.

    Works from any working directory: the settings module is named explicitly rather than found
    through a scrapy.cfg in the current folder.
    """
    os.environ.setdefault("SCRAPY_SETTINGS_MODULE", "crawlers.settings")
    settings = get_project_settings()
    for key, value in (overrides or {}).items():
        if value is not None:
            settings.set(key, value, priority="cmdline")
    return settings
