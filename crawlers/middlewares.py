"""PlatformErrorMiddleware: platforms detect soft failures, this one middleware decides.

Policy (HOUSE_STYLE §3.8), applied to every typed error a spider's ``check_response`` raises:

=====================  ======================================================================
RateLimited            retry after an exponential backoff; after CRAWL_RATE_LIMIT_MAX in a row,
                       close the crawl with reason ``rate_limited``
LoginRequired          close the crawl: ``login_required`` (a crawl-health alert downstream)
Blocked                close the crawl: ``blocked`` (anti-bot wall, frozen account, captcha)
ContentUnavailable     skip the request (deleted post, expired link)
UnexpectedPayload      skip the request; logged with its URL; the crawl goes on
=====================  ======================================================================

Each case is counted as ``platform/<slug>/<reason>``; the stats end up in the CrawlRun record.
Nothing platform-specific lives here.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from scrapy.downloadermiddlewares.retry import get_retry_request
from scrapy.exceptions import IgnoreRequest

from crawlers.errors import (
    Blocked,
    ContentUnavailable,
    LoginRequired,
    PlatformError,
    RateLimited,
    UnexpectedPayload,
)

if TYPE_CHECKING:
    from scrapy import Request, Spider
    from scrapy.crawler import Crawler
    from scrapy.http import Response

__all__ = ["PlatformErrorMiddleware"]

log = logging.getLogger(__name__)


class PlatformErrorMiddleware:
    """Turns platform soft failures into retry, skip or close, and counts them.

    Settings: CRAWL_RATE_LIMIT_MAX, CRAWL_BACKOFF_BASE, CRAWL_BACKOFF_MAX, RETRY_TIMES.
    """

    def __init__(self, crawler: Crawler) -> None:
        s = crawler.settings
        self.crawler = crawler
        self.rate_limit_max = s.getint("CRAWL_RATE_LIMIT_MAX", 5)
        self.backoff_base = s.getfloat("CRAWL_BACKOFF_BASE", 5.0)
        self.backoff_max = s.getfloat("CRAWL_BACKOFF_MAX", 300.0)
        self.max_retries = max(s.getint("RETRY_TIMES", 3), self.rate_limit_max)
        self._rate_limited_in_a_row = 0
        self._closing = False

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> PlatformErrorMiddleware:
        return cls(crawler)

    @property
    def spider(self) -> Spider:
        spider = self.crawler.spider
        assert spider is not None
        return spider

    async def process_response(self, request: Request, response: Response) -> Request | Response:
        spider = self.spider
        check = getattr(spider, "check_response", None)
        # robots.txt is Scrapy's own business (RobotsTxtMiddleware), not a platform answer.
        if check is None or urlsplit(request.url).path.endswith("/robots.txt"):
            return response
        try:
            check(response, request)
        except PlatformError as exc:
            return await self._handle(request, exc)
        if response.status < 400:
            self._rate_limited_in_a_row = 0
        return response

    async def _handle(self, request: Request, exc: PlatformError) -> Request:
        spider = self.spider
        slug = getattr(spider, "name", "platform")
        self._count(f"platform/{slug}/{exc.reason}")
        url = request.meta.get("real_url", request.url)
        if isinstance(exc, RateLimited):
            if self._closing:
                # The close is decided: a retry would never be scheduled, a backoff only
                # holds up the shutdown.
                raise IgnoreRequest(str(exc))
            self._rate_limited_in_a_row += 1
            if self._rate_limited_in_a_row >= self.rate_limit_max:
                self._close("rate_limited", exc)
                raise IgnoreRequest(str(exc))
            retries = request.meta.get("retry_times", 0)
            # A platform's Retry-After is honoured up to CRAWL_BACKOFF_MAX: asking for an hour
            # must not freeze the crawl (the consecutive-limit rule closes it instead).
            delay = min(exc.retry_after or self.backoff_base * 2**retries, self.backoff_max)
            log.warning("%s: rate limited at %s; backing off %.1fs", slug, url, delay)
            if delay > 0:
                await asyncio.sleep(delay)
            retry = get_retry_request(
                request,
                spider=spider,
                reason=f"{slug}_{exc.reason}",
                max_retry_times=self.max_retries,
            )
            if retry is None:
                raise IgnoreRequest(str(exc))
            return retry
        if isinstance(exc, (LoginRequired, Blocked)):
            self._close(exc.reason, exc)
            raise IgnoreRequest(str(exc))
        if isinstance(exc, ContentUnavailable):
            log.info("%s: content unavailable at %s: %s", slug, url, exc.message)
            raise IgnoreRequest(str(exc))
        if isinstance(exc, UnexpectedPayload):
            log.warning("%s: unexpected payload at %s: %s", slug, url, exc.message)
            raise IgnoreRequest(str(exc))
        log.warning("%s: platform error at %s: %s", slug, url, exc.message)
        raise IgnoreRequest(str(exc))

    def _count(self, key: str) -> None:
        if self.crawler.stats is not None:
            self.crawler.stats.inc_value(key)

    def _close(self, reason: str, exc: PlatformError) -> None:
        if self._closing:
            return
        self._closing = True
        log.error("closing the crawl (%s): %s", reason, exc)
        if self.crawler.stats is not None:
            self.crawler.stats.set_value("tingfeng/close_message", str(exc))
        engine: Any = self.crawler.engine
        assert engine is not None
        # The asyncio reactor is Scrapy's default; keep a reference so the task is not collected.
        self._close_task = asyncio.ensure_future(engine.close_spider_async(reason=reason))
