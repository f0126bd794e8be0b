"""The Store contract (crawlers/storage/base.py), run against every backend.

Times are whole seconds: MongoDB keeps milliseconds, the others microseconds.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta, timezone

import pytest

from crawlers.errors import BackendUnavailable, IntegrityError, StoreError, UnknownScheme
from crawlers.items import Alert, Author, CrawlRun, Monitor, Post, PostScore
from crawlers.storage import open_store
from tests.stores import dispose_store, make_store

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
CST = timezone(timedelta(hours=8))


@pytest.fixture(
    params=[
        "memory",
        "sqlite",
        "mongomock",
        pytest.param("mongodb", marks=pytest.mark.external_service),
    ]
)
def store(request, tmp_path):
    s = make_store(request.param, tmp_path)
    yield s
    dispose_store(s)


def post(post_id: str, minutes: int | None = 0, **fields) -> Post:
    created = None if minutes is None else T0 + timedelta(minutes=minutes)
    fields.setdefault("text", f"帖子 {post_id}")
    return Post("weibo", post_id, created_at=created, **fields)


def ids(posts) -> list[str]:
    return [p.post_id for p in posts]


# -- upsert semantics ---------------------------------------------------------------------------
def test_upsert_is_idempotent_and_updates_counts(store):
    batch = [post("1", like_count=1, topics=["t"]), post("2", kind="repost", like_count=5)]
    assert store.upsert_posts(batch) == 2
    assert store.upsert_posts([post("1", like_count=7, topics=["t"]), batch[1]]) == 2
    assert store.counts()["posts"] == 2
    assert store.get_posts([("weibo", "1")])[("weibo", "1")].like_count == 7
    assert ids(store.posts(topic="t")) == ["1"]


def test_none_keeps_the_stored_value(store):
    store.upsert_posts([post("1", url="https://m.weibo.cn/detail/1", author_name="甲",
                             like_count=3, region="北京")])
    store.upsert_posts([post("1", minutes=None, repost_count=9)])  # a sparser source
    got = store.get_posts([("weibo", "1")])[("weibo", "1")]
    assert (got.url, got.author_name, got.like_count, got.region) == (
        "https://m.weibo.cn/detail/1", "甲", 3, "北京")
    assert got.repost_count == 9
    assert got.created_at == T0


def test_empty_text_and_chain_of_a_sparse_record_keep_the_stored_ones(store):
    # A list entry with only a digest, or a long-text body without the repost chain, must not
    # erase what a fuller record stored ("" and [] mean "not known here", like None).
    store.upsert_posts([Post("weibo", "1", text="全文……", repost_path=["甲", "乙"], created_at=T0)])
    store.upsert_posts([Post("weibo", "1", text="", repost_path=[], like_count=3)])
    [got] = store.get_posts([("weibo", "1")]).values()
    assert (got.text, got.repost_path, got.like_count) == ("全文……", ["甲", "乙"], 3)


def test_topics_are_unioned(store):
    store.upsert_posts([post("1", topics=["b"])])
    store.upsert_posts([post("1", topics=["a", "b", "a"])])
    store.upsert_posts([post("1", topics=[])])
    assert store.get_posts([("weibo", "1")])[("weibo", "1")].topics == ["a", "b"]
    assert ids(store.posts(topic="a")) == ids(store.posts(topic="b")) == ["1"]
    store.upsert_posts([post("1", minutes=None, topics=["c"])])  # no time: the stored one holds
    assert ids(store.posts(topic="c", since=T0, until=T0 + timedelta(seconds=1))) == ["1"]


def test_extra_is_merged_key_by_key(store):
    store.upsert_posts([post("1", extra={
        "source": "iPhone客户端", "pics": {"n": 2, "ids": ["p1", "p2"]}, "long": True,
        "page": {"type": None},
    })])
    store.upsert_posts([post("1", extra={"pics": {"n": 3}, "long": False, "ratio": 0.1,
                                         "source": None})])
    assert store.get_posts([("weibo", "1")])[("weibo", "1")].extra == {
        "source": "iPhone客户端",  # None in the incoming extra keeps the stored value
        "pics": {"n": 3},  # one level deep: a nested dict is replaced whole
        "long": False,
        "ratio": 0.1,
        "page": {"type": None},  # nested nulls are data and survive
    }


def test_extra_keys_must_be_plain_names(store):
    with pytest.raises(IntegrityError, match="a.b"):
        store.upsert_posts([post("1", extra={"a.b": 1})])


def test_returned_and_passed_records_are_not_shared_with_the_store(store):
    mine = post("1", topics=["t"], extra={"k": [1]}, repost_path=["甲"])
    store.upsert_posts([mine])
    mine.topics.append("x")
    mine.extra["k"].append(2)
    got = store.get_posts([("weibo", "1")])[("weibo", "1")]
    got.repost_path.append("乙")
    again = store.get_posts([("weibo", "1")])[("weibo", "1")]
    assert (again.topics, again.extra, again.repost_path) == (["t"], {"k": [1]}, ["甲"])


# -- reading windows ----------------------------------------------------------------------------
def test_window_is_half_open(store):
    store.upsert_posts([post("a", 0), post("b", 60), post("c", 120), post("u", None)])
    one_hour = T0 + timedelta(hours=1)
    assert ids(store.posts(since=one_hour, until=one_hour + timedelta(hours=1))) == ["b"]
    assert ids(store.posts(since=T0)) == ["a", "b", "c"]  # since is included; undated not
    assert ids(store.posts(until=T0 + timedelta(hours=2))) == ["a", "b"]  # until is excluded


def test_posts_are_ordered_by_time_then_key_undated_last(store):
    store.upsert_posts([
        post("9", None), post("5", 30), post("3", 0), post("2", 30), post("1", None),
        Post("zhihu", "0", created_at=T0 + timedelta(minutes=30)),
    ])
    assert [p.key for p in store.posts()] == [
        ("weibo", "3"), ("weibo", "2"), ("weibo", "5"), ("zhihu", "0"),
        ("weibo", "1"), ("weibo", "9"),
    ]


def test_platform_and_topic_filters(store):
    store.upsert_posts([post("1", topics=["t"]), post("2", 5, topics=["u"]),
                        Post("zhihu", "1", created_at=T0, topics=["t"])])
    assert [p.key for p in store.posts(platform="zhihu")] == [("zhihu", "1")]
    assert [p.key for p in store.posts(topic="t")] == [("weibo", "1"), ("zhihu", "1")]
    assert [p.key for p in store.posts(topic="t", platform="weibo", since=T0)] == [("weibo", "1")]
    assert list(store.posts(topic="nope")) == []


def test_datetimes_come_back_aware_utc(store):
    local = datetime(2026, 3, 1, 20, 15, 30, tzinfo=CST)  # 12:15:30 UTC
    store.upsert_posts([Post("weibo", "1", created_at=local, fetched_at=local)])
    got = next(store.posts())
    assert got.created_at.tzinfo is not None and got.fetched_at.tzinfo is not None
    assert got.created_at.utcoffset() == timedelta(0)
    assert got.created_at == local
    assert (got.created_at.hour, got.created_at.minute) == (12, 15)
    # Bounds given in China time select the same instant.
    assert ids(store.posts(since=local, until=local + timedelta(seconds=1))) == ["1"]


def test_chinese_text_and_emoji_round_trip(store):
    text = "今天在#话题#下看到「好消息」😀👍🏻，转发一下\u200b //@路人甲:哈哈"
    store.upsert_posts([post("1", text=text, author_name="微博用户🐱", topics=["新闻 话题"],
                             extra={"来源": "微博 weibo.com", "表情": ["[doge]", "😂"]})])
    got = store.get_posts([("weibo", "1")])[("weibo", "1")]
    assert got.text == text
    assert got.author_name == "微博用户🐱"
    assert got.topics == ["新闻 话题"]
    assert got.extra == {"来源": "微博 weibo.com", "表情": ["[doge]", "😂"]}
    assert ids(store.posts(topic="新闻 话题")) == ["1"]


def test_get_posts_returns_only_stored_keys(store):
    store.upsert_posts([post("1"), post("2")])
    got = store.get_posts([("weibo", "2"), ("weibo", "404"), ("zhihu", "1")])
    assert list(got) == [("weibo", "2")]
    assert got[("weibo", "2")].text == "帖子 2"


def test_cascade_returns_the_root_and_its_whole_tree(store):
    store.upsert_posts([
        post("r", 10, kind="original"),
        post("c", 30, kind="comment", root_post_id="r", parent_post_id="b"),
        post("a", 20, kind="repost", root_post_id="r", parent_post_id="r"),
        post("b", 20, kind="repost", root_post_id="r", parent_post_id="a"),
        post("early", 0, kind="repost", root_post_id="r"),  # clock skew: before its root
        post("other", 25, root_post_id="x"),
        Post("zhihu", "z", created_at=T0, root_post_id="r"),
    ])
    assert ids(store.cascade("weibo", "r")) == ["r", "early", "a", "b", "c"]
    assert ids(store.cascade("weibo", "x")) == ["other"]  # root not stored: the tree alone
    assert store.cascade("weibo", "nothing") == []


def test_a_root_that_names_itself_appears_once(store):
    store.upsert_posts([post("r", 0, root_post_id="r"), post("a", 5, root_post_id="r")])
    assert ids(store.cascade("weibo", "r")) == ["r", "a"]


# -- scores -------------------------------------------------------------------------------------
def test_set_scores_and_unscored_posts(store):
    store.upsert_posts([post("1", 0, topics=["t"]), post("2", 1, topics=["t"]), post("3", 2)])
    assert ids(store.unscored_posts("snownlp-1")) == ["1", "2", "3"]
    scores = {
        ("weibo", "1"): PostScore(0.9, "positive", "snownlp-1", emotion="joy"),
        ("weibo", "2"): PostScore(0.1, "negative", "snownlp-1", risk_hits=["维权"]),
        ("weibo", "404"): PostScore(0.5, "neutral", "snownlp-1"),
    }
    assert store.set_scores(scores) == 2
    assert ids(store.unscored_posts("snownlp-1")) == ["3"]
    assert ids(store.unscored_posts("snownlp-1", topic="t")) == []
    assert ids(store.unscored_posts("snownlp-2", topic="t")) == ["1", "2"]
    got = store.get_posts([("weibo", "1"), ("weibo", "2")])
    one, two = got[("weibo", "1")], got[("weibo", "2")]
    assert (one.sentiment, one.sentiment_label, one.emotion, one.sentiment_model) == (
        0.9, "positive", "joy", "snownlp-1")
    assert (two.emotion, two.risk_hits) == (None, ["维权"])
    # A re-crawl (scores None) keeps them; a rescore without emotion clears the old one.
    store.upsert_posts([post("1", like_count=4)])
    store.set_scores({("weibo", "1"): PostScore(0.8, "positive", "snownlp-2")})
    one = store.get_posts([("weibo", "1")])[("weibo", "1")]
    assert (one.sentiment, one.emotion, one.sentiment_model, one.like_count) == (
        0.8, None, "snownlp-2", 4)


def test_score_inputs_are_the_unscored_posts_key_text_and_kind(store):
    many = [post(f"{i:04d}", i % 50, topics=["t"] if i % 3 else []) for i in range(2100)]
    store.upsert_posts([*many, post("undated", None, kind="comment", topics=["t"]),
                        post("empty", 7, text="")])
    store.set_scores({("weibo", "0001"): PostScore(0.5, "neutral", "m")})

    def expect(posts):
        return [(p.platform, p.post_id, p.text, p.kind) for p in posts]

    got = list(store.score_inputs("m"))
    assert [tuple(i) for i in got] == expect(store.unscored_posts("m"))
    assert len(got) == 2101 and got[-1] == ("weibo", "undated", "帖子 undated", "comment")
    assert got[0].key == ("weibo", "0000") and ("weibo", "empty", "", "original") in got
    assert [tuple(i) for i in store.score_inputs("m", topic="t")] == expect(
        store.unscored_posts("m", topic="t"))
    assert [tuple(i) for i in store.score_inputs(None)] == expect(store.posts())
    assert [tuple(i) for i in store.score_inputs(None, topic="t")] == expect(
        store.posts(topic="t"))


def test_rescores_that_keep_or_move_labels(store):
    """A rescore may keep a post's label and emotion (only score, model and risk hits change)
    or move them; either way the post and its topic's counts read the new scores."""
    store.upsert_posts([post("1", topics=["t"]), post("2", topics=["t"])])
    store.set_scores({("weibo", "1"): PostScore(0.2, "negative", "m1", emotion="anger"),
                      ("weibo", "2"): PostScore(0.9, "positive", "m1")})
    assert store.set_scores({
        ("weibo", "1"): PostScore(0.3, "negative", "m2", emotion="anger", risk_hits=["x:y"]),
        ("weibo", "2"): PostScore(0.1, "negative", "m2", emotion="sadness"),
    }) == 2
    got = store.get_posts([("weibo", "1"), ("weibo", "2")])
    assert [(p.sentiment, p.sentiment_label, p.emotion, p.sentiment_model, p.risk_hits)
            for p in got.values()] == [(0.3, "negative", "anger", "m2", ["x:y"]),
                                       (0.1, "negative", "sadness", "m2", [])]
    rows = store.post_counts(topic="t", bucket=None, by=("sentiment_label", "emotion"))
    assert sorted(rows, key=lambda r: r["emotion"]) == [
        {"sentiment_label": "negative", "emotion": "anger", "posts": 1, "engagement": 0},
        {"sentiment_label": "negative", "emotion": "sadness", "posts": 1, "engagement": 0},
    ]
    assert list(store.unscored_posts("m2")) == []


