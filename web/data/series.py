"""The dashboard's numbers: volume, engagement and sentiment per time bucket, and the platform
split, for a monitor's topic.

Counting happens in the store (``Store.post_counts``: SQL ``GROUP BY`` / aggregation
pipelines); :func:`post_counts` counts ``store.posts()`` in Python only for a store object
without that method. Buckets are hours or days of the reader's zone (``MONITOR_TIMEZONE``,
北京时间 by default), given as aware UTC datetimes, as the store contract defines them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from scheduler.notify.wording import platform_name

if TYPE_CHECKING:
    from crawlers.items import Post
    from crawlers.storage import Store
    from scheduler.i18n import Wording

__all__ = ["RANGES", "SENTIMENTS", "dashboard_series", "post_counts", "resolve_range",
           "sentiment_name"]

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
                until: datetime | None, bucket: str, by: Sequence[str],
                tz: str = "Asia/Shanghai") -> list[dict[str, Any]]:
    """Rows ``{"bucket": datetime | None, <each by key>: value, "posts": n, "engagement": n}``
    (``Store.post_counts``'s contract), from the store when it has the method, else counted
    here. Undated posts have a None bucket (only when neither bound is given)."""
    if hasattr(store, "post_counts"):
        rows: list[dict[str, Any]] = list(store.post_counts(
            topic=topic, since=since, until=until, bucket=bucket, by=tuple(by), tz=tz))
        return rows
    zone = ZoneInfo(tz)
    posts: Counter[tuple[Any, ...]] = Counter()
    engagement: Counter[tuple[Any, ...]] = Counter()
    for p in store.posts(topic=topic, since=since, until=until):
        start = _floor(p.created_at, bucket, zone) if p.created_at else None
        key = (start, *(getattr(p, k) for k in by))
        posts[key] += 1
        engagement[key] += _engagement(p)
    return [{"bucket": key[0], **dict(zip(by, key[1:], strict=True)), "posts": n,
             "engagement": engagement[key]} for key, n in sorted(posts.items(), key=_order)]


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


def resolve_range(choice: str | None) -> str:
    return choice if choice in RANGES or choice == "auto" else "auto"


def dashboard_series(store: Store, topic: str, *, now: datetime, choice: str = "auto",
                     w: Wording, tz: str = "Asia/Shanghai") -> dict[str, Any]:
    """Everything the dashboard charts draw. ``choice`` is a key of RANGES, or "auto": the last
    30 days, or all time when those hold no post (zoomed to where the data is). Undated posts
    are left out: they have no place on a time line."""
    choice = resolve_range(choice)
    tries = ["30d", "all"] if choice == "auto" else [choice]
    for used in tries:
        days = RANGES[used]
        since = now - timedelta(days=days) if days else None
        until = now if days else None
        bucket = "hour" if days is not None and days <= 2 else "day"
        by_sentiment = [r for r in post_counts(store, topic=topic, since=since, until=until,
                                               bucket=bucket, by=("sentiment_label",), tz=tz)
                        if r.get("bucket") is not None]
        if by_sentiment or used == tries[-1]:
            break
    by_platform = [r for r in post_counts(store, topic=topic, since=since, until=until,
                                          bucket=bucket, by=("platform",), tz=tz)
                   if r.get("bucket") is not None]
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
    buckets = _filled(sorted(volume), bucket, ZoneInfo(tz))
    posts = sum(v[0] for v in volume.values())
    negative = sum(sentiment["negative"].values())
    scored = posts - sum(sentiment["unscored"].values())
    return {
        "topic": topic, "range": used, "bucket": bucket,
        "since": since.isoformat() if since else None,
        "until": until.isoformat() if until else None,
        "buckets": [b.isoformat() for b in buckets],
        "labels": [w.time(b, "%Y-%m-%d %H:00" if bucket == "hour" else "%Y-%m-%d")
                   for b in buckets],
        "posts": [volume.get(b, [0, 0])[0] for b in buckets],
        "engagement": [volume.get(b, [0, 0])[1] for b in buckets],
        "sentiment": [{"label": s, "name": sentiment_name(s, w),
                       "posts": [sentiment[s].get(b, 0) for b in buckets]} for s in SENTIMENTS],
        "platforms": [{"platform": p, "name": platform_name(p, w), "posts": n}
                      for p, n in platforms.most_common()],
        "totals": {"posts": posts, "engagement": sum(v[1] for v in volume.values()),
                   "negative_share": negative / scored if scored else None},
    }
