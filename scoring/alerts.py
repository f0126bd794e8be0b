"""Alert rules over a flat metrics snapshot, spidermon style: a rule is a metric, the setting that
holds its threshold, and an operator. Pure: no I/O, no store, no clock.

``evaluate(rules, metrics, settings, history)`` returns one :class:`RuleResult` per rule. A rule
whose setting is missing is *disabled* and says which setting to set. ``history`` is the list of
past snapshots of the same monitor (each carrying ``window/end`` and ``window/seconds``).
"""

from __future__ import annotations

import dataclasses
import math
import operator
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar

from scoring.baseline import Baseline, binomial_sf, count_pvalue, seasonal_baseline

__all__ = [
    "DEFAULT_RULES",
    "SEVERITIES",
    "CrawlHealth",
    "HeadAccountJoined",
    "NegativeShare",
    "NegativeSpike",
    "RiskWords",
    "Rule",
    "RuleResult",
    "VolumeSpike",
    "evaluate",
    "severity_rank",
]

SEVERITIES = ("info", "warning", "critical")
OPS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge, ">": operator.gt, "<=": operator.le, "<": operator.lt,
    "==": operator.eq, "!=": operator.ne,
}
History = Sequence[Mapping[str, float]]


def severity_rank(severity: str) -> int:
    """0 for info, 1 for warning, 2 for critical (unknown levels rank as warning).

    >>> severity_rank("critical") > severity_rank("info")
    True
    """
    return SEVERITIES.index(severity) if severity in SEVERITIES else 1


@dataclass(frozen=True)
class RuleResult:
    """The outcome of one rule: ``status`` is fired, quiet, disabled, skipped or error."""

    rule: str
    status: str
    message: str
    severity: str = "warning"
    metric: str | None = None
    value: float | None = None
    threshold: float | None = None
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def fired(self) -> bool:
        return self.status == "fired"


class _Disabled(Exception):
    """A setting the rule needs is missing or not a number."""


def _number(settings: Mapping[str, Any], name: str) -> float:
    raw = settings.get(name)
    if raw is None or raw == "":
        raise _Disabled(f"{name} is not set")
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise _Disabled(f"{name}={raw!r} is not a number") from None
    if math.isnan(value):
        raise _Disabled(f"{name} is NaN")
    return value


class Rule:
    """Base rule: fires when ``metrics[metric] <op> settings[threshold_setting]``.

    Subclasses declare ``metric``, ``threshold_setting``, ``op`` and ``severity``; a rule with
    a guard names it in ``min_volume_setting`` (quiet below that many posts in the window).
    Override :meth:`check` for anything more than a comparison.
    """

    name: ClassVar[str] = ""
    metric: ClassVar[str] = ""
    threshold_setting: ClassVar[str] = ""
    op: ClassVar[str] = ">="
    severity: ClassVar[str] = "warning"
    min_volume_setting: ClassVar[str | None] = None
    description: ClassVar[str] = ""

    @property
    def rule_name(self) -> str:
        return self.name or type(self).__name__

    def result(self, status: str, message: str, **kw: Any) -> RuleResult:
        kw.setdefault("severity", self.severity)
        kw.setdefault("metric", self.metric or None)
        return RuleResult(self.rule_name, status, message, **kw)

    def run(self, metrics: Mapping[str, float], settings: Mapping[str, Any],
            history: History) -> RuleResult:
        try:
            threshold = _number(settings, self.threshold_setting)
            if self.min_volume_setting:
                volume = metrics.get("posts/count", 0.0)
                minimum = _number(settings, self.min_volume_setting)
                if volume < minimum:
                    return self.result("quiet", f"{volume:.0f} posts in the window, below "
                                                f"{self.min_volume_setting}={minimum:g}")
            return self.check(metrics, threshold, settings, history)
        except _Disabled as exc:
            return self.result("disabled", f"{exc}; {self.rule_name} rule disabled")

    def check(self, metrics: Mapping[str, float], threshold: float,
              settings: Mapping[str, Any], history: History) -> RuleResult:
        value = metrics.get(self.metric)
        if value is None:
            return self.result("skipped", f"{self.metric} was not measured")
        fired = OPS[self.op](value, threshold)
        return self.result("fired" if fired else "quiet", self.message(value, threshold, metrics),
                           value=value, threshold=threshold)

    def message(self, value: float, threshold: float, metrics: Mapping[str, float]) -> str:
        return f"{self.description or self.metric} {value:g} {self.op} {threshold:g}"


