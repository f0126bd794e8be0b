"""The dashboard's analysis panels: the "why" (negative drivers, events, regions) and the
measurement models (funnel, health index, share of voice) of a monitor's window, as JSON-able
dicts.

They call the functions ``tingfeng report drivers|events|regions|funnel|health|compare`` call
(``scoring.why``, ``scoring.measure``) on the same inputs, gathered as
``scheduler.cli.analysis`` gathers them: the topic's posts in ``[since, until)`` filtered by
the monitor's query, their authors, the query's terms (kept whole by segmentation) and, for
hot terms, the previous window of equal length. So a panel's figures are the CLI report's for
the same window.

Share of voice is the exception: it compares every monitor, and reading each one's posts took
over a minute on a store of 20 monitors with 100,000 posts each. It is computed from the
store's counts instead (``Store.post_counts`` per monitor, ``Store.topic_overlap``): every post
collected for each monitor in the window, not filtered by the monitors' queries, engagement
not capped (``tingfeng report compare`` does both; the panel's note says so). It reads no
posts, so its head's ``posts`` is the monitor's posts it counted.

The other panels read a window's posts in Python (segmentation, MinHash, clustering): seconds
on a big window. Each panel's result is cached per store in a small :class:`PanelCache`, keyed
by monitor, query, range, the window's start (on a 10-minute mark, ``series.GRAIN``, so
requests minutes apart share it) and a fingerprint of the window (the store's counts per
sentiment label and emotion, with engagement: new posts, rescoring or re-crawled counters
change it); an entry lives at most ``TTL`` seconds, which bounds what the fingerprint cannot
see (authors re-crawled). The page asks for the panels one by one and at once; the first to
run reads the window, which the others take from a second cache for ``WINDOW_TTL`` seconds.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from scheduler.notify.wording import platform_name
from scheduler.reports.markup import safe_url
from web.data.series import Window, post_counts, resolve_window, sentiment_name, tier_split

if TYPE_CHECKING:
    from crawlers.items import Author, AuthorKey, Monitor, Post
    from crawlers.storage import Store
    from scheduler.i18n import Wording

__all__ = ["MEASURE", "PANELS", "TTL", "WHY", "AnalysisWindow", "PanelCache", "StoreCaches",
           "analysis_window", "cache_for", "drivers_panel", "events_panel", "fingerprint",
           "collected_counts", "funnel_panel", "health_panel", "health_window", "load_window",
           "panels", "previous_window", "regions_panel", "share_panel", "tiers"]

TTL = 600.0  # seconds a cached panel may be served although nothing the key sees changed
CACHE_SIZE = 32  # results kept per store (each is a few KB of JSON)
WINDOW_TTL = 120.0  # seconds a loaded window's posts are kept for the other panels
QUERY_KEYWORDS = 16  # as the CLI reads a monitor's query terms
CONFIDENCE = 0.95  # of the share of voice intervals, as ``report compare`` gives them


def _(message: str) -> str:  # marks a reader string; translated where it is shown
    return message


class PanelCache:
    """A bounded, time-limited cache of computed panels with one lock per key, so twenty
    people opening the same dashboard wait for one computation, not twenty.
    (``functools.lru_cache`` would not see the store change; the key carries that here.)"""

    def __init__(self, size: int = CACHE_SIZE, ttl: float = TTL,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.size, self.ttl, self.clock = size, ttl, clock
        self._items: OrderedDict[Hashable, tuple[float, Any]] = OrderedDict()
        self._locks: dict[Hashable, threading.Lock] = {}
        self._lock = threading.Lock()
        self.misses = 0

    def _fresh(self, key: Hashable) -> tuple[bool, Any]:
        with self._lock:
            found = self._items.get(key)
            if found is None or self.clock() - found[0] > self.ttl:
                return False, None
            self._items.move_to_end(key)
            return True, found[1]

    def get(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        hit, value = self._fresh(key)
        if hit:
            return value
        with self._lock:
            key_lock = self._locks.setdefault(key, threading.Lock())
        with key_lock:
            hit, value = self._fresh(key)  # another request may have computed it meanwhile
            if hit:
                return value
            try:
                value = compute()
            except BaseException:
                with self._lock:
                    self._locks.pop(key, None)
                raise
            with self._lock:
                self.misses += 1
                self._items[key] = (self.clock(), value)
                self._items.move_to_end(key)
                while len(self._items) > self.size:
                    old, _ = self._items.popitem(last=False)
                    self._locks.pop(old, None)
        return value


@dataclass
class StoreCaches:
    """One store's caches: computed panels, and the windows they read (a window's posts are
    shared by the panels the page asks for at once, then dropped: they are large)."""

    panels: PanelCache = field(default_factory=PanelCache)
    windows: PanelCache = field(default_factory=lambda: PanelCache(size=2, ttl=WINDOW_TTL))


_CACHES: weakref.WeakKeyDictionary[Any, StoreCaches] = weakref.WeakKeyDictionary()
_CACHES_LOCK = threading.Lock()


def cache_for(store: Store) -> StoreCaches:
    """The caches of ``store`` (one set per store object, gone with it)."""
    with _CACHES_LOCK:
        cache = _CACHES.get(store)
        if cache is None:
            cache = _CACHES[store] = StoreCaches()
        return cache


@dataclass
class AnalysisWindow:
    """What the analysis reports read, as ``scheduler.cli.analysis._load`` gathers it."""

    topic: str
    used: str  # the RANGES key
    since: datetime | None
    until: datetime
    posts: list[Post]
    authors: dict[AuthorKey, Author]
    user_words: list[str]


def analysis_window(store: Store, topic: str, *, now: datetime, choice: str,
                    tz: str = "Asia/Shanghai") -> tuple[str, datetime | None]:
    """(range used, since) as the charts resolve them ("auto": 30 days or all time). The
    window ends when it is read, as the CLI's ``--until`` defaults to now."""
    win = resolve_window(store, topic, now=now, choice=choice, tz=tz)
    return win.used, win.since


