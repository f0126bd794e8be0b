"""Zhihu (知乎): the web client's JSON API at www.zhihu.com/api/v4.

Endpoints (→ ENDPOINTS name; fixtures in tests/fixtures/zhihu are constructed, see below):
  search_v3?t=general&q=Q&offset=N                 search            answers, articles, questions,
                                                                     zvideos (search.py)
  questions/{id}/feeds (or /answers)               question_answers  answers (``target`` or bare)
  comment_v5/{answers|articles}/{id}/root_comment  root_comments     kind comment, parent = content
  comment_v5/comment/{id}/child_comment            child_comments    kind reply, parent = comment
  members/{url_token}                              member            followers, voteups, answers…
  articles/{id}                                    article           one column article

Kinds and trees: answer (parent and root = its question, stored as kind ``thread``; a question
search result is the same ``thread`` record with its detail and counts), article, zvideo (kind
``original``), comment (parent and root = the answer/article), reply (parent =
``comment:<reply_comment_id>``, or the root comment when that is 0; root = the answer/article;
``extra["root_comment_id"]`` = the thread's root comment). Ids carry their type: ``answer:1``,
``article:2``, ``question:3``, ``comment:4``, ``zvideo:5``.

Search pages mix results with cards (ads, related queries, one-boxes) and result types that are
no post (people, topics, columns): they are counted by type as ``parse/zhihu/skipped_…`` or
``parse/zhihu/unknown_…`` stats and skipped; a result that cannot be read is
``parse/zhihu/broken_item/<type>`` (search.py). One new or broken item never costs the page.

Paging: ``paging.next`` until ``paging.is_end``; at most ``max_pages`` search/answer pages and
``max_comment_pages`` per comment thread. Quirks: search highlights are ``<em>`` tags; anonymous
authors have id "0" (no Author record); comment authors may be wrapped as ``{"member": …}``
(older API); IP labels read "IP 属地浙江" (→ region 浙江).

Signing: every request carries x-zse-93 and, with ZHIHU_SIGNER and a d_c0 cookie, x-zse-96; see
crawlers/zhihu_sign.py for what is implemented and what is pluggable.

Soft failures: error 40362/40352 (recorded) → Blocked (why: crawlers/spiders/zhihu/checks.py);
401 or 请登录 → LoginRequired; 429 → RateLimited; 404 → ContentUnavailable; 403 → Blocked.

Verified 2026-11 against tests/fixtures/zhihu: only the two 40362 bodies are recorded (no
successful Zhihu response was found in public material); every 200 fixture is constructed from
the field names MediaCrawler's extractor reads, with invented people and ids.
"""

from __future__ import annotations

import json
from typing import Any

from crawlers.endpoints import Parser, body_parser, unknown_endpoint

from .checks import check_response, load_json
from .comments import parse_child_comments, parse_root_comments
from .fields import next_page
from .parsers import parse_answer, parse_answers, parse_article, parse_member
from .search import parse_search
from .spider import ZhihuSpider
from .urls import (
    PLATFORM,
    answers_url,
    article_url,
    child_comments_url,
    feeds_url,
    member_url,
    root_comments_url,
    search_url,
)

__all__ = [
    "DEMO_ARGS",
    "ENDPOINTS",
    "PLATFORM",
    "ZhihuSpider",
    "answers_url",
    "article_url",
    "check_response",
    "child_comments_url",
    "detect_endpoint",
    "feeds_url",
    "member_url",
    "next_page",
    "parse_answers",
    "parse_article",
    "parse_child_comments",
    "parse_member",
    "parse_root_comments",
    "parse_search",
    "root_comments_url",
    "search_url",
]

def _json(parser: Parser) -> Parser:
    return body_parser(load_json, parser)


ENDPOINTS: dict[str, Parser] = {
    "search": _json(parse_search),
    "question_answers": _json(parse_answers),
    "root_comments": _json(parse_root_comments),
    "child_comments": _json(parse_child_comments),
    "member": _json(parse_member),
    "article": _json(parse_article),
    "answer": _json(parse_answer),
}

# Spider arguments that crawl tests/fixtures/zhihu end to end (tingfeng demo): two search pages,
# a question's answers, an article, their comment trees and the authors' profiles.
DEMO_ARGS: dict[str, str] = {
    "keyword": "演示话题",
    "max_pages": "2",
    "questions": "200000001",
    "articles": "300000001",
}

# Substrings of a URL or fixture file name → endpoint, for bodies that do not tell (errors).
_URL_HINTS = (
    ("search_v3", "search"),
    ("child_comment", "child_comments"),
    ("root_comment", "root_comments"),
    ("/feeds", "question_answers"),
    ("-feeds", "question_answers"),
    ("/answers", "question_answers"),
    ("questions-answers", "question_answers"),
    ("members", "member"),
    ("articles", "article"),
)


def detect_endpoint(body: bytes, url: str | None = None) -> str:
    """The ENDPOINTS name for a body (its shape first, then hints in ``url``).

    :raises UnexpectedPayload: listing the known endpoints when neither tells.
    """
    found = _detect(load_json(body, url))
    if found is None and url:
        found = next((name for hint, name in _URL_HINTS if hint in url), None)
    if found is None:
        raise unknown_endpoint(ENDPOINTS, platform=PLATFORM, url=url)
    return found


def _detect(payload: Any) -> str | None:
    if not isinstance(payload, dict) or "error" in payload:
        return None
    if payload.get("type") == "answer" and "question" in payload:
        return "answer"
    if payload.get("type") == "article":
        return "article"
    if "url_token" in payload and "follower_count" in payload:
        return "member"
    data = payload.get("data")
    if not isinstance(data, list):
        return None
    first = next((d for d in data if isinstance(d, dict)), {})
    links = json.dumps(payload.get("paging") or {})
    if "search_result" in {d.get("type") for d in data if isinstance(d, dict)} or "object" in first:
        return "search"
    if "target" in first or first.get("type") == "answer":
        return "question_answers"
    if first.get("type") == "comment" or "comment_v5" in links:
        return (
            "child_comments"
            if "child_comment" in links or str(first.get("reply_root_comment_id") or "0") != "0"
            else "root_comments"
        )
    return None
