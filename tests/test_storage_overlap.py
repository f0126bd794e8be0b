"""The Store contract of ``topic_overlap`` (crawlers/storage/base.py), run against every
backend as tests/test_storage_contract.py runs the rest: a topic's posts in a window that
other topics also hold, equal to what ``posts()`` shows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from crawlers.items import Post
from tests.stores import dispose_store, make_store

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


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


def post(post_id: str, minutes: int | None, *topics: str, platform: str = "weibo") -> Post:
    created = None if minutes is None else T0 + timedelta(minutes=minutes)
    return Post(platform, post_id, created_at=created, text=f"帖子 {post_id}",
                topics=list(topics))


@pytest.fixture
def tagged(store):
    store.upsert_posts([
        post("1", 0, "t", "a"), post("2", 5, "t"), post("3", 10, "t", "b"),
        post("4", 15, "t", "a", "b"), post("5", 20, "a"),  # not t's
        post("6", None, "t", "a"),  # undated
        post("7", 90, "t", "a"),  # after the window
        post("1", 30, "t", platform="zhihu"),  # weibo 1's id on another platform: not a's
        post("x", 40, "t", "a", platform="zhihu"),
        post("話", 45, "t", "品牌乙"),  # topics in Chinese
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
    tagged.upsert_posts([post("3", 70, "t")])  # moved out of the window
    assert tagged.topic_overlap("t", ["b"], since=since, until=until) == 2
    assert tagged.topic_overlap("t", ["b"], since=since, until=until) == _by_posts(
        tagged, "t", ["b"], since, until)
