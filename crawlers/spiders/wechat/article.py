"""mp.weixin.qq.com article pages and their read/like counts (getappmsgext). URL builders return
real URLs; parsers are pure."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any
from urllib.parse import quote

from parsel import Selector

from crawlers.errors import UnexpectedPayload
from crawlers.items import Author, Post
from crawlers.timeparse import parse_time

from .text import (
    MP,
    PLATFORM,
    article_key,
    article_post_id,
    element_text,
    js_var,
    to_count,
    to_int,
    unix_time,
)

__all__ = ["appmsgext_url", "article_url", "parse_appmsgext", "parse_article"]

_AUDIO = "mpvoice, qqmusic, mp-common-mpaudio, mpaudio"
_VIDEO = "iframe.video_iframe, mpvideo, mp-common-videosnap, video"


def article_url(biz: str, mid: str | int, idx: str | int = 1, sn: str = "") -> str:
    """The permanent link of an article."""
    return f"{MP}/s?__biz={quote(biz, safe='=')}&mid={mid}&idx={idx}" + (f"&sn={sn}" if sn else "")


def appmsgext_url(biz: str, mid: str, idx: str, sn: str = "", session_query: str = "") -> str:
    """getappmsgext (POST): read and like counts; only answers with a WeChat-client session."""
    biz = quote(biz, safe="=")
    url = f"{MP}/mp/getappmsgext?f=json&mock=&__biz={biz}&mid={mid}&idx={idx}&sn={sn}"
    return url + (f"&{session_query.lstrip('&')}" if session_query else "")


def parse_article(payload: str, *, now: datetime, url: str | None = None) -> list[Post | Author]:
    """The article and its account from an article page (``#js_content`` + ``var`` metadata).

    :raises UnexpectedPayload: without ``#js_content``, a title or ``biz``/``mid``.
    """
    sel = Selector(text=payload)
    content = sel.css("#js_content")
    title = (
        js_var(payload, "msg_title") or " ".join(sel.css("#activity-name ::text").getall()).strip()
    )
    key = article_key(url)
    biz = js_var(payload, "biz") or js_var(payload, "appuin") or (key[0] if key else None)
    mid = js_var(payload, "mid") or js_var(payload, "appmsgid") or (key[1] if key else None)
    if not content or not title or not biz or not mid:
        missing = [
            n
            for n, v in (("#js_content", content), ("msg_title", title), ("biz", biz), ("mid", mid))
            if not v
        ]
        raise UnexpectedPayload(
            f"article page without {', '.join(missing)}: the layout changed?", platform=PLATFORM
        )
    idx = js_var(payload, "idx") or (key[2] if key else "1")
    sn = js_var(payload, "sn") or (key[3] if key else "")
    created = unix_time(js_var(payload, "ct"))
    if created is None and js_var(payload, "publish_time"):
        created = parse_time(js_var(payload, "publish_time") or "", now=now)
    nickname = (
        js_var(payload, "nickname")
        or sel.css("strong.profile_nickname::text").get("").strip()
        or sel.css("#js_name::text").get("").strip()
        or None
    )
    body = content[0]
    images = len(body.css("img")) + len(body.xpath(".//*[contains(@style, 'background-image')]"))
    copyright_stat = js_var(payload, "_copyright_stat")
    post = Post(
        PLATFORM,
        article_post_id(biz, mid, idx),
        kind="article",
        title=title,
        text=element_text(body.root),
        created_at=created,
        # The permanent link when sn is known; else the one fetched (maybe a temporary src=3 link).
        url=article_url(biz, mid, idx, sn) if sn else (url or article_url(biz, mid, idx)),
        author_id=biz,
        author_name=nickname,
        extra={
            "source": "article",
            "text_source": "page",
            "mid": mid,
            "idx": idx,
            "sn": sn or None,
            "digest": js_var(payload, "msg_desc") or None,
            "cover": js_var(payload, "msg_cdn_url") or None,
            "byline": _byline(sel),
            "copyright": "original"
            if copyright_stat == "1" or sel.css("#copyright_logo")
            else "none",
            "copyright_stat": copyright_stat,
            "images": images,
            "videos": len(body.css(_VIDEO)),
            "audios": len(body.css(_AUDIO)),
            "source_url": js_var(payload, "msg_source_url") or None,
            "comment_id": js_var(payload, "comment_id") or None,
        },
    )
    meta = dict(
        zip(
            sel.css("p.profile_meta label::text").getall(),
            sel.css("p.profile_meta span.profile_meta_value::text").getall(),
            strict=False,
        )
    )
    author = Author(
        PLATFORM,
        biz,
        name=nickname,
        url=f"{MP}/mp/profile_ext?action=home&__biz={quote(biz, safe='=')}",
        description=meta.get("功能介绍"),
        extra={
            "wechat_id": meta.get("微信号"),
            "user_name": js_var(payload, "user_name") or None,
            "head_image": js_var(payload, "round_head_img") or None,
        },
    )
    return [post, author]


def _byline(sel: Selector) -> str | None:
    """The writer's name: ``meta[name=author]``, ``#js_author_name``, or the 2018 layout's second
    ``em.rich_media_meta_text`` (the first is the date)."""
    for value in (
        sel.css("meta[name=author]::attr(content)").get(),
        sel.css("#js_author_name::text").get(),
        *sel.css("#meta_content em.rich_media_meta_text:not(#post-date)::text").getall(),
    ):
        if value and value.strip() and value.strip() != "原创":
            return value.strip()
    return None


def parse_appmsgext(
    payload: dict[str, Any], *, now: datetime, article: Post | None = None, url: str | None = None
) -> list[Post | Author]:
    """Read and like counts (``appmsgstat``) onto ``article``; without one, onto a post keyed by
    ``url``'s __biz/mid/idx (or ``"unknown"`` when neither is given, as ``tingfeng parse`` does).

    ``like_num`` is 在看 ("wow") since 2018 and ``old_like_num`` the thumbs-up: where the payload
    has ``old_like_num`` the thumbs-up is ``like_count`` and 在看 ``extra["wow_count"]`` (what
    the WCI formula reads); an older payload's ``like_num`` is the thumbs-up.
    :raises UnexpectedPayload: without ``appmsgstat`` (the session was not accepted).
    """
    stat = payload.get("appmsgstat") if isinstance(payload, dict) else None
    if not isinstance(stat, dict):
        raise UnexpectedPayload(
            "getappmsgext without appmsgstat: no WeChat-client session?", platform=PLATFORM
        )
    if article is None:
        key = article_key(url)
        article = Post(PLATFORM, article_post_id(*key[:3]) if key else "unknown", kind="article")
    modern = "old_like_num" in stat  # since 2018: like_num is 在看
    counts = {
        "read_count": to_count(stat.get("read_num")),
        "like_count": to_count(stat.get("old_like_num" if modern else "like_num")),
    }
    extra = {
        **article.extra,
        "old_like_num": to_int(stat.get("old_like_num")),
        "real_read_num": to_int(stat.get("real_read_num")),
    }
    if modern:
        extra["wow_count"] = to_int(stat.get("like_num"))
    read, like = counts["read_count"], counts["like_count"]
    return [
        dataclasses.replace(
            article,
            read_count=article.read_count if read is None else read,
            like_count=article.like_count if like is None else like,
            extra=extra,
        )
    ]