# -- threshold rules -------------------------------------------------------------------------
class NegativeShare(Rule):
    name = "negative_share"
    metric = "posts/negative_ratio"
    threshold_setting = "ALERT_NEGATIVE_RATIO"
    min_volume_setting = "ALERT_MIN_VOLUME"

    def message(self, value: float, threshold: float, metrics: Mapping[str, float]) -> str:
        return (f"{value:.0%} of {metrics.get('posts/count', 0):.0f} posts are negative "
                f"(threshold {threshold:.0%})")


class RiskWords(Rule):
    name = "risk_words"
    metric = "risk/hits"
    threshold_setting = "ALERT_RISK_HITS"

    def check(self, metrics: Mapping[str, float], threshold: float,
              settings: Mapping[str, Any], history: History) -> RuleResult:
        result = super().check(metrics, threshold, settings, history)
        words = _keyed(metrics, "risk/word/")
        top = sorted(words.items(), key=lambda kv: (-kv[1], kv[0]))[:10]
        listing = ", ".join(f"{w} ×{n:.0f}" for w, n in top)
        message = f"{result.value or 0:.0f} risk-word hits (threshold {threshold:g})" + (
            f": {listing}" if listing else "")
        return dataclasses.replace(result, message=message, details={"words": dict(top)})


class HeadAccountJoined(Rule):
    name = "head_tier_joined"
    metric = "authors/head_joined"
    threshold_setting = "ALERT_HEAD_JOINED"

    def check(self, metrics: Mapping[str, float], threshold: float,
              settings: Mapping[str, Any], history: History) -> RuleResult:
        result = super().check(metrics, threshold, settings, history)
        accounts = sorted(_keyed(metrics, "authors/head_joined/"))
        return dataclasses.replace(result, message=self.describe(result.value, accounts),
                                   details={"accounts": accounts})

    @staticmethod
    def describe(value: float | None, labels: list[str]) -> str:
        """The alert text; callers that know the accounts' names re-describe with them.

        >>> HeadAccountJoined.describe(2, ["人民日报 (weibo)", "weibo/42"]).split(": ")[1]
        '人民日报 (weibo), weibo/42'
        """
        text = (f"{value or 0:.0f} head-tier or 大V account(s) posted on the topic "
                "for the first time")
        return text + (f": {', '.join(labels[:10])}" if labels else "")


class CrawlHealth(Rule):
    """Fires when a platform's crawls ended with a login wall, rate limit or block for
    ALERT_CRAWL_FAILURES consecutive runs: a monitor going blind must not be silent."""

    name = "crawl_health"
    metric = "crawl/max_consecutive_failures"
    threshold_setting = "ALERT_CRAWL_FAILURES"
    severity = "critical"
    FIXES: ClassVar[dict[str, str]] = {
        "login_required": "refresh the platform cookie (e.g. WEIBO_COOKIE) in the environment",
        "rate_limited": "run the monitor less often or raise DOWNLOAD_DELAY",
        "blocked": "the platform blocks the crawler: slow down or change network",
        "crashed": "the crawl process failed: see the errors of the monitor's crawl runs",
    }

    def check(self, metrics: Mapping[str, float], threshold: float,
              settings: Mapping[str, Any], history: History) -> RuleResult:
        failing: dict[str, dict[str, Any]] = {}
        for key, value in metrics.items():
            parts = key.split("/")
            if len(parts) == 3 and parts[0] == "crawl" and parts[2] == "consecutive_failures":
                if value >= threshold:
                    reasons = [r for r in self.FIXES if metrics.get(f"crawl/{parts[1]}/{r}")]
                    failing[parts[1]] = {"runs": value, "reasons": reasons or ["failed"]}
        worst = max((f["runs"] for f in failing.values()), default=0.0)
        if not failing:
            return self.result("quiet", "every platform's latest crawls succeeded",
                               value=worst, threshold=threshold)
        lines = [f"{p}: {', '.join(f['reasons'])} for {f['runs']:.0f} consecutive runs"
                 + "".join(f" — {self.FIXES[r]}" for r in f["reasons"] if r in self.FIXES)
                 for p, f in sorted(failing.items())]
        return self.result("fired", "; ".join(lines), value=worst, threshold=threshold,
                           details={"platforms": failing})


