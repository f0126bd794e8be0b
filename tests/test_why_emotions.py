"""scoring.why.emotions: the emotion curve, mixes per group and polarisation."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from crawlers.items import Post
from scoring.sentiment import NLPCC_EMOTIONS
from scoring.why.emotions import (
    emotion_curve,
    emotion_mix,
    emotion_mix_by,
    normalise_emotion,
    polarisation,
)
from tests.datasets import sample_rows

FIXTURES = Path(__file__).parent / "fixtures" / "why_emotions"
T0 = datetime(2024, 5, 1, 8, tzinfo=UTC)
# NLPCC emotion → polarity, for giving the real rows a sentiment label too.
POLARITY = {"like": "positive", "happiness": "positive", "surprise": "neutral",
            "disgust": "negative", "sadness": "negative", "anger": "negative", "fear": "negative"}


@pytest.fixture(scope="module")
def real_posts() -> list[Post]:
    rows = sample_rows("weibo_emotion_nlpcc.train.jsonl", 80, 0)
    return [Post("weibo", str(i), text=r["text"], emotion=r["label"],
                 sentiment_label=POLARITY[r["label"]],
                 created_at=T0 + timedelta(minutes=17 * i)) for i, r in enumerate(rows)]


def test_polarisation_calm_versus_split() -> None:
    calm = [Post("weibo", str(i), sentiment_label="neutral") for i in range(100)]
    split = [Post("weibo", str(i), sentiment_label="positive" if i % 2 else "negative")
             for i in range(100)]
    calm_mix, split_mix = emotion_mix(calm), emotion_mix(split)
    assert calm_mix.net is None and calm_mix.polarisation == 0.0  # net "0": nothing polar
    assert split_mix.net == 0.0 and split_mix.polarisation == 1.0  # net 0: 两极分化
    assert polarisation(10, 10, 80) == pytest.approx(0.2)
    assert polarisation(90, 10) == pytest.approx(0.2)
    assert polarisation(0, 0) is None and polarisation(0, 0, 0) is None


def test_mix_of_real_labels(real_posts: list[Post]) -> None:
    mix = emotion_mix(real_posts)
    assert list(mix.counts)[:7] == list(NLPCC_EMOTIONS)
    assert mix.total == mix.labelled == 80 and mix.unlabelled == 0
    labels = Counter(p.emotion for p in real_posts)  # the oracle: the rows' own labels
    polar = Counter(p.sentiment_label for p in real_posts)
    pos, neg, neu = polar["positive"], polar["negative"], polar["neutral"]
    assert mix.dominant == labels.most_common(1)[0][0]
    assert {k: v for k, v in mix.counts.items() if v} == dict(labels)
    assert sum(v for v in mix.shares.values() if v is not None) == pytest.approx(1.0)
    assert (mix.positive, mix.negative, mix.neutral) == (pos, neg, neu)
    assert mix.net == pytest.approx((pos - neg) / (pos + neg))
    assert mix.polarisation == pytest.approx(2 * min(pos, neg) / 80)


def test_posts_without_emotion_are_counted() -> None:
    posts = [Post("weibo", "1", emotion="anger"), Post("weibo", "2"),
             Post("weibo", "3", emotion=""), Post("weibo", "4", emotion="none")]
    mix = emotion_mix(posts)
    assert mix.total == 4 and mix.labelled == 1 and mix.unlabelled == 3
    assert mix.labelled_share == 0.25 and mix.share("anger") == 1.0 and mix.unscored == 4


def test_other_schemes_and_names() -> None:
    posts = [Post("weibo", "1", emotion="optimism"), Post("weibo", "2", emotion="愤怒"),
             Post("weibo", "3", emotion=" Anger ")]
    mix = emotion_mix(posts)
    assert mix.counts["anger"] == 2 and mix.counts["optimism"] == 1
    assert normalise_emotion("悲伤") == "sadness" and normalise_emotion(5) is None


def test_mix_by_group(real_posts: list[Post]) -> None:
    for i, post in enumerate(real_posts):
        post.region = ["广东", "北京", None][i % 3]
        post.topics = ["t1", "t2"] if i % 2 else []
    by_region = emotion_mix_by(real_posts, lambda p: p.region)
    assert set(by_region) == {"广东", "北京", None}
    assert sum(m.total for m in by_region.values()) == 80
    by_topic = emotion_mix_by(real_posts, lambda p: p.topics)
    assert by_topic["t1"].total == by_topic["t2"].total == 40 and by_topic[None].total == 40

    def broken(p: Post) -> Any:
        if p.post_id == "3":
            raise KeyError("odd post")
        return {"unhashable": 1} if p.post_id == "4" else "ok"

    odd = emotion_mix_by(real_posts, broken)
    assert sum(m.total for m in odd.values()) == 80 and odd[None].total == 1


def test_curve_buckets(real_posts: list[Post]) -> None:
    curve = emotion_curve(real_posts, bucket=timedelta(hours=6))
    assert sum(b.mix.total for b in curve.buckets) == 80
    starts = [b.start for b in curve.buckets]
    assert all(b - a == timedelta(hours=6) for a, b in zip(starts, starts[1:], strict=False))
    assert starts[0] <= T0 < starts[0] + timedelta(hours=6)
    assert len(curve.series("like")) == len(curve.buckets)
    assert set(curve.shares()) >= set(NLPCC_EMOTIONS)


def test_curve_fills_empty_buckets_and_counts_undated() -> None:
    posts = [Post("weibo", "1", created_at=T0, emotion="anger"),
             Post("weibo", "2", created_at=T0 + timedelta(hours=3), emotion="like"),
             Post("weibo", "3"), Post("weibo", "4", created_at=T0 + timedelta(hours=3))]
    curve = emotion_curve(posts)
    assert [b.mix.total for b in curve.buckets] == [1, 0, 0, 2]
    assert curve.series("anger") == [1.0, None, None, 0.0]
    assert curve.buckets[1].mix.polarisation is None and curve.buckets[1].mix.dominant is None
    assert curve.undated == 1 and curve.out_of_range == 0


def test_curve_range_and_alignment() -> None:
    posts = [Post("weibo", str(i), created_at=T0 + timedelta(hours=i), emotion="sadness")
             for i in range(48)]
    # the buckets holding start and end: 2024-05-01 UTC, posts 08:00–23:00 in it
    days = emotion_curve(posts, bucket=timedelta(days=1), start=T0, end=T0 + timedelta(hours=15))
    assert len(days.buckets) == 1 and days.buckets[0].mix.total == 16 and days.out_of_range == 32
    beijing = datetime(2024, 1, 1, tzinfo=ZoneInfo("Asia/Shanghai"))
    local = emotion_curve(posts, bucket=timedelta(days=1), origin=beijing)
    assert all(b.start.astimezone(ZoneInfo("Asia/Shanghai")).hour == 0 for b in local.buckets)
    naive = emotion_curve([Post("weibo", "n", created_at=datetime(2024, 5, 1, 8))])
    assert naive.buckets[0].start == T0


def test_curve_bad_input() -> None:
    empty = emotion_curve([])
    assert empty.buckets == [] and empty.undated == 0
    assert emotion_curve([Post("weibo", "1")]).undated == 1
    one = emotion_curve([Post("weibo", "1", created_at=T0, text="x" * 100_000, emotion="x" * 10)])
    assert one.buckets[0].mix.total == 1
    stray = [Post("weibo", "old", created_at=datetime(1970, 1, 2, tzinfo=UTC)),
             Post("weibo", "new", created_at=T0)]
    capped = emotion_curve(stray, max_buckets=100)
    assert len(capped.buckets) == 100 and capped.out_of_range == 1
    with pytest.raises(ValueError, match="bucket must be positive"):
        emotion_curve([], bucket=timedelta(0))
    with pytest.raises(ValueError, match="max_buckets"):
        emotion_curve([], bucket=timedelta(seconds=1), start=T0, end=T0 + timedelta(days=30))
    junk: list[Any] = [None, "post", 3]
    assert emotion_mix(junk).total == 0 and emotion_mix_by(junk, lambda p: 1) == {}
