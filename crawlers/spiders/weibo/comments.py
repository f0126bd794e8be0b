"""Weibo comment payloads → Posts of kind "comment" (parent: the weibo) and "reply" (parent: the
comment answered; root: the weibo). Pure; the commenters come back as Authors."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from crawlers.errors import UnexpectedPayload
from crawlers.items import Author, Post

from .parsers import Item, author_from_user, dedupe, first_id, item_time, payload_data
from .text import clean_html, parse_count, region_of, reply_target
from .urls import PLATFORM

__all__ = [
    "comment_post", "comments_show_pages", "hotflow_cursor", "parse_comments_show", "parse_hotflow",
]


def comment_post(
    c: Mapping[str, Any],
    *,
    now: datetime,
    post_id: str | None,
    parent: Post | None = None,
    parent_id: str | None = None,
    post_author_id: str | None = None,
) -> tuple[Post, Author | None]:
    """One comment object (any m.weibo.cn comment API) → (Post, its author).

    Without ``parent``/``parent_id`` it is a comment on ``post_id``; with one, a reply.
    """
    cid = first_id(c, "idstr", "id", "mid")
    if cid is None:
        raise UnexpectedPayload("comment without id", platform=PLATFORM)
    extra: dict[str, Any] = {}
    text = clean_html(c.get("text"))
    author = author_from_user(c.get("user"), now=now)
    target = reply_target(text)
    if target:
        extra["reply_to"] = target
    for key in ("floor_number", "bid"):
        if c.get(key) not in (None, "", 0):
            extra[key] = c[key]
    is_reply = parent is not None or parent_id is not None
    post = Post(
        platform=PLATFORM,
        post_id=cid,
        text=text,
        created_at=item_time(c.get("created_at"), now, extra),
        kind="reply" if is_reply else "comment",
        author_id=author.author_id if author else None,
        author_name=author.name if author else None,
        parent_post_id=(parent.post_id if parent else parent_id) if is_reply else post_id,
        root_post_id=post_id,
        parent_author_id=(parent.author_id if parent else None) if is_reply else post_author_id,
        parent_author_name=parent.author_name if parent else None,
        like_count=parse_count(c.get("like_count", c.get("like_counts"))),
        # ``total_number`` on a comment counts its replies.
        comment_count=parse_count(c.get("total_number")),
        # Comments' ``source`` is the IP location ("来自北京") on current pages.
        region=region_of(c.get("source")),
        extra=extra,
    )
    return post, author


def parse_hotflow(
    payload: Any, *, now: datetime, post_id: str | None = None, post_author_id: str | None = None,
) -> list[Item]:
    """m.weibo.cn comments/hotflow: ``data.data`` comments, each with inline sub-replies in
    ``comments`` (a list, or ``false`` when there are none) whose ``rootid`` is the comment."""
    data = payload_data(payload, "comments")
    if data is None:
        return []
    comments = data.get("data")
    if not isinstance(comments, list):
        raise UnexpectedPayload("comments: data.data missing", platform=PLATFORM)
    items: list[Item] = []
    for c in comments:
        if not isinstance(c, Mapping):
            continue
        post, author = comment_post(c, now=now, post_id=post_id, post_author_id=post_author_id)
        items += [post, *([author] if author else [])]
        for sub in c.get("comments") or []:
            if not isinstance(sub, Mapping):
                continue
            rootid = first_id(sub, "rootid")
            reply, reply_author = comment_post(
                sub, now=now, post_id=post_id,
                parent=post if rootid in (None, post.post_id) else None, parent_id=rootid,
            )
            items += [reply, *([reply_author] if reply_author else [])]
    return dedupe(items)


def hotflow_cursor(payload: Any) -> tuple[int, int] | None:
    """(max_id, max_id_type) for the next hotflow page; None at the end (max_id 0 or absent)."""
    data = payload.get("data") if isinstance(payload, Mapping) else None
    if not isinstance(data, Mapping):
        return None
    max_id = parse_count(data.get("max_id")) or 0
    return (max_id, parse_count(data.get("max_id_type")) or 0) if max_id else None


def parse_comments_show(
    payload: Any, *, now: datetime, post_id: str | None = None, post_author_id: str | None = None,
) -> list[Item]:
    """m.weibo.cn api/comments/show (the older API): ``data.data`` plus ``data.hot_data``.

    A comment with ``reply_id`` answers that comment: it becomes a reply whose parent is it.
    """
    data = payload_data(payload, "comments show")
    if data is None:
        return []
    if not isinstance(data.get("data"), list):
        raise UnexpectedPayload("comments show: data.data missing", platform=PLATFORM)
    items: list[Item] = []
    for c in [*data["data"], *(data.get("hot_data") or [])]:
        if not isinstance(c, Mapping):
            continue
        reply_id = first_id(c, "reply_id")
        post, author = comment_post(c, now=now, post_id=post_id, parent_id=reply_id,
                                    post_author_id=post_author_id)
        if reply_id and c.get("reply_text"):
            post.extra["reply_to_text"] = clean_html(c["reply_text"])
        items += [post, *([author] if author else [])]
    return dedupe(items)


def comments_show_pages(payload: Any) -> int:
    """How many pages api/comments/show says there are (``data.max``; 0 when unknown)."""
    data = payload.get("data") if isinstance(payload, Mapping) else None
    return (parse_count(data.get("max")) or 0) if isinstance(data, Mapping) else 0
