"""Baidu Tieba (tieba.baidu.com, PC web pages): URL templates, selectors, the shared helpers,
and the parsers of the forum thread list and of search. Thread pages and 楼中楼 are parsed in
tieba_thread.py.

Thread list ``/f?kw=&pn=``: 50 threads a page (``pn`` counts threads); the list is an HTML
comment inside ``<code id="pagelet_html_frs-list/pagelet/thread_list">`` that a browser's
script un-comments. Search ``/f/search/res?qw=``: ``div.s_post`` hits. No Scrapy here.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import parsel

from crawlers.items import Author, Post

from .common import (
    PLATFORM,
    author_key,
    element_text,
    forum_time,
    join_title,
    load_data_field,
    merged,
    nothing_found,
    page_css,
    post_key,
    to_int,
)

__all__ = [
    "BASE",
    "SELECTORS",
    "SITE",
    "URLS",
    "add_author",
    "js_value",
    "parse_search",
    "parse_thread_list",
    "portrait_of",
    "search_url",
    "sub_comments_url",
    "thread_list_url",
    "thread_url",
    "tieba_author",
]

SITE = "tieba"
BASE = "https://tieba.baidu.com"
THREADS_PER_PAGE = 50

URLS = {
    "threads": BASE + "/f?kw={kw}&ie=utf-8&pn={pn}",
    "thread": BASE + "/p/{tid}",
    "thread_page": BASE + "/p/{tid}?pn={page}",
    "sub_comments": BASE + "/p/comment?tid={tid}&pid={pid}&pn={page}",
    "search": BASE + "/f/search/res?ie=utf-8&qw={q}&rn=20&pn={page}&sm=1&only_thread=0",
}

SELECTORS = {
    "thread_list_block": 'code[id="pagelet_html_frs-list/pagelet/thread_list"]',
    "thread_item": "li.j_thread_list",
    "thread_title": "a.j_th_tit",
    "thread_abstract": ".threadlist_abs",
    "thread_created": ".is_show_create_time",
    "thread_last_reply": ".threadlist_reply_date",
    "thread_last_replier": ".j_replyer a",
    "thread_author_box": ".tb_icon_author",
    "page_title": "h3.core_title_txt, h1.core_title_txt",
    "reply_count": "li.l_reply_num span.red",
    "floor": "div.l_post",
    "floor_author": "a.p_author_name",
    "floor_content": "div.d_post_content",
    "floor_tail": ".post-tail-wrap",
    "floor_level": ".d_badge_lv",
    "lzl_item": "li.lzl_single_post",
    "lzl_content": ".lzl_content_main",
    "lzl_time": ".lzl_time",
    "lzl_pager": "li.lzl_li_pager",
    "search_item": "div.s_post",
    "search_title": "span.p_title a",
    "search_content": ".p_content",
    "search_forum": "a.p_forum",
    "search_author": 'a[href*="/home/main"]',
    "search_date": ".p_date",
}


def thread_list_url(kw: str, page: int = 1) -> str:
    """``https://tieba.baidu.com/f?kw=<forum>&ie=utf-8&pn=<(page-1)*50>``."""
    return URLS["threads"].format(kw=quote(kw), pn=(page - 1) * THREADS_PER_PAGE)


def thread_url(tid: str | int, page: int = 1) -> str:
    return (
        URLS["thread"].format(tid=tid)
        if page <= 1
        else URLS["thread_page"].format(tid=tid, page=page)
    )


def sub_comments_url(tid: str | int, pid: str | int, page: int = 1) -> str:
    return URLS["sub_comments"].format(tid=tid, pid=pid, page=page)


def search_url(query: str, page: int = 1) -> str:
    return URLS["search"].format(q=quote(query), page=page)


def portrait_of(raw: object) -> str | None:
    # Portraits carry a cache-busting "?t=<unix>" that changes with the avatar: not identity.
    text = str(raw or "").split("?", 1)[0].strip()
    return text or None


def tieba_author(portrait: str | None, name: str | None, **extra: Any) -> Author | None:
    if not portrait:
        return None
    return Author(
        PLATFORM,
        author_key(SITE, portrait),
        name=name or None,
        url=f"{BASE}/home/main?id={portrait}",
        extra={"site": SITE, **{k: v for k, v in extra.items() if v not in (None, "")}},
    )


def js_value(html: str, key: str) -> str | None:
    """The first ``key: "value"`` / ``"key":'value'`` in the page's inline scripts."""
    m = re.search(rf"""["']?{key}["']?\s*:\s*(["'])((?:\\.|(?!\1).)*)\1""", html)
    if not m:
        return None
    raw = m.group(2)
    try:
        return json.loads(f'"{raw}"') if m.group(1) == '"' else raw
    except ValueError:
        return raw


def add_author(out: list[Post | Author], seen: set[str], author: Author | None) -> None:
    if author is not None and author.author_id not in seen:
        seen.add(author.author_id)
        out.append(author)


