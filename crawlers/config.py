"""Load Tingfeng's settings (crawlers/settings.py) outside a Scrapy crawl (CLI, scheduler), and
check the ones that choose where crawls run before any work starts."""

from __future__ import annotations

import os
from typing import Any

from scrapy.settings import Settings
from scrapy.utils.project import get_project_settings

__all__ = ["DISPATCH_MODES", "dispatch_mode", "load_settings", "scrapyd_nodes"]


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


# -- where crawls run (scheduler/runner.py) ----------------------------------------------------
DISPATCH_MODES = ("auto", "local", "redis", "scrapyd")


def dispatch_mode(settings: Settings | Any) -> str:
    """``CRAWL_DISPATCH`` checked and resolved: "local" (a subprocess per crawl), "redis"
    (``tingfeng worker`` processes sharing a Redis frontier) or "scrapyd" (scrapyd nodes).
    "auto", the default, is "redis" when REDIS_URL is set, else "local".

    :raises ConfigError: one line naming the setting and the fix, before any work starts.
    """
    from crawlers.errors import ConfigError

    raw = str(settings.get("CRAWL_DISPATCH") or "auto")
    mode = raw.strip().lower()
    if mode not in DISPATCH_MODES:
        raise ConfigError(f"CRAWL_DISPATCH={raw!r} (TINGFENG_CRAWL_DISPATCH): use one of "
                          f"{', '.join(DISPATCH_MODES)}")
    if mode == "auto":
        return "redis" if settings.get("REDIS_URL") else "local"
    if mode == "redis" and not settings.get("REDIS_URL"):
        raise ConfigError("CRAWL_DISPATCH=redis needs REDIS_URL "
                          "(TINGFENG_REDIS_URL=redis://host:6379/0)")
    if mode == "scrapyd":
        scrapyd_nodes(settings)
    return mode


def scrapyd_nodes(settings: Settings | Any) -> list[str]:
    """The scrapyd nodes of ``SCRAPYD_URL`` (comma-separated http(s) addresses), each without
    its trailing slash, after checking SCRAPYD_PROJECT and SCRAPYD_POLL_INTERVAL too.

    :raises ConfigError: naming the setting; a password in a bad URL is masked.
    """
    import math
    import re
    from urllib.parse import urlsplit

    from crawlers.errors import ConfigError

    raw = str(settings.get("SCRAPYD_URL") or "")
    nodes = [u.strip() for u in raw.split(",") if u.strip()]
    if not nodes:
        raise ConfigError("CRAWL_DISPATCH=scrapyd needs SCRAPYD_URL "
                          "(TINGFENG_SCRAPYD_URL=http://host:6800, comma-separated for several)")
    for url in nodes:
        try:
            parts = urlsplit(url)
            parts.port  # noqa: B018 - raises ValueError for a port that is not a number
        except ValueError:
            parts = None
        if parts is None or parts.scheme not in ("http", "https") or not parts.hostname \
                or parts.query or parts.fragment:
            shown = re.sub(r"//([^/@:]*):[^/@]*@", r"//\1:***@", url)
            raise ConfigError(f"SCRAPYD_URL has {shown!r} (TINGFENG_SCRAPYD_URL): use scrapyd's "
                              "address, e.g. http://127.0.0.1:6800")
    project = str(settings.get("SCRAPYD_PROJECT") or "")
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", project):
        raise ConfigError(f"SCRAPYD_PROJECT={project!r} (TINGFENG_SCRAPYD_PROJECT): use the "
                          "project name deployed with scrapyd-deploy (scrapy.cfg [deploy])")
    try:
        poll = float(settings.get("SCRAPYD_POLL_INTERVAL", 2.0))
    except (TypeError, ValueError):
        poll = math.nan
    if not (poll > 0 and math.isfinite(poll)):
        raise ConfigError(f"SCRAPYD_POLL_INTERVAL={settings.get('SCRAPYD_POLL_INTERVAL')!r}: "
                          "use the seconds between looks at a scrapyd job, a number above 0")
    return [url.rstrip("/") for url in nodes]
