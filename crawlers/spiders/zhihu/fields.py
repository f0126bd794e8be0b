"""Zhihu field helpers shared by the content and comment parsers: HTML → text, unix times,
member objects → Author, paging. Pure functions; no Scrapy, no I/O."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from lxml import html as lxml_html

from crawlers.errors import UnexpectedPayload
from crawlers.items import Author, Post

from .urls import PLATFORM

__all__ = [
    "author_of",
    "by",
    "data_list",
    "html_text",
    "next_page",
    "region",
    "to_int",
    "unix_time",
    "unique",
]

_GENDER = {1: "m", 0: "f"}
_BLOCK = frozenset("p div br li h1 h2 h3 h4 h5 h6 blockquote figure figcaption pre tr".split())


def unix_time(value: Any) -> datetime | None:
    """Aware UTC datetime from Zhihu's unix seconds (``created_time``); None when absent."""
    try:
        seconds = int(value)
    except (TypeError, ValueError):
        return None
    return datetime.fromtimestamp(seconds, tz=UTC) if seconds > 0 else None


def to_int(value: Any) -> int | None:
    """Counts are JSON integers; anything else (missing, null, bool) is None."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def html_text(fragment: Any) -> str:
    """Plain text of Zhihu's HTML content (answers, articles, comments, ``<em>`` highlights):
    block elements become line breaks, whitespace is tidied, empty lines dropped."""
    if not fragment:
        return ""
    out: list[str] = []

    def walk(node: Any) -> None:
        tag = node.tag if isinstance(node.tag, str) else ""
        block = tag in _BLOCK
        if block:
            out.append("\n")
        if tag not in ("script", "style") and node.text:
            out.append(node.text)
        for child in node:
            walk(child)
            if child.tail:
                out.append(child.tail)
        if block:
            out.append("\n")

    walk(lxml_html.fragment_fromstring(str(fragment), create_parent="div"))
    lines = (" ".join(line.replace("\xa0", " ").split()) for line in "".join(out).splitlines())
    return "\n".join(line for line in lines if line)


def region(label: Any) -> str | None:
    """'IP 属地浙江' → '浙江'."""
    text = str(label or "").replace("IP 属地", "").replace("IP属地", "").strip()
    return text or None


def _member(obj: Any) -> dict[str, Any] | None:
    if not isinstance(obj, dict):
        return None
    if not obj.get("id") and isinstance(obj.get("member"), dict):
        obj = obj["member"]  # the older comment API wraps the author: {"member": {...}, "role": …}
    return obj


def _anonymous(member: dict[str, Any] | None) -> bool:
    return not member or str(member.get("id") or "0") == "0"


def author_of(obj: Any) -> Author | None:
    """An Author from a member object (content author, comment author or /members answer)."""
    member = _member(obj)
    if member is None or _anonymous(member):
        return None
    token = member.get("url_token") or None
    answers, articles = to_int(member.get("answer_count")), to_int(member.get("articles_count"))
    badges = member.get("badge") if isinstance(member.get("badge"), list) else None
    return Author(
        PLATFORM,
        str(member["id"]),
        name=member.get("name"),
        url=f"https://www.zhihu.com/people/{token}" if token else None,
        followers=to_int(member.get("follower_count")),
        following=to_int(member.get("following_count")),
        posts=answers + articles if answers is not None and articles is not None else None,
        verified=bool(badges) if badges is not None else None,
        verified_reason=(badges[0].get("description") if badges else None),
        description=member.get("description") or member.get("headline") or None,
        region=region(member.get("ip_info")),
        gender=_GENDER.get(member.get("gender")),  # type: ignore[arg-type]
        extra={
            k: member.get(k)
            for k in (
                "url_token",
                "headline",
                "voteup_count",
                "answer_count",
                "articles_count",
                "question_count",
                "is_org",
                "avatar_url",
            )
            if member.get(k) not in (None, "")
        },
    )


def by(obj: Any) -> tuple[str | None, str | None]:
    """(author_id, author_name) of a member object; the id is None for anonymous authors."""
    member = _member(obj)
    if member is None:
        return None, None
    return (None if _anonymous(member) else str(member["id"])), member.get("name")


def unique(items: list[Post | Author]) -> list[Post | Author]:
    """First occurrence of each record (a question's thread repeats with each of its answers)."""
    seen: set[tuple[str, str]] = set()
    out: list[Post | Author] = []
    for item in items:
        key = (type(item).__name__, item.key[1])
        if key not in seen:
            seen.add(key)
            out.append(item)
    return out


def data_list(payload: Any, what: str) -> list[Any]:
    """``payload["data"]`` when it is a list.

    :raises UnexpectedPayload: naming the endpoint and the keys that were there instead.
    """
    data = payload.get("data") if isinstance(payload, dict) else None
    if not isinstance(data, list):
        keys = sorted(payload)[:8] if isinstance(payload, dict) else type(payload).__name__
        raise UnexpectedPayload(f"{what}: no data list (got {keys})", platform=PLATFORM)
    return data


def next_page(payload: Any) -> str | None:
    """``paging.next`` unless ``paging.is_end``; None at the end or without paging."""
    paging = payload.get("paging") if isinstance(payload, dict) else None
    if not isinstance(paging, dict) or paging.get("is_end") is not False:
        return None
    return paging.get("next") or None
