"""MongoStore in production shape: MONGO_* settings checked and applied (the URI's own options
win), reads split from claims by read preference, the declared index list is what the store
creates, reads name an index that exists, and author_stats streams every row.

On mongomock (no server can run here); the real-server leg of the contract suite covers the same
methods when TINGFENG_TEST_MONGO_URI is set.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

mongomock = pytest.importorskip("mongomock")
pytest.importorskip("pymongo")

from pymongo.read_preferences import Primary, Secondary, SecondaryPreferred  # noqa: E402

from crawlers.errors import ConfigError  # noqa: E402
from crawlers.items import Alert, Post  # noqa: E402
from crawlers.storage import _mongoindexes as ix  # noqa: E402
from crawlers.storage._mongoconf import MongoOptions, mongo_options  # noqa: E402
from crawlers.storage.memory import MemoryStore  # noqa: E402
from crawlers.storage.mongo import MongoStore  # noqa: E402
from scheduler.cli import main  # noqa: E402
from tests.stores import patch_mongomock_bulk  # noqa: E402

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


@pytest.fixture
def client():
    patch_mongomock_bulk()
    return mongomock.MongoClient(tz_aware=True)


def store_on(client, **options) -> MongoStore:
    return MongoStore(client=client, database="t", options=MongoOptions(**options))


# -- settings ---------------------------------------------------------------------------------
def test_defaults_and_accepted_spellings():
    assert mongo_options({}) == MongoOptions("majority", True, 10000, "primary", 100)
    got = mongo_options({"MONGO_WRITE_CONCERN": "2", "MONGO_JOURNAL": "false",
                         "MONGO_WTIMEOUT_MS": "0", "MONGO_READ_PREFERENCE": "SECONDARYpreferred",
                         "MONGO_MAX_POOL_SIZE": 20})
    assert got == MongoOptions(2, False, 0, "secondaryPreferred", 20)
    assert got.write_concern() == {"w": 2}  # no j=False, no wtimeout=0: the server's defaults
    assert mongo_options({"MONGO_WRITE_CONCERN": " Majority "}).write_concern() == {
        "w": "majority", "j": True, "wtimeout": 10000}


@pytest.mark.parametrize("name, value, fix", [
    ("MONGO_WRITE_CONCERN", "0", "unacknowledged"),
    ("MONGO_WRITE_CONCERN", "all", '"majority"'),
    ("MONGO_JOURNAL", "maybe", "true or false"),
    ("MONGO_WTIMEOUT_MS", "-5", "milliseconds"),
    ("MONGO_WTIMEOUT_MS", "10s", "milliseconds"),
    ("MONGO_READ_PREFERENCE", "secondary_preferred", "secondaryPreferred"),
    ("MONGO_MAX_POOL_SIZE", "0", "connections"),
])
def test_bad_values_are_refused_in_one_line_naming_the_fix(name, value, fix):
    with pytest.raises(ConfigError) as info:
        mongo_options({name: value})
    message = str(info.value)
    assert "\n" not in message and message.startswith(f"{name}={value!r}")
    assert f"TINGFENG_{name}" in message and fix in message


def test_from_uri_refuses_a_bad_setting_before_connecting(monkeypatch):
    def no_connect(*args, **kwargs):
        raise AssertionError("connected despite a bad setting")

    monkeypatch.setattr("crawlers.storage.mongo.MongoClient", no_connect)
    with pytest.raises(ConfigError, match="MONGO_READ_PREFERENCE"):
        MongoStore.from_uri("mongodb://127.0.0.1:1/t", {"MONGO_READ_PREFERENCE": "any"})


def test_from_uri_reads_the_project_settings_by_default(monkeypatch):
    import crawlers.settings as project

    monkeypatch.setattr(MongoStore, "ensure_indexes", lambda self: None)
    monkeypatch.setattr(project, "MONGO_MAX_POOL_SIZE", "7")
    store = MongoStore.from_uri("mongodb://127.0.0.1:1/t")
    try:
        assert store.options.max_pool_size == 7
        assert store._client.options.pool_options.max_pool_size == 7
    finally:
        store.close()


# -- precedence: the URI's options over the settings ------------------------------------------
def test_settings_apply_where_the_uri_is_silent(monkeypatch):
    monkeypatch.setattr(MongoStore, "ensure_indexes", lambda self: None)
    options = MongoOptions(w=2, journal=True, wtimeout_ms=500,
                           read_preference="secondaryPreferred", max_pool_size=9)
    store = MongoStore("mongodb://127.0.0.1:1/t", options=options)
    try:
        assert store._posts.write_concern.document == {"w": 2, "j": True, "wtimeout": 500}
        assert store._post_reads.read_preference == SecondaryPreferred()
        assert store._client.options.pool_options.max_pool_size == 9
    finally:
        store.close()


def test_the_uri_options_win_one_by_one(monkeypatch):
    monkeypatch.setattr(MongoStore, "ensure_indexes", lambda self: None)
    options = MongoOptions(w="majority", journal=True, wtimeout_ms=500,
                           read_preference="nearest", max_pool_size=9)
    uri = ("mongodb://u:secret@127.0.0.1:1/t?w=1&readPreference=secondary"
           "&readPreferenceTags=dc:bj&maxPoolSize=3")
    store = MongoStore(uri, options=options)
    try:
        # w from the URI; j and wtimeout, which it does not set, from the settings
        assert store._posts.write_concern.document == {"w": 1, "j": True, "wtimeout": 500}
        assert store._post_reads.read_preference == Secondary(tag_sets=[{"dc": "bj"}])
        assert store._client.options.pool_options.max_pool_size == 3
        # …but never for coordination: claims stay on the primary with w=majority
        assert store._alerts.write_concern.document["w"] == "majority"
        assert store._alerts.read_preference == Primary()
    finally:
        store.close()


# -- the read-preference split ------------------------------------------------------------------
def test_reads_follow_the_preference_claims_and_records_stay_on_the_primary(client):
    store = store_on(client, read_preference="secondaryPreferred", w=1)
    assert store._post_reads.read_preference == SecondaryPreferred()
    assert store._author_reads.read_preference == SecondaryPreferred()
    for coordination in (store._alerts, store._runs, store._monitors):
        assert coordination.read_preference == Primary()
        assert coordination.write_concern.document["w"] == "majority"
    # the stored-text read before an upsert, and the writes, use the primary handle
    assert store._posts.read_preference == Primary()
    assert store._posts.write_concern.document["w"] == 1


def test_claims_and_text_reads_go_through_the_primary_handles(client, monkeypatch):
    store = store_on(client, read_preference="secondaryPreferred")
    store.save_alert(Alert("a1", "m", "rule", "warning", "msg", created_at=T0))
    store.upsert_posts([Post("weibo", "1", text="旧文", created_at=T0)])
    used = []
    for name in ("_alerts", "_posts", "_post_reads"):
        coll = getattr(store, name)
        for method in ("find", "find_one_and_update"):
            real = getattr(coll, method)
            monkeypatch.setattr(coll, method, lambda *a, _r=real, _n=name, _m=method, _c=coll,
                                **k: (used.append((_n, _m, _c.read_preference)), _r(*a, **k))[1])
    assert store.claim_alert("a1", "w1", now=T0, lease_seconds=60) is not None
    store.upsert_posts([Post("weibo", "1", text="新的文字", created_at=T0)])
    assert [u for u in used if u[1] == "find_one_and_update"] == [
        ("_alerts", "find_one_and_update", Primary())]
    assert ("_posts", "find", Primary()) in used  # the text rule reads the primary
    assert all(name != "_post_reads" for name, _, _ in used)
    list(store.posts())
    assert ("_post_reads", "find", SecondaryPreferred()) in used


# -- indexes ----------------------------------------------------------------------------------
def test_the_declared_index_list_is_what_the_store_creates(client):
    store = store_on(client)
    db = client["t"]
    for collection in ("posts", "authors", "runs", "alerts", "monitors"):
        found = {name: (tuple(tuple(k) for k in info["key"]), bool(info.get("unique")))
                 for name, info in db[collection].index_information().items() if name != "_id_"}
        declared = {s.name: (s.keys, s.unique) for s in ix.indexes_of(collection)}
        assert found == declared, collection
    store.ensure_indexes()  # idempotent
    assert store.extra_indexes() == []


def test_extra_indexes_lists_what_tingfeng_did_not_create(client):
    client["t"].posts.create_index([("topics", 1), ("created_at", 1)])
    store = store_on(client)
    assert store.extra_indexes() == [("posts", "topics_1_created_at_1",
                                      [("topics", 1), ("created_at", 1)])]


def test_every_declared_index_is_documented_and_named_as_the_driver_does():
    for spec in ix.INDEXES:
        assert f"`{spec.name}`" in README, f"add {spec.name} to README's MongoDB section"
        assert spec.used_by and spec.why
    assert ix.INDEXES[0].name == "platform_1_post_id_1"


def test_reads_hint_an_index_the_store_creates(client, monkeypatch):
    """mongomock ignores hints; a real server refuses a hint naming no index. Each hint must
    be a declared index, and the one whose order is the read's."""
    store = store_on(client)
    store.upsert_posts([Post("weibo", str(i), author_id="a", topics=["t"],
                             created_at=T0 + timedelta(minutes=i)) for i in range(3)])
    hints = []
    real = mongomock.collection.Cursor.hint
    monkeypatch.setattr(mongomock.collection.Cursor, "hint",
                        lambda self, index: (hints.append(tuple(index)), real(self, index))[1])
    declared = {spec.keys for spec in ix.INDEXES}
    cases = [
        (lambda: list(store.posts(topic="t")), ix.TOPIC_WINDOW),
        (lambda: list(store.posts(platform="weibo")), ix.TIME_WINDOW),
        (lambda: list(store.unscored_posts("m1")), ix.TIME_WINDOW),
        (lambda: store.newest_posts(topic="t"), ix.TOPIC_WINDOW),
        (lambda: store.newest_posts(sentiment="unscored"), ix.SENTIMENT_WINDOW),
        (lambda: store.newest_posts(author=("weibo", "a")), ix.AUTHOR_WINDOW),
    ]
    for read, index in cases:
        hints.clear()
        read()
        assert hints and set(hints) == {index}
        assert index in declared


