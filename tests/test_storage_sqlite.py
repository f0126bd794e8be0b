"""SqliteStore specifics: pragmas, schema and indexes, the merge SQL, paging, errors, URIs."""

from __future__ import annotations

import json
import sqlite3
import threading
from datetime import UTC, datetime, timedelta

import pytest

from crawlers.errors import BackendUnavailable, ConfigError, IntegrityError, StoreError
from crawlers.items import Author, Post
from crawlers.storage import _sql, sqlite
from crawlers.storage.sqlite import SCHEMA_VERSION, SqliteStore

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


@pytest.fixture
def store(tmp_path):
    s = SqliteStore(tmp_path / "t.db")
    yield s
    s.close()


def pragma(store: SqliteStore, name: str):
    return store._conn.execute(f"PRAGMA {name}").fetchone()[0]


def test_pragmas_for_a_shared_file(store):
    assert pragma(store, "journal_mode") == "wal"
    assert pragma(store, "synchronous") == 1  # NORMAL
    assert pragma(store, "busy_timeout") == 10_000


def test_schema_version_and_indexes(store):
    assert pragma(store, "user_version") == SCHEMA_VERSION
    indexes = {row[0]: row[1] for row in store._conn.execute(
        "SELECT name, tbl_name FROM sqlite_master WHERE type = 'index'")}
    assert {"posts_window": "posts", "posts_root": "posts",
            "post_topics_window": "post_topics"}.items() <= indexes.items()
    pk = [row[1] for row in store._conn.execute("PRAGMA table_info(posts)") if row[5]]
    assert pk == ["platform", "post_id"]
    plan = " ".join(row[3] for row in store._conn.execute(
        "EXPLAIN QUERY PLAN " + _sql.page_query(_sql.TOPIC_SOURCE, "k", ["k.topic = ?"],
                                                dated=True), ["t", "", "", "", 10]))
    assert "post_topics_window" in plan and "TEMP B-TREE" not in plan


def test_a_newer_schema_is_refused(tmp_path):
    path = tmp_path / "future.db"
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(StoreError, match="upgrade Tingfeng"):
        SqliteStore(path)


def test_reopening_keeps_the_schema(tmp_path):
    SqliteStore(tmp_path / "t.db").close()
    with SqliteStore(tmp_path / "t.db") as again:
        assert pragma(again, "user_version") == SCHEMA_VERSION


@pytest.mark.parametrize("stored, incoming, merged", [
    ({"a": 1}, {}, {"a": 1}),
    ({}, {"a": 1}, {"a": 1}),
    ({"a": 1, "b": 2}, {"a": 1, "b": 2}, {"a": 1, "b": 2}),
    # Reals must come back as the same double, whatever their digits.
    ({"r": 0.1, "s": 1 / 3}, {"t": 1e300, "u": -2.5e-7}, {"r": 0.1, "s": 1 / 3, "t": 1e300,
                                                        "u": -2.5e-7}),
    ({"t": True, "f": False, "n": {"x": None}}, {"t": False}, {"t": False, "f": False,
                                                              "n": {"x": None}}),
    ({"d": {"x": 1, "y": 2}}, {"d": {"x": 3}}, {"d": {"x": 3}}),
    ({"l": [1, {"a": None}]}, {"键": "值", 'q"k': "\\"}, {"l": [1, {"a": None}], "键": "值",
                                                          'q"k': "\\"}),
    ({"big": 2**62, "s": "0.1"}, {"s": "text"}, {"big": 2**62, "s": "text"}),
])
def test_extra_merge_sql_matches_the_reference(store, stored, incoming, merged):
    store.upsert_authors([Author("weibo", "u", extra=stored)])
    store.upsert_authors([Author("weibo", "u", extra=incoming)])
    store.upsert_posts([Post("weibo", "p", extra=stored)])
    store.upsert_posts([Post("weibo", "p", extra=incoming)])
    assert store.authors()[("weibo", "u")].extra == merged
    assert store.get_posts([("weibo", "p")])[("weibo", "p")].extra == merged
    [(raw,)] = store._conn.execute("SELECT extra FROM posts").fetchall()
    pairs = json.loads(raw, object_pairs_hook=lambda kv: kv)
    assert sorted(k for k, _ in pairs) == sorted(merged)  # each key once in the stored JSON


def test_upsert_merges_in_sql_not_in_python(store, monkeypatch):
    store.upsert_posts([Post("weibo", "1", text="旧", like_count=1)])
    statements = []
    store._conn.set_trace_callback(statements.append)
    store.upsert_posts([Post("weibo", str(i), text="新") for i in range(1, 4)])
    store._conn.set_trace_callback(None)
    assert not any(s.lstrip().upper().startswith("SELECT") for s in statements)
    assert store.get_posts([("weibo", "1")])[("weibo", "1")].like_count == 1


