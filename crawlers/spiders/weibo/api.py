"""Weibo API calls outside a crawl (monitors, reports): functions taking a
crawlers.clients.ApiClient, reusing the spider's URL builders, checker and parsers."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from crawlers.errors import ContentUnavailable
from crawlers.items import Author, Post

from .checks import check_response
from .parsers import parse_profile, parse_status
from .urls import PLATFORM, profile_url, status_url

if TYPE_CHECKING:
    import httpx

    from crawlers.clients import ApiClient

__all__ = ["API_HEADERS", "fetch_profile", "fetch_status", "make_client"]

API_HEADERS = {
    # The headers m.weibo.cn's own app sends; see WeiboSpider.custom_settings for why.
    "Accept": "application/json, text/plain, */*",
    "MWeibo-Pwa": "1",
    "X-Requested-With": "XMLHttpRequest",
    "Referer": "https://m.weibo.cn/",
}


def make_client(settings: Mapping[str, Any] | Any, *,
                transport: httpx.BaseTransport | None = None) -> ApiClient:
    """An ApiClient for Weibo: our checker and the app's headers; cookie and base from settings."""
    from crawlers.clients import ApiClient

    return ApiClient(PLATFORM, settings, checker=check_response, transport=transport,
                     headers=API_HEADERS)


def fetch_profile(client: ApiClient, uid: str, *, now: datetime) -> Author:
    """The account ``uid`` (m.weibo.cn getIndex type=uid).

    :raises crawlers.errors.PlatformError: subclasses, as ``check_response`` detects them.
    """
    for item in parse_profile(client.get_json(profile_url(uid)), now=now):
        if isinstance(item, Author):
            return item
    raise ContentUnavailable(f"no profile for uid {uid}", platform=PLATFORM, url=profile_url(uid))


def fetch_status(client: ApiClient, bid_or_id: str, *, now: datetime) -> list[Post | Author]:
    """One post (m.weibo.cn statuses/show), its original if it is a repost, and their authors."""
    return parse_status(client.get_json(status_url(bid_or_id)), now=now)
