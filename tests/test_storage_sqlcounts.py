"""SqliteStore's aggregates and text rule in SQL: no post reaches Python, the query plans use
the covering indexes, a version-1 file is upgraded, and the text rule is counted in the upsert.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta

import pytest

from crawlers.items import Post, PostScore
from crawlers.storage import _sql
from crawlers.storage.sqlite import SCHEMA_VERSION, SqliteStore

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


@pytest.fixture
def store(tmp_path):
    s = SqliteStore(tmp_path / "t.db")
    s.upsert_posts(
        Post("weibo" if i % 3 else "zhihu", str(i), text=f"第{i}条", created_at=T0 + timedelta(
            hours=i), sentiment_label=("positive", "negative", None)[i % 3], like_count=i,
            author_id=f"u{i % 4}", topics=["t"] if i % 2 else [])
        for i in range(60)
    )
    yield s
    s.close()


def traced(store: SqliteStore, call) -> tuple[object, list[str]]:
    seen: list[str] = []
    store._conn.set_trace_callback(seen.append)
    try:
        result = call()
    finally:
        store._conn.set_trace_callback(None)
    return result, seen


def plan(store: SqliteStore, statement: str) -> str:
    return " | ".join(row[3] for row in store._conn.execute("EXPLAIN QUERY PLAN " + statement))


def test_aggregates_never_read_posts_into_python(store, monkeypatch):
    expected = (store.post_counts(), store.post_counts(topic="t", bucket="hour", by=()),
                store.author_counts(limit=3))

    def refuse(*args, **kwargs):
        raise AssertionError("an aggregate read posts one by one")

    for name in ("posts", "_select_posts", "_pages", "get_posts"):
        monkeypatch.setattr(SqliteStore, name, refuse)
    monkeypatch.setattr(_sql, "post_from_row", refuse)
    (counts, statements) = traced(store, lambda: (
        store.post_counts(), store.post_counts(topic="t", bucket="hour", by=()),
        store.author_counts(limit=3)))
    assert counts == expected
    assert not any("doc" in s.split("FROM")[0] for s in statements)  # no document is selected


def test_post_counts_group_in_index_order_on_the_covering_index(store):
    _, statements = traced(store, lambda: store.post_counts(
        since=T0, until=T0 + timedelta(days=30), by=("platform", "sentiment_label")))
    [query] = [s for s in statements if "posts_slots" in s]
    text = plan(store, query)
    assert "COVERING INDEX posts_slots" in text, text
    # one sort only, of the grouped hours (the outer GROUP BY), never of the posts themselves
    assert text.count("TEMP B-TREE") == 1 and text.index("TEMP B-TREE") > text.index(
        "posts_slots"), text


def test_author_counts_pick_the_index_by_window(store):
    for window, index in (({}, "posts_authors"),
                          ({"since": T0, "until": T0 + timedelta(hours=3)}, "posts_window")):
        _, statements = traced(store, lambda window=window: store.author_counts(**window))
        [query] = [s for s in statements if "INDEXED BY" in s]
        assert f"INDEX {index}" in plan(store, query), (window, plan(store, query))


def test_a_version_1_file_is_upgraded_and_its_fields_copied(tmp_path):
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as conn:
        for statement in _sql.SCHEMA:
            conn.execute(statement)
        doc = {"platform": "weibo", "post_id": "1", "text": "旧库里的帖子", "kind": "original",
               "created_at": "2026-03-01T08:00:00.000000+00:00", "author_id": "u1",
               "sentiment_label": "negative", "emotion": "anger", "like_count": 3,
               "comment_count": 2, "repost_count": 1}
        conn.execute("INSERT INTO posts (platform, post_id, created_at, kind, doc) "
                     "VALUES ('weibo', '1', ?, 'original', ?)", (doc["created_at"],
                                                                 json.dumps(doc)))
        conn.execute("PRAGMA user_version = 1")
    with SqliteStore(path) as store:
        assert store._conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert SCHEMA_VERSION == max(_sql.MIGRATIONS)  # every migration ran
        indexes = {r[0] for r in store._conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'index'")}
        assert {"posts_authors", "posts_kol", "posts_sentiment"} <= indexes
        assert store.post_counts(bucket=None, by=("sentiment_label", "emotion")) == [
            {"sentiment_label": "negative", "emotion": "anger", "posts": 1, "engagement": 6}]
        assert store.author_counts() == [
            {"platform": "weibo", "author_id": "u1", "posts": 1, "engagement": 6}]
        page = store.author_stats()
        assert (page.total, page.rows[0]["negative"], page.rows[0]["posts"]) == (1, 1, 1)
        store.upsert_posts([Post("weibo", "1", text="旧库里的…")])
        assert store.get_posts([("weibo", "1")])[("weibo", "1")].text == "旧库里的帖子"


def test_score_and_count_columns_follow_the_document(store):
    store.upsert_posts([Post("weibo", "1", like_count=50, comment_count=None)])
    store.set_scores({("weibo", "1"): PostScore(0.2, "negative", "m", emotion="fear")})
    row = store._conn.execute(
        "SELECT sentiment_label, emotion, like_count, author_id, doc FROM posts "
        "WHERE post_id = '1'").fetchone()
    doc = json.loads(row[4])
    assert row[:4] == (doc["sentiment_label"], doc["emotion"], doc["like_count"],
                       doc["author_id"]) == ("negative", "fear", 50, "u1")
    store.set_scores({("weibo", "1"): PostScore(0.6, "positive", "m")})  # emotion cleared
    assert store._conn.execute("SELECT sentiment_label, emotion FROM posts WHERE post_id = '1'"
                               ).fetchone() == ("positive", None)


def test_the_text_rule_runs_inside_the_upsert_statement(store):
    store.upsert_posts([Post("weibo", "1", text="第1条的完整正文")])
    _, statements = traced(store, lambda: store.upsert_posts([Post("weibo", "1", text="第1条…")]))
    assert not any(s.lstrip().upper().startswith("SELECT") for s in statements)
    assert store.last_upsert_stats == {"written": 1, "text_kept": 1}
    assert store.get_posts([("weibo", "1")])[("weibo", "1")].text == "第1条的完整正文"


def test_a_failed_batch_does_not_count_its_kept_texts(store, monkeypatch):
    store.upsert_posts([Post("weibo", "1", text="第1条的完整正文")])
    monkeypatch.setattr(_sql, "ADD_TOPIC", "INSERT INTO nowhere VALUES (?, ?, ?, ?)")
    with pytest.raises(Exception, match="nowhere"):
        store.upsert_posts([Post("weibo", "1", text="第1条…", topics=["x"])])
    store.upsert_posts([Post("weibo", "2", text="新的")])
    assert store.last_upsert_stats == {"written": 1, "text_kept": 0}
    assert store._texts_kept == 1  # the rolled-back batch did count, and was not reported