# -- baseline rules --------------------------------------------------------------------------
def _keyed(metrics: Mapping[str, float], prefix: str) -> dict[str, float]:
    return {k[len(prefix):]: v for k, v in metrics.items() if k.startswith(prefix)}


def _series(history: History, metric: str, seconds: float) -> list[tuple[datetime, float]]:
    """(window end, value) for ``metric``, rescaled to a window of ``seconds``."""
    out = []
    for past in history:
        if metric not in past or "window/end" not in past:
            continue
        scale = seconds / past.get("window/seconds", seconds) if seconds else 1.0
        end = datetime.fromtimestamp(past["window/end"], tz=UTC)
        out.append((end, past[metric] * scale))
    return out


class SpikeRule(Rule):
    """A count well above its seasonal baseline: significant (p-value at most
    ALERT_SPIKE_PVALUE) *and* at least ``ratio_setting`` times the expected count."""

    op = "<="
    threshold_setting = "ALERT_SPIKE_PVALUE"
    min_volume_setting = "ALERT_MIN_VOLUME"
    ratio_setting: ClassVar[str] = "ALERT_MIN_RATIO"
    noun: ClassVar[str] = "posts"

    def baseline(self, metric: str, metrics: Mapping[str, float], history: History) -> Baseline:
        seconds = metrics.get("window/seconds", 0.0)
        at = datetime.fromtimestamp(metrics.get("window/end", 0.0), tz=UTC)
        return seasonal_baseline(_series(history, metric, seconds), at)

    def check(self, metrics: Mapping[str, float], threshold: float,
              settings: Mapping[str, Any], history: History) -> RuleResult:
        min_ratio = _number(settings, self.ratio_setting)
        observed = metrics.get(self.metric)
        if observed is None:
            return self.result("skipped", f"{self.metric} was not measured")
        base = self.baseline(self.metric, metrics, history)
        if base.kind == "none":
            return self.result("skipped", "no earlier runs to compare with yet", value=observed)
        expected = max(base.mean, 1.0)
        ratio = observed / expected
        pvalue = max(count_pvalue(observed, base), self.extra_pvalue(metrics, history))
        details = {"expected": round(expected, 3), "ratio": round(ratio, 3), "pvalue": pvalue,
                   "baseline": base.kind, "baseline_points": base.n,
                   "test": "negative binomial" if base.overdispersed else "Poisson-Gamma"}
        fired = ratio >= min_ratio and pvalue <= threshold
        severity = "critical" if fired and ratio >= 2 * min_ratio else self.severity
        message = (f"{observed:.0f} {self.noun} in the window, {ratio:.1f}× the {base.kind} "
                   f"baseline of {expected:.1f} (p={pvalue:.2g}, {details['test']} test)")
        return self.result("fired" if fired else "quiet", message, severity=severity,
                           value=observed, threshold=round(min_ratio * expected, 3),
                           details=details)

    def extra_pvalue(self, metrics: Mapping[str, float], history: History) -> float:
        return 0.0


class VolumeSpike(SpikeRule):
    name = "volume_spike"
    metric = "posts/count"
    ratio_setting = "ALERT_VOLUME_GROWTH"


class NegativeSpike(SpikeRule):
    """More negative posts than the baseline *and* a larger negative share than the baseline's
    (a binomial test on the window's volume), so a plain volume surge does not fire it."""

    name = "negative_spike"
    metric = "posts/negative"
    noun = "negative posts"

    def extra_pvalue(self, metrics: Mapping[str, float], history: History) -> float:
        negative = self.baseline("posts/negative", metrics, history)
        total = self.baseline("posts/scored", metrics, history)
        # Half a pseudo-count each way: a history with no negative post is not a share of 0.
        share = (negative.mean + 0.5) / (total.mean + 1.0)
        scored = int(metrics.get("posts/scored", metrics.get("posts/count", 0.0)))
        return binomial_sf(math.ceil(metrics.get(self.metric, 0.0)), scored, share)


