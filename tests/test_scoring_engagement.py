"""Engagement rate, the depth funnel and net sentiment, on hand-built posts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from crawlers.items import Post
from scoring.engagement import engagement, engagement_by, funnel, has_own_words
from scoring.netsentiment import net_sentiment, net_sentiment_by

T0 = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)


def test_rate_uses_reads_when_known_else_followers():
    article = Post("wechat", "a", author_id="gh", read_count=2_000, like_count=40,
                   repost_count=50, comment_count=10)
    weibo = Post("weibo", "w", author_id="u", like_count=6, repost_count=2, comment_count=2)
    stranger = Post("weibo", "s", author_id="nobody", like_count=100)
    e = engagement([article, weibo, stranger], followers={("weibo", "u"): 1_000})
    assert (e.posts, e.likes, e.interactions, e.reads) == (3, 146, 210, 2_000)
    # the stranger's reach is unknown: left out of the rate, (100 + 10) / (2000 + 1000)
    assert e.reach == 3_000 and e.rate == pytest.approx(110 / 3_000)
    assert engagement([]).rate is None


def test_engagement_by_counts_a_post_in_each_group():
    ps = [Post("weibo", "1", topics=["a", "b"], like_count=1), Post("weibo", "2", topics=["b"])]
    out = engagement_by(ps, lambda p: p.topics)
    assert {k: v.posts for k, v in out.items()} == {"a": 1, "b": 2}


@pytest.mark.parametrize(("text", "kind", "own"), [
    ("转发微博", "repost", False), ("", "repost", False), ("[赞][赞]", "comment", False),
    ("@某人 //@他: 真好", "repost", False), ("同意 //@他: 真好", "repost", True),
    ("说得好", "comment", True), ("", "original", True), ("Repost", "repost", False),
])
def test_own_words(text, kind, own):
    assert has_own_words(Post("weibo", "x", text=text, kind=kind)) is own


def test_funnel_stages():
    root = Post("weibo", "1", text="新品", author_id="a", repost_count=4, comment_count=2,
                like_count=20)
    posts = [
        root,
        Post("weibo", "2", text="转发微博", kind="repost", author_id="b"),
        Post("weibo", "3", text="想要！//@a: 新品", kind="repost", author_id="c", like_count=1),
        Post("weibo", "4", text="[赞]", kind="comment", author_id="d"),
        Post("weibo", "5", text="价格呢", kind="comment", author_id="e"),
    ]
    f = funnel(posts, followers={("weibo", "a"): 10_000, ("weibo", "b"): 50})
    assert (f.exposure, f.interaction, f.creation, f.sharing) == (10_050, 27, 3, 4)
    # when more reposts were collected than the platform counted, the collected ones win
    assert funnel(posts[1:3]).sharing == 2


def test_net_sentiment_and_shares():
    ps = [Post("weibo", str(i), sentiment_label=lb) for i, lb in
          enumerate(["positive"] * 3 + ["negative"] + ["neutral"] * 4)]
    ps.append(Post("weibo", "u"))  # unscored
    ns = net_sentiment(ps)
    assert (ns.positive, ns.negative, ns.neutral, ns.unscored) == (3, 1, 4, 1)
    assert ns.net == pytest.approx(0.5)
    assert (ns.positive_share, ns.negative_share, ns.neutral_share) == (3 / 8, 1 / 8, 4 / 8)
    assert net_sentiment([Post("weibo", "n", sentiment_label="neutral")]).net is None


def test_net_sentiment_falls_back_to_score_with_band():
    ps = [Post("weibo", "1", sentiment=0.65), Post("weibo", "2", sentiment=0.2)]
    assert net_sentiment(ps).net == 0.0
    assert net_sentiment(ps, neutral_band=(0.1, 0.7)).scored == 2
    assert net_sentiment(ps, neutral_band=(0.1, 0.7)).neutral == 2


def test_net_sentiment_by_topic_platform_author_bucket():
    ps = [
        Post("weibo", "1", author_id="a", topics=["x", "y"], created_at=T0,
             sentiment_label="positive"),
        Post("weibo", "2", author_id="a", topics=["x"], created_at=T0 + timedelta(minutes=59),
             sentiment_label="negative"),
        Post("zhihu", "3", author_id="b", topics=["y"], created_at=T0 + timedelta(hours=6),
             sentiment_label="negative"),
        Post("zhihu", "4", topics=["y"], sentiment_label="negative"),  # no author, no time
    ]
    # y: one positive, two negative → (1 - 2) / 3
    by_topic = net_sentiment_by(ps, "topic")
    assert by_topic["x"].net == 0.0 and by_topic["y"].net == pytest.approx(-1 / 3)
    assert {k: v.net for k, v in net_sentiment_by(ps, "platform").items()} == {
        "weibo": 0.0, "zhihu": -1.0}
    assert list(net_sentiment_by(ps, "author")) == [("weibo", "a"), ("zhihu", "b")]
    buckets = net_sentiment_by(ps, "bucket", bucket=timedelta(hours=4))
    assert {k: v.scored for k, v in buckets.items()} == {T0: 2, T0 + timedelta(hours=4): 1}
    with pytest.raises(ValueError, match="unknown grouping"):
        net_sentiment_by(ps, "region")
