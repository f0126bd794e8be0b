"""SQL of SqliteStore's browsing reads: ``newest_posts``, ``author_stats``, ``cascade_sizes``.

Each read names the index it walks, chosen by the filters given:

- ``newest_posts``: a page of keys read backwards from an index in (created_at, platform,
  post_id) order (``post_topics_window`` for a topic, ``posts_sentiment`` for a label,
  ``posts_authors`` for an account, ``posts_window`` otherwise), then the page's documents by
  key; the total is a count over the same range, index-only where the filters allow.
- ``author_stats``: one GROUP BY over the window (a topic's range of ``post_topics_authors``,
  whose copies of the posts' columns it groups in index order, schema version 5), filtered
  by HAVING, sorted and cut by the database; ``count(*) OVER ()`` gives the total in the same
  pass. An author-key filter drives the loop from the keys.

Column and index names are ours; every value is a parameter. The caller holds the lock.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from crawlers.storage import _aggregate as agg
from crawlers.storage import _sql as sql
from crawlers.storage._records import batched, utc, utc_text
from crawlers.storage._sqlcounts import engagement
from crawlers.storage.base import AuthorPage, PostPage

if TYPE_CHECKING:
    from crawlers.items import AuthorKey, Post

__all__ = ["author_stats", "cascade_sizes", "newest_posts"]

_KEYS_PER_QUERY = 400  # author keys or root ids per query, well under SQLite's variable limit
_IN_TOPIC = """EXISTS (SELECT 1 FROM post_topics AS t
    WHERE t.platform = p.platform AND t.post_id = p.post_id AND t.topic = ?)"""


class _Where:
    """Conditions and their parameters, in order."""

    def __init__(self) -> None:
        self.terms: list[str] = []
        self.params: list[Any] = []

    def add(self, term: str, *values: Any) -> None:
        self.terms.append(term)
        self.params.extend(values)

    def window(self, k: str, since: datetime | None, until: datetime | None) -> None:
        if since is not None:
            self.add(f"{k}.created_at >= ?", utc_text(since))
        if until is not None:
            self.add(f"{k}.created_at < ?", utc_text(until))

    @property
    def clause(self) -> str:
        return " AND ".join(self.terms) if self.terms else "1"


def _label(where: _Where, sentiment: str | None, a: str = "p") -> None:
    if sentiment == "unscored":
        where.add(f"{a}.sentiment_label IS NULL")
    elif sentiment is not None:
        where.add(f"{a}.sentiment_label = ?", sentiment)


# -- newest_posts ---------------------------------------------------------------------------
def newest_posts(
    conn: sqlite3.Connection, *, topic: str | None, since: datetime | None,
    until: datetime | None, platform: str | None, sentiment: str | None,
    author: AuthorKey | None, offset: int, limit: int,
) -> PostPage:
    """``Store.newest_posts`` on ``conn``."""
    if since is not None and until is not None and utc(since) >= utc(until):
        return PostPage([], 0)
    where = _Where()
    if author is not None:
        k, source = "p", "posts AS p INDEXED BY posts_authors"
        where.add("p.platform = ?", author[0])
        where.add("p.author_id = ?", author[1])
        if topic is not None:
            where.add(_IN_TOPIC, topic)
    elif topic is not None:
        k = "k"
        source = "post_topics AS k INDEXED BY post_topics_window"  # the label: k's copy
        where.add("k.topic = ?", topic)
    else:
        k = "p"
        index = "posts_sentiment" if sentiment is not None else "posts_window"
        source = f"posts AS p INDEXED BY {index}"
    if platform is not None:
        where.add(f"{k}.platform = ?", platform)
    where.window(k, since, until)
    where.add(f"{k}.created_at IS NOT NULL")
    _label(where, sentiment, k)
    order = f"{k}.created_at DESC, {k}.platform DESC, {k}.post_id DESC"
    keys = f"""SELECT {k}.platform AS platform, {k}.post_id AS post_id FROM {source}
        WHERE {where.clause} ORDER BY {order} LIMIT ? OFFSET ?"""
    rows = conn.execute(sql.POSTS_OF_PAGE.format(keys=keys),
                        [*where.params, limit, offset]).fetchall()
    rows.sort(key=lambda r: (r[3], r[4], r[5]), reverse=True)
    if offset == 0 and len(rows) < limit:
        total = len(rows)  # the whole match is on this page
    else:
        (total,) = conn.execute(f"SELECT count(*) FROM {source} WHERE {where.clause}",
                                where.params).fetchone()
    posts: list[Post] = [sql.post_from_row(row) for row in rows]
    return PostPage(posts, total)


# -- author_stats ---------------------------------------------------------------------------
def _stats_columns(a: str) -> str:
    """author_stats' figures of alias ``a`` (posts or post_topics)."""
    return f"""{a}.platform AS platform, {a}.author_id AS author_id, count(*) AS n,
    sum({engagement(a)}) AS e,
    count(CASE WHEN {a}.sentiment_label = 'positive' THEN 1 END) AS pos,
    count(CASE WHEN {a}.sentiment_label = 'negative' THEN 1 END) AS neg,
    count(CASE WHEN {a}.sentiment_label = 'neutral' THEN 1 END) AS neu,
    min({a}.created_at) AS first, max({a}.created_at) AS last"""