def test_scoring_while_reading_unscored_posts(store):
    store.upsert_posts([post(str(i), i) for i in range(5)])
    seen = []
    for p in store.unscored_posts("m"):
        seen.append(p.post_id)
        store.set_scores({p.key: PostScore(0.5, "neutral", "m")})
    assert seen == ["0", "1", "2", "3", "4"]
    assert list(store.unscored_posts("m")) == []


def test_authors_merge_and_set_author_scores(store):
    store.upsert_authors([
        Author("weibo", "u1", name="甲", followers=100, verified=True, extra={"mbrank": 3}),
        Author("weibo", "u2", name="乙"),
    ])
    store.upsert_authors([Author("weibo", "u1", followers=150, extra={"svip": 1})])
    assert store.set_author_scores({("weibo", "u1"): ("kol", 0.8),
                                    ("weibo", "u2"): (None, 0.1),
                                    ("weibo", "nobody"): ("kol", 1.0)}) == 2
    everyone = store.authors()
    assert sorted(everyone) == [("weibo", "u1"), ("weibo", "u2")]
    u1 = store.authors([("weibo", "u1"), ("zhihu", "u1")])
    assert list(u1) == [("weibo", "u1")]
    a = u1[("weibo", "u1")]
    assert (a.name, a.followers, a.verified, a.extra) == ("甲", 150, True, {"mbrank": 3, "svip": 1})
    assert (a.tier, a.influence) == ("kol", 0.8)
    assert (everyone[("weibo", "u2")].tier, everyone[("weibo", "u2")].influence) == (None, 0.1)
    store.upsert_authors([Author("weibo", "u1", name="甲")])  # a re-crawl keeps the scores
    assert store.authors([("weibo", "u1")])[("weibo", "u1")].tier == "kol"
    assert store.counts()["authors"] == 2


# -- runs, alerts, monitors ---------------------------------------------------------------------
def test_runs_are_replaced_by_id_and_filtered(store):
    store.record_run(CrawlRun("r1", "weibo", topic="t", started_at=T0, stats={"items": 1}))
    store.record_run(CrawlRun("r2", "zhihu", topic="t", started_at=T0 + timedelta(hours=1)))
    store.record_run(CrawlRun("r3", "weibo", topic="u", kind="monitor",
                              started_at=T0 - timedelta(hours=1)))
    store.record_run(CrawlRun("r1", "weibo", topic="t", started_at=T0,
                              finished_at=T0 + timedelta(minutes=5), finish_reason="finished",
                              stats={"items": 42, "platform/weibo/login_required": 1}))
    assert [r.run_id for r in store.runs()] == ["r3", "r1", "r2"]
    assert [r.run_id for r in store.runs(topic="t")] == ["r1", "r2"]
    assert [r.run_id for r in store.runs(platform="weibo", since=T0)] == ["r1"]
    assert [r.run_id for r in store.runs(kind="monitor")] == ["r3"]
    r1 = store.runs(topic="t", platform="weibo")[0]
    assert r1.stats == {"items": 42, "platform/weibo/login_required": 1}
    assert (r1.finish_reason, r1.finished_at) == ("finished", T0 + timedelta(minutes=5))
    assert store.counts()["runs"] == 3


def alert(alert_id: str, minutes: int, monitor: str = "m1", **fields) -> Alert:
    fields.setdefault("message", f"负面占比上升 {alert_id}")
    return Alert(alert_id, monitor, "NegativeSurge", "warning",
                 metric="posts/negative_ratio", value=0.4, threshold=0.3,
                 window_start=T0, window_end=T0 + timedelta(hours=1),
                 created_at=T0 + timedelta(minutes=minutes), **fields)


def test_save_alert_dedupes_and_update_alert_changes_status(store):
    assert store.save_alert(alert("a1", 0)) is True
    assert store.save_alert(alert("a1", 5, message="changed")) is False
    [saved] = store.alerts()
    assert (saved.message, saved.created_at, saved.status) == ("负面占比上升 a1", T0, "pending")
    sent_at = T0 + timedelta(minutes=2)
    store.update_alert(alert("a1", 0, status="sent", attempts=2, sent_at=sent_at,
                             message="ignored"))
    [sent] = store.alerts()
    assert (sent.status, sent.attempts, sent.sent_at, sent.message) == (
        "sent", 2, sent_at, "负面占比上升 a1")
    store.update_alert(alert("a1", 0, status="pending", attempts=3, last_error="SMTP 421"))
    [again] = store.alerts()
    assert (again.status, again.sent_at, again.last_error) == ("pending", None, "SMTP 421")
    with pytest.raises(KeyError):
        store.update_alert(alert("missing", 0))


