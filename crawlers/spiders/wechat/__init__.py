"""WeChat official accounts (微信公众号): Sogou weixin search and mp.weixin.qq.com. Posts only
(kind ``article``); an Author is an official account, keyed by ``__biz`` (``sogou:<openid>``
where only Sogou knows it). WeChat has no reposts or public comment threads to follow.

Endpoints (→ parser, fixture in tests/fixtures/wechat):
  weixin.sogou.com/weixin?type=2&query=Q&page=N        search      articles, HTML (2017 layout)
  weixin.sogou.com/weixin?type=1&query=Q&page=N        accounts    accounts, HTML
  weixin.sogou.com/weixinwap?…&_rtype=json&page=N      wap_search  JSON; items are XML strings
                                                       (<DOCUMENT>: readnum, forwardnum, fans)
  weixin.sogou.com/wapindex/wap/0612/wap_C/N.html      hot         hot list, bare <li> fragments
  mp.weixin.qq.com/s?__biz=&mid=&idx=&sn=              article     #js_content + var ct/nickname/…
  mp.weixin.qq.com/mp/profile_ext?action=getmsg        profile_ext general_msg_list (a JSON string);
                                                       profile_ext_items: its list elements alone
  mp.weixin.qq.com/cgi-bin/appmsg?action=list_ex       appmsg_list back office; appmsg_list_items
  mp.weixin.qq.com/profile?src=3&…                     msglist     legacy history page, var msgList
  mp.weixin.qq.com/mp/getappmsgext (POST)              appmsgext   appmsgstat read_num/like_num

Paging: Sogou pages until no ``#sogou_next`` (wap: ``totalPages``); profile_ext until
``can_msg_continue`` is 0 (``next_offset``); list_ex ``begin`` += 5 until ``app_msg_cnt``; history
stops early once a page reaches ``since``; everything stops at ``max_pages``.

Quirks: Sogou links articles through temporary ``src=3&signature=`` URLs (they expire within
hours: the recorded 2017 ones answer 链接已过期); history JSON escapes ``/`` as ``\\/`` and ``&``
as ``&amp;``; titles inside article-page JS strings are HTML-escaped; ``__biz`` is the base64 of
the account's numeric id; article ids are ``<__biz>:<mid>:<idx>``. List entries carry only a
digest, so the spider fetches each article page and stores the list entry only when that fails.

Soft failures: Sogou anti-spider captcha → Blocked; 链接已过期 / deleted-article pages →
ContentUnavailable; profile_ext ``ret`` -3 "no session" and back-office ``base_resp.ret`` 200003
→ LoginRequired; 200013 "freq control" → RateLimited; unknown codes → UnexpectedPayload.

Verified 2026-11 against tests/fixtures/wechat (recorded 2017–2020; envelopes of the history
JSONs, getappmsgext and the back-office errors are constructed from peer readers' field names).
"""

from __future__ import annotations

import re
from typing import Any

from crawlers.endpoints import Parser, body_parser, unknown_endpoint

from . import article, history, sogou
from .article import appmsgext_url, article_url, parse_appmsgext, parse_article
from .checks import check_response
from .history import (
    appmsg_list_url,
    parse_appmsg_items,
    parse_appmsg_list,
    parse_msglist,
    parse_profile_ext,
    parse_profile_ext_items,
    profile_ext_url,
)
from .sogou import (
    account_search_url,
    hot_url,
    parse_accounts,
    parse_hot,
    parse_search,
    parse_wap_search,
    search_url,
    wap_search_url,
)
from .spider import WechatSpider
from .text import PLATFORM, decode_body, load_json

__all__ = [
    "DEMO_ARGS",
    "ENDPOINTS",
    "PLATFORM",
    "WechatSpider",
    "account_search_url",
    "appmsg_list_url",
    "appmsgext_url",
    "article_url",
    "check_response",
    "detect_endpoint",
    "hot_url",
    "parse_accounts",
    "parse_appmsg_items",
    "parse_appmsg_list",
    "parse_appmsgext",
    "parse_article",
    "parse_hot",
    "parse_msglist",
    "parse_profile_ext",
    "parse_profile_ext_items",
    "parse_search",
    "parse_wap_search",
    "profile_ext_url",
    "search_url",
    "wap_search_url",
]

