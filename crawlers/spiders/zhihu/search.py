"""Zhihu search (``/api/v4/search_v3`` and the newer search endpoints that answer the same way):
the result items → Post/Author. Pure: payload in, items out; no Scrapy, no I/O.

A page's ``data[]`` mixes result items and cards. Items of type ``search_result`` (and the
older top-level ``zvideo`` items) wrap an ``object`` whose own ``type`` says what it is:

* ``answer``, ``article``: as in parsers.py (an answer brings its question as kind ``thread``);
* ``question``: kind ``thread``, id ``question:<id>`` (the same record an answer's question gives),
  text = title + detail/excerpt, comment_count = answer_count (its answers are its replies),
  ``extra`` follower_count, answer_count;
* ``zvideo``: kind ``original``, id ``zvideo:<id>``, url www.zhihu.com/zvideo/<id>;
* ``people``, ``topic``, ``column``: skipped (no content to score).

Everything skipped is counted in ``skipped`` by type, Weibo-style (the spider turns the keys into
``parse/zhihu/<key>`` stats): ``skipped_item_type/<t>`` for known cards (ads, related queries,
one-boxes…), ``unknown_item_type/<t>`` for card types never seen, ``skipped_result_type/<t>`` and
``unknown_result_type/<t>`` for result objects, ``broken_item/<t>`` for a result that could not
be read. One new or broken item never costs the page.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from crawlers.errors import UnexpectedPayload
from crawlers.items import Author, Post

from .fields import author_of, by, data_list, html_text, to_int, unique, unix_time
from .parsers import content_items
from .urls import PLATFORM

__all__ = ["RESULT_ITEMS", "SKIPPED_ITEMS", "SKIPPED_RESULTS", "parse_search"]

RESULT_ITEMS = frozenset({"search_result", "zvideo"})
"""Item types that carry a result ``object`` (MediaCrawler reads these two)."""
SKIPPED_ITEMS = frozenset(
    {
        "relevant_query",
        "search_club",
        "knowledge_ad",
        "koc_box",
        "hot_timing",
        "wiki_box",
        "one_box",
    }
)
"""Cards known to carry no post: related queries, circles, ads, boxes."""
SKIPPED_RESULTS = frozenset({"people", "topic", "column"})
"""Result objects known to be no post: accounts, topics, columns."""

_BROKEN = (UnexpectedPayload, KeyError, TypeError, ValueError, AttributeError)


def _question(obj: dict[str, Any]) -> list[Post | Author]:
    """A question result → its thread Post (and its author, when the result names one)."""
    qid = str(obj["id"])
    title = html_text(obj.get("title") or obj.get("name"))
    detail, source = html_text(obj.get("detail")), "detail"
    if not detail:
        detail, source = html_text(obj.get("excerpt")), "excerpt"
    author_id, author_name = by(obj.get("author"))
    updated = unix_time(obj.get("updated_time") or obj.get("updated"))
    answers = to_int(obj.get("answer_count"))
    out: list[Post | Author] = [
        Post(
            PLATFORM,
            f"question:{qid}",
            kind="thread",
            title=title or None,
            text="\n".join(t for t in (title, detail) if t),
            created_at=unix_time(obj.get("created") or obj.get("created_time")),
            url=f"https://www.zhihu.com/question/{qid}",
            author_id=author_id,
            author_name=author_name,
            comment_count=answers,
            extra={
                "question_type": obj.get("question_type"),
                "answer_count": answers,
                "follower_count": to_int(obj.get("follower_count")),
                "question_comment_count": to_int(obj.get("comment_count")),
                "text_source": source if detail else "title",
                "updated_at": updated.isoformat() if updated else None,
            },
        )
    ]
    author = author_of(obj.get("author"))
    if author is not None:
        out.append(author)
    return out


def _richer(question: Post, stub: Post) -> Post:
    """The question result's record, with what only an answer's stub of it knew filled in."""
    for name in ("created_at", "title", "url"):
        if getattr(question, name) is None:
            setattr(question, name, getattr(stub, name))
    question.extra = {**stub.extra, **{k: v for k, v in question.extra.items() if v is not None}}
    return question


def _zvideo(obj: dict[str, Any]) -> list[Post | Author]:
    """A zvideo result → an original Post (+ its author). Field names as MediaCrawler reads them."""
    vid = str(obj["id"])
    title = html_text(obj.get("title"))
    description = html_text(obj.get("description") or obj.get("excerpt"))
    author_id, author_name = by(obj.get("author"))
    out: list[Post | Author] = [
        Post(
            PLATFORM,
            f"zvideo:{vid}",
            kind="original",
            title=title or None,
            text=description or title,
            created_at=unix_time(
                obj.get("created_at") or obj.get("published_at") or obj.get("created_time")
            ),
            url=f"https://www.zhihu.com/zvideo/{vid}",
            author_id=author_id,
            author_name=author_name,
            like_count=to_int(obj.get("voteup_count")),
            comment_count=to_int(obj.get("comment_count")),
            extra={"content_type": "zvideo", "video_url": obj.get("video_url") or None},
        )
    ]
    author = author_of(obj.get("author"))
    if author is not None:
        out.append(author)
    return out


_PARSERS = {
    "answer": content_items,
    "article": content_items,
    "question": _question,
    "zvideo": _zvideo,
}


def _result_object(item: dict[str, Any]) -> Any:
    obj = item.get("object")
    if obj is None and item.get("type") == "zvideo" and "id" in item:
        return item  # a bare top-level zvideo item is its own object
    return obj


def parse_search(
    payload: dict[str, Any], *, now: datetime, skipped: Counter[str] | None = None
) -> list[Post | Author]:
    """Answers, articles, questions and zvideos (questions as kind ``thread``) and their authors.

    Cards and result types that are not posts are counted in ``skipped`` (when given) and
    skipped; see the module docstring for the keys. A question that also comes with one of its
    answers is one record: the question result's (it has the detail and the counts).
    :raises UnexpectedPayload: without ``data``, or when every result on the page is broken.
    """
    counts: Counter[str] = Counter()
    out: list[Post | Author] = []
    questions: dict[str, Post] = {}
    broken: list[Exception] = []
    for item in data_list(payload, "search_v3"):
        kind = item.get("type") if isinstance(item, dict) else type(item).__name__
        if not isinstance(item, dict) or kind not in RESULT_ITEMS:
            counts[f"{'skipped' if kind in SKIPPED_ITEMS else 'unknown'}_item_type/{kind}"] += 1
            continue
        obj = _result_object(item)
        what = obj.get("type") if isinstance(obj, dict) else None
        parser = _PARSERS.get(what) if isinstance(what, str) else None
        if parser is None:
            if isinstance(obj, dict) and what is not None:
                group = "skipped" if what in SKIPPED_RESULTS else "unknown"
                counts[f"{group}_result_type/{what}"] += 1
            else:
                counts[f"broken_item/{kind}"] += 1
                broken.append(
                    UnexpectedPayload(f"{kind} item without an object", platform=PLATFORM)
                )
            continue
        try:
            if obj.get("id") is None:
                raise UnexpectedPayload(f"{what} result without an id", platform=PLATFORM)
            found = parser(obj)
        except _BROKEN as exc:
            counts[f"broken_item/{what}"] += 1
            broken.append(exc)
            continue
        if what == "question" and isinstance(found[0], Post):
            questions[found[0].post_id] = found[0]
        out.extend(found)
    if skipped is not None:
        skipped.update(counts)
    if broken and not out:
        raise broken[0]
    merged: list[Post | Author] = []
    for item in out:
        if isinstance(item, Post) and questions.get(item.post_id, item) is not item:
            item = _richer(questions[item.post_id], item)  # an answer's stub of a question result
        merged.append(item)
    return unique(merged)
