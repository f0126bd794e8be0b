"""PlatformSpider: the machinery every platform spider shares (arguments, URL rebasing,
cookies from settings, safe parsing, stats). Has no ``name``, so Scrapy never runs it alone.

Platform modules add only ``name``, ``checker``, ``custom_settings``, URL builders, parsers and
callbacks (see crawlers/spiders/weibo.py, the reference platform).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, TypeVar

import scrapy

from crawlers.baseurls import base_for, rebase, unbase
from crawlers.errors import UnexpectedPayload
from crawlers.timeparse import parse_since

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.http import Response
    from scrapy.http.request import CookiesT

__all__ = ["PlatformSpider", "ResponseChecker"]

T = TypeVar("T")
class ResponseChecker(Protocol):
    """A platform's ``check_response(status, body, url)``: raises its typed error for a soft
    failure. A Protocol rather than a Callable so that a ``ClassVar`` of it is not read as a
    method (mypy would bind ``self`` and drop the first parameter)."""

    def __call__(self, status: int, body: bytes, url: str, /) -> None: ...


def _cookie_dict(header: str) -> CookiesT:
    """'a=1; b=2' → {'a': '1', 'b': '2'} (typed as what ``scrapy.Request(cookies=…)`` takes).

    >>> _cookie_dict("SUB=x; SUBP=y=z")
    {'SUB': 'x', 'SUBP': 'y=z'}
    """
    pairs = (part.strip().partition("=") for part in header.split(";"))
    return {name: value for name, sep, value in pairs if name and sep}


class PlatformSpider(scrapy.Spider):
    """Base of every platform spider.

    Spider arguments (``-a``): ``keyword`` or ``keywords`` (comma-separated), ``topic`` (defaults
    to the first keyword), ``since`` (7d or ISO), ``max_pages``, ``now`` (ISO; tests only).

    Settings: PLATFORM_BASE_URLS (rebasing), ``<SLUG>_COOKIE`` (sent as the Cookie header;
    never logged), CRAWL_MAX_PAGES.
    """

    checker: ClassVar[ResponseChecker | None] = None

    def __init__(
        self,
        keyword: str | None = None,
        keywords: str | None = None,
        topic: str | None = None,
        since: str | None = None,
        max_pages: str | int | None = None,
        now: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        words = [keyword] if keyword else []
        if keywords:
            words += [w.strip() for w in keywords.split(",")]
        self.keywords: list[str] = [w for w in dict.fromkeys(words) if w]
        self.topic: str | None = topic or (self.keywords[0] if self.keywords else None)
        self.now: datetime = (
            datetime.fromisoformat(now).astimezone(UTC)
            if now
            else datetime.now(UTC)
        )
        self.since: datetime | None = parse_since(since, self.now)
        self._max_pages_arg = int(max_pages) if max_pages not in (None, "") else None

    # -- settings-derived values (available once the crawler is bound) ---------------------------
    @property
    def max_pages(self) -> int:
        if self._max_pages_arg is not None:
            return self._max_pages_arg
        return self.settings.getint("CRAWL_MAX_PAGES", 10)

    @property
    def base_override(self) -> str | None:
        return base_for(self.name, self.settings.getdict("PLATFORM_BASE_URLS"))

    def _cookie(self) -> str:
        return self.settings.get(f"{self.name.upper()}_COOKIE") or ""

    # -- requests ---------------------------------------------------------------------------------
    def url(self, real_url: str) -> str:
        """The URL actually fetched for ``real_url`` (rebased when PLATFORM_BASE_URLS says so)."""
        return rebase(real_url, self.base_override)

    def api_request(
        self,
        real_url: str,
        callback: Callable[..., Any],
        *,
        cb_kwargs: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        meta: dict[str, Any] | None = None,
        method: str = "GET",
        body: bytes | str | None = None,
        priority: int = 0,
        dont_filter: bool = False,
        errback: Callable[..., Any] | None = None,
    ) -> scrapy.Request:
        """A request for a real platform URL; see the class docstring for what it adds."""
        all_headers = dict(headers or {})
        cookies: CookiesT = {}
        # A caller's own Cookie header (forum: TIEBA_COOKIE for one site) wins over <SLUG>_COOKIE.
        cookie = all_headers.pop("Cookie", None) or self._cookie()
        if cookie:
            if self.settings.getbool("COOKIES_ENABLED"):
                # CookiesMiddleware replaces a hand-set Cookie header with its jar, so hand it over.
                cookies = _cookie_dict(cookie)
            else:
                all_headers["Cookie"] = cookie
        return scrapy.Request(
            self.url(real_url),
            cookies=cookies or None,
            callback=callback,
            cb_kwargs=cb_kwargs or {},
            headers=all_headers,
            meta={"real_url": real_url, **(meta or {})},
            method=method,
            body=body,
            priority=priority,
            dont_filter=dont_filter,
            errback=errback,
        )

    # -- responses ---------------------------------------------------------------------------
    def check_response(self, response: Response, request: Request | None = None) -> None:
        """Raise the platform's typed error for a soft failure; called by PlatformErrorMiddleware
        (which passes the request: in a downloader middleware ``response.meta`` is not bound
        yet)."""
        checker = type(self).checker
        if checker is None:
            return
        real_url = request.meta.get("real_url") if request is not None else None
        checker(
            response.status, response.body, real_url or unbase(response.url, self.base_override)
        )

    def parse_safely(
        self, response: Response, parser: Callable[..., list[T]], *args: Any, **kwargs: Any
    ) -> list[T]:
        """``parser(*args, **kwargs)``; a payload it does not understand is counted, logged with
        the URL and skipped, so one bad page never ends the crawl."""
        try:
            return parser(*args, **kwargs)
        except (
            UnexpectedPayload,
            KeyError,
            TypeError,
            ValueError,
            AttributeError,
            IndexError,
        ) as exc:
            self.count("unexpected_payload")
            self.logger.warning(
                "unexpected payload at %s (%s): %s",
                response.meta.get("real_url", response.url),
                type(exc).__name__,
                exc,
            )
            return []

    def count(self, key: str, n: int = 1) -> None:
        """Add ``n`` to the stat ``platform/<slug>/<key>``."""
        if self.crawler is not None and self.crawler.stats is not None:
            self.crawler.stats.inc_value(f"platform/{self.name}/{key}", n)

    def too_old(self, created_at: datetime | None) -> bool:
        """True when ``created_at`` is before ``since`` (the incremental-crawl stop condition)."""
        return self.since is not None and created_at is not None and created_at < self.since
