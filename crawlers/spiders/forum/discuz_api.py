"""Discuz! X mobile API (``api/mobile/index.php?version=1&module=forumdisplay|viewthread``):
pure parsers of its JSON, giving the same ids and thread trees as the HTML pages (discuz.py).

Shapes (source/plugin/mobile/api/1/*.php): every answer is ``{"Version", "Charset",
"Variables": {…}}``, plus ``"Message": {"messageval", "messagestr"}`` when Discuz refuses
(checks.py). forumdisplay: ``Variables.forum_threadlist[]`` (tid, author, authorid, subject,
dbdateline, dblastpost, replies, views), ``tpp``; viewthread: ``Variables.thread`` and
``Variables.postlist[]`` (pid, first, author, authorid, dbdateline, message HTML, number), ``ppp``.
No Scrapy here.
"""

from __future__ import annotations

import math
import re
from datetime import datetime
from typing import Any

from crawlers.errors import UnexpectedPayload
from crawlers.items import Author, Post

from .common import PLATFORM, author_key, forum_time, html_text, post_key, to_int
from .discuz import FINDPOST, MESSAGE_DROP, build_url, discuz_author, thread_and_posts

__all__ = [
    "api_has_more_threads",
    "api_thread_pages",
    "parse_api_forumdisplay",
    "parse_api_viewthread",
]


def _variables(payload: Any, key: str) -> dict[str, Any]:
    variables = payload.get("Variables") if isinstance(payload, dict) else None
    if not isinstance(variables, dict) or key not in variables:
        raise UnexpectedPayload(
            f"Discuz mobile API answer has no Variables.{key}", platform=PLATFORM
        )
    return variables


def _api_time(row: dict[str, Any], *, now: datetime) -> datetime | None:
    if row.get("dbdateline"):
        return forum_time(str(row["dbdateline"]), now=now)
    text = str(row.get("dateline") or "")
    m = re.search(r"title=\"([^\"]+)\"", text)
    return forum_time(m.group(1) if m else html_text(text), now=now)


def parse_api_forumdisplay(
    payload: dict[str, Any], *, now: datetime, site: str, base: str
) -> list[Post | Author]:
    """``module=forumdisplay``: ``Variables.forum_threadlist[]`` as "thread" posts + authors."""
    variables = _variables(payload, "forum_threadlist")
    forum = variables.get("forum") or {}
    out: list[Post | Author] = []
    seen: set[str] = set()
    for row in variables["forum_threadlist"] or []:
        tid, uid = str(row["tid"]), str(row.get("authorid") or "") or None
        title = html_text(row.get("subject")) or None
        last = forum_time(str(row["dblastpost"]), now=now) if row.get("dblastpost") else None
        out.append(
            Post(
                PLATFORM,
                post_key(site, "t", tid),
                kind="thread",
                title=title,
                text=title or "",
                created_at=_api_time(row, now=now),
                url=build_url("thread", base, tid=tid),
                author_id=author_key(site, uid) if uid and uid != "0" else None,
                author_name=row.get("author") or None,
                comment_count=to_int(row.get("replies")),
                read_count=to_int(row.get("views")),
                extra={
                    "site": site,
                    "forum": forum.get("name"),
                    "fid": forum.get("fid"),
                    "tid": tid,
                    "last_reply_at": last.isoformat() if last else None,
                },
            )
        )
        author = discuz_author(site, base, uid, row.get("author"))
        if author is not None and author.author_id not in seen:
            seen.add(author.author_id)
            out.append(author)
    return out


def parse_api_viewthread(
    payload: dict[str, Any], *, now: datetime, site: str, base: str, first_pid: str | None = None
) -> list[Post | Author]:
    """``module=viewthread``: ``Variables.postlist[]`` (floor 1 is the thread) + ``.thread``."""
    variables = _variables(payload, "postlist")
    thread = variables.get("thread") or {}
    rows = []
    for row in variables["postlist"] or []:
        fragment = html_text(f"<div>{row.get('message') or ''}</div>", drop=MESSAGE_DROP)
        quoted = None
        if m := FINDPOST.search((row.get("message") or "").replace("&amp;", "&")):
            quoted = m.group(1) or m.group(2)
        rows.append(
            {
                "pid": str(row["pid"]),
                "text": fragment,
                "quoted": quoted,
                "uid": str(row.get("authorid") or "") or None,
                "name": row.get("author"),
                "created_at": _api_time(row, now=now),
                "floor": 1 if str(row.get("first")) == "1" else to_int(row.get("number")),
            }
        )
    tid = str(
        thread.get("tid") or (variables["postlist"][0].get("tid") if variables["postlist"] else "")
    )
    if not tid:
        raise UnexpectedPayload(
            "Discuz mobile API viewthread answer names no tid", platform=PLATFORM
        )
    return thread_and_posts(
        rows,
        site=site,
        base=base,
        tid=tid,
        title=html_text(thread.get("subject")) or None,
        replies=to_int(thread.get("replies")),
        views=to_int(thread.get("views")),
        forum=None,
        first_pid=first_pid,
    )


def api_thread_pages(payload: dict[str, Any]) -> int:
    """Pages of a thread in the mobile API: ceil((replies + 1) / ppp)."""
    variables = payload.get("Variables") or {}
    replies = to_int((variables.get("thread") or {}).get("replies")) or 0
    ppp = to_int(variables.get("ppp")) or 10
    return max(1, math.ceil((replies + 1) / ppp))


def api_has_more_threads(payload: dict[str, Any]) -> bool:
    """True when a forumdisplay page was full (``tpp`` threads), so another page may follow."""
    variables = payload.get("Variables") or {}
    return len(variables.get("forum_threadlist") or []) >= (to_int(variables.get("tpp")) or 20)