def test_claim_alert_is_exclusive_until_the_lease_ends(store):
    store.save_alert(alert("a1", 0))
    now = T0 + timedelta(minutes=1)
    mine = store.claim_alert("a1", "proc-a", now=now, lease_seconds=60)
    assert mine is not None and (mine.claimed_by, mine.claimed_until) == (
        "proc-a", now + timedelta(seconds=60))
    assert store.claim_alert("a1", "proc-b", now=now + timedelta(seconds=59),
                             lease_seconds=60) is None
    renewed = store.claim_alert("a1", "proc-a", now=now + timedelta(seconds=30), lease_seconds=60)
    assert renewed is not None and renewed.claimed_until == now + timedelta(seconds=90)
    # a crashed holder's lease runs out and another process takes over
    taken = store.claim_alert("a1", "proc-b", now=now + timedelta(seconds=90), lease_seconds=60)
    assert taken is not None and taken.claimed_by == "proc-b"
    assert store.claim_alert("missing", "proc-a", now=now, lease_seconds=60) is None


def test_update_alert_with_owner_writes_only_for_the_holder(store):
    store.save_alert(alert("a1", 0))
    now = T0 + timedelta(minutes=1)
    held = store.claim_alert("a1", "proc-a", now=now, lease_seconds=60)
    assert held is not None
    progress = {"mail:1a2b": {"status": "sent", "attempts": 1}}
    stolen = dataclasses.replace(held, deliveries=progress)
    assert store.update_alert(stolen, owner="proc-b") is False
    assert store.alerts()[0].deliveries == {}
    assert store.update_alert(dataclasses.replace(held, deliveries=progress, attempts=1),
                              owner="proc-a") is True
    [stored] = store.alerts()
    assert (stored.deliveries, stored.attempts, stored.claimed_by) == (progress, 1, "proc-a")
    done = dataclasses.replace(stored, status="sent", sent_at=now, claimed_by=None,
                               claimed_until=None)
    assert store.update_alert(done, owner="proc-a") is True
    [sent] = store.alerts()
    assert (sent.status, sent.claimed_by, sent.claimed_until) == ("sent", None, None)
    # a sent alert cannot be claimed again, by anyone
    assert store.claim_alert("a1", "proc-a", now=now, lease_seconds=60) is None
    with pytest.raises(KeyError):
        store.update_alert(alert("missing", 0), owner="proc-a")


def test_alerts_are_filtered_oldest_first(store):
    store.save_alert(alert("late", 30))
    store.save_alert(alert("early", 0, status="sent"))
    store.save_alert(alert("other", 10, monitor="m2"))
    assert [a.alert_id for a in store.alerts()] == ["early", "other", "late"]
    assert [a.alert_id for a in store.alerts(monitor="m1")] == ["early", "late"]
    assert [a.alert_id for a in store.alerts(status="pending")] == ["other", "late"]
    assert [a.alert_id for a in store.alerts(since=T0 + timedelta(minutes=10))] == [
        "other", "late"]
    assert store.counts()["alerts"] == 3


def test_monitors_save_replace_delete(store):
    store.save_monitor(Monitor(
        "品牌", "华为 AND (手机 OR 芯片)", platforms=["weibo"], every=600,
        recipients=["pr@example.com"], thresholds={"ALERT_NEGATIVE_RATIO": 0.3}, created_at=T0,
    ))
    store.save_monitor(Monitor("competitor", "小米", cron="0 * * * *"))
    store.save_monitor(Monitor("competitor", "小米 OR 红米", cron="*/30 * * * *", paused=True))
    assert [m.name for m in store.monitors()] == ["competitor", "品牌"]
    brand = store.get_monitor("品牌")
    assert brand is not None
    assert (brand.query, brand.every, brand.thresholds, brand.created_at) == (
        "华为 AND (手机 OR 芯片)", 600, {"ALERT_NEGATIVE_RATIO": 0.3}, T0)
    replaced = store.get_monitor("competitor")
    assert (replaced.query, replaced.cron, replaced.paused, replaced.every) == (
        "小米 OR 红米", "*/30 * * * *", True, None)
    assert store.delete_monitor("competitor") is True
    assert store.delete_monitor("competitor") is False
    assert store.get_monitor("competitor") is None
    assert store.counts()["monitors"] == 1


def test_counts(store):
    assert store.counts() == {"posts": 0, "authors": 0, "runs": 0, "alerts": 0, "monitors": 0}
    store.upsert_posts([post("1"), post("2", kind="repost"), post("3", kind="repost"),
                        post("4", kind="comment")])
    store.upsert_authors([Author("weibo", "u")])
    counts = store.counts()
    assert (counts["posts"], counts["posts/original"], counts["posts/repost"],
            counts["posts/comment"], counts["authors"]) == (4, 1, 2, 1, 1)


# -- text quality: never overwrite text with worse text -----------------------------------------
FULL = "国务院发布新规：自下月起，外卖平台须公开抽成比例，骑手社保由平台统一缴纳。"
SNIPPET = "国务院发布新规：自下月起，外卖平台须公开...全文"


def text_of(store, post_id: str = "1") -> str:
    return store.get_posts([("weibo", post_id)])[("weibo", post_id)].text


def test_a_snippet_does_not_replace_the_full_text(store):
    assert store.last_upsert_stats == {}  # before any upsert
    store.upsert_posts([post("1", text=FULL, like_count=1)])
    assert store.last_upsert_stats == {"written": 1, "text_kept": 0}
    assert store.upsert_posts([post("1", text=SNIPPET, like_count=9)]) == 1
    assert store.last_upsert_stats == {"written": 1, "text_kept": 1}
    got = store.get_posts([("weibo", "1")])[("weibo", "1")]
    assert (got.text, got.like_count) == (FULL, 9)  # the rest of the record still merges
    for worse in (FULL[:12], FULL[:12] + "…", FULL[:20] + " 展开全文", FULL + "…"):
        store.upsert_posts([post("1", text=worse)])
        assert (text_of(store), store.last_upsert_stats["text_kept"]) == (FULL, 1), worse


def test_the_full_text_replaces_a_snippet(store):
    store.upsert_posts([post("1", text=SNIPPET)])
    store.upsert_posts([post("1", text=FULL)])
    assert (text_of(store), store.last_upsert_stats["text_kept"]) == (FULL, 0)
    # a snippet whose words are the whole text: the unmarked copy is the better one
    store.upsert_posts([post("2", text="就这一句话…全文")])
    store.upsert_posts([post("2", text="就这一句话")])
    assert text_of(store, "2") == "就这一句话"


def test_mojibake_does_not_replace_clean_text(store):
    clean = "半个表情😀然后继续说"
    store.upsert_posts([post("1", text=clean), post("2", text="早上好")])
    store.upsert_posts([post("1", text="半个表情\ufffd然后继续说"),  # one broken character
                        post("2", text="\ufffd\ufffd好")])
    assert (text_of(store, "1"), text_of(store, "2")) == (clean, "早上好")
    assert store.last_upsert_stats == {"written": 2, "text_kept": 2}
    # a much longer text with one broken character is still more text: it wins
    longer = "早上好，今天的发布会内容很多\ufffd，下面逐条说明。"
    store.upsert_posts([post("2", text=longer)])
    assert (text_of(store, "2"), store.last_upsert_stats["text_kept"]) == (longer, 0)


def test_an_edited_text_replaces_the_stored_one(store):
    store.upsert_posts([post("1", text=FULL)])
    edited = FULL.replace("下月", "明年")  # not a prefix: a real edit
    store.upsert_posts([post("1", text=edited)])
    assert (text_of(store), store.last_upsert_stats["text_kept"]) == (edited, 0)
    store.upsert_posts([post("1", text="更正：此前消息有误。")])  # shorter, but not a prefix
    assert text_of(store) == "更正：此前消息有误。"


def test_texts_of_one_batch_follow_the_same_rule_in_order(store):
    store.upsert_posts([post("1", text=FULL), post("1", text=SNIPPET),
                        post("2", text=SNIPPET), post("2", text=FULL)])
    assert (text_of(store, "1"), text_of(store, "2")) == (FULL, FULL)
    assert store.last_upsert_stats == {"written": 4, "text_kept": 1}


def test_upsert_stats_belong_to_the_last_call_of_this_thread(store):
    import threading

    store.upsert_posts([post("1", text=FULL)])
    store.upsert_posts([post("1", text=SNIPPET)])
    other = threading.Thread(target=lambda: store.upsert_posts([post("9"), post("8")]))
    other.start()
    other.join()
    assert store.last_upsert_stats == {"written": 1, "text_kept": 1}  # not the other thread's
    store.upsert_authors([Author("weibo", "u")])
    assert store.last_upsert_stats == {"written": 1, "text_kept": 0}
    stats = store.last_upsert_stats
    stats["text_kept"] = 99  # a copy
    assert store.last_upsert_stats["text_kept"] == 0


