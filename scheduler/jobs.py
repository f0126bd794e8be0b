"""The monitor loop: crawl → score → graph → snapshot → alert rules → mail → record.

``monitor_topic`` is what the scheduler fires (textual reference "scheduler.jobs:monitor_topic").
Every collaborator is a keyword argument, so tests pass fakes and a fixed ``now``. Nothing heavy
is imported at module level: scrapy, snownlp, networkx and matplotlib load on first use.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import re
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from crawlers.distributed.scrapyd import ScrapydUnavailable
from crawlers.errors import BackendUnavailable, TingfengError
from crawlers.items import Alert, CrawlRun, Monitor, utcnow
from scheduler.monitors import (
    effective_settings,
    monitor_history,
    monitor_window,
    parse_source,
    require_monitor,
    source_label,
)
from scheduler.query import parse_query
from scoring.alerts import DEFAULT_RULES, RuleResult, evaluate, severity_rank
from scoring.snapshot import sentiment_label, snapshot

if TYPE_CHECKING:
    from crawlers.items import Author, AuthorKey, Post
    from crawlers.storage import Store

__all__ = [
    "RetryLater",
    "RunSummary",
    "configure",
    "daily_digest",
    "monitor_topic",
    "save_alerts",
]

log = logging.getLogger(__name__)
_CONTEXT: dict[str, Any] = {}
_SECRET_URL = re.compile(r"(//[^/:@\s]+):[^@/\s]+@")


class RetryLater(TingfengError):
    """The store or the crawl service (scrapyd) is unreachable; nothing was lost and the run
    should be repeated later.

    The scheduler's error listener reschedules the monitor after MONITOR_RETRY_DELAY seconds.
    """

    def __init__(self, monitor: str, reason: str, *, what: str = "the store") -> None:
        super().__init__(f"monitor {monitor!r} postponed, {what} is unavailable: {reason}")
        self.monitor = monitor


@dataclass
class RunSummary:
    """What one monitor run did; ``errors`` lists every step that failed without stopping it."""

    monitor: str
    started_at: datetime
    window: timedelta
    crawls: list[dict[str, Any]] = field(default_factory=list)
    metrics: dict[str, float] = field(default_factory=dict)
    results: list[RuleResult] = field(default_factory=list)
    new_alerts: list[Alert] = field(default_factory=list)
    suppressed: list[str] = field(default_factory=list)
    delivery: Any = None
    errors: list[str] = field(default_factory=list)
    escalated: list[str] = field(default_factory=list)


def configure(*, settings: Any = None, store: Store | None = None, mailer: Any = None) -> None:
    """Process-wide defaults for jobs fired by the scheduler (``build_scheduler`` sets them):
    persisted jobs hold only the monitor's name, never a connection."""
    _CONTEXT.clear()
    _CONTEXT.update({k: v for k, v in (("settings", settings), ("store", store),
                                       ("mailer", mailer)) if v is not None})


# -- the loop --------------------------------------------------------------------------------
def monitor_topic(
    name: str, *, store: Store | None = None, mailer: Any = None,
    run_crawl: Callable[..., Any] | None = None, now: datetime | None = None,
    settings: Any = None, rescore: Callable[..., Any] | None = None,
    graph_report: Callable[..., Any] | None = None,
    charts: Callable[[Sequence[Post], datetime], Mapping[str, bytes]] | None = None,
    progress: Callable[[str], None] | None = None, force: bool = False,
) -> RunSummary | None:
    """Run monitor ``name`` once. Returns None for a paused monitor (unless ``force``).

    Crawl, scoring, graph and mail failures are recorded in the run and never raised.
    :raises RetryLater: when the store is unavailable (the scheduler retries the run).
    """
    settings = _settings(settings)
    now = now or utcnow()
    say = progress or (lambda message: log.info("%s: %s", name, message))
    try:
        with _store_scope(store, settings) as store:
            monitor = require_monitor(store, name)
            if monitor.paused and not force:
                say("paused; not run")
                return None
            return _run(monitor, store, settings, now, say, _Deps(
                settings, run_crawl, rescore, graph_report, charts, mailer))
    except BackendUnavailable as exc:
        raise RetryLater(name, str(exc)) from exc
    except ScrapydUnavailable as exc:
        raise RetryLater(name, str(exc), what="scrapyd") from exc


