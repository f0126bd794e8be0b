"""mp.weixin.qq.com account history: profile_ext getmsg JSON, the back office's appmsg list_ex
JSON and the legacy profile page (``var msgList``). URL builders return real URLs; parsers are pure.

History lists only carry a digest: their posts say ``extra["text_source"] = "digest"`` and the
spider replaces them by the article page when it can fetch it.
"""

from __future__ import annotations

import html
import json
import re
from datetime import datetime
from typing import Any
from urllib.parse import quote

from parsel import Selector

from crawlers.errors import UnexpectedPayload
from crawlers.items import Author, Post

from .text import (
    MP,
    PLATFORM,
    article_key,
    article_post_id,
    biz_from_fakeid,
    clean_url,
    copyright_label,
    js_var,
    load_json,
    to_int,
    unix_time,
)

__all__ = [
    "appmsg_list_url",
    "parse_appmsg_items",
    "parse_appmsg_list",
    "parse_msglist",
    "parse_profile_ext",
    "parse_profile_ext_items",
    "profile_ext_next",
    "profile_ext_url",
]

_APPMSG = 49  # comm_msg_info.type of an article push; 1 text, 3 image, 34 voice, 62 video
_MSGLIST = re.compile(r"\bvar\s+msgList\s*=\s*")


def profile_ext_url(biz: str, offset: int, session_query: str = "") -> str:
    """An account's history page as JSON; ``session_query`` (uin, key, pass_ticket, appmsg_token
    from a WeChat-client request, setting WECHAT_PROFILE_QUERY) is a secret."""
    biz = quote(biz, safe="=")
    url = f"{MP}/mp/profile_ext?action=getmsg&__biz={biz}&f=json&offset={offset}&count=10&is_ok=1"
    return url + (f"&{session_query.lstrip('&')}" if session_query else "")


def appmsg_list_url(fakeid: str, begin: int, token: str, count: int = 5) -> str:
    """The back office's published-article list (needs WECHAT_COOKIE and WECHAT_TOKEN)."""
    return (
        f"{MP}/cgi-bin/appmsg?action=list_ex&begin={begin}&count={count}&fakeid={quote(fakeid)}"
        f"&type=9&query=&token={token}&lang=zh_CN&f=json&ajax=1"
    )


def _unescaped(value: Any) -> str:
    return html.unescape(str(value or "")).strip()


def _history_post(
    info: dict[str, Any], comm: dict[str, Any], *, biz: str | None, seq: int, source: str
) -> Post | None:
    url = clean_url(info.get("content_url"))
    title = _unescaped(info.get("title"))
    if not url and not title:
        return None  # a deleted slot in a multi-article push
    key = article_key(url)
    biz = key[0] if key else biz
    if key:
        post_id = article_post_id(*key[:3])
    elif biz:
        # Temporary (src=3) links carry no mid; the push id and the slot keep the id stable.
        post_id = f"{biz}:msg{comm.get('id')}:{seq}"
    else:
        raise UnexpectedPayload("a history item whose content_url has no __biz", platform=PLATFORM)
    digest = _unescaped(info.get("digest"))
    return Post(
        PLATFORM,
        post_id,
        kind="article",
        title=title,
        text=digest or title,
        created_at=unix_time(comm.get("datetime")),
        url=url,
        author_id=biz,
        extra={
            "source": source,
            "text_source": "digest",
            "digest": digest or None,
            "cover": clean_url(info.get("cover")),
            "byline": _unescaped(info.get("author")) or None,
            "copyright": copyright_label(stat=info.get("copyright_stat")),
            "copyright_stat": info.get("copyright_stat"),
            "source_url": clean_url(info.get("source_url")),
            "del_flag": info.get("del_flag"),
            **({"sn": key[3]} if key and key[3] else {}),
        },
    )


def parse_profile_ext_items(
    payload: list[Any], *, now: datetime, biz: str | None = None, source: str = "profile_ext"
) -> list[Post | Author]:
    """Articles from history items (``comm_msg_info`` + ``app_msg_ext_info`` with its
    ``multi_app_msg_item_list``); text, image and voice pushes are skipped.

    :raises UnexpectedPayload: when an item lacks ``comm_msg_info``.
    """
    if not isinstance(payload, list):
        raise UnexpectedPayload("history items: expected a list", platform=PLATFORM)
    out: list[Post | Author] = []
    for item in payload:
        comm = item.get("comm_msg_info") if isinstance(item, dict) else None
        if not isinstance(comm, dict):
            raise UnexpectedPayload("a history item without comm_msg_info", platform=PLATFORM)
        if to_int(comm.get("type")) != _APPMSG:
            continue
        info = item.get("app_msg_ext_info") or {}
        owner = biz or biz_from_fakeid(comm.get("fakeid"))
        for seq, sub in enumerate([info, *(info.get("multi_app_msg_item_list") or [])], start=1):
            post = _history_post(sub, comm, biz=owner, seq=seq, source=source)
            if post is not None:
                out.append(post)
    return out


