"""Per-platform metric sheets, topic totals and influence indices with their formula inputs.
Pure; the indices are :mod:`scoring.influence`'s (BCI, WCI V14.2, the Zhihu index), not copies.

Each platform is judged by its own measure (:func:`platform_measure`, :data:`MEASURE_TIERS`):

========  =====================================  ==========  =========  ========
platform  measure                                head        waist      tail
========  =====================================  ==========  =========  ========
weibo     followers (粉丝)                        1,000,000   100,000    10,000
wechat    average reads per article (no public   100,000     10,000     1,000
          follower count; 清博/新榜 rank by it)
zhihu     upvotes (获得赞同): the profile's        1,000,000   100,000    10,000
          lifetime count, else the topic posts'
forum     followers                              100,000     10,000     1,000
========  =====================================  ==========  =========  ========

The cut-offs are :data:`scoring.influence.DEFAULT_TIERS`, the same the stored author tiers use
(the Zhihu upvote cut-offs are Tingfeng's own: Zhihu publishes none; its most upvoted answerers
hold millions). Pass ``tiers=`` to :func:`measured_tier` to change them.

Totals are the counters as the platforms report them (uncapped; the funnel caps outliers). As in
the funnel, comments are max(Σ comment_count, comments collected) and reposts max(Σ repost_count
of non-reposts, reposts collected). A media outlet is a distinct author that is verified or an
organisation (Weibo blue V, verified_type 1–7; Zhihu ``extra["is_org"]``).
"""

from __future__ import annotations

import dataclasses
import heapq
import itertools
import math
import operator
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, cast

from crawlers.items import Author, AuthorKey, Post
from scoring.influence import (
    DEFAULT_TIERS,
    Tier,
    bci,
    bci_inputs,
    parse_reads,
    tier,
    wci_inputs,
    wci_v14,
    zhihu_influence,
)
from scoring.measure.funnel import TOP_LEVEL, AsDict, wechat_likes

__all__ = [
    "MEASURE_TIERS",
    "ForumSheet",
    "InfluenceRow",
    "Measure",
    "MetricSheets",
    "TopicTotals",
    "WechatSheet",
    "WeiboSheet",
    "ZhihuSheet",
    "measured_tier",
    "metric_sheets",
    "own_measure",
    "platform_measure",
]

MEASURE_TIERS: dict[str, dict[str, Any]] = {p: dict(t) for p, t in DEFAULT_TIERS.items()}
_AUTHOR = operator.attrgetter("author_id")
_INDEX = {"weibo": "BCI", "wechat": "WCI"}
_ORG_TYPES = frozenset(str(n) for n in range(1, 8))  # Weibo blue V: government … media … group


@dataclass(frozen=True)
class Measure(AsDict):
    """The number an account is judged by on its platform, and where it was read."""

    platform: str
    name: str
    value: float | None
    source: str


def _n(value: Any) -> int:
    if type(value) is int:
        return value if value >= 0 else 0
    n = parse_reads(value) if value is not None and not isinstance(value, bool) else None
    return n if n is not None and n >= 0 else 0


def _own(author: Author, posts: Iterable[Post]) -> list[Post]:
    return [p for p in posts if p.platform == author.platform and p.author_id == author.author_id]


def platform_measure(author: Author, posts: Iterable[Post]) -> Measure:
    """The measure ``author`` is tiered by (see the module table); ``posts`` are its posts
    (others are ignored). ``value`` is None when the platform's measure is unknown.

    >>> platform_measure(Author("weibo", "u", followers=2_000), []).value
    2000
    >>> a = [Post("wechat", "1", author_id="gh", kind="article", read_count="10万+"),
    ...      Post("wechat", "2", author_id="gh", kind="article", read_count=99)]
    >>> platform_measure(Author("wechat", "gh"), a).value
    50050.0
    >>> z = Author("zhihu", "z", followers=10, extra={"voteup_count": 4_321})
    >>> platform_measure(z, []).name, platform_measure(z, []).value
    ('upvotes', 4321)
    """
    return own_measure(author.platform, author, _own(author, posts))


def own_measure(p: str, author: Author | None, own: list[Post]) -> Measure:
    """:func:`platform_measure` for posts already known to be the account's (no filtering) and
    an author that may be unknown (None: no followers, no lifetime upvotes).

    >>> m = own_measure("zhihu", None, [Post("zhihu", "answer:1", kind="answer", like_count=7)])
    >>> m.name, m.value
    ('upvotes', 7)
    """
    if p == "wechat":
        reads = [_n(x.read_count) for x in own if x.read_count is not None]
        return Measure(p, "reads", sum(reads) / len(reads) if reads else None,
                       "average read_count of the account's articles")
    if p == "zhihu":
        raw = author.extra.get("voteup_count") if author is not None else None
        lifetime = parse_reads(raw) if raw is not None and not isinstance(raw, bool) else None
        if lifetime is not None and lifetime >= 0:
            return Measure(p, "upvotes", lifetime, "author.extra[voteup_count]")
        ups = [_n(x.like_count) for x in own
               if x.kind in ("answer", "article") and x.like_count is not None]
        return Measure(p, "upvotes", sum(ups) if ups else None,
                       "Σ like_count of the author's answers and articles")
    return Measure(p, "followers", author.followers if author is not None else None,
                   "author.followers")