def _run(monitor: Monitor, store: Store, settings: Any, now: datetime,
         say: Callable[[str], None], deps: _Deps) -> RunSummary:
    name, clock = monitor.name, time.monotonic()
    query = parse_query(monitor.query)
    conf = effective_settings(settings, monitor.thresholds)
    run = RunSummary(name, now, monitor_window(monitor, conf, now))
    # Crawl from where the last complete collection ended: a run whose crawl failed does not
    # move it, so the next run covers the gap again (upserts make the overlap harmless).
    since = monitor.collected_until or monitor.last_run_at or now - run.window
    keywords = query.keywords(int(conf.get("MONITOR_MAX_KEYWORDS") or 16))
    for platform in monitor.platforms:
        say(f"crawling {platform} for {' | '.join(keywords)} since {since:%Y-%m-%d %H:%M} UTC")
        run.crawls.append(_crawl(deps.crawler(), platform, keywords, name, since, now, settings,
                                 store, say))
    for source in monitor.sources:  # forum boards and feeds the user named: keywords filter
        say(f"crawling {source_label(source)} for {' | '.join(keywords)}")
        run.crawls.append(_crawl(deps.crawler(), "forum", keywords, name, since, now, settings,
                                 store, say, extra_args=parse_source(source)))
    _guarded(run, "scoring", say, lambda: deps.scorer()(store, topic=name, now=now))
    start = now - max(timedelta(seconds=float(conf.get("MONITOR_LOOKBACK") or 604800)), run.window)
    posts = query.select(store.posts(topic=name, since=start, until=now))
    authors = store.authors({(p.platform, p.author_id) for p in posts if p.author_id})
    excluded: tuple[set[AuthorKey], int] = _guarded(
        run, "water army", say, lambda: _suspicious(posts, authors, now, conf)) or (set(), 0)
    if excluded[0]:  # shown, never silent: in the progress, the run's record and its alerts
        posts = [p for p in posts if (p.platform, p.author_id) not in excluded[0]]
        say(f"excluded {excluded[1]} posts of {len(excluded[0])} suspected water-army "
            f"accounts (ALERT_EXCLUDE_WATERARMY)")
    report = _guarded(run, "graph", say, lambda: deps.grapher()(posts, authors))
    crawl_runs = store.runs(topic=name, kind="crawl", since=start)
    run.metrics = snapshot(posts, authors, report, crawl_runs, now=now, window=run.window)
    if excluded[0]:
        run.metrics["waterarmy/excluded_accounts"] = float(len(excluded[0]))
        run.metrics["waterarmy/excluded_posts"] = float(excluded[1])
    health = _guarded(run, "health", say, lambda: _health_metrics(posts, authors, now, run.window,
                                                                  start))
    run.metrics.update(health or {})
    from scheduler.analysis.eventstore import record_events  # stories keep their ids

    _guarded(run, "events", say, lambda: record_events(store, monitor, posts, now=now,
                                                       window=run.window, start=start))
    history = monitor_history(store, name, now, conf)
    run.results = _name_accounts(evaluate(DEFAULT_RULES, run.metrics, conf, history), authors)
    if any(r.fired and r.rule in NEGATIVE_RULES for r in run.results):
        cut = now - run.window
        window_posts = [p for p in posts if p.created_at and p.created_at >= cut]
        before = [p for p in posts if p.created_at and p.created_at < cut]  # the lookback
        drivers = _guarded(run, "drivers", say, lambda: _drivers(window_posts, monitor, before))
        if drivers:  # the alert says why: the terms behind the negative posts
            run.results = [dataclasses.replace(r, details={**r.details, "drivers": drivers})
                           if r.fired and r.rule in NEGATIVE_RULES else r for r in run.results]
    if excluded[0]:
        run.results = [dataclasses.replace(r, details={
            **r.details, "excluded_accounts": len(excluded[0]), "excluded_posts": excluded[1]})
            if r.fired else r for r in run.results]
    run.new_alerts, run.suppressed = save_alerts(
        store, monitor, run.results, now=now, window=run.window,
        cooldown=timedelta(seconds=float(conf.get("ALERT_COOLDOWN") or 0)))
    escalated, run.escalated = escalate(store, monitor, run.results, conf, now=now,
                                        window=run.window)
    run.new_alerts += escalated
    say(f"{run.metrics['posts/count']:.0f} posts in the window; "
        f"{len(run.new_alerts)} new alert(s), {len(run.suppressed)} in cooldown")
    run.delivery = _guarded(run, "mail", say, lambda: _deliver(store, deps, monitor, posts, now,
                                                                settings))
    _finish(store, monitor, run, elapsed=time.monotonic() - clock)
    return run


