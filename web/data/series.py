"""The dashboard's numbers: volume, engagement and sentiment per time bucket, and the platform
split, for a monitor's topic.

Counting happens in the store (``Store.post_counts``: SQL ``GROUP BY`` / aggregation
pipelines); :func:`post_counts` counts ``store.posts()`` in Python only for a store object
without that method. Buckets are hours or days of the reader's zone (``MONITOR_TIMEZONE``,
北京时间 by default), given as aware UTC datetimes, as the store contract defines them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from crawlers.items import Author
from scheduler.notify.wording import platform_name, tier_name

if TYPE_CHECKING:
    from crawlers.items import Post
    from crawlers.storage import Store
    from scheduler.i18n import Wording

__all__ = ["GRAIN", "RANGES", "SENTIMENTS", "TIERS", "Window", "dashboard_series", "emotion_series",
           "post_counts", "resolve_range", "resolve_window", "sentiment_name", "tier_of",
           "tier_split", "tiers_of"]

# Range choices of the dashboard and post browser: days back (None = everything).
RANGES: dict[str, int | None] = {"1d": 1, "7d": 7, "30d": 30, "90d": 90, "365d": 365,
                                 "all": None}
SENTIMENTS = ("negative", "neutral", "positive", "unscored")


def _(message: str) -> str:  # marks a reader string; translated where it is shown
    return message


_SENTIMENT_NAMES = {"positive": _("正面"), "neutral": _("中性"), "negative": _("负面"),
                    "unscored": _("未评分")}


def sentiment_name(label: str | None, w: Wording) -> str:
    return w(_SENTIMENT_NAMES.get(label or "unscored", _SENTIMENT_NAMES["unscored"]))


def _floor(moment: datetime, bucket: str, zone: ZoneInfo) -> datetime:
    """The start of ``moment``'s local hour or day, as aware UTC."""
    local = moment.astimezone(zone)
    if bucket == "day":
        return datetime.combine(local.date(), time(), zone).astimezone(UTC)
    return local.replace(minute=0, second=0, microsecond=0).astimezone(UTC)


def _engagement(p: Post) -> int:
    return (p.repost_count or 0) + (p.comment_count or 0) + (p.like_count or 0)


def post_counts(store: Store, *, topic: str | None, since: datetime | None,
                until: datetime | None, bucket: str | None, by: Sequence[str],
                tz: str = "Asia/Shanghai") -> list[dict[str, Any]]:
    """Rows ``{"bucket": datetime | None, <each by key>: value, "posts": n, "engagement": n}``
    (``Store.post_counts``'s contract), from the store when it has the method, else counted
    here. Undated posts have a None bucket (only when neither bound is given); with
    ``bucket=None`` rows are totals per key, without a "bucket"."""
    if hasattr(store, "post_counts"):
        rows: list[dict[str, Any]] = list(store.post_counts(
            topic=topic, since=since, until=until, bucket=bucket, by=tuple(by), tz=tz))
        return rows
    zone = ZoneInfo(tz)
    posts: Counter[tuple[Any, ...]] = Counter()
    engagement: Counter[tuple[Any, ...]] = Counter()
    for p in store.posts(topic=topic, since=since, until=until):
        start = _floor(p.created_at, bucket, zone) if p.created_at and bucket else None
        key = (start, *(getattr(p, k) for k in by))
        posts[key] += 1
        engagement[key] += _engagement(p)
    out = [{"bucket": key[0], **dict(zip(by, key[1:], strict=True)), "posts": n,
            "engagement": engagement[key]} for key, n in sorted(posts.items(), key=_order)]
    if bucket is None:
        for row in out:
            del row["bucket"]
    return out


def _order(item: tuple[tuple[Any, ...], int]) -> tuple[Any, ...]:
    start, *values = item[0]
    return (start is None, start or datetime.min.replace(tzinfo=UTC),
            *((v is None, "" if v is None else str(v)) for v in values))


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


MAX_FILLED = 400  # empty buckets are drawn as zeros up to this many; beyond, only busy ones


def _filled(buckets: list[datetime], bucket: str, zone: ZoneInfo) -> list[datetime]:
    """Every bucket from the first busy one to the last, so quiet hours show as zeros,
    unless that would be more than MAX_FILLED (years of sparse data): then the busy ones.
    Days are counted in the local zone (a DST day lasts 23 or 25 hours)."""
    if len(buckets) < 2:
        return buckets
    if bucket == "hour":
        count = int((buckets[-1] - buckets[0]) / timedelta(hours=1)) + 1
        if count > MAX_FILLED:
            return buckets
        return [buckets[0] + timedelta(hours=i) for i in range(count)]
    first, last = (b.astimezone(zone).date() for b in (buckets[0], buckets[-1]))
    if (last - first).days + 1 > MAX_FILLED:
        return buckets
    return [datetime.combine(first + timedelta(days=i), time(), zone).astimezone(UTC)
            for i in range((last - first).days + 1)]


def _grain(moment: datetime) -> datetime:
    epoch = datetime(2000, 1, 1, tzinfo=UTC)
    return moment - (moment - epoch) % GRAIN