def parse_thread_list(
    html: str, *, now: datetime, forum: str | None = None, selectors: dict[str, str] | None = None
) -> list[Post | Author]:
    """Threads of a forum list page (``/f?kw=``) as kind "thread" posts, plus their authors.

    ``created_at`` is Tieba's creation label ("7-6", "02:38", "2020-05": day, minute or month
    precision); the last reply time goes to ``extra["last_reply_at"]`` (what ``since`` uses).
    """
    sel = merged(SELECTORS, selectors)
    page = parsel.Selector(text=html)
    items = page_css(page, sel["thread_item"])
    block = page_css(page, sel["thread_list_block"])
    if block:
        # The list is shipped commented out; the browser un-comments it. Parse the comment.
        inner = "".join(c.root.text or "" for c in block.xpath("comment()"))
        items = page_css(parsel.Selector(text=inner), sel["thread_item"]) or items
    if not items:
        raise nothing_found(sel["thread_item"], "Tieba thread list page")
    forum = forum or js_value(html, "forum_name")
    out: list[Post | Author] = []
    seen: set[str] = set()
    for li in items:
        data = load_data_field(li.attrib.get("data-field"))
        if not data or not data.get("id"):
            continue  # ads and placeholders carry no thread data
        tid = data["id"]
        title_el = li.css(sel["thread_title"])
        title = (
            title_el.attrib.get("title") or element_text(title_el[0].root) if title_el else ""
        ) or None
        abstract = (
            element_text(li.css(sel["thread_abstract"])[0].root)
            if li.css(sel["thread_abstract"])
            else ""
        )
        portrait = portrait_of(data.get("author_portrait"))
        name = data.get("author_nickname") or data.get("author_name") or None
        box = load_data_field(li.css(sel["thread_author_box"]).attrib.get("data-field")) or {}
        last_reply = forum_time(li.css(sel["thread_last_reply"] + "::text").get(), now=now)
        out.append(
            Post(
                PLATFORM,
                post_key(SITE, "t", tid),
                kind="thread",
                title=title,
                text=join_title(title, abstract),
                created_at=forum_time(li.css(sel["thread_created"] + "::text").get(), now=now),
                url=thread_url(tid),
                author_id=author_key(SITE, portrait) if portrait else None,
                author_name=name,
                comment_count=to_int(data.get("reply_num")),
                extra={
                    "site": SITE,
                    "forum": forum,
                    "tid": str(tid),
                    "first_post_id": str(data.get("first_post_id") or "") or None,
                    "last_reply_at": last_reply.isoformat() if last_reply else None,
                    "last_replier": li.css(sel["thread_last_replier"] + "::text").get(),
                    "is_top": bool(data.get("is_top")),
                    "is_good": bool(data.get("is_good")),
                },
            )
        )
        add_author(
            out,
            seen,
            tieba_author(
                portrait, name, user_name=data.get("author_name"), user_id=box.get("user_id")
            ),
        )
    if not out:
        raise nothing_found(sel["thread_item"] + "[data-field]", "Tieba thread list page")
    return out


def parse_search(
    html: str, *, now: datetime, selectors: dict[str, str] | None = None
) -> list[Post | Author]:
    """Search results (``/f/search/res``): a hit titled "回复:…" is a floor (kind "comment"),
    any other hit is the thread itself. Results name the author only by name, so posts carry
    ``author_name`` and no ``author_id``."""
    sel = merged(SELECTORS, selectors)
    page = parsel.Selector(text=html)
    hits = page_css(page, sel["search_item"])
    if not hits:
        if "没有找到" in html:
            return []  # "抱歉，没有找到与…相关的结果"
        raise nothing_found(sel["search_item"], "Tieba search page")
    out: list[Post | Author] = []
    for hit in hits:
        link = hit.css(sel["search_title"])
        tid = link.attrib.get("data-tid")
        if not tid:
            continue
        pids = parse_qs(urlsplit(link.attrib.get("href", "")).query).get("pid")
        pid = pids[0] if pids else None
        title = element_text(link[0].root)
        body = (
            element_text(hit.css(sel["search_content"])[0].root)
            if hit.css(sel["search_content"])
            else ""
        )
        forum = "".join(hit.css(sel["search_forum"] + " ::text").getall()).strip() or None
        common: dict[str, Any] = dict(
            created_at=forum_time(hit.css(sel["search_date"] + "::text").get(), now=now),
            author_name="".join(hit.css(sel["search_author"] + " ::text").getall()).strip() or None,
        )
        extra = {"site": SITE, "forum": forum, "tid": tid, "pid": pid, "search_hit": True}
        thread_id = post_key(SITE, "t", tid)
        if re.match(r"^回复[:：]", title) and pid:
            out.append(
                Post(
                    PLATFORM,
                    post_key(SITE, "p", pid),
                    kind="comment",
                    text=body,
                    url=f"{BASE}/p/{tid}?pid={pid}#{pid}",
                    parent_post_id=thread_id,
                    root_post_id=thread_id,
                    extra=extra,
                    **common,
                )
            )
        else:
            extra["first_post_id"] = extra.pop("pid")
            out.append(
                Post(
                    PLATFORM,
                    thread_id,
                    kind="thread",
                    title=title,
                    text=join_title(title, body),
                    url=thread_url(tid),
                    extra=extra,
                    **common,
                )
            )
    if not out:
        raise nothing_found(sel["search_title"] + "[data-tid]", "Tieba search page")
    return out