# -- steps -----------------------------------------------------------------------------------
def _name_accounts(
    results: list[RuleResult], authors: Mapping[AuthorKey, Author]
) -> list[RuleResult]:
    """Alerts name accounts as people know them ("听风新闻 (weibo, 1,521,034 followers)"), not
    by platform id: the pure rules only see numbers, the run knows the authors."""
    from scoring.alerts import HeadAccountJoined

    out = []
    for r in results:
        keys = (r.details or {}).get("accounts")
        if r.rule == HeadAccountJoined.name and keys:
            labels = []
            named = []
            for key in keys:
                platform, _, author_id = key.partition("/")
                a = authors.get((platform, author_id))
                followers = f", {a.followers:,} followers" if a and a.followers else ""
                labels.append(f"{a.name} ({platform}{followers})" if a and a.name else key)
                named.append({"name": (a.name if a and a.name else author_id),
                              "platform": platform, "followers": a.followers if a else None})
            r = dataclasses.replace(r, message=HeadAccountJoined.describe(r.value, labels),
                                    details={**r.details, "names": labels, "named": named})
        out.append(r)
    return out


def _crawl(run_crawl: Callable[..., Any], platform: str, keywords: list[str], topic: str,
           since: datetime, now: datetime, settings: Any, store: Store,
           say: Callable[[str], None],
           extra_args: Mapping[str, str] | None = None) -> dict[str, Any]:
    """One platform's (or source's) crawl; a failure becomes a CrawlRun record, never an
    exception."""
    timeout = float(settings.get("MONITOR_CRAWL_TIMEOUT") or 0) or None
    try:
        options: dict[str, Any] = {"extra_args": dict(extra_args)} if extra_args else {}
        result = run_crawl(platform, keywords=keywords, topic=topic, since=since,
                           settings=settings, timeout=timeout, **options)
        summary = {"platform": platform, "run_id": result.run_id, "returncode": result.returncode,
                   "finish_reason": result.finish_reason, "items": result.items}
        error = None if result.stats else _scrub("\n".join(result.log_tail.splitlines()[-5:]))
    except ScrapydUnavailable:
        raise  # nothing was started: the whole run is repeated later, not recorded as a crash
    except Exception as exc:  # noqa: BLE001 - one platform's crash must not stop the others
        log.exception("crawl of %s for %r failed", platform, topic)
        summary = {"platform": platform, "run_id": f"{platform}-{uuid.uuid4().hex[:12]}",
                   "returncode": None, "finish_reason": None, "items": 0}
        error = _scrub(f"{type(exc).__name__}: {exc}")
    if error is not None:
        # No record from the crawl's pipeline: the ledger still needs this run, so crawl
        # health sees a platform that keeps crashing.
        summary["finish_reason"] = summary["finish_reason"] or "crashed"
        store.record_run(CrawlRun(summary["run_id"], platform, topic=topic, kind="crawl",
                                  started_at=now, finished_at=now,
                                  finish_reason=summary["finish_reason"],
                                  args={"keywords": keywords, "since": since.isoformat()},
                                  errors=[error] if error else []))
    say(f"{platform}: {summary['finish_reason']} ({summary['items']} items)")
    return summary


def _guarded(run: RunSummary, step: str, say: Callable[[str], None],
             fn: Callable[[], Any]) -> Any:
    # Scoring, graphs and mail decorate the run; a bug in one must not cost the alert rules
    # (volume and crawl health still work on unscored posts). A down store is not a bug.
    try:
        return fn()
    except BackendUnavailable:
        raise
    except Exception as exc:  # noqa: BLE001
        log.exception("monitor %r: %s step failed", run.monitor, step)
        run.errors.append(_scrub(f"{step}: {type(exc).__name__}: {exc}"))
        say(f"{step} failed: {type(exc).__name__}: {exc}")
        return None