def resolve_range(choice: str | None) -> str:
    return choice if choice in RANGES or choice == "auto" else "auto"


@dataclass(frozen=True)
class Window:
    """A dashboard range made concrete: ``used`` is the RANGES key "auto" resolved to, with
    its bounds (both None for "all") and the charts' bucket."""

    used: str
    since: datetime | None
    until: datetime | None
    bucket: str


GRAIN = timedelta(minutes=10)  # a window starts on a 10-minute mark (see _window)


def _window(used: str, now: datetime) -> Window:
    """``used``'s window ending ``now``. Its start is floored to a GRAIN mark, so requests
    minutes apart read the same window and cached panels stay valid while no post arrives
    (50,000 posts a week is one post aging out every 12 seconds)."""
    days = RANGES[used]
    since = _grain(now - timedelta(days=days)) if days else None
    until = now if days else None
    return Window(used, since, until, "hour" if days is not None and days <= 2 else "day")


def resolve_window(store: Store, topic: str, *, now: datetime, choice: str = "auto",
                   tz: str = "Asia/Shanghai") -> Window:
    """The window ``choice`` names; "auto" is the last 30 days, or all time when those hold no
    post (as :func:`dashboard_series` decides, so every panel shows the same period). Asked as
    one post of the window with its count (``newest_posts``, read from an index: ~8 ms at 1M
    posts) rather than by grouping the window's days (~200 ms there)."""
    choice = resolve_range(choice)
    if choice != "auto":
        return _window(choice, now)
    recent = _window("30d", now)
    busy = store.newest_posts(topic=topic, since=recent.since, until=recent.until, limit=1)
    return recent if busy.total else _window("all", now)


def _axis(rows: list[dict[str, Any]], bucket: str, tz: str, w: Wording
          ) -> tuple[list[datetime], dict[str, Any]]:
    """The x axis of a window's charts: every bucket from the first busy one to the last."""
    buckets = _filled(sorted({_aware(r["bucket"]) for r in rows}), bucket, ZoneInfo(tz))
    return buckets, {
        "buckets": [b.isoformat() for b in buckets],
        "labels": [w.time(b, "%Y-%m-%d %H:00" if bucket == "hour" else "%Y-%m-%d")
                   for b in buckets]}


def _head(topic: str, win: Window) -> dict[str, Any]:
    return {"topic": topic, "range": win.used, "bucket": win.bucket,
            "since": win.since.isoformat() if win.since else None,
            "until": win.until.isoformat() if win.until else None}


def dashboard_series(store: Store, topic: str, *, now: datetime, choice: str = "auto",
                     w: Wording, tz: str = "Asia/Shanghai") -> dict[str, Any]:
    """Everything the dashboard charts draw. ``choice`` is a key of RANGES, or "auto": the last
    30 days, or all time when those hold no post (zoomed to where the data is). Undated posts
    are left out: they have no place on a time line."""
    choice = resolve_range(choice)
    tries = ["30d", "all"] if choice == "auto" else [choice]
    for used in tries:
        win = _window(used, now)
        # one GROUP BY for both views: (bucket, label, platform) rows, summed each way
        by_sentiment = [r for r in post_counts(store, topic=topic, since=win.since,
                                               until=win.until, bucket=win.bucket,
                                               by=("sentiment_label", "platform"), tz=tz)
                        if r.get("bucket") is not None]
        if by_sentiment or used == tries[-1]:
            break
    by_platform = by_sentiment
    volume: dict[datetime, list[int]] = {}
    sentiment: dict[str, dict[datetime, int]] = {s: {} for s in SENTIMENTS}
    for row in by_sentiment:
        when = _aware(row["bucket"])
        totals = volume.setdefault(when, [0, 0])
        totals[0] += int(row["posts"])
        totals[1] += int(row.get("engagement") or 0)
        label = row.get("sentiment_label") or "unscored"
        label = label if label in sentiment else "unscored"
        sentiment[label][when] = sentiment[label].get(when, 0) + int(row["posts"])
    platforms: Counter[str] = Counter()
    for row in by_platform:
        platforms[str(row.get("platform"))] += int(row["posts"])
    buckets, axis = _axis(by_sentiment, win.bucket, tz, w)
    posts = sum(v[0] for v in volume.values())
    negative = sum(sentiment["negative"].values())
    scored = posts - sum(sentiment["unscored"].values())
    return {
        **_head(topic, win), **axis,
        "posts": [volume.get(b, [0, 0])[0] for b in buckets],
        "engagement": [volume.get(b, [0, 0])[1] for b in buckets],
        "sentiment": [{"label": s, "name": sentiment_name(s, w),
                       "posts": [sentiment[s].get(b, 0) for b in buckets]} for s in SENTIMENTS],
        "platforms": [{"platform": p, "name": platform_name(p, w), "posts": n}
                      for p, n in platforms.most_common()],
        "totals": {"posts": posts, "engagement": sum(v[1] for v in volume.values()),
                   "negative_share": negative / scored if scored else None},
    }


