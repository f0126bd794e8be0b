"""Zhihu content parsers: a question's answers (feeds or /answers), articles, answers and member
profiles, and the answer/article objects search.py reads out of search results. Pure: payload
in, Post/Author out.

Post ids carry their type (``answer:1``, ``article:2``, ``question:3``) because Zhihu numbers
each type separately and all of them share one (platform, post_id) key space. Field names follow
the readers listed in tests/fixtures/SOURCES.md (MediaCrawler ``help.py``).
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from crawlers.errors import UnexpectedPayload
from crawlers.items import Author, Post

from .fields import author_of, by, data_list, html_text, to_int, unique, unix_time
from .urls import PLATFORM

__all__ = [
    "content_items",
    "parse_answer",
    "parse_answers",
    "parse_article",
    "parse_member",
]


def content_items(obj: dict[str, Any]) -> list[Post | Author]:
    """Answer or article object → its Post (+ the question as a thread, + the author); [] for
    any other object.

    :raises UnexpectedPayload: for an answer without its question.
    """
    kind = obj.get("type")
    if kind not in ("answer", "article") or obj.get("id") is None:
        return []
    cid = str(obj["id"])
    author_id, author_name = by(obj.get("author"))
    text = html_text(obj.get("content"))
    common: dict[str, Any] = {
        "text": text or html_text(obj.get("excerpt")),
        "author_id": author_id,
        "author_name": author_name,
        "created_at": unix_time(obj.get("created_time") or obj.get("created")),
        "like_count": to_int(obj.get("voteup_count")),
        "comment_count": to_int(obj.get("comment_count")),
    }
    updated = unix_time(obj.get("updated_time") or obj.get("updated"))
    extra = {
        "text_source": "content" if text else "excerpt",
        "updated_at": updated.isoformat() if updated else None,
    }
    out: list[Post | Author] = []
    if kind == "answer":
        q = obj.get("question") or {}
        if q.get("id") is None:
            raise UnexpectedPayload(f"answer {cid} without question.id", platform=PLATFORM)
        qid = f"question:{q['id']}"
        title = html_text(q.get("title") or q.get("name"))
        out.append(
            Post(
                PLATFORM,
                f"answer:{cid}",
                kind="answer",
                title=title,
                parent_post_id=qid,
                root_post_id=qid,
                url=f"https://www.zhihu.com/question/{q['id']}/answer/{cid}",
                extra={
                    **extra,
                    "question_id": str(q["id"]),
                    "thanks_count": to_int(obj.get("thanks_count")),
                },
                **common,
            )
        )
        out.append(
            Post(
                PLATFORM,
                qid,
                kind="thread",
                title=title,
                text=title,
                created_at=unix_time(q.get("created")),
                url=f"https://www.zhihu.com/question/{q['id']}",
                extra={"question_type": q.get("question_type")},
            )
        )
    else:
        column = obj.get("column")
        column = column if isinstance(column, dict) else {}
        out.append(
            Post(
                PLATFORM,
                f"article:{cid}",
                kind="article",
                title=html_text(obj.get("title")),
                url=f"https://zhuanlan.zhihu.com/p/{cid}",
                extra={
                    **extra,
                    "column": column.get("title"),
                    "cover": obj.get("image_url") or None,
                },
                **common,
            )
        )
    author = author_of(obj.get("author"))
    if author is not None:
        out.append(author)
    return out


def parse_answers(
    payload: dict[str, Any], *, now: datetime, skipped: Counter[str] | None = None
) -> list[Post | Author]:
    """A question's answers: ``/feeds`` items (``target``) or ``/answers`` items (bare answers).

    An answer that cannot be read is counted in ``skipped`` (when given) as
    ``broken_item/<type>`` and skipped: one bad answer never costs the page.
    :raises UnexpectedPayload: without ``data``, or when every answer on the page is broken
        (then the shape has changed, which is worth a crawl-health alert).
    """
    out: list[Post | Author] = []
    broken: list[Exception] = []
    for item in data_list(payload, "question answers"):
        obj = item.get("target") if isinstance(item, dict) and "target" in item else item
        if isinstance(obj, dict):
            try:
                out.extend(content_items(obj))
            except (UnexpectedPayload, KeyError, TypeError, ValueError) as exc:
                broken.append(exc)
                if skipped is not None:
                    skipped[f"broken_item/{obj.get('type')}"] += 1
    if broken and not out:
        raise broken[0]
    return unique(out)


def parse_article(payload: dict[str, Any], *, now: datetime) -> list[Post | Author]:
    """One article (``/api/v4/articles/{id}``) and its author.

    :raises UnexpectedPayload: when the object is not an article.
    """
    if (
        not isinstance(payload, dict)
        or payload.get("type") != "article"
        or payload.get("id") is None
    ):
        raise UnexpectedPayload(
            "expected an article object (type 'article' with an id)", platform=PLATFORM
        )
    return content_items(payload)


def parse_answer(payload: dict[str, Any], *, now: datetime) -> list[Post | Author]:
    """One answer (``/api/v4/answers/{id}``), its question (kind ``thread``) and its author.

    :raises UnexpectedPayload: when the object is not an answer with its question.
    """
    if not isinstance(payload, dict) or payload.get("type") != "answer" or "id" not in payload:
        raise UnexpectedPayload(
            "expected an answer object (type 'answer' with an id)", platform=PLATFORM
        )
    return content_items(payload)


def parse_member(payload: dict[str, Any], *, now: datetime) -> list[Post | Author]:
    """A member profile (``/api/v4/members/{url_token}``).

    :raises UnexpectedPayload: without ``id``.
    """
    author = author_of(payload) if isinstance(payload, dict) and payload.get("id") else None
    if author is None:
        raise UnexpectedPayload("member profile without an id", platform=PLATFORM)
    return [author]