def test_pages_follow_the_order_while_the_caller_writes(store, monkeypatch):
    monkeypatch.setattr(sqlite, "_PAGE", 2)
    posts = [Post("weibo", str(i), created_at=T0 + timedelta(minutes=i % 4), topics=["t"])
             for i in range(9)] + [Post("weibo", "x"), Post("weibo", "y", topics=["t"])]
    store.upsert_posts(posts)
    expected = sorted((p for p in posts if p.created_at), key=lambda p: (p.created_at, p.post_id))
    seen = []
    for p in store.posts(topic="t"):
        seen.append(p.post_id)
        store.upsert_posts([Post("weibo", p.post_id, like_count=len(seen))])  # between pages
    assert seen == [p.post_id for p in expected] + ["y"]
    assert [p.post_id for p in store.posts(since=T0 + timedelta(minutes=3))] == ["3", "7"]


def test_topic_window_follows_a_corrected_created_at(store):
    store.upsert_posts([Post("weibo", "1", created_at=T0, topics=["t"])])
    store.upsert_posts([Post("weibo", "1", created_at=T0 + timedelta(days=1))])
    assert [p.post_id for p in store.posts(topic="t", since=T0 + timedelta(hours=1))] == ["1"]
    assert list(store.posts(topic="t", until=T0 + timedelta(hours=1))) == []


