"""MongoStore specifics, on mongomock: indexes, client injection, batching, error translation.

mongomock is quadratic on large unique-indexed inserts, so every test here stays small.
"""

from __future__ import annotations

import importlib
import sys
from datetime import UTC, datetime, timedelta, timezone

import pytest

mongomock = pytest.importorskip("mongomock")
pymongo = pytest.importorskip("pymongo")

from bson.errors import InvalidDocument  # noqa: E402
from pymongo import UpdateOne  # noqa: E402
from pymongo.errors import (  # noqa: E402
    AutoReconnect,
    BulkWriteError,
    OperationFailure,
    ServerSelectionTimeoutError,
)

from crawlers.errors import BackendUnavailable, IntegrityError, StoreError  # noqa: E402
from crawlers.items import Alert, Post  # noqa: E402
from crawlers.storage.mongo import MongoStore  # noqa: E402
from tests.stores import make_store, patch_mongomock_bulk  # noqa: E402

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


@pytest.fixture
def client():
    patch_mongomock_bulk()
    return mongomock.MongoClient(tz_aware=True)


@pytest.fixture
def store(client):
    return MongoStore(client=client, database="t", batch_size=3)


def index_keys(collection) -> dict[tuple, bool]:
    return {tuple(info["key"]): bool(info.get("unique")) for info in
            collection.index_information().values()}


def test_indexes_are_created_on_open(client, store):
    db = client["t"]
    posts = index_keys(db.posts)
    assert posts[(("platform", 1), ("post_id", 1))] is True
    assert (("topics", 1), ("created_at", 1), ("platform", 1), ("post_id", 1)) in posts
    assert (("platform", 1), ("root_post_id", 1)) in posts
    # newest_posts walks these backwards: the sort is the index order
    assert (("sentiment_label", 1), ("created_at", 1), ("platform", 1), ("post_id", 1)) in posts
    assert (("platform", 1), ("author_id", 1), ("created_at", 1)) in posts
    assert index_keys(db.authors)[(("platform", 1), ("author_id", 1))] is True
    assert index_keys(db.alerts)[(("alert_id", 1),)] is True
    assert index_keys(db.monitors)[(("name", 1),)] is True
    assert (("started_at", 1),) in index_keys(db.runs)
    store.ensure_indexes()  # again: harmless


def test_injected_client_is_used_and_left_open(client, store):
    store.upsert_posts([Post("weibo", "1", text="你好")])
    store.close()
    raw = client["t"].posts.find_one({"post_id": "1"})
    assert raw["text"] == "你好" and "_id" in raw  # the driver's _id stays in the database…
    reopened = MongoStore(client=client, database="t")
    assert vars(reopened.get_posts([("weibo", "1")])[("weibo", "1")]).keys().isdisjoint({"_id"})


def test_one_bulk_write_per_batch(store, monkeypatch):
    calls = []
    real = store._posts.bulk_write

    def counting(ops, **kwargs):
        calls.append((len(ops), kwargs))
        return real(ops, **kwargs)

    monkeypatch.setattr(store._posts, "bulk_write", counting)
    assert store.upsert_posts(Post("weibo", str(i)) for i in range(7)) == 7
    assert calls == [(3, {"ordered": False})] * 2 + [(1, {"ordered": False})]


def test_upsert_is_one_merge_update(store, monkeypatch):
    sent = []
    real = store._posts.bulk_write
    monkeypatch.setattr(store._posts, "bulk_write", lambda ops, **kw: sent.extend(ops) or
                        real(ops, **kw))
    store.upsert_posts([Post("weibo", "1", text="转发", like_count=None, repost_count=2,
                             topics=["b", "a"], extra={"source": "客户端"})])
    assert sent == [UpdateOne(
        {"platform": "weibo", "post_id": "1"},
        {
            # None, "" and [] fields are absent, so they keep what is stored; extra merges by
            # dotted key.
            "$set": {"text": "转发", "kind": "original", "repost_count": 2,
                     "extra.source": "客户端"},
            "$addToSet": {"topics": {"$each": ["a", "b"]}},
        },
        upsert=True,
    )]


def test_naive_datetimes_from_the_driver_come_back_aware():
    patch_mongomock_bulk()
    store = MongoStore(client=mongomock.MongoClient(), database="t")  # no tz_aware
    cst = timezone(timedelta(hours=8))
    store.upsert_posts([Post("weibo", "1", created_at=datetime(2026, 3, 1, 20, tzinfo=cst))])
    [got] = store.posts(since=T0)
    assert got.created_at.utcoffset() == timedelta(0)
    assert got.created_at == datetime(2026, 3, 1, 12, tzinfo=UTC)


def test_unreachable_server_raises_backend_unavailable():
    client = pymongo.MongoClient("mongodb://127.0.0.1:1", serverSelectionTimeoutMS=200)
    try:
        with pytest.raises(BackendUnavailable, match="unreachable") as info:
            MongoStore(client=client, database="t")
        assert isinstance(info.value.__cause__, ServerSelectionTimeoutError)
    finally:
        client.close()


@pytest.mark.parametrize("error, expected", [
    (AutoReconnect("connection reset"), BackendUnavailable),
    (BulkWriteError({"writeErrors": [{"errmsg": "E11000 duplicate key"}]}), IntegrityError),
    (OperationFailure("not authorized on t"), StoreError),
    (InvalidDocument("cannot encode object: <object>"), IntegrityError),
])
def test_driver_errors_are_translated(store, monkeypatch, error, expected):
    def fail(*args, **kwargs):
        raise error

    monkeypatch.setattr(store._posts, "bulk_write", fail)
    monkeypatch.setattr(store._posts, "find", fail)
    monkeypatch.setattr(store._post_reads, "find", fail)  # reads follow the read preference
    with pytest.raises(expected) as info:
        store.upsert_posts([Post("weibo", "1")])
    assert info.value.__cause__ is error
    if expected is not BackendUnavailable:
        assert not isinstance(info.value, BackendUnavailable)  # not worth retrying
    with pytest.raises(expected):
        list(store.posts())


def test_duplicate_alert_is_false_not_an_error(store):
    a = Alert("a1", "m", "rule", "warning", "msg", created_at=T0)
    assert (store.save_alert(a), store.save_alert(a)) == (True, False)


def test_from_uri_names_the_database(monkeypatch):
    monkeypatch.setattr(MongoStore, "ensure_indexes", lambda self: None)
    for uri, name in (("mongodb://127.0.0.1:1/listening", "listening"),
                      ("mongodb://127.0.0.1:1", "tingfeng")):
        store = MongoStore.from_uri(uri)
        try:
            assert store.database_name == name
            assert store._client.codec_options.tz_aware is True
        finally:
            store.close()


def test_import_guard_names_the_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "pymongo", None)
    monkeypatch.delitem(sys.modules, "crawlers.storage.mongo")
    with pytest.raises(ImportError, match="pip install pymongo"):
        importlib.import_module("crawlers.storage.mongo")


def test_make_store_helper_gives_an_empty_mongomock_store(tmp_path):
    s = make_store("mongomock", tmp_path)
    assert s.counts()["posts"] == 0
    s.upsert_posts([Post("weibo", "1")])
    assert make_store("mongomock", tmp_path).counts()["posts"] == 0  # a new client each time