def save_alerts(store: Store, monitor: Monitor, results: Sequence[RuleResult], *, now: datetime,
                window: timedelta, cooldown: timedelta) -> tuple[list[Alert], list[str]]:
    """Save the fired results as alerts; returns (new alerts, ids held back by the cooldown).

    ``alert_id`` is ``monitor:rule:window-bucket``, so a second run in the same bucket is a
    no-op unless the severity rose (then ``…:severity``, once per level). A rule that alerted
    within ``cooldown`` stays quiet unless the severity rises.
    """
    seconds = max(window.total_seconds(), 1)
    bucket = datetime.fromtimestamp(now.timestamp() // seconds * seconds, tz=UTC)
    recent = store.alerts(monitor=monitor.name, since=now - cooldown) if cooldown else []
    this_bucket = store.alerts(monitor=monitor.name, since=bucket)
    new, held = [], []
    for r in results:
        if not r.fired:
            continue
        alert_id = f"{monitor.name}:{r.rule}:{bucket:%Y%m%dT%H%MZ}"
        # An escalation inside the bucket gets its own id, or save_alert would drop it.
        ranks = [severity_rank(a.severity) for a in this_bucket if a.rule == r.rule]
        if ranks and severity_rank(r.severity) > max(ranks):
            alert_id += f":{r.severity}"
        if any(a.rule == r.rule and a.alert_id != alert_id
               and severity_rank(a.severity) >= severity_rank(r.severity) for a in recent):
            held.append(alert_id)
            continue
        alert = Alert(alert_id, monitor.name, r.rule, r.severity, r.message, metric=r.metric,
                      value=r.value, threshold=r.threshold, window_start=now - window,
                      window_end=now, created_at=now, details=dict(r.details))
        if store.save_alert(alert):
            new.append(alert)
    return new, held


def _suspicious(posts: Sequence[Post], authors: Mapping[AuthorKey, Author], now: datetime,
                conf: Mapping[str, Any]) -> tuple[set[AuthorKey], int]:
    """Accounts scoring at least ALERT_EXCLUDE_WATERARMY (0–1; unset: none) and their posts'
    count: left out of the metrics and alerts when the setting is on."""
    raw = conf.get("ALERT_EXCLUDE_WATERARMY")
    if raw in (None, "", "off"):
        return set(), 0
    from scoring.why.waterarmy import score_accounts

    threshold = float(raw)
    flagged = {k for k, s in score_accounts(posts, authors, now=now).items()
               if s.score >= threshold}
    return flagged, sum(1 for p in posts if (p.platform, p.author_id) in flagged)


def _health_metrics(posts: Sequence[Post], authors: Mapping[AuthorKey, Author], now: datetime,
                    window: timedelta, start: datetime) -> dict[str, float]:
    """The health index's ``health/*`` figures for this run (kept in its record, so the next
    runs have the history the divergence rule compares with)."""
    from scoring.measure.health import health_index

    report = health_index(posts, now=now, authors=authors, window=window,
                          long_window=max(now - start, window))
    return {k: v for k, v in report.metrics().items() if k.startswith("health/")}


NEGATIVE_RULES = frozenset({"negative_spike", "negative_share", "risk_words"})


def _drivers(posts: Sequence[Post], monitor: Monitor, before: Sequence[Post] = ()
             ) -> list[dict[str, Any]]:
    """The window's top negative drivers (term, negative posts using it, z), the emerging
    ones first (risen against the lookback's negative posts: what turned opinion now, marked
    ``new``); empty when there is not enough data — an alert never waits for them. The
    query's terms stay whole words."""
    from scoring.why.drivers import negative_drivers

    words = sorted({t for kw in parse_query(monitor.query).keywords(16) for t in kw.split()})
    result = negative_drivers(posts, k=5, user_words=words, min_posts=8,
                              previous_posts=before)
    out = [{"term": d.term, "count": d.count, "z": round(d.z, 2), "new": True,
            "before": d.other_count} for d in result.emerging[:3]]
    seen = {d["term"] for d in out}
    out += [{"term": d.term, "count": d.count, "z": round(d.z, 2)}
            for d in result.drivers if d.term not in seen]
    return out[:5]


def escalate(store: Store, monitor: Monitor, results: Sequence[RuleResult], conf: Mapping[str, Any],
             *, now: datetime, window: timedelta) -> tuple[list[Alert], list[str]]:
    """Warnings still firing after ALERT_ESCALATE_RUNS runs in a row become one red alert each,
    sent also to ALERT_ESCALATE_TO. Returns (new escalated alerts, rules escalated or still
    escalated), the latter recorded in the run so a streak escalates once."""
    runs = int(float(conf.get("ALERT_ESCALATE_RUNS") or 0))
    red = severity_rank("critical")
    fired = [r for r in results if r.fired and severity_rank(r.severity) < red]
    if runs < 1 or not fired:
        return [], []
    past = store.runs(topic=monitor.name, kind="monitor", since=now - timedelta(days=30))
    past = sorted(past, key=lambda r: r.started_at or now)[-(runs - 1):] if runs > 1 else []
    extra = [r.strip() for r in str(conf.get("ALERT_ESCALATE_TO") or "").split(",") if r.strip()]
    new, streaks = [], []
    for r in fired:
        if runs > 1 and (len(past) < runs - 1 or not all(
                (p.stats or {}).get(f"rules/{r.rule}/fired") for p in past)):
            continue
        streaks.append(r.rule)
        if past and (past[-1].stats or {}).get(f"rules/{r.rule}/escalated"):
            continue  # this streak was escalated already
        seconds = max(window.total_seconds(), 1)
        bucket = datetime.fromtimestamp(now.timestamp() // seconds * seconds, tz=UTC)
        alert = Alert(f"{monitor.name}:{r.rule}:escalated:{bucket:%Y%m%dT%H%MZ}", monitor.name,
                      r.rule, "critical", f"escalated after {runs} runs: {r.message}",
                      metric=r.metric, value=r.value, threshold=r.threshold,
                      window_start=now - window, window_end=now, created_at=now,
                      details={**r.details, "escalated": True, "runs": runs,
                               "escalate_to": extra})
        if store.save_alert(alert):
            new.append(alert)
    return new, streaks


def _deliver(store: Store, deps: _Deps, monitor: Monitor, posts: Sequence[Post], now: datetime,
             settings: Any) -> Any:
    from scheduler.notify import deliver_pending
    from scheduler.reports.alerting import sample_posts

    mailer = deps.mailer or _CONTEXT.get("mailer") or _open_mailer(settings)
    monitors = {m.name: m for m in store.monitors()}
    draw = deps.charts or _sentiment_charts

    def charts_for(m: Monitor, alerts: Sequence[Alert]) -> Mapping[str, bytes]:
        # The chart covers the alerts' own window, so what it shows is what fired.
        if m.name != monitor.name:
            return {}
        starts = [a.window_start for a in alerts if a.window_start]
        if draw is not _sentiment_charts:  # an injected drawer (tests) takes (posts, now)
            return draw(posts, now)
        return _sentiment_charts(posts, now, min(starts) if starts else None)

    def posts_for(m: Monitor, alerts: Sequence[Alert]) -> Sequence[Post]:
        if m.name != monitor.name:
            return []
        starts = [a.window_start for a in alerts if a.window_start]
        since = min(starts) if starts else None
        return sample_posts([p for p in posts if since is None or (
            p.created_at is not None and p.created_at >= since)])

    return deliver_pending(store, mailer, monitors=monitors, now=now, charts_for=charts_for,
                           posts_for=posts_for, settings=settings)


def _finish(store: Store, monitor: Monitor, run: RunSummary, elapsed: float) -> None:
    fired = [r for r in run.results if r.fired]
    stats: dict[str, Any] = {**run.metrics, **{f"rules/{r.rule}/fired": 1 for r in fired},
                             **{f"rules/{rule}/escalated": 1 for rule in run.escalated},
                             "alerts/fired": len(fired),
                             "alerts/new": len(run.new_alerts),
                             "alerts/cooldown": len(run.suppressed)}
    if run.delivery is not None:
        stats.update({"mail/sent": run.delivery.sent, "mail/failed": run.delivery.failed})
    for crawl in run.crawls:
        stats[f"crawl/{crawl['platform']}/finish_reason"] = crawl["finish_reason"]
    store.record_run(CrawlRun(
        f"monitor-{uuid.uuid4().hex[:12]}", ",".join(monitor.platforms), topic=monitor.name,
        kind="monitor", started_at=run.started_at,
        finished_at=run.started_at + timedelta(seconds=elapsed), finish_reason="finished",
        args={"query": monitor.query, "window": run.window.total_seconds(),
              "crawl_runs": [c["run_id"] for c in run.crawls]},
        stats=stats, errors=run.errors))
    fresh = store.get_monitor(monitor.name)  # re-read: the user may have edited it meanwhile
    if fresh is not None:
        fresh.last_run_at = run.started_at
        failed = [f"{c['platform']} ({c['finish_reason']})" for c in run.crawls
                  if c.get("finish_reason") != "finished"]
        if failed:
            log.warning("monitor %r: %s did not finish; the next run collects again from %s",
                        monitor.name, ", ".join(failed),
                        (fresh.collected_until or fresh.last_run_at or run.started_at).isoformat())
            if fresh.collected_until is None and monitor.last_run_at is not None:
                fresh.collected_until = monitor.last_run_at
        else:
            fresh.collected_until = run.started_at
        store.save_monitor(fresh)


# -- helpers ---------------------------------------------------------------------------------
def _sentiment_charts(posts: Sequence[Post], now: datetime,
                      since: datetime | None = None) -> dict[str, bytes]:
    """Sentiment counts from ``since`` (48 hours back by default) to ``now``, in 12 to 48 steps
    of whole minutes, so a one-hour window is not one bar."""
    from scheduler.charts.timeline import plot_sentiment

    start = since or now - timedelta(hours=48)
    span = max((now - start).total_seconds(), 60.0)
    step = timedelta(minutes=max(1, int(span // 60 // 24) or 1))
    buckets = [start + i * step for i in range(int(span // step.total_seconds()) + 1)]
    counts = {b: Counter[str]() for b in buckets}
    for post in posts:
        if post.created_at and start <= post.created_at <= now:
            slot = buckets[min(int((post.created_at - start) / step), len(buckets) - 1)]
            counts[slot][sentiment_label(post) or "unscored"] += 1
    rows = [(b, c["positive"], c["neutral"], c["negative"]) for b, c in counts.items()]
    return {"sentiment": plot_sentiment(rows)}


def _open_mailer(settings: Any) -> Any:
    from crawlers.errors import ConfigError
    from scheduler.notify import open_mailer

    url = settings.get("MAIL_URL")
    if not url:
        raise ConfigError("MAIL_URL is not set; alerts stay pending until it is")
    return open_mailer(url, settings)


def _settings(settings: Any) -> Any:
    if settings is not None:
        return settings
    if "settings" not in _CONTEXT:
        from crawlers.config import load_settings

        _CONTEXT["settings"] = load_settings()
    return _CONTEXT["settings"]


@contextlib.contextmanager
def _store_scope(store: Store | None, settings: Any) -> Iterator[Store]:
    if store is not None or _CONTEXT.get("store") is not None:
        yield store or _CONTEXT["store"]
        return
    from crawlers.storage import open_store

    with open_store(settings.get("STORE_URI")) as opened:
        yield opened


def _scrub(text: str) -> str:
    """Error text without URL passwords (mongodb://user:secret@host)."""
    return _SECRET_URL.sub(r"\1:***@", text)[:2000]


@dataclass
class _Deps:
    settings: Any
    run_crawl: Callable[..., Any] | None
    rescore: Callable[..., Any] | None
    graph_report: Callable[..., Any] | None
    charts: Callable[[Sequence[Post], datetime], Mapping[str, bytes]] | None
    mailer: Any

    def crawler(self) -> Callable[..., Any]:
        if self.run_crawl is None:
            from scheduler.runner import run_crawl

            self.run_crawl = run_crawl
        return self.run_crawl

    def scorer(self) -> Callable[..., Any]:
        if self.rescore is not None:
            return self.rescore
        return lambda store, *, topic, now: _default_rescore(store, topic=topic, now=now,
                                                             settings=self.settings)

    def grapher(self) -> Callable[..., Any]:
        return self.graph_report or _default_graph_report


def _default_rescore(store: Store, *, topic: str, now: datetime, settings: Any) -> None:
    """Score the topic's new posts (sentiment, emotion, risk words) and tier its authors."""
    from scheduler.rescore import (
        lexicon_from_settings,
        model_from_settings,
        rescore_store,
        score_authors,
        tiers_from_settings,
    )

    rescore_store(store, model_from_settings(settings), topic=topic,
                  lexicon=lexicon_from_settings(settings))
    lookback = timedelta(seconds=float(settings.get("MONITOR_LOOKBACK") or 604800))
    score_authors(store, topic=topic, since=now - lookback, now=now,
                  tiers=tiers_from_settings(settings))


def _default_graph_report(posts: Sequence[Post], authors: Mapping[AuthorKey, Author]) -> Any:
    """Cascade shapes of the matching posts: all the snapshot's cascade/* metrics need."""
    from graph import cascade_forest, cascade_shapes

    if not posts:  # cascade_shapes cannot take an empty forest (graph 2026-11 build)
        return {"cascades": {}}
    return {"cascades": cascade_shapes(cascade_forest(posts, authors), levels=False)}


# -- daily digest ----------------------------------------------------------------------------
DIGEST_METRICS = ("posts/count", "posts/negative", "posts/negative_ratio", "posts/net_sentiment",
                  "risk/hits", "authors/active", "authors/head")


def daily_digest(*, store: Store | None = None, mailer: Any = None, now: datetime | None = None,
                 settings: Any = None) -> int:
    """Each active monitor's last 24 hours — metrics and alerts — to every channel it names.

    The digest is saved as an ``info`` alert (``<monitor>:digest:<date>``, so a second run the
    same day adds nothing) and delivered like any alert: pending until each channel confirms,
    retried, never sent twice, held in quiet hours. Returns the digests created.
    """
    settings = _settings(settings)
    now = now or utcnow()
    extra = settings.get("MAIL_TO") or []
    extra = [a for a in extra.split(",") if a.strip()] if isinstance(extra, str) else list(extra)
    created = 0
    with _store_scope(store, settings) as store:
        for monitor in store.monitors():
            if monitor.paused or not (monitor.recipients or extra):
                continue
            try:
                created += store.save_alert(_digest_alert(store, monitor, settings, now))
            except BackendUnavailable:
                raise
            except Exception:  # noqa: BLE001 - one monitor's broken digest must not stop the rest
                log.exception("daily digest for %r failed", monitor.name)
        from scheduler.notify import deliver_pending

        mailer = mailer or _CONTEXT.get("mailer") or _open_mailer(settings)
        deliver_pending(store, mailer, monitors={m.name: m for m in store.monitors()}, now=now,
                        settings=settings)
    return created


def _digest_alert(store: Store, monitor: Monitor, settings: Any, now: datetime) -> Alert:
    from zoneinfo import ZoneInfo

    day = timedelta(days=1)
    query = parse_query(monitor.query)
    posts = query.select(store.posts(topic=monitor.name, since=now - day, until=now))
    authors = store.authors({(p.platform, p.author_id) for p in posts if p.author_id})
    metrics = snapshot(posts, authors, None, [], now=now, window=day)
    shown = {k: v for k, v in metrics.items()
             if k in DIGEST_METRICS or k.startswith("posts/platform/")}
    zone = ZoneInfo(str(settings.get("MONITOR_TIMEZONE") or "Asia/Shanghai"))
    alerts = [{"rule": a.rule, "severity": a.severity,
               "time": a.created_at.astimezone(zone).strftime("%H:%M") if a.created_at else ""}
              for a in store.alerts(monitor=monitor.name, since=now - day) if a.rule != "digest"]
    return Alert(f"{monitor.name}:digest:{now.astimezone(zone):%Y%m%d}", monitor.name, "digest",
                 "info", f"daily digest of {monitor.name}", window_start=now - day,
                 window_end=now, created_at=now, details={"metrics": shown, "alerts": alerts})