def _html(parser: Parser) -> Parser:
    return body_parser(decode_body, parser)


def _json(parser: Parser) -> Parser:
    return body_parser(load_json, parser)


ENDPOINTS: dict[str, Parser] = {
    "search": _html(sogou.parse_search),
    "accounts": _html(sogou.parse_accounts),
    "wap_search": _json(sogou.parse_wap_search),
    "hot": _html(sogou.parse_hot),
    "article": _html(article.parse_article),
    "profile_ext": _json(history.parse_profile_ext),
    "profile_ext_items": _json(history.parse_profile_ext_items),
    "appmsg_list": _json(history.parse_appmsg_list),
    "appmsg_list_items": _json(history.parse_appmsg_items),
    "msglist": _html(history.parse_msglist),
    "appmsgext": _json(article.parse_appmsgext),
}

# Spider arguments that crawl tests/fixtures/wechat end to end (tingfeng demo). The history
# endpoints need WECHAT_* secrets and are crawled by the tests with dummy values instead.
DEMO_ARGS: dict[str, str] = {
    "keyword": "高考",
    "sources": "search,wap,accounts",
    "hot": "8",
    "max_pages": "1",
    "profiles": "1",
}

_JSON_KEYS = (
    ("general_msg_list", "profile_ext"),
    ("app_msg_list", "appmsg_list"),
    ("appmsgstat", "appmsgext"),
    ("totalPages", "wap_search"),
    ("ret", "profile_ext"),
    ("base_resp", "appmsg_list"),
)
_URL_HINTS = (
    ("weixinwap", "wap_search"),
    ("wapindex", "hot"),
    ("getappmsgext", "appmsgext"),
    ("profile_ext", "profile_ext"),
    ("list_ex", "appmsg_list"),
    ("type=1", "accounts"),
    ("/weixin?", "search"),
    ("/profile?", "msglist"),
    ("/s?", "article"),
    ("/s/", "article"),
)


def detect_endpoint(body: bytes, url: str | None = None) -> str:
    """The ENDPOINTS name for a body (its shape first, then hints in ``url``).

    :raises UnexpectedPayload: listing the known endpoints when neither tells.
    """
    text = decode_body(body, url)
    found = (
        _detect_json(load_json(text, url))
        if text.lstrip()[:1] in ("{", "[")
        else _detect_page(text)
    )
    if found is None and url:
        found = next((name for hint, name in _URL_HINTS if hint in url), None)
    if found is None:
        raise unknown_endpoint(ENDPOINTS, platform=PLATFORM, url=url)
    return found


def _detect_json(payload: Any) -> str | None:
    if isinstance(payload, list):
        first = payload[0] if payload and isinstance(payload[0], dict) else {}
        if "comm_msg_info" in first:
            return "profile_ext_items"
        if "appmsgid" in first or "aid" in first:
            return "appmsg_list_items"
        return None
    if isinstance(payload, dict):
        return next((name for key, name in _JSON_KEYS if key in payload), None)
    return None


def _detect_page(text: str) -> str | None:
    if 'class="news-list2"' in text:
        return "accounts"
    if 'class="news-list"' in text:
        return "search"
    if re.search(r"\bvar\s+msgList\s*=", text):
        return "msglist"
    if 'id="js_content"' in text or "var msg_title" in text or "weui-msg" in text:
        return "article"
    if re.search(r"<li d=", text) and "list-txt" in text:
        return "hot"
    if "antispider" in text:
        # The captcha form keeps the blocked request in its hidden "r" field: /weixin?type=1|2…
        m = re.search(r'name="r"[^>]*value="[^"]*type%3D(\d)', text)
        return "accounts" if m and m.group(1) == "1" else "search"
    return None