# -- aggregates: post_counts, author_counts -----------------------------------------------------
BEIJING_MIDNIGHT = datetime(2026, 3, 1, 16, 0, tzinfo=UTC)  # 2026-03-02 00:00 in Beijing
MAR_1_BJ = BEIJING_MIDNIGHT - timedelta(days=1)  # the bucket of Beijing's 2026-03-01


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def counted_posts() -> list[Post]:
    """Seven posts around Beijing midnight; every figure below is counted by hand from here."""
    def make(platform, post_id, when, **fields):
        return Post(platform, post_id, created_at=at(when) if when else None, **fields)
    return [
        make("weibo", "1", "2026-03-01T00:30:00", sentiment_label="positive", emotion="joy",
             like_count=1, comment_count=2, repost_count=3, topics=["t"], author_id="a"),
        make("weibo", "2", "2026-03-01T15:59:59", sentiment_label="negative", emotion="anger",
             kind="repost", like_count=10, topics=["t"], author_id="a"),
        make("weibo", "3", "2026-03-01T16:00:00", sentiment_label="negative", kind="comment",
             topics=["t", "u"], author_id="b"),
        make("zhihu", "4", "2026-03-01T16:30:00", sentiment_label="positive", emotion="joy",
             like_count=4, repost_count=1, topics=["u"], author_id="a"),
        make("weibo", "5", "2026-03-02T15:59:59", like_count=2, topics=["t"], author_id="b"),
        make("weibo", "6", None, sentiment_label="negative", like_count=100, topics=["t"],
             author_id="a"),
        make("zhihu", "7", "2026-03-02T01:00:00", sentiment_label="neutral"),  # no author
    ]


def test_post_counts_by_beijing_day_and_sentiment(store):
    store.upsert_posts(counted_posts())
    assert store.post_counts() == [
        {"bucket": MAR_1_BJ, "sentiment_label": "negative", "posts": 1, "engagement": 10},
        {"bucket": MAR_1_BJ, "sentiment_label": "positive", "posts": 1, "engagement": 6},
        {"bucket": BEIJING_MIDNIGHT, "sentiment_label": "negative", "posts": 1, "engagement": 0},
        {"bucket": BEIJING_MIDNIGHT, "sentiment_label": "neutral", "posts": 1, "engagement": 0},
        {"bucket": BEIJING_MIDNIGHT, "sentiment_label": "positive", "posts": 1, "engagement": 5},
        {"bucket": BEIJING_MIDNIGHT, "sentiment_label": None, "posts": 1, "engagement": 2},
        # no bounds: the undated post is counted, as posts() returns it, last
        {"bucket": None, "sentiment_label": "negative", "posts": 1, "engagement": 100},
    ]
    assert sum(r["posts"] for r in store.post_counts()) == len(list(store.posts())) == 7
    assert all(r["bucket"] is None or r["bucket"].utcoffset() == timedelta(0)
               for r in store.post_counts())


def test_post_counts_buckets_follow_the_time_zone(store):
    store.upsert_posts(counted_posts())
    day = datetime(2026, 3, 1, tzinfo=UTC)
    assert store.post_counts(by=["platform"], tz="UTC") == [
        {"bucket": day, "platform": "weibo", "posts": 3, "engagement": 16},
        {"bucket": day, "platform": "zhihu", "posts": 1, "engagement": 5},
        {"bucket": day + timedelta(days=1), "platform": "weibo", "posts": 1, "engagement": 2},
        {"bucket": day + timedelta(days=1), "platform": "zhihu", "posts": 1, "engagement": 0},
        {"bucket": None, "platform": "weibo", "posts": 1, "engagement": 100},
    ]
    # 23:59:59 and 00:00:00 Beijing time fall in different hours and days
    hour = at("2026-03-01T15:00:00")
    assert store.post_counts(since=hour, until=hour + timedelta(hours=2), bucket="hour",
                             by=()) == [
        {"bucket": hour, "posts": 1, "engagement": 10},
        {"bucket": BEIJING_MIDNIGHT, "posts": 2, "engagement": 5},
    ]


def test_post_counts_filters_and_half_open_window(store):
    store.upsert_posts(counted_posts())
    assert store.post_counts(topic="t", bucket=None, by=("platform", "kind")) == [
        {"platform": "weibo", "kind": "comment", "posts": 1, "engagement": 0},
        {"platform": "weibo", "kind": "original", "posts": 3, "engagement": 108},
        {"platform": "weibo", "kind": "repost", "posts": 1, "engagement": 10},
    ]
    assert store.post_counts(platform="zhihu") == [
        {"bucket": BEIJING_MIDNIGHT, "sentiment_label": "neutral", "posts": 1, "engagement": 0},
        {"bucket": BEIJING_MIDNIGHT, "sentiment_label": "positive", "posts": 1, "engagement": 5},
    ]
    next_day = BEIJING_MIDNIGHT + timedelta(days=1)
    assert store.post_counts(topic="u", since=BEIJING_MIDNIGHT, until=next_day,
                             by=("emotion",)) == [
        {"bucket": BEIJING_MIDNIGHT, "emotion": "joy", "posts": 1, "engagement": 5},
        {"bucket": BEIJING_MIDNIGHT, "emotion": None, "posts": 1, "engagement": 0},
    ]
    # until is excluded (post 3 is at Beijing midnight exactly), since included
    assert store.post_counts(until=BEIJING_MIDNIGHT, bucket=None, by=()) == [
        {"posts": 2, "engagement": 16}]
    assert store.post_counts(since=BEIJING_MIDNIGHT, bucket=None, by=()) == [
        {"posts": 4, "engagement": 7}]
    assert store.post_counts(since=next_day, until=next_day) == []
    assert store.post_counts(topic="nope") == []
    assert store.post_counts(since=BEIJING_MIDNIGHT, by=["sentiment_label", "sentiment_label"]
                             ) == store.post_counts(since=BEIJING_MIDNIGHT)


def test_post_counts_honour_daylight_saving_time(store):
    store.upsert_posts([
        Post("weibo", "a", created_at=at("2026-03-08T04:59:59")),  # Mar 7 23:59:59 EST
        Post("weibo", "b", created_at=at("2026-03-08T05:00:00")),  # Mar 8 00:00 EST
        Post("weibo", "c", created_at=at("2026-03-09T03:59:59")),  # Mar 8 23:59:59 EDT
        Post("weibo", "d", created_at=at("2026-03-09T04:00:00")),  # Mar 9 00:00 EDT
        Post("weibo", "e", created_at=at("2026-11-01T05:30:00")),  # 01:30 EDT
        Post("weibo", "f", created_at=at("2026-11-01T06:30:00")),  # 01:30 EST, an hour later
    ])
    days = store.post_counts(tz="America/New_York", by=())
    assert [(r["bucket"], r["posts"]) for r in days] == [
        (at("2026-03-07T05:00:00"), 1),
        (at("2026-03-08T05:00:00"), 2),  # a 23-hour day
        (at("2026-03-09T04:00:00"), 1),
        (at("2026-11-01T04:00:00"), 2),  # a 25-hour day
    ]
    hours = store.post_counts(tz="America/New_York", bucket="hour", by=(),
                              since=at("2026-11-01T00:00:00"))
    assert [(r["bucket"], r["posts"]) for r in hours] == [
        (at("2026-11-01T05:00:00"), 1), (at("2026-11-01T06:00:00"), 1)]  # 01:00 twice


def test_post_counts_in_a_half_hour_zone(store):
    store.upsert_posts([Post("weibo", "1", created_at=at("2026-03-01T18:29:59")),
                        Post("weibo", "2", created_at=at("2026-03-01T18:30:00"))])
    rows = store.post_counts(tz="Asia/Kolkata", by=())  # India: UTC+05:30
    assert [(r["bucket"], r["posts"]) for r in rows] == [
        (at("2026-02-28T18:30:00"), 1), (at("2026-03-01T18:30:00"), 1)]
    hours = store.post_counts(tz="Asia/Kolkata", bucket="hour", by=())
    assert [r["bucket"] for r in hours] == [at("2026-03-01T17:30:00"), at("2026-03-01T18:30:00")]


def test_post_counts_on_an_empty_store_and_bad_arguments(store):
    assert store.post_counts() == []
    assert store.post_counts(bucket=None, by=()) == []
    assert store.post_counts(since=T0, bucket="hour", by=("platform",)) == []
    assert store.author_counts() == []
    with pytest.raises(ValueError, match="week"):
        store.post_counts(bucket="week")
    with pytest.raises(ValueError, match="author_id"):
        store.post_counts(by=("author_id",))
    with pytest.raises(ValueError, match="Mars/Olympus"):
        store.post_counts(tz="Mars/Olympus")
    with pytest.raises(ValueError, match="limit"):
        store.author_counts(limit=-1)


