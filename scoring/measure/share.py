"""Share of voice between brands, per platform and per day, with Wilson intervals, net sentiment,
shared and exclusive KOLs and the overlap of posts that mention several brands. Pure; numpy.

Definitions
-----------
* A post that matches several brands counts once *per brand* (a mention); within one brand a post
  counts once however often it is listed. ``overlap`` says how many posts did so.
* **share** = brand mentions / all brand mentions of the scope (the platform, the day, or all),
  so shares sum to 1; 95% Wilson score interval (binomial on the mentions).
* **engagement share** = Σ interactions (likes + comments + shares, outliers capped as in
  :mod:`scoring.measure.funnel`) of the brand's posts / the same over every brand.
* **net** = (positive − negative) / (positive + negative); its interval is the Wilson interval of
  p = positive / polar, mapped by net = 2p − 1.
* Displayed percents (``*_pct``) use largest-remainder rounding, so they add up to exactly 100.
* **KOL**: an author whose stored tier is in ``kol_tiers`` (head, kol) or who is among the
  ``kol_top`` authors of a platform by the platform's measure (followers; upvotes on Zhihu,
  average reads on WeChat: :func:`scoring.measure.sheets.platform_measure`). Shared KOLs mention
  two brands or more; exclusive ones a single brand.

:func:`share_from_counts` gives the overall rows from counts a store aggregates (posts and
engagement per sentiment label of each brand) instead of posts, for a dashboard that cannot read
every brand's posts: the same definitions, without the outlier cap (see its Notes).
"""

from __future__ import annotations

import itertools
import math
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta, tzinfo
from statistics import NormalDist

import numpy as np
import numpy.typing as npt

from crawlers.items import Author, AuthorKey, Post
from scoring.measure.funnel import (
    CHINA_TZ,
    AsDict,
    CapReport,
    CounterTable,
    FArray,
    cap_counters,
    counter_table,
    pair_codes,
)
from scoring.measure.sheets import own_measure
from scoring.netsentiment import net_score, post_label

__all__ = [
    "BrandShare",
    "DailyShare",
    "Kol",
    "Overlap",
    "ShareOfVoice",
    "largest_remainder",
    "share_from_counts",
    "share_of_voice",
    "wilson",
]

_LABELS = {"positive": 0, "negative": 1, "neutral": 2}
_EPOCH = date(1970, 1, 1)
Interval = tuple[float, float]


