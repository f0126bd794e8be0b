"""Forums: Baidu Tieba, Discuz! X (HTML and mobile API) and any RSS/Atom feed, as one platform
"forum" whose sites are rows of data (``SITES`` in sites.py), not classes.

Endpoints (ENDPOINTS name → parser, for ``tingfeng parse forum``)::

  tieba-threads            tieba.baidu.com/f?kw={forum}&ie=utf-8&pn={50*(page-1)}
                           li.j_thread_list[data-field] inside a commented-out
                           <code id="pagelet_html_frs-list/pagelet/thread_list">
  tieba-thread             tieba.baidu.com/p/{tid}?pn={page}: div.l_post[data-field]
  tieba-comments (楼中楼)   tieba.baidu.com/p/comment?tid=&pid=&pn=: li.lzl_single_post
  tieba-search             tieba.baidu.com/f/search/res?ie=utf-8&qw={q}&pn={page}: div.s_post
  discuz-forumdisplay      {base}forum.php?mod=forumdisplay&fid=&page=: tbody[id^=normalthread_]
  discuz-viewthread        {base}forum.php?mod=viewthread&tid=&page=: div[id^=post_] td.t_f
  discuz-api-forumdisplay  {base}api/mobile/index.php?version=1&module=forumdisplay&fid=&page=
                           → Variables.forum_threadlist[]
  discuz-api-viewthread    {base}api/mobile/index.php?version=1&module=viewthread&tid=&page=
                           → Variables.postlist[]
  feed                     any RSS 0.9x/1.0/2.0 or Atom URL (feedparser)

Ids: ``<site>:t<tid>`` threads, ``<site>:p<pid>`` floors/replies, ``<site>:a<hash>`` feed
articles, authors ``<site>:<uid or Tieba portrait>``; ``extra["site"]`` names the site. The
site is the SITES name or the forum's host; a Discuz page read without it (``tingfeng parse``
with no ``--context site=…``) takes the host from its <base href> or, for the mobile API, from
``Variables.siteurl``; an answer naming none is still parsed, as site "discuz", with a warning
naming the fix and a ``discuz_api/site_missing`` count (discuz_api.py; a crawl always knows its
site, so there the stats only ever show ``parse/forum/discuz_api/broken_row``).
Trees: thread = kind "thread" (title + first floor); floors "comment" (parent = root = thread);
楼中楼 and Discuz quote-replies "reply" (parent = the floor answered, root = thread).

Paging: Tieba lists by pn until a page has nothing newer than ``since`` or max_pages; thread
pages up to the pager's count; 楼中楼 up to ``total_page``, stopping when a page repeats (Tieba
answers past the end with the last page); Discuz by the pager's 下一页 / API ``tpp`` and
``ppp``; feeds are one document. ``threads`` caps thread pages opened per list page, ``floors``
caps 楼中楼 requests per thread page.

Quirks: Tieba pages carry a second <html> element (Bigpipe), portraits end in "?t=<time>",
times are "7-6" / "02:38" / "2020-05" in lists and "2024-8-6 22:11" in 楼中楼; browser-rendered
thread pages already hold the first 楼中楼 (their data-field is a single-quoted JS literal);
Discuz shows recent times as "2 天前" with the absolute time in a title attribute and names
floors 1–4 楼主/沙发/板凳/地板; many Discuz sites serve GBK.

Soft failures (checks.py): HTTP 403 and "百度安全验证" → Blocked; 404/410, Tieba 404 page,
"主题不存在或已被删除或正在被审核" → ContentUnavailable; "没有权限访问该版块" / login needed →
LoginRequired; 429 / "刷新过于频繁" → RateLimited; empty or truncated bodies and layouts where a
selector finds nothing → UnexpectedPayload naming the selector.

Feeds: an entry linking to a Discuz thread is that thread (kind "thread", same id as a board
crawl gives it); any other entry is an "article". Politeness: one request at a time per host,
3 s apart, or the SITES row's ``delay``; ROBOTSTXT_OBEY stays on; only TIEBA_COOKIE is ever sent,
and only to Tieba.

Modules: tieba.py (URLs, list, search), tieba_thread.py (thread pages, 楼中楼), discuz.py (HTML),
discuz_api.py (mobile API), feeds.py, checks.py (soft failures), sites.py (SITES), spider.py.

Verified 2026-11 against tests/fixtures/forum (Tieba recorded 2024-08; Discuz! and feeds
constructed).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import unquote, urlsplit

from crawlers.endpoints import body_parser
from crawlers.errors import UnexpectedPayload
from crawlers.items import Author, Post

from . import discuz, discuz_api, feeds, tieba, tieba_thread
from .checks import check_response, load_json
from .common import PLATFORM, decode_html, site_and_base
from .sites import SITES, resolve_site

__all__ = [
    "DEMO_ARGS",
    "ENDPOINTS",
    "PLATFORM",
    "SITES",
    "ForumSpider",
    "check_response",
    "detect_endpoint",
    "resolve_site",
]

Item = Post | Author

DEMO_ARGS: dict[str, str] = {
    "site": "tieba",
    "keyword": "盗墓笔记",
    "max_pages": "1",
    "threads": "1",
    "floors": "1",
}
"""Tieba end to end on recorded pages: thread list → first thread → the first floor's 楼中楼."""


