"""RSS 0.9x/1.0/2.0 and Atom feeds of any forum or news site, read with feedparser.

Why feedparser rather than our own XML code: it normalises every RSS version and Atom into one
shape, parses the dozen date formats feeds use in the wild, detects encodings (GBK feeds
included), tolerates the malformed XML many CMSs emit (``bozo``) and sanitises entry HTML.

Kinds: an entry whose link is a Discuz! thread (``viewthread&tid=`` or ``thread-<tid>-``, as in
``forum.php?mod=rss`` feeds) is that thread, kind "thread", id ``<site>:t<tid>``, the same id the
HTML and API parsers give it, so a feed and a board crawl of one site merge. Every other entry
is kind "article", id ``<site>:a<sha1(entry id or link)[:16]>``. No Scrapy here.
"""

from __future__ import annotations

import calendar
import hashlib
import io
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import feedparser

from crawlers.errors import UnexpectedPayload
from crawlers.items import Post

from .common import PLATFORM, html_text, join_title, post_key

__all__ = ["entry_key", "feed_site", "parse_feed"]

_REWRITTEN_THREAD = re.compile(r"/thread-(\d+)-\d+-\d+\.html$")


def feed_site(url: str | None) -> str:
    """The site name of an ad-hoc feed: its host (``bbs.example.com``), or "feed" when unknown."""
    host = urlsplit(url or "").hostname
    return host or "feed"


def entry_key(site: str, entry_id: str) -> str:
    """``<site>:a`` + the first 16 hex digits of sha1(entry id): stable and short.

    >>> entry_key("news.example.org", "tag:news.example.org,2024:1")[:18]
    'news.example.org:a'
    """
    return post_key(site, "a", hashlib.sha1(entry_id.encode("utf-8")).hexdigest()[:16])


def _when(entry: Any) -> datetime | None:
    # feedparser normalises every feed date to a UTC struct_time (a zone-less date counts as UTC).
    parsed = (
        entry.get("published_parsed") or entry.get("updated_parsed") or entry.get("created_parsed")
    )
    return datetime.fromtimestamp(calendar.timegm(parsed), tz=UTC) if parsed else None


def _thread_tid(link: str | None) -> str | None:
    """The tid when ``link`` is a Discuz! thread: ``forum.php?mod=viewthread&tid=`` or the
    rewritten ``thread-<tid>-<page>-<n>.html``."""
    parts = urlsplit(link or "")
    query = parse_qs(parts.query)
    if query.get("mod") == ["viewthread"] and query.get("tid"):
        return query["tid"][0]
    m = _REWRITTEN_THREAD.search(parts.path)
    return m.group(1) if m else None


def parse_feed(
    body: bytes | str,
    *,
    now: datetime,
    site: str | None = None,
    feed_url: str | None = None,
    content_type: str | None = None,
) -> list[Post]:
    """Entries of an RSS or Atom document as posts (see the module docstring for kinds and ids).

    ``text`` is title + the entry's content (or summary) with HTML stripped; ``author_name``
    comes from the entry (feeds carry no author ids). ``now`` is unused (feed dates are absolute)
    and kept for the parser signature every platform shares.

    :raises UnexpectedPayload: when the body is not a feed (no version and no entries).
    """
    headers = {"content-type": content_type} if content_type else None
    raw = body.encode("utf-8") if isinstance(body, str) else body
    # A stream, never bytes or str: feedparser fetches a str that looks like a URL and opens
    # one that names a local file, and a crawled body is untrusted.
    parsed = feedparser.parse(io.BytesIO(raw), response_headers=headers)
    if not parsed.get("version") and not parsed.entries:
        reason = parsed.get("bozo_exception")
        raise UnexpectedPayload(
            f"not an RSS/Atom feed ({reason or 'no <rss>, <feed> or <rdf:RDF>'})", platform=PLATFORM
        )
    channel = parsed.feed
    site = site or feed_site(feed_url or channel.get("link"))
    out: list[Post] = []
    for entry in parsed.entries:
        link = entry.get("link")
        ident = entry.get("id") or link or entry.get("title")
        if not ident:
            continue
        title = html_text(entry.get("title")) or None
        contents = entry.get("content") or []
        body_html = contents[0].get("value") if contents else entry.get("summary")
        tid = _thread_tid(link)
        extra: dict[str, Any] = {
            "site": site,
            "feed": feed_url,
            "feed_title": channel.get("title"),
            "tags": [t.get("term") for t in entry.get("tags", []) if t.get("term")],
        }
        if tid:
            post_id, kind = post_key(site, "t", tid), "thread"
            extra["tid"] = tid
        else:
            post_id, kind = entry_key(site, ident), "article"
            extra["entry_id"] = ident
        out.append(
            Post(
                PLATFORM,
                post_id,
                kind=kind,
                title=title,
                text=join_title(title, html_text(body_html)),
                created_at=_when(entry),
                url=link,
                author_name=entry.get("author") or None,
                extra=extra,
            )
        )
    return out