_EMOTION_NAMES = {"like": _("喜爱"), "happiness": _("快乐"), "sadness": _("悲伤"),
                  "anger": _("愤怒"), "disgust": _("厌恶"), "fear": _("恐惧"),
                  "surprise": _("惊讶")}


def emotion_name(emotion: str, w: Wording) -> str:
    return w(_EMOTION_NAMES[emotion]) if emotion in _EMOTION_NAMES else emotion


def emotion_series(store: Store, topic: str, win: Window, *, w: Wording,
                   tz: str = "Asia/Shanghai") -> dict[str, Any]:
    """Posts per emotion per bucket (情绪曲线), counted by the store (``by=("emotion",)``),
    on the same axis as :func:`dashboard_series` for the same window. Stored names are read
    as ``scoring.why.emotions`` reads them (``愤怒`` is anger), the NLPCC scheme first, then
    any other emotion seen; posts without one are ``unlabelled``."""
    from scoring.sentiment import NLPCC_EMOTIONS
    from scoring.why.emotions import normalise_emotion

    rows = [r for r in post_counts(store, topic=topic, since=win.since, until=win.until,
                                   bucket=win.bucket, by=("emotion",), tz=tz)
            if r.get("bucket") is not None]
    counts: dict[str | None, dict[datetime, int]] = {e: {} for e in NLPCC_EMOTIONS}
    for row in rows:
        emotion = normalise_emotion(row.get("emotion"))
        cells = counts.setdefault(emotion, {})
        when = _aware(row["bucket"])
        cells[when] = cells.get(when, 0) + int(row["posts"])
    unlabelled = counts.pop(None, {})
    buckets, axis = _axis(rows, win.bucket, tz, w)
    emotions = [{"emotion": e, "name": emotion_name(e, w),
                 "posts": [cells.get(b, 0) for b in buckets]}
                for e, cells in counts.items() if e is not None]
    labelled = sum(sum(cells.values()) for e, cells in counts.items() if e is not None)
    return {**_head(topic, win), **axis, "emotions": emotions,
            "unlabelled": [unlabelled.get(b, 0) for b in buckets],
            "totals": {"labelled": labelled, "unlabelled": sum(unlabelled.values())}}


TIERS = ("kol", "head", "waist", "tail", "amateur")  # display order; then others, unknown last


def tier_of(author: Author | None) -> str:
    """The stored tier, else one from followers (as reports tier accounts not scored yet)."""
    from scheduler.reports.assemble import default_tier_of

    if author is None:
        return "unknown"
    return author.tier or default_tier_of(author) or "unknown"


_UPVOTES = "extra.voteup_count"  # Zhihu's measure, inside the profile's extra


def tiers_of(store: Store, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """``tier_of`` of many accounts, reading only what it needs (``Store.author_fields``:
    no record built, a window has tens of thousands of accounts): the stored tier, else the
    platform's measure (followers; Zhihu upvotes from the profile) against its cut-offs, as
    ``default_tier_of`` decides. Accounts without a stored profile: "unknown"."""
    from scoring.influence import tier, tier_measure

    out: dict[tuple[str, str], str] = {}
    for key, f in store.author_fields(keys, ("tier", "followers", _UPVOTES)).items():
        if f["tier"]:
            out[key] = str(f["tier"])
        elif f["followers"] is None or key[0] == "wechat":  # as default_tier_of: untiered
            out[key] = "unknown"
        else:  # followers, or Zhihu's upvotes (in the profile's extra), against the cut-offs
            measure, cut = tier_measure(key[0], followers=f["followers"],
                                        extra={"voteup_count": f[_UPVOTES]})
            out[key] = tier(measure, thresholds=cut).value
    return out


def tier_split(store: Store, topic: str, win: Window, *, w: Wording) -> dict[str, Any]:
    """Posts and accounts per influence tier among the window's authors, counted by the
    store with the platforms' cut-offs (``Store.tier_counts``: the tier :func:`tiers_of`
    gives each account; SQLite tiers them in the query). Posts without an author id are
    counted apart (``no_author``)."""
    from scoring.influence import DEFAULT_TIERS

    rows = store.tier_counts(topic=topic, since=win.since, until=win.until,
                             cutoffs=DEFAULT_TIERS)
    posts: Counter[str] = Counter({r["tier"]: int(r["posts"]) for r in rows})
    accounts: Counter[str] = Counter({r["tier"]: int(r["accounts"]) for r in rows})
    order = {t: i for i, t in enumerate(TIERS)}
    tiers = sorted(posts, key=lambda t: (t == "unknown", order.get(t, len(TIERS)), t))
    total = store.newest_posts(topic=topic, since=win.since, until=win.until, limit=0).total
    attributed = sum(posts.values())
    return {**_head(topic, win),
            "tiers": [{"tier": t, "name": tier_name(t, w), "posts": posts[t],
                       "accounts": accounts[t]} for t in tiers],
            "totals": {"posts": total, "attributed": attributed,
                       "no_author": max(0, total - attributed),
                       "accounts": sum(accounts.values())}}