def measured_tier(
    author: Author, posts: Iterable[Post], *, tiers: Mapping[str, Mapping[str, Any]] | None = None
) -> tuple[Tier, Measure]:
    """The tier by the platform's own measure (:data:`MEASURE_TIERS`; unknown platforms use
    the forum cut-offs).

    >>> z = Author("zhihu", "z", followers=900_000, extra={"voteup_count": 20_000})
    >>> t, m = measured_tier(z, [])  # a waist account by followers, tail by upvotes
    >>> t, m.name, m.value
    (<Tier.TAIL: 'tail'>, 'upvotes', 20000)
    """
    table = MEASURE_TIERS if tiers is None else tiers
    cut = table.get(author.platform) or MEASURE_TIERS["forum"]
    m = platform_measure(author, posts)
    return tier(m.value, thresholds=cut), m


@dataclass(frozen=True)
class WeiboSheet(AsDict):
    """``original_repost_ratio`` = originals / reposts collected; ``readers`` = Σ read_count of
    the posts that show it; ``potential_readers`` = Σ followers of the distinct authors."""

    posts: int
    originals: int
    reposts: int
    comments_collected: int
    original_repost_ratio: float | None
    readers: int
    posts_with_reads: int
    potential_readers: int
    authors: int
    likes: int
    comments: int
    repost_count: int


@dataclass(frozen=True)
class WechatSheet(AsDict):
    """Reads ("10万+" = 100001), 在看 and 赞 as :func:`scoring.measure.funnel.wechat_likes` reads
    them, shares (分享), headline (头条, ``extra["idx"] == 1``) articles."""

    articles: int
    accounts: int
    reads: int
    articles_with_reads: int
    reads_per_article: float | None
    articles_100k: int
    wows: int
    articles_with_wows: int
    likes: int
    shares: int
    headlines: int


@dataclass(frozen=True)
class ZhihuSheet(AsDict):
    """Answers, articles, distinct questions; upvotes (赞同) and thanks of answers and articles;
    question followers where the question posts carry ``extra["follower_count"]``."""

    answers: int
    articles: int
    questions: int
    upvotes: int
    thanks: int
    comments: int
    question_followers: int | None
    questions_with_followers: int
    authors: int


@dataclass(frozen=True)
class ForumSheet(AsDict):
    """Threads, replies (max of the threads' 回复数 and the replies collected), views."""

    threads: int
    replies: int
    replies_collected: int
    views: int
    threads_with_views: int
    sites: dict[str, int]
    authors: int


@dataclass(frozen=True)
class TopicTotals(AsDict):
    """Totals over every platform: ``articles`` are top-level posts (originals, articles,
    answers, threads); ``media_outlets`` distinct verified or organisation authors."""

    posts: int
    articles: int
    authors: int
    media_outlets: int
    comments: int
    reads: int
    reposts: int
    likes: int
    platforms: dict[str, int]


@dataclass(frozen=True)
class InfluenceRow(AsDict):
    """One account's index (BCI, WCI or zhihu), the formula inputs, its measure and tier."""

    platform: str
    author_id: str
    name: str | None
    index: str
    value: float
    inputs: dict[str, Any]
    measure: Measure
    tier: str


@dataclass(frozen=True)
class MetricSheets(AsDict):
    """The sheets (None for a platform without posts), totals, top accounts and notes."""

    weibo: WeiboSheet | None
    wechat: WechatSheet | None
    zhihu: ZhihuSheet | None
    forum: ForumSheet | None
    totals: TopicTotals
    influence: dict[str, tuple[InfluenceRow, ...]]
    notes: tuple[str, ...] = ()


def _total(values: list[Any]) -> int:
    return sum([v if type(v) is int and v >= 0 else _n(v) for v in values])


def _comments_reposts(ps: list[Post], kinds: Counter[str]) -> tuple[int, int]:
    counted = _total([p.comment_count for p in ps])
    shared = _total([p.repost_count for p in ps if p.kind != "repost"])
    return max(counted, kinds["comment"] + kinds["reply"]), max(shared, kinds["repost"])


