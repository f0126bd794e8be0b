"""Buckets and rows of ``Store.post_counts`` / ``author_counts`` / ``author_stats``, shared by
the backends.

The database groups; this module only says what to group by and turns the few grouped rows
into the documented shape. How a backend buckets time without knowing time zones:

1. :func:`offset_spans` cuts the window into stretches over which the zone's UTC offset is
   constant (one stretch for Asia/Shanghai; a new one at each DST change elsewhere).
2. The database groups every post by ``label = floor((epoch + offset) / size)``, the number of
   the local hour or day it falls in, with the offset of its stretch (an SQL ``CASE`` or a
   Mongo ``$switch`` over the stretch starts). Label and offset together name one bucket.
3. :func:`label_start` turns (label, offset) into the bucket's start instant with the same
   :func:`bucket_start` that MemoryStore applies post by post, so every backend agrees, also on
   DST days (a local day of 23 or 25 hours, an hour that happens twice) and in half-hour zones.

No driver imports here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from crawlers.storage._records import utc

__all__ = [
    "BIAS",
    "BUCKETS",
    "GROUP_FIELDS",
    "CountRequest",
    "StatsRequest",
    "author_rows",
    "check_page",
    "bucket_start",
    "check_limit",
    "count_request",
    "count_rows",
    "engagement",
    "label_start",
    "offset_spans",
    "net_class",
    "order_stats",
    "slot_length",
    "stats_request",
    "stats_row",
]

GROUP_FIELDS = ("platform", "sentiment_label", "emotion", "kind")
BUCKETS = {"hour": 3600, "day": 86400}
# Added to local epoch seconds before the floor division so that it divides non-negative
# numbers (SQL and Mongo truncate toward zero): a multiple of every bucket size, ~2,700 years.
BIAS = 86400 * 1_000_000
_STEP = timedelta(hours=6)  # offset changes are looked for at this spacing, then bisected
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

GroupKey = tuple[datetime | None, tuple[Any, ...]]


@dataclass(frozen=True)
class CountRequest:
    """Checked arguments of ``post_counts``: bounds as aware UTC, ``size`` in seconds."""

    bucket: str | None
    by: tuple[str, ...]
    zone: ZoneInfo
    since: datetime | None
    until: datetime | None

    @property
    def size(self) -> int:
        return BUCKETS[self.bucket] if self.bucket else 0

    @property
    def bounded(self) -> bool:
        return self.since is not None or self.until is not None

    @property
    def empty(self) -> bool:
        return self.since is not None and self.until is not None and self.since >= self.until


def count_request(
    bucket: str | None,
    by: Sequence[str],
    tz: str,
    since: datetime | None,
    until: datetime | None,
) -> CountRequest:
    """Validate ``post_counts`` arguments. :raises ValueError: naming what is accepted."""
    if isinstance(by, str):
        by = (by,)
    unknown = [name for name in by if name not in GROUP_FIELDS]
    if unknown:
        raise ValueError(f"post_counts cannot group by {unknown}; choose from {GROUP_FIELDS}")
    if bucket is not None and bucket not in BUCKETS:
        raise ValueError(f"unknown bucket {bucket!r}; use 'hour', 'day' or None")
    try:
        zone = ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {tz!r}; use an IANA name such as "
                         "'Asia/Shanghai' or 'UTC'") from exc
    return CountRequest(bucket, tuple(dict.fromkeys(by)), zone,
                        utc(since) if since else None, utc(until) if until else None)


def check_limit(limit: int | None) -> None:
    """:raises ValueError: for a negative ``author_counts`` limit."""
    if limit is not None and limit < 0:
        raise ValueError(f"limit must be None or >= 0, not {limit}")


def bucket_start(when: datetime, bucket: str, zone: ZoneInfo) -> datetime:
    """The start, as aware UTC, of the local hour or local day (in ``zone``) holding ``when``.

    A day starts at its first instant (local midnight, or the end of a DST gap that swallowed
    midnight); an hour that happens twice (DST ends) is two buckets.

    >>> shanghai = ZoneInfo("Asia/Shanghai")
    >>> bucket_start(datetime(2026, 3, 1, 16, 0, tzinfo=UTC), "day", shanghai)
    datetime.datetime(2026, 3, 1, 16, 0, tzinfo=datetime.timezone.utc)
    >>> bucket_start(datetime(2026, 3, 1, 15, 59, 59, tzinfo=UTC), "day", shanghai)
    datetime.datetime(2026, 2, 28, 16, 0, tzinfo=datetime.timezone.utc)
    """
    local = utc(when).astimezone(zone)
    if bucket == "hour":
        start = local.replace(minute=0, second=0, microsecond=0)  # keeps fold: DST's 2nd hour
    else:
        start = datetime.combine(local.date(), time(0), tzinfo=zone)
    return start.astimezone(UTC)


def _offset(zone: ZoneInfo, when: datetime) -> int:
    delta = when.astimezone(zone).utcoffset()
    return int(delta.total_seconds()) if delta is not None else 0


def _seconds(when: datetime) -> int:
    return int((when - _EPOCH).total_seconds())


def offset_spans(zone: ZoneInfo, lo: datetime, hi: datetime) -> list[tuple[datetime, int]]:
    """``(start, UTC offset in seconds)`` of each stretch of ``[lo, hi]`` with one offset; the
    first starts at ``lo``. Changes are found to the second (offsets are probed every 6 hours,
    so two changes less than 6 hours apart that cancel out would be missed; tzdata has none).

    >>> [(s.isoformat(), o) for s, o in offset_spans(ZoneInfo("America/New_York"),
    ...     datetime(2026, 3, 7, tzinfo=UTC), datetime(2026, 3, 10, tzinfo=UTC))]
    [('2026-03-07T00:00:00+00:00', -18000), ('2026-03-08T07:00:00+00:00', -14400)]
    """
    spans = [(lo, _offset(zone, lo))]
    at = lo
    while at < hi:
        ahead = min(at + _STEP, hi)
        if _offset(zone, ahead) != spans[-1][1]:
            before, after = _seconds(at), _seconds(ahead)
            while after - before > 1:  # offset(before) is the old one, offset(after) the new
                mid = (before + after) // 2
                if _offset(zone, _EPOCH + timedelta(seconds=mid)) == spans[-1][1]:
                    before = mid
                else:
                    after = mid
            change = _EPOCH + timedelta(seconds=after)
            spans.append((change, _offset(zone, change)))
        at = ahead
    return spans


def slot_length(spans: list[tuple[datetime, int]], tz: str) -> int:
    """How many characters of fixed-width UTC text name a slot that never straddles a bucket
    edge or an offset change: 13 ('2026-03-01T16', an hour) when every offset and change is a
    whole hour, else 16 (a minute).

    :raises ValueError: for offsets that are not whole minutes (local mean time, before ~1900).
    """
    seconds = [offset for _, offset in spans]
    seconds += [_seconds(start) for start, _ in spans[1:]]
    if all(s % 3600 == 0 for s in seconds):
        return 13
    if all(s % 60 == 0 for s in seconds):
        return 16
    raise ValueError(f"time zone {tz!r} has a UTC offset or change that is not a whole minute "
                     "inside the window (local mean time?); narrow the window or use another zone")


def label_start(label: int, offset: int, request: CountRequest) -> datetime:
    """The start of the bucket a database labelled ``label`` (local bucket number, unbiased)
    for posts whose zone offset was ``offset``: its middle, put through :func:`bucket_start`."""
    size = request.size
    middle = _EPOCH + timedelta(seconds=label * size - offset + size // 2)
    assert request.bucket is not None
    return bucket_start(middle, request.bucket, request.zone)


def engagement(doc: dict[str, Any]) -> int:
    """like + comment + repost counts of a post document; a missing count is 0."""
    return sum(doc.get(name) or 0 for name in ("like_count", "comment_count", "repost_count"))


def count_rows(groups: Iterable[tuple[GroupKey, int, int]], request: CountRequest
               ) -> list[dict[str, Any]]:
    """The rows of ``post_counts`` from ``((bucket, keys), posts, engagement)`` partial groups
    (a group may come in several parts: they are summed). Ordered by bucket, then the keys in
    ``by`` order; None sorts after every value, undated posts (bucket None) come last."""
    totals: dict[GroupKey, list[int]] = {}
    for key, posts, score in groups:
        total = totals.setdefault(key, [0, 0])
        total[0] += posts
        total[1] += score

    def order(key: GroupKey) -> tuple[Any, ...]:
        when, keys = key
        return (when is None, when or _EPOCH, *((k is None, k or "") for k in keys))

    rows = []
    for key in sorted(totals, key=order):
        when, keys = key
        row: dict[str, Any] = {"bucket": when} if request.bucket else {}
        row.update(zip(request.by, keys, strict=True))
        row["posts"], row["engagement"] = totals[key]
        rows.append(row)
    return rows


def author_rows(rows: Iterable[tuple[str, str, int, int]]) -> list[dict[str, Any]]:
    """``author_counts`` rows from (platform, author_id, posts, engagement) tuples."""
    return [{"platform": platform, "author_id": author_id, "posts": posts, "engagement": score}
            for platform, author_id, posts, score in rows]


def profile_field(doc: Mapping[str, Any], name: str) -> Any:
    """``author_fields``' ``name`` of a profile document: ``extra`` as a dict, ``extra.<key>``
    one value inside it (None when absent), any other field as stored."""
    if name == "extra":
        return doc.get("extra") or {}
    if name.startswith("extra."):
        return (doc.get("extra") or {}).get(name[6:])
    return doc.get(name)


def with_profiles(rows: list[dict[str, Any]], fields: Sequence[str],
                  author_fields: Callable[[list[tuple[str, str]], Sequence[str]],
                                          dict[tuple[str, str], dict[str, Any]]]
                  ) -> list[dict[str, Any]]:
    """``author_counts`` rows with ``"profile"`` (``fields`` of each stored profile, else
    None) read by ``author_fields``: for a backend that cannot join them in the query."""
    if not fields:
        return rows
    found = author_fields([(r["platform"], r["author_id"]) for r in rows], fields)
    for row in rows:
        row["profile"] = found.get((row["platform"], row["author_id"]))
    return rows


# -- tier_counts --------------------------------------------------------------------------------
TIER_MEASURES = ("followers", "upvotes", "reads")  # what a platform's accounts are tiered by
TIER_PROFILE = ("tier", "followers", "extra.voteup_count")  # the fields the rule reads
CUT_NAMES = ("head", "waist", "tail")  # lower bounds, highest first; below tail: "amateur"


def check_cutoffs(cutoffs: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """``tier_counts``' cut-offs, checked: ``{platform: {"measure", "head", "waist",
    "tail"}}`` with a measure of TIER_MEASURES and numeric bounds (a platform missing from
    them uses "forum"'s)."""
    out: dict[str, dict[str, Any]] = {}
    for platform, cut in cutoffs.items():
        if cut.get("measure") not in TIER_MEASURES:
            raise ValueError(f"tier cut-offs of {platform!r}: measure must be one of "
                             f"{', '.join(TIER_MEASURES)}, not {cut.get('measure')!r}")
        bounds = [cut.get(name) for name in CUT_NAMES]
        numbers = [float(b) for b in bounds
                   if isinstance(b, int | float) and not isinstance(b, bool)]
        if len(numbers) != len(CUT_NAMES):
            raise ValueError(f"tier cut-offs of {platform!r}: head, waist and tail must be "
                             f"numbers, not {bounds!r}")
        out[str(platform)] = {"measure": cut["measure"],
                              **dict(zip(CUT_NAMES, numbers, strict=True))}
    return out


def account_tier(platform: str, profile: Mapping[str, Any] | None,
                 cutoffs: Mapping[str, Mapping[str, Any]]) -> str:
    """The tier ``tier_counts`` gives an account from its TIER_PROFILE fields: the stored
    tier; else, with followers known, its platform's measure against the cut-offs (upvotes:
    ``extra.voteup_count`` when a whole number >= 0, else 0; reads: not stored, so untiered);
    "unknown" without a profile, followers or usable measure."""
    if profile is None:
        return "unknown"
    if profile.get("tier"):
        return str(profile["tier"])
    followers = profile.get("followers")
    cut = cutoffs.get(platform) or cutoffs.get("forum")
    if followers is None or cut is None or cut["measure"] == "reads":
        return "unknown"
    if cut["measure"] == "upvotes":
        upvotes = profile.get("extra.voteup_count")
        value = upvotes if type(upvotes) is int and upvotes >= 0 else 0
    else:
        value = followers or 0
    return next((name for name in CUT_NAMES if value >= cut[name]), "amateur")


def tier_rows(rows: Iterable[dict[str, Any]], cutoffs: Mapping[str, Mapping[str, Any]]
              ) -> list[dict[str, Any]]:
    """``tier_counts`` rows from ``author_counts(fields=TIER_PROFILE)`` rows."""
    totals: dict[str, list[int]] = {}
    for row in rows:
        total = totals.setdefault(account_tier(row["platform"], row["profile"], cutoffs), [0, 0])
        total[0] += 1
        total[1] += int(row["posts"])
    return [{"tier": t, "accounts": a, "posts": n} for t, (a, n) in sorted(totals.items())]


# -- author_stats -------------------------------------------------------------------------------
STAT_FIELDS = ("platform", "author_id", "posts", "engagement", "positive", "negative", "neutral",
               "first_at", "last_at")
_ORDERS = ("posts", "engagement", "net", "positive", "negative", "neutral", "first_at",
           "last_at", "platform")  # base.AUTHOR_ORDERS
_CLASSES = ("negative", "neutral", "positive", "unscored")  # base.NET_CLASSES


def check_page(offset: int, limit: int | None) -> None:
    """:raises ValueError: for a negative ``offset`` or ``limit``."""
    if offset < 0 or (limit is not None and limit < 0):
        raise ValueError(f"offset and limit must be >= 0, not {offset} and {limit}")


@dataclass(frozen=True)
class StatsRequest:
    """Checked ordering and paging arguments of ``author_stats``."""

    order: str
    descending: bool
    sentiment: str | None
    offset: int
    limit: int | None


def stats_request(order: str, descending: bool, sentiment: str | None, offset: int,
                  limit: int | None) -> StatsRequest:
    """Validate ``author_stats`` arguments. :raises ValueError: naming what is accepted."""
    if order not in _ORDERS:
        raise ValueError(f"author_stats cannot order by {order!r}; choose from {_ORDERS}")
    if sentiment is not None and sentiment not in _CLASSES:
        raise ValueError(f"unknown sentiment class {sentiment!r}; choose from {_CLASSES}")
    check_page(offset, limit)
    return StatsRequest(order, bool(descending), sentiment, offset, limit)


def net_class(positive: int, negative: int, neutral: int) -> str:
    """The NET_CLASSES class of an author's label counts.

    >>> net_class(1, 2, 0), net_class(2, 2, 0), net_class(0, 0, 3), net_class(0, 0, 0)
    ('negative', 'neutral', 'neutral', 'unscored')
    """
    if positive + negative + neutral == 0:
        return "unscored"
    if positive == negative:
        return "neutral"
    return "positive" if positive > negative else "negative"


def _net(row: dict[str, Any]) -> float | None:
    polar = row["positive"] + row["negative"]
    return (row["positive"] - row["negative"]) / polar if polar else None


def order_stats(rows: list[dict[str, Any]], request: StatsRequest) -> list[dict[str, Any]]:
    """``rows`` in the order ``author_stats`` documents (the reference the databases' ORDER BY
    and ``$sort`` follow): ``order`` first, None last either way, then most posts, most
    engagement, platform and author_id."""
    ranked = sorted(rows, key=lambda r: (-r["posts"], -r["engagement"], r["platform"],
                                         r["author_id"]))
    if request.order == "net":
        def value(r: dict[str, Any]) -> Any:
            return _net(r)
    else:
        def value(r: dict[str, Any]) -> Any:
            return r[request.order]
    known = [r for r in ranked if value(r) is not None]
    unknown = [r for r in ranked if value(r) is None]
    known.sort(key=value, reverse=request.descending)  # stable: ties keep the order above
    return known + unknown


def stats_row(platform: str, author_id: str, posts: int, engagement: int, positive: int,
              negative: int, neutral: int, first_at: Any, last_at: Any) -> dict[str, Any]:
    """One ``author_stats`` row; times given as datetimes or fixed-width UTC text."""
    def when(value: Any) -> datetime | None:
        if value is None:
            return None
        return utc(value if isinstance(value, datetime) else datetime.fromisoformat(value))

    return {"platform": platform, "author_id": author_id, "posts": int(posts),
            "engagement": int(engagement or 0), "positive": int(positive),
            "negative": int(negative), "neutral": int(neutral), "first_at": when(first_at),
            "last_at": when(last_at)}
