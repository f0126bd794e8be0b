"""Discuz! X mobile API (``api/mobile/index.php?version=1&module=forumdisplay|viewthread``):
pure parsers of its JSON, giving the same ids and thread trees as the HTML pages (discuz.py).

Shapes (source/plugin/mobile/api/1/*.php): every answer is ``{"Version", "Charset",
"Variables": {…}}``, plus ``"Message": {"messageval", "messagestr"}`` when Discuz refuses
(checks.py). forumdisplay: ``Variables.forum_threadlist[]`` (tid, author, authorid, subject,
dbdateline, dblastpost, replies, views), ``tpp``; viewthread: ``Variables.thread`` and
``Variables.postlist[]`` (pid, first, author, authorid, dbdateline, message HTML, number), ``ppp``.

The site: ids and URLs need the forum root. The caller's ``site``/``base`` (the spider always
knows them; ``tingfeng parse --context site=https://bbs.example.com``) win; without them the
root comes from the answer itself (``Variables.siteurl``, or ``site_url``/``siteUrl``, or the
same keys at the top level: no recording shows which ones a given Discuz build exports), and
without that a warning names the fix, ``skipped["discuz_api/site_missing"]`` counts it and ids
fall back to ``discuz:t<tid>``, URLs to ``https://discuz/``. ``member_avatar`` is deliberately
not used: it points at UCenter, which often lives on another host.

Rows: a thread or post row without its tid/pid is counted as ``discuz_api/broken_row`` and
skipped; only a page whose every row is broken raises (the shape has changed). No Scrapy here.
"""

from __future__ import annotations

import logging
import math
import re
from collections import Counter
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from crawlers.errors import UnexpectedPayload
from crawlers.items import Author, Post

from .common import PLATFORM, author_key, forum_time, html_text, post_key, site_and_base, to_int
from .discuz import FINDPOST, MESSAGE_DROP, build_url, discuz_author, thread_and_posts

__all__ = [
    "FALLBACK_SITE",
    "SITE_KEYS",
    "api_has_more_threads",
    "api_site",
    "api_thread_pages",
    "parse_api_forumdisplay",
    "parse_api_viewthread",
    "payload_base",
]

log = logging.getLogger(__name__)

SITE_KEYS = ("siteurl", "site_url", "siteUrl")
"""Keys that may name the forum root in an answer (``Variables`` first, then the top level)."""
FALLBACK_SITE = "discuz"
"""The site of ids when neither the caller nor the answer names one (as before: ``discuz:t1``)."""
_BROKEN = (KeyError, TypeError, ValueError, AttributeError)


def _variables(payload: Any, key: str) -> dict[str, Any]:
    variables = payload.get("Variables") if isinstance(payload, dict) else None
    if not isinstance(variables, dict) or key not in variables:
        raise UnexpectedPayload(
            f"Discuz mobile API answer has no Variables.{key}", platform=PLATFORM
        )
    return variables


def payload_base(payload: Any) -> str | None:
    """The forum root an answer names (see SITE_KEYS), ending in "/"; None when it names none.

    >>> payload_base({"Variables": {"siteurl": "https://bbs.example.org/bbs"}})
    'https://bbs.example.org/bbs/'
    >>> payload_base({"Variables": {"siteurl": "not a url"}}) is None
    True
    """
    variables = payload.get("Variables") if isinstance(payload, dict) else None
    for holder in (variables, payload):
        if not isinstance(holder, dict):
            continue
        for key in SITE_KEYS:
            value = holder.get(key)
            if not isinstance(value, str):
                continue
            parts = urlsplit(value.strip())
            if parts.scheme in ("http", "https") and parts.hostname:
                return site_and_base(None, value.strip())[1]
    return None


def api_site(
    payload: Any,
    *,
    site: str | None = None,
    base: str | None = None,
    skipped: Counter[str] | None = None,
) -> tuple[str, str]:
    """(site, forum root) for an answer: the caller's, else the answer's, else the fallback
    (logged once with the fix, and counted as ``discuz_api/site_missing``)."""
    site, base = site_and_base(site, base)
    if not base:
        base = payload_base(payload)
        if base and not site:
            site = urlsplit(base).hostname
    if not site:
        log.warning(
            "Discuz mobile API answer names no site (no Variables.siteurl): ids fall back to "
            "%r and URLs to https://%s/; pass the forum root, e.g. "
            "--context site=https://bbs.example.com",
            f"{FALLBACK_SITE}:t<tid>",
            FALLBACK_SITE,
        )
        if skipped is not None:
            skipped["discuz_api/site_missing"] += 1
        site = FALLBACK_SITE
    return site, base or f"https://{site}/"


