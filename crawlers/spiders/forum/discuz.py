"""Discuz! X forums: URL templates, default-template selectors and pure parsers for the
forumdisplay/viewthread HTML pages (the mobile API JSON is read in discuz_api.py).

Markup follows the X3 default template (``forumdisplay_list.htm``, ``viewthread_node.htm``);
sites with a custom template override selectors in their SITES row. Ids: thread
``<site>:t<tid>``, post ``<site>:p<pid>`` (separate counters, so the letter matters), author
``<site>:<uid>``. Floor 1 is the thread itself; a post that quotes another (``div.quote`` with a
``goto=findpost&pid=`` link) is a "reply" to it, any other post a "comment" on the thread.
No Scrapy here.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from urllib.parse import urljoin

import parsel

from crawlers.errors import UnexpectedPayload
from crawlers.items import Author, Post

from .common import (
    PLATFORM,
    author_key,
    element_text,
    forum_time,
    join_title,
    merged,
    nothing_found,
    page_css,
    post_key,
    to_int,
)

__all__ = [
    "FINDPOST",
    "MESSAGE_DROP",
    "SELECTORS",
    "URLS",
    "build_url",
    "discuz_author",
    "next_page_url",
    "page_base",
    "parse_forumdisplay",
    "parse_viewthread",
    "thread_and_posts",
]

_API = "{base}api/mobile/index.php?version=1&"
URLS = {
    "forumdisplay": "{base}forum.php?mod=forumdisplay&fid={fid}&page={page}",
    "viewthread": "{base}forum.php?mod=viewthread&tid={tid}&page={page}",
    "thread": "{base}forum.php?mod=viewthread&tid={tid}",
    "space": "{base}home.php?mod=space&uid={uid}",
    "api_forumdisplay": _API + "module=forumdisplay&fid={fid}&page={page}",
    "api_viewthread": _API + "module=viewthread&tid={tid}&page={page}",
    "rss": "{base}forum.php?mod=rss&fid={fid}",
}

SELECTORS = {
    "thread_row": "tbody[id^=normalthread_], tbody[id^=stickthread_]",
    "thread_title": "a.s.xst",
    "thread_by": "td.by",  # first cell: author + date; last cell: last poster + time
    "by_author": "cite a",
    "by_name": "cite",
    "by_date": "em span",
    "by_last": "em a",
    "thread_replies": "td.num a.xi2",
    "thread_views": "td.num em",
    "empty": "p.emp",
    "forum_link": '#pt a[href*="forumdisplay"], #pt a[href*="forum-"]',
    "next_page": "div.pg a.nxt",
    "subject": "#thread_subject",
    "thread_stats": "td.pls .hm span.xi1",
    "post": "div[id^=post_]",
    "post_message": "td.t_f[id^=postmessage_]",
    "post_author": "div.authi a.xw1",
    "post_time": "em[id^=authorposton]",
    "post_floor": "a[id^=postnum]",
}

_POST_ID = re.compile(r"^post_(\d+)$")
_ROW_ID = re.compile(r"^(?:normal|stick)thread_(\d+)$")
_TID = re.compile(r"(?:[?&;]tid=|thread-)(\d+)")
_UID = re.compile(r"(?:[?&;]uid=|space-uid-)(\d+)")
_FID = re.compile(r"(?:[?&;]fid=|forum-)(\d+)")
FINDPOST = re.compile(r"goto=findpost[^\"'>]*?[?&;]pid=(\d+)|[?&;]pid=(\d+)[^\"'>]*?goto=findpost")
# The default template names the first floors instead of numbering them ($postno).
_FLOOR_NAMES = {"楼主": 1, "沙发": 2, "板凳": 3, "地板": 4}
# Dropped from message text: quoted posts, "本帖最后由…编辑" notes, attachment boxes.
MESSAGE_DROP = (
    ".//div[contains(@class, 'quote')]|.//blockquote|.//i[contains(@class, 'pstatus')]"
    "|.//ignore_js_op|.//div[contains(@class, 'attach_nopermission')]"
)


def build_url(name: str, base: str, templates: dict[str, str] | None = None, **params: Any) -> str:
    """A Discuz URL from the SITES row's templates (or the defaults), e.g.
    ``build_url("viewthread", "https://bbs.example.com/", tid=2051, page=1)``."""
    base = base if base.endswith("/") else base + "/"
    return (templates or {}).get(name, URLS[name]).format(base=base, **params)


def page_base(html: str, fallback: str) -> str:
    """The forum root a page declares in ``<base href>`` (every X3 page does), else ``fallback``."""
    m = re.search(r"<base\s+href=[\"']([^\"']+)[\"']", html[:5000], re.I)
    return m.group(1) if m else fallback


def _when(cell: parsel.SelectorList[parsel.Selector] | None, *, now: datetime) -> datetime | None:
    # Recent times read "2 天前" with the absolute time in a title attribute: prefer the title.
    if not cell:
        return None
    titled = cell.css("span[title]::attr(title)").get()
    return forum_time(titled or " ".join(cell.css("::text").getall()), now=now)


def _uid(href: str | None) -> str | None:
    m = _UID.search(href or "")
    return m.group(1) if m else None


def discuz_author(site: str, base: str, uid: str | None, name: str | None) -> Author | None:
    if not uid or uid == "0":
        return None
    return Author(
        PLATFORM,
        author_key(site, uid),
        name=name or None,
        url=build_url("space", base, uid=uid),
        extra={"site": site},
    )


def _forum(page: parsel.Selector, sel: dict[str, str]) -> tuple[str | None, str | None]:
    links = page_css(page, sel["forum_link"])
    if not links:
        return None, None
    last = links[-1]
    m = _FID.search(last.attrib.get("href", ""))
    return (" ".join(last.css("::text").getall()).strip() or None), (m.group(1) if m else None)


def parse_forumdisplay(
    html: str, *, now: datetime, site: str, base: str, selectors: dict[str, str] | None = None
) -> list[Post | Author]:
    """Threads of a board page (``forum.php?mod=forumdisplay``) as kind "thread" posts (title
    only: the list shows no body) plus authors. An empty board (``p.emp``) gives []."""
    sel = merged(SELECTORS, selectors)
    page = parsel.Selector(text=html)
    base = page_base(html, base)
    rows = page_css(page, sel["thread_row"])
    if not rows:
        if page_css(page, sel["empty"]):
            return []
        raise nothing_found(sel["thread_row"], "Discuz forumdisplay page")
    forum, fid = _forum(page, sel)
    out: list[Post | Author] = []
    seen: set[str] = set()
    for row in rows:
        title_el = row.css(sel["thread_title"])
        m = _ROW_ID.match(row.attrib.get("id", "")) or _TID.search(title_el.attrib.get("href", ""))
        if not m or not title_el:
            continue
        tid = m.group(1)
        cells = row.css(sel["thread_by"])
        first = cells[0] if cells else None
        link = first.css(sel["by_author"]) if first is not None else None
        uid = _uid(link.attrib.get("href")) if link else None
        name = ""
        if first is not None:
            holder = link if link else first.css(sel["by_name"])
            name = " ".join(holder.css("::text").getall()).strip()
        last = _when(cells[-1].css(sel["by_last"]), now=now) if len(cells) > 1 else None
        title = " ".join(title_el.css("::text").getall()).strip() or None
        out.append(
            Post(
                PLATFORM,
                post_key(site, "t", tid),
                kind="thread",
                title=title,
                text=title or "",
                created_at=_when(first.css(sel["by_date"]) if first is not None else None, now=now),
                url=build_url("thread", base, tid=tid),
                author_id=author_key(site, uid) if uid else None,
                author_name=name or None,
                comment_count=to_int(row.css(sel["thread_replies"] + "::text").get()),
                read_count=to_int(row.css(sel["thread_views"] + "::text").get()),
                extra={
                    "site": site,
                    "forum": forum,
                    "fid": fid,
                    "tid": tid,
                    "sticky": row.attrib.get("id", "").startswith("stick"),
                    "last_reply_at": last.isoformat() if last else None,
                },
            )
        )
        author = discuz_author(site, base, uid, name)
        if author is not None and author.author_id not in seen:
            seen.add(author.author_id)
            out.append(author)
    if not out:
        raise nothing_found(sel["thread_title"], "Discuz forumdisplay page")
    return out


def _message(fragment_el: Any) -> tuple[str, str | None]:
    """(text without quotes, pid of the quoted post) of a message element."""
    quoted = None
    for href in fragment_el.xpath(
        ".//div[contains(@class, 'quote')]//a/@href | .//blockquote//a/@href"
    ):
        m = FINDPOST.search(str(href))
        if m:
            quoted = m.group(1) or m.group(2)
            break
    return element_text(fragment_el, drop=MESSAGE_DROP), quoted


def _floor_number(text: str) -> int | None:
    text = text.strip().rstrip("#").strip()
    return _FLOOR_NAMES.get(text) or to_int(text)


def thread_and_posts(
    rows: list[dict[str, Any]],
    *,
    site: str,
    base: str,
    tid: str,
    title: str | None,
    replies: int | None,
    views: int | None,
    forum: str | None,
    first_pid: str | None,
) -> list[Post | Author]:
    """Shared by the HTML and API viewthread parsers: rows are neutral dicts per post."""
    thread_id = post_key(site, "t", tid)
    first_pid = first_pid or next((r["pid"] for r in rows if r["floor"] == 1), None)
    out: list[Post | Author] = []
    seen: set[str] = set()
    for r in rows:
        common: dict[str, Any] = dict(
            created_at=r["created_at"],
            author_id=author_key(site, r["uid"]) if r["uid"] not in (None, "0") else None,
            author_name=r["name"] or None,
        )
        if r["floor"] == 1 or r["pid"] == first_pid:
            out.append(
                Post(
                    PLATFORM,
                    thread_id,
                    kind="thread",
                    title=title,
                    text=join_title(title, r["text"]),
                    url=build_url("thread", base, tid=tid),
                    comment_count=replies,
                    read_count=views,
                    extra={"site": site, "forum": forum, "tid": tid, "first_post_id": r["pid"]},
                    **common,
                )
            )
        else:
            quoted = r["quoted"]
            parent = thread_id if quoted in (None, first_pid) else post_key(site, "p", quoted)
            out.append(
                Post(
                    PLATFORM,
                    post_key(site, "p", r["pid"]),
                    kind="reply" if quoted else "comment",
                    text=r["text"],
                    url=f"{base}forum.php?mod=redirect&goto=findpost&ptid={tid}&pid={r['pid']}",
                    parent_post_id=parent,
                    root_post_id=thread_id,
                    extra={
                        "site": site,
                        "forum": forum,
                        "tid": tid,
                        "pid": r["pid"],
                        "floor": r["floor"],
                        "quoted_pid": quoted,
                    },
                    **common,
                )
            )
        author = discuz_author(site, base, r["uid"], r["name"])
        if author is not None and author.author_id not in seen:
            seen.add(author.author_id)
            out.append(author)
    return out


def parse_viewthread(
    html: str,
    *,
    now: datetime,
    site: str,
    base: str,
    tid: str | None = None,
    first_pid: str | None = None,
    selectors: dict[str, str] | None = None,
) -> list[Post | Author]:
    """One page of a thread (``forum.php?mod=viewthread``): floor 1 as the "thread", other posts
    as "comment" or "reply" (when quoting), plus authors. ``first_pid`` (floor 1's pid, known
    from page 1) lets a reply on a later page that quotes floor 1 point at the thread."""
    sel = merged(SELECTORS, selectors)
    page = parsel.Selector(text=html)
    base = page_base(html, base)
    posts = [p for p in page_css(page, sel["post"]) if _POST_ID.match(p.attrib.get("id", ""))]
    if not posts:
        raise nothing_found(sel["post"], "Discuz viewthread page")
    rows: list[dict[str, Any]] = []
    for post in posts:
        pid = _POST_ID.match(post.attrib["id"]).group(1)  # type: ignore[union-attr]
        message = post.css(sel["post_message"])
        if not message:
            continue  # a post hidden from guests or banned shows no message cell
        text, quoted = _message(message[0].root)
        author = post.css(sel["post_author"])
        floor_link = post.css(sel["post_floor"])
        if tid is None:
            m = _TID.search(floor_link.attrib.get("href", "")) or re.search(
                r"ptid=(\d+)", floor_link.attrib.get("href", "")
            )
            tid = m.group(1) if m else None
        rows.append(
            {
                "pid": pid,
                "text": text,
                "quoted": quoted,
                "uid": _uid(author.attrib.get("href")) if author else None,
                "name": " ".join(author.css("::text").getall()).strip() if author else None,
                "created_at": _when(post.css(sel["post_time"]), now=now),
                "floor": _floor_number(" ".join(floor_link.css("::text").getall()))
                if floor_link
                else None,
            }
        )
    if not rows:
        raise nothing_found(sel["post_message"], "Discuz viewthread page")
    if tid is None:
        raise UnexpectedPayload(
            "no thread id: neither given nor in a[id^=postnum] links", platform=PLATFORM
        )
    stats = [to_int(t) for t in page_css(page, sel["thread_stats"] + "::text").getall()]
    subject = " ".join(page_css(page, sel["subject"] + " ::text").getall()).strip() or None
    forum, _ = _forum(page, sel)
    return thread_and_posts(
        rows,
        site=site,
        base=base,
        tid=tid,
        title=subject,
        forum=forum,
        first_pid=first_pid,
        views=stats[0] if stats else None,
        replies=stats[1] if len(stats) > 1 else None,
    )


def next_page_url(html: str, *, base: str, selectors: dict[str, str] | None = None) -> str | None:
    """The absolute URL of the pager's "下一页" link, or None on the last page."""
    sel = merged(SELECTORS, selectors)
    href = page_css(parsel.Selector(text=html), sel["next_page"]).attrib.get("href")
    return urljoin(page_base(html, base), href) if href else None