def test_author_counts_rank_authors_by_posts(store):
    store.upsert_posts(counted_posts())
    assert store.author_counts() == [
        {"platform": "weibo", "author_id": "a", "posts": 3, "engagement": 116},
        {"platform": "weibo", "author_id": "b", "posts": 2, "engagement": 2},
        {"platform": "zhihu", "author_id": "a", "posts": 1, "engagement": 5},
    ]
    assert store.author_counts(limit=1) == store.author_counts()[:1]
    assert store.author_counts(limit=0) == []
    # bounded: the undated post is out; a tie on posts goes to engagement
    assert store.author_counts(since=at("2026-03-01T00:00:00")) == [
        {"platform": "weibo", "author_id": "a", "posts": 2, "engagement": 16},
        {"platform": "weibo", "author_id": "b", "posts": 2, "engagement": 2},
        {"platform": "zhihu", "author_id": "a", "posts": 1, "engagement": 5},
    ]
    assert store.author_counts(topic="u") == [
        {"platform": "zhihu", "author_id": "a", "posts": 1, "engagement": 5},
        {"platform": "weibo", "author_id": "b", "posts": 1, "engagement": 0},
    ]
    assert store.author_counts(platform="zhihu", until=BEIJING_MIDNIGHT) == []
    assert store.author_counts(since=BEIJING_MIDNIGHT, until=BEIJING_MIDNIGHT) == []


def test_aggregates_follow_later_writes(store):
    store.upsert_posts(counted_posts())
    store.upsert_posts([Post("weibo", "5", like_count=7, author_id="c")])  # counts and author
    store.set_scores({("weibo", "5"): PostScore(0.1, "negative", "m", emotion="sad")})
    row = [r for r in store.post_counts(since=BEIJING_MIDNIGHT, by=("sentiment_label",
                                                                     "emotion"))
           if r["emotion"] == "sad"]
    assert row == [{"bucket": BEIJING_MIDNIGHT, "sentiment_label": "negative", "emotion": "sad",
                    "posts": 1, "engagement": 7}]
    assert {"platform": "weibo", "author_id": "c", "posts": 1, "engagement": 7} in \
        store.author_counts()


def test_author_counts_carry_profile_fields_on_request(store):
    store.upsert_posts(counted_posts())
    store.upsert_authors([Author("weibo", "a", followers=150_000, verified=True,
                                 extra={"voteup_count": 3}),
                          Author("zhihu", "a", tier="head")])
    plain = store.author_counts()
    rows = store.author_counts(fields=("tier", "followers", "verified", "extra"))
    assert [{k: v for k, v in r.items() if k != "profile"} for r in rows] == plain
    assert [r["profile"] for r in rows] == [
        {"tier": None, "followers": 150_000, "verified": True, "extra": {"voteup_count": 3}},
        None,  # weibo b has no stored profile
        {"tier": "head", "followers": None, "verified": None, "extra": {}},
    ]
    assert [r["profile"] for r in store.author_counts(topic="u", fields=("tier",))] == [
        {"tier": "head"}, None]
    assert store.author_counts(limit=1, fields=("followers",))[0]["profile"] == {
        "followers": 150_000}
    with pytest.raises(ValueError, match="unknown author field 'password'"):
        store.author_counts(fields=("password",))


def test_tier_counts_tier_each_account_as_its_profile_says(store):
    from scoring.influence import DEFAULT_TIERS
    from web.data.series import tiers_of

    profiles = [
        Author("weibo", "scored", followers=10, tier="head"),      # the stored tier wins
        Author("weibo", "fans", followers=150_000),                 # followers: waist
        Author("weibo", "few", followers=0),                        # amateur
        Author("weibo", "nobody"),                                  # no followers: unknown
        Author("forum", "f", followers=20_000),                     # forum cut-offs: waist
        Author("tieba", "t", followers=1_000),                      # unlisted: forum's: tail
        Author("zhihu", "z", followers=9, extra={"voteup_count": 20_000}),  # upvotes: tail
        Author("zhihu", "bad", followers=9, extra={"voteup_count": "many"}),  # 0: amateur
        Author("wechat", "gh", followers=5_000_000),                # judged by reads: unknown
    ]
    store.upsert_authors(profiles)
    posts = [Post(a.platform, f"{a.author_id}-{i}", created_at=T0, author_id=a.author_id,
                  topics=["t"]) for n, a in enumerate(profiles) for i in range(n % 3 + 1)]
    posts += [Post("weibo", "ghost-1", created_at=T0, author_id="ghost", topics=["t"]),
              Post("weibo", "anon", created_at=T0, topics=["t"])]  # no profile; no author
    store.upsert_posts(posts)
    rows = store.tier_counts(topic="t", cutoffs=DEFAULT_TIERS)
    tiers = tiers_of(store, [a.key for a in profiles])
    expected: dict[str, list[int]] = {"unknown": [1, 1]}  # the ghost's one post
    for n, a in enumerate(profiles):
        total = expected.setdefault(tiers[a.key], [0, 0])
        total[0] += 1
        total[1] += n % 3 + 1
    assert rows == [{"tier": t, "accounts": a, "posts": n}
                    for t, (a, n) in sorted(expected.items())]
    assert [r["tier"] for r in rows] == ["amateur", "head", "tail", "unknown", "waist"]
    assert store.tier_counts(topic="t", platform="zhihu", cutoffs=DEFAULT_TIERS) == [
        {"tier": "amateur", "accounts": 1, "posts": 2},
        {"tier": "tail", "accounts": 1, "posts": 1}]
    assert store.tier_counts(topic="t", since=T0 + timedelta(days=1),
                             cutoffs=DEFAULT_TIERS) == []
    with pytest.raises(ValueError, match="measure must be one of"):
        store.tier_counts(cutoffs={"weibo": {"measure": "likes", "head": 1, "waist": 1,
                                             "tail": 1}})
    with pytest.raises(ValueError, match="must be numbers"):
        store.tier_counts(cutoffs={"weibo": {"measure": "followers", "head": "1; DROP",
                                             "waist": 1, "tail": 1}})


def test_topic_aggregates_follow_later_writes(store):
    """A topic's counts see what was written after the post joined the topic: new counters,
    an author, a rescoring, a moved time, a root, and a topic added by a sparser copy."""
    store.upsert_posts([post("1", like_count=1, topics=["t"]),
                        post("2", minutes=5, like_count=2)])
    store.upsert_posts([post("1", minutes=60, like_count=4, author_id="a",
                             root_post_id="9", kind="repost")])
    store.set_scores({("weibo", "1"): PostScore(0.1, "negative", "m", emotion="anger")})
    # post 2 joins the topic through a copy with no time, counters or author of its own
    store.upsert_posts([Post("weibo", "2", topics=["t"])])
    store.upsert_posts([Post("weibo", "2", author_id="b", repost_count=3)])
    rows = store.post_counts(topic="t", bucket=None, by=("sentiment_label", "emotion"))
    assert sorted(rows, key=lambda r: r["engagement"]) == [
        {"sentiment_label": "negative", "emotion": "anger", "posts": 1, "engagement": 4},
        {"sentiment_label": None, "emotion": None, "posts": 1, "engagement": 5},
    ]
    assert store.post_counts(topic="t", since=T0 + timedelta(minutes=30), bucket=None) == [
        {"sentiment_label": "negative", "posts": 1, "engagement": 4}]
    assert store.author_counts(topic="t") == [
        {"platform": "weibo", "author_id": "b", "posts": 1, "engagement": 5},
        {"platform": "weibo", "author_id": "a", "posts": 1, "engagement": 4},
    ]
    stats = {r["author_id"]: r for r in store.author_stats(topic="t").rows}
    assert (stats["a"]["negative"], stats["a"]["first_at"]) == (1, T0 + timedelta(minutes=60))
    assert stats["b"]["first_at"] == T0 + timedelta(minutes=5)
    assert store.root_counts(topic="t") == [
        {"platform": "weibo", "root_post_id": "2", "posts": 1},
        {"platform": "weibo", "root_post_id": "9", "posts": 1},
    ]
    page = store.newest_posts(topic="t", sentiment="negative")
    assert (ids(page.posts), page.total) == (["1"], 1)


# -- topic_overlap: a topic's posts in a window that other topics also hold ---------------------
def tagged_post(post_id: str, minutes: int | None, *topics: str,
                platform: str = "weibo") -> Post:
    created = None if minutes is None else T0 + timedelta(minutes=minutes)
    return Post(platform, post_id, created_at=created, text=f"帖子 {post_id}",
                topics=list(topics))


@pytest.fixture
def tagged(store):
    store.upsert_posts([
        tagged_post("1", 0, "t", "a"), tagged_post("2", 5, "t"), tagged_post("3", 10, "t", "b"),
        tagged_post("4", 15, "t", "a", "b"), tagged_post("5", 20, "a"),  # not t's
        tagged_post("6", None, "t", "a"),  # undated
        tagged_post("7", 90, "t", "a"),  # after the window
        tagged_post("1", 30, "t", platform="zhihu"),  # weibo 1's id on another platform: not a's
        tagged_post("x", 40, "t", "a", platform="zhihu"),
        tagged_post("話", 45, "t", "品牌乙"),  # topics in Chinese
    ])
    return store


def _by_posts(store, topic, others, since=None, until=None) -> int:
    wanted = set(others) - {topic}
    return sum(1 for p in store.posts(topic=topic, since=since, until=until)
               if wanted & set(p.topics))


