"""The four-layer funnel 看见与接触 → 互动与尝试 → 投入与创造 → 分享与传播, per platform and per
day, from the counters each platform shows, with robust caps on outlying counters. Pure: numpy
and ``crawlers.items`` only; no store, no settings.

Layers (per post, then summed per platform and per day)
-------------------------------------------------------
* **exposure** (看见与接触): the post's reads where the platform shows them; otherwise, for
  top-level posts and reposts, its author's followers × ``reach_rate`` (*estimated*, counted apart
  in ``exposure_estimated``). ``reach_rate=1.0`` is potential reach (覆盖人数, the audiences the
  content was pushed to: an upper bound); pass e.g. 0.05 for an organic-reach guess. Comments and
  replies expose nothing new. Posts with neither stay unknown and out of the first step's rate.
* **interaction** (互动与尝试): likes + comments + shares, every action the counters record, so
  interaction ≥ sharing for every post.
* **creation** (投入与创造): posts carrying their author's own words
  (:func:`scoring.engagement.has_own_words`): originals, articles, answers, questions, threads,
  and comments, replies or reposts with more than 转发微博, emoticons or mentions.
* **sharing** (分享与传播): shares.

Counters per platform (what likes / comments / shares / reads mean):

========  ==============================  =====================  ======================
platform  exposure                        likes                  shares
========  ==============================  =====================  ======================
weibo     read_count (rarely shown), else  like_count (点赞)      repost_count (转发)
          followers × reach_rate
wechat    read_count (阅读; "10万+" is     赞: old_like_num when   repost_count (分享) +
          100001); no public followers     getappmsgext filled    在看 (see ``wechat_likes``)
zhihu     read_count, else followers ×    like_count (赞同) +     repost_count (Zhihu
          reach_rate                       extra thanks_count     shows none: usually 0)
forum     read_count (Discuz 查看), else   like_count             repost_count (rare)
          followers × reach_rate (Tieba
          shows neither: unknown)
========  ==============================  =====================  ======================

Comments are ``comment_count`` everywhere (评论, 留言, 回复数, 楼中楼 on a floor). A collected
comment or repost is also inside its parent's counter, so a group's comments are
max(Σ comment_count, comments and replies collected) and its shares max(Σ shares of non-reposts,
reposts collected), as :func:`scoring.engagement.funnel` does for sharing.

Outliers: per platform and per counter (reads, likes, comments, shares), on the log scale of the
positive values, ``cap = exp(median + k·max(1.4826·MAD, min_spread)) − 1`` (k = 5: five robust
standard deviations). Counters, not layer sums, are capped so every post keeps interaction ≥
sharing; follower-based exposure is not capped (an account's audience, not a count a 水楼 can
inflate). A counter with fewer than ``min_posts`` positive values is left alone (noted).
"""

from __future__ import annotations

import dataclasses
import enum
import itertools
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from typing import Any, cast

import numpy as np
import numpy.typing as npt

from crawlers.items import Author, AuthorKey, Post
from scoring.engagement import has_own_words
from scoring.influence import parse_reads

__all__ = [
    "CHINA_TZ",
    "LAYERS",
    "LAYER_NAMES",
    "AsDict",
    "CapReport",
    "CounterTable",
    "FunnelReport",
    "FunnelRow",
    "FunnelStep",
    "cap_counters",
    "codes_of",
    "counter_table",
    "funnel_report",
    "pair_codes",
    "post_counters",
    "wechat_likes",
]

CHINA_TZ = timezone(timedelta(hours=8), "Asia/Shanghai")
LAYERS = ("exposure", "interaction", "creation", "sharing")
LAYER_NAMES = {"exposure": "看见与接触", "interaction": "互动与尝试",
               "creation": "投入与创造", "sharing": "分享与传播"}
COUNTERS = ("reads", "likes", "comments", "shares")
_FEEDS = {"reads": "exposure", "likes": "interaction", "comments": "interaction",
          "shares": "interaction, sharing"}
