"""Weibo (m.weibo.cn JSON API; weibo.com ajax and the 2017 v6 pages where they carry more).

Endpoints (builders in ``urls.py``; ENDPOINTS name → parser for ``tingfeng parse weibo``)::

  search          m.weibo.cn/api/container/getIndex?containerid=100103type=1&q=…
                  &page_type=searchall&page=N → data.cards: card_type 9 → mblog,
                  card_type 11 → card_group[].mblog
  timeline        getIndex?type=uid&value={uid}&containerid=107603{uid}&page=N (same cards)
  profile         getIndex?type=uid&value={uid} → data.userInfo
  status          m.weibo.cn/statuses/show?id={bid} → data (one mblog; longText inlined)
  longtext        m.weibo.cn/statuses/extend?id={mid} → data.longTextContent (when isLongText)
  reposts         m.weibo.cn/api/statuses/repostTimeline?id={mid}&page=N → data.data[], data.max
  comments        m.weibo.cn/comments/hotflow?id={mid}&mid={mid}&max_id_type=0[&max_id=…]
                  → data.data[] with inline sub-replies (``comments``, ``rootid``), data.max_id
  comments-show   m.weibo.cn/api/comments/show?id={mid}&page=N → data.data[] + hot_data[] (reply_id)
  ajax-profile    weibo.com/ajax/profile/info?uid= → data.user (adds location)
  ajax-longtext   weibo.com/ajax/statuses/longtext?id={mblogid} → data.longTextContent
  ajax-timeline   weibo.com/ajax/statuses/mymblog?uid=&page=&feature=0 → data.list[]
  legacy-reposts  weibo.com/aj/v6/mblog/info/big?ajwvr=6&id=&page= → data.html (div.list_li[mid])
  legacy-comments weibo.com/aj/v6/comment/big?ajwvr=6&id=&page= → data.html (div[comment_id])
  legacy-search   s.weibo.com/weibo/{q} (2017 HTML: div[mid][action-type=feed_list_item])

Paging: search/timeline page=N until no posts, ok:0 "这里还没有内容", cardlistInfo.page empty,
page > max_pages, or (``since``) a whole page older than since; hotflow by max_id until 0;
repostTimeline until page ≥ data.max.

Quirks: times come as 刚刚 / N分钟前 / 昨天 HH:MM / MM-DD / "Sat Jun 15 20:58:33 +0800 2019"
(crawlers.timeparse, against the spider's ``now``); counts as "100万+"; text is HTML with
emoticons as <img alt="[哈哈]"> (kept as "[哈哈]": sentiment reads them) and three U+200B
appended; a repost's ``//@a: //@b:`` chain names its parent (a) and the path to the root;
``retweeted_status`` is the root; comment ``source`` is the IP location ("来自北京"), post
``region_name`` is "发布于 北京"; legacy error pages are GBK even when they declare utf-8.

Soft failures (``check_response``): ok:0 + msg (end of data / deleted → ContentUnavailable /
unknown → UnexpectedPayload), errno 100005 "请求过于频繁" and 403 + that body → RateLimited,
HTTP 418/432 and plain 403 → Blocked, redirects / passport & visitor pages / SSO retcode page /
ok:-100 / "请先登录" → LoginRequired, frozen account (20003) and content_accessdeny captcha →
Blocked, "网络繁忙" → RateLimited, truncated JSON or undecodable bytes → UnexpectedPayload.

Modules: ``urls`` (builders) · ``checks`` (check_response, body decoding) · ``text`` (HTML →
text, counts) · ``parsers`` (statuses, profiles) · ``reposts`` (//@ chains → parents) ·
``comments`` · ``legacy`` (2017 pages) · ``spider`` (WeiboSpider) · ``api`` (ApiClient calls).

Verified 2026-11 against tests/fixtures/weibo (recordings from 2017, 2019 and 2026).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from crawlers.endpoints import Parser, body_parser
from crawlers.errors import UnexpectedPayload

from .checks import check_response, decode_body, load_json
from .comments import parse_comments_show, parse_hotflow
from .legacy import parse_legacy_comments, parse_legacy_reposts, parse_legacy_search
from .parsers import (
    Item,
    card_mblogs,
    parse_ajax_longtext,
    parse_ajax_profile,
    parse_ajax_timeline,
    parse_longtext,
    parse_profile,
    parse_repost_timeline,
    parse_search,
    parse_status,
    parse_timeline,
)
from .spider import WeiboSpider
from .urls import PLATFORM, search_url

__all__ = [
    "DEMO_ARGS",
    "ENDPOINTS",
    "PLATFORM",
    "WeiboSpider",
    "check_response",
    "detect_endpoint",
    "search_url",
]

DEMO_ARGS: dict[str, str] = {"keyword": "听风演示", "max_pages": "3"}
"""Spider arguments whose crawl the fixture manifest answers end to end (``tingfeng demo``)."""


def _json(parser: Parser) -> Parser:
    return body_parser(load_json, parser)


def _html(parser: Parser) -> Parser:
    return body_parser(decode_body, parser)


ENDPOINTS: dict[str, Callable[..., list[Item]]] = {
    "search": _json(parse_search),
    "timeline": _json(parse_timeline),
    "profile": _json(parse_profile),
    "status": _json(parse_status),
    "longtext": _json(parse_longtext),
    "reposts": _json(parse_repost_timeline),
    "comments": _json(parse_hotflow),
    "comments-show": _json(parse_comments_show),
    "ajax-profile": _json(parse_ajax_profile),
    "ajax-longtext": _json(parse_ajax_longtext),
    "ajax-timeline": _json(parse_ajax_timeline),
    "legacy-reposts": _json(parse_legacy_reposts),
    "legacy-comments": _json(parse_legacy_comments),
    "legacy-search": _html(parse_legacy_search),
}
"""name → ``fn(body: bytes, *, now, **context)``; context is what the body does not say
(``post_id`` for comments and long text, ``root_id`` for reposts)."""

# (substring of the URL, endpoint): the first match wins, so specific paths come first.
_URL_HINTS = (
    ("comments/hotflow", "comments"), ("comments-hotflow", "comments"),
    ("api/comments/show", "comments-show"), ("api-comments-show", "comments-show"),
    ("repostTimeline", "reposts"), ("statuses/extend", "longtext"), ("statuses-extend", "longtext"),
    ("statuses/show", "status"), ("statuses-show", "status"),
    ("ajax/profile/info", "ajax-profile"), ("ajax-profile-info", "ajax-profile"),
    ("ajax/statuses/longtext", "ajax-longtext"), ("ajax-statuses-longtext", "ajax-longtext"),
    ("mymblog", "ajax-timeline"), ("mblog/info/big", "legacy-reposts"),
    ("mblog-info-big", "legacy-reposts"), ("comment/big", "legacy-comments"),
    ("comment-big", "legacy-comments"), ("s.weibo.com", "legacy-search"),
    ("107603", "timeline"), ("230413", "timeline"), ("100103", "search"),
    ("type=uid", "profile"), ("type-uid", "profile"),
)


def detect_endpoint(body: bytes, url: str | None = None) -> str:
    """Guess which endpoint ``body`` answers, from its shape (and ``url``/file name hints).

    :raises UnexpectedPayload: listing the known endpoints when the shape is not recognised.
    """
    stripped = body.lstrip()
    if stripped[:1] in (b"{", b"["):
        try:
            guess = _shape(load_json(body))
        except UnexpectedPayload:
            guess = None
    else:
        text = decode_body(body)
        guess = "legacy-search" if 'action-type="feed_list_item"' in text else None
    hint = next((name for key, name in _URL_HINTS if key in unquote(url or "")), None)
    if guess in (None, "cards") and hint:
        return hint
    if guess == "cards":
        return "search"
    if guess:
        return guess
    raise UnexpectedPayload(
        "cannot tell which Weibo endpoint this body answers; pass --endpoint, one of: "
        + ", ".join(ENDPOINTS), platform=PLATFORM, url=url,
    )


def _shape(payload: Any) -> str | None:
    data = payload.get("data") if isinstance(payload, dict) else None
    if not isinstance(data, dict):
        return None
    if "cards" in data:
        return _cards_shape(data)
    if "userInfo" in data:
        return "profile"
    if "longTextContent" in data:
        ajax = "longTextContent_raw" in data or "isMarkdown" in data
        return "ajax-longtext" if ajax else "longtext"
    if isinstance(data.get("list"), list):
        return "ajax-timeline"
    if isinstance(data.get("html"), str):
        return "legacy-comments" if "comment_id=" in data["html"] else "legacy-reposts"
    if isinstance(data.get("user"), dict) and "text" not in data:
        return "ajax-profile"
    if isinstance(data.get("data"), list):
        first = next((d for d in data["data"] if isinstance(d, dict)), {})
        if "max_id" in data or "rootid" in first:
            return "comments"
        if "hot_data" in data or "like_counts" in first:
            return "comments-show"
        return "reposts"
    if "text" in data and "created_at" in data:
        return "status"
    return None


_TIMELINE_PREFIXES = ("107603", "230413")  # the profile's 微博 tab: old and new container ids
_SEARCH_PREFIXES = ("100103",)


def _cards_shape(data: dict[str, Any]) -> str:
    """"timeline", "search" or "cards" (undecided) for a getIndex card list: by the containerid
    prefix, else by shape: a timeline pages by ``since_id`` and has one author."""
    info = data.get("cardlistInfo") or {}
    containerid = str(info.get("containerid", "")) if isinstance(info, dict) else ""
    if containerid.startswith(_TIMELINE_PREFIXES):
        return "timeline"
    if containerid.startswith(_SEARCH_PREFIXES):
        return "search"
    authors = {str((m.get("user") or {}).get("id")) for m in card_mblogs(data["cards"], None)
               if isinstance(m.get("user"), dict)}
    if isinstance(info, dict) and "since_id" in info and len(authors) == 1:
        return "timeline"
    return "search" if containerid else "cards"
