"""The table of forum sites (data, like Scrapy's ``CrawlSpider.rules``) and how spider
arguments pick a row. A site that differs from its engine only in markup or URL layout is a new
row with ``selectors``/``urls`` overrides, never a new class."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from crawlers.errors import ConfigError

from .discuz import URLS as DISCUZ_URLS
from .feeds import feed_site
from .tieba import BASE as TIEBA_BASE
from .tieba import URLS as TIEBA_URLS

__all__ = ["ENGINES", "SITES", "download_slots", "resolve_site"]

ENGINES = ("tieba", "discuz", "discuz_api", "feed")

SITES: dict[str, dict[str, Any]] = {
    # Row keys: engine (one of ENGINES); base (site root, ends with "/" for Discuz); urls and
    # selectors (overrides of the engine's URL templates and CSS selectors); fids (Discuz boards
    # crawled when -a fid= is not given); feeds (feed URLs of a "feed" row); delay (seconds
    # between requests to this host: DOWNLOAD_SLOTS); cookie_setting (the only setting whose
    # value is sent as a Cookie, and only to this site).
    "tieba": {
        "engine": "tieba",
        "base": TIEBA_BASE,
        "urls": TIEBA_URLS,
        "selectors": {},
        # Baidu shows "百度安全验证" to clients that come back quickly; one page per 3 s stays
        # below what a person clicking through a forum does.
        "delay": 3.0,
        "cookie_setting": "TIEBA_COOKIE",
    },
    "s1": {
        # Stage1st (Discuz! X): guest-readable boards through the mobile API; a real
        # forumdisplay answer of it was seen in 2022 (shared/fixtures/SOURCES.md). fid 75 = 外野.
        "engine": "discuz_api",
        "base": "https://bbs.saraba1st.com/2b/",
        "fids": ["75"],
        "delay": 5.0,
    },
}


def resolve_site(
    site: str | None = None,
    *,
    feed: str | None = None,
    discuz: str | None = None,
    api: bool = False,
) -> tuple[str, dict[str, Any]]:
    """(site name, row) for the spider arguments: ``site=<SITES key>``, ``feed=<url>[,<url>]``
    (any RSS/Atom; the site is the feed's host) or ``discuz=<base url>`` (any Discuz! X forum;
    ``api=1`` reads its mobile API instead of HTML). Without any of them: Tieba.

    :raises ConfigError: naming the known sites for an unknown ``site``.
    """
    if feed:
        urls = [u.strip() for u in feed.split(",") if u.strip()]
        return feed_site(urls[0]), {"engine": "feed", "base": urls[0], "feeds": urls}
    if discuz:
        base = discuz if discuz.endswith("/") else discuz + "/"
        if not urlsplit(base).hostname:
            raise ConfigError(
                f"bad discuz={discuz!r}: give the forum root, e.g. https://bbs.example.com/"
            )
        return urlsplit(base).hostname or base, {
            "engine": "discuz_api" if api else "discuz",
            "base": base,
        }
    name = site or "tieba"
    if name not in SITES:
        raise ConfigError(
            f"unknown forum site {name!r}; known: {', '.join(SITES)} "
            "(or -a feed=<RSS/Atom URL>, -a discuz=<forum root URL>)"
        )
    row = dict(SITES[name])
    if row["engine"] in ("discuz", "discuz_api"):
        row["urls"] = {**DISCUZ_URLS, **row.get("urls", {})}
    return name, row


def download_slots(sites: dict[str, dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Scrapy DOWNLOAD_SLOTS from the rows' ``delay``: one request at a time per site host."""
    slots: dict[str, dict[str, float]] = {}
    for row in sites.values():
        host = urlsplit(row["base"]).hostname
        if host and row.get("delay") is not None:
            slots[host] = {"delay": float(row["delay"]), "concurrency": 1}
    return slots
