"""Zhihu comment_v5 parsers: root comments (kind ``comment``) and the replies under them (kind
``reply``), keeping the tree: parent = the comment replied to, root = the answer or article.
Pure: payload in, Post/Author out.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from crawlers.errors import UnexpectedPayload
from crawlers.items import Author, Post

from .fields import author_of, by, data_list, html_text, region, to_int, unique, unix_time
from .urls import PLATFORM

__all__ = ["parse_child_comments", "parse_root_comments"]


def _paging_id(payload: Any, collection: str) -> str | None:
    """The id after ``comment_v5/<collection>/`` in paging links: whose comments a page holds."""
    paging = payload.get("paging") if isinstance(payload, dict) else None
    for link in ((paging or {}).get("next"), (paging or {}).get("previous")):
        segments = urlsplit(link or "").path.split("/")
        if "comment_v5" in segments:
            i = segments.index("comment_v5")
            if len(segments) > i + 2 and segments[i + 1] == collection and segments[i + 2]:
                return segments[i + 2]
    return None


def _comment(
    c: dict[str, Any], *, root: str | None, root_comment: str | None
) -> list[Post | Author]:
    cid = c.get("id")
    if cid is None:
        raise UnexpectedPayload("a comment without id", platform=PLATFORM)
    author_id, author_name = by(c.get("author"))
    reply_to = str(c.get("reply_comment_id") or "0")
    reply_root = str(c.get("reply_root_comment_id") or "0")
    thread_head = root_comment or (reply_root if reply_root != "0" else None)
    is_reply = thread_head is not None and thread_head != str(cid)
    parent: str | None
    if is_reply:
        parent = f"comment:{reply_to}" if reply_to != "0" else f"comment:{thread_head}"
    else:
        parent = root
    target_id, target_name = by(c.get("reply_to_author"))
    tag = next(
        (
            t
            for t in c.get("comment_tag") or []
            if isinstance(t, dict) and t.get("type") == "ip_info"
        ),
        {},
    )
    out: list[Post | Author] = [
        Post(
            PLATFORM,
            f"comment:{cid}",
            kind="reply" if is_reply else "comment",
            text=html_text(c.get("content")),
            created_at=unix_time(c.get("created_time")),
            author_id=author_id,
            author_name=author_name,
            parent_post_id=parent,
            root_post_id=root,
            like_count=to_int(c.get("like_count")),
            comment_count=to_int(c.get("child_comment_count")),
            region=region(tag.get("text")),
            parent_author_id=target_id if is_reply else None,
            parent_author_name=target_name if is_reply else None,
            deleted=True if c.get("is_delete") else None,
            extra={
                "root_comment_id": thread_head if is_reply else None,
                "dislike_count": to_int(c.get("dislike_count")),
                "is_author": c.get("is_author"),
                "hot": c.get("hot"),
                "resource_type": c.get("resource_type"),
            },
        )
    ]
    author = author_of(c.get("author"))
    if author is not None:
        out.append(author)
    for child in c.get("child_comments") or []:
        if isinstance(child, dict):
            out.extend(_comment(child, root=root, root_comment=str(cid)))
    return out


def parse_root_comments(
    payload: dict[str, Any], *, now: datetime, parent: str | None = None
) -> list[Post | Author]:
    """Root comments (kind ``comment``, parent = the answer/article) and their inline replies.

    ``parent`` is ``answer:<id>`` or ``article:<id>``; when omitted it is read from paging links.
    :raises UnexpectedPayload: without ``data`` or for a comment without id.
    """
    data = data_list(payload, "root_comment")
    if parent is None:
        for kind in ("answer", "article"):
            found = _paging_id(payload, f"{kind}s")
            if found:
                parent = f"{kind}:{found}"
                break
    out: list[Post | Author] = []
    for c in data:
        if isinstance(c, dict) and c.get("type", "comment") == "comment":
            out.extend(_comment(c, root=parent, root_comment=None))
    return unique(out)


def parse_child_comments(
    payload: dict[str, Any],
    *,
    now: datetime,
    root_comment: str | None = None,
    root: str | None = None,
) -> list[Post | Author]:
    """Replies under one root comment (kind ``reply``): parent = the comment replied to
    (``reply_comment_id``), root = the answer/article when ``root`` is given.

    :raises UnexpectedPayload: without ``data`` or for a comment without id.
    """
    data = data_list(payload, "child_comment")
    head = root_comment or _paging_id(payload, "comment")
    out: list[Post | Author] = []
    for c in data:
        if isinstance(c, dict) and c.get("type", "comment") == "comment":
            out.extend(_comment(c, root=root, root_comment=head))
    return unique(out)
