"""Plumbing every platform package shares for ``tingfeng parse``: turning a pure parser into a
``fn(body: bytes, *, now, **context)`` endpoint and the "which endpoint is this?" error.

Generic only: platform quirks (charsets, JSON shapes, URL hints) stay in their platform package.
No Scrapy here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from crawlers.errors import UnexpectedPayload
from crawlers.items import Author, Post

__all__ = ["Item", "Parser", "body_parser", "unknown_endpoint"]

Item = Post | Author
Parser = Callable[..., list[Item]]
"""A pure parser ``fn(payload, *, now, **context)``, or an endpoint ``fn(body: bytes, *, now,
**context)`` made from one by :func:`body_parser`."""


def body_parser(decode: Callable[[bytes], Any], parser: Parser) -> Parser:
    """The endpoint that decodes the raw body with ``decode`` (the platform's text or JSON
    reader) and hands it to ``parser``; keeps the parser's name and docstring for ``--help``.

    >>> from datetime import UTC
    >>> def parse_len(text, *, now):
    ...     return [Post("weibo", str(len(text)))]
    >>> endpoint = body_parser(bytes.decode, parse_len)
    >>> endpoint.__name__, endpoint(b"abc", now=datetime(2026, 1, 1, tzinfo=UTC))[0].post_id
    ('parse_len', '3')
    """

    def run(body: bytes, *, now: datetime, **context: Any) -> list[Item]:
        return parser(decode(body), now=now, **context)

    run.__name__, run.__doc__ = parser.__name__, parser.__doc__
    return run


def unknown_endpoint(
    endpoints: Iterable[str], *, platform: str, url: str | None
) -> UnexpectedPayload:
    """The error a ``detect_endpoint`` raises when neither the body nor ``url`` tells, listing
    the names ``--endpoint`` accepts."""
    return UnexpectedPayload(
        "cannot tell which endpoint answered this; pass --endpoint, one of: "
        + ", ".join(endpoints),
        platform=platform,
        url=url,
    )