def _query(monitor: Monitor) -> tuple[Callable[[list[Post]], list[Post]], list[str]]:
    from scheduler.query import QueryError, parse_query

    query = parse_query(monitor.query)
    try:
        words = sorted({t for kw in query.keywords(QUERY_KEYWORDS) for t in kw.split()})
    except QueryError:  # an old query past today's keyword limit still selects posts
        words = []
    return query.select, words


def load_window(store: Store, monitor: Monitor, used: str, since: datetime | None,
                until: datetime) -> AnalysisWindow:
    """The monitor's window: its topic's posts filtered by its query, their authors and its
    query terms (``previous`` is read by :func:`previous_window` when a panel needs it)."""
    select, words = _query(monitor)
    posts = select(list(store.posts(topic=monitor.name, since=since, until=until)))
    authors = store.authors({(p.platform, p.author_id) for p in posts if p.author_id})
    return AnalysisWindow(monitor.name, used, since, until, posts, authors, words)


def previous_window(store: Store, win: AnalysisWindow) -> list[Post]:
    """The window of equal length before, unfiltered, as the CLI reads it for hot terms (7
    days when the window has no start)."""
    span = win.until - (win.since or win.until - timedelta(days=7))
    return list(store.posts(topic=win.topic, since=win.until - 2 * span,
                            until=win.until - span))


def fingerprint(store: Store, topic: str, since: datetime | None) -> tuple[Any, ...]:
    """What the store says about a window, cheaply (one GROUP BY on a covering index): posts
    and engagement per sentiment label from ``since`` on. A new post, a relabelled one or new
    counters change it (an emotion alone changing waits for the TTL)."""
    rows = post_counts(store, topic=topic, since=since, until=None, bucket=None,
                       by=("sentiment_label",))
    return tuple((r.get("sentiment_label"), r["posts"], r["engagement"]) for r in rows)


