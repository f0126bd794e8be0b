"""WeiboSpider: keyword search (or user timelines) → long text, comments with replies, repost
timelines and author profiles, through the pure parsers of this package."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from crawlers.errors import ConfigError
from crawlers.items import Author, Post
from crawlers.spiders.base import PlatformSpider

from .checks import check_response, load_json
from .comments import hotflow_cursor, parse_hotflow
from .parsers import (
    Item,
    parse_longtext,
    parse_profile,
    parse_repost_timeline,
    parse_search,
    parse_timeline,
)
from .reposts import ChainIndex, copy_post, find_parent, link_parents, merge_long_text
from .urls import (
    PLATFORM,
    extend_url,
    hotflow_url,
    profile_url,
    repost_timeline_url,
    search_url,
    timeline_url,
)

if TYPE_CHECKING:
    import scrapy
    from scrapy.http import Response

__all__ = ["WeiboSpider"]

# m.weibo.cn is a PWA: its API answers the app's own XHRs. Without the headers the app sends
# (MWeibo-Pwa, X-Requested-With, a same-site Referer) and a mobile browser agent it serves
# HTML or the 432 anonymous-traffic block instead of JSON. The agent still names Tingfeng.
_USER_AGENT = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1 "
    "Tingfeng/0.1 (+https://github.com/tingfeng-listening/tingfeng)"
)
_M = "https://m.weibo.cn"


def _count_arg(name: str, value: str | int) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = -1
    if number < 0:
        raise ConfigError(f"weibo: -a {name}={value!r} must be a whole number of pages (0 = none)")
    return number


def _yes_no(name: str, value: str | bool) -> bool:
    text = str(value).strip().lower()
    if text in ("yes", "y", "true", "1", "on"):
        return True
    if text in ("no", "n", "false", "0", "off"):
        return False
    raise ConfigError(f"weibo: -a {name}={value!r} must be yes or no")


class WeiboSpider(PlatformSpider):
    """Weibo through the m.weibo.cn JSON API.

    Arguments (``-a``), besides the base ones (keyword/keywords, topic, since, max_pages):
    ``comments`` comment pages per post (default 2; 0 = none), ``reposts`` repost-timeline pages
    per original (default 2), ``profiles`` yes/no fetch each post author's profile (default yes),
    ``user`` comma-separated uids whose timelines to crawl (instead of, or besides, keywords).
    Cookies only through the WEIBO_COOKIE setting (the base spider sends it).
    """

    name = PLATFORM
    checker = staticmethod(check_response)
    custom_settings = {
        # One request at a time, ≥ 3 s apart (plus the project's jitter): faster anonymous
        # traffic earns HTTP 432 within minutes (reports from 2025–2026).
        "DOWNLOAD_DELAY": 3.0,
        "CONCURRENT_REQUESTS_PER_DOMAIN": 1,
        # Cookies come from WEIBO_COOKIE only, sent as a header by the base spider. Scrapy's
        # CookiesMiddleware drops a hand-set Cookie header, and the visitor cookies Weibo sets
        # lead to login redirects (dataabc/weibo-search#580), so the jar is off.
        "COOKIES_ENABLED": False,
        "USER_AGENT": _USER_AGENT,
        "DEFAULT_REQUEST_HEADERS": {
            "Accept": "application/json, text/plain, */*",
            "Accept-Language": "zh-CN,zh;q=0.9",
            "MWeibo-Pwa": "1",
            "X-Requested-With": "XMLHttpRequest",
        },
        # ROBOTSTXT_OBEY stays the project's True: if m.weibo.cn's robots.txt forbids a path,
        # the crawl collects nothing there and says so in stats (robotstxt/forbidden).
    }

    def __init__(
        self,
        *args: Any,
        comments: str | int = 2,
        reposts: str | int = 2,
        profiles: str | bool = "yes",
        user: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.comment_pages = _count_arg("comments", comments)
        self.repost_pages = _count_arg("reposts", reposts)
        self.fetch_profiles = _yes_no("profiles", profiles)
        self.users = [u.strip() for u in (user or "").split(",") if u.strip()]
        if not self.keywords and self.topic:
            self.keywords = [self.topic]
        if not self.keywords and not self.users:
            raise ConfigError(
                "weibo: nothing to crawl; pass -a keyword=… (or keywords=a,b, topic=…, user=uid)")
        self._authors_seen: set[str] = set()
        self._chains: dict[str, ChainIndex] = {}
        self._unlinked: dict[str, list[Post]] = {}

    async def start(self) -> AsyncIterator[scrapy.Request]:
        for keyword in self.keywords:
            yield self._search(keyword, 1)
        for uid in self.users:
            yield self._timeline(uid, 1)

    # -- requests ---------------------------------------------------------------------------
    def _search(self, keyword: str, page: int) -> scrapy.Request:
        referer = f"{_M}/search?containerid={quote('100103type=1&q=' + keyword, safe='')}"
        return self.api_request(search_url(keyword, page), self.parse_search_page,
                                cb_kwargs={"keyword": keyword, "page": page},
                                headers={"Referer": referer})

    def _timeline(self, uid: str, page: int) -> scrapy.Request:
        return self.api_request(timeline_url(uid, page), self.parse_timeline_page,
                                cb_kwargs={"uid": uid, "page": page},
                                headers={"Referer": f"{_M}/u/{uid}"})

    def _detail(self, url: str, about: str, callback: Callable[..., Any], /,
                **cb_kwargs: Any) -> scrapy.Request:
        """A request made from post ``about``'s page, as the m.weibo.cn app makes it."""
        return self.api_request(url, callback, cb_kwargs=cb_kwargs,
                                headers={"Referer": f"{_M}/detail/{about}"})

    # -- callbacks --------------------------------------------------------------------------
    def parse_search_page(self, response: Response, keyword: str, page: int) -> Iterator[Any]:
        skipped: Counter[str] = Counter()
        payload, items = self._run_parser(response, parse_search, skipped=skipped)
        self._count_skipped(skipped)
        yield from self._listing(items)
        if self._next_page(payload, items, page):
            yield self._search(keyword, page + 1)

    def parse_timeline_page(self, response: Response, uid: str, page: int) -> Iterator[Any]:
        skipped: Counter[str] = Counter()
        payload, items = self._run_parser(response, parse_timeline, skipped=skipped)
        self._count_skipped(skipped)
        yield from self._listing(items)
        if self._next_page(payload, items, page):
            yield self._timeline(uid, page + 1)

    def parse_long_text(self, response: Response, post: Post) -> Iterator[Any]:
        _, items = self._run_parser(response, parse_longtext, post_id=post.post_id)
        for long in items:
            if isinstance(long, Post):
                self.count("long_text")
                yield merge_long_text(post, long)

    def parse_comments_page(self, response: Response, post_id: str, post_author_id: str | None,
                            page: int) -> Iterator[Any]:
        payload, items = self._run_parser(response, parse_hotflow, post_id=post_id,
                                     post_author_id=post_author_id)
        yield from items
        cursor = hotflow_cursor(payload)
        if items and cursor and page < self.comment_pages:
            max_id, max_id_type = cursor
            yield self._detail(hotflow_url(post_id, max_id, max_id_type), post_id,
                               self.parse_comments_page, post_id=post_id,
                               post_author_id=post_author_id, page=page + 1)

    def parse_reposts_page(self, response: Response, root: Post, page: int) -> Iterator[Any]:
        payload, items = self._run_parser(
            response, parse_repost_timeline, root_id=root.post_id,
            root_author_id=root.author_id, root_author_name=root.author_name)
        yield from self._link_across_pages(root.post_id, items)
        data = payload.get("data") if isinstance(payload, dict) else None
        pages = data.get("max") if isinstance(data, dict) else None  # how many pages there are
        if items and isinstance(pages, int) and page < min(pages, self.repost_pages):
            yield self._detail(repost_timeline_url(root.post_id, page + 1), root.post_id,
                               self.parse_reposts_page, root=root, page=page + 1)

    def parse_profile_page(self, response: Response, uid: str) -> Iterator[Any]:
        _, items = self._run_parser(response, parse_profile)
        yield from items

    # -- helpers ----------------------------------------------------------------------------
    def _count_skipped(self, skipped: Counter[str]) -> None:
        """Cards the parser skipped, as ``parse/weibo/<what>`` stats (e.g. unknown_card_type/58)."""
        if self.crawler is not None and self.crawler.stats is not None:
            for key, n in skipped.items():
                self.crawler.stats.inc_value(f"parse/{self.name}/{key}", n)

    def _run_parser(self, response: Response, parser: Callable[..., list[Item]],
                    **context: Any) -> tuple[Any, list[Item]]:
        """Decode the JSON body and run ``parser`` through ``parse_safely``: a body it does not
        understand is counted, logged with its URL and yields nothing. Returns (payload, items)."""
        url = response.meta.get("real_url", response.url)
        decoded: list[Any] = []

        def run() -> list[Item]:
            decoded.append(load_json(response.body, url))
            return parser(decoded[0], now=self.now, **context)

        items = self.parse_safely(response, run)
        return (decoded[0] if decoded else None), items

    def _next_page(self, payload: Any, items: list[Item], page: int) -> bool:
        posts = [i for i in items if isinstance(i, Post)]
        if not posts or page >= self.max_pages:
            return False
        if self.since is not None and all(self.too_old(p.created_at) for p in posts):
            self.count("since_reached")
            return False
        data = payload.get("data") if isinstance(payload, dict) else None
        info = data.get("cardlistInfo") if isinstance(data, dict) else None
        # cardlistInfo.page is the next page's number; empty on the last page.
        return not (isinstance(info, dict) and "page" in info and not info["page"])

    def _listing(self, items: list[Item]) -> Iterator[Any]:
        """Search/timeline items, then the requests they call for. Posts older than ``since``
        are dropped, except an original that a kept repost on the page spreads: it is the root
        of a live cascade."""
        live_roots = {i.root_post_id for i in items if isinstance(i, Post)
                      and i.kind == "repost" and not self.too_old(i.created_at)}
        for item in items:
            if isinstance(item, Author):
                # Once per crawl: listings repeat authors with rounded counts ("152.1万") that
                # would overwrite the exact ones the profile brings.
                if item.author_id in self._authors_seen:
                    continue
                self._authors_seen.add(item.author_id)
                yield item
                if self.fetch_profiles:
                    yield self.api_request(profile_url(item.author_id), self.parse_profile_page,
                                           cb_kwargs={"uid": item.author_id},
                                           headers={"Referer": f"{_M}/u/{item.author_id}"})
                continue
            if self.too_old(item.created_at) and item.post_id not in live_roots:
                self.count("too_old")
                continue
            yield item
            yield from self._follow(item)

    def _follow(self, post: Post) -> Iterator[scrapy.Request]:
        if post.extra.get("truncated"):
            yield self._detail(extend_url(post.post_id), post.post_id, self.parse_long_text,
                               post=post)
        if self.comment_pages and (post.comment_count or 0) > 0:
            yield self._detail(hotflow_url(post.post_id), post.post_id, self.parse_comments_page,
                               post_id=post.post_id, post_author_id=post.author_id, page=1)
        # Reposts of a repost belong to its root's timeline, which the root (embedded in the
        # same page as the repost's retweeted_status) schedules.
        if self.repost_pages and post.kind == "original" and (post.repost_count or 0) > 0:
            yield self._detail(repost_timeline_url(post.post_id), post.post_id,
                               self.parse_reposts_page, root=post, page=1)

    def _link_across_pages(self, root_id: str, items: list[Item]) -> Iterator[Item]:
        """Yield a repost page, linking chained reposts to parents seen on any page so far;
        earlier reposts whose parent only now appeared are yielded again with the link."""
        index = self._chains.setdefault(root_id, {})
        reposts = [i for i in items if isinstance(i, Post) and i.kind == "repost"]
        link_parents(reposts, index)
        yield from items
        waiting = []
        for post in self._unlinked.get(root_id, []):
            parent = find_parent(post, index)
            if parent is None:
                waiting.append(post)
            else:
                self.count("repost_parent_linked_late")
                yield copy_post(post, parent_post_id=parent.post_id,
                                parent_author_id=parent.author_id)
        unlinked = [p for p in reposts if p.repost_path and not p.parent_post_id]
        self._unlinked[root_id] = waiting + unlinked