TOP_LEVEL = frozenset({"original", "article", "answer", "thread"})
_EXPOSING = TOP_LEVEL | {"repost"}
_CHILD = frozenset({"comment", "reply"})
_EPOCH = date(1970, 1, 1)
FArray = npt.NDArray[np.float64]


def _json(value: Any) -> Any:
    if isinstance(value, AsDict):
        return value.as_dict()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {("/".join(map(str, k)) if isinstance(k, tuple) else str(k)): _json(v)
                for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_json(v) for v in value]
    return value


class AsDict:
    """Mixin for result dataclasses: ``as_dict()`` is JSON-ready (dates as ISO strings, enums as
    values, NaN as None, tuple keys joined with "/")."""

    def as_dict(self) -> dict[str, Any]:
        record = cast(Any, self)
        return {f.name: _json(getattr(record, f.name)) for f in dataclasses.fields(record)}


def _count(value: Any) -> int | None:
    """A counter as a non-negative int; None when missing, -1 when present but not a count."""
    if value is None:
        return None
    if type(value) is int:
        return value if value >= 0 else -1
    if isinstance(value, bool):
        return -1
    if isinstance(value, float):
        return int(value) if math.isfinite(value) and value >= 0 else -1
    parsed = parse_reads(value)  # "10万+", "1.2万", "3,456"
    return -1 if parsed is None or parsed < 0 else parsed


def wechat_likes(post: Post) -> tuple[int | None, int | None]:
    """(赞 thumbs-up, 在看) of a WeChat article.

    ``getappmsgext`` stores ``like_num`` (在看 since 2018) in ``like_count`` and the thumbs-up in
    ``extra["old_like_num"]``; :func:`scoring.influence.wci_inputs` reads 在看 from
    ``extra["wow_count"]``. Either layout is understood; without either marker ``like_count`` is
    taken as the thumbs-up and 在看 as unknown.

    >>> wechat_likes(Post("wechat", "a", like_count=12, extra={"old_like_num": 30}))
    (30, 12)
    >>> wechat_likes(Post("wechat", "b", like_count=5, extra={"wow_count": "2"}))
    (5, 2)
    """
    extra = post.extra
    if "wow_count" in extra:
        return _count(post.like_count), _count(extra["wow_count"])
    if "old_like_num" in extra:
        return _count(extra["old_like_num"]), _count(post.like_count)
    return _count(post.like_count), None


def _plus(*values: int | None) -> int | None:
    if all(v is None for v in values):
        return None
    if any(v is not None and v < 0 for v in values):
        return -1
    return sum(v for v in values if v is not None)


def post_counters(p: Post) -> tuple[int | None, int | None, int | None, int | None]:
    """(reads, likes, comments, shares) of one post, read with its platform's quirks (None:
    missing, -1: present but not a count). :func:`counter_table` reads the same, vectorised.

    >>> post_counters(Post("zhihu", "answer:1", like_count=9, extra={"thanks_count": 2}))
    (None, 11, None, None)
    """
    if p.platform == "wechat":
        likes, wows = wechat_likes(p)
        return (_count(p.read_count), likes, _count(p.comment_count),
                _plus(_count(p.repost_count), wows))
    likes_ = _count(p.like_count)
    if p.platform == "zhihu":
        likes_ = _plus(likes_, _count(p.extra.get("thanks_count")))
    return _count(p.read_count), likes_, _count(p.comment_count), _count(p.repost_count)


@dataclass
class CounterTable:
    """One row per post, as numpy columns: the input of the funnel, capping and share code.

    ``reads``/``likes``/``comments``/``shares`` are NaN where missing; ``followers`` is the
    author's follower count (NaN unknown); ``day`` is days since 1970-01-01 in the table's time
    zone (-1 undated); ``child`` marks comments and replies, ``repost`` reposts.
    """

    platforms: tuple[str, ...]
    platform: npt.NDArray[np.int64]
    day: npt.NDArray[np.int64]
    reads: FArray
    likes: FArray
    comments: FArray
    shares: FArray
    followers: FArray
    created: npt.NDArray[np.bool_]
    child: npt.NDArray[np.bool_]
    repost: npt.NDArray[np.bool_]
    exposing: npt.NDArray[np.bool_]
    post_ids: list[str]
    invalid: int = 0
    missing: int = 0

    def __len__(self) -> int:
        return len(self.post_ids)

    def column(self, name: str) -> FArray:
        return cast(FArray, getattr(self, name))