class RegionalSurge(Rule):
    """A province's volume far above its own baseline (某地区参与量突增): at least
    ALERT_REGION_GROWTH times its mean over past windows of the same length, at least
    ALERT_REGION_MIN posts, and a Poisson tail at most ALERT_SPIKE_PVALUE."""

    name = "regional_surge"
    metric = "region/surge/count"
    threshold_setting = "ALERT_REGION_GROWTH"

    def check(self, metrics: Mapping[str, float], threshold: float,
              settings: Mapping[str, Any], history: History) -> RuleResult:
        from scoring.why.regions import regional_surges

        minimum = _number(settings, "ALERT_REGION_MIN")
        pvalue = _number(settings, "ALERT_SPIKE_PVALUE")
        seconds = metrics.get("window/seconds", 0.0)
        current = {k: int(v) for k, v in _keyed(metrics, "posts/region/").items()}
        past = []
        for snap in history:
            if "window/end" not in snap:
                continue
            scale = seconds / snap.get("window/seconds", seconds) if seconds else 1.0
            past.append({k: int(round(v * scale)) for k, v in
                         _keyed(snap, "posts/region/").items()})
        if not past:
            return self.result("skipped", "no earlier runs to compare regions with yet")
        surges = regional_surges(current, past, min_count=int(minimum), ratio=threshold,
                                 max_p_value=pvalue)
        details = {"regions": [{"region": s.region, "count": s.count,
                                "baseline": round(s.baseline, 3), "ratio": round(s.ratio, 3),
                                "pvalue": s.p_value} for s in surges[:5]]}
        message = "; ".join(f"{s.region} {s.count} posts, {s.ratio:.1f}x its baseline "
                            f"{s.baseline:.1f} (p={s.p_value:.2g})" for s in surges[:5])
        return self.result("fired" if surges else "quiet", message or "no region surged",
                           value=float(len(surges)), threshold=threshold, details=details)


class HealthDivergence(Rule):
    """Short term up while long term down (the health index's divergence rule): volume or
    engagement at least ALERT_DIVERGENCE_RISE above their history while mention share,
    returning authors or the sentiment trend slide (``scoring.measure.health.divergence``)."""

    name = "divergence"
    metric = "health/short/volume"
    threshold_setting = "ALERT_DIVERGENCE_RISE"
    min_volume_setting = "ALERT_MIN_VOLUME"

    def check(self, metrics: Mapping[str, float], threshold: float,
              settings: Mapping[str, Any], history: History) -> RuleResult:
        from scoring.measure.health import divergence

        if not any(k.startswith("health/") for k in metrics):
            return self.result("skipped", "the health index was not measured")
        fired, details = divergence(metrics, list(history), rise=threshold)
        status = details.get("status", "fired" if fired else "quiet")
        return self.result(status, str(details.get("message", "")), threshold=threshold,
                           value=metrics.get(self.metric), details=details)


DEFAULT_RULES: tuple[type[Rule], ...] = (
    NegativeSpike, NegativeShare, VolumeSpike, RiskWords, HeadAccountJoined, CrawlHealth,
    RegionalSurge, HealthDivergence,
)


def evaluate(
    rules: Iterable[Rule | type[Rule]],
    metrics: Mapping[str, float],
    settings: Mapping[str, Any],
    history: History | None = None,
) -> list[RuleResult]:
    """Run every rule over a snapshot and return one result per rule, in order.

    Parameters
    ----------
    rules : iterable of Rule classes or instances
    metrics : mapping of slash-named numbers (see :func:`scoring.snapshot.snapshot`)
    settings : mapping with the rules' threshold settings (values may be strings)
    history : past snapshots of the same monitor, for baseline rules

    Returns
    -------
    list of RuleResult
        ``fired`` ones become alerts; ``disabled`` ones name the missing setting.

    Examples
    --------
    >>> results = evaluate([RiskWords], {"risk/hits": 7.0, "risk/word/投诉": 7.0},
    ...                    {"ALERT_RISK_HITS": 5})
    >>> results[0].fired, results[0].message
    (True, '7 risk-word hits (threshold 5): 投诉 ×7')
    >>> evaluate([RiskWords], {"risk/hits": 7.0}, {})[0].message
    'ALERT_RISK_HITS is not set; risk_words rule disabled'
    """
    out = []
    for rule in rules:
        instance = rule() if isinstance(rule, type) else rule
        try:
            out.append(instance.run(metrics, settings, history or ()))
        except Exception as exc:  # noqa: BLE001 - one broken rule must not hide the others' alerts
            out.append(instance.result("error", f"{type(exc).__name__}: {exc}"))
    return out
