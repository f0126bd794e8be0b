"""Account influence: tiers per platform and 清博 (gsdata) indices BCI, WCI, plus a Zhihu index.

Pure functions over ``crawlers.items`` records; no settings, no store, no I/O.

Default tier cut-offs (override with the INFLUENCE_TIERS setting, one dict per platform):

========  ==========================  ==========  =========  ========  ===================
platform  measure                     head        waist      tail      大V (verified and)
========  ==========================  ==========  =========  ========  ===================
weibo     followers                   1,000,000   100,000    10,000    ≥ 500,000 followers
wechat    average reads per article   100,000     10,000     1,000     ≥ 50,000 reads
zhihu     upvotes (赞同, all answers)     1,000,000   100,000    10,000    ≥ 100,000 upvotes
forum     followers                   100,000     10,000     1,000     ≥ 50,000 followers
========  ==========================  ==========  =========  ========  ===================

WeChat has no public follower count, so its tier reads the account's average reads per article
(the measure 清博 and 新榜 rank by). "10万+" reads are recorded as 100001 (:func:`parse_reads`).
Zhihu is graded by the upvotes an account's answers earned (the profile's ``voteup_count``, else
the upvotes of its collected answers), as the product documents grade it: followers there are
partly inherited from 知乎's early recommendations and say little about what an answerer carries.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from crawlers.items import Author, Post

__all__ = [
    "DEFAULT_TIERS",
    "BciInputs",
    "Tier",
    "WciInputs",
    "author_tier",
    "bci",
    "bci_inputs",
    "is_big_v",
    "parse_reads",
    "tier_measure",
    "tier",
    "wci_inputs",
    "wci_v2",
    "wci_v14",
    "zhihu_influence",
]


class Tier(StrEnum):
    """Account tier: 头部 head, 腰部 waist, 尾部 tail, and everyone else (amateur)."""

    HEAD = "head"
    WAIST = "waist"
    TAIL = "tail"
    AMATEUR = "amateur"


DEFAULT_TIERS: dict[str, dict[str, Any]] = {
    "weibo": {"measure": "followers", "head": 1_000_000, "waist": 100_000, "tail": 10_000,
              "big_v": 500_000},
    "wechat": {"measure": "reads", "head": 100_000, "waist": 10_000, "tail": 1_000,
               "big_v": 50_000},
    "zhihu": {"measure": "upvotes", "head": 1_000_000, "waist": 100_000, "tail": 10_000,
              "big_v": 100_000},
    "forum": {"measure": "followers", "head": 100_000, "waist": 10_000, "tail": 1_000,
              "big_v": 50_000},
}

# The tiers with a lower bound, highest first, with their keys in a cut-off table (read once:
# a dashboard tiers 57,000 accounts per request, and an enum's .value costs a descriptor call).
_RANKED = tuple((t.value, t) for t in (Tier.HEAD, Tier.WAIST, Tier.TAIL))
_ORIGINAL_KINDS = frozenset({"original", "thread", "article", "answer"})
_WAN = re.compile(r"^\s*([\d.]+)\s*(万|w|W)\s*(\+)?\s*$")


def tier(value: float | None, *, thresholds: Mapping[str, float] | None = None) -> Tier:
    """The tier of an account whose measure (followers, reads…) is ``value``.

    Parameters
    ----------
    value : float or None
        The platform's measure; None counts as 0.
    thresholds : mapping, optional
        ``{"head": h, "waist": w, "tail": t}`` lower bounds (inclusive); Weibo's by default.

    Returns
    -------
    Tier

    Examples
    --------
    >>> tier(1_200_000), tier(100_000), tier(9_999)
    (<Tier.HEAD: 'head'>, <Tier.WAIST: 'waist'>, <Tier.AMATEUR: 'amateur'>)
    >>> tier(600, thresholds={"head": 1000, "waist": 500, "tail": 100}).value
    'waist'
    """
    cut = thresholds if thresholds is not None else DEFAULT_TIERS["weibo"]
    v = value or 0
    for key, name in _RANKED:
        if v >= cut[key]:
            return name
    return Tier.AMATEUR


def is_big_v(followers: float | None, verified: bool | None, *, threshold: float = 500_000) -> bool:
    """大V: a verified account with at least ``threshold`` followers.

    >>> is_big_v(600_000, True), is_big_v(600_000, False), is_big_v(499_999, True)
    (True, False, False)
    """
    return bool(verified) and (followers or 0) >= threshold


def author_tier(
    author: Author,
    *,
    tiers: Mapping[str, Mapping[str, Any]] | None = None,
    reads: float | None = None,
    upvotes: float | None = None,
) -> tuple[Tier, bool]:
    """Tier and 大V flag of ``author`` with its platform's cut-offs.

    ``reads`` is the average reads per article, used where the platform's measure is reads
    (WeChat); ``upvotes`` the upvotes earned, where it is upvotes (Zhihu; default: the
    profile's ``extra["voteup_count"]``); elsewhere followers are used. Unknown platforms use
    the forum cut-offs. An unknown measure counts as 0.

    >>> author_tier(Author("weibo", "1", followers=800_000, verified=True))
    (<Tier.WAIST: 'waist'>, True)
    >>> author_tier(Author("wechat", "gh_1"), reads=12_000)
    (<Tier.WAIST: 'waist'>, False)
    >>> author_tier(Author("zhihu", "z", followers=900_000, extra={"voteup_count": 20_000}))
    (<Tier.TAIL: 'tail'>, False)
    """
    measure, cut = tier_measure(author.platform, followers=author.followers,
                                    extra=author.extra, tiers=tiers, reads=reads,
                                    upvotes=upvotes)
    big_v = is_big_v(measure, author.verified, threshold=cut.get("big_v", math.inf))
    return tier(measure, thresholds=cut), big_v


def tier_measure(
    platform: str,
    *,
    followers: int | None,
    extra: Mapping[str, Any] | None = None,
    tiers: Mapping[str, Mapping[str, Any]] | None = None,
    reads: float | None = None,
    upvotes: float | None = None,
) -> tuple[float | None, Mapping[str, Any]]:
    """(the value an account of ``platform`` is tiered by, the platform's cut-offs), as
    :func:`author_tier` reads them, from a profile's fields (no record needed).

    >>> tier_measure("zhihu", followers=9, extra={"voteup_count": 12})[0]
    12
    """
    table = tiers if tiers is not None else DEFAULT_TIERS
    cut = table.get(platform) or table.get("forum") or DEFAULT_TIERS["forum"]
    kind = cut.get("measure")
    if kind == "reads":
        return reads, cut
    if kind == "upvotes":
        return (upvotes if upvotes is not None
                else _count((extra or {}).get("voteup_count"))), cut
    return followers, cut


def _count(value: Any) -> int | None:
    return value if type(value) is int and value >= 0 else None


def parse_reads(value: Any) -> int | None:
    """A read count as platforms show it: ``"10万+"`` (or ``"100000+"``) → 100001 (清博's
    convention), ``"1.2万"`` → 12000, ``"3,456"`` → 3456.

    >>> parse_reads("10万+"), parse_reads("1.2万"), parse_reads("356"), parse_reads(None)
    (100001, 12000, 356, None)
    """
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    text = str(value).replace(",", "")
    m = _WAN.match(text)
    if m:
        n = round(float(m.group(1)) * 10_000)
        return n + 1 if m.group(3) else n
    text = text.strip()
    plus = text.endswith("+")  # "100000+" is the "10万+" display in digits: also n + 1
    text = text.rstrip("+").strip()
    if not text.replace(".", "", 1).isdigit():
        return None
    return int(float(text)) + plus


def _ln1(x: float) -> float:
    return math.log(max(x, 0.0) + 1.0)


# --- BCI (Weibo) ------------------------------------------------------------------------------
@dataclass(frozen=True)
class BciInputs:
    """Totals over the evaluation window for one Weibo account."""

    posts: int = 0
    originals: int = 0
    reposts: int = 0
    comments: int = 0
    original_reposts: int = 0
    original_comments: int = 0
    likes: int = 0


def bci(x: BciInputs) -> float:
    """清博 BCI (微博传播指数) = (0.2·W1 + 0.8·W2) × 160.

    W1 (activity) = 0.3 ln(posts+1) + 0.7 ln(originals+1); W2 (spread) = 0.2 ln(reposts+1)
    + 0.2 ln(comments+1) + 0.25 ln(reposts of originals+1) + 0.25 ln(comments on originals+1)
    + 0.1 ln(likes+1).

    Examples
    --------
    >>> bci(BciInputs())
    0.0
    >>> round(bci(BciInputs(posts=10, originals=10)), 2)  # only W1: 0.2·ln(11)·160
    76.73
    """
    w1 = 0.3 * _ln1(x.posts) + 0.7 * _ln1(x.originals)
    w2 = (0.2 * _ln1(x.reposts) + 0.2 * _ln1(x.comments) + 0.25 * _ln1(x.original_reposts)
          + 0.25 * _ln1(x.original_comments) + 0.1 * _ln1(x.likes))
    return (0.2 * w1 + 0.8 * w2) * 160


def bci_inputs(posts: Iterable[Post]) -> BciInputs:
    """Aggregate one account's posts in a window: originals (and forum threads, articles,
    answers, read as originals) and reposts count as 发博; comments and replies are not
    microblogs and are skipped. Missing counts are 0.

    >>> ps = [Post("weibo", "1", kind="original", repost_count=3, comment_count=1, like_count=5),
    ...       Post("weibo", "2", kind="repost", repost_count=1)]
    >>> x = bci_inputs(ps)
    >>> x.posts, x.originals, x.reposts, x.comments, x.original_reposts, x.likes
    (2, 1, 4, 1, 3, 5)
    """
    tot = dict.fromkeys(("posts", "originals", "reposts", "comments", "original_reposts",
                         "original_comments", "likes"), 0)
    for p in posts:
        if p.kind != "repost" and p.kind not in _ORIGINAL_KINDS:
            continue
        r, c = p.repost_count or 0, p.comment_count or 0
        tot["posts"] += 1
        tot["reposts"] += r
        tot["comments"] += c
        tot["likes"] += p.like_count or 0
        if p.kind in _ORIGINAL_KINDS:
            tot["originals"] += 1
            tot["original_reposts"] += r
            tot["original_comments"] += c
    return BciInputs(**tot)


# --- WCI (WeChat) -----------------------------------------------------------------------------
@dataclass(frozen=True)
class WciInputs:
    """One WeChat account over ``days`` days: totals over its ``n`` articles (R reads, Z 在看,
    L likes, RE shares), the same totals over headline (头条) articles, and the maxima."""

    days: float
    n: int
    reads: float = 0
    wows: float = 0
    likes: float = 0
    shares: float = 0
    head_reads: float = 0
    head_wows: float = 0
    head_likes: float = 0
    head_shares: float = 0
    max_reads: float = 0
    max_wows: float = 0
    max_likes: float = 0
    max_shares: float = 0


def _wci_block(r: float, z: float, lk: float, re_: float) -> float:
    return 0.70 * _ln1(r) + 0.09 * _ln1(10 * z) + 0.06 * _ln1(10 * lk) + 0.15 * _ln1(10 * re_)


def wci_v14(x: WciInputs) -> float:
    """清博 WCI V14.2 = {0.6·O + 0.2·A + 0.1·H + 0.1·P}² × 1.2 × 10.

    Each block is ``0.70 ln(R+1) + 0.09 ln(10Z+1) + 0.06 ln(10L+1) + 0.15 ln(10RE+1)`` over:
    O overall daily averages (R/d…), A per-article averages (R/n…), H headline daily averages
    (Rt/d…), P peaks (Rmax…). An account with no article in the window scores 0.

    Examples
    --------
    >>> wci_v14(WciInputs(days=7, n=0))
    0.0
    >>> # every block is 0.70·ln(101), the weights sum to 1: (0.7·ln 101)² × 12
    >>> round(wci_v14(WciInputs(days=1, n=1, reads=100, head_reads=100, max_reads=100)), 2)
    125.24
    """
    if x.n <= 0 or x.days <= 0:
        return 0.0
    d, n = x.days, x.n
    o = _wci_block(x.reads / d, x.wows / d, x.likes / d, x.shares / d)
    a = _wci_block(x.reads / n, x.wows / n, x.likes / n, x.shares / n)
    h = _wci_block(x.head_reads / d, x.head_wows / d, x.head_likes / d, x.head_shares / d)
    p = _wci_block(x.max_reads, x.max_wows, x.max_likes, x.max_shares)
    return (0.6 * o + 0.2 * a + 0.1 * h + 0.1 * p) ** 2 * 1.2 * 10


def wci_v2(*, reads: float, n: int, max_reads: float, likes: float, max_likes: float) -> float:
    """清博 WCI V2.0 = (0.8·read index + 0.2·like index)² × 10.

    Read index = 0.40 ln(R+1) + 0.45 ln(R/n+1) + 0.15 ln(Rmax+1); like index = the same
    weights over Z, Z/n, Zmax (Z = likes, 点赞 at the time).

    Examples
    --------
    The published worked example:

    >>> round(wci_v2(reads=10000, n=100, max_reads=300, likes=4000, max_likes=60), 4)
    411.4875
    """
    if n <= 0:
        return 0.0
    read = 0.40 * _ln1(reads) + 0.45 * _ln1(reads / n) + 0.15 * _ln1(max_reads)
    like = 0.40 * _ln1(likes) + 0.45 * _ln1(likes / n) + 0.15 * _ln1(max_likes)
    return (0.8 * read + 0.2 * like) ** 2 * 10


def wci_inputs(articles: Iterable[Post], *, days: float) -> WciInputs:
    """Aggregate one account's articles in a ``days``-long window.

    Reads come from ``read_count`` (run through :func:`parse_reads`, so "10万+" is 100001),
    likes from ``like_count``, shares from ``repost_count``; 在看 from ``extra["wow_count"]`` and
    the headline flag from ``extra["idx"] == 1`` (the article's position in its push).

    >>> a = [Post("wechat", "1", kind="article", read_count=500, like_count=5, extra={"idx": 1}),
    ...      Post("wechat", "2", kind="article", read_count=100, extra={"wow_count": 2})]
    >>> x = wci_inputs(a, days=7)
    >>> x.n, x.reads, x.head_reads, x.max_reads, x.wows
    (2, 600, 500, 500, 2)
    """
    tot: dict[str, float] = {}
    n = 0
    for p in articles:
        n += 1
        vals = {
            "reads": parse_reads(p.read_count) or 0,
            "wows": parse_reads(p.extra.get("wow_count")) or 0,
            "likes": p.like_count or 0,
            "shares": p.repost_count or 0,
        }
        head = str(p.extra.get("idx", "")) == "1"
        for k, v in vals.items():
            tot[k] = tot.get(k, 0) + v
            tot[f"max_{k}"] = max(tot.get(f"max_{k}", 0), v)
            if head:
                tot[f"head_{k}"] = tot.get(f"head_{k}", 0) + v
    return WciInputs(days=days, n=n, **tot)


# --- Zhihu ------------------------------------------------------------------------------------
def zhihu_influence(followers: int | None, voteups: int | None) -> float:
    """Tingfeng's Zhihu index (Zhihu publishes none):
    ``(0.4 ln(followers+1) + 0.6 ln(voteups+1)) × 100``.

    Same log-and-weight shape as BCI; voteups (赞同, summed over the author's answers) weigh
    more than followers because they measure what the author's writing earned, followers are
    partly bought or inherited.

    >>> round(zhihu_influence(0, 0), 1), round(zhihu_influence(10_000, 100_000), 1)
    (0.0, 1059.2)
    """
    return (0.4 * _ln1(followers or 0) + 0.6 * _ln1(voteups or 0)) * 100