def _as_float(value: Any) -> float:
    """NaN for a missing counter, -1.0 for one that is not a count (see :func:`_count`)."""
    n = _count(value)
    return math.nan if n is None else float(n)


_PLAIN = frozenset({int, type(None)})


def _column(values: list[Any]) -> FArray:
    if set(map(type, values)) <= _PLAIN:  # ints and None: numpy converts them in C (None → NaN)
        return np.asarray(values, dtype=np.float64)
    return np.asarray([float(v) if type(v) is int and v >= 0 else _as_float(v) for v in values],
                      dtype=np.float64)


def pair_codes(first: list[str], second: list[Any], *, pairs: bool = True) -> tuple[
        list[tuple[str, Any]], npt.NDArray[np.int64]]:
    """:func:`codes_of` for (platform, id) pairs without building the tuples: one dict per
    platform keyed by the id strings, whose hashes Python caches (a tuple's it does not).
    Pairs come grouped by ``first``; ``pairs=False`` returns the codes alone (and ``[]``).

    >>> pair_codes(["weibo", "zhihu", "weibo"], ["1", "1", "1"])
    ([('weibo', '1'), ('zhihu', '1')], array([0, 1, 0]))
    """
    names, code = codes_of(first)
    out = np.zeros(len(first), dtype=np.int64)
    found: list[tuple[str, Any]] = []
    offset = 0
    for k, name in enumerate(names):
        rows = np.nonzero(code == k)[0] if len(names) > 1 else np.arange(len(first))
        distinct, local = codes_of([second[i] for i in rows.tolist()])
        out[rows] = local + offset
        offset += len(distinct)
        if pairs:
            found.extend(zip(itertools.repeat(name), distinct))
    return found, out


def _add(a: FArray, b: FArray) -> FArray:
    """a + b where NaN is missing (NaN only when both are) and -1 (not a count) wins."""
    total = np.where(np.isnan(a), b, np.where(np.isnan(b), a, a + b))
    return cast(FArray, np.where((a < 0) | (b < 0), -1.0, total))


def codes_of(values: list[Any]) -> tuple[tuple[Any, ...], npt.NDArray[np.int64]]:
    """(distinct values in first-seen order, each value's index into them), at C speed.

    >>> codes_of(["weibo", "zhihu", "weibo"])
    (('weibo', 'zhihu'), array([0, 1, 0]))
    """
    distinct = tuple(dict.fromkeys(values))
    index = dict(zip(distinct, range(len(distinct)), strict=True))
    return distinct, np.fromiter(map(index.__getitem__, values), dtype=np.int64,
                                 count=len(values))


def _days(times: list[datetime | None], tz: tzinfo) -> npt.NDArray[np.int64]:
    fixed = tz.utcoffset(None)
    if fixed is None:  # a zone with daylight saving: convert each time
        return np.asarray([-1 if t is None else (
            (t if t.tzinfo else t.replace(tzinfo=UTC)).astimezone(tz).date() - _EPOCH).days
            for t in times], dtype=np.int64)
    stamps = np.asarray([math.nan if t is None else t.timestamp() if t.tzinfo is not None
                         else t.replace(tzinfo=UTC).timestamp() for t in times], dtype=np.float64)
    local = np.floor((stamps + fixed.total_seconds()) / 86400)
    return np.where(np.isnan(local), -1, local).astype(np.int64)


def _followers(authors: Mapping[AuthorKey, Author], p: Post) -> int | None:
    a = authors.get((p.platform, p.author_id)) if p.author_id is not None else None
    return a.followers if a is not None else None


