"""Alert rules, table-driven: operators, missing settings, guards, per-monitor overrides, and the
spike rules firing on spikes while staying quiet on seeded Poisson noise."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from scoring.alerts import (
    DEFAULT_RULES,
    CrawlHealth,
    HeadAccountJoined,
    NegativeShare,
    NegativeSpike,
    RiskWords,
    Rule,
    VolumeSpike,
    evaluate,
)

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
DEFAULTS = {"ALERT_SPIKE_PVALUE": 0.01, "ALERT_MIN_VOLUME": 20, "ALERT_MIN_RATIO": 2.0,
            "ALERT_VOLUME_GROWTH": 3.0, "ALERT_NEGATIVE_RATIO": 0.6, "ALERT_RISK_HITS": 5,
            "ALERT_HEAD_JOINED": 1, "ALERT_CRAWL_FAILURES": 3}


def window(end: datetime, count: float, negative: float,
           seconds: float = 3600.0) -> dict[str, float]:
    return {"window/end": end.timestamp(), "window/seconds": seconds, "posts/count": count,
            "posts/scored": count, "posts/negative": negative,
            "posts/negative_ratio": negative / count if count else 0.0}


def hourly_history(hours: int, count: float = 50, negative: float = 5) -> list[dict[str, float]]:
    return [window(NOW - timedelta(hours=h), count, negative) for h in range(hours, 0, -1)]


class Threshold(Rule):
    metric = "x/value"
    threshold_setting = "X_LIMIT"


@pytest.mark.parametrize(("op", "threshold", "value", "fires"), [
    (">=", 5, 5, True), (">=", 5, 4.9, False),
    (">", 5, 5, False), (">", 5, 6, True),
    ("<=", 5, 5, True), ("<=", 5, 6, False),
    ("<", 5, 4, True), ("<", 5, 5, False),
    ("==", 5, 5, True), ("!=", 5, 5, False),
])
def test_operator_table(op, threshold, value, fires) -> None:
    rule = type("R", (Threshold,), {"op": op})
    [result] = evaluate([rule], {"x/value": value}, {"X_LIMIT": threshold})
    assert result.fired is fires
    assert (result.value, result.threshold) == (value, threshold)


@pytest.mark.parametrize(("settings", "status", "words"), [
    ({}, "disabled", "X_LIMIT is not set; R rule disabled"),
    ({"X_LIMIT": None}, "disabled", "X_LIMIT is not set"),
    ({"X_LIMIT": "lots"}, "disabled", "X_LIMIT='lots' is not a number"),
    ({"X_LIMIT": "5"}, "fired", ""),                      # settings from the environment are text
])
def test_a_missing_setting_disables_the_rule(settings, status, words) -> None:
    rule = type("R", (Threshold,), {})
    [result] = evaluate([rule], {"x/value": 7}, settings)
    assert result.status == status and words in result.message


def test_a_metric_that_was_not_measured_skips_and_a_broken_rule_does_not_hide_others() -> None:
    class Broken(Threshold):
        def check(self, *args):
            raise ZeroDivisionError("oops")

    results = evaluate([Broken, Threshold, RiskWords], {"risk/hits": 9},
                       {"X_LIMIT": 1, "ALERT_RISK_HITS": 5})
    assert [r.status for r in results] == ["error", "skipped", "fired"]


def test_every_default_rule_names_a_setting_documented_in_settings_py() -> None:
    from pathlib import Path

    text = (Path(__file__).resolve().parent.parent / "crawlers" / "settings.py").read_text("utf-8")
    for rule in DEFAULT_RULES:
        names = (rule.threshold_setting, rule.min_volume_setting,
                 getattr(rule, "ratio_setting", None))
        for name in names:
            if name:
                assert f"\n{name} = " in text, name


# -- spike rules -----------------------------------------------------------------------------
SPIKES = [
    # case, history, current (count, negative), overrides, expected (negative_spike, volume_spike)
    ("spike", hourly_history(24), (50, 30), {}, ("fired", "quiet")),
    ("noise-sized bump", hourly_history(24), (50, 9), {}, ("quiet", "quiet")),
    ("volume guard", hourly_history(24, 10, 1), (12, 8), {}, ("quiet", "quiet")),
    ("volume guard lowered per monitor", hourly_history(24, 10, 1), (12, 8),
     {"ALERT_MIN_VOLUME": 5}, ("fired", "quiet")),
    ("ratio guard", hourly_history(24, 500, 50), (500, 90), {}, ("quiet", "quiet")),
    ("ratio guard lowered per monitor", hourly_history(24, 500, 50), (500, 90),
     {"ALERT_MIN_RATIO": 1.5}, ("fired", "quiet")),
    # Three times the posts with the usual share of negatives is a volume spike, not a negative one.
    ("volume surge", hourly_history(24), (150, 16), {}, ("quiet", "fired")),
    ("no history", [], (50, 30), {}, ("skipped", "skipped")),
    ("stricter p-value per monitor", hourly_history(24), (50, 14), {"ALERT_SPIKE_PVALUE": 1e-9},
     ("quiet", "quiet")),
]


@pytest.mark.parametrize(("case", "history", "current", "overrides", "expected"), SPIKES,
                         ids=[s[0] for s in SPIKES])
def test_spike_rules(case, history, current, overrides, expected) -> None:
    results = evaluate([NegativeSpike, VolumeSpike], window(NOW, *current),
                       {**DEFAULTS, **overrides}, history)
    assert tuple(r.status for r in results) == expected, [r.message for r in results]


def test_spike_message_and_details_explain_the_decision() -> None:
    [r] = evaluate([NegativeSpike], window(NOW, 50, 30), DEFAULTS, hourly_history(24))
    assert r.rule == "negative_spike" and r.metric == "posts/negative" and r.value == 30
    assert r.details["baseline"] == "recent" and r.details["expected"] == 5.0
    assert r.threshold == 10.0  # ALERT_MIN_RATIO × expected
    assert r.severity == "critical"  # 6× the baseline: past twice the minimum ratio
    assert "30 negative posts in the window, 6.0× the recent baseline of 5.0" in r.message


def test_the_seasonal_baseline_knows_a_busy_hour_from_a_spike() -> None:
    # Every day 21:00 is busy (60 negatives of 200); other hours are quiet (5 of 50).
    history = []
    for h in range(24 * 28, 0, -1):
        end = NOW - timedelta(hours=h)
        busy = end.hour == NOW.hour
        history.append(window(end, 200 if busy else 50, 60 if busy else 5))
    busy_hour = window(NOW, 200, 62)
    [r] = evaluate([NegativeSpike], busy_hour, DEFAULTS, history)
    assert r.status == "quiet" and r.details["baseline"] == "seasonal"
    # The same window judged against only the recent hours would look like a spike.
    [naive] = evaluate([NegativeSpike], busy_hour, DEFAULTS, history[-5:])
    assert naive.fired


def test_windows_of_another_length_are_rescaled() -> None:
    # The monitor used to run on 2-hour windows with 10 negatives each: 5 per hour.
    history = [window(NOW - timedelta(hours=2 * i), 100, 10, seconds=7200)
               for i in range(12, 0, -1)]
    [r] = evaluate([NegativeSpike], window(NOW, 50, 5), DEFAULTS, history)
    assert r.details["expected"] == 5.0 and r.status == "quiet"


def _simulate(seed: int, *, weeks: int = 4, windows: int = 336, spike_every: int | None = None):
    """Hourly windows with a daily cycle, Poisson volume, 15% negatives; optionally every
    ``spike_every``-th judged window gets three times its usual negatives on top."""
    rng = np.random.default_rng(seed)
    history: list[dict[str, float]] = []
    alarms = {"negative_spike": 0, "volume_spike": 0}
    caught = spikes = 0
    start = NOW - timedelta(hours=weeks * 168 + windows)
    for i in range(weeks * 168 + windows):
        end = start + timedelta(hours=i + 1)
        rate = 40 + 30 * math.sin(2 * math.pi * end.hour / 24)
        count = int(rng.poisson(rate))
        negative = int(rng.binomial(count, 0.15))
        spike = bool(spike_every) and i >= weeks * 168 and i % spike_every == 0
        if spike:
            extra = int(rng.poisson(3 * 0.15 * rate))
            count, negative = count + extra, negative + extra
        metrics = window(end, count, negative)
        if i >= weeks * 168:
            neg, vol = evaluate([NegativeSpike, VolumeSpike], metrics, DEFAULTS, history)
            if spike:
                spikes += 1
                caught += neg.fired
            else:
                alarms["negative_spike"] += neg.fired
                alarms["volume_spike"] += vol.fired
        history.append(metrics)
    return alarms, caught, spikes


def test_quiet_on_seeded_poisson_noise() -> None:
    judged = 3 * 336
    totals = {"negative_spike": 0, "volume_spike": 0}
    for seed in range(3):
        alarms, _, _ = _simulate(seed)
        for rule, n in alarms.items():
            totals[rule] += n
    # At p <= 0.01 a calibrated test raises at most ~1% false alarms on pure noise; the share
    # test and the ratio guards can only lower that.
    assert totals["negative_spike"] <= 0.01 * judged
    assert totals["volume_spike"] <= 0.01 * judged


def test_fires_on_most_injected_spikes() -> None:
    caught = spikes = 0
    for seed in range(3):
        _, c, s = _simulate(seed, spike_every=17)
        caught, spikes = caught + c, spikes + s
    # Three times the usual negatives is obvious in busy hours and hidden by noise (or the
    # volume guard) in the quietest ones; most must be caught.
    assert spikes == 60 and caught >= 0.6 * spikes


# -- threshold rules -------------------------------------------------------------------------
@pytest.mark.parametrize(("rule", "metrics", "overrides", "status"), [
    (NegativeShare, {"posts/count": 40, "posts/negative_ratio": 0.7}, {}, "fired"),
    (NegativeShare, {"posts/count": 40, "posts/negative_ratio": 0.5}, {}, "quiet"),
    (NegativeShare, {"posts/count": 40, "posts/negative_ratio": 0.5},
     {"ALERT_NEGATIVE_RATIO": 0.5}, "fired"),
    (NegativeShare, {"posts/count": 5, "posts/negative_ratio": 1.0}, {}, "quiet"),  # volume guard
    (NegativeShare, {"posts/count": 40, "posts/negative_ratio": 0.9},
     {"ALERT_NEGATIVE_RATIO": None}, "disabled"),
    (RiskWords, {"risk/hits": 5, "risk/word/维权": 3, "risk/word/曝光": 2}, {}, "fired"),
    (RiskWords, {"risk/hits": 4}, {}, "quiet"),
    (HeadAccountJoined, {"authors/head_joined": 1, "authors/head_joined/weibo/42": 2e6}, {},
     "fired"),
    (HeadAccountJoined, {"authors/head_joined": 0}, {}, "quiet"),
])
def test_threshold_rules(rule, metrics, overrides, status) -> None:
    [r] = evaluate([rule], metrics, {**DEFAULTS, **overrides})
    assert r.status == status, r.message


def test_risk_and_head_messages_name_the_words_and_accounts() -> None:
    risk, head = evaluate([RiskWords, HeadAccountJoined],
                          {"risk/hits": 5, "risk/word/维权": 3, "risk/word/曝光": 2,
                           "authors/head_joined": 1, "authors/head_joined/weibo/42": 2e6}, DEFAULTS)
    assert risk.message == "5 risk-word hits (threshold 5): 维权 ×3, 曝光 ×2"
    assert head.details == {"accounts": ["weibo/42"]} and "weibo/42" in head.message


@pytest.mark.parametrize(("metrics", "status", "words"), [
    ({"crawl/weibo/consecutive_failures": 3, "crawl/weibo/login_required": 1,
      "crawl/max_consecutive_failures": 3}, "fired",
     "weibo: login_required for 3 consecutive runs — refresh the platform cookie"),
    ({"crawl/zhihu/consecutive_failures": 4, "crawl/zhihu/rate_limited": 1,
      "crawl/max_consecutive_failures": 4}, "fired", "run the monitor less often"),
    ({"crawl/forum/consecutive_failures": 3, "crawl/forum/crashed": 1}, "fired",
     "crawl process failed"),
    ({"crawl/weibo/consecutive_failures": 2, "crawl/weibo/login_required": 1}, "quiet", ""),
    ({"crawl/weibo/consecutive_failures": 0}, "quiet", ""),
])
def test_crawl_health(metrics, status, words) -> None:
    [r] = evaluate([CrawlHealth], metrics, DEFAULTS)
    assert r.status == status and words in r.message
    assert r.severity == "critical"


def _regions(end: datetime, **counts: float) -> dict[str, float]:
    return {**window(end, sum(counts.values()), 0),
            **{f"posts/region/{k}": v for k, v in counts.items()}}


REGION_SETTINGS = {**DEFAULTS, "ALERT_REGION_GROWTH": 3.0, "ALERT_REGION_MIN": 10}


def test_a_province_far_above_its_own_baseline_is_a_regional_surge():
    from scoring.alerts import RegionalSurge

    history = [_regions(NOW - timedelta(hours=h), 广东=10, 北京=8) for h in range(24, 0, -1)]
    [r] = evaluate([RegionalSurge], _regions(NOW, 广东=11, 北京=40, 四川=3), REGION_SETTINGS,
                   history)
    assert r.fired and [g["region"] for g in r.details["regions"]] == ["北京"]
    assert r.details["regions"][0]["ratio"] == 5.0
    # 四川: new, but 3 posts is below ALERT_REGION_MIN; 广东 grew by 10%: nothing to say
    [quiet] = evaluate([RegionalSurge], _regions(NOW, 广东=12, 北京=9), REGION_SETTINGS, history)
    assert quiet.status == "quiet"
    [first] = evaluate([RegionalSurge], _regions(NOW, 北京=40), REGION_SETTINGS, [])
    assert first.status == "skipped"


def test_a_regional_surge_reads_in_chinese():
    from crawlers.items import Alert
    from scheduler.notify.wording import headline, rule_title

    a = Alert("x", "品牌A", "regional_surge", "warning", "internal", value=1, threshold=3,
              details={"regions": [{"region": "北京", "count": 40, "baseline": 8.0,
                                    "ratio": 5.0, "pvalue": 1e-9}]})
    assert headline(a) == "「品牌A」在北京的讨论量突增：40 条，是平常（约 8 条）的 5 倍。"
    assert rule_title("regional_surge") == "地域声量突增"


def test_snapshot_counts_posts_per_province():
    from crawlers.items import Post
    from scoring.snapshot import snapshot

    posts = [Post("weibo", str(i), created_at=NOW - timedelta(minutes=i + 1), region=r)
             for i, r in enumerate(["IP属地：北京", "北京", "广东 深圳", None, "其他"])]
    metrics = snapshot(posts, {}, None, [], now=NOW, window=timedelta(hours=1))
    assert metrics["posts/region/北京"] == 2 and metrics["posts/region/广东"] == 1
    assert not [k for k in metrics if k.endswith("未知")]


def test_short_term_up_while_long_term_slides_is_a_divergence_alert():
    from scoring.alerts import HealthDivergence

    settings = {**DEFAULTS, "ALERT_DIVERGENCE_RISE": 0.2}
    past = [{**window(NOW - timedelta(hours=h), 50, 5), "health/short/volume": 10.0,
             "health/long/mention_share": 0.30, "health/long/returning_share": 0.5}
            for h in range(3, 0, -1)]
    current = {**window(NOW, 50, 5), "health/short/volume": 15.0,
               "health/long/mention_share": 0.25, "health/long/returning_share": 0.4,
               "health/long/sentiment_slope": 0.01}
    [r] = evaluate([HealthDivergence], current, settings, past)
    assert r.fired and r.details["falling"] == 2
    steady = {**current, "health/long/mention_share": 0.31, "health/long/returning_share": 0.52}
    [quiet] = evaluate([HealthDivergence], steady, settings, past)
    assert not quiet.fired
    [none] = evaluate([HealthDivergence], window(NOW, 50, 5), settings, past)
    assert none.status == "skipped"