def volume_mark(store: Store, topic: str, since: datetime | None) -> tuple[Any, ...]:
    """Cheaper still (an index count and its newest entry): how many dated posts ``topic``
    holds from ``since`` on and the newest. Share of voice keys the other monitors on this,
    one count each instead of a GROUP BY each; their relabelling waits for the TTL."""
    page = store.newest_posts(topic=topic, since=since, limit=1)
    newest = page.posts[0] if page.posts else None
    return (page.total, newest.key if newest else None)


def _post(p: Any, w: Wording, **extra: Any) -> dict[str, Any]:
    """A post to show: text as text, the link only when http(s)."""
    return {"platform": p.platform, "platform_name": platform_name(p.platform, w),
            "post_id": p.post_id, "author": p.author_name, "text": p.text,
            "time": p.created_at.isoformat() if p.created_at else None,
            "time_label": w.time(p.created_at), "url": safe_url(p.url), **extra}


def _head(win: AnalysisWindow, w: Wording) -> dict[str, Any]:
    return _window_head(win.topic, win.used, win.since, win.until, len(win.posts), w)


def _window_head(topic: str, used: str, since: datetime | None, until: datetime, posts: int,
                 w: Wording) -> dict[str, Any]:
    """What every panel's answer starts with: the window, and how many posts it read."""
    return {"topic": topic, "range": used, "since": since.isoformat() if since else None,
            "until": until.isoformat(), "window": w.window(since, until), "posts": posts}


# -- the why -------------------------------------------------------------------------------
def drivers_panel(win: AnalysisWindow, w: Wording, previous: Sequence[Post] = ()
                  ) -> dict[str, Any]:
    """Negative drivers (z, counts, 3 example posts) and hot terms against the previous
    window: ``report drivers``' figures (k=15 and k=20, the monitor's terms kept whole)."""
    from scoring.why.drivers import hot_terms, negative_drivers

    result = negative_drivers(win.posts, k=15, user_words=win.user_words,
                              previous_posts=previous)
    hot = hot_terms(win.posts, previous, k=20, user_words=win.user_words)
    empty = None
    if not win.posts:
        empty = w("这段时间没有帖子")
    elif not result.drivers:
        empty = w("这段时间没有突出的负面驱动词（负面帖子与其他帖子各需至少 20 条）")
    return {
        "drivers": [{"term": d.term, "count": d.count, "other_count": d.other_count,
                     "z": d.z, "examples": [_post(e, w) for e in d.examples]}
                    for d in result.drivers],
        "hot_terms": [{"term": h.term, "count": h.count, "previous_count": h.previous_count,
                       "z": h.z} for h in hot],
        "emerging": [{"term": d.term, "count": d.count, "previous_count": d.other_count,
                      "z": d.z, "examples": [_post(e, w) for e in d.examples]}
                     for d in result.emerging],
        "negative_posts": result.negative_posts, "other_posts": result.other_posts,
        "note": result.note, "empty": empty}


def events_panel(win: AnalysisWindow, w: Wording, top: int = 20) -> dict[str, Any]:
    """The window's biggest stories as ``report events`` lists them (near-duplicates
    collapsed, net = (positive − negative) / labelled)."""
    from scoring.why.events import find_events

    events = sorted(find_events(win.posts), key=lambda e: -e.size)[:top]
    out = []
    for e in events:
        span = (e.last_hour - e.first_hour) / timedelta(hours=1) + 1 \
            if e.first_hour and e.last_hour else None
        out.append({
            "event_id": e.event_id, "label_terms": list(e.label_terms), "size": e.size,
            "accounts": len(e.accounts),
            "first": e.first_hour.isoformat() if e.first_hour else None,
            "last": e.last_hour.isoformat() if e.last_hour else None,
            "peak": e.peak_hour.isoformat() if e.peak_hour else None,
            "span": (w.window(e.first_hour, e.last_hour + timedelta(hours=1))
                     if e.first_hour and e.last_hour else "—"),
            "span_hours": span, "peak_label": w.time(e.peak_hour),
            "platforms": [{"platform": p, "name": platform_name(p, w), "posts": n}
                          for p, n in e.platforms.most_common()],
            "positive": e.positive, "negative": e.negative, "labelled": e.labelled,
            "net": (e.positive - e.negative) / e.labelled if e.labelled else None,
            "key_accounts": [{"platform": k.platform, "author_id": k.author_id,
                              "name": k.author_name, "posts": k.posts,
                              "engagement": k.engagement} for k in e.key_accounts],
            "representatives": [_post(r, w, copies=r.copies, engagement=r.engagement)
                                for r in e.representatives]})
    return {"events": out, "empty": None if out else w("这段时间没有帖子")}