def counter_table(
    posts: Iterable[Post],
    *,
    authors: Mapping[AuthorKey, Author] | None = None,
    tz: tzinfo = CHINA_TZ,
    own_words: bool = True,
) -> CounterTable:
    """Read every post's counters once (see the module docstring for what each platform's mean).

    Counters that are not counts (negative, NaN, unparsable text) are read as missing and
    counted in ``invalid``; posts with no counter at all are counted in ``missing``.
    ``own_words=False`` skips the creation flag (``created`` is all False), which only the
    funnel reads: :func:`scoring.engagement.has_own_words` is the costliest part of the read.

    >>> t = counter_table([Post("wechat", "a", read_count=100, like_count=3,
    ...                         extra={"old_like_num": 7})])
    >>> t.reads.tolist(), t.likes.tolist(), t.shares.tolist()
    ([100.0], [7.0], [3.0])
    """
    posts = posts if isinstance(posts, list) else list(posts)
    names, platform = codes_of([p.platform for p in posts])
    codes = {name: i for i, name in enumerate(names)}
    cols = [_column([p.read_count for p in posts]), _column([p.like_count for p in posts]),
            _column([p.comment_count for p in posts]),
            _column([p.repost_count for p in posts])]
    for name in ("wechat", "zhihu"):  # the platforms with their own quirks, as _counters reads
        rows = np.nonzero(platform == codes[name])[0] if name in codes else np.zeros(0, int)
        if not rows.size:
            continue
        ps = [posts[i] for i in rows.tolist()]
        likes = cols[1][rows]
        if name == "zhihu":
            cols[1][rows] = _add(likes, _column([p.extra.get("thanks_count") for p in ps]))
            continue
        wow = np.asarray(["wow_count" in p.extra for p in ps], dtype=np.bool_)
        old = np.asarray(["old_like_num" in p.extra for p in ps], dtype=np.bool_) & ~wow
        wows = np.where(wow, _column([p.extra.get("wow_count") for p in ps]),
                        np.where(old, likes, math.nan))
        cols[1][rows] = np.where(old, _column([p.extra.get("old_like_num") for p in ps]), likes)
        cols[3][rows] = _add(cols[3][rows], wows)
    invalid = sum(int((c < 0).sum()) for c in cols)
    for c in cols:
        c[c < 0] = math.nan
    missing = int(np.logical_and.reduce([np.isnan(c) for c in cols]).sum()) if posts else 0
    # followers only where they estimate exposure: a top-level post or repost without reads
    fans = _column([_followers(authors, p) if authors and p.read_count is None
                    and p.kind in _EXPOSING else None for p in posts])
    fans[fans < 0] = math.nan
    kinds, kind = codes_of([p.kind for p in posts])

    def among(group: frozenset[str]) -> npt.NDArray[np.bool_]:
        return np.isin(kind, [i for i, k in enumerate(kinds) if k in group])

    top = among(TOP_LEVEL)
    created = top.copy()
    if own_words:
        for i in np.nonzero(~top)[0].tolist():
            created[i] = has_own_words(posts[i])
    return CounterTable(
        names, platform, _days([p.created_at for p in posts], tz),
        reads=cols[0], likes=cols[1], comments=cols[2], shares=cols[3], followers=fans,
        created=created, child=among(_CHILD), repost=among(frozenset({"repost"})),
        exposing=among(_EXPOSING), post_ids=[p.post_id for p in posts], invalid=invalid,
        missing=missing)


@dataclass(frozen=True)
class CapReport(AsDict):
    """What capping did to one counter of one platform.

    ``median`` and ``cap`` are in counter units; ``spread`` is the robust log-scale standard
    deviation used (1.4826·MAD, at least ``min_spread``); ``removed`` is the excess taken off;
    ``largest`` lists (post_id, reported value) of the biggest capped posts.
    """

    platform: str
    counter: str
    layers: str
    positive: int
    median: float | None
    spread: float | None
    cap: float | None
    capped: int = 0
    removed: float = 0.0
    largest: tuple[tuple[str, float], ...] = ()
    note: str | None = None