def test_a_version_4_file_gets_the_topic_copies_on_first_open(tmp_path, caplog):
    """Schema 5 copies the posts' grouped columns into post_topics; a file written by schema 4
    is upgraded in place, and its topic aggregates read the copies."""
    path = tmp_path / "v4.db"
    with sqlite3.connect(path) as conn:
        for statement in _sql.SCHEMA:
            conn.execute(statement)
        for step in (2, 3, 4):
            for statement in _sql.MIGRATIONS[step]:
                conn.execute(statement)
        conn.execute("""INSERT INTO posts (platform, post_id, created_at, author_id,
            sentiment_label, like_count, root_post_id, doc) VALUES
            ('weibo', '1', '2026-03-01T08:00:00.000000+00:00', 'a', 'negative', 3, '0', '{}')""")
        conn.execute("""INSERT INTO post_topics (platform, post_id, topic, created_at) VALUES
            ('weibo', '1', 't', '2026-03-01T08:00:00.000000+00:00')""")
        conn.execute("PRAGMA user_version = 4")
    conn.close()
    with caplog.at_level("WARNING", logger="crawlers.storage.sqlite"), SqliteStore(path) as s:
        assert "from schema 4 to 5" in caplog.text
        assert pragma(s, "user_version") == SCHEMA_VERSION
        assert s.author_counts(topic="t") == [
            {"platform": "weibo", "author_id": "a", "posts": 1, "engagement": 3}]
        assert s.root_counts(topic="t") == [
            {"platform": "weibo", "root_post_id": "0", "posts": 1}]
        assert s.post_counts(topic="t", bucket=None) == [
            {"sentiment_label": "negative", "posts": 1, "engagement": 3}]
        triggers = {r[0] for r in s._conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'trigger'")}
        assert triggers == {"posts_topic_facts"}


def test_a_topics_aggregates_read_post_topics_alone(store):
    """No join to posts, and the KOL grouping runs in index order (no sort for GROUP BY)."""
    from crawlers.storage import _sqlcounts

    store.upsert_posts([Post("weibo", "1", created_at=T0, author_id="a", topics=["t"])])
    statements: list[str] = []
    store._conn.set_trace_callback(statements.append)
    store.author_counts(topic="t")
    store.root_counts(topic="t")
    store.post_counts(topic="t", bucket=None)
    store.author_stats(topic="t")
    store._conn.set_trace_callback(None)
    reads = [s for s in statements if "post_topics" in s]
    assert len(reads) >= 4 and not any("JOIN posts" in s for s in reads)
    kol = next(s for s in reads if "post_topics_authors" in s and "GROUP BY" in s)
    plan = " ".join(row[3] for row in store._conn.execute("EXPLAIN QUERY PLAN " + kol))
    assert "USE TEMP B-TREE FOR GROUP BY" not in plan, plan
    assert _sqlcounts.engagement("k").startswith("coalesce(k.like_count")


def test_lone_surrogates_arrive_cleaned_and_are_stored(store):
    text = "半个表情\ud83d然后"  # what a truncated UTF-16 emoji decodes to
    store.upsert_posts([Post("weibo", "1", text=text), Post("weibo", "2", text="正常")])
    got = store.get_posts([("weibo", "1"), ("weibo", "2")])
    # cleaned once at the items boundary (crawlers.items.clean_text), so every output can carry it
    assert got[("weibo", "1")].text == "半个表情\ufffd然后" and got[("weibo", "2")].text == "正常"


def test_values_json_cannot_hold_are_refused_with_the_post_named(store):
    with pytest.raises(IntegrityError, match="weibo/1"):
        store.upsert_posts([Post("weibo", "1", extra={"when": T0})])
    with pytest.raises(IntegrityError, match="weibo/2"):
        store.upsert_posts([Post("weibo", "2", extra={"nan": float("nan")})])
    assert store.counts()["posts"] == 0


def test_locked_database_raises_backend_unavailable(tmp_path):
    holder = SqliteStore(tmp_path / "t.db")
    waiter = SqliteStore(tmp_path / "t.db", timeout=0.05)
    try:
        holder._conn.execute("BEGIN IMMEDIATE")
        with pytest.raises(BackendUnavailable, match="locked") as info:
            waiter.upsert_posts([Post("weibo", "1")])
        assert str(tmp_path / "t.db") in str(info.value)
        holder._conn.execute("ROLLBACK")
        assert waiter.upsert_posts([Post("weibo", "1")]) == 1  # usable once the lock is gone
    finally:
        holder.close()
        waiter.close()


def test_a_folder_in_place_of_the_file_raises_backend_unavailable(tmp_path):
    (tmp_path / "x.db").mkdir()
    with pytest.raises(BackendUnavailable, match="x.db") as info:
        SqliteStore(tmp_path / "x.db")
    assert "--store" in str(info.value)


def test_a_file_that_is_not_a_database(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_bytes(b"this is not SQLite, but long enough to look like a header" * 20)
    with pytest.raises(StoreError, match="not a Tingfeng SQLite database"):
        SqliteStore(path)


def test_a_closed_store_raises_store_error(tmp_path):
    s = SqliteStore(tmp_path / "t.db")
    s.close()
    s.close()  # idempotent
    with pytest.raises(StoreError):
        s.counts()


def test_usable_from_another_thread(store):
    errors = []

    def work():
        try:
            store.upsert_posts([Post("weibo", "t")])
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    assert errors == [] and store.counts()["posts"] == 1


@pytest.mark.parametrize("uri, expected", [
    ("sqlite:///rel/dir/x.db", "rel/dir/x.db"),
    ("sqlite:///{tmp}/abs.db", "{tmp}/abs.db"),
    ("sqlite:///:memory:", ":memory:"),
    ("sqlite://", ":memory:"),
    ("sqlite:///with%20space.db", "with space.db"),
])
def test_uri_forms(uri, expected, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with SqliteStore.from_uri(uri.format(tmp=tmp_path)) as s:
        assert s.path == expected.format(tmp=tmp_path)
    if expected != ":memory:":
        assert (tmp_path / expected.format(tmp=tmp_path)).exists()


def test_uri_with_a_host_is_refused():
    with pytest.raises(ConfigError, match="three slashes"):
        SqliteStore.from_uri("sqlite://data/x.db")


def _plans_of(store: SqliteStore, call) -> list[str]:
    """The query plans of the SELECTs ``call()`` runs on ``store`` (traced with their values)."""
    seen: list[str] = []
    store._conn.set_trace_callback(seen.append)
    try:
        call()
    finally:
        store._conn.set_trace_callback(None)
    selects = [s for s in seen if s.lstrip().upper().startswith(("WITH", "SELECT"))]
    assert selects
    return [" | ".join(row[3] for row in store._conn.execute("EXPLAIN QUERY PLAN " + s))
            for s in selects]


def test_lookups_by_key_search_the_primary_key(store):
    # Rescoring and graphing fetch posts and authors by key: one index search per key, never a
    # scan of the table (`IN (VALUES …)` scanned all 1,000,000 posts for every 400 keys).
    store.upsert_posts(Post("weibo", str(i), text=f"t{i}", created_at=T0, author_id=str(i % 7))
                       for i in range(50))
    store.upsert_authors(Author("weibo", str(i), name=f"a{i}") for i in range(7))
    keys = [("weibo", "3"), ("weibo", "41"), ("weibo", "nope"), ("zhihu", "3")]
    assert sorted(store.get_posts(keys)) == [("weibo", "3"), ("weibo", "41")]
    assert sorted(store.authors([("weibo", "2"), ("weibo", "x")])) == [("weibo", "2")]
    for call, table in ((lambda: store.get_posts(keys), "p"),
                        (lambda: store.authors([("weibo", "2")]), "a")):
        for plan in _plans_of(store, call):
            assert f"SCAN {table}" not in plan.split(" | "), plan
            assert f"SEARCH {table} USING INDEX sqlite_autoindex" in plan, plan
