"""The post browser: a topic's posts, newest first, filtered and paged, each with a safe link to
its original. Links are only ever http(s) (``scheduler.reports.markup.safe_url``)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from scheduler.notify.wording import platform_name
from scheduler.reports.markup import safe_url
from web.data.series import RANGES, SENTIMENTS, sentiment_name

if TYPE_CHECKING:
    from crawlers.items import Post
    from crawlers.storage import Store
    from scheduler.i18n import Wording

__all__ = ["PAGE_SIZE", "post_page", "post_row"]

PAGE_SIZE = 50
MAX_TEXT = 600  # characters of a post shown in the list


def post_row(p: Post, w: Wording) -> dict[str, Any]:
    text = p.text if len(p.text) <= MAX_TEXT else p.text[:MAX_TEXT] + "…"
    return {
        "platform": p.platform, "platform_name": platform_name(p.platform, w),
        "post_id": p.post_id, "kind": p.kind, "url": safe_url(p.url), "title": p.title,
        "text": text, "author_id": p.author_id, "author_name": p.author_name,
        "created_at": p.created_at.isoformat() if p.created_at else None,
        "created": w.time(p.created_at),
        "sentiment": p.sentiment, "sentiment_label": p.sentiment_label or "unscored",
        "sentiment_name": sentiment_name(p.sentiment_label, w),
        "reposts": p.repost_count, "comments": p.comment_count, "likes": p.like_count,
        "topics": list(p.topics),
    }


def _window(choice: str, since: datetime | None, until: datetime | None,
            now: datetime) -> tuple[datetime | None, datetime | None]:
    if since or until:
        return since, until
    days = RANGES.get(choice)
    return (now - timedelta(days=days), None) if days else (None, None)


def post_page(store: Store, w: Wording, *, now: datetime, topic: str | None = None,
              platform: str | None = None, sentiment: str | None = None,
              choice: str = "auto", since: datetime | None = None,
              until: datetime | None = None, page: int = 1,
              size: int = PAGE_SIZE) -> dict[str, Any]:
    """One page of posts, newest first, and the total. ``choice`` is a RANGES key or "auto"
    (30 days, or all time when those are empty); explicit ``since``/``until`` win.

    The store reads the page from an index in time order (``Store.newest_posts``) and counts
    the matches, so page 1 and page 2,000 cost the same at any size of store. Undated posts
    cannot be placed on the time line and are not listed.
    """
    page = max(1, page)
    sentiment = sentiment if sentiment in SENTIMENTS else None
    tries = ["30d", "all"] if choice not in RANGES else [choice]
    for used in tries:
        low, high = _window(used, since, until, now)
        found = store.newest_posts(topic=topic or None, since=low, until=high,
                                   platform=platform or None, sentiment=sentiment,
                                   offset=(page - 1) * size, limit=size)
        if found.total or since or until:
            break
    return {
        "total": found.total, "page": page, "pages": max(1, -(-found.total // size)),
        "size": size, "range": used if not (since or until) else "custom",
        "since": low.isoformat() if low else None, "until": high.isoformat() if high else None,
        "posts": [post_row(p, w) for p in found.posts],
    }
