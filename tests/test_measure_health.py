"""Health index: component formulas by hand, indicators, missing inputs, the divergence rule."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta

import pytest

from crawlers.items import Post
from scoring.alerts import RuleResult
from scoring.measure.health import (
    divergence,
    divergence_result,
    health_index,
    log_score,
    sentiment_slope,
)

NOW = datetime(2026, 5, 8, tzinfo=UTC)


def art(pid, days_ago, *, author="gh1", reads=2_000, likes=10, comments=5, shares=5,
        label="positive"):
    return Post("wechat", pid, kind="article", author_id=author, read_count=reads,
                like_count=likes, comment_count=comments, repost_count=shares,
                sentiment_label=label, created_at=NOW - timedelta(days=days_ago))


@pytest.mark.parametrize(("value", "score"), [
    (1e-5, 0.0), (1e-6, 0.0), (1e-4, 25.0), (1e-3, 50.0), (1e-2, 75.0), (1e-1, 100.0),
    (0.5, 100.0), (None, None),
])
def test_log_score(value, score):
    assert log_score(value, 1e-5, 1e-1) == score


def test_sentiment_slope_is_weighted_least_squares():
    # y = 1 (weight 2), -1 (weight 1), 1 (weight 1) at x = 0, 1, 2:
    # x̄ = 3/4, ȳ = 1/2, Sxx = 2·(9/16) + 1/16 + 25/16 = 11/4, Sxy = -3/4 - 3/8 + 5/8 = -1/2
    assert sentiment_slope({0: (2, 0), 1: (0, 1), 2: (1, 0)}) == pytest.approx(-0.5 / 2.75)
    assert sentiment_slope({0: (1, 0), 5: (0, 0)}) is None  # a day without polar posts is no point
    assert sentiment_slope({}) is None


def test_components_by_hand():
    posts = [
        art("1", 1), art("2", 2, author="gh2"), art("3", 3, author="gh3", label="neutral"),
        art("old", 20, label="negative"), art("older", 30, author="gh3"),
        art("ancient", 200, author="gh2", label="negative"),  # outside the 90-day window
    ]
    h = health_index(posts, now=NOW, weights={"reach": 1, "depth": 1, "retention": 2})
    reach, depth, retention = h.components
    # window: 3 articles, 6,000 reads, 3 × (10 + 5 + 5) = 60 interactions: rate 1% → 75
    assert reach.inputs["rate"] == pytest.approx(0.01) and reach.score == pytest.approx(75)
    # (comments + shares) / interaction = 30 / 60
    assert depth.score == pytest.approx(50)
    # returning: gh1 and gh3 posted earlier in the 90 days, gh2 only 200 days ago → 2/3;
    # net over 90 days: 3 positive, 1 negative → 0.5 → standing 0.75
    assert retention.inputs["returning_share"] == pytest.approx(2 / 3)
    assert retention.inputs["net_sentiment"] == pytest.approx(0.5)
    assert retention.score == pytest.approx(100 * (2 / 3 + 0.75) / 2)
    assert h.index == pytest.approx((75 + 50 + 2 * retention.score) / 4)
    json.dumps(h.as_dict(), ensure_ascii=False)


def test_indicators_and_metrics():
    current = [art(str(i), 1 + i % 6) for i in range(14)]
    previous = [art(f"p{i}", 8 + i) for i in range(7)]
    category = [*current, *previous] + [
        Post("weibo", f"rival{i}", created_at=NOW - timedelta(days=3)) for i in range(21)]
    h = health_index([*current, *previous], now=NOW, category=category)
    ind = {i.name: i for i in h.indicators}
    assert ind["volume"].value == pytest.approx(2.0) and ind["volume"].change == pytest.approx(1.0)
    assert ind["engagement"].value == pytest.approx(14 * 20 / 7)
    assert ind["engagement"].change == pytest.approx(1.0)
    assert ind["mention_share"].value == pytest.approx(21 / 42)
    assert ind["sentiment_slope"].value == pytest.approx(0.0)
    m = h.metrics()
    assert m["health/short/volume"] == pytest.approx(2.0)
    assert m["health/short/volume_change"] == pytest.approx(1.0)
    assert m["window/seconds"] == 7 * 86400 and m["window/end"] == NOW.timestamp()
    assert {"health/index", "health/reach", "health/depth", "health/retention"} <= set(m)


def test_missing_inputs_are_left_out_and_said():
    bare = [Post("weibo", str(i), created_at=NOW - timedelta(days=1)) for i in range(3)]
    h = health_index(bare, now=NOW)
    assert h.index is None and all(c.score is None for c in h.components)
    assert "no component could be measured: the index is None" in h.notes
    assert "no category posts given: mention share not measured" in h.notes
    assert h.components[0].note == "no exposure measured in the window"
    # a label makes retention's sentiment half measurable (no author ids: no returning share);
    # net −1 → standing 0 → retention 0, and the index is retention alone
    scored = [Post("weibo", "s", created_at=NOW - timedelta(days=1), sentiment_label="negative"),
              Post("weibo", "t", created_at=NOW - timedelta(days=2), sentiment_label="positive",
                   sentiment=0.9),
              Post("weibo", "u", created_at=NOW - timedelta(days=2), sentiment=0.1)]
    h2 = health_index(scored, now=NOW)
    retention = h2.components[2]
    assert retention.inputs["net_sentiment"] == pytest.approx(-1 / 3)
    assert retention.score == pytest.approx(100 * (1 - 1 / 3) / 2)
    assert retention.note == "not measured: returning-author share"
    assert h2.index == pytest.approx(retention.score)


@pytest.mark.parametrize("posts", [[], [Post("zhihu", "1")], [art("x", 1)]])
def test_bad_input_never_crashes(posts):
    h = health_index(posts, now=NOW, category=[])
    json.dumps(h.as_dict(), ensure_ascii=False)
    assert all(not isinstance(v, float) or math.isfinite(v) for v in h.metrics().values())


PAST = [{"health/short/volume": 10.0, "health/short/engagement": 100.0,
         "health/long/mention_share": 0.30, "health/long/returning_share": 0.50}] * 3


@pytest.mark.parametrize(("current", "history", "status", "falling"), [
    # volume +50%, mention share −17%, returning −20%: fires
    ({"health/short/volume": 15.0, "health/long/mention_share": 0.25,
      "health/long/returning_share": 0.40}, PAST, "fired", 2),
    # short term up, only one long-term indicator down (of three measured): quiet
    ({"health/short/volume": 15.0, "health/long/mention_share": 0.25,
      "health/long/returning_share": 0.50, "health/long/sentiment_slope": 0.01}, PAST, "quiet", 1),
    # long term down but short term flat (+10% < 20%): quiet
    ({"health/short/volume": 11.0, "health/long/mention_share": 0.20,
      "health/long/returning_share": 0.30}, PAST, "quiet", 2),
    # sentiment slope falling and mention share falling; engagement up 30%
    ({"health/short/engagement": 130.0, "health/long/mention_share": 0.28,
      "health/long/sentiment_slope": -0.01}, PAST, "fired", 2),
    # no history: the window-over-window change stands in for the short term; the slope needs
    # no history, and being the only long-term indicator measured it decides alone
    ({"health/short/volume": 30.0, "health/short/volume_change": 0.5,
      "health/long/mention_share": 0.2, "health/long/sentiment_slope": -0.01}, [], "fired", 1),
    ({"health/short/volume": 30.0}, [], "skipped", 0),
    ({}, PAST, "skipped", 0),
])
def test_divergence_table(current, history, status, falling):
    fired, details = divergence(current, history)
    assert details["status"] == status and fired is (status == "fired")
    assert details["falling"] == falling
    json.dumps(details)


def test_divergence_details_and_rule_result():
    current = {"health/short/volume": 15.0, "health/long/mention_share": 0.24,
               "health/long/returning_share": 0.40}
    fired, details = divergence(current, PAST)
    assert details["short"]["health/short/volume"] == {
        "value": 15.0, "baseline": 10.0, "change": pytest.approx(0.5), "up": True}
    assert details["long"]["health/long/mention_share"]["change"] == pytest.approx(-0.2)
    assert details["message"] == ("short term up (volume +50%) while long term down "
                                  "(mention_share, returning_share)")
    result = divergence_result(current, PAST, rise=0.6)
    assert isinstance(result, RuleResult) and result.rule == "health_divergence"
    assert result.status == "quiet" and not result.fired and result.threshold == 0.6
    assert result.value == pytest.approx(0.5) and result.metric == "health/short/volume"