def wilson(successes: float, n: float, *, confidence: float = 0.95) -> Interval | None:
    """Wilson score interval of a proportion ``successes / n``; None when ``n`` is 0.

    (p + z²/2n ± z·√(p(1−p)/n + z²/4n²)) / (1 + z²/n), z the normal quantile of
    ``(1 + confidence) / 2``.

    >>> [round(x, 4) for x in wilson(81, 263)]
    [0.2553, 0.3662]
    >>> wilson(0, 10)[0], wilson(0, 0)
    (0.0, None)
    """
    if n <= 0:
        return None
    if not 0 <= successes <= n:
        raise ValueError(f"successes={successes} outside [0, n={n}]")
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    p, z2 = successes / n, z * z
    denom = 1 + z2 / n
    centre = (p + z2 / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denom
    # at p = 0 or 1 one bound is exactly 0 or 1; computed, it would carry rounding noise
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    return low, 1.0 if successes == n else min(1.0, centre + half)


def largest_remainder(values: Sequence[float], *, total: float = 100.0,
                      decimals: int = 1) -> list[float]:
    """``values`` scaled to ``total`` and rounded to ``decimals`` so the results add up to
    ``total`` exactly (Hamilton's method: floor, then the largest remainders get one unit each;
    ties go to the earlier value). All-zero input gives zeros.

    >>> largest_remainder([1, 1, 1])
    [33.4, 33.3, 33.3]
    >>> largest_remainder([0.5, 0.25, 0.25], decimals=0)
    [50.0, 25.0, 25.0]
    """
    whole = sum(values)
    if not values or whole <= 0:
        return [0.0 for _ in values]
    unit = 10 ** decimals
    exact = [round(v / whole * total * unit, 9) for v in values]
    floors = [math.floor(x) for x in exact]
    left = int(round(total * unit)) - sum(floors)
    order = sorted(range(len(values)), key=lambda i: (-(exact[i] - floors[i]), i))
    for i in order[:left]:
        floors[i] += 1
    return [round(f / unit, decimals) for f in floors]


@dataclass(frozen=True)
class BrandShare(AsDict):
    """One brand in one scope (a platform, or "all")."""

    brand: str
    platform: str
    mentions: int
    share: float | None
    share_ci: Interval | None
    share_pct: float
    engagement: float
    engagement_share: float | None
    engagement_pct: float
    positive: int
    negative: int
    neutral: int
    unscored: int
    net: float | None
    net_ci: Interval | None


@dataclass(frozen=True)
class DailyShare(AsDict):
    """One brand on one day (calendar day in the report's time zone)."""

    day: date
    brand: str
    mentions: int
    share: float | None
    share_pct: float
    net: float | None


@dataclass(frozen=True)
class Kol(AsDict):
    platform: str
    author_id: str
    name: str | None
    measure: float | None
    measure_name: str
    tier: str | None
    brands: tuple[str, ...]


@dataclass(frozen=True)
class Overlap(AsDict):
    """``posts`` distinct posts made ``mentions`` brand mentions; ``multi_brand_posts`` matched
    two brands or more; ``pairs`` counts posts per brand pair ("A & B")."""

    posts: int
    mentions: int
    multi_brand_posts: int
    pairs: dict[str, int]


@dataclass(frozen=True)
class ShareOfVoice(AsDict):
    brands: tuple[str, ...]
    overall: dict[str, BrandShare]
    platforms: dict[str, dict[str, BrandShare]]
    daily: dict[date, dict[str, DailyShare]]
    kols: tuple[Kol, ...]
    shared_kols: tuple[Kol, ...]
    exclusive_kols: dict[str, tuple[Kol, ...]]
    overlap: Overlap
    capping: tuple[CapReport, ...] = ()
    notes: tuple[str, ...] = ()
    confidence: float = 0.95


def _net_ci(pos: int, neg: int, confidence: float) -> Interval | None:
    ci = wilson(pos, pos + neg, confidence=confidence)
    return None if ci is None else (2 * ci[0] - 1, 2 * ci[1] - 1)


def _scope(platform: str, brands: Sequence[str], mentions: np.ndarray, eng: np.ndarray,
           labels: np.ndarray, confidence: float, decimals: int) -> dict[str, BrandShare]:
    """``mentions``/``eng`` per brand; ``labels`` per brand × (pos, neg, neu, unscored)."""
    total, total_eng = int(mentions.sum()), float(eng.sum())
    pct = largest_remainder(mentions.tolist(), decimals=decimals)
    eng_pct = largest_remainder(eng.tolist(), decimals=decimals)
    out = {}
    for b, brand in enumerate(brands):
        n, e = int(mentions[b]), float(eng[b])
        pos, neg, neu, uns = (int(x) for x in labels[b])
        out[brand] = BrandShare(
            brand, platform, n, n / total if total else None,
            wilson(n, total, confidence=confidence), pct[b], e,
            e / total_eng if total_eng > 0 else None, eng_pct[b], pos, neg, neu, uns,
            net_score(pos, neg), _net_ci(pos, neg, confidence))
    return out


def share_from_counts(
    labels_by_brand: Mapping[str, Mapping[str | None, int]],
    engagement_by_brand: Mapping[str, float],
    *,
    platform: str = "all",
    confidence: float = 0.95,
    decimals: int = 1,
) -> dict[str, BrandShare]:
    """Share of voice of each brand from counts: one scope's rows, as ``share_of_voice``
    gives them in ``overall`` (or one of ``platforms``).

    Parameters
    ----------
    labels_by_brand : ``{brand: {sentiment label: posts}}``; "positive", "negative" and
        "neutral" are labels, any other key (None: no label) counts as unscored. A brand's
        mentions are the sum of its counts, so brands keep this mapping's order.
    engagement_by_brand : ``{brand: likes + comments + shares}`` of the brand's posts; a
        brand missing here has 0
    platform : the scope's name in the rows
    confidence, decimals : as in :func:`share_of_voice`

    Returns
    -------
    dict
        ``{brand: BrandShare}``; shares sum to 1 and displayed percents to exactly 100.

    Raises
    ------
    ValueError
        For a negative count or engagement.

    Notes
    -----
    Each count is taken as the brand's own distinct posts, as a post listed under two brands
    counts once per brand in ``share_of_voice`` too. For posts each listed under a single
    brand, labelled (or unscored) and with no outlier counters, the rows equal
    ``share_of_voice(...).overall``. Two differences otherwise: engagement is summed as given,
    with no outlier cap (``share_of_voice`` caps counters at ``cap_k`` MADs); and a post with
    a score but no stored label is unscored here (``share_of_voice`` derives its label from the
    score in ``neutral_band``).

    Examples
    --------
    >>> rows = share_from_counts({"A": {"positive": 2, "negative": 1}, "B": {"neutral": 1,
    ...                                                                    None: 2}},
    ...                          {"A": 17, "B": 13})
    >>> [(s.brand, s.mentions, s.share_pct, s.engagement_pct, s.unscored)
    ...  for s in rows.values()]
    [('A', 3, 50.0, 56.7, 0), ('B', 3, 50.0, 43.3, 2)]
    >>> round(rows["A"].net, 4), rows["B"].net
    (0.3333, None)
    """
    brands = tuple(labels_by_brand)
    labels = np.zeros((len(brands), 4), dtype=np.int64)
    for b, brand in enumerate(brands):
        for label, n in labels_by_brand[brand].items():
            if n < 0:
                raise ValueError(f"negative count {n} of {brand!r}/{label!r}")
            labels[b, _LABELS.get(label or "", 3)] += int(n)
    eng = np.asarray([float(engagement_by_brand.get(b, 0)) for b in brands], dtype=np.float64)
    if (eng < 0).any():
        raise ValueError(f"negative engagement in {dict(engagement_by_brand)!r}")
    return _scope(platform, brands, labels.sum(axis=1), eng, labels, confidence, decimals)


def share_of_voice(
    posts_by_brand: Mapping[str, Sequence[Post]],
    authors: Mapping[AuthorKey, Author] | None = None,
    *,
    tz: tzinfo = CHINA_TZ,
    confidence: float = 0.95,
    decimals: int = 1,
    kol_top: int = 20,
    kol_tiers: Iterable[str] = ("head", "kol"),
    cap_k: float | None = 5.0,
    neutral_band: tuple[float, float] = (0.4, 0.6),
) -> ShareOfVoice:
    """Share of voice of each brand, overall, per platform and per day.

    Parameters
    ----------
    posts_by_brand : ``{brand: posts matching it}``; a post may be listed under several brands
    authors : ``{(platform, author_id): Author}`` for KOL tiers and measures
    tz : days are calendar days in this zone
    confidence : of the Wilson intervals
    decimals : of the displayed percents
    kol_top, kol_tiers : who counts as a KOL (see the module docstring)
    cap_k : outlier cap of the engagement counters; None disables it
    neutral_band : for posts with a score but no label

    Returns
    -------
    ShareOfVoice

    Examples
    --------
    >>> both = Post("weibo", "1", like_count=3, sentiment_label="positive")
    >>> sov = share_of_voice({"A": [both, Post("weibo", "2", sentiment_label="negative")],
    ...                       "B": [both]})
    >>> [(s.brand, s.mentions, s.share_pct, s.engagement_pct) for s in sov.overall.values()]
    [('A', 2, 66.7, 50.0), ('B', 1, 33.3, 50.0)]
    >>> sov.overall["A"].net, sov.overlap.multi_brand_posts, sov.overlap.pairs
    (0.0, 1, {'A & B': 1})
    """
    authors = authors or {}
    brands = tuple(posts_by_brand)
    listed = [posts_by_brand[b] for b in brands]
    flat = list(itertools.chain.from_iterable(listed))
    _, ids = pair_codes([p.platform for p in flat], [p.post_id for p in flat], pairs=False)
    # a post listed under two brands is one post: the first listing stands for it
    _, firsts = np.unique(ids, return_index=True)
    distinct = [flat[i] for i in firsts.tolist()]
    m_brand: list[npt.NDArray[np.int64]] = []
    m_post: list[npt.NDArray[np.int64]] = []
    repeated = start = 0
    for b, ps in enumerate(listed):
        unique = np.unique(ids[start:start + len(ps)])
        start += len(ps)
        repeated += len(ps) - unique.size
        m_post.append(unique)
        m_brand.append(np.full(unique.size, b, dtype=np.int64))
    mp = np.concatenate(m_post) if m_post else np.zeros(0, dtype=np.int64)
    mb = np.concatenate(m_brand) if m_brand else np.zeros(0, dtype=np.int64)
    table = counter_table(distinct, tz=tz, own_words=False)
    capping = cap_counters(table, k=cap_k)
    eng_post = (np.nan_to_num(table.likes) + np.nan_to_num(table.comments)
                + np.nan_to_num(table.shares))
    # the stored label, else one derived from the score (post_label), else unscored (3)
    labels = [p.sentiment_label or (post_label(p, neutral_band) if p.sentiment is not None
                                    else None) or "" for p in distinct]
    label_post = np.asarray([_LABELS.get(x, 3) for x in labels], dtype=np.int64)
    nb, npl = len(brands), len(table.platforms)
    eng_m, lab_m, plat_m = eng_post[mp], label_post[mp], table.platform[mp]

    def counts(key: npt.NDArray[np.int64], n: int) -> tuple[npt.NDArray[np.int64], FArray,
                                                          npt.NDArray[np.int64]]:
        mentions = np.bincount(key, minlength=n)
        eng = np.bincount(key, weights=eng_m, minlength=n).astype(np.float64)
        labels = np.bincount(key * 4 + lab_m, minlength=n * 4).reshape(n, 4)
        return mentions, eng, labels

    overall = _scope("all", brands, *counts(mb, nb), confidence, decimals)
    pm, pe, pl = counts(plat_m * nb + mb, npl * nb)
    platforms = {p: _scope(p, brands, pm[k * nb:(k + 1) * nb], pe[k * nb:(k + 1) * nb],
                           pl[k * nb:(k + 1) * nb], confidence, decimals)
                 for k, p in enumerate(table.platforms)}

    daily: dict[date, dict[str, DailyShare]] = {}
    day_m = table.day[mp]
    dated = day_m >= 0
    if dated.any():
        lo = int(day_m[dated].min())
        nd = int(day_m[dated].max()) - lo + 1
        key = (day_m[dated] - lo) * nb + mb[dated]
        dm = np.bincount(key, minlength=nd * nb).reshape(nd, nb)
        dl = np.bincount(key * 4 + lab_m[dated], minlength=nd * nb * 4).reshape(nd, nb, 4)
        for d in np.nonzero(dm.sum(axis=1))[0].tolist():
            total = int(dm[d].sum())
            pct = largest_remainder(dm[d].tolist(), decimals=decimals)
            day = _EPOCH + timedelta(days=lo + d)
            daily[day] = {brand: DailyShare(day, brand, int(dm[d, b]), int(dm[d, b]) / total,
                                            pct[b], net_score(int(dl[d, b, 0]), int(dl[d, b, 1])))
                          for b, brand in enumerate(brands)}

    per_post = np.bincount(mp, minlength=len(distinct))
    multi = int((per_post > 1).sum())
    pairs: dict[str, int] = defaultdict(int)
    if multi:
        several = per_post[mp] > 1
        order = np.lexsort((mb[several], mp[several]))
        posts_m, brands_m = mp[several][order].tolist(), mb[several][order].tolist()
        for _, group in itertools.groupby(zip(posts_m, brands_m, strict=True), lambda x: x[0]):
            for x, y in itertools.combinations([g[1] for g in group], 2):
                pairs[f"{brands[x]} & {brands[y]}"] += 1
    overlap = Overlap(len(distinct), int(mp.size), multi, dict(pairs))

    kols = _kols(distinct, table, mp, mb, brands, authors, kol_top, frozenset(kol_tiers))
    shared = tuple(k for k in kols if len(k.brands) > 1)
    exclusive = {brand: tuple(k for k in kols if k.brands == (brand,)) for brand in brands}
    notes = []
    if not distinct:
        notes.append("no posts: every share is None")
    if multi:
        notes.append(f"{multi} of {len(distinct)} posts mention several brands and count once "
                     f"per brand: {mp.size} mentions in all")
    if repeated:
        notes.append(f"{repeated} repeated listings of a post under the same brand were ignored")
    if not authors:
        notes.append("no authors given: KOLs are ranked by what the posts alone show")
    return ShareOfVoice(brands, overall, platforms, daily, kols, shared, exclusive, overlap,
                        capping, tuple(notes), confidence)


def _kols(distinct: list[Post], table: CounterTable, mp: npt.NDArray[np.int64],
          mb: npt.NDArray[np.int64], brands: Sequence[str], authors: Mapping[AuthorKey, Author],
          top: int, tiers: frozenset[str]) -> tuple[Kol, ...]:
    pairs, acode = pair_codes([p.platform for p in distinct], [p.author_id for p in distinct])
    keys: list[AuthorKey] = list(pairs)
    anonymous = [c for c, k in enumerate(keys) if not k[1]]
    if anonymous:  # posts without an author_id belong to no account
        acode[np.isin(acode, anonymous)] = -1
    profiles = list(map(authors.get, keys))
    values = np.asarray([a.followers if a is not None and k[0] not in ("wechat", "zhihu")
                         else None for a, k in zip(profiles, keys, strict=True)],
                        dtype=np.float64)  # None → NaN
    picked = [c for c, a in enumerate(profiles) if a is not None and a.tier in tiers]
    # WeChat and Zhihu accounts are measured from their posts, streamed account by account
    measured_by_posts = np.isin(table.platform, [k for k, p in enumerate(table.platforms)
                                                 if p in ("wechat", "zhihu")])
    for c, own in _by_author(distinct, np.where(measured_by_posts, acode, -1)):
        value = own_measure(own[0].platform, profiles[c], own).value
        if value is not None:
            values[c] = value
    platform_of = np.asarray([k[0] for k in keys])
    for platform in dict.fromkeys(platform_of.tolist()):
        cand = np.nonzero((platform_of == platform) & (values > 0))[0]
        if cand.size > top:
            floor = np.partition(values[cand], cand.size - top)[cand.size - top]
            cand = cand[values[cand] >= floor]
        ranked = sorted(cand.tolist(), key=lambda c: (-values[c], keys[c][1]))
        picked += ranked[:top]
    chosen = sorted(set(picked))
    mention_author = acode[mp] if mp.size else np.zeros(0, dtype=np.int64)
    mine = np.isin(mention_author, chosen)
    brand_sets: dict[int, set[int]] = defaultdict(set)
    for c, b in zip(mention_author[mine].tolist(), mb[mine].tolist(), strict=True):
        brand_sets[c].add(b)
    posts_of = dict(_by_author(distinct, np.where(np.isin(acode, chosen), acode, -1)))
    out = []
    for c in chosen:
        key, author = keys[c], profiles[c]
        m = own_measure(key[0], author, posts_of.get(c, []))
        out.append(Kol(key[0], key[1], author.name if author else None, m.value, m.name,
                       author.tier if author else None,
                       tuple(brands[b] for b in sorted(brand_sets[c]))))
    return tuple(sorted(out, key=lambda k: (k.platform, -(k.measure or 0), k.author_id)))


def _by_author(distinct: list[Post], acode: npt.NDArray[np.int64]
               ) -> Iterator[tuple[int, list[Post]]]:
    """(author code, posts) for the posts with a code ≥ 0, one author at a time."""
    rows = np.nonzero(acode >= 0)[0]
    rows = rows[np.argsort(acode[rows], kind="stable")]
    code = acode.tolist()
    for c, group in itertools.groupby(rows.tolist(), key=code.__getitem__):
        yield c, [distinct[i] for i in group]
