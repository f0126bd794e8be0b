"""ForumSpider: one spider for every forum site; the SITES row picks the engine's callbacks."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

from crawlers.errors import ConfigError
from crawlers.items import Author, Post
from crawlers.spiders.base import PlatformSpider

from . import discuz, discuz_api, feeds, tieba, tieba_thread
from .checks import check_response, load_json
from .common import PLATFORM, decode_html
from .sites import SITES, download_slots, resolve_site

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.http import Response

__all__ = ["ForumSpider"]

Item = Post | Author


def _lzl_count(post: Post) -> int:
    """楼中楼 under a floor (floor 1 is stored as the thread: its count sits in extra)."""
    return int((post.extra.get("lzl_count") if post.kind == "thread" else post.comment_count) or 0)


def _normal_first(threads: list[Post]) -> list[Post]:
    """Pinned threads (rules, announcements) last, so the ``threads`` budget goes to discussion."""
    return sorted(threads, key=lambda t: bool(t.extra.get("is_top") or t.extra.get("sticky")))


class ForumSpider(PlatformSpider):
    """Forums: Tieba, Discuz! X (HTML or mobile API) and RSS/Atom feeds.

    Arguments (``-a``): ``site`` (a SITES key, default tieba), ``feed=<url>[,<url>]``,
    ``discuz=<forum root>`` (+ ``api=1`` for the mobile API); ``keyword``/``keywords`` (Tieba:
    forum names, or search queries with ``mode=search``; Discuz and feeds: filters on title and
    text); ``fid`` (Discuz boards, comma-separated; default the row's ``fids``); ``threads``
    (thread pages opened per list page, default 10); ``floors`` (floors per Tieba thread page
    whose 楼中楼 are fetched, default 5); ``max_pages``, ``since``, ``topic`` as everywhere.

    Settings: TIEBA_COOKIE (sent to tieba.baidu.com only; never logged).
    """

    name = PLATFORM
    checker = staticmethod(check_response)
    custom_settings = {
        # Forums are small servers run by volunteers: one request at a time, 3 s apart unless
        # a SITES row says otherwise (DOWNLOAD_SLOTS per host, from each row's "delay").
        "DOWNLOAD_DELAY": 3.0,
        "CONCURRENT_REQUESTS_PER_DOMAIN": 1,
        "DOWNLOAD_SLOTS": download_slots(SITES),
    }

    def __init__(
        self,
        site: str | None = None,
        feed: str | None = None,
        discuz: str | None = None,
        api: str | None = None,
        mode: str = "list",
        fid: str | None = None,
        threads: str | int = 10,
        floors: str | int = 5,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        use_api = (api or "").lower() in ("1", "true", "yes")
        self.site_name, self.site = resolve_site(site, feed=feed, discuz=discuz, api=use_api)
        self.engine: str = self.site["engine"]
        if mode not in ("list", "search"):
            raise ConfigError(
                f"bad mode={mode!r}: use list (Tieba forum names) or search (queries)"
            )
        self.mode = mode
        fids = [f.strip() for f in (fid or "").split(",") if f.strip()]
        self.fids = fids or list(self.site.get("fids", []))
        self.threads_per_page = int(threads)
        self.floors_per_page = int(floors)
        if self.engine == "tieba" and not self.keywords:
            raise ConfigError(
                "site=tieba needs -a keyword=<forum name> (or a query with -a mode=search)"
            )
        if self.engine in ("discuz", "discuz_api") and not self.fids:
            raise ConfigError(
                f"{self.site_name} needs -a fid=<board id>[,<board id>] "
                "(the fid= of its forumdisplay URL)"
            )
        self._seen_replies: dict[str, set[str]] = {}

    # -- helpers --------------------------------------------------------------------------------
    def _request(self, url: str, callback: Callable[..., Any], **cb_kwargs: Any) -> Request:
        headers = {}
        cookie_setting = self.site.get("cookie_setting")
        if cookie_setting and self.settings.get(cookie_setting):
            headers["Cookie"] = self.settings.get(cookie_setting)
        return self.api_request(url, callback, cb_kwargs=cb_kwargs, headers=headers)

    def _text(self, response: Response) -> str:
        content_type = response.headers.get("Content-Type")
        return decode_html(response.body, content_type.decode("latin-1") if content_type else None)

    def _run(
        self, response: Response, parser: Callable[..., list[Any]], payload: Any, **kw: Any
    ) -> list[Item]:
        if self.engine in ("tieba", "discuz"):
            kw["selectors"] = self.site.get("selectors")
        if self.engine != "discuz_api":
            return self.parse_safely(response, parser, payload, now=self.now, **kw)
        skipped: Counter[str] = Counter()
        items = self.parse_safely(response, parser, payload, now=self.now, skipped=skipped, **kw)
        self._count_skipped(skipped)
        return items

    def _count_skipped(self, skipped: Counter[str]) -> None:
        """Rows the parser skipped, as ``parse/forum/<key>`` stats (Weibo's convention, e.g.
        ``parse/forum/discuz_api/broken_row``)."""
        if self.crawler is not None and self.crawler.stats is not None:
            for key, n in skipped.items():
                self.crawler.stats.inc_value(f"parse/{self.name}/{key}", n)

    def _fresh(self, post: Post) -> bool:
        """Not older than ``since``: threads by their last reply, everything else by creation."""
        last = post.extra.get("last_reply_at") if post.kind == "thread" else None
        return not self.too_old(datetime.fromisoformat(last) if last else post.created_at)

    def _wanted(self, post: Post) -> bool:
        """Discuz and feeds have no search: keywords filter titles and text instead."""
        if not self.keywords or self.engine == "tieba":
            return True
        haystack = f"{post.title or ''}\n{post.text}".lower()
        return any(k.lower() in haystack for k in self.keywords)

    def _emit(self, items: Iterable[Item]) -> Iterator[Item]:
        """Fresh posts, then their authors (authors of skipped posts would be noise)."""
        items = list(items)
        posts = [p for p in items if isinstance(p, Post) and self._fresh(p)]
        authors = {p.author_id for p in posts}
        yield from posts
        yield from (a for a in items if isinstance(a, Author) and a.author_id in authors)

    async def start(self) -> AsyncIterator[Any]:
        if self.engine == "tieba":
            for kw in self.keywords:
                if self.mode == "search":
                    url, cb = tieba.search_url(kw, 1), self.parse_tieba_search
                else:
                    url, cb = tieba.thread_list_url(kw, 1), self.parse_tieba_list
                yield self._request(url, cb, kw=kw, page=1)
        elif self.engine in ("discuz", "discuz_api"):
            for fid in self.fids:
                yield self._request(
                    self._discuz_url("list", fid=fid, page=1),
                    self.parse_discuz_list,
                    fid=fid,
                    page=1,
                )
        else:
            for url in self.site["feeds"]:
                yield self._request(url, self.parse_feed, feed_url=url)

    # -- Tieba ------------------------------------------------------------------------------------
    def parse_tieba_list(self, response: Response, kw: str, page: int) -> Iterator[Any]:
        items = self._run(response, tieba.parse_thread_list, self._text(response), forum=kw)
        threads = [p for p in items if isinstance(p, Post) and self._fresh(p)]
        yield from self._emit(items)
        for thread in _normal_first(threads)[: self.threads_per_page]:
            tid = thread.extra["tid"]
            yield self._request(tieba.thread_url(tid), self.parse_tieba_thread, tid=tid, page=1)
        # Lists are ordered by last reply: once a page has nothing fresh, older pages won't either.
        if any(not t.extra.get("is_top") for t in threads) and page < self.max_pages:
            yield self._request(
                tieba.thread_list_url(kw, page + 1), self.parse_tieba_list, kw=kw, page=page + 1
            )

    def parse_tieba_thread(self, response: Response, tid: str, page: int) -> Iterator[Any]:
        items = self._run(response, tieba_thread.parse_thread_page, self._text(response))
        yield from self._emit(items)
        posts = [p for p in items if isinstance(p, Post)]
        # The page says which thread it is; trust it over the URL (redirects, merged threads).
        tid = next((str(p.extra["tid"]) for p in posts if p.extra.get("tid")), tid)
        head = next((p for p in posts if p.kind == "thread"), None)
        if head is not None and page == 1:
            for n in range(2, min(int(head.extra.get("pages") or 1), self.max_pages) + 1):
                yield self._request(
                    tieba.thread_url(tid, n), self.parse_tieba_thread, tid=tid, page=n
                )
        inline: dict[str | None, int] = {}
        for p in posts:
            if p.kind == "reply":
                inline[p.parent_post_id] = inline.get(p.parent_post_id, 0) + 1
        # Browser-rendered pages already hold the first 楼中楼; fetch only floors that have more.
        floors = [
            p
            for p in posts
            if p.kind in ("thread", "comment") and _lzl_count(p) > inline.get(p.post_id, 0)
        ]
        for floor in floors[: self.floors_per_page]:
            pid = floor.extra["first_post_id" if floor.kind == "thread" else "pid"]
            yield self._request(
                tieba.sub_comments_url(tid, pid, 1),
                self.parse_tieba_comments,
                tid=tid,
                pid=pid,
                parent_id=floor.post_id,
                page=1,
            )

    def parse_tieba_comments(
        self, response: Response, tid: str, pid: str, parent_id: str, page: int
    ) -> Iterator[Any]:
        text = self._text(response)
        items = self._run(
            response, tieba_thread.parse_sub_comments, text, tid=tid, pid=pid, parent_id=parent_id
        )
        yield from self._emit(items)
        # Past the last page Tieba repeats it: stop when a page brings no reply we have not seen.
        seen = self._seen_replies.setdefault(parent_id, set())
        new = {p.post_id for p in items if isinstance(p, Post)} - seen
        seen |= new
        if new and page < min(tieba_thread.sub_comment_pages(text), self.max_pages):
            yield self._request(
                tieba.sub_comments_url(tid, pid, page + 1),
                self.parse_tieba_comments,
                tid=tid,
                pid=pid,
                parent_id=parent_id,
                page=page + 1,
            )

    def parse_tieba_search(self, response: Response, kw: str, page: int) -> Iterator[Any]:
        items = self._run(response, tieba.parse_search, self._text(response))
        yield from self._emit(items)
        # Results come newest first (sm=1): a page with nothing fresh ends the query.
        if any(isinstance(p, Post) and self._fresh(p) for p in items) and page < self.max_pages:
            yield self._request(
                tieba.search_url(kw, page + 1), self.parse_tieba_search, kw=kw, page=page + 1
            )

    # -- Discuz! (HTML pages or the mobile API: same ids, same trees) -----------------------------
    def _discuz_url(self, what: str, **params: Any) -> str:
        name = {"list": "forumdisplay", "thread": "viewthread"}[what]
        if self.engine == "discuz_api":
            name = "api_" + name
        return discuz.build_url(name, self.site["base"], self.site.get("urls"), **params)

    def _discuz_payload(self, response: Response) -> Any:
        if self.engine != "discuz_api":
            return self._text(response)
        got = self.parse_safely(response, lambda: [load_json(response.body)])
        return got[0] if got else None

    def parse_discuz_list(self, response: Response, fid: str, page: int) -> Iterator[Any]:
        payload = self._discuz_payload(response)
        if payload is None:
            return
        api = self.engine == "discuz_api"
        parser = discuz_api.parse_api_forumdisplay if api else discuz.parse_forumdisplay
        items = self._run(response, parser, payload, site=self.site_name, base=self.site["base"])
        threads = [p for p in items if isinstance(p, Post) and self._fresh(p) and self._wanted(p)]
        yield from self._emit(threads + [a for a in items if isinstance(a, Author)])
        for thread in _normal_first(threads)[: self.threads_per_page]:
            tid = thread.extra["tid"]
            yield self._request(
                self._discuz_url("thread", tid=tid, page=1),
                self.parse_discuz_thread,
                tid=tid,
                page=1,
                first_pid=None,
            )
        if api:
            more = discuz_api.api_has_more_threads(payload)
        else:
            more = bool(
                discuz.next_page_url(
                    payload, base=self.site["base"], selectors=self.site.get("selectors")
                )
            )
        if more and page < self.max_pages and any(not t.extra.get("sticky") for t in threads):
            yield self._request(
                self._discuz_url("list", fid=fid, page=page + 1),
                self.parse_discuz_list,
                fid=fid,
                page=page + 1,
            )

    def parse_discuz_thread(
        self, response: Response, tid: str, page: int, first_pid: str | None
    ) -> Iterator[Any]:
        payload = self._discuz_payload(response)
        if payload is None:
            return
        api = self.engine == "discuz_api"
        parser = discuz_api.parse_api_viewthread if api else discuz.parse_viewthread
        context: dict[str, Any] = {} if api else {"tid": tid}
        items = self._run(
            response,
            parser,
            payload,
            site=self.site_name,
            base=self.site["base"],
            first_pid=first_pid,
            **context,
        )
        yield from self._emit(items)
        head = next((p for p in items if isinstance(p, Post) and p.kind == "thread"), None)
        first_pid = first_pid or (head.extra.get("first_post_id") if head else None)
        if api:
            more = page < discuz_api.api_thread_pages(payload)
        else:
            more = bool(
                discuz.next_page_url(
                    payload, base=self.site["base"], selectors=self.site.get("selectors")
                )
            )
        if items and more and page < self.max_pages:
            yield self._request(
                self._discuz_url("thread", tid=tid, page=page + 1),
                self.parse_discuz_thread,
                tid=tid,
                page=page + 1,
                first_pid=first_pid,
            )

    # -- feeds ------------------------------------------------------------------------------------
    def parse_feed(self, response: Response, feed_url: str) -> Iterator[Any]:
        content_type = response.headers.get("Content-Type")
        items = self._run(
            response,
            feeds.parse_feed,
            response.body,
            site=self.site_name,
            feed_url=feed_url,
            content_type=content_type.decode("latin-1") if content_type else None,
        )
        yield from self._emit(p for p in items if isinstance(p, Post) and self._wanted(p))
