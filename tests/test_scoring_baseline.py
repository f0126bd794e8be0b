"""Seasonal baselines and the count-aware tails: closed forms worked on paper, and scipy (when
installed) as an independent reference."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from scoring.baseline import (
    Baseline,
    binomial_sf,
    count_pvalue,
    negbinom_sf,
    poisson_sf,
    seasonal_baseline,
)

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
WEEK = timedelta(weeks=1)


@pytest.mark.parametrize(("k", "mu", "expected"), [
    (0, 2.0, 1.0),
    (1, 1.0, 1 - math.exp(-1)),                    # 1 − P(0)
    (2, 1.0, 1 - 2 * math.exp(-1)),                # 1 − P(0) − P(1)
    (3, 2.0, 1 - math.exp(-2) * (1 + 2 + 2)),      # 1 − e^-2 (1 + 2 + 4/2)
    (1, 0.0, 0.0),
])
def test_poisson_tail_closed_forms(k, mu, expected) -> None:
    assert poisson_sf(k, mu) == pytest.approx(expected, rel=1e-12, abs=1e-15)


def test_binomial_and_negative_binomial_closed_forms() -> None:
    assert binomial_sf(2, 2, 0.5) == pytest.approx(0.25)
    assert binomial_sf(1, 3, 0.5) == pytest.approx(7 / 8)
    assert binomial_sf(4, 3, 0.5) == 0.0
    # Mean 2, variance 4: r = 2, success probability 1/2 → P(X = j) = (j + 1) / 2^(j + 2).
    assert negbinom_sf(1, 2.0, 4.0) == pytest.approx(1 - 1 / 4)
    assert negbinom_sf(3, 2.0, 4.0) == pytest.approx(1 - (1 / 4 + 2 / 8 + 3 / 16))


GRID = [(k, mu) for k in (1, 5, 20, 80, 400) for mu in (0.5, 4.0, 30.0, 250.0)]


@pytest.mark.parametrize(("k", "mu"), GRID)
def test_tails_agree_with_scipy(k, mu) -> None:
    stats = pytest.importorskip("scipy.stats")
    assert poisson_sf(k, mu) == pytest.approx(stats.poisson.sf(k - 1, mu), rel=1e-9, abs=1e-300)
    var = mu * 3
    r, p = mu * mu / (var - mu), mu / var
    expected = stats.nbinom.sf(k - 1, r, p)
    assert negbinom_sf(k, mu, var) == pytest.approx(expected, rel=1e-9, abs=1e-300)
    n = 2 * k + 10
    expected = stats.binom.sf(k - 1, n, 0.3)
    assert binomial_sf(k, n, 0.3) == pytest.approx(expected, rel=1e-9, abs=1e-300)


def test_negative_binomial_reduces_to_poisson_and_has_a_fatter_tail() -> None:
    assert negbinom_sf(12, 5.0, 5.0) == poisson_sf(12, 5.0)
    assert negbinom_sf(12, 5.0, 5.0 * 1.001) == pytest.approx(poisson_sf(12, 5.0), rel=0.01)
    assert negbinom_sf(12, 5.0, 15.0) > 10 * poisson_sf(12, 5.0)


def test_seasonal_baseline_takes_the_same_hour_of_past_weeks() -> None:
    history = [(NOW - k * WEEK, 10.0 * k) for k in (1, 2, 3, 4)]       # 10, 20, 30, 40
    history += [(NOW - timedelta(hours=h), 1000.0) for h in range(1, 24)]  # other hours: ignored
    history += [(NOW, 5000.0), (NOW + WEEK, 5000.0)]                       # not in the past
    base = seasonal_baseline(history, NOW)
    assert (base.kind, base.n, base.mean) == ("seasonal", 4, 25.0)
    assert base.variance == pytest.approx(sum((v - 25) ** 2 for v in (10, 20, 30, 40)) / 3)


def test_seasonal_points_may_be_off_by_the_tolerance_and_the_nearest_wins() -> None:
    history = [(NOW - WEEK + timedelta(minutes=20), 7.0), (NOW - WEEK - timedelta(minutes=5), 9.0),
               (NOW - 2 * WEEK + timedelta(minutes=45), 99.0),   # outside 30 min: ignored
               (NOW - 3 * WEEK, 11.0)]
    base = seasonal_baseline(history, NOW)
    assert (base.kind, base.n, base.mean) == ("seasonal", 2, 10.0)


def test_short_history_falls_back_to_the_recent_windows() -> None:
    history = [(NOW - WEEK, 50.0)] + [(NOW - timedelta(hours=h), float(h)) for h in range(1, 31)]
    base = seasonal_baseline(history, NOW, recent=24)
    assert base.kind == "recent" and base.n == 24
    assert base.mean == pytest.approx(sum(range(1, 25)) / 24)  # the 24 latest: hours 1..24 ago
    assert seasonal_baseline([], NOW) == Baseline(0.0, 0.0, 0, "none")


def test_count_pvalue_accounts_for_overdispersion_and_a_quiet_history() -> None:
    steady = Baseline(10.0, 10.0, 4, "seasonal")
    bursty = Baseline(10.0, 60.0, 4, "seasonal")
    assert bursty.overdispersed and not steady.overdispersed
    assert count_pvalue(25, bursty) > 10 * count_pvalue(25, steady)
    # A history of zeros is not a rate of zero: the floor keeps 1 event unremarkable.
    assert count_pvalue(1, Baseline(0.0, 0.0, 4, "seasonal")) > 0.5
    # More history → less uncertainty about the rate → a smaller p-value for the same count.
    assert count_pvalue(25, Baseline(10.0, 10.0, 24, "recent")) < count_pvalue(25, steady)