# -- author_stats without a limit: a cursor, not one 16 MB $facet document -------------------
def test_every_author_row_streams_and_totals_match_the_reference(client, monkeypatch):
    mongo, memory = store_on(client), MemoryStore()
    posts = [Post("weibo", str(i), author_id=f"a{i % 5}", topics=["t"], like_count=i,
                  sentiment_label=("positive", "negative", "neutral")[i % 3],
                  created_at=T0 + timedelta(minutes=i)) for i in range(20)]
    for s in (mongo, memory):
        s.upsert_posts(posts)
    pipelines = []
    real = mongo._aggregate
    monkeypatch.setattr(mongo, "_aggregate", lambda p: (pipelines.append(p), real(p))[1])
    for args in ({}, {"offset": 2}, {"offset": 50}, {"offset": 50, "sentiment": "negative"},
                 {"sentiment": "positive", "order": "engagement"}):
        pipelines.clear()
        got, want = mongo.author_stats(**args), memory.author_stats(**args)
        assert (got.rows, got.total) == (want.rows, want.total), args
        assert not any("$facet" in stage for p in pipelines for stage in p), args
    assert mongo.author_stats(limit=2, offset=1) == memory.author_stats(limit=2, offset=1)


# -- the CLI ------------------------------------------------------------------------------------
def test_store_indexes_prints_the_declared_list(capsys, tmp_path):
    assert main(["--store", f"sqlite:///{tmp_path / 'x.db'}", "store", "indexes", "-f",
                 "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [(i["collection"], i["name"]) for i in out["indexes"]] == [
        (s.collection, s.name) for s in ix.INDEXES]
    assert out["extra"] is None  # not a MongoDB store: nothing to compare with
    assert main(["store", "indexes"]) == 0
    text = capsys.readouterr().out
    assert "posts.platform_1_post_id_1 unique" in text and "used by: cascade, " in text