def _discuz_html(parser: Callable[..., list[Item]]) -> Callable[..., list[Item]]:
    def run(
        body: bytes,
        *,
        now: datetime,
        site: str | None = None,
        base: str | None = None,
        **context: Any,
    ) -> list[Item]:
        text = decode_html(body)
        site, base = site_and_base(site, base)
        base = discuz.page_base(text, base or "https://discuz.invalid/")
        return parser(
            text, now=now, site=site or urlsplit(base).hostname or "discuz", base=base, **context
        )

    run.__name__, run.__doc__ = parser.__name__, parser.__doc__
    return run


def _discuz_api(parser: Callable[..., list[Item]]) -> Callable[..., list[Item]]:
    def run(
        body: bytes,
        *,
        now: datetime,
        site: str | None = None,
        base: str | None = None,
        **context: Any,
    ) -> list[Item]:
        # The site comes from the caller, else the answer (Variables.siteurl), else "discuz"
        # with a warning naming --context site=<forum root> (discuz_api.api_site).
        return parser(load_json(body), now=now, site=site, base=base, **context)

    run.__name__, run.__doc__ = parser.__name__, parser.__doc__
    return run


def _tieba(parser: Callable[..., list[Item]]) -> Callable[..., list[Item]]:
    return body_parser(decode_html, parser)


def _feed(body: bytes, *, now: datetime, **context: Any) -> list[Item]:
    return list(feeds.parse_feed(body, now=now, **context))


ENDPOINTS: dict[str, Callable[..., list[Item]]] = {
    "tieba-threads": _tieba(tieba.parse_thread_list),
    "tieba-thread": _tieba(tieba_thread.parse_thread_page),
    "tieba-comments": _tieba(tieba_thread.parse_sub_comments),
    "tieba-search": _tieba(tieba.parse_search),
    "discuz-forumdisplay": _discuz_html(discuz.parse_forumdisplay),
    "discuz-viewthread": _discuz_html(discuz.parse_viewthread),
    "discuz-api-forumdisplay": _discuz_api(discuz_api.parse_api_forumdisplay),
    "discuz-api-viewthread": _discuz_api(discuz_api.parse_api_viewthread),
    "feed": _feed,
}
"""name → ``fn(body: bytes, *, now, **context)``; context is what a body does not say:
``tid``/``pid`` for tieba-comments (without them replies have no parent), ``site``/``base``
for Discuz (``site`` may be the forum root URL; default: the page's <base href>, or the API
answer's ``Variables.siteurl``), ``feed_url`` for feeds."""

# (marker in the decoded body, endpoint): the first match wins, so the specific come first.
_BODY_MARKERS = (
    ("pagelet_html_frs-list/pagelet/thread_list", "tieba-threads"),
    ("j_thread_list", "tieba-threads"),
    ("j_p_postlist", "tieba-thread"),
    ("lzl_single_post", "tieba-comments"),
    ("s_post_list", "tieba-search"),
    ("normalthread_", "discuz-forumdisplay"),
    ("threadlisttableid", "discuz-forumdisplay"),
    ("postmessage_", "discuz-viewthread"),
)
_URL_HINTS = (
    ("module=forumdisplay", "discuz-api-forumdisplay"),
    ("module=viewthread", "discuz-api-viewthread"),
    ("mod=forumdisplay", "discuz-forumdisplay"),
    ("mod=viewthread", "discuz-viewthread"),
    ("/p/comment", "tieba-comments"),
    ("f/search/res", "tieba-search"),
    ("/f?", "tieba-threads"),
)


def detect_endpoint(body: bytes, url: str | None = None) -> str:
    """Guess which endpoint ``body`` answers, from its shape (then ``url`` hints).

    :raises UnexpectedPayload: listing the known endpoints when the shape is not recognised.
    """
    head = body.lstrip()[:2000]
    if head[:1] in (b"{", b"["):
        variables = (load_json(body) or {}).get("Variables") if head[:1] == b"{" else None
        if isinstance(variables, dict) and "forum_threadlist" in variables:
            return "discuz-api-forumdisplay"
        if isinstance(variables, dict) and "postlist" in variables:
            return "discuz-api-viewthread"
    elif b"<html" not in head.lower() and any(m in head for m in (b"<rss", b"<feed", b"<rdf:RDF")):
        return "feed"
    else:
        text = decode_html(body)
        for marker, name in _BODY_MARKERS:
            if marker in text:
                return name
    hint = next((name for key, name in _URL_HINTS if key in unquote(url or "")), None)
    if hint:
        return hint
    raise UnexpectedPayload(
        "cannot tell which forum endpoint this body answers; pass --endpoint, one of: "
        + ", ".join(ENDPOINTS),
        platform=PLATFORM,
        url=url,
    )


# The spider last: it imports scrapy and the names above.
from .spider import ForumSpider  # noqa: E402