def _weibo(ps: list[Post], kinds: Counter[str], who: Iterable[str],
           authors: Mapping[AuthorKey, Author]) -> WeiboSheet:
    originals, reposts = kinds["original"], kinds["repost"]
    profiles = [a for w in who if (a := authors.get(("weibo", w))) is not None]
    comments, shared = _comments_reposts(ps, kinds)
    read = [p.read_count for p in ps if p.read_count is not None]
    return WeiboSheet(len(ps), originals, reposts, kinds["comment"],
                      originals / reposts if reposts else None, _total(read), len(read),
                      sum(a.followers or 0 for a in profiles), len(set(who)),
                      _total([p.like_count for p in ps]), comments, shared)


def _wechat(ps: list[Post]) -> WechatSheet:
    arts = [p for p in ps if p.kind != "comment"]
    reads = [_n(p.read_count) for p in arts if p.read_count is not None]
    likes_wows = [wechat_likes(p) for p in arts]
    wows = [w for _, w in likes_wows if w is not None and w >= 0]
    return WechatSheet(
        len(arts), len({p.author_id for p in arts if p.author_id}), sum(reads), len(reads),
        sum(reads) / len(reads) if reads else None, sum(r >= 100_001 for r in reads), sum(wows),
        len(wows), sum(max(lk or 0, 0) for lk, _ in likes_wows),
        _total([p.repost_count for p in arts]),
        sum(str(p.extra.get("idx", "")) == "1" for p in arts))


def _zhihu(ps: list[Post], kinds: Counter[str]) -> tuple[ZhihuSheet, list[str]]:
    questions: dict[str, int | None] = {}
    for p in ps:
        if p.kind == "thread" or p.post_id.startswith("question:"):
            raw = p.extra.get("follower_count", p.extra.get("followers"))
            questions[p.post_id] = _n(raw) if raw is not None else questions.get(p.post_id)
        elif p.kind == "answer":
            qid = p.extra.get("question_id")
            questions.setdefault(f"question:{qid}" if qid else (p.parent_post_id or p.post_id),
                                 None)
    content = [p for p in ps if p.kind in ("answer", "article")]
    known = [f for f in questions.values() if f is not None]
    notes = [] if known or not questions else [
        "zhihu: no question post carries extra['follower_count'] (the spider does not store "
        "question followers yet): question_followers is None"]
    sheet = ZhihuSheet(
        kinds["answer"], kinds["article"], len(questions), _total([p.like_count for p in content]),
        _total([p.extra.get("thanks_count") for p in content]), _comments_reposts(ps, kinds)[0],
        sum(known) if known else None, len(known),
        len({p.author_id for p in content if p.author_id}))
    return sheet, notes


def _forum(ps: list[Post], kinds: Counter[str], who: Iterable[str]) -> ForumSheet:
    threads = [p for p in ps if p.kind in TOP_LEVEL]
    replies = kinds["reply"] + kinds["comment"]
    views = [p.read_count for p in threads if p.read_count is not None]
    sites = Counter([str(p.extra.get("site", "unknown")) for p in threads])
    return ForumSheet(len(threads), max(_total([p.comment_count for p in threads]), replies),
                      replies, _total(views), len(views), dict(sites), len(set(who)))


def _outlet(a: Author) -> bool:
    return bool(a.verified) or a.verified_type in _ORG_TYPES or a.extra.get("is_org") is True


def _index(platform: str, own: list[Post], authors: Mapping[AuthorKey, Author],
           days: float) -> tuple[float, Any]:
    """(index value, formula inputs) of one account: BCI, WCI V14.2 or the Zhihu index."""
    if platform == "weibo":
        b = bci_inputs(own)
        return bci(b), b
    if platform == "wechat":
        w = wci_inputs([_wci_view(p) for p in own], days=days)
        return wci_v14(w), w
    author = authors.get((platform, own[0].author_id or ""))
    up = own_measure(platform, author, own).value
    fans = author.followers if author is not None else None
    return zhihu_influence(fans, int(up or 0)), {"followers": fans, "voteups": up}


def _influence(platform: str, ps: list[Post], authors: Mapping[AuthorKey, Author],
               days: float, top: int) -> tuple[InfluenceRow, ...]:
    # Streamed author by author and only the top rows kept: holding an object per account
    # (400k on 1M posts) makes every full garbage collection walk them (2× slower, measured).
    ordered = sorted((p for p in ps if p.author_id), key=_AUTHOR)
    scored = ((_index(platform, own, authors, days)[0], author_id, own)
              for author_id, group in itertools.groupby(ordered, key=_AUTHOR)
              if (own := list(group)))
    rows = []
    # nlargest is stable: equal values keep groupby's ascending author_id order
    for value, author_id, own in heapq.nlargest(top, scored, key=lambda r: r[0]):
        author = authors.get((platform, author_id)) or Author(platform, author_id)
        t, m = measured_tier(author, own)
        x = _index(platform, own, authors, days)[1]
        inputs = x if isinstance(x, dict) else dataclasses.asdict(x)
        rows.append(InfluenceRow(platform, author_id, author.name, _INDEX.get(platform, "zhihu"),
                                 value, inputs, m, t.value))
    return tuple(rows)