@pytest.mark.parametrize(("others", "expected"), [
    (["a"], 3), (["b"], 2), (["a", "b"], 4), (["b", "a", "a"], 4), (["品牌乙"], 1),
    ([], 0), (["t"], 0), (["t", "a"], 3), (["nobody"], 0),
])
def test_topic_overlap_counts_the_windows_posts_other_topics_hold(tagged, others, expected):
    since, until = T0, T0 + timedelta(minutes=60)
    got = tagged.topic_overlap("t", others, since=since, until=until)
    assert got == expected == _by_posts(tagged, "t", others, since, until)
    assert tagged.topic_overlap("t", iter(others), since=since, until=until) == expected


def test_topic_overlap_window_bounds_are_posts_windows(tagged):
    # no bound: the undated post too, as posts() returns it
    assert tagged.topic_overlap("t", ["a"]) == 5 == _by_posts(tagged, "t", ["a"])
    late = T0 + timedelta(minutes=15)
    assert tagged.topic_overlap("t", ["a"], since=late) == 3  # 4, x, 7: never the undated
    assert tagged.topic_overlap("t", ["a"], until=late) == 1  # [.., until): 4 is left out
    assert tagged.topic_overlap("t", ["a"], since=late, until=late) == 0
    assert tagged.topic_overlap("t", ["a"], since=late, until=T0) == 0
    assert tagged.topic_overlap("a", ["t"]) == 5  # symmetric: the same posts, seen from a
    assert tagged.topic_overlap("nobody", ["a"]) == 0


def test_topic_overlap_follows_later_writes(tagged):
    since, until = T0, T0 + timedelta(minutes=60)
    assert tagged.topic_overlap("t", ["b"], since=since, until=until) == 2
    # post 2 joins b through a copy with no time of its own: its stored time stands
    tagged.upsert_posts([Post("weibo", "2", topics=["b"])])
    assert tagged.topic_overlap("t", ["b"], since=since, until=until) == 3
    tagged.upsert_posts([tagged_post("3", 70, "t")])  # moved out of the window
    assert tagged.topic_overlap("t", ["b"], since=since, until=until) == 2
    assert tagged.topic_overlap("t", ["b"], since=since, until=until) == _by_posts(
        tagged, "t", ["b"], since, until)


# -- opening and failing ------------------------------------------------------------------------
def test_unknown_scheme_raises_unknown_scheme():
    with pytest.raises(UnknownScheme, match="redis") as info:
        open_store("redis://localhost/0")
    assert "sqlite://" in str(info.value)  # the message lists what would work
    assert isinstance(info.value, StoreError)


@pytest.mark.parametrize("uri, backend", [
    ("memory://", "MemoryStore"),
    ("sqlite:///{tmp}/sub/dir/x.db", "SqliteStore"),
    ("sqlite:///:memory:", "SqliteStore"),
])
def test_open_store_picks_the_backend_by_scheme(uri, backend, tmp_path):
    with open_store(uri.format(tmp=tmp_path)) as s:
        assert type(s).__name__ == backend
        s.upsert_posts([post("1")])
        assert ids(s.posts()) == ["1"]