def cap_counters(
    table: CounterTable, *, k: float | None = 5.0, min_posts: int = 10, min_spread: float = 0.5
) -> tuple[CapReport, ...]:
    """Cap outlying counters of ``table`` in place, per platform and counter; see the module
    docstring for the rule. ``k=None`` caps nothing (the reports still describe the data).

    >>> posts = [Post("forum", str(i), comment_count=20 + i) for i in range(12)]
    >>> posts.append(Post("forum", "water", comment_count=5_000_000))
    >>> t = counter_table(posts)
    >>> rep = [r for r in cap_counters(t) if r.counter == "comments"][0]
    >>> rep.capped, rep.cap, rep.largest  # median 26, MAD floored at 0.5: 27·e^2.5 − 1
    (1, 327.0, (('water', 5000000.0),))
    >>> float(t.comments.max())
    327.0
    """
    reports = []
    for code, platform in enumerate(table.platforms):
        rows = table.platform == code
        for counter in COUNTERS:
            col = table.column(counter)
            values = col[rows]
            positive = values[values > 0]
            n = int(positive.size)
            if n < min_posts:
                note = f"{n} positive values, fewer than min_posts={min_posts}: not capped"
                med = float(np.median(positive)) if n else None
                reports.append(CapReport(platform, counter, _FEEDS[counter], n, med, None, None,
                                         note=note if n else None))
                continue
            logs = np.log1p(positive)
            centre = float(np.median(logs))
            spread = max(1.4826 * float(np.median(np.abs(logs - centre))), min_spread)
            median = float(np.expm1(centre))
            if k is None:
                reports.append(CapReport(platform, counter, _FEEDS[counter], n, median, spread,
                                         None, note="capping disabled (cap_k=None)"))
                continue
            cap = float(math.floor(math.expm1(centre + k * spread)))
            over = rows & (col > cap)
            idx = np.nonzero(over)[0]
            order = idx[np.argsort(-col[idx], kind="stable")][:3]
            largest = tuple((table.post_ids[i], float(col[i])) for i in order.tolist())
            removed = float((col[idx] - cap).sum())
            col[idx] = cap
            reports.append(CapReport(platform, counter, _FEEDS[counter], n, median, spread, cap,
                                     int(idx.size), removed, largest))
    return tuple(reports)


@dataclass(frozen=True)
class FunnelStep(AsDict):
    """One step between layers: ``rate`` = target / source (the first step uses only the
    interaction of posts with known exposure), ``drop_off`` = 1 − rate (negative when the target
    is larger); ``monotone`` is False when the target exceeds the source (or the source is 0 and
    the target is not), and ``note`` says why."""

    source: str
    target: str
    rate: float | None
    drop_off: float | None
    monotone: bool
    note: str | None = None