_HAVING = {
    "negative": "neg > pos",
    "positive": "pos > neg",
    "neutral": "pos = neg AND pos + neg + neu > 0",
    "unscored": "pos + neg + neu = 0",
}
_ORDER_VALUES = {
    "posts": "n", "engagement": "e", "positive": "pos", "negative": "neg", "neutral": "neu",
    "first_at": "first", "last_at": "last", "platform": "platform",
    "net": "CASE WHEN pos + neg > 0 THEN CAST(pos - neg AS REAL) / (pos + neg) END",
}


def author_stats(
    conn: sqlite3.Connection, *, topic: str | None, since: datetime | None,
    until: datetime | None, platform: str | None, authors: Iterable[AuthorKey] | None,
    request: agg.StatsRequest, wide: bool,
) -> AuthorPage:
    """``Store.author_stats`` on ``conn``; ``wide``: the window covers most stored posts."""
    if since is not None and until is not None and utc(since) >= utc(until):
        return AuthorPage([], 0)
    if authors is not None:
        return _stats_of_authors(conn, topic=topic, since=since, until=until,
                                 platform=platform, authors=authors, request=request)
    where = _Where()
    if topic is not None:
        k = "k"
        source = "post_topics AS k INDEXED BY post_topics_authors"
        where.add("k.topic = ?", topic)
    else:
        k = "p"
        source = f"posts AS p INDEXED BY {'posts_kol' if wide else 'posts_window'}"
    if platform is not None:
        where.add(f"{k}.platform = ?", platform)
    where.window(k, since, until)
    where.add(f"{k}.author_id IS NOT NULL")
    grouped = f"""SELECT {_stats_columns(k)} FROM {source} WHERE {where.clause}
        GROUP BY {k}.platform, {k}.author_id"""
    if request.sentiment is not None:
        grouped += f" HAVING {_HAVING[request.sentiment]}"
    value = _ORDER_VALUES[request.order]
    direction = "DESC" if request.descending else "ASC"
    query = f"""SELECT platform, author_id, n, e, pos, neg, neu, first, last,
            count(*) OVER () FROM ({grouped})
        ORDER BY ({value}) IS NULL, {value} {direction}, n DESC, e DESC, platform, author_id
        LIMIT ? OFFSET ?"""
    limit = -1 if request.limit is None else request.limit
    found = conn.execute(query, [*where.params, limit, request.offset]).fetchall()
    if found:
        total = found[0][-1]
    elif request.offset == 0 and limit != 0:
        total = 0
    else:  # an empty page past the end (or of no rows): count the groups alone
        total = conn.execute(f"SELECT count(*) FROM ({grouped})", where.params).fetchone()[0]
    return AuthorPage([agg.stats_row(*row[:9]) for row in found], total)


def _stats_of_authors(
    conn: sqlite3.Connection, *, topic: str | None, since: datetime | None,
    until: datetime | None, platform: str | None, authors: Iterable[AuthorKey],
    request: agg.StatsRequest,
) -> AuthorPage:
    """``author_stats`` for given keys: each key is one range of posts_authors; the few rows
    are filtered, ordered and cut as ``_aggregate.order_stats`` says."""
    rows: list[dict[str, Any]] = []
    for chunk in batched(dict.fromkeys(tuple(key) for key in authors), _KEYS_PER_QUERY):
        where = _Where()
        if topic is not None:
            where.add(_IN_TOPIC, topic)
        if platform is not None:
            where.add("p.platform = ?", platform)
        where.window("p", since, until)
        values = ", ".join(["(?, ?)"] * len(chunk))
        query = f"""WITH a(platform, author_id) AS (VALUES {values})
            SELECT {_stats_columns("p")} FROM a CROSS JOIN posts AS p INDEXED BY posts_authors
                ON p.platform = a.platform AND p.author_id = a.author_id
            WHERE {where.clause} GROUP BY p.platform, p.author_id"""
        params = [part for key in chunk for part in key] + where.params
        rows += [agg.stats_row(*row) for row in conn.execute(query, params)]
    if request.sentiment is not None:
        rows = [r for r in rows if agg.net_class(r["positive"], r["negative"], r["neutral"])
                == request.sentiment]
    ordered = agg.order_stats(rows, request)
    end = None if request.limit is None else request.offset + request.limit
    return AuthorPage(ordered[request.offset:end], len(ordered))


# -- cascade_sizes --------------------------------------------------------------------------
def cascade_sizes(conn: sqlite3.Connection, platform: str,
                  root_post_ids: Iterable[str]) -> dict[str, int]:
    """``Store.cascade_sizes`` on ``conn``: counted on posts_root alone, less the roots that
    name themselves (a primary-key lookup each)."""
    sizes: dict[str, int] = {}
    for chunk in batched(dict.fromkeys(root_post_ids), _KEYS_PER_QUERY):
        marks = ", ".join("?" * len(chunk))
        for root, n in conn.execute(
                f"""SELECT root_post_id, count(*) FROM posts INDEXED BY posts_root
                    WHERE platform = ? AND root_post_id IN ({marks}) GROUP BY root_post_id""",
                [platform, *chunk]):
            sizes[root] = n
        for (root,) in conn.execute(
                f"""SELECT post_id FROM posts WHERE platform = ? AND post_id IN ({marks})
                    AND root_post_id = post_id""", [platform, *chunk]):
            sizes[root] -= 1
            if not sizes[root]:
                del sizes[root]
    return sizes