def parse_profile_ext(payload: dict[str, Any], *, now: datetime) -> list[Post | Author]:
    """Articles from a profile_ext getmsg answer (``general_msg_list`` is a JSON string).

    :raises UnexpectedPayload: without ``general_msg_list`` or when it is not ``{"list": [...]}``.
    """
    raw = payload.get("general_msg_list") if isinstance(payload, dict) else None
    if not isinstance(raw, str):
        raise UnexpectedPayload(
            "profile_ext answer without a general_msg_list string", platform=PLATFORM
        )
    inner = load_json(raw)
    if not isinstance(inner, dict) or not isinstance(inner.get("list"), list):
        raise UnexpectedPayload('general_msg_list is not {"list": [...]}', platform=PLATFORM)
    return parse_profile_ext_items(inner["list"], now=now)


def profile_ext_next(payload: dict[str, Any]) -> int | None:
    """The next ``offset`` of a getmsg answer, or None when ``can_msg_continue`` is 0."""
    if to_int(payload.get("can_msg_continue")) == 1:
        return to_int(payload.get("next_offset"))
    return None


def parse_appmsg_items(payload: list[Any], *, now: datetime) -> list[Post | Author]:
    """Articles from the back office's ``app_msg_list`` elements.

    :raises UnexpectedPayload: when an element has neither ``link`` nor ``appmsgid``.
    """
    if not isinstance(payload, list):
        raise UnexpectedPayload("app_msg_list: expected a list", platform=PLATFORM)
    out: list[Post | Author] = []
    for item in payload:
        key = article_key(item.get("link"))
        if key is None:
            raise UnexpectedPayload(
                "an app_msg_list element without a permanent link", platform=PLATFORM
            )
        biz, mid, idx, sn = key
        digest = _unescaped(item.get("digest"))
        title = _unescaped(item.get("title"))
        out.append(
            Post(
                PLATFORM,
                article_post_id(biz, mid, idx),
                kind="article",
                title=title,
                text=digest or title,
                created_at=unix_time(item.get("create_time") or item.get("update_time")),
                url=clean_url(item.get("link")),
                author_id=biz,
                extra={
                    "source": "appmsg_list",
                    "text_source": "digest",
                    "digest": digest or None,
                    "cover": item.get("cover"),
                    "aid": item.get("aid"),
                    "sn": sn or None,
                    "byline": _unescaped(item.get("author_name")) or None,
                    "copyright": copyright_label(type_=item.get("copyright_type")),
                    "item_show_type": item.get("item_show_type"),
                },
            )
        )
    return out


def parse_appmsg_list(payload: dict[str, Any], *, now: datetime) -> list[Post | Author]:
    """Articles from an appmsg list_ex answer (``app_msg_list``; ``app_msg_cnt`` is the total).

    :raises UnexpectedPayload: without ``app_msg_list``.
    """
    items = payload.get("app_msg_list") if isinstance(payload, dict) else None
    if not isinstance(items, list):
        raise UnexpectedPayload("list_ex answer without app_msg_list", platform=PLATFORM)
    return parse_appmsg_items(items, now=now)


def parse_msglist(payload: str, *, now: datetime) -> list[Post | Author]:
    """Articles and the account from the legacy profile page (``var msgList = {...}``).

    :raises UnexpectedPayload: without ``var msgList`` or ``var biz``.
    """
    m = _MSGLIST.search(payload)
    biz = js_var(payload, "biz")
    if m is None or not biz:
        raise UnexpectedPayload(
            "profile page without var msgList / var biz: the layout changed?", platform=PLATFORM
        )
    try:
        data, _ = json.JSONDecoder().raw_decode(payload, m.end())
    except ValueError as exc:
        raise UnexpectedPayload(f"var msgList is not JSON: {exc}", platform=PLATFORM) from None
    out = parse_profile_ext_items(data.get("list") or [], now=now, biz=biz, source="msglist")
    sel = Selector(text=payload)
    desc = {
        " ".join(li.css("label::text").get("").split()): " ".join(
            li.css("div.profile_desc_value::text").getall()
        ).strip()
        for li in sel.css("ul.profile_desc li")
    }
    account = sel.css("p.profile_account::text").get("")
    out.append(
        Author(
            PLATFORM,
            biz,
            name=" ".join(sel.css("strong.profile_nickname::text").get("").split()) or None,
            description=desc.get("功能介绍") or None,
            verified=bool(sel.css("img.icon_verify.success")),
            verified_reason=desc.get("帐号主体") or None,
            url=f"{MP}/mp/profile_ext?action=home&__biz={quote(biz, safe='=')}",
            extra={"wechat_id": account.split(":", 1)[-1].strip() or None},
        )
    )
    return out
