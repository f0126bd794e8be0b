"""Seasonal baselines and count-aware upper-tail tests for alert rules.

Pure standard library (no scipy): the tails are summed term by term in log space, which is exact
enough for p-values down to 1e-300 and cheap at the counts a monitor window holds.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

__all__ = [
    "Baseline",
    "binomial_sf",
    "count_pvalue",
    "negbinom_sf",
    "poisson_sf",
    "seasonal_baseline",
]

_TINY = 1e-17  # stop summing a tail once terms no longer change a double


@dataclass(frozen=True)
class Baseline:
    """What a window is expected to hold.

    ``kind`` is "seasonal" (same hour of week in past weeks), "recent" (the latest windows, when
    seasonal history is short) or "none" (no history: nothing to compare with).
    """

    mean: float
    variance: float
    n: int
    kind: str

    @property
    def overdispersed(self) -> bool:
        """Variance well above the mean (and enough points to say so): use a negative binomial."""
        return self.n >= 3 and self.variance > 1.5 * self.mean > 0


def seasonal_baseline(
    history: Sequence[tuple[datetime, float]],
    at: datetime,
    *,
    period: timedelta = timedelta(weeks=1),
    seasons: int = 4,
    tolerance: timedelta = timedelta(minutes=30),
    min_seasonal: int = 2,
    recent: int = 24,
) -> Baseline:
    """Expected value at ``at`` from past ``(time, value)`` observations.

    Looks for the observation nearest to ``at - k*period`` (within ``tolerance``) for
    k = 1..``seasons``; with at least ``min_seasonal`` of them the baseline is seasonal.
    Otherwise it falls back to the latest ``recent`` observations before ``at``.

    Parameters
    ----------
    history : sequence of (datetime, float)
        Past observations, any order; those at or after ``at`` are ignored.
    at : datetime
        The time being judged (the end of the current window).

    Returns
    -------
    Baseline
        Mean and sample variance of the chosen points (variance = mean for a single point).

    Examples
    --------
    >>> from datetime import timezone
    >>> t = datetime(2026, 11, 20, 12, tzinfo=timezone.utc)
    >>> week = timedelta(weeks=1)
    >>> past = [(t - week, 10.0), (t - 2 * week, 14.0), (t - timedelta(hours=1), 99.0)]
    >>> seasonal_baseline(past, t)
    Baseline(mean=12.0, variance=8.0, n=2, kind='seasonal')
    >>> seasonal_baseline([(t - timedelta(hours=1), 5.0)], t).kind
    'recent'
    """
    past = sorted((when, float(value)) for when, value in history if when < at)
    chosen: list[float] = []
    for k in range(1, seasons + 1):
        target = at - k * period
        near = [(abs(when - target), value) for when, value in past
                if abs(when - target) <= tolerance]
        if near:
            chosen.append(min(near)[1])
    kind = "seasonal"
    if len(chosen) < min_seasonal:
        chosen, kind = [value for _, value in past[-recent:]], "recent"
    if not chosen:
        return Baseline(0.0, 0.0, 0, "none")
    mean = sum(chosen) / len(chosen)
    if len(chosen) == 1:
        return Baseline(mean, mean, 1, kind)
    variance = sum((v - mean) ** 2 for v in chosen) / (len(chosen) - 1)
    return Baseline(mean, variance, len(chosen), kind)


def _tail(log_first: float, ratio_at: Callable[[int], float], start: int) -> float:
    """Sum exp(log_first) * prod(ratio_at(j)) over j >= start while the terms matter."""
    term = math.exp(log_first)
    total, j = term, start
    while term > _TINY * total or ratio_at(j) >= 1:
        term *= ratio_at(j)
        total += term
        j += 1
        if term == 0.0:
            break
    return min(total, 1.0)


def poisson_sf(k: int, mu: float) -> float:
    """P(X >= k) for X ~ Poisson(``mu``).

    Examples
    --------
    >>> round(poisson_sf(1, 1.0), 6) == round(1 - math.exp(-1), 6)
    True
    >>> poisson_sf(0, 3.0)
    1.0
    """
    if k <= 0:
        return 1.0
    if mu <= 0:
        return 0.0
    if k <= mu:  # the lower side is the short sum here
        lower = sum(math.exp(j * math.log(mu) - mu - math.lgamma(j + 1)) for j in range(k))
        return max(0.0, 1.0 - lower)
    log_first = k * math.log(mu) - mu - math.lgamma(k + 1)
    return _tail(log_first, lambda j: mu / (j + 1), k)


def negbinom_sf(k: int, mean: float, variance: float) -> float:
    """P(X >= k) for a negative binomial with the given mean and variance (> mean).

    Moment estimates r = mean²/(variance − mean), p = mean/variance; falls back to Poisson
    when the variance does not exceed the mean.

    Examples
    --------
    >>> negbinom_sf(10, 5.0, 5.0) == poisson_sf(10, 5.0)
    True
    >>> negbinom_sf(20, 5.0, 25.0) > poisson_sf(20, 5.0)   # fatter tail
    True
    """
    if k <= 0:
        return 1.0
    if mean <= 0:
        return 0.0
    if variance <= mean:
        return poisson_sf(k, mean)
    r = mean * mean / (variance - mean)
    q = 1.0 - mean / variance  # failure probability per trial

    def log_pmf(j: int) -> float:
        return (math.lgamma(j + r) - math.lgamma(r) - math.lgamma(j + 1)
                + r * math.log1p(-q) + j * math.log(q))

    mode = max(0, math.floor((r - 1) * q / (1 - q)))
    if k <= mode:
        return max(0.0, 1.0 - sum(math.exp(log_pmf(j)) for j in range(k)))
    return _tail(log_pmf(k), lambda j: (j + r) / (j + 1) * q, k)


def binomial_sf(k: int, n: int, p: float) -> float:
    """P(X >= k) for X ~ Binomial(``n``, ``p``).

    Examples
    --------
    >>> binomial_sf(2, 2, 0.5)
    0.25
    >>> binomial_sf(0, 5, 0.1)
    1.0
    """
    if k <= 0:
        return 1.0
    if k > n or p <= 0:
        return 0.0
    if p >= 1:
        return 1.0

    def log_pmf(j: int) -> float:
        return (math.lgamma(n + 1) - math.lgamma(j + 1) - math.lgamma(n - j + 1)
                + j * math.log(p) + (n - j) * math.log1p(-p))

    if k <= n * p:
        return max(0.0, 1.0 - sum(math.exp(log_pmf(j)) for j in range(k)))
    total = 0.0
    for j in range(k, n + 1):
        term = math.exp(log_pmf(j))
        total += term
        if term < _TINY * total:
            break
    return min(total, 1.0)


def count_pvalue(observed: float, baseline: Baseline, floor: float = 1.0) -> float:
    """Upper-tail p-value of ``observed`` events against ``baseline``.

    Poisson, or negative binomial when the baseline is overdispersed. The expected count is at
    least ``floor`` so that a quiet history (mean 0) does not make every event significant.

    Examples
    --------
    >>> b = Baseline(mean=4.0, variance=4.0, n=4, kind="seasonal")
    >>> count_pvalue(4, b) > 0.3, count_pvalue(15, b) < 0.001
    (True, True)
    """
    mean = max(baseline.mean, floor)
    spread = max(baseline.variance, mean) if baseline.overdispersed else mean
    # The mean is estimated from n windows, so a new window varies by spread*(1 + 1/n): for
    # Poisson counts this is the Gamma-Poisson predictive (a negative binomial), which keeps a
    # 4-week seasonal baseline from calling ordinary noise significant.
    return negbinom_sf(math.ceil(observed), mean, spread * (1 + 1 / max(baseline.n, 1)))
