"""SQL of SqliteStore's aggregates: ``post_counts``, ``author_counts``, ``tier_counts``,
``root_counts`` and ``topic_overlap`` as GROUP BY and count queries.

Only a few grouped rows reach Python. The plan for ``post_counts`` without a topic:

1. *inner*: one range of the ``posts_slots`` index (UTC hour text first), grouped by the hour
   and the shortest prefix of (sentiment_label, platform, emotion, kind) that holds ``by``, in
   index order, so SQLite needs no sort: 1,000,000 posts become hours x keys rows;
2. *outer*: each hour gets the zone offset of its stretch (a ``CASE`` over the stretch starts
   of ``_aggregate.offset_spans``) and the number of its local hour or day; rows are summed per
   (number, offset, ``by``);
3. Python turns (number, offset) into the bucket's start (``_aggregate.label_start``).

With a topic the window is one range of ``post_topics_facts``: post_topics carries copies of
the grouped columns (schema version 5), so no row is joined to posts, and the inner GROUP BY
sorts that topic's posts. For one author the window is that
author's range of ``posts_authors`` (a topic checked post by post), sorted likewise. In a zone
whose offset is not a whole number of hours (Asia/Kolkata) the slots are minutes and the inner
GROUP BY sorts too: exact, slower. Column and index names below are ours; every value is a
parameter or an int.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from crawlers.storage import _aggregate as agg
from crawlers.storage._records import utc, utc_text

if TYPE_CHECKING:
    from crawlers.items import AuthorKey

__all__ = ["author_counts", "is_narrow", "post_counts", "root_counts", "tier_counts",
           "topic_overlap"]

def engagement(a: str) -> str:
    """The summed counters of alias ``a`` (posts or post_topics: both have them)."""
    return (f"coalesce({a}.like_count, 0) + coalesce({a}.comment_count, 0)"
            f" + coalesce({a}.repost_count, 0)")

_SLOT_FIELDS = ("sentiment_label", "platform", "emotion", "kind")  # posts_slots' order
_SLOT_SUFFIX = {13: ":00:00", 16: ":00"}  # slot text + suffix = a time strftime reads
_AUTHOR_SOURCE = "posts AS p INDEXED BY posts_authors"
_IN_TOPIC = """EXISTS (SELECT 1 FROM post_topics AS t
    WHERE t.platform = p.platform AND t.post_id = p.post_id AND t.topic = ?)"""
# author_counts reads a window narrower than this share of the stored time span through
# posts_window and sorts it; a wider one through posts_authors, whole and in order.
_NARROW = 0.2


def _filters(
    k: str, *, topic: str | None, platform: str | None, since: datetime | None,
    until: datetime | None, author: AuthorKey | None = None,
) -> tuple[list[str], list[Any]]:
    where: list[str] = []
    params: list[Any] = []
    if author is not None:  # k is "p": the topic is checked post by post
        where += ["p.platform = ?", "p.author_id = ?"]
        params += [author[0], author[1]]
    for condition, value in (
        (_IN_TOPIC if author is not None else "k.topic = ?", topic),
        (f"{k}.platform = ?", platform),
        (f"{k}.created_at >= ?", utc_text(since) if since else None),
        (f"{k}.created_at < ?", utc_text(until) if until else None),
    ):
        if value is not None:
            where.append(condition)
            params.append(value)
    return where, params


def _data_range(conn: sqlite3.Connection) -> tuple[datetime, datetime] | None:
    """First and last stored created_at (two index lookups), or None if no post is dated."""
    lo, hi = conn.execute("""SELECT (SELECT min(created_at) FROM posts),
                                    (SELECT max(created_at) FROM posts)""").fetchone()
    if lo is None:
        return None
    return datetime.fromisoformat(lo), datetime.fromisoformat(hi)


def post_counts(
    conn: sqlite3.Connection, request: agg.CountRequest, *, topic: str | None,
    platform: str | None, author: AuthorKey | None = None,
) -> list[dict[str, Any]]:
    """``Store.post_counts`` on ``conn`` (the caller holds the store's lock)."""
    if request.empty:
        return []
    groups: list[tuple[agg.GroupKey, int, int]] = []
    lo, hi = request.since, request.until
    if request.bucket and (lo is None or hi is None):
        # Offset stretches need both ends: an open end is the first or last stored post.
        stored = _data_range(conn)
        if stored is None:
            lo = hi = None
        else:
            lo, hi = lo or stored[0], hi or stored[1]
    if not request.bucket or (lo is not None and hi is not None and lo <= hi):
        groups += _dated(conn, request, topic=topic, platform=platform, lo=lo, hi=hi,
                         author=author)
    if not request.bounded:
        groups += _undated(conn, request, topic=topic, platform=platform, author=author)
    return agg.count_rows(groups, request)


def _dated(
    conn: sqlite3.Connection, request: agg.CountRequest, *, topic: str | None,
    platform: str | None, lo: datetime | None, hi: datetime | None,
    author: AuthorKey | None = None,
) -> list[tuple[agg.GroupKey, int, int]]:
    spans: list[tuple[datetime, int]] = []
    slot = 13
    if request.bucket and lo is not None and hi is not None:
        spans = agg.offset_spans(request.zone, lo, hi)
        slot = agg.slot_length(spans, request.zone.key)
    k = "k" if topic is not None and author is None else "p"
    where, params = _filters(k, topic=topic, platform=platform, since=request.since,
                             until=request.until, author=author)
    slots = topic is None and author is None
    if author is not None:
        source = _AUTHOR_SOURCE
    elif slots:
        source = "posts AS p INDEXED BY posts_slots"
        # The hour range of the index, so the scan starts and stops at the window's edges.
        for condition, value in (("substr(p.created_at, 1, 13) >= ?", request.since),
                                 ("substr(p.created_at, 1, 13) <= ?", request.until)):
            if value is not None:
                where.append(condition)
                params.append(utc_text(value)[:13])
    else:
        source = "post_topics AS k INDEXED BY post_topics_window"
    where.append(f"{k}.created_at IS NOT NULL")
    if slots:  # group on a prefix of posts_slots, in index order
        depth = max((_SLOT_FIELDS.index(name) + 1 for name in request.by), default=0)
        fields = _SLOT_FIELDS[:depth]
    else:  # a topic's (or author's) posts come in another order and are sorted anyway
        fields = request.by
    inner_keys = [f"{k}.{name}" for name in fields]
    slot_expr = f"substr({k}.created_at, 1, {slot})"
    columns = "".join(f"{k}.{name} AS {name}, " for name in fields)
    inner = f"""SELECT {slot_expr} AS slot, {columns}count(*) AS n, sum({engagement(k)}) AS e
        FROM {source} WHERE {" AND ".join(where)}
        GROUP BY {", ".join([slot_expr, *inner_keys])}"""
    keys = list(request.by)
    key_list = "".join(f", {name}" for name in keys)
    if request.bucket:
        seconds = f"CAST(strftime('%s', slot || '{_SLOT_SUFFIX[slot]}') AS INTEGER)"
        offset = _offset_case(spans)
        query = f"""SELECT (s + off + {agg.BIAS}) / {request.size} AS label, off{key_list},
                sum(n), sum(e)
            FROM (SELECT {seconds} AS s, {offset.format(s=seconds)} AS off, * FROM ({inner}))
            GROUP BY label, off{key_list}"""
    else:
        group = f" GROUP BY {', '.join(keys)}" if keys else ""
        query = f"SELECT NULL, 0{key_list}, sum(n), sum(e) FROM ({inner}){group}"
    out = []
    for label, off, *values, n, e in conn.execute(query, params):
        if n:  # an aggregate with no GROUP BY gives one row even over no posts
            start = agg.label_start(label - agg.BIAS // request.size, off, request) \
                if request.bucket else None
            out.append(((start, tuple(values)), n, e))
    return out


def _offset_case(spans: list[tuple[datetime, int]]) -> str:
    """The zone offset (seconds) of the slot starting at epoch second {s}: a CASE over the
    starts of the spans after the first (ints we computed, not input)."""
    if len(spans) == 1:
        return str(spans[0][1])
    branches = " ".join(
        f"WHEN {{s}} < {int(start.timestamp())} THEN {offset}"
        for (_, offset), (start, _) in zip(spans, spans[1:], strict=False)
    )
    return f"CASE {branches} ELSE {spans[-1][1]} END"


def _undated(
    conn: sqlite3.Connection, request: agg.CountRequest, *, topic: str | None,
    platform: str | None, author: AuthorKey | None = None,
) -> list[tuple[agg.GroupKey, int, int]]:
    k = "k" if topic is not None and author is None else "p"
    source = _AUTHOR_SOURCE if author is not None else (
        "post_topics AS k INDEXED BY post_topics_window" if topic is not None else "posts AS p")
    where, params = _filters(k, topic=topic, platform=platform, since=None, until=None,
                             author=author)
    where.append(f"{k}.created_at IS NULL")
    keys = [f"{k}.{name}" for name in request.by]
    select = "".join(f"{key}, " for key in keys)
    group = f" GROUP BY {', '.join(keys)}" if keys else ""
    query = f"""SELECT {select}count(*), sum({engagement(k)}) FROM {source}
        WHERE {" AND ".join(where)}{group}"""
    return [((None, tuple(values)), n, e)
            for *values, n, e in conn.execute(query, params) if n]


def _per_author(conn: sqlite3.Connection, *, topic: str | None, since: datetime | None,
                until: datetime | None, platform: str | None) -> tuple[str, list[Any]]:
    """The window's posts per author (platform, author_id, n, e), unordered, and its
    parameters: a topic's range of post_topics_authors grouped in index order, else posts."""
    k = "k" if topic is not None else "p"
    where, params = _filters(k, topic=topic, platform=platform, since=since, until=until)
    where.append(f"{k}.author_id IS NOT NULL")
    if topic is not None:
        source = "post_topics AS k INDEXED BY post_topics_authors"
    else:
        index = "posts_window" if is_narrow(conn, since, until) else "posts_authors"
        source = f"posts AS p INDEXED BY {index}"
    query = f"""SELECT {k}.platform AS platform, {k}.author_id AS author_id, count(*) AS n,
            sum({engagement(k)}) AS e
        FROM {source} WHERE {" AND ".join(where)}
        GROUP BY {k}.platform, {k}.author_id"""
    return query, params


def author_counts(
    conn: sqlite3.Connection, *, topic: str | None, since: datetime | None,
    until: datetime | None, platform: str | None, limit: int | None,
) -> list[dict[str, Any]]:
    """``Store.author_counts`` on ``conn`` (the caller holds the store's lock)."""
    if since is not None and until is not None and utc(since) >= utc(until):
        return []
    query, params = _per_author(conn, topic=topic, since=since, until=until, platform=platform)
    query += " ORDER BY n DESC, e DESC, platform, author_id"
    if limit is not None:
        query += " LIMIT ?"
        params.append(limit)
    return agg.author_rows(conn.execute(query, params))


_STORED_TIER = "NULLIF(json_extract(a.doc, '$.tier'), '')"
_FOLLOWERS = "json_extract(a.doc, '$.followers')"
_UPVOTES = """CASE WHEN json_type(a.extra, '$.voteup_count') = 'integer'
    AND json_extract(a.extra, '$.voteup_count') >= 0
    THEN json_extract(a.extra, '$.voteup_count') ELSE 0 END"""


def _ladder(cut: dict[str, Any]) -> tuple[str, list[Any]]:
    """One platform's tier from its measure and bounds (``_aggregate.account_tier``)."""
    if cut["measure"] == "reads":
        return "'unknown'", []
    measure = _UPVOTES if cut["measure"] == "upvotes" else f"coalesce({_FOLLOWERS}, 0)"
    steps = " ".join(f"WHEN {measure} >= ? THEN '{name}'" for name in agg.CUT_NAMES)
    return f"CASE {steps} ELSE 'amateur' END", [cut[name] for name in agg.CUT_NAMES]


def tier_counts(
    conn: sqlite3.Connection, *, topic: str | None, since: datetime | None,
    until: datetime | None, platform: str | None, cutoffs: dict[str, dict[str, Any]],
) -> list[dict[str, Any]]:
    """``Store.tier_counts`` on ``conn``: the window's posts per author, joined to authors
    and tiered by a CASE over the checked ``cutoffs`` (platform names and bounds are
    parameters), then counted per tier: a few rows leave the database."""
    if since is not None and until is not None and utc(since) >= utc(until):
        return []
    grouped, where_params = _per_author(conn, topic=topic, since=since, until=until,
                                        platform=platform)
    branches, params = [], []
    for name, cut in cutoffs.items():
        if name != "forum":
            ladder, bounds = _ladder(cut)
            branches.append(f"WHEN g.platform = ? THEN {ladder}")
            params += [name, *bounds]
    default, bounds = _ladder(cutoffs["forum"]) if "forum" in cutoffs else ("'unknown'", [])
    params += bounds
    computed = f"CASE {' '.join(branches)} ELSE {default} END" if branches else default
    tier = f"""CASE WHEN a.platform IS NULL THEN 'unknown'
        WHEN {_STORED_TIER} IS NOT NULL THEN {_STORED_TIER}
        WHEN {_FOLLOWERS} IS NULL THEN 'unknown'
        ELSE {computed} END"""
    query = f"""SELECT tier, count(*), sum(n) FROM (
            SELECT g.n AS n, {tier} AS tier FROM ({grouped}) AS g LEFT JOIN authors AS a
                ON a.platform = g.platform AND a.author_id = g.author_id)
        GROUP BY tier ORDER BY tier"""
    return [{"tier": str(t), "accounts": a, "posts": n}
            for t, a, n in conn.execute(query, [*params, *where_params])]


def root_counts(
    conn: sqlite3.Connection, *, topic: str | None, since: datetime | None,
    until: datetime | None, platform: str | None, limit: int | None,
) -> list[dict[str, Any]]:
    """``Store.root_counts`` on ``conn``: a topic's window from ``post_topics_roots`` (its
    copies of the roots), else from posts; grouped in SQL."""
    if limit == 0 or (since is not None and until is not None and utc(since) >= utc(until)):
        return []
    k = "k" if topic is not None else "p"
    where, params = _filters(k, topic=topic, platform=platform, since=since, until=until)
    source = "post_topics AS k INDEXED BY post_topics_window" if topic is not None \
        else "posts AS p"
    query = f"""SELECT {k}.platform, coalesce({k}.root_post_id, {k}.post_id) AS root,
            count(*) AS n
        FROM {source} {"WHERE " + " AND ".join(where) if where else ""}
        GROUP BY {k}.platform, root ORDER BY n DESC, {k}.platform, root"""
    if limit is not None:
        query += " LIMIT ?"
        params.append(limit)
    return [{"platform": p, "root_post_id": r, "posts": n}
            for p, r, n in conn.execute(query, params)]


def is_narrow(conn: sqlite3.Connection, since: datetime | None, until: datetime | None) -> bool:
    """Whether [since, until) covers under ``_NARROW`` of the stored time span."""
    if since is None and until is None:
        return False
    stored = _data_range(conn)
    if stored is None:
        return True
    first, last = stored
    span = (last - first).total_seconds()
    lo = max(utc(since), first) if since else first
    hi = min(utc(until), last) if until else last
    return span <= 0 or (hi - lo).total_seconds() < _NARROW * span


# topic_overlap: the topic's window is one range of post_topics_window (covering, no table
# read); for each of its rows, the post's other topic rows are the primary key's range
# (platform, post_id), read whole (a post has a few topics) and checked against the others.
# The ``+`` before ``o.topic`` keeps SQLite from seeking the primary key once per other topic
# instead (19 seeks a post for 20 monitors: 0.8 s instead of 0.2 s on a monitor's 100,000
# posts). The others arrive as one JSON array parameter, so any number fits in one statement.
_OVERLAP = """SELECT count(*) FROM post_topics AS k INDEXED BY post_topics_window
    WHERE {where} AND EXISTS (
        SELECT 1 FROM post_topics AS o
        WHERE o.platform = k.platform AND o.post_id = k.post_id
            AND +o.topic IN (SELECT value FROM json_each(?)))"""


def topic_overlap(conn: sqlite3.Connection, topic: str, others: Iterable[str], *,
                  since: datetime | None, until: datetime | None) -> int:
    """``Store.topic_overlap`` on ``conn`` (the caller holds the store's lock). Either bound
    leaves out the undated posts (NULL compares false), as posts() does."""
    wanted = sorted(set(others) - {topic})
    if not wanted or (since is not None and until is not None and utc(since) >= utc(until)):
        return 0
    where, params = _filters("k", topic=topic, platform=None, since=since, until=until)
    params.append(json.dumps(wanted, ensure_ascii=False))
    (n,) = conn.execute(_OVERLAP.format(where=" AND ".join(where)), params).fetchone()
    return int(n)
