"""Zhihu API URLs (real ones; the base spider rebases them for tests). No I/O."""

from __future__ import annotations

from urllib.parse import quote

__all__ = [
    "API",
    "PLATFORM",
    "answers_url",
    "article_url",
    "child_comments_url",
    "feeds_url",
    "member_url",
    "root_comments_url",
    "search_url",
]

PLATFORM = "zhihu"
API = "https://www.zhihu.com/api/v4"
_ANSWER_INCLUDE = quote(
    "data[*].content,excerpt,voteup_count,comment_count,created_time,updated_time,question,author.follower_count"
)
_MEMBER_INCLUDE = (
    "follower_count,following_count,voteup_count,answer_count,articles_count,question_count,"
    "ip_info,description,badge,gender,headline"
)


def search_url(keyword: str, page: int = 1, limit: int = 20) -> str:
    """search_v3, general results (answers, articles, questions), ``limit`` per page."""
    offset = (page - 1) * limit
    return (
        f"{API}/search_v3?gk_version=gz-gaokao&t=general&q={quote(keyword)}&correction=1"
        f"&offset={offset}&limit={limit}&filter_fields=&lc_idx={offset}&show_all_topics=0&search_source=Normal"
    )


def feeds_url(question_id: str | int, offset: int = 0, limit: int = 5) -> str:
    """A question's answers as the web client pages them (``/feeds``; later pages: paging.next)."""
    return (
        f"{API}/questions/{question_id}/feeds?include={_ANSWER_INCLUDE}&limit={limit}&offset={offset}"
        "&order=default&platform=desktop"
    )


def answers_url(question_id: str | int, offset: int = 0, limit: int = 20) -> str:
    """The older answer list of a question (same answer objects, no ``target`` wrapper)."""
    return (
        f"{API}/questions/{question_id}/answers?include={_ANSWER_INCLUDE}&limit={limit}&offset={offset}"
        "&platform=desktop&sort_by=default"
    )


def root_comments_url(kind: str, content_id: str | int, offset: str = "", limit: int = 20) -> str:
    """comment_v5 root comments of an ``answer`` or ``article``."""
    query = f"order_by=score&limit={limit}&offset={offset}"
    return f"{API}/comment_v5/{kind}s/{content_id}/root_comment?{query}"


def child_comments_url(comment_id: str | int, offset: str = "", limit: int = 20) -> str:
    """comment_v5 replies under one root comment, oldest first."""
    query = f"order_by=ts&limit={limit}&offset={offset}"
    return f"{API}/comment_v5/comment/{comment_id}/child_comment?{query}"


def member_url(url_token: str) -> str:
    """A member's profile with the counts influence scoring needs."""
    return f"{API}/members/{quote(url_token)}?include={_MEMBER_INCLUDE}"


def article_url(article_id: str | int) -> str:
    """One column article."""
    return f"{API}/articles/{article_id}"