@dataclass(frozen=True)
class FunnelRow(AsDict):
    """The funnel of one platform ("all" for every platform) over one day (None: the period)."""

    platform: str
    day: date | None
    posts: int
    exposure: float
    exposure_estimated: float
    exposure_known: int
    likes: int
    comments: int
    shares: int
    interaction: int
    interaction_reached: int
    creation: int
    sharing: int
    steps: tuple[FunnelStep, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def layers(self) -> dict[str, float]:
        return {"exposure": self.exposure, "interaction": float(self.interaction),
                "creation": float(self.creation), "sharing": float(self.sharing)}

    @property
    def monotone(self) -> bool:
        return all(s.monotone for s in self.steps)


@dataclass(frozen=True)
class FunnelReport(AsDict):
    """``total`` over every post, ``platforms`` per platform, ``daily`` per platform and day
    (oldest first), what ``capping`` did, and notes on the input."""

    total: FunnelRow
    platforms: dict[str, FunnelRow]
    daily: dict[str, tuple[FunnelRow, ...]]
    capping: tuple[CapReport, ...] = ()
    notes: tuple[str, ...] = ()
    reach_rate: float = 1.0


_WHY = {
    "interaction": "reads are often fetched before the other counters, or shown capped (10万+)",
    "creation": "posts were collected without their counters (comments or reposts whose "
                "parents' counts are unknown, or a platform that shows none)",
    "sharing": "one-click reposts and shares outnumber the posts written: the content spreads "
               "without new words (amplification)",
}


def _steps(platform: str, v: dict[str, float]) -> tuple[tuple[FunnelStep, ...], list[str]]:
    steps, notes = [], []
    for source, target in zip(LAYERS, LAYERS[1:], strict=False):
        bottom = v["interaction_reached"] if source == "exposure" else v[target]
        rate = bottom / v[source] if v[source] > 0 else None
        monotone = bottom <= v[source] if v[source] > 0 else v[target] == 0
        note = None
        if v[source] <= 0 and v[target] > 0:
            note = f"{v[target]:,.0f} {target} with no {source} measured"
        elif not monotone:
            why = _WHY[target]
            if source == "exposure" and v["exposure_estimated"] > 0.5 * v["exposure"]:
                why = ("exposure is mostly estimated from followers, which misses the audience "
                       "of posts spread beyond their author's followers")
            note = f"{target} ({bottom:,.0f}) exceeds {source} ({v[source]:,.0f}): {why}"
        steps.append(FunnelStep(source, target, rate, None if rate is None else 1 - rate,
                                monotone, note))
        if note:
            notes.append(note)
    if platform == "zhihu" and v["sharing"] == 0 and v["creation"] > 0:
        notes.append("Zhihu shows no share count: an empty sharing layer is not a 100% drop-off")
    if v["posts"] and v["exposure_known"] == 0:
        notes.append("no post shows reads and no author's followers are known (pass authors=)")
    return tuple(steps), notes


def _sums(t: CounterTable, groups: npt.NDArray[np.int64], n: int,
          reach_rate: float) -> dict[str, FArray]:
    def add(values: FArray | npt.NDArray[np.bool_]) -> FArray:
        weights = np.nan_to_num(values.astype(np.float64))
        return cast(FArray, np.bincount(groups, weights=weights, minlength=n))

    estimate = np.isnan(t.reads) & t.exposing & ~np.isnan(t.followers)
    exposure = np.where(np.isnan(t.reads), np.where(estimate, t.followers * reach_rate, np.nan),
                        t.reads)
    known = ~np.isnan(exposure)
    likes, comments = np.nan_to_num(t.likes), np.nan_to_num(t.comments)
    own_shares = np.where(t.repost, 0.0, np.nan_to_num(t.shares))
    s = {
        "posts": add(np.ones(len(t))),
        "exposure": add(exposure),
        "exposure_estimated": add(np.where(estimate, exposure, 0.0)),
        "exposure_known": add(known),
        "likes": add(likes),
        "comments": np.maximum(add(comments), add(t.child)),
        "shares": np.maximum(add(own_shares), add(t.repost)),
        "interaction_reached": add(np.where(known, likes + comments + own_shares, 0.0)),
        "creation": add(t.created),
    }
    s["interaction"] = s["likes"] + s["comments"] + s["shares"]
    s["sharing"] = s["shares"]
    return s


def _row(platform: str, day: date | None, s: dict[str, FArray], i: int) -> FunnelRow:
    v = {k: float(a[i]) for k, a in s.items()}
    steps, notes = _steps(platform, v)
    ints = {k: int(round(v[k])) for k in ("posts", "exposure_known", "likes", "comments",
                                          "shares", "interaction", "interaction_reached",
                                          "creation", "sharing")}
    return FunnelRow(platform, day, exposure=v["exposure"],
                     exposure_estimated=v["exposure_estimated"], steps=steps,
                     notes=tuple(notes), **ints)


def funnel_report(
    posts: Iterable[Post] | CounterTable,
    *,
    authors: Mapping[AuthorKey, Author] | None = None,
    reach_rate: float = 1.0,
    tz: tzinfo = CHINA_TZ,
    cap_k: float | None = 5.0,
    min_posts: int = 10,
) -> FunnelReport:
    """The four-layer funnel of ``posts``: in total, per platform and per platform and day.

    Parameters
    ----------
    posts : iterable of Post, or a CounterTable from :func:`counter_table` (capped in place)
    authors : mapping, optional
        ``{(platform, author_id): Author}``: followers estimate exposure where reads are unknown.
    reach_rate : float
        Share of followers an estimated post reaches (1.0: potential reach).
    tz : tzinfo
        Days are calendar days in this zone (China time by default).
    cap_k, min_posts : outlier cap (see :func:`cap_counters`); ``cap_k=None`` disables it.

    Returns
    -------
    FunnelReport

    Examples
    --------
    >>> when = datetime(2026, 5, 1, 2, tzinfo=UTC)
    >>> a = Post("wechat", "a", created_at=when, kind="article", read_count=1000, like_count=5,
    ...          repost_count=20, comment_count=10, extra={"old_like_num": 30})
    >>> r = funnel_report([a]).total
    >>> r.exposure, r.interaction, r.creation, r.sharing
    (1000.0, 65, 1, 25)
    >>> [(s.target, s.rate) for s in r.steps]
    [('interaction', 0.065), ('creation', 0.015384615384615385), ('sharing', 25.0)]
    >>> r.notes[0][:34]
    'sharing (25) exceeds creation (1):'
    """
    if not reach_rate >= 0:
        raise ValueError(f"reach_rate={reach_rate!r}: a share of followers, 0 or more")
    table = posts if isinstance(posts, CounterTable) else counter_table(
        posts, authors=authors, tz=tz)
    if isinstance(posts, CounterTable) and authors is not None:
        raise ValueError("authors= is read by counter_table(); pass it there")
    capping = cap_counters(table, k=cap_k, min_posts=min_posts)
    notes = []
    if len(table) == 0:
        notes.append("no posts: every layer is 0")
    if table.invalid:
        notes.append(f"{table.invalid} counters were not counts and were read as missing")
    if table.missing:
        notes.append(f"{table.missing} of {len(table)} posts carry no counter at all")
    undated = int((table.day < 0).sum())
    if undated:
        notes.append(f"{undated} posts without created_at: in the totals, not in the days")
    capped = [f"{c.platform} {c.counter}: {c.capped} capped at {c.cap:,.0f}"
              for c in capping if c.capped and c.cap is not None]
    if capped:
        notes.append("outliers capped: " + "; ".join(capped))

    # The max(counted, collected) rule is applied per platform and day (undated posts are a
    # group of their own), then summed: days add up to their platform, platforms to the total.
    dated = table.day >= 0
    lo = int(table.day[dated].min()) if dated.any() else 0
    span = (int(table.day[dated].max()) - lo + 2) if dated.any() else 1
    key = table.platform * span + np.where(dated, table.day - lo + 1, 0)
    groups, inv = np.unique(key, return_inverse=True)
    fine = _sums(table, inv.astype(np.int64).ravel(), len(groups), reach_rate)
    npl = len(table.platforms)
    owner = groups // span
    per = {k: np.bincount(owner, weights=a, minlength=npl).astype(np.float64)
           for k, a in fine.items()}
    total = _row("all", None, {k: np.asarray([a.sum()]) for k, a in fine.items()}, 0)
    platforms = {p: _row(p, None, per, i) for i, p in enumerate(table.platforms)}
    rows: dict[str, list[FunnelRow]] = {p: [] for p in table.platforms}
    for i, g in enumerate(groups.tolist()):
        if g % span:  # 0 is the undated group
            platform = table.platforms[g // span]
            rows[platform].append(_row(platform, _EPOCH + timedelta(days=lo + g % span - 1),
                                       fine, i))
    daily = {p: tuple(r) for p, r in rows.items()}
    return FunnelReport(total, platforms, daily, capping, tuple(notes), reach_rate)