def regions_panel(win: AnalysisWindow, w: Wording) -> dict[str, Any]:
    """Volume and net sentiment per provincial-level region (海外 and 未知 included, as
    ``report regions`` lists them) with the coverage sentence."""
    from scoring.why.regions import OVERSEAS, UNKNOWN, region_breakdown

    rb = region_breakdown(win.posts, win.authors)
    named = {UNKNOWN: w("未知"), OVERSEAS: w("海外")}  # province names are place names: kept
    coverage = (w("地域已知的帖子占 {share}（{known}/{total}）", share=w.percent(rb.coverage),
                  known=w.number(rb.known), total=w.number(rb.total))
                if rb.total else w("这段时间没有帖子"))
    rows = [{"region": named.get(r, r), "posts": s.posts, "share": s.posts / rb.total, "net": s.net,
             "positive": s.positive, "neutral": s.neutral, "negative": s.negative,
             "known": r != UNKNOWN} for r, s in rb.top(34, include_unknown=True)]
    empty = None
    if not rb.total:
        empty = w("这段时间没有帖子")
    elif not rb.known:
        empty = w("这段时间的帖子都没有地域信息")
    return {"total": rb.total, "known": rb.known, "coverage": rb.coverage,
            "coverage_text": coverage, "regions": rows, "sources": rb.sources, "empty": empty}


# -- the measurement models ----------------------------------------------------------------
def _layer_names(w: Wording) -> dict[str, str]:
    from scoring.measure.funnel import LAYER_NAMES

    return {k: w(v) for k, v in LAYER_NAMES.items()}


def _steps(row: Any) -> list[dict[str, Any]]:
    return [{"source": s.source, "target": s.target, "rate": s.rate, "drop_off": s.drop_off,
             "monotone": s.monotone, "note": s.note} for s in row.steps]


def funnel_panel(win: AnalysisWindow, w: Wording) -> dict[str, Any]:
    """The four layers with step rates, in total and per platform (``report funnel``)."""
    from scoring.measure.funnel import LAYERS, funnel_report

    f = funnel_report(win.posts, authors=win.authors)
    names = _layer_names(w)
    platforms = [{"platform": p, "name": platform_name(p, w), "posts": r.posts,
                  **{k: v for k, v in r.layers.items()}, "steps": _steps(r)}
                 for p, r in f.platforms.items()]
    return {"layers": [{"layer": k, "name": names[k], "value": f.total.layers[k]}
                       for k in LAYERS],
            "steps": _steps(f.total), "posts": f.total.posts,
            "exposure_estimated": f.total.exposure_estimated,
            "platforms": platforms, "monotone": f.total.monotone,
            "capped": [c.as_dict() for c in f.capping if c.capped],
            "notes": list(f.notes), "empty": None if f.total.posts else w("这段时间没有帖子")}


def health_window(used: str) -> timedelta:
    """The short-term window inside a range: a day for the 1-day range, else ``report
    health``'s default week."""
    return timedelta(days=1) if used == "1d" else timedelta(days=7)


_COMPONENTS = {"reach": _("触达效率"), "depth": _("参与深度"), "retention": _("价值沉淀")}
_INDICATORS = {"volume": _("声量（帖子/天）"), "engagement": _("互动（次/天）"),
               "mention_share": _("提及份额"), "sentiment_slope": _("情感趋势（净情感/天）"),
               "returning_share": _("回访作者占比")}
