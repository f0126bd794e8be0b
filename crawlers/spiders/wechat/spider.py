"""WechatSpider: Sogou search and hot lists, account history, article pages, read counts.

Spider arguments (all optional, combine freely; see the package docstring for endpoints):
``keyword``/``keywords`` with ``sources=search,wap,accounts`` (default ``search``), ``hot=8,9``
(wapindex categories), ``biz=…`` (profile_ext history, needs WECHAT_PROFILE_QUERY), ``fakeid=…``
(back-office list, needs WECHAT_COOKIE and WECHAT_TOKEN), ``urls=…`` (article pages),
``articles=0`` (keep list entries, do not fetch article pages), ``profiles=1`` (follow account
search results to their legacy profile pages).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from crawlers.errors import UnexpectedPayload
from crawlers.items import Author, Post
from crawlers.spiders.base import PlatformSpider

from . import history, sogou
from .article import appmsgext_url, parse_appmsgext, parse_article
from .checks import check_response
from .text import PLATFORM, decode_body, load_json, to_int

if TYPE_CHECKING:
    import scrapy
    from scrapy.http import Response
    from twisted.python.failure import Failure

__all__ = ["WechatSpider"]

_SECRET_PARAMS = re.compile(
    r"((?:^|[?&])(?:key|pass_ticket|appmsg_token|uin|token|wxtoken)=)[^&#]*"
)
_COOKIE_HOSTS = ("mp.weixin.qq.com",)  # WECHAT_COOKIE belongs to WeChat, never to Sogou
_PAGE_SIZE = 5  # list_ex count per request, as the back office asks


def redact(url: str) -> str:
    """``url`` with session parameters masked, for logs and request meta."""
    return _SECRET_PARAMS.sub(r"\1***", url)


def _csv(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split(",") if v.strip()]


class WechatSpider(PlatformSpider):
    """WeChat official accounts through Sogou and mp.weixin.qq.com.

    Settings: WECHAT_COOKIE (sent to mp.weixin.qq.com only), WECHAT_TOKEN (back office),
    WECHAT_PROFILE_QUERY (``uin=…&key=…&pass_ticket=…&appmsg_token=…`` from a WeChat-client
    request). All secret: they are masked in logged URLs and never stored.
    """

    name = PLATFORM
    checker = staticmethod(check_response)
    custom_settings = {
        # Sogou answers bursts with its captcha page after a few dozen requests from one address
        # (WechatSogou's experience, 2017): one request at a time, 5 s apart, AutoThrottle on top.
        "DOWNLOAD_DELAY": 5.0,
        "CONCURRENT_REQUESTS_PER_DOMAIN": 1,
    }

    def __init__(
        self,
        sources: str = "search",
        hot: str | None = None,
        biz: str | None = None,
        fakeid: str | None = None,
        urls: str | None = None,
        articles: str = "1",
        profiles: str = "0",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.sources = _csv(sources)
        self.hot_categories = _csv(hot)
        self.bizs = _csv(biz)
        self.fakeids = _csv(fakeid)
        self.article_urls = _csv(urls)
        self.follow_articles = articles not in ("0", "false", "no")
        self.follow_profiles = profiles in ("1", "true", "yes")

    # -- requests -------------------------------------------------------------------------------
    def _request(self, url: str, callback: Any, **kwargs: Any) -> scrapy.Request:
        meta = {"real_url": redact(url), **kwargs.pop("meta", {})}
        request = self.api_request(url, callback, meta=meta, **kwargs)
        if urlsplit(url).hostname not in _COOKIE_HOSTS:
            # The base hands WECHAT_COOKIE over as a header or as request cookies: drop both.
            request.headers.pop(b"Cookie", None)
            if request.cookies:
                request = request.replace(cookies={})
        return request

    @property
    def session_query(self) -> str:
        raw = self.settings.get("WECHAT_PROFILE_QUERY") or ""
        return urlencode([(k, v) for k, v in parse_qsl(raw.lstrip("?")) if k != "__biz"])

    async def start(self) -> AsyncIterator[Any]:
        if not (
            self.keywords or self.hot_categories or self.article_urls or self.bizs or self.fakeids
        ):
            self.logger.warning(
                "nothing to crawl: pass -a keyword=…, hot=…, urls=…, biz=… or fakeid=…"
            )
        for kw in self.keywords:
            if "search" in self.sources:
                yield self._request(
                    sogou.search_url(kw, 1),
                    self.parse_search_page,
                    cb_kwargs={"keyword": kw, "page": 1},
                )
            if "wap" in self.sources:
                yield self._request(
                    sogou.wap_search_url(kw, 1),
                    self.parse_wap_page,
                    cb_kwargs={"keyword": kw, "page": 1},
                )
            if "accounts" in self.sources:
                yield self._request(
                    sogou.account_search_url(kw, 1),
                    self.parse_accounts_page,
                    cb_kwargs={"keyword": kw, "page": 1},
                )
        for category in self.hot_categories:
            yield self._request(
                sogou.hot_url(category, 1),
                self.parse_hot_page,
                cb_kwargs={"category": category, "page": 1},
            )
        for url in self.article_urls:
            yield self._request(url, self.parse_article_page, cb_kwargs={"listed": None})
        for biz in self.bizs:
            if not self.session_query:
                self._skip("WECHAT_PROFILE_QUERY is not set", f"history of biz={biz}")
                continue
            yield self._request(
                history.profile_ext_url(biz, 0, self.session_query),
                self.parse_profile_ext_page,
                cb_kwargs={"biz": biz, "page": 1},
            )
        for fakeid in self.fakeids:
            token = self.settings.get("WECHAT_TOKEN") or ""
            if not token or not self.settings.get("WECHAT_COOKIE"):
                self._skip(
                    "WECHAT_TOKEN and WECHAT_COOKIE are not both set",
                    f"back-office list of fakeid={fakeid}",
                )
                continue
            yield self._request(
                history.appmsg_list_url(fakeid, 0, token, _PAGE_SIZE),
                self.parse_appmsg_page,
                cb_kwargs={"fakeid": fakeid, "begin": 0, "page": 1},
            )

    def _skip(self, why: str, what: str) -> None:
        self.count("skipped_no_session")
        self.logger.warning(
            "%s: skipping the %s (copy them from a logged-in WeChat session)", why, what
        )

    def _text(self, response: Response) -> str | None:
        """The decoded body, or None (counted and logged with the masked URL) when no charset
        decodes it."""
        got = self.parse_safely(
            response, lambda: [decode_body(response.body, response.meta.get("real_url"))]
        )
        return got[0] if got else None

    def _json(self, response: Response) -> dict[str, Any] | None:
        """The JSON object of ``response``, or None when it is not one: counted and logged by
        ``parse_safely`` like any unexpected payload, with the masked URL (the fetched one carries
        the session's key, uin, pass_ticket and appmsg_token)."""

        def one() -> list[dict[str, Any]]:
            payload = load_json(response.body, response.meta.get("real_url"))
            if not isinstance(payload, dict):
                raise UnexpectedPayload(
                    f"expected a JSON object, got {type(payload).__name__}", platform=PLATFORM
                )
            return [payload]

        got = self.parse_safely(response, one)
        return got[0] if got else None

    # -- list pages -----------------------------------------------------------------------------
    def _emit(self, items: list[Post | Author]) -> Iterator[Any]:
        """Authors as they are; posts through their article page when following is on."""
        for item in items:
            if isinstance(item, Post) and self.too_old(item.created_at):
                self.count("too_old")
            elif isinstance(item, Post) and self.follow_articles and item.url:
                yield self._request(
                    item.url,
                    self.parse_article_page,
                    cb_kwargs={"listed": item},
                    errback=self.article_failed,
                )
            else:
                yield item

    def parse_search_page(self, response: Response, keyword: str, page: int) -> Iterator[Any]:
        text = self._text(response)
        if text is None:
            return
        items = self.parse_safely(response, sogou.parse_search, text, now=self.now)
        yield from self._emit(items)
        if items and sogou.has_next_page(text) and page < self.max_pages:
            yield self._request(
                sogou.search_url(keyword, page + 1),
                self.parse_search_page,
                cb_kwargs={"keyword": keyword, "page": page + 1},
            )

    def parse_wap_page(self, response: Response, keyword: str, page: int) -> Iterator[Any]:
        payload = self._json(response)
        if payload is None:
            return
        items = self.parse_safely(response, sogou.parse_wap_search, payload, now=self.now)
        yield from self._emit(items)
        if items and page < min(self.max_pages, sogou.wap_total_pages(payload)):
            yield self._request(
                sogou.wap_search_url(keyword, page + 1),
                self.parse_wap_page,
                cb_kwargs={"keyword": keyword, "page": page + 1},
            )

    def parse_accounts_page(self, response: Response, keyword: str, page: int) -> Iterator[Any]:
        text = self._text(response)
        if text is None:
            return
        authors = self.parse_safely(response, sogou.parse_accounts, text, now=self.now)
        yield from authors
        if self.follow_profiles:
            for author in authors:
                link = author.extra.get("profile_url")
                if link:
                    yield self._request(link, self.parse_msglist_page)
        if authors and sogou.has_next_page(text) and page < self.max_pages:
            yield self._request(
                sogou.account_search_url(keyword, page + 1),
                self.parse_accounts_page,
                cb_kwargs={"keyword": keyword, "page": page + 1},
            )

    def parse_hot_page(self, response: Response, category: str, page: int) -> Iterator[Any]:
        text = self._text(response)
        if text is None:
            return
        items = self.parse_safely(response, sogou.parse_hot, text, now=self.now)
        yield from self._emit(items)
        if items and page < self.max_pages:
            yield self._request(
                sogou.hot_url(category, page + 1),
                self.parse_hot_page,
                cb_kwargs={"category": category, "page": page + 1},
            )

    def parse_msglist_page(self, response: Response) -> Iterator[Any]:
        text = self._text(response)
        if text is not None:
            yield from self._emit(
                self.parse_safely(response, history.parse_msglist, text, now=self.now)
            )

    def _history_done(self, items: list[Post | Author], page: int) -> bool:
        """History is newest first: stop at the page limit or when a page reaches ``since``."""
        posts = [p for p in items if isinstance(p, Post)]
        return not posts or page >= self.max_pages or self.too_old(posts[-1].created_at)

    def parse_profile_ext_page(self, response: Response, biz: str, page: int) -> Iterator[Any]:
        payload = self._json(response)
        if payload is None:
            return
        items = self.parse_safely(response, history.parse_profile_ext, payload, now=self.now)
        yield from self._emit(items)
        offset = history.profile_ext_next(payload)
        if offset is not None and not self._history_done(items, page):
            yield self._request(
                history.profile_ext_url(biz, offset, self.session_query),
                self.parse_profile_ext_page,
                cb_kwargs={"biz": biz, "page": page + 1},
            )

    def parse_appmsg_page(
        self, response: Response, fakeid: str, begin: int, page: int
    ) -> Iterator[Any]:
        payload = self._json(response)
        if payload is None:
            return
        items = self.parse_safely(response, history.parse_appmsg_list, payload, now=self.now)
        yield from self._emit(items)
        begin += _PAGE_SIZE
        if begin < (to_int(payload.get("app_msg_cnt")) or 0) and not self._history_done(
            items, page
        ):
            url = history.appmsg_list_url(
                fakeid, begin, self.settings.get("WECHAT_TOKEN") or "", _PAGE_SIZE
            )
            yield self._request(
                url,
                self.parse_appmsg_page,
                cb_kwargs={"fakeid": fakeid, "begin": begin, "page": page + 1},
            )

    # -- article pages --------------------------------------------------------------------------
    def parse_article_page(self, response: Response, listed: Post | None) -> Iterator[Any]:
        url = listed.url if listed and listed.url else response.meta.get("real_url")
        text = self._text(response)
        items = [] if text is None else self.parse_safely(
            response, parse_article, text, now=self.now, url=url
        )
        if not items:
            if listed is not None:
                yield listed
            return
        article, author = items
        assert isinstance(article, Post) and isinstance(author, Author)
        if listed is not None and listed.post_id == article.post_id:
            # Same article: keep what only the list knew (read counts, Sogou ids).
            filled = {
                f: getattr(listed, f)
                for f in ("read_count", "repost_count", "like_count")
                if getattr(article, f) is None and getattr(listed, f) is not None
            }
            article = dataclasses.replace(
                article, **filled, extra={**listed.extra, **article.extra}
            )
        yield author
        if self.session_query:
            extra = article.extra
            yield self._request(
                appmsgext_url(
                    article.author_id or "",
                    extra["mid"],
                    extra["idx"],
                    extra.get("sn") or "",
                    self.session_query,
                ),
                self.parse_appmsgext_page,
                method="POST",
                cb_kwargs={"article": article},
                body="is_only_read=1&is_temp_url=0&appmsg_type=9&reward_uin_count=0",
                headers={"Content-Type": "application/x-www-form-urlencoded"},
                errback=self.article_failed,
                dont_filter=True,
            )
        else:
            yield article

    def article_failed(self, failure: Failure) -> Iterator[Any]:
        """The article page (or its counts) failed: keep what the list or page already gave."""
        kwargs = getattr(failure.request, "cb_kwargs", {})  # type: ignore[attr-defined]
        fallback = kwargs.get("article") or kwargs.get("listed")
        if fallback is not None:
            self.count("article_fallback")
            yield fallback

    def parse_appmsgext_page(self, response: Response, article: Post) -> Iterator[Any]:
        payload = self._json(response)
        if payload is None:  # the counts are lost, not the article
            self.count("article_fallback")
            yield article
            return
        yield from self.parse_safely(
            response, parse_appmsgext, payload, now=self.now, article=article
        ) or [article]
