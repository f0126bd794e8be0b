"""Assemble the KOL report of a topic from the store, the repost graph and scoring.

Returns plain dataclasses (``KolReport``) that every renderer reads; no matplotlib here except
through the injected ``draw`` (cascade pictures are drawn only when asked for).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, NamedTuple

from scheduler.reports.graphfacts import GraphFacts, graph_facts
from scoring.netsentiment import net_score, net_sentiment
from scoring.netsentiment import post_label as sentiment_label  # the public name kept here

if TYPE_CHECKING:
    from crawlers.items import Author, AuthorKey, Post
    from crawlers.storage import Store

__all__ = [
    "CascadeRow", "KolReport", "KolRow", "SentimentBucket", "bucket_start", "choose_bucket",
    "default_tier_of", "kol_report", "sentiment_label", "timelines",
]

CHINA = timezone(timedelta(hours=8))


class SentimentBucket(NamedTuple):
    """Counts of one time bucket; ``net`` is (pos − neg) / (pos + neg), None without polar posts."""

    start: datetime
    positive: int
    neutral: int
    negative: int

    @property
    def net(self) -> float | None:
        return net_score(self.positive, self.negative)


@dataclass
class KolRow:
    """One account in the report. ``key_rank`` is 1 for the most central account in the graph."""

    platform: str
    author_id: str
    name: str
    tier: str
    followers: int | None
    posts: int
    engagement: int
    reach: int
    key_rank: int | None
    net_sentiment: float | None
    first_seen: datetime | None
    url: str | None = None


@dataclass
class CascadeRow:
    """One cascade (a root post and everything downstream of it) with its shape."""

    platform: str
    root_post_id: str
    author: str
    text: str
    url: str | None
    created_at: datetime | None
    size: int
    depth: int
    max_breadth: int
    structural_virality: float | None
    picture: bytes | None = None


@dataclass
class KolReport:
    topic: str
    since: datetime | None
    until: datetime
    generated_at: datetime
    platforms_filter: list[str]
    tiers_filter: list[str]
    post_count: int
    author_count: int
    bucket: str
    accounts: list[KolRow]
    volume: list[tuple[datetime, int]]
    sentiment: list[SentimentBucket]
    tiers: dict[str, int]
    platforms: dict[str, int]
    cascades: list[CascadeRow]
    net_sentiment: float | None
    notes: list[str] = field(default_factory=list)
    title: str = "KOL 报告"  # "话题报告" for `report topic`


def default_tier_of(author: Author) -> str | None:
    """Tier from followers with scoring.influence's per-platform cut-offs, for accounts scoring
    has not tiered yet; None when followers are unknown or the platform measures reads."""
    if author.followers is None or author.platform == "wechat":
        return None
    try:
        from scoring.influence import author_tier
    except ImportError:
        return None
    return str(author_tier(author)[0].value)


def choose_bucket(since: datetime | None, until: datetime, first: datetime | None) -> str:
    """'hour' for spans up to two days, 'day' up to 90 days, else 'week'."""
    start = since or first or until
    span = until - start
    return "hour" if span <= timedelta(days=2) else "day" if span <= timedelta(days=90) else "week"


def bucket_start(moment: datetime, bucket: str) -> datetime:
    """Start of the bucket holding ``moment``, aligned on Beijing days (returned in UTC)."""
    local = moment.astimezone(CHINA)
    if bucket == "hour":
        local = local.replace(minute=0, second=0, microsecond=0)
    else:
        local = local.replace(hour=0, minute=0, second=0, microsecond=0)
        if bucket == "week":
            local -= timedelta(days=local.weekday())
    return local.astimezone(UTC)


def _engagement(post: Post) -> int:
    return (post.repost_count or 0) + (post.comment_count or 0) + (post.like_count or 0)


def timelines(posts: Sequence[Post], bucket: str, band: tuple[float, float] = (0.4, 0.6)
              ) -> tuple[list[tuple[datetime, int]], list[SentimentBucket]]:
    """Volume ``[(start, count)]`` and sentiment buckets of ``posts`` ('hour'/'day'/'week')."""
    counts: dict[datetime, Counter[str]] = defaultdict(Counter)
    for p in posts:
        if p.created_at is not None:
            counts[bucket_start(p.created_at, bucket)][sentiment_label(p, band) or "unscored"] += 1
    order = sorted(counts)
    volume = [(t, sum(counts[t].values())) for t in order]
    sentiment = [SentimentBucket(t, counts[t]["positive"], counts[t]["neutral"],
                                 counts[t]["negative"]) for t in order]
    return volume, sentiment


def kol_report(
    store: Store, *, topic: str, since: datetime | None, until: datetime | None = None,
    platform: str | Sequence[str] | None = None, tier: str | Sequence[str] | None = None,
    now: datetime, k: int = 50, post_filter: Callable[[list[Post]], list[Post]] | None = None,
    top_cascades: int = 5, pictures: bool = False,
    draw: Callable[..., bytes] | None = None,
    facts: Callable[[Sequence[Post], Mapping[AuthorKey, Author]], GraphFacts] = graph_facts,
    tier_of: Callable[[Author], str | None] | None = None,  # default: default_tier_of
    band: tuple[float, float] = (0.4, 0.6),
) -> KolReport:
    """Who carries ``topic`` between ``since`` and ``until`` (default ``now``), top ``k`` accounts.

    ``platform`` / ``tier`` (one or several) filter posts by platform and accounts by tier;
    ``post_filter`` selects the posts to report on (a monitor's ``Query.select``). Accounts are
    ordered by
    key-node rank, then reach and engagement. With ``pictures`` each top cascade gets a PNG
    from ``draw(G)`` (default: scheduler.charts.cascade.draw_cascade).
    """
    until = until or now
    tier_of = tier_of or default_tier_of
    platforms = [platform] if isinstance(platform, str) else list(platform or [])
    tiers = [tier] if isinstance(tier, str) else list(tier or [])
    one = platforms[0] if len(platforms) == 1 else None
    posts = [p for p in store.posts(topic=topic, since=since, until=until, platform=one)
             if not platforms or p.platform in platforms]
    if post_filter is not None:
        posts = post_filter(posts)
    keys = {(p.platform, p.author_id) for p in posts if p.author_id}
    authors = store.authors(keys) if keys else {}
    notes: list[str] = []
    gf = facts(posts, authors)
    notes += gf.notes

    by_author: dict[AuthorKey, list[Post]] = defaultdict(list)
    for p in posts:
        if p.author_id:
            by_author[(p.platform, p.author_id)].append(p)
    rows: list[KolRow] = []
    for key, own in by_author.items():
        author = authors.get(key)
        level = (author.tier if author and author.tier else None) or (
            tier_of(author) if author else None) or "unknown"
        times = [p.created_at for p in own if p.created_at]
        rows.append(KolRow(
            platform=key[0], author_id=key[1],
            name=(author.name if author and author.name else None) or own[0].author_name or key[1],
            tier=str(level), followers=author.followers if author else None, posts=len(own),
            engagement=sum(_engagement(p) for p in own), reach=gf.reach.get(key, 0),
            key_rank=gf.rank.get(key), net_sentiment=net_sentiment(own, neutral_band=band).net,
            first_seen=min(times) if times else None, url=author.url if author else None,
        ))
    tier_counts = Counter(r.tier for r in rows)
    if tiers:
        rows = [r for r in rows if r.tier in tiers]
    rows.sort(key=lambda r: (r.key_rank is None, r.key_rank or 0, -r.reach, -r.engagement,
                             r.platform, r.author_id))

    first = min((p.created_at for p in posts if p.created_at), default=None)
    bucket = choose_bucket(since, until, first)
    volume, sentiment = timelines(posts, bucket, band)
    cascades = []
    for shape in gf.cascades[:top_cascades]:
        root = shape.root
        picture = None
        if pictures and shape.graph is not None:
            picture = _picture(shape.graph, draw, notes)
        cascades.append(CascadeRow(
            platform=root.platform, root_post_id=root.post_id,
            author=root.author_name or root.author_id or "?", text=root.title or root.text,
            url=root.url, created_at=root.created_at, size=shape.size, depth=shape.depth,
            max_breadth=shape.max_breadth, structural_virality=shape.structural_virality,
            picture=picture))
    return KolReport(
        topic=topic, since=since, until=until, generated_at=now, platforms_filter=platforms,
        tiers_filter=tiers, post_count=len(posts), author_count=len(by_author), bucket=bucket,
        accounts=rows[:k], volume=volume, sentiment=sentiment, tiers=dict(tier_counts),
        platforms=dict(Counter(p.platform for p in posts)), cascades=cascades,
        net_sentiment=net_sentiment(posts, neutral_band=band).net, notes=notes,
    )


def _picture(graph: Any, draw: Callable[..., bytes] | None, notes: list[str]) -> bytes | None:
    if draw is None:
        try:
            from scheduler.charts.cascade import draw_cascade
        except ImportError:
            if "no cascade pictures" not in " ".join(notes):
                notes.append("no cascade pictures: scheduler.charts.cascade is not installed")
            return None
        draw = draw_cascade
    return draw(graph)