_TERMS = {"short": _("短期"), "long": _("长期")}


def health_panel(win: AnalysisWindow, w: Wording) -> dict[str, Any]:
    """The three components 0–100 with their inputs, the index and the short- and long-term
    indicators (``report health --window`` :func:`health_window`)."""
    from scoring.measure.health import health_index

    h = health_index(win.posts, now=win.until, authors=win.authors,
                     window=health_window(win.used))
    data = h.as_dict()
    for c in data["components"]:
        c["label"] = w(_COMPONENTS[c["name"]]) if c["name"] in _COMPONENTS else c["label"]
    for i in data["indicators"]:
        i["label"] = w(_INDICATORS[i["name"]]) if i["name"] in _INDICATORS else i["name"]
        i["term_label"] = w(_TERMS.get(i["term"], i["term"]))
    return {"index": h.index, "components": data["components"],
            "indicators": data["indicators"], "weights": h.weights,
            "window_days": h.window_days, "notes": list(h.notes),
            "empty": None if h.index is not None else w("这段时间的数据不足以计算健康度")}


def collected_counts(store: Store, topic: str, since: datetime | None, until: datetime
                     ) -> tuple[dict[str | None, int], int]:
    """Posts per sentiment label (None: unlabelled) and their summed engagement, over every
    post ``topic`` holds in ``[since, until)``: one GROUP BY, no monitor query applied."""
    rows = post_counts(store, topic=topic, since=since, until=until, bucket=None,
                       by=("sentiment_label",))
    return ({r.get("sentiment_label"): r["posts"] for r in rows},
            sum(r["engagement"] for r in rows))


_SHARE_NOTE = _("声量份额按每个监测在这段时间采集到的全部帖子计算，互动数未做异常值封顶；"
                "tingfeng report compare 还会按各监测的查询条件筛选帖子")


def share_panel(store: Store, monitor: Monitor, others: Sequence[Monitor], w: Wording, *,
                since: datetime | None, until: datetime) -> dict[str, Any]:
    """Share of voice of this monitor against the others, from the store's counts: mentions
    and engagement shares with Wilson 95% intervals and net sentiment
    (``scoring.measure.share.share_from_counts``; shares sum to 100%), over every post
    collected for each monitor in ``[since, until)``. ``report compare --monitor <this>
    --monitor <each other>`` gives the same figures where each monitor's query keeps all its
    posts and no counter is an outlier (it filters by the queries and caps outliers; the note
    says so). ``multi_brand_posts`` are this monitor's posts another monitor's topic holds
    too (``Store.topic_overlap``), each counted once per monitor."""
    from scoring.measure.share import share_from_counts

    if not others:
        return {"brands": [], "multi_brand_posts": 0, "notes": [],
                "empty": w("没有其他监测可以比较：再建一个竞品监测")}
    labels: dict[str, dict[str | None, int]] = {}
    engagement: dict[str, int] = {}
    for name in [monitor.name, *(m.name for m in others)]:
        labels[name], engagement[name] = collected_counts(store, name, since, until)
    rows = share_from_counts(labels, engagement, confidence=CONFIDENCE)
    overlap = store.topic_overlap(monitor.name, [m.name for m in others], since=since,
                                  until=until)
    kinds = ("positive", "neutral", "negative", "unscored")
    brands: list[dict[str, Any]] = [
        {"brand": b, "self": b == monitor.name, "mentions": x.mentions, "share": x.share,
         "share_ci": x.share_ci, "share_pct": x.share_pct, "engagement": x.engagement,
         "engagement_share": x.engagement_share, "engagement_pct": x.engagement_pct,
         "net": x.net, "net_ci": x.net_ci,
         "sentiment": {label: getattr(x, label) for label in kinds}}
        for b, x in rows.items()]
    return {"brands": brands, "multi_brand_posts": overlap, "confidence": CONFIDENCE,
            "notes": [w(_SHARE_NOTE)],
            "sentiment_names": {label: sentiment_name(label, w) for label in kinds},
            "empty": None if sum(b["mentions"] for b in brands) else w("这段时间没有帖子")}