def test_unusable_sqlite_path_raises_backend_unavailable(tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where a folder should be")
    with pytest.raises(BackendUnavailable, match="not-a-folder") as info:
        open_store(f"sqlite:///{blocker}/tingfeng.db")
    assert "--store" in str(info.value)  # names the fix


def test_unreachable_mongodb_raises_backend_unavailable():
    pytest.importorskip("pymongo")
    with pytest.raises(BackendUnavailable, match="unreachable"):
        open_store("mongodb://127.0.0.1:1/tingfeng?serverSelectionTimeoutMS=200")


def test_sqlite_reopened_on_the_same_file_sees_the_data(tmp_path):
    path = tmp_path / "data" / "tingfeng.db"
    with open_store(f"sqlite:///{path}") as first:
        first.upsert_posts([post("1", topics=["t"], extra={"k": 1})])
        first.save_alert(alert("a1", 0))
    with open_store(f"sqlite:///{path}") as second:
        assert [p.extra for p in second.posts(topic="t")] == [{"k": 1}]
        assert [a.alert_id for a in second.alerts()] == ["a1"]


def test_sqlite_reader_is_not_blocked_by_a_writer(tmp_path):
    uri = f"sqlite:///{tmp_path / 'tingfeng.db'}"
    writer, reader = open_store(uri), open_store(uri)
    try:
        writer.upsert_posts([post("1", like_count=1)])
        # Hold the write lock with an open transaction, as a crawler mid-batch would.
        conn = writer._conn
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("UPDATE posts SET doc = json_set(doc, '$.like_count', 2)")
        assert [p.like_count for p in reader.posts()] == [1]  # WAL: the committed state
        conn.execute("COMMIT")
        assert [p.like_count for p in reader.posts()] == [2]
    finally:
        reader.close()
        writer.close()


# -- browsing: newest_posts, author_stats, cascade_sizes ----------------------------------------
def page_ids(page) -> list[str]:
    return [p.post_id for p in page.posts]


def test_newest_posts_is_posts_reversed_without_the_undated(store):
    store.upsert_posts(counted_posts())
    page = store.newest_posts()
    dated = [p.post_id for p in store.posts() if p.created_at is not None]
    assert page_ids(page) == dated[::-1] == ["5", "7", "4", "3", "2", "1"]
    assert page.total == 6  # post 6 has no time: never on a page, never counted
    assert all(p.created_at.tzinfo is not None for p in page.posts)
    assert page.posts[0].topics == ["t"] and page.posts[0].like_count == 2  # whole records


def test_newest_posts_pages_with_offset_and_limit(store):
    store.upsert_posts(counted_posts())
    assert (page_ids(store.newest_posts(offset=2, limit=2)), store.newest_posts(
        offset=2, limit=2).total) == (["4", "3"], 6)
    pages = [page_ids(store.newest_posts(offset=o, limit=4)) for o in (0, 4)]
    assert pages == [["5", "7", "4", "3"], ["2", "1"]]
    past = store.newest_posts(offset=10, limit=4)
    assert (past.posts, past.total) == ([], 6)
    nothing = store.newest_posts(limit=0)
    assert (nothing.posts, nothing.total) == ([], 6)
    with pytest.raises(ValueError, match="offset"):
        store.newest_posts(offset=-1)
    with pytest.raises(ValueError, match="limit"):
        store.newest_posts(limit=-5)


def test_newest_posts_filters(store):
    store.upsert_posts(counted_posts())

    def got(**filters):
        page = store.newest_posts(**filters)
        return page_ids(page), page.total

    assert got(topic="t") == (["5", "3", "2", "1"], 4)
    assert got(platform="zhihu") == (["7", "4"], 2)
    assert got(sentiment="negative") == (["3", "2"], 2)
    assert got(sentiment="unscored") == (["5"], 1)  # no label at all
    assert got(topic="u", sentiment="positive") == (["4"], 1)
    assert got(topic="t", sentiment="negative", platform="weibo") == (["3", "2"], 2)
    assert got(author=("weibo", "a")) == (["2", "1"], 2)
    assert got(author=("zhihu", "a")) == (["4"], 1)
    assert got(author=("weibo", "b"), topic="u") == (["3"], 1)
    assert got(author=("weibo", "a"), sentiment="positive") == (["1"], 1)
    assert got(author=("weibo", "a"), platform="zhihu") == ([], 0)  # contradictory
    assert got(author=("weibo", "nobody")) == ([], 0)
    assert got(topic="nope") == ([], 0)
    # half-open window: Beijing midnight (post 3) is in, the next one out
    next_day = BEIJING_MIDNIGHT + timedelta(days=1)
    assert got(since=BEIJING_MIDNIGHT, until=next_day) == (["5", "7", "4", "3"], 4)
    assert got(until=BEIJING_MIDNIGHT) == (["2", "1"], 2)
    assert got(since=next_day, until=next_day) == ([], 0)
    assert got(topic="t", since=BEIJING_MIDNIGHT, sentiment="negative", limit=1) == (["3"], 1)


def test_newest_posts_break_ties_by_platform_then_id_descending(store):
    store.upsert_posts([Post("weibo", "a", created_at=T0, topics=["t"]),
                        Post("zhihu", "a", created_at=T0, topics=["t"]),
                        Post("weibo", "b", created_at=T0, topics=["t"]),
                        Post("weibo", "c", created_at=T0 + timedelta(seconds=1))])
    for filters in ({}, {"topic": "t"}, {"sentiment": "unscored"}):
        page = store.newest_posts(**filters)
        keys = [p.key for p in page.posts if p.post_id != "c"]
        assert keys == [("zhihu", "a"), ("weibo", "b"), ("weibo", "a")], filters
    assert [p.key for p in store.newest_posts(offset=1, limit=2).posts] == [
        ("zhihu", "a"), ("weibo", "b")]


def stats_posts() -> list[Post]:
    """counted_posts plus an account with neutral posts only, one with unlabelled posts only
    and one whose only post is undated."""
    return [*counted_posts(),
            Post("wechat", "8", created_at=at("2026-03-01T10:00:00"), sentiment_label="neutral",
                 author_id="c", like_count=1, topics=["t"]),
            Post("wechat", "9", created_at=at("2026-03-01T11:00:00"), author_id="d",
                 like_count=1),
            Post("weibo", "10", created_at=None, author_id="e", sentiment_label="positive")]


def stat(platform, author_id, posts, engagement, positive, negative, neutral, first, last):
    return {"platform": platform, "author_id": author_id, "posts": posts,
            "engagement": engagement, "positive": positive, "negative": negative,
            "neutral": neutral, "first_at": at(first) if first else None,
            "last_at": at(last) if last else None}


WEIBO_A = stat("weibo", "a", 3, 116, 1, 2, 0, "2026-03-01T00:30:00", "2026-03-01T15:59:59")
WEIBO_B = stat("weibo", "b", 2, 2, 0, 1, 0, "2026-03-01T16:00:00", "2026-03-02T15:59:59")
ZHIHU_A = stat("zhihu", "a", 1, 5, 1, 0, 0, "2026-03-01T16:30:00", "2026-03-01T16:30:00")
WECHAT_C = stat("wechat", "c", 1, 1, 0, 0, 1, "2026-03-01T10:00:00", "2026-03-01T10:00:00")
WECHAT_D = stat("wechat", "d", 1, 1, 0, 0, 0, "2026-03-01T11:00:00", "2026-03-01T11:00:00")
WEIBO_E = stat("weibo", "e", 1, 0, 1, 0, 0, None, None)


def test_author_stats_counts_labels_and_times_per_author(store):
    store.upsert_posts(counted_posts())
    page = store.author_stats()
    assert page.rows == [WEIBO_A, WEIBO_B, ZHIHU_A] and page.total == 3
    # the same accounts, posts and engagement as author_counts, in the same order
    assert [{k: r[k] for k in ("platform", "author_id", "posts", "engagement")}
            for r in page.rows] == store.author_counts()
    assert all(r["first_at"].tzinfo is not None for r in page.rows)
    bounded = store.author_stats(topic="t", since=BEIJING_MIDNIGHT)
    assert bounded.rows == [WEIBO_B] and bounded.total == 1
    assert store.author_stats(platform="zhihu").rows == [ZHIHU_A]
    assert store.author_stats(since=BEIJING_MIDNIGHT, until=BEIJING_MIDNIGHT).rows == []
    assert store.author_stats(topic="nope") == store.author_stats(limit=0, offset=5).__class__(
        [], 0)


def test_author_stats_sorts_by_any_figure_none_last(store):
    store.upsert_posts(stats_posts())

    def order(key, descending=True, **filters):
        return [(r["platform"], r["author_id"]) for r in store.author_stats(
            order=key, descending=descending, **filters).rows]

    # ties (one post each) go to engagement, then platform and author_id
    assert order("posts") == [("weibo", "a"), ("weibo", "b"), ("zhihu", "a"), ("wechat", "c"),
                              ("wechat", "d"), ("weibo", "e")]
    assert order("posts", descending=False) == [
        ("zhihu", "a"), ("wechat", "c"), ("wechat", "d"), ("weibo", "e"), ("weibo", "b"),
        ("weibo", "a")]
    assert order("engagement")[:3] == [("weibo", "a"), ("zhihu", "a"), ("weibo", "b")]
    # net: zhihu a and weibo e +1, wechat c 0 (neutral only: no polar post, so None), weibo a
    # -1/3, weibo b -1; wechat c and d have none and come last both ways
    assert order("net") == [("zhihu", "a"), ("weibo", "e"), ("weibo", "a"), ("weibo", "b"),
                            ("wechat", "c"), ("wechat", "d")]
    assert order("net", descending=False) == [
        ("weibo", "b"), ("weibo", "a"), ("zhihu", "a"), ("weibo", "e"), ("wechat", "c"),
        ("wechat", "d")]
    assert order("first_at", descending=False) == [
        ("weibo", "a"), ("wechat", "c"), ("wechat", "d"), ("weibo", "b"), ("zhihu", "a"),
        ("weibo", "e")]  # weibo e has only an undated post: no first time, last
    assert order("last_at")[:2] == [("weibo", "b"), ("zhihu", "a")]
    assert order("last_at")[-1] == ("weibo", "e")
    assert order("negative")[:2] == [("weibo", "a"), ("weibo", "b")]
    assert order("platform", descending=False) == [
        ("wechat", "c"), ("wechat", "d"), ("weibo", "a"), ("weibo", "b"), ("weibo", "e"),
        ("zhihu", "a")]
    assert order("platform")[:2] == [("zhihu", "a"), ("weibo", "a")]


def test_author_stats_filter_by_net_class_keys_and_page(store):
    store.upsert_posts(stats_posts())

    def keys(page):
        return [(r["platform"], r["author_id"]) for r in page.rows]

    assert keys(store.author_stats(sentiment="negative")) == [("weibo", "a"), ("weibo", "b")]
    assert keys(store.author_stats(sentiment="positive")) == [("zhihu", "a"), ("weibo", "e")]
    assert keys(store.author_stats(sentiment="neutral")) == [("wechat", "c")]
    assert keys(store.author_stats(sentiment="unscored")) == [("wechat", "d")]
    assert store.author_stats(sentiment="negative", since=BEIJING_MIDNIGHT).rows == [WEIBO_B]
    # pages: the total counts every matching author, also past the end
    first = store.author_stats(limit=4)
    second = store.author_stats(offset=4, limit=4)
    assert (first.total, second.total) == (6, 6)
    assert first.rows + second.rows == store.author_stats().rows
    assert store.author_stats(offset=9, limit=4) == store.author_stats(limit=0).__class__([], 6)
    assert store.author_stats(limit=0).total == 6
    # given keys only (unknown keys are no rows), with the other filters and the order
    wanted = [("weibo", "b"), ("zhihu", "a"), ("wechat", "c"), ("nope", "x")]
    some = store.author_stats(authors=wanted, order="engagement")
    assert some.rows == [ZHIHU_A, WEIBO_B, WECHAT_C] and some.total == 3
    assert store.author_stats(authors=wanted, sentiment="negative").rows == [WEIBO_B]
    assert store.author_stats(authors=wanted, topic="u").rows == [
        ZHIHU_A, stat("weibo", "b", 1, 0, 0, 1, 0, "2026-03-01T16:00:00",
                      "2026-03-01T16:00:00")]
    assert store.author_stats(authors=wanted, offset=1, limit=1).rows == [ZHIHU_A]
    assert store.author_stats(authors=[("weibo", "e")]).rows == [WEIBO_E]
    assert store.author_stats(authors=[]).rows == []
    assert store.author_stats(authors=[("wechat", "d")], platform="weibo").rows == []


def test_author_stats_refuses_bad_arguments(store):
    with pytest.raises(ValueError, match="followers"):
        store.author_stats(order="followers")
    with pytest.raises(ValueError, match="angry"):
        store.author_stats(sentiment="angry")
    with pytest.raises(ValueError, match="offset"):
        store.author_stats(offset=-1)


def test_post_counts_of_one_author(store):
    store.upsert_posts(counted_posts())
    assert store.post_counts(author=("weibo", "a")) == [
        {"bucket": MAR_1_BJ, "sentiment_label": "negative", "posts": 1, "engagement": 10},
        {"bucket": MAR_1_BJ, "sentiment_label": "positive", "posts": 1, "engagement": 6},
        {"bucket": None, "sentiment_label": "negative", "posts": 1, "engagement": 100},
    ]
    assert store.post_counts(author=("weibo", "b"), topic="u") == [
        {"bucket": BEIJING_MIDNIGHT, "sentiment_label": "negative", "posts": 1, "engagement": 0}]
    assert store.post_counts(author=("weibo", "b"), bucket="hour", by=(),
                             since=BEIJING_MIDNIGHT) == [
        {"bucket": BEIJING_MIDNIGHT, "posts": 1, "engagement": 0},
        {"bucket": at("2026-03-02T15:00:00"), "posts": 1, "engagement": 2}]
    assert store.post_counts(author=("weibo", "a"), platform="zhihu") == []
    assert store.post_counts(author=("zhihu", "nobody")) == []
    # every author's counts add up to author_counts
    for row in store.author_counts():
        mine = store.post_counts(author=(row["platform"], row["author_id"]), bucket=None, by=())
        assert mine == [{"posts": row["posts"], "engagement": row["engagement"]}]


def test_cascade_sizes_count_what_cascade_returns(store):
    store.upsert_posts([
        post("r"), post("c1", 1, root_post_id="r"), post("c2", 2, root_post_id="r"),
        post("s", 3, root_post_id="s"), post("c3", 4, root_post_id="s"),  # names itself
        Post("zhihu", "z", created_at=T0, root_post_id="r"),  # another platform's r
        post("lone", 5),
    ])
    sizes = store.cascade_sizes("weibo", ["r", "s", "lone", "unknown", "r"])
    assert sizes == {"r": 2, "s": 1}
    assert sizes == {root: len(store.cascade("weibo", root)) - 1 for root in ("r", "s")}
    assert store.cascade_sizes("zhihu", ["r"]) == {"r": 1}
    assert store.cascade_sizes("weibo", []) == {}


def test_author_fields_read_a_few_fields_as_authors_would(store):
    store.upsert_authors([
        Author("weibo", "a", name="甲", followers=1_200, verified=True, tier="tail"),
        Author("weibo", "b", name="乙", verified=False, extra={"k": 1}),
        Author("zhihu", "a", followers=7),
    ])
    keys = [("weibo", "a"), ("weibo", "b"), ("zhihu", "a"), ("weibo", "missing")]
    got = store.author_fields(keys, ("tier", "followers", "verified", "extra"))
    full = store.authors(keys)
    assert set(got) == set(full) == {("weibo", "a"), ("weibo", "b"), ("zhihu", "a")}
    for key, fields in got.items():
        assert fields == {"tier": full[key].tier, "followers": full[key].followers,
                          "verified": full[key].verified, "extra": full[key].extra}, key
    assert got[("weibo", "b")]["extra"] == {"k": 1}
    assert got[("weibo", "a")]["verified"] is True and got[("weibo", "b")]["verified"] is False
    assert store.author_fields([], ("tier",)) == {}
    with pytest.raises(ValueError, match="unknown author field"):
        store.author_fields(keys, ("tier", "doc') --"))


def test_author_fields_read_one_value_inside_extra(store):
    extra = {"voteup_count": 12, "name": "知乎号", "ok": True, "none": None, "ratio": 0.5,
             "tags": ["a", 1], "nested": {"x": [1, 2]}}
    store.upsert_authors([Author("zhihu", "z", extra=extra), Author("zhihu", "plain")])
    names = [f"extra.{k}" for k in extra] + ["extra.absent"]
    got = store.author_fields([("zhihu", "z"), ("zhihu", "plain")], names)
    assert got[("zhihu", "z")] == {**{f"extra.{k}": v for k, v in extra.items()},
                                   "extra.absent": None}
    assert got[("zhihu", "plain")] == dict.fromkeys(names)
    both = store.author_fields([("zhihu", "z")], ("extra", "extra.voteup_count"))
    stored = store.authors([("zhihu", "z")])[("zhihu", "z")].extra
    assert both[("zhihu", "z")] == {"extra": stored, "extra.voteup_count": 12}
    store.upsert_posts([Post("zhihu", "1", author_id="z", topics=["t"])])
    rows = store.author_counts(topic="t", fields=("followers", "extra.voteup_count"))
    assert rows[0]["profile"] == {"followers": None, "extra.voteup_count": 12}
    for bad in ("extra.", "extra.a'b", "extra.a.b", "extra.$x"):
        with pytest.raises(ValueError, match="unknown author field"):
            store.author_fields([("zhihu", "z")], (bad,))


def test_root_counts_rank_a_windows_cascades_as_posts_would(store):
    store.upsert_posts([
        post("r", topics=["t"]), post("c1", 1, root_post_id="r", topics=["t"]),
        post("c2", 2, root_post_id="r", topics=["t"]), post("c3", 90, root_post_id="r",
                                                           topics=["t"]),
        post("s", 3, root_post_id="s", topics=["t"]), post("c4", 4, root_post_id="s"),
        Post("zhihu", "z", created_at=T0 + timedelta(minutes=5), root_post_id="r",
             topics=["t"]),  # another platform's r
        post("lone", 6, topics=["t"]), post("undated", None, topics=["t"]),
    ])
    since, until = T0, T0 + timedelta(minutes=60)
    rows = store.root_counts(topic="t", since=since, until=until)
    expected: dict[tuple[str, str], int] = {}
    for p in store.posts(topic="t", since=since, until=until):
        key = (p.platform, p.root_post_id or p.post_id)
        expected[key] = expected.get(key, 0) + 1
    assert rows == [{"platform": "weibo", "root_post_id": "r", "posts": 3},
                    {"platform": "weibo", "root_post_id": "lone", "posts": 1},
                    {"platform": "weibo", "root_post_id": "s", "posts": 1},
                    {"platform": "zhihu", "root_post_id": "r", "posts": 1}]
    assert {(r["platform"], r["root_post_id"]): r["posts"] for r in rows} == expected
    assert store.root_counts(topic="t", since=since, until=until, limit=1) == rows[:1]
    assert store.root_counts(topic="t", since=since, until=until, platform="zhihu") == rows[3:]
    unbounded = store.root_counts(topic="t")  # undated posts too, as posts() returns them
    assert {"root_post_id": "undated", "platform": "weibo", "posts": 1} in unbounded
    assert {"root_post_id": "r", "platform": "weibo", "posts": 4} in unbounded
    assert store.root_counts(since=until, until=since) == []
    with pytest.raises(ValueError):
        store.root_counts(limit=-1)


# -- events of a monitor (Store.save_events / Store.events) -------------------------------------
def story(event_id: str, size: int, members, *, first=0, last=60, updated=120, **data):
    from crawlers.storage.base import EventRecord

    at = lambda minutes: None if minutes is None else T0 + timedelta(minutes=minutes)  # noqa: E731
    return EventRecord(event_id, ("weibo", members[0][1] if members else "0"), ("地铁", "停运"),
                       size, at(first), at(last), at(updated), tuple(members), data)


def test_events_round_trip_with_members_and_opaque_data(store):
    data = {"centroid": [["a.b", 0.5], ["$x", 0.25]], "hours": {"2026-03-01T08:00:00+00:00": 2},
            "note": "中文"}
    saved = story("ev-1", 2, [("weibo", "2"), ("weibo", "1")], **data)
    assert store.save_events("m", [saved]) == 1
    [got] = store.events("m")
    assert got == dataclasses.replace(saved, members=(("weibo", "1"), ("weibo", "2")))
    assert got.first_at.tzinfo is not None and got.updated_at == T0 + timedelta(minutes=120)
    assert store.events("other") == []


def test_saving_events_again_replaces_fields_and_adds_members_once(store):
    store.save_events("m", [story("ev-1", 1, [("weibo", "1")]),
                            story("ev-2", 1, [("weibo", "5")])])
    grown = story("ev-1", 3, [("weibo", "1"), ("weibo", "3"), ("weibo", "5")], last=90)
    store.save_events("m", [grown])
    store.save_events("m", [grown])  # a repeated run: nothing doubles
    by_id = {e.event_id: e for e in store.events("m")}
    assert sorted(by_id) == ["ev-1", "ev-2"]
    assert by_id["ev-1"].size == 3 and by_id["ev-1"].last_at == T0 + timedelta(minutes=90)
    # post 5 was counted in ev-2 first: it stays there
    assert by_id["ev-1"].members == (("weibo", "1"), ("weibo", "3"))
    assert by_id["ev-2"].members == (("weibo", "5"),)
    store.save_events("n", [story("ev-1", 1, [("weibo", "5")])])  # monitors are apart
    assert [e.members for e in store.events("n")] == [(("weibo", "5"),)]


def test_deleting_a_monitor_forgets_its_stories_only(store):
    from crawlers.items import Monitor

    store.save_monitor(Monitor("m", "地铁"))
    store.save_events("m", [story("ev-1", 2, [("weibo", "1"), ("weibo", "2")])])
    store.save_events("n", [story("ev-9", 1, [("weibo", "1")])])
    assert store.delete_monitor("m") is True
    assert store.events("m") == [] and [e.event_id for e in store.events("n")] == ["ev-9"]
    # made again under the name, its runs claim the posts afresh
    store.save_monitor(Monitor("m", "地铁"))
    store.save_events("m", [story("ev-2", 1, [("weibo", "1")])])
    assert [(e.event_id, e.members) for e in store.events("m")] == [("ev-2", (("weibo", "1"),))]


def test_events_since_reads_active_events_largest_first(store):
    store.save_events("m", [
        story("ev-old", 9, [("weibo", "1")], first=0, last=10),
        story("ev-b", 2, [("weibo", "2")], first=50, last=100),
        story("ev-a", 2, [("weibo", "3")], first=40, last=100),
        story("ev-undated", 5, [("weibo", "4")], first=None, last=None, updated=200),
        story("ev-big", 7, [("weibo", "6")], first=30, last=60)])
    assert [e.event_id for e in store.events("m")] == [
        "ev-old", "ev-big", "ev-undated", "ev-a", "ev-b"]
    since = T0 + timedelta(minutes=60)
    assert [e.event_id for e in store.events("m", since=since)] == [
        "ev-big", "ev-undated", "ev-a", "ev-b"]
    assert store.events("m", since=T0 + timedelta(minutes=150)) == store.events(
        "m", since=T0 + timedelta(minutes=200))
    assert [e.event_id for e in store.events("m", since=T0 + timedelta(minutes=150))] == [
        "ev-undated"]


def test_events_refuse_data_that_is_not_json(store):
    with pytest.raises(IntegrityError):
        store.save_events("m", [story("ev-1", 1, [("weibo", "1")], bad={1, 2})])
    assert store.events("m") == []