class _WciView:
    """The four fields :func:`scoring.influence.wci_inputs` reads, with 在看 moved into
    ``extra["wow_count"]``: a view of the article instead of a copied Post (a copy re-runs the
    Post's text cleaning, ~40 µs an article)."""

    __slots__ = ("extra", "like_count", "read_count", "repost_count")

    def __init__(self, p: Post) -> None:
        likes, wows = wechat_likes(p)
        self.read_count, self.repost_count, self.like_count = p.read_count, p.repost_count, likes
        self.extra = {"idx": p.extra.get("idx"), "wow_count": wows}


def _wci_view(p: Post) -> Post:
    if "wow_count" in p.extra or "old_like_num" not in p.extra:
        return p
    return cast(Post, _WciView(p))


def metric_sheets(
    posts: Iterable[Post],
    authors: Mapping[AuthorKey, Author] | None = None,
    *,
    days: float | None = None,
    top: int = 20,
) -> MetricSheets:
    """Per-platform sheets, topic totals and the ``top`` accounts per platform by index.

    Parameters
    ----------
    posts : iterable of Post
    authors : ``{(platform, author_id): Author}`` (followers, verification, profiles)
    days : the window length for WCI's daily averages; default: the span of the WeChat posts'
        dates (at least one day)
    top : accounts kept per platform in ``influence``

    Examples
    --------
    >>> ps = [Post("weibo", "1", kind="original", author_id="a", repost_count=4, like_count=2),
    ...       Post("weibo", "2", kind="repost", author_id="b"),
    ...       Post("weibo", "3", kind="repost", author_id="c")]
    >>> s = metric_sheets(ps, {("weibo", "a"): Author("weibo", "a", followers=10,
    ...                                                verified_type="3")})
    >>> s.weibo.original_repost_ratio, s.weibo.repost_count, s.totals.media_outlets
    (0.5, 4, 1)
    >>> s.influence["weibo"][0].author_id, round(s.influence["weibo"][0].value, 2)
    ('a', 128.95)
    """
    authors = authors or {}
    by_platform: dict[str, list[Post]] = defaultdict(list)
    for p in posts:
        by_platform[p.platform].append(p)
    kinds = {platform: Counter([p.kind for p in ps]) for platform, ps in by_platform.items()}
    who = {platform: {p.author_id for p in ps if p.author_id}
           for platform, ps in by_platform.items()}
    notes: list[str] = []
    if not by_platform:
        notes.append("no posts: every sheet is empty")
    if not authors:
        notes.append("no authors given: followers, media outlets and tiers are unknown")
    zhihu = None
    if by_platform.get("zhihu"):
        zhihu, more = _zhihu(by_platform["zhihu"], kinds["zhihu"])
        notes += more
    wechat = by_platform.get("wechat", [])
    if days is None:
        stamps = [p.created_at.timestamp() for p in wechat if p.created_at is not None]
        days = max(1.0, math.ceil((max(stamps) - min(stamps)) / 86400)) if stamps else 1.0
    influence = {p: _influence(p, by_platform[p], authors, days, top)
                 for p in ("weibo", "wechat", "zhihu") if who.get(p)}
    if who.get("forum"):
        notes.append("forum: no published influence index; forum accounts are tiered by "
                     "followers only")
    wechat_sheet = _wechat(wechat) if wechat else None
    comments = reposts = reads = likes = articles = outlets = 0
    for platform, ps in by_platform.items():
        c, r = _comments_reposts(ps, kinds[platform])
        comments, reposts = comments + c, reposts + r
        reads += _total([p.read_count for p in ps])
        likes += (wechat_sheet.likes if wechat_sheet is not None and platform == "wechat"
                  else _total([p.like_count for p in ps]))
        articles += sum(kinds[platform][k] for k in TOP_LEVEL)
        outlets += sum(1 for w in who[platform]
                       if (a := authors.get((platform, w))) is not None and _outlet(a))
    totals = TopicTotals(
        sum(len(ps) for ps in by_platform.values()), articles,
        sum(len(w) for w in who.values()), outlets, comments, reads, reposts, likes,
        {p: len(ps) for p, ps in by_platform.items()})
    weibo, forum = by_platform.get("weibo"), by_platform.get("forum")
    return MetricSheets(
        _weibo(weibo, kinds["weibo"], who["weibo"], authors) if weibo else None,
        wechat_sheet, zhihu,
        _forum(forum, kinds["forum"], who["forum"]) if forum else None,
        totals, influence, tuple(notes))
