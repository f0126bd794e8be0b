"""Brand health: three 0–100 components, an overall index, short- and long-term indicators and
the divergence rule (short term up while long term down). Pure; no store, no settings, no clock.

Components (over the current window ``[now − window, now)`` unless said otherwise)
----------------------------------------------------------------------------------
* **触达效率 reach** = 100 · clamp(log(rate / lo) / log(hi / lo), 0, 1), rate = interaction on
  posts with known exposure / exposure (the funnel's first step). Log scale because platforms'
  rates differ by decades (a Weibo star's 0.01% of followers, a WeChat article's 3% of reads);
  ``lo, hi = 1e-5, 1e-1`` by default: 25 points per decade.
* **参与深度 depth** = 100 · (comments + shares) / interaction: the share of actions that are
  more than one tap (a like).
* **价值沉淀 retention** = 100 · mean(returning-author share, (net sentiment + 1) / 2): who keeps
  coming back (authors of the window who also posted in the rest of the long window) and the
  standing the brand keeps (net sentiment over the long window, ``[now − long_window, now)``).
  A missing input is left out of the mean (and noted).
* **index** = Σ wᵢ · componentᵢ / Σ wᵢ over the measured components, weights reach 0.3,
  depth 0.3, retention 0.4 by default (retention weighs most: it is what a campaign leaves).

Indicators: short-term volume (posts per day) and engagement (interactions per day) in the window,
each with its change against the previous window; long-term mention share (the brand's posts
among the category's over the long window), sentiment trend slope (weighted least squares of
daily net sentiment over the long window, per day, weights = polar posts that day) and the
returning-author share.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from crawlers.items import Author, AuthorKey, Post
from scoring.alerts import RuleResult
from scoring.measure.funnel import CHINA_TZ, AsDict, funnel_report
from scoring.netsentiment import net_score, post_label

__all__ = [
    "DEFAULT_WEIGHTS",
    "Component",
    "HealthReport",
    "Indicator",
    "divergence",
    "divergence_result",
    "health_index",
    "log_score",
    "sentiment_slope",
]

DEFAULT_WEIGHTS: dict[str, float] = {"reach": 0.3, "depth": 0.3, "retention": 0.4}
SHORT_TERM = ("health/short/volume", "health/short/engagement")
LONG_TERM = ("health/long/mention_share", "health/long/returning_share",
             "health/long/sentiment_slope")


@dataclass(frozen=True)
class Component(AsDict):
    """One component: ``score`` 0–100 (None when unmeasurable), its ``inputs`` and formula."""

    name: str
    label: str
    score: float | None
    inputs: dict[str, float | None]
    formula: str
    note: str | None = None


@dataclass(frozen=True)
class Indicator(AsDict):
    """A short- or long-term indicator; ``change`` is relative to the previous window."""

    name: str
    term: str
    value: float | None
    change: float | None = None
    unit: str = ""


@dataclass(frozen=True)
class HealthReport(AsDict):
    """The index, its components and indicators; :meth:`metrics` is the flat snapshot that
    :func:`divergence` and alert rules read."""

    index: float | None
    components: tuple[Component, ...]
    weights: dict[str, float]
    indicators: tuple[Indicator, ...]
    now: datetime
    window_days: float
    notes: tuple[str, ...] = ()

    def metrics(self) -> dict[str, float]:
        """Slash-named numbers (only those measured), with ``window/end`` and ``window/seconds``
        as in :func:`scoring.snapshot.snapshot`."""
        out = {"window/end": self.now.timestamp(), "window/seconds": self.window_days * 86400}
        if self.index is not None:
            out["health/index"] = self.index
        for c in self.components:
            if c.score is not None:
                out[f"health/{c.name}"] = c.score
        for i in self.indicators:
            if i.value is not None:
                out[f"health/{i.term}/{i.name}"] = i.value
            if i.change is not None:
                out[f"health/{i.term}/{i.name}_change"] = i.change
        return out


def log_score(value: float | None, lo: float, hi: float) -> float | None:
    """100 · clamp(log(value / lo) / log(hi / lo), 0, 1): 0 at ``lo``, 100 at ``hi``.

    >>> log_score(1e-3, 1e-5, 1e-1), log_score(1e-6, 1e-5, 1e-1), log_score(None, 1, 10)
    (50.0, 0.0, None)
    """
    if value is None:
        return None
    if value <= lo:
        return 0.0
    return round(100 * min(1.0, math.log(value / lo) / math.log(hi / lo)), 10)


def sentiment_slope(daily: Mapping[int, tuple[int, int]]) -> float | None:
    """Weighted least-squares slope of net sentiment per day.

    ``daily`` maps a day number to (positive, negative) counts; each day's net sentiment
    (pos − neg) / (pos + neg) is weighted by its polar posts. None with fewer than two days.

    >>> sentiment_slope({0: (3, 1), 1: (1, 1), 2: (1, 3)})  # nets 0.5, 0, -0.5, equal weights
    -0.5
    >>> sentiment_slope({0: (1, 0)}) is None
    True
    """
    pts = [(float(d), (p - n) / (p + n), float(p + n)) for d, (p, n) in daily.items() if p + n]
    if len(pts) < 2:
        return None
    sw = sum(w for _, _, w in pts)
    mx = sum(w * x for x, _, w in pts) / sw
    my = sum(w * y for _, y, w in pts) / sw
    sxx = sum(w * (x - mx) ** 2 for x, _, w in pts)
    return sum(w * (x - mx) * (y - my) for x, y, w in pts) / sxx if sxx else None


def _change(now_value: float | None, before: float | None) -> float | None:
    if now_value is None or before is None or before <= 0:
        return None
    return now_value / before - 1


def _when(p: Post) -> datetime | None:
    t = p.created_at
    return t.replace(tzinfo=UTC) if t is not None and t.tzinfo is None else t


def health_index(
    posts: Iterable[Post],
    *,
    now: datetime,
    authors: Mapping[AuthorKey, Author] | None = None,
    category: Iterable[Post] | None = None,
    window: timedelta = timedelta(days=7),
    long_window: timedelta = timedelta(days=90),
    weights: Mapping[str, float] | None = None,
    reach_scale: tuple[float, float] = (1e-5, 1e-1),
    reach_rate: float = 1.0,
    tz: tzinfo = CHINA_TZ,
    cap_k: float | None = 5.0,
) -> HealthReport:
    """The health index of a brand (or topic) from its posts.

    Parameters
    ----------
    posts : the brand's posts over at least ``long_window`` before ``now`` (others are ignored)
    now : aware datetime, the end of the window
    authors : ``{(platform, author_id): Author}`` for follower-estimated exposure
    category : every post of the category (competitors included) for the mention share
    window, long_window : the current window and the long one it sits at the end of
    weights : component weights (default :data:`DEFAULT_WEIGHTS`), renormalised over measured
        components
    reach_scale : (lo, hi) engagement rates scored 0 and 100
    reach_rate, tz, cap_k : passed to :func:`scoring.measure.funnel.funnel_report`

    Returns
    -------
    HealthReport

    Examples
    --------
    >>> now = datetime(2026, 5, 8, tzinfo=UTC)
    >>> def art(i, day, reads, a="gh1", label="positive"):
    ...     return Post("wechat", str(i), kind="article", author_id=a, read_count=reads,
    ...                 like_count=10, comment_count=5, repost_count=5, sentiment_label=label,
    ...                 created_at=now - timedelta(days=day))
    >>> posts = [art(1, 1, 2000), art(2, 2, 2000, "gh2"), art(3, 20, 1000, label="negative")]
    >>> h = health_index(posts, now=now)
    >>> [(c.name, c.score) for c in h.components]
    [('reach', 75.0), ('depth', 50.0), ('retention', 58.33333333333333)]
    >>> round(h.index, 2)
    60.83
    """
    weights = dict(DEFAULT_WEIGHTS if weights is None else weights)
    start, long_start = now - window, now - long_window
    prev_start = start - window
    current: list[Post] = []
    previous: list[Post] = []
    earlier_authors: set[AuthorKey] = set()
    current_authors: set[AuthorKey] = set()
    long_keys: set[tuple[str, str]] = set()
    daily: dict[int, list[int]] = {}
    pos = neg = undated = 0
    offset = tz.utcoffset(None)
    for p in posts:
        t = _when(p)
        if t is None:
            undated += 1
            continue
        if not long_start <= t < now:
            if prev_start <= t < start:
                previous.append(p)
            continue
        if category is not None:
            long_keys.add(p.key)
        key = (p.platform, p.author_id) if p.author_id else None
        if t >= start:
            current.append(p)
            if key:
                current_authors.add(key)
        else:
            if prev_start <= t:
                previous.append(p)
            if key:
                earlier_authors.add(key)
        label = post_label(p)
        if label in ("positive", "negative"):
            local = t + offset if offset is not None else t.astimezone(tz)
            counts = daily.setdefault(local.toordinal(), [0, 0])
            counts[label == "negative"] += 1
            pos, neg = pos + (label == "positive"), neg + (label == "negative")

    notes: list[str] = []
    if undated:
        notes.append(f"{undated} posts without created_at were left out")
    f_now = funnel_report(current, authors=authors, reach_rate=reach_rate, tz=tz,
                          cap_k=cap_k).total
    f_prev = funnel_report(previous, authors=authors, reach_rate=reach_rate, tz=tz,
                           cap_k=cap_k).total
    lo, hi = reach_scale
    rate = f_now.interaction_reached / f_now.exposure if f_now.exposure > 0 else None
    reach = Component(
        "reach", "触达效率", log_score(rate, lo, hi),
        {"interaction_reached": f_now.interaction_reached, "exposure": f_now.exposure,
         "exposure_estimated": f_now.exposure_estimated, "rate": rate, "lo": lo, "hi": hi},
        "100·clamp(log(rate/lo)/log(hi/lo), 0, 1)",
        None if rate is not None else "no exposure measured in the window")
    deep = f_now.comments + f_now.shares
    depth_share = deep / f_now.interaction if f_now.interaction else None
    depth = Component(
        "depth", "参与深度", None if depth_share is None else 100 * depth_share,
        {"comments": f_now.comments, "shares": f_now.shares, "likes": f_now.likes,
         "interaction": f_now.interaction},
        "100·(comments + shares)/interaction",
        None if depth_share is not None else "no interaction counted in the window")
    returning = (len(current_authors & earlier_authors) / len(current_authors)
                 if current_authors else None)
    net = net_score(pos, neg)
    standing = None if net is None else (net + 1) / 2
    parts = [v for v in (returning, standing) if v is not None]
    missing = [n for n, v in (("returning-author share", returning),
                              ("net sentiment", standing)) if v is None]
    retention = Component(
        "retention", "价值沉淀", 100 * sum(parts) / len(parts) if parts else None,
        {"returning_share": returning, "returning_authors": len(current_authors
                                                                & earlier_authors),
         "authors": len(current_authors), "net_sentiment": net, "positive": pos,
         "negative": neg},
        "100·mean(returning_share, (net_sentiment + 1)/2)",
        f"not measured: {', '.join(missing)}" if missing else None)
    components = (reach, depth, retention)
    measured = [(weights.get(c.name, 0.0), c.score) for c in components if c.score is not None]
    total_w = sum(w for w, _ in measured)
    index = sum(w * s for w, s in measured) / total_w if measured and total_w > 0 else None
    if index is None:
        notes.append("no component could be measured: the index is None")

    days = window.total_seconds() / 86400
    share = None
    if category is not None:
        keys = {p.key for p in category if (t := _when(p)) is not None and long_start <= t < now}
        keys |= long_keys
        share = len(long_keys) / len(keys) if keys else None
    else:
        notes.append("no category posts given: mention share not measured")
    vol_now, vol_prev = len(current) / days, len(previous) / days
    eng_now, eng_prev = f_now.interaction / days, f_prev.interaction / days
    indicators = (
        Indicator("volume", "short", vol_now, _change(vol_now, vol_prev), "posts/day"),
        Indicator("engagement", "short", eng_now, _change(eng_now, eng_prev), "interactions/day"),
        Indicator("mention_share", "long", share, None, "share"),
        Indicator("sentiment_slope", "long",
                  sentiment_slope({d: (c[0], c[1]) for d, c in daily.items()}), None,
                  "net sentiment/day"),
        Indicator("returning_share", "long", returning, None, "share"),
    )
    return HealthReport(index, components, weights, indicators, now, days, tuple(notes))


def divergence(
    current: Mapping[str, float],
    history: Sequence[Mapping[str, float]],
    *,
    rise: float = 0.2,
    fall: float = 0.05,
    slope_fall: float = 0.001,
    min_falling: int = 2,
) -> tuple[bool, dict[str, Any]]:
    """Short term up while long term down, over :meth:`HealthReport.metrics` snapshots.

    Short term is up when volume or engagement is at least ``rise`` above its mean over
    ``history`` (without history: above the previous window, the ``*_change`` metric). Long term
    is down when at least ``min_falling`` (or all, if fewer are measured) of: mention share and
    returning-author share at least ``fall`` below their history mean, sentiment slope below
    ``-slope_fall`` per day.

    Returns
    -------
    (fired, details)
        ``details`` holds ``status`` (fired, quiet or skipped), ``message`` and, per indicator,
        value, baseline, change and direction; JSON-ready.

    Examples
    --------
    >>> past = [{"health/short/volume": 10.0, "health/long/mention_share": 0.30,
    ...          "health/long/returning_share": 0.5}]
    >>> now = {"health/short/volume": 15.0, "health/long/mention_share": 0.25,
    ...        "health/long/returning_share": 0.4, "health/long/sentiment_slope": 0.01}
    >>> fired, details = divergence(now, past)
    >>> fired, details["falling"], details["short"]["health/short/volume"]["change"]
    (True, 2, 0.5)
    """
    short: dict[str, dict[str, Any]] = {}
    long: dict[str, dict[str, Any]] = {}
    for metric in SHORT_TERM + LONG_TERM:
        value = current.get(metric)
        if value is None or not math.isfinite(value):
            continue
        past = [h[metric] for h in history if metric in h and math.isfinite(h[metric])]
        base = sum(past) / len(past) if past else None
        if metric.endswith("sentiment_slope"):
            long[metric] = {"value": value, "baseline": None, "change": None,
                            "down": value < -slope_fall}
            continue
        change = _change(value, base)
        if change is None and metric in SHORT_TERM:
            change = current.get(metric + "_change")
        if change is None:
            continue
        if metric in SHORT_TERM:
            short[metric] = {"value": value, "baseline": base, "change": change,
                             "up": change >= rise}
        else:
            long[metric] = {"value": value, "baseline": base, "change": change,
                            "down": change <= -fall}
    ups = [m for m, d in short.items() if d["up"]]
    downs = [m for m, d in long.items() if d["down"]]
    details: dict[str, Any] = {"short": short, "long": long, "falling": len(downs),
                               "measured_long": len(long), "rise": rise, "fall": fall}
    if not short or not long:
        details.update(status="skipped", message="not enough measured indicators (needs one "
                       "short-term and one long-term with a baseline)")
        return False, details
    fired = bool(ups) and len(downs) >= min(min_falling, len(long))
    if fired:
        up = ", ".join(f"{m.rsplit('/', 1)[1]} {short[m]['change']:+.0%}" for m in ups)
        down = ", ".join(m.rsplit("/", 1)[1] for m in downs)
        message = f"short term up ({up}) while long term down ({down})"
    else:
        message = (f"no divergence: {len(ups)} short-term indicator(s) up, {len(downs)} of "
                   f"{len(long)} long-term down")
    details.update(status="fired" if fired else "quiet", message=message)
    return fired, details


def divergence_result(current: Mapping[str, float], history: Sequence[Mapping[str, float]],
                      **kwargs: Any) -> RuleResult:
    """:func:`divergence` as a :class:`scoring.alerts.RuleResult` named ``health_divergence``.

    >>> divergence_result({"health/short/volume": 1.0}, []).status
    'skipped'
    """
    fired, details = divergence(current, history, **kwargs)
    volume = details["short"].get("health/short/volume", {})
    return RuleResult("health_divergence", details["status"], details["message"],
                      metric="health/short/volume", value=volume.get("change"),
                      threshold=details["rise"], details=details)

