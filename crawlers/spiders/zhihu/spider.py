"""ZhihuSpider: search, a question's answers, articles, their comment trees, author profiles.

Spider arguments: ``keyword``/``keywords`` (search_v3), ``questions=id,id`` (answers),
``articles=id,id``, ``members=url_token,…``, ``comments=0`` (skip comment trees),
``authors=0`` (skip fetching author profiles), ``max_comment_pages`` (default 3 per thread).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Any

from crawlers.items import Author, Post
from crawlers.spiders.base import PlatformSpider
from crawlers.zhihu_sign import Signer, load_signer, sign_headers

from . import comments, fields, parsers, search, urls
from .checks import check_response, load_json

if TYPE_CHECKING:
    import scrapy
    from scrapy.http import Response

__all__ = ["ZhihuSpider"]


def _csv(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split(",") if v.strip()]


def _flag(value: str | None, default: bool) -> bool:
    return default if value in (None, "") else str(value).lower() not in ("0", "false", "no")


class ZhihuSpider(PlatformSpider):
    """Zhihu's web API (``www.zhihu.com/api/v4``), signed through crawlers.zhihu_sign.

    Settings: ZHIHU_COOKIE (must hold ``d_c0`` for signing; secret), ZHIHU_SIGNER.
    """

    name = urls.PLATFORM
    checker = staticmethod(check_response)
    custom_settings = {
        # Zhihu's risk control (40362) trips on bursts long before any documented quota:
        # one request at a time, 3 s apart, AutoThrottle on top.
        "DOWNLOAD_DELAY": 3.0,
        "CONCURRENT_REQUESTS_PER_DOMAIN": 1,
        # The web client's API headers; Zhihu's API answers JSON either way.
        "DEFAULT_REQUEST_HEADERS": {
            "Accept": "application/json, text/plain, */*",
            "x-requested-with": "fetch",
            "x-app-za": "OS=Web",
        },
    }

    def __init__(
        self,
        questions: str | None = None,
        articles: str | None = None,
        members: str | None = None,
        comments: str | None = None,
        authors: str | None = None,
        max_comment_pages: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.questions = _csv(questions)
        self.article_ids = _csv(articles)
        self.members = _csv(members)
        self.fetch_comments = _flag(comments, True)
        self.fetch_authors = _flag(authors, True)
        self.max_comment_pages = int(max_comment_pages or 3)
        self._signer: Signer | None = None
        self._seen_tokens: set[str] = set()

    # -- requests -------------------------------------------------------------------------------
    def zhihu_request(self, url: str, callback: Any, **kwargs: Any) -> scrapy.Request:
        """A signed API request for the real ``url`` (signed over its path, not the rebased one)."""
        headers = sign_headers(url, self._cookie(), self._signer)
        return self.api_request(url, callback, headers=headers, **kwargs)

    async def start(self) -> AsyncIterator[Any]:
        self._signer = load_signer(self.settings.get("ZHIHU_SIGNER"))
        if self._signer is None:
            self.logger.warning(
                "ZHIHU_SIGNER is not set: requests go out without x-zse-96 and Zhihu usually "
                "answers 40362/403 (see crawlers/zhihu_sign.py)"
            )
        elif not self._cookie():
            self.logger.warning("ZHIHU_COOKIE is not set: without its d_c0 nothing can be signed")
        if not (self.keywords or self.questions or self.article_ids or self.members):
            self.logger.warning(
                "nothing to crawl: pass -a keyword=…, questions=…, articles=… or members=…"
            )
        for kw in self.keywords:
            yield self.zhihu_request(
                urls.search_url(kw, 1), self.parse_search_page, cb_kwargs={"page": 1}
            )
        for qid in self.questions:
            yield self.zhihu_request(
                urls.feeds_url(qid), self.parse_answers_page, cb_kwargs={"page": 1}
            )
        for aid in self.article_ids:
            yield self.zhihu_request(urls.article_url(aid), self.parse_article_page)
        for token in self.members:
            for request in self._member_request(token):
                yield request

    def _member_request(self, token: str | None) -> Iterator[Any]:
        if token and token not in self._seen_tokens:
            self._seen_tokens.add(token)
            yield self.zhihu_request(urls.member_url(token), self.parse_member_page)

    # -- callbacks ------------------------------------------------------------------------------
    def _emit(self, response: Response, items: list[Post | Author]) -> Iterator[Any]:
        """Items, plus comment trees of answers/articles and profiles of their authors."""
        for item in items:
            if isinstance(item, Author):
                yield item
                if self.fetch_authors:
                    yield from self._member_request(item.extra.get("url_token"))
                continue
            if self.too_old(item.created_at):
                self.count("too_old")
                continue
            yield item
            if (
                self.fetch_comments
                and item.kind in ("answer", "article")
                and (item.comment_count or 0) > 0
            ):
                kind, _, cid = item.post_id.partition(":")
                yield self.zhihu_request(
                    urls.root_comments_url(kind, cid),
                    self.parse_root_comments_page,
                    cb_kwargs={"parent": item.post_id, "page": 1},
                )

    def _follow(
        self, payload: Any, page: int, limit: int, callback: Any, **cb_kwargs: Any
    ) -> Iterator[Any]:
        link = fields.next_page(payload)
        if link and page < limit:
            yield self.zhihu_request(link, callback, cb_kwargs={**cb_kwargs, "page": page + 1})

    def _count_skipped(self, response: Response, skipped: Counter[str]) -> None:
        """Items the parser skipped, as ``parse/zhihu/<key>`` stats (Weibo's convention, e.g.
        ``parse/zhihu/unknown_item_type/koc_box``); broken items are logged with the URL too."""
        if self.crawler is not None and self.crawler.stats is not None:
            for key, n in skipped.items():
                self.crawler.stats.inc_value(f"parse/{self.name}/{key}", n)
        broken = {k: n for k, n in skipped.items() if k.startswith("broken_item/")}
        if broken:
            self.logger.warning(
                "skipped unreadable items at %s: %s",
                response.meta.get("real_url", response.url),
                ", ".join(f"{k} ×{n}" for k, n in sorted(broken.items())),
            )

    def parse_search_page(self, response: Response, page: int) -> Iterator[Any]:
        payload = load_json(response.body, response.url)
        skipped: Counter[str] = Counter()
        items = self.parse_safely(
            response, search.parse_search, payload, now=self.now, skipped=skipped
        )
        self._count_skipped(response, skipped)
        yield from self._emit(response, items)
        # A page of nothing but people or ads is still a page: the next one may hold posts.
        if items or skipped:
            yield from self._follow(payload, page, self.max_pages, self.parse_search_page)

    def parse_answers_page(self, response: Response, page: int) -> Iterator[Any]:
        payload = load_json(response.body, response.url)
        skipped: Counter[str] = Counter()
        items = self.parse_safely(
            response, parsers.parse_answers, payload, now=self.now, skipped=skipped
        )
        self._count_skipped(response, skipped)
        yield from self._emit(response, items)
        if items:
            yield from self._follow(payload, page, self.max_pages, self.parse_answers_page)

    def parse_article_page(self, response: Response) -> Iterator[Any]:
        payload = load_json(response.body, response.url)
        yield from self._emit(
            response, self.parse_safely(response, parsers.parse_article, payload, now=self.now)
        )

    def parse_member_page(self, response: Response) -> Iterator[Any]:
        payload = load_json(response.body, response.url)
        yield from self.parse_safely(response, parsers.parse_member, payload, now=self.now)

    def parse_root_comments_page(self, response: Response, parent: str, page: int) -> Iterator[Any]:
        payload = load_json(response.body, response.url)
        items = self.parse_safely(
            response, comments.parse_root_comments, payload, now=self.now, parent=parent
        )
        inline: dict[str, int] = {}
        for item in items:
            if isinstance(item, Post) and item.kind == "reply":
                head = str(item.extra.get("root_comment_id"))
                inline[head] = inline.get(head, 0) + 1
        yield from items
        for item in items:
            # Root comments carry their first replies inline; fetch the rest of the thread.
            if (
                isinstance(item, Post)
                and item.kind == "comment"
                and (item.comment_count or 0) > inline.get(item.post_id.partition(":")[2], 0)
            ):
                yield self.zhihu_request(
                    urls.child_comments_url(item.post_id.partition(":")[2]),
                    self.parse_child_comments_page,
                    cb_kwargs={
                        "root_comment": item.post_id.partition(":")[2],
                        "root": parent,
                        "page": 1,
                    },
                )
        if items:
            yield from self._follow(
                payload, page, self.max_comment_pages, self.parse_root_comments_page, parent=parent
            )

    def parse_child_comments_page(
        self, response: Response, root_comment: str, root: str, page: int
    ) -> Iterator[Any]:
        payload = load_json(response.body, response.url)
        items = self.parse_safely(
            response,
            comments.parse_child_comments,
            payload,
            now=self.now,
            root_comment=root_comment,
            root=root,
        )
        yield from items
        if items:
            yield from self._follow(
                payload,
                page,
                self.max_comment_pages,
                self.parse_child_comments_page,
                root_comment=root_comment,
                root=root,
            )
