"""PlatformErrorMiddleware in-process: backoff bounds and behaviour once the crawl is closing."""

from __future__ import annotations

import asyncio

import pytest
from scrapy import Request, Spider
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response
from scrapy.utils.test import get_crawler

from crawlers.errors import RateLimited
from crawlers.middlewares import PlatformErrorMiddleware


class _Limited(Spider):
    name = "toy"
    retry_after: float | None = None

    def check_response(self, response: Response, request: Request | None = None) -> None:
        if response.status == 429:
            raise RateLimited("slow down", platform="toy", retry_after=self.retry_after)


def _middleware(
    monkeypatch: pytest.MonkeyPatch, retry_after: float | None, **settings: object
) -> tuple[PlatformErrorMiddleware, list[float]]:
    crawler = get_crawler(_Limited, {"CRAWL_BACKOFF_BASE": 1.0, **settings})
    crawler.spider = crawler._create_spider()
    crawler.spider.retry_after = retry_after  # type: ignore[attr-defined]
    slept: list[float] = []

    async def fake_sleep(delay: float) -> None:
        slept.append(delay)

    monkeypatch.setattr("crawlers.middlewares.asyncio.sleep", fake_sleep)
    return PlatformErrorMiddleware(crawler), slept


def _limited(url: str = "https://x.example/a") -> tuple[Request, Response]:
    request = Request(url)
    return request, Response(url, status=429, request=request)


def test_retry_after_is_capped_by_backoff_max(monkeypatch: pytest.MonkeyPatch) -> None:
    # A platform asking for an hour must not freeze the crawl past CRAWL_BACKOFF_MAX.
    mw, slept = _middleware(monkeypatch, 3600.0, CRAWL_BACKOFF_MAX=30.0)
    retry = asyncio.run(mw.process_response(*_limited()))
    assert isinstance(retry, Request)
    assert slept == [30.0]


def test_retry_after_below_the_cap_is_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    mw, slept = _middleware(monkeypatch, 7.0, CRAWL_BACKOFF_MAX=30.0)
    asyncio.run(mw.process_response(*_limited()))
    assert slept == [7.0]


def test_no_backoff_sleep_once_the_crawl_is_closing(monkeypatch: pytest.MonkeyPatch) -> None:
    # After the close decision, an in-flight rate-limited answer is dropped at once: sleeping
    # minutes before a retry the closing engine will never schedule only delays shutdown.
    mw, slept = _middleware(monkeypatch, None)
    mw._closing = True
    with pytest.raises(IgnoreRequest):
        asyncio.run(mw.process_response(*_limited()))
    assert slept == []