def _rows(
    variables: dict[str, Any], key: str, id_key: str, skipped: Counter[str] | None
) -> list[dict[str, Any]]:
    """The rows of ``Variables[key]`` that carry ``id_key``; the others are counted."""
    rows = variables[key] or []
    if not isinstance(rows, list):
        raise UnexpectedPayload(f"Variables.{key} is not a list", platform=PLATFORM)
    good = [r for r in rows if isinstance(r, dict) and r.get(id_key) not in (None, "")]
    if skipped is not None and len(good) < len(rows):
        skipped["discuz_api/broken_row"] += len(rows) - len(good)
    if rows and not good:
        raise UnexpectedPayload(
            f"no row of Variables.{key} has a {id_key} (layout changed?)", platform=PLATFORM
        )
    return good


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _api_time(row: dict[str, Any], *, now: datetime) -> datetime | None:
    if row.get("dbdateline"):
        return forum_time(str(row["dbdateline"]), now=now)
    text = str(row.get("dateline") or "")
    m = re.search(r"title=\"([^\"]+)\"", text)
    return forum_time(m.group(1) if m else html_text(text), now=now)


def _thread_row(
    row: dict[str, Any], forum: dict[str, Any], *, now: datetime, site: str, base: str
) -> tuple[Post, Author | None]:
    tid, uid = str(row["tid"]), str(row.get("authorid") or "") or None
    title = html_text(row.get("subject")) or None
    last = forum_time(str(row["dblastpost"]), now=now) if row.get("dblastpost") else None
    post = Post(
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
    return post, discuz_author(site, base, uid, row.get("author"))


def parse_api_forumdisplay(
    payload: dict[str, Any],
    *,
    now: datetime,
    site: str | None = None,
    base: str | None = None,
    skipped: Counter[str] | None = None,
) -> list[Post | Author]:
    """``module=forumdisplay``: ``Variables.forum_threadlist[]`` as "thread" posts + authors.

    ``site``/``base`` default to what the answer names (module docstring); unreadable rows are
    counted in ``skipped`` (when given) as ``discuz_api/broken_row`` and skipped.
    """
    variables = _variables(payload, "forum_threadlist")
    site, base = api_site(payload, site=site, base=base, skipped=skipped)
    forum = _mapping(variables.get("forum"))
    out: list[Post | Author] = []
    seen: set[str] = set()
    broken = 0
    rows = _rows(variables, "forum_threadlist", "tid", skipped)
    for row in rows:
        try:
            post, author = _thread_row(row, forum, now=now, site=site, base=base)
        except _BROKEN:
            broken += 1
            continue
        out.append(post)
        if author is not None and author.author_id not in seen:
            seen.add(author.author_id)
            out.append(author)
    _count_broken(broken, len(rows), "forum_threadlist", skipped)
    return out


def _count_broken(broken: int, total: int, key: str, skipped: Counter[str] | None) -> None:
    if skipped is not None and broken:
        skipped["discuz_api/broken_row"] += broken
    if total and broken == total:
        raise UnexpectedPayload(
            f"no row of Variables.{key} could be read (layout changed?)", platform=PLATFORM
        )


def _post_row(row: dict[str, Any], *, now: datetime) -> dict[str, Any]:
    message = row.get("message") or ""
    quoted = None
    if m := FINDPOST.search(message.replace("&amp;", "&")):
        quoted = m.group(1) or m.group(2)
    return {
        "pid": str(row["pid"]),
        "text": html_text(f"<div>{message}</div>", drop=MESSAGE_DROP),
        "quoted": quoted,
        "uid": str(row.get("authorid") or "") or None,
        "name": row.get("author"),
        "created_at": _api_time(row, now=now),
        "floor": 1 if str(row.get("first")) == "1" else to_int(row.get("number")),
    }


def parse_api_viewthread(
    payload: dict[str, Any],
    *,
    now: datetime,
    site: str | None = None,
    base: str | None = None,
    first_pid: str | None = None,
    skipped: Counter[str] | None = None,
) -> list[Post | Author]:
    """``module=viewthread``: ``Variables.postlist[]`` (floor 1 is the thread) + ``.thread``.

    ``site``/``base`` default to what the answer names (module docstring); unreadable rows are
    counted in ``skipped`` (when given) as ``discuz_api/broken_row`` and skipped.
    """
    variables = _variables(payload, "postlist")
    site, base = api_site(payload, site=site, base=base, skipped=skipped)
    thread = _mapping(variables.get("thread"))
    raw = _rows(variables, "postlist", "pid", skipped)
    rows = []
    for row in raw:
        try:
            rows.append(_post_row(row, now=now))
        except _BROKEN:
            continue
    _count_broken(len(raw) - len(rows), len(raw), "postlist", skipped)
    tid = str(thread.get("tid") or next((r["tid"] for r in raw if r.get("tid")), ""))
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
