"""Tieba thread pages (``/p/{tid}?pn=``) and 楼中楼 (``/p/comment?tid=&pid=&pn=``): pure parsers.

Mapping: floor 1 is the thread (kind "thread": title + first floor text), other floors are
"comment" (parent = root = thread), 楼中楼 are "reply" (parent = the floor, root = thread).
Floors are ``div.l_post`` with ``data-field`` JSON (author, content.post_id/post_no/comment_num);
楼中楼 fragments are ``li.lzl_single_post`` items, 10 a page, with a ``lzl_li_pager``.
No Scrapy here.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import parsel

from crawlers.errors import UnexpectedPayload
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
from .tieba import (
    BASE,
    SELECTORS,
    SITE,
    add_author,
    js_value,
    portrait_of,
    thread_url,
    tieba_author,
)

__all__ = ["parse_sub_comments", "parse_thread_page", "sub_comment_pages"]

_DATE = re.compile(r"\d{4}-\d{1,2}-\d{1,2} \d{1,2}:\d{2}")
_FLOOR = re.compile(r"^(\d+)楼$")
_REGION = re.compile(r"IP属地[:：]\s*(\S+)")
_PAGE_TID = re.compile(r"""thread_id["']?\s*:\s*["']?(\d+)""")
_REPLY_PREFIX = re.compile(r"^回复\s*(.+?)\s*[:：]\s*")
# Image-viewer chrome that scripts add to browser-rendered floors ("点击展开，查看完整图片").
_DROP = ".//*[contains(@class, 'replace_tip')]"


def _floor_time_and_number(
    floor: parsel.Selector, sel: dict[str, str]
) -> tuple[str | None, int | None]:
    when: str | None = None
    number: int | None = None
    for text in floor.css(sel["floor_tail"] + " span::text").getall():
        text = text.strip()
        if _DATE.fullmatch(text):
            when = text
        elif m := _FLOOR.match(text):
            number = int(m.group(1))
    return when, number


def parse_thread_page(
    html: str, *, now: datetime, selectors: dict[str, str] | None = None
) -> list[Post | Author]:
    """One page of a thread (``/p/{tid}?pn=``): the thread itself (page 1 only, from floor 1),
    floors as "comment", 楼中楼 already in the page (browser-rendered DOMs) as "reply", authors.

    The thread post's ``extra["pages"]`` is the page count the pager shows.
    """
    sel = merged(SELECTORS, selectors)
    page = parsel.Selector(text=html)
    floors = page_css(page, sel["floor"])
    if not floors:
        raise nothing_found(sel["floor"], "Tieba thread page")
    title = page_css(page, sel["page_title"]).attrib.get("title") or js_value(html, "title")
    title = title.strip() if title else None
    forum = js_value(html, "forum_name")
    counts = [to_int(t) for t in page_css(page, sel["reply_count"] + "::text").getall()]
    m = _PAGE_TID.search(html)
    page_tid = m.group(1) if m else None
    out: list[Post | Author] = []
    seen: set[str] = set()
    for floor in floors:
        data = load_data_field(floor.attrib.get("data-field")) or {}
        content, who = data.get("content") or {}, data.get("author") or {}
        if not content.get("post_id"):
            continue  # ad slots share the l_post class but carry no post
        pid, tid = content["post_id"], content.get("thread_id") or page_tid
        if not tid:
            raise UnexpectedPayload(
                "no thread_id in the floors' data-field nor in PageData", platform=PLATFORM
            )
        when, number = _floor_time_and_number(floor, sel)
        number = to_int(content.get("post_no")) or number
        body_el = floor.css(sel["floor_content"])
        body = element_text(body_el[0].root, drop=_DROP) if body_el else ""
        portrait = portrait_of(who.get("portrait"))
        shown = (floor.css(sel["floor_author"] + "::text").get() or "").strip()
        name = shown or who.get("user_nickname") or who.get("user_name") or None
        region = _REGION.search(" ".join(floor.css(sel["floor_tail"] + " ::text").getall()))
        common: dict[str, Any] = dict(
            created_at=forum_time(when, now=now),
            author_id=author_key(SITE, portrait) if portrait else None,
            author_name=name,
            region=region.group(1) if region else None,
        )
        thread_id = post_key(SITE, "t", tid)
        if number == 1:
            node_id = thread_id
            out.append(
                Post(
                    PLATFORM,
                    thread_id,
                    kind="thread",
                    title=title,
                    text=join_title(title, body),
                    url=thread_url(tid),
                    comment_count=counts[0] if counts else None,
                    extra={
                        "site": SITE,
                        "forum": forum,
                        "tid": str(tid),
                        "first_post_id": str(pid),
                        "pages": counts[1] if len(counts) > 1 else 1,
                        "lzl_count": to_int(content.get("comment_num")),
                    },
                    **common,
                )
            )
        else:
            node_id = post_key(SITE, "p", pid)
            out.append(
                Post(
                    PLATFORM,
                    node_id,
                    kind="comment",
                    text=body,
                    url=f"{BASE}/p/{tid}?pid={pid}#{pid}",
                    parent_post_id=thread_id,
                    root_post_id=thread_id,
                    comment_count=to_int(content.get("comment_num")),
                    extra={
                        "site": SITE,
                        "forum": forum,
                        "tid": str(tid),
                        "pid": str(pid),
                        "floor": number,
                    },
                    **common,
                )
            )
        add_author(
            out,
            seen,
            tieba_author(
                portrait,
                name,
                user_name=who.get("user_name"),
                user_id=who.get("user_id"),
                level=to_int(floor.css(sel["floor_level"] + "::text").get()),
            ),
        )
        for li in floor.css(sel["lzl_item"]):
            _lzl(
                li, out, seen, sel, now=now, tid=tid, pid=pid, parent_id=node_id, root_id=thread_id
            )
    if not any(isinstance(item, Post) for item in out):
        raise nothing_found(sel["floor"] + "[data-field]", "Tieba thread page")
    return out


def _lzl(
    li: parsel.Selector,
    out: list[Post | Author],
    seen: set[str],
    sel: dict[str, str],
    *,
    now: datetime,
    tid: object,
    pid: object,
    parent_id: str | None,
    root_id: str | None,
) -> bool:
    data = load_data_field(li.attrib.get("data-field"))
    if not data or not data.get("spid"):
        return False
    spid = data["spid"]
    content = li.css(sel["lzl_content"])
    text = element_text(content[0].root) if content else ""
    reply_to = None
    if m := _REPLY_PREFIX.match(text):
        # "回复 某人 :正文" inside a 楼中楼 names the user answered; the tree stays floor-level.
        reply_to, text = m.group(1), text[m.end() :]
    portrait = portrait_of(data.get("portrait"))
    name = data.get("showname") or data.get("user_nickname") or data.get("user_name") or None
    out.append(
        Post(
            PLATFORM,
            post_key(SITE, "p", spid),
            kind="reply",
            text=text,
            created_at=forum_time(li.css(sel["lzl_time"] + "::text").get(), now=now),
            url=f"{BASE}/p/{tid}?pid={pid}&cid={spid}#{spid}" if tid and pid else None,
            author_id=author_key(SITE, portrait) if portrait else None,
            author_name=name,
            parent_post_id=parent_id,
            root_post_id=root_id,
            parent_author_name=reply_to,
            extra={
                "site": SITE,
                "tid": str(tid) if tid else None,
                "pid": str(pid) if pid else None,
                "spid": str(spid),
            },
        )
    )
    add_author(out, seen, tieba_author(portrait, name, user_name=data.get("user_name")))
    return True


def parse_sub_comments(
    html: str,
    *,
    now: datetime,
    tid: str | int | None = None,
    pid: str | int | None = None,
    parent_id: str | None = None,
    selectors: dict[str, str] | None = None,
) -> list[Post | Author]:
    """楼中楼 of one floor (``/p/comment?tid=&pid=&pn=``) as kind "reply" posts, plus authors.

    The fragment names neither thread nor floor: they come from the request (``tid``, ``pid``).
    ``parent_id`` overrides the parent (the spider passes the thread id when ``pid`` is floor 1,
    which is stored as the thread itself). Parsed alone, parent and root stay None.
    """
    sel = merged(SELECTORS, selectors)
    if not html.strip():
        return []
    page = parsel.Selector(text=html)
    items = page_css(page, sel["lzl_item"])
    if not items:
        if page_css(page, sel["lzl_pager"]):
            return []  # a floor whose 楼中楼 were all deleted still gets the pager
        raise nothing_found(sel["lzl_item"], "Tieba 楼中楼 fragment")
    parent = parent_id or (post_key(SITE, "p", pid) if pid else None)
    root = post_key(SITE, "t", tid) if tid else None
    out: list[Post | Author] = []
    seen: set[str] = set()
    parsed = [
        _lzl(li, out, seen, sel, now=now, tid=tid, pid=pid, parent_id=parent, root_id=root)
        for li in items
    ]
    if not any(parsed):
        raise nothing_found(sel["lzl_item"] + "[data-field]", "Tieba 楼中楼 fragment")
    return out


def sub_comment_pages(html: str, selectors: dict[str, str] | None = None) -> int:
    """Page count of a 楼中楼 fragment (its pager's ``total_page``; 1 when there is no pager)."""
    sel = merged(SELECTORS, selectors)
    pager = page_css(parsel.Selector(text=html or "<p/>"), sel["lzl_pager"])
    data = load_data_field(pager.attrib.get("data-field")) if pager else None
    return max(1, to_int((data or {}).get("total_page")) or 1)
