"""SQL of SqliteStore: schema (version in PRAGMA user_version), statements, and the row shapes
they read and write. Kept apart from sqlite.py so the store's logic reads on its own.
"""

from __future__ import annotations

import json
from typing import Any

from crawlers.errors import IntegrityError
from crawlers.items import Author, Post, ScoreInput, from_dict
from crawlers.storage._records import describe, json_text, record_doc

__all__ = [
    "SCHEMA",
    "SCHEMA_VERSION",
    "author_from_row",
    "author_rows",
    "post_from_row",
    "post_rows",
]

SCHEMA_VERSION = 5

# Datetime columns hold fixed-width UTC ISO text ('2024-01-02T03:04:05.000000+00:00'), so text
# order is time order. `doc` is the record as JSON without None fields; posts and authors keep
# `extra` in a column of its own so an unchanged extra costs one text comparison on upsert.
SCHEMA = (
    """CREATE TABLE IF NOT EXISTS posts (
        platform TEXT NOT NULL,
        post_id TEXT NOT NULL,
        created_at TEXT,
        kind TEXT,
        root_post_id TEXT,
        sentiment_model TEXT,
        doc TEXT NOT NULL,
        extra TEXT NOT NULL DEFAULT '{}',
        PRIMARY KEY (platform, post_id))""",
    "CREATE INDEX IF NOT EXISTS posts_window ON posts (created_at, platform, post_id)",
    "CREATE INDEX IF NOT EXISTS posts_root ON posts (platform, root_post_id)",
    # Topic membership; created_at is copied here so a topic window is one index range scan.
    """CREATE TABLE IF NOT EXISTS post_topics (
        platform TEXT NOT NULL,
        post_id TEXT NOT NULL,
        topic TEXT NOT NULL,
        created_at TEXT,
        PRIMARY KEY (platform, post_id, topic)) WITHOUT ROWID""",
    """CREATE INDEX IF NOT EXISTS post_topics_window
        ON post_topics (topic, created_at, platform, post_id)""",
    """CREATE TRIGGER IF NOT EXISTS posts_created_at_moved
        AFTER UPDATE OF created_at ON posts WHEN old.created_at IS NOT new.created_at
        BEGIN
            UPDATE post_topics SET created_at = new.created_at
            WHERE platform = new.platform AND post_id = new.post_id;
        END""",
    """CREATE TABLE IF NOT EXISTS authors (
        platform TEXT NOT NULL,
        author_id TEXT NOT NULL,
        doc TEXT NOT NULL,
        extra TEXT NOT NULL DEFAULT '{}',
        PRIMARY KEY (platform, author_id))""",
    """CREATE TABLE IF NOT EXISTS runs (
        run_id TEXT PRIMARY KEY, platform TEXT, topic TEXT, kind TEXT, started_at TEXT,
        doc TEXT NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS runs_started ON runs (started_at)",
    """CREATE TABLE IF NOT EXISTS alerts (
        alert_id TEXT PRIMARY KEY, monitor TEXT, status TEXT, created_at TEXT,
        doc TEXT NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS alerts_created ON alerts (created_at)",
    "CREATE TABLE IF NOT EXISTS monitors (name TEXT PRIMARY KEY, doc TEXT NOT NULL)",
)

# Steps from the previous version, run on new and old databases alike (so both reach the same
# schema by the same path). Version 2, for post_counts / author_counts: the fields they group
# and sum, copied out of `doc` into columns (json_extract would parse every document on every
# query), and two covering indexes, so neither aggregate reads the table:
# - posts_slots: the UTC hour of created_at first, then the grouping fields. A window is one
#   range of it, and a GROUP BY of (hour, sentiment_label[, platform[, emotion[, kind]]]) runs in
#   index order with no sort: 1,000,000 posts become at most 24 rows per day and key before the
#   hours are folded into local days (250 instead of 800 CPU-ms for a sorted GROUP BY).
# - posts_authors: (platform, author_id) first, for author_counts over wide windows.
# Writes pay for them: about 21,000 upserted posts per CPU-second instead of 31,000-35,000,
# mostly posts_authors (its entries land all over the index, not at the end).
# Upgrading a version-1 file copies the fields once, on first open (11 CPU-seconds, 32 s wall
# on a busy 2-CPU machine, per 1,000,000 posts).
MIGRATIONS: dict[int, tuple[str, ...]] = {
    2: (
        "ALTER TABLE posts ADD COLUMN author_id TEXT",
        "ALTER TABLE posts ADD COLUMN sentiment_label TEXT",
        "ALTER TABLE posts ADD COLUMN emotion TEXT",
        "ALTER TABLE posts ADD COLUMN like_count INTEGER",
        "ALTER TABLE posts ADD COLUMN comment_count INTEGER",
        "ALTER TABLE posts ADD COLUMN repost_count INTEGER",
        """UPDATE posts SET
            author_id = json_extract(doc, '$.author_id'),
            sentiment_label = json_extract(doc, '$.sentiment_label'),
            emotion = json_extract(doc, '$.emotion'),
            like_count = json_extract(doc, '$.like_count'),
            comment_count = json_extract(doc, '$.comment_count'),
            repost_count = json_extract(doc, '$.repost_count')""",
        """CREATE INDEX IF NOT EXISTS posts_slots ON posts (substr(created_at, 1, 13),
            sentiment_label, platform, emotion, kind, created_at,
            like_count, comment_count, repost_count)""",
        """CREATE INDEX IF NOT EXISTS posts_authors ON posts (platform, author_id, created_at,
            like_count, comment_count, repost_count)""",
    ),
    # Version 3, for newest_posts and author_stats (the web app's post browser, KOL table and
    # account pages), measured on 1,000,000 posts over 20 topics:
    # - posts_kol: the primary key, then everything author_stats reads. A topic's posts come
    #   from post_topics and are looked up here by key without touching the table: a KOL
    #   table over one topic's 100,000 posts in 560 instead of 800 ms, a count of its negative
    #   posts in 175 instead of 370 ms. Its entries follow the primary key, so writes barely
    #   notice it.
    # - posts_sentiment: newest posts of one label without a topic, one backward range (the
    #   count of 200,000 negative posts: index-only instead of 1 s of table lookups).
    # Building both on an existing file of 1,000,000 posts takes a few seconds, on first open.
    3: (
        """CREATE INDEX IF NOT EXISTS posts_kol ON posts (platform, post_id, author_id,
            sentiment_label, created_at, like_count, comment_count, repost_count)""",
        """CREATE INDEX IF NOT EXISTS posts_sentiment ON posts (sentiment_label, created_at,
            platform, post_id)""",
    ),
    # Version 4, a monitor's events (stories) kept across runs (Store.save_events / events).
    # `active_at` is last_at, or updated_at for an undated event: the `since` of events() is one
    # range of events_active. Members get a table of their own (a story of 100,000 posts is
    # not one JSON text rewritten on every run): a new member is one INSERT OR IGNORE, and the
    # UNIQUE key keeps a post in the first event that claimed it (and reads members back
    # in key order).
    4: (
        """CREATE TABLE IF NOT EXISTS events (
            monitor TEXT NOT NULL,
            event_id TEXT NOT NULL,
            active_at TEXT NOT NULL,
            size INTEGER NOT NULL,
            doc TEXT NOT NULL,
            PRIMARY KEY (monitor, event_id))""",
        "CREATE INDEX IF NOT EXISTS events_active ON events (monitor, active_at)",
        """CREATE TABLE IF NOT EXISTS event_members (
            monitor TEXT NOT NULL,
            platform TEXT NOT NULL,
            post_id TEXT NOT NULL,
            event_id TEXT NOT NULL,
            UNIQUE (monitor, platform, post_id))""",
        "CREATE INDEX IF NOT EXISTS event_members_event ON event_members (monitor, event_id)",
    ),
    # Version 5, a topic's aggregates without the join (the web app's dashboard, KOL table and
    # cascades on one monitor's 100,000 posts): post_topics carries copies of the post's
    # grouped and summed columns, so a topic's GROUP BY reads one covering index of
    # post_topics instead of joining each of its rows to posts by key. ``FACT_COLUMNS`` lists
    # them; a trigger keeps them equal to the post's (an upsert, a rescoring), and ADD_TOPIC
    # copies them from the stored post. Three indexes, one per kind of aggregate:
    # - post_topics_facts: window first, for post_counts and fingerprints of a topic;
    # - post_topics_authors: (topic, platform, author_id), for author_stats and author_counts,
    #   grouped in index order with no sort;
    # - post_topics_roots: (topic, platform, root_post_id), for root_counts.
    # Upgrading copies the columns once, on first open (bench/bench_store.py prints the cost).
    5: (
        *(f"ALTER TABLE post_topics ADD COLUMN {name} {kind}"
          for name, kind in (("author_id", "TEXT"), ("sentiment_label", "TEXT"),
                             ("emotion", "TEXT"), ("kind", "TEXT"), ("root_post_id", "TEXT"),
                             ("like_count", "INTEGER"), ("comment_count", "INTEGER"),
                             ("repost_count", "INTEGER"))),
        """UPDATE post_topics SET (author_id, sentiment_label, emotion, kind, root_post_id,
                like_count, comment_count, repost_count) = (
            SELECT p.author_id, p.sentiment_label, p.emotion, p.kind, p.root_post_id,
                p.like_count, p.comment_count, p.repost_count
            FROM posts AS p
            WHERE p.platform = post_topics.platform AND p.post_id = post_topics.post_id)""",
        "DROP TRIGGER IF EXISTS posts_created_at_moved",
        """CREATE TRIGGER IF NOT EXISTS posts_topic_facts
            AFTER UPDATE OF created_at, author_id, sentiment_label, emotion, kind, root_post_id,
                like_count, comment_count, repost_count ON posts
            WHEN old.created_at IS NOT new.created_at OR old.author_id IS NOT new.author_id
                OR old.sentiment_label IS NOT new.sentiment_label
                OR old.emotion IS NOT new.emotion OR old.kind IS NOT new.kind
                OR old.root_post_id IS NOT new.root_post_id
                OR old.like_count IS NOT new.like_count
                OR old.comment_count IS NOT new.comment_count
                OR old.repost_count IS NOT new.repost_count
            BEGIN
                UPDATE post_topics SET created_at = new.created_at, author_id = new.author_id,
                    sentiment_label = new.sentiment_label, emotion = new.emotion,
                    kind = new.kind, root_post_id = new.root_post_id,
                    like_count = new.like_count, comment_count = new.comment_count,
                    repost_count = new.repost_count
                WHERE platform = new.platform AND post_id = new.post_id;
            END""",
        "DROP INDEX IF EXISTS post_topics_window",
        """CREATE INDEX IF NOT EXISTS post_topics_window ON post_topics (topic, created_at,
            platform, post_id, author_id, sentiment_label, emotion, kind, root_post_id,
            like_count, comment_count, repost_count)""",
        """CREATE INDEX IF NOT EXISTS post_topics_authors ON post_topics (topic, platform,
            author_id, created_at, sentiment_label, like_count, comment_count, repost_count)""",
    ),
}

# The post's columns post_topics copies (schema version 5), in ADD_TOPIC's order.
FACT_COLUMNS = ("created_at", "author_id", "sentiment_label", "emotion", "kind",
                "root_post_id", "like_count", "comment_count", "repost_count")

# One json_each row (key, value, type) back to JSON. Reals get the shortest of 15 or 17
# significant digits that reads back as the same double.
_JSON_VALUE = """CASE type
    WHEN 'object' THEN json(value) WHEN 'array' THEN json(value)
    WHEN 'true' THEN json('true') WHEN 'false' THEN json('false')
    WHEN 'real' THEN json(CASE WHEN CAST(printf('%!.15g', value) AS REAL) = value
                               THEN printf('%!.15g', value) ELSE printf('%!.17g', value) END)
    ELSE value END"""


def _merged_extra(table: str) -> str:
    """Stored ``extra`` merged key by key with the incoming one (incoming wins, one level)."""
    return f"""CASE
        WHEN excluded.extra IN ('{{}}', {table}.extra) THEN {table}.extra
        WHEN {table}.extra = '{{}}' THEN excluded.extra
        ELSE (SELECT json_group_object(key, {_JSON_VALUE}) FROM (
            SELECT key, value, type FROM json_each({table}.extra)
            WHERE key NOT IN (SELECT key FROM json_each(excluded.extra))
            UNION ALL
            SELECT key, value, type FROM json_each(excluded.extra)))
    END"""


# The text rule (crawlers.storage._records.keeps_stored_text) runs as a Python function that
# SqliteStore registers on its connection under this name, rather than as a CASE of
# instr/substr/length: one implementation for every backend, with Python's Unicode-aware
# lengths and the same list of truncation marks. Texts arrive as UTF-8 BLOBs so that a lone
# surrogate carried as \u-escaped JSON reaches it intact. It is called once per conflicting
# row and counts its refusals, so it is registered as non-deterministic (SQLite may call a
# deterministic function fewer times than rows).
KEEPS_TEXT = "tingfeng_keeps_text"
_STORED_TEXT = "CAST(json_extract(posts.doc, '$.text') AS BLOB)"
_INCOMING_TEXT = "CAST(json_extract(excluded.doc, '$.text') AS BLOB)"

# json_patch of a None-free document is exactly "incoming non-None fields win"; documents hold
# no nested objects (extra lives in its own column), so the patch never recurses.
UPSERT_POST = f"""INSERT INTO posts
    (platform, post_id, created_at, kind, root_post_id, sentiment_model, author_id,
     sentiment_label, emotion, like_count, comment_count, repost_count, doc, extra)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (platform, post_id) DO UPDATE SET
        created_at = coalesce(excluded.created_at, posts.created_at),
        kind = coalesce(excluded.kind, posts.kind),
        root_post_id = coalesce(excluded.root_post_id, posts.root_post_id),
        sentiment_model = coalesce(excluded.sentiment_model, posts.sentiment_model),
        author_id = coalesce(excluded.author_id, posts.author_id),
        sentiment_label = coalesce(excluded.sentiment_label, posts.sentiment_label),
        emotion = coalesce(excluded.emotion, posts.emotion),
        like_count = coalesce(excluded.like_count, posts.like_count),
        comment_count = coalesce(excluded.comment_count, posts.comment_count),
        repost_count = coalesce(excluded.repost_count, posts.repost_count),
        doc = CASE WHEN {KEEPS_TEXT}({_STORED_TEXT}, {_INCOMING_TEXT})
            THEN json_patch(posts.doc, json_remove(excluded.doc, '$.text'))
            ELSE json_patch(posts.doc, excluded.doc) END,
        extra = {_merged_extra("posts")}"""

# Runs after the post's upsert: the topic row copies the stored post's columns (what the
# upsert just merged), one primary-key lookup. Parameters: (platform, post_id, topic).
ADD_TOPIC = f"""INSERT INTO post_topics (platform, post_id, topic, {", ".join(FACT_COLUMNS)})
    SELECT platform, post_id, ?3, {", ".join(FACT_COLUMNS)} FROM posts
    WHERE platform = ?1 AND post_id = ?2
    ON CONFLICT DO NOTHING"""

UPSERT_AUTHOR = f"""INSERT INTO authors (platform, author_id, doc, extra) VALUES (?, ?, ?, ?)
    ON CONFLICT (platform, author_id) DO UPDATE SET
        doc = json_patch(authors.doc, excluded.doc),
        extra = {_merged_extra("authors")}"""

# A null in a JSON patch removes the field, which reads back as None. Two statements, each
# score matching exactly one: SQLite rewrites the entries of every index on a column an UPDATE
# names, changed or not, and label and emotion sit in five indexes (two per topic row, through
# the posts_topic_facts trigger). A rescore that keeps a post's label and emotion (most posts,
# after a model change) names neither: 200,000 such posts in 3.0 s instead of 13.1.
# Parameters of both: (model, label, emotion, JSON patch, platform, post_id).
SET_SCORES_KEPT = """UPDATE posts SET sentiment_model = ?1, doc = json_patch(doc, ?4)
    WHERE platform = ?5 AND post_id = ?6 AND sentiment_label IS ?2 AND emotion IS ?3"""
SET_SCORES_MOVED = """UPDATE posts SET sentiment_model = ?1, sentiment_label = ?2, emotion = ?3,
    doc = json_patch(doc, ?4) WHERE platform = ?5 AND post_id = ?6
    AND (sentiment_label IS NOT ?2 OR emotion IS NOT ?3)"""
SET_AUTHOR_SCORES = """UPDATE authors SET doc = json_patch(doc, ?)
    WHERE platform = ? AND author_id = ?"""
RECORD_RUN = """INSERT OR REPLACE INTO runs (run_id, platform, topic, kind, started_at, doc)
    VALUES (?, ?, ?, ?, ?, ?)"""
SAVE_ALERT = """INSERT INTO alerts (alert_id, monitor, status, created_at, doc)
    VALUES (?, ?, ?, ?, ?) ON CONFLICT (alert_id) DO NOTHING"""
UPDATE_ALERT = "UPDATE alerts SET status = ?, doc = json_patch(doc, ?) WHERE alert_id = ?"
# Only while ``owner`` holds the claim: the check and the write are one statement.
UPDATE_ALERT_OWNED = UPDATE_ALERT + " AND json_extract(doc, '$.claimed_by') = ?"
# One UPDATE takes SQLite's write lock, so of two processes claiming at once one matches and the
# other sees the claim; claimed_until is fixed-width UTC text, so text order is time order.
CLAIM_ALERT = """UPDATE alerts SET doc = json_patch(doc, ?)
    WHERE alert_id = ? AND status = 'pending' AND (
        json_extract(doc, '$.claimed_by') IS NULL
        OR json_extract(doc, '$.claimed_until') IS NULL
        OR json_extract(doc, '$.claimed_until') <= ?
        OR json_extract(doc, '$.claimed_by') = ?)
    RETURNING doc"""
SAVE_MONITOR = "INSERT OR REPLACE INTO monitors (name, doc) VALUES (?, ?)"

# Post rows are (doc, extra, topics JSON, created_at, platform, post_id).
POST_COLUMNS = """p.doc, p.extra,
    (SELECT json_group_array(topic) FROM post_topics AS t
     WHERE t.platform = p.platform AND t.post_id = p.post_id)"""
# What rescoring reads (ScoreInput): not the doc, whose parse is most of a post's read cost.
SCORE_INPUT_COLUMNS = """p.platform, p.post_id, coalesce(json_extract(p.doc, '$.text'), ''),
    coalesce(p.kind, 'original')"""
TOPIC_SOURCE = """post_topics AS k
    JOIN posts AS p ON p.platform = k.platform AND p.post_id = k.post_id"""
# Lookups by key: the key list drives the loop (CROSS JOIN fixes the join order in SQLite) and
# each key is one primary-key search. `(platform, post_id) IN (VALUES …)` is planned as a scan
# of the whole table (1.38 s per 400 keys on 1,000,000 posts); tests check the plan.
POSTS_BY_KEY = f"""WITH k(platform, post_id) AS (VALUES {{keys}})
    SELECT {POST_COLUMNS}, p.created_at, p.platform, p.post_id
    FROM k CROSS JOIN posts AS p ON p.platform = k.platform AND p.post_id = k.post_id"""
# One page of keys ({keys}: a query of platform, post_id, ordered, with LIMIT and OFFSET), then
# the page's documents by primary key: skipped posts cost an index entry each, never a document.
POSTS_OF_PAGE = f"""SELECT {POST_COLUMNS}, p.created_at, p.platform, p.post_id
    FROM ({{keys}}) AS page CROSS JOIN posts AS p
    ON p.platform = page.platform AND p.post_id = page.post_id"""
# Two index lookups (primary key, then posts_root); an OR would scan the whole platform.
CASCADE = f"""SELECT {POST_COLUMNS}, p.created_at, p.platform, p.post_id FROM posts AS p
    WHERE p.platform = ?1 AND p.post_id = ?2
    UNION ALL
    SELECT {POST_COLUMNS}, p.created_at, p.platform, p.post_id FROM posts AS p
    WHERE p.platform = ?1 AND p.root_post_id = ?2 AND p.post_id != ?2"""
# Author rows are (doc, extra, platform, author_id).
ALL_AUTHORS = "SELECT doc, extra, platform, author_id FROM authors ORDER BY platform, author_id"
AUTHORS_BY_KEY = """WITH k(platform, author_id) AS (VALUES {keys})
    SELECT a.doc, a.extra, a.platform, a.author_id
    FROM k CROSS JOIN authors AS a ON a.platform = k.platform AND a.author_id = k.author_id"""


def author_field_sql(name: str, a: str = "a") -> str:
    """The column of authors alias ``a`` that holds ``author_fields``' ``name`` (checked by
    ``check_author_fields``: never input). ``extra.<key>`` comes back as JSON text (None when
    absent), whatever its type, for :func:`author_field_value`."""
    if name == "extra":
        return f"{a}.extra"
    if name.startswith("extra."):
        path = f"'$.{name[6:]}'"  # JSON text of any type (SQLite 3.38's -> in older terms)
        return f"""CASE WHEN {a}.extra = '{{}}' THEN NULL ELSE (
            CASE json_type({a}.extra, {path})
            WHEN 'object' THEN json_extract({a}.extra, {path})
            WHEN 'array' THEN json_extract({a}.extra, {path})
            WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' WHEN 'null' THEN 'null'
            WHEN 'integer' THEN json_quote(json_extract({a}.extra, {path}))
            WHEN 'real' THEN json_quote(json_extract({a}.extra, {path}))
            WHEN 'text' THEN json_quote(json_extract({a}.extra, {path})) END) END"""
    return f"json_extract({a}.doc, '$.{name}')"


def author_field_value(name: str, value: Any) -> Any:
    """An ``author_fields`` value as the record holds it, from :func:`author_field_sql`'s
    column (JSON booleans come back as 0/1, ``extra`` as JSON text)."""
    if name == "extra":
        return json.loads(value) if value and value != "{}" else {}
    if name.startswith("extra."):
        return None if value is None else json.loads(value)
    return bool(value) if name == "verified" and value is not None else value


def page_query(source: str, k: str, where: list[str], *, dated: bool,
               columns: str = POST_COLUMNS) -> str:
    """One keyset page of posts from ``source`` (alias ``k`` holds the ordering columns):
    ``columns``, then the ordering key.

    Dated pages run in (created_at, platform, post_id) order after the last row's key;
    undated ones (created_at IS NULL) in (platform, post_id) order. Parameters: those of
    ``where``, then the last key, then the page size.
    """
    if dated:
        order = f"{k}.created_at, {k}.platform, {k}.post_id"
        after = f"({order}) > (?, ?, ?)"
    else:
        order = f"{k}.platform, {k}.post_id"
        after = f"{k}.created_at IS NULL AND ({order}) > (?, ?)"
    conditions = " AND ".join([*where, after])
    return f"""SELECT {columns}, {k}.created_at, {k}.platform, {k}.post_id
        FROM {source} WHERE {conditions} ORDER BY {order} LIMIT ?"""


def filtered(
    select: str, when: str, key: str, *, since: str | None = None, **equal: str | None
) -> tuple[str, list[str]]:
    """``select`` with ``column = value`` for each non-None ``equal``, ``when >= since``,
    ordered oldest first (undated last), then by ``key``. Column names are ours, not input."""
    where, params = [], []
    for column, value in equal.items():
        if value is not None:
            where.append(f"{column} = ?")
            params.append(value)
    if since is not None:
        where.append(f"{when} >= ?")
        params.append(since)
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    return f"{select}{clause} ORDER BY {when} IS NULL, {when}, {key}", params


# -- row shapes -------------------------------------------------------------------------------
def post_rows(batch: list[Post], *, ascii_only: bool) -> tuple[list[Any], list[Any]]:
    """Parameters for UPSERT_POST and ADD_TOPIC."""
    rows: list[Any] = []
    topic_rows: list[Any] = []
    for post in batch:
        doc, topics, doc_json, extra_json = _split(post, ascii_only)
        created_at = doc.get("created_at")
        rows.append((
            post.platform, post.post_id, created_at, doc.get("kind"),
            doc.get("root_post_id"), doc.get("sentiment_model"), doc.get("author_id"),
            doc.get("sentiment_label"), doc.get("emotion"), doc.get("like_count"),
            doc.get("comment_count"), doc.get("repost_count"), doc_json, extra_json,
        ))
        topic_rows.extend((post.platform, post.post_id, topic) for topic in topics)
    return rows, topic_rows


def author_rows(batch: list[Author], *, ascii_only: bool) -> tuple[list[Any], list[Any]]:
    """Parameters for UPSERT_AUTHOR (and no topic rows)."""
    rows = []
    for author in batch:
        _, _, doc_json, extra_json = _split(author, ascii_only)
        rows.append((author.platform, author.author_id, doc_json, extra_json))
    return rows, []


def _split(record: Any, ascii_only: bool) -> tuple[dict[str, Any], list[str], str, str]:
    """(doc, topics, doc JSON, extra JSON) of a post or author."""
    doc = record_doc(record)
    topics = doc.pop("topics", None) or []
    extra = doc.pop("extra", None)
    try:
        return doc, topics, json_text(doc, ascii_only=ascii_only), (
            json_text(extra, ascii_only=ascii_only) if extra else "{}"
        )
    except (TypeError, ValueError) as exc:
        raise IntegrityError(f"{describe(record)} cannot be stored as JSON: {exc}") from exc


def post_from_row(row: tuple[Any, ...]) -> Post:
    """A Post from a row that starts (doc, extra, topics JSON, …)."""
    doc = json.loads(row[0])
    if row[1] != "{}":
        doc["extra"] = json.loads(row[1])
    if row[2] != "[]":
        doc["topics"] = sorted(json.loads(row[2]))
    post: Post = from_dict(Post, doc)
    return post


def score_input_from_row(row: tuple[Any, ...]) -> ScoreInput:
    """A ScoreInput from a row that starts with SCORE_INPUT_COLUMNS."""
    return ScoreInput(row[0], row[1], row[2], row[3])


def author_from_row(row: tuple[Any, ...]) -> Author:
    """An Author from a row that starts (doc, extra, …)."""
    doc = json.loads(row[0])
    if row[1] != "{}":
        doc["extra"] = json.loads(row[1])
    author: Author = from_dict(Author, doc)
    return author


SAVE_EVENT = """INSERT OR REPLACE INTO events (monitor, event_id, active_at, size, doc)
    VALUES (?, ?, ?, ?, ?)"""
SAVE_EVENT_MEMBER = """INSERT OR IGNORE INTO event_members (monitor, platform, post_id, event_id)
    VALUES (?, ?, ?, ?)"""
EVENTS_SINCE = "SELECT event_id, doc FROM events WHERE monitor = ? AND active_at >= ?"
EVENT_MEMBERS_SINCE = """SELECT m.event_id, m.platform, m.post_id FROM events AS e
    JOIN event_members AS m ON m.monitor = e.monitor AND m.event_id = e.event_id
    WHERE e.monitor = ? AND e.active_at >= ? ORDER BY m.platform, m.post_id"""