def _share_answer(store: Store, monitor: Monitor, others: Sequence[Monitor], w: Wording,
                  used: str, since: datetime | None, now: datetime) -> dict[str, Any]:
    """The share panel with its head, the window unread: ``posts`` are the monitor's posts
    the panel counted."""
    body = share_panel(store, monitor, others, w, since=since, until=now)
    posts = next((b["mentions"] for b in body["brands"] if b["self"]), None)
    if posts is None:  # no other monitor: nothing was counted
        posts = sum(collected_counts(store, monitor.name, since, now)[0].values())
    return {**_window_head(monitor.name, used, since, now, posts, w),
            "computed_at": now.isoformat(), "share": body}


WHY = ("drivers", "events", "regions")
MEASURE = ("funnel", "health", "share")
PANELS = WHY + MEASURE


def panels(store: Store, monitor: Monitor, names: Sequence[str], *, now: datetime,
           choice: str, w: Wording, tz: str = "Asia/Shanghai") -> dict[str, Any]:
    """Panels of the monitor's window, ``{<window head>, <name>: {...} for each name}``, each
    cached on its own (see the module docstring); panels asked for at about the same time
    share one read of the window (share of voice reads none: it counts)."""
    unknown = [n for n in names if n not in PANELS]
    if unknown:
        raise ValueError(f"unknown panel {unknown[0]!r}; use one of {', '.join(PANELS)}")
    used, since = analysis_window(store, monitor.name, now=now, choice=choice, tz=tz)
    fp = fingerprint(store, monitor.name, since)
    caches = cache_for(store)
    answers: dict[str, dict[str, Any]] = {}
    for name in names:
        others = [m for m in store.monitors() if m.name != monitor.name] \
            if name == "share" else []
        # share counts the others' posts whatever their queries: a new post of theirs is
        # what changes it (relabelling and counters wait for the TTL)
        key = (name, monitor.name, monitor.query, used, since, w.lang, fp,
               tuple((m.name, volume_mark(store, m.name, since)) for m in others))

        def compute(name: str = name, others: list[Monitor] = others) -> dict[str, Any]:
            if name == "share":
                return _share_answer(store, monitor, others, w, used, since, now)
            win: AnalysisWindow = caches.windows.get(
                ("window", monitor.name, monitor.query, used, since, fp),
                lambda: load_window(store, monitor, used, since, now))
            if name == "drivers":
                body = drivers_panel(win, w, previous_window(store, win))
            else:
                body = _BUILDERS[name](win, w)
            return {**_head(win, w), "computed_at": now.isoformat(), name: body}

        answers[name] = caches.panels.get(key, compute)
    if not answers:
        return {}
    # the first window-reading panel's head stands for all (share's counts another thing)
    head = next((a for n, a in answers.items() if n != "share"), answers[names[0]])
    return {**head, **{name: answer[name] for name, answer in answers.items()}}


def tiers(store: Store, topic: str, win: Window, *, w: Wording) -> dict[str, Any]:
    """:func:`web.data.series.tier_split`, cached like the panels (every account of a big
    window and its tier: a few hundred ms). Keyed on the window's volume mark: a new post
    can bring a new account, while relabelling and counters change no tier (re-crawled
    profiles wait for the TTL)."""
    key = ("tiers", topic, win.used, win.since, win.until is None, w.lang,
           volume_mark(store, topic, win.since))
    result: dict[str, Any] = cache_for(store).panels.get(
        key, lambda: tier_split(store, topic, win, w=w))
    return result


_BUILDERS: dict[str, Callable[[AnalysisWindow, Wording], dict[str, Any]]] = {
    "events": events_panel, "regions": regions_panel, "funnel": funnel_panel,
    "health": health_panel}
