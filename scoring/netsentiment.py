"""Net sentiment (pos − neg) / (pos + neg) and label shares, per topic, platform, author and
time bucket. Pure functions over scored ``crawlers.items.Post`` records.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from crawlers.items import Post

__all__ = ["NetSentiment", "net_score", "net_sentiment", "net_sentiment_by", "post_label"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def net_score(positive: float, negative: float) -> float | None:
    """Net sentiment (positive − negative) / (positive + negative), in [-1, 1].

    Parameters
    ----------
    positive, negative : int or float
        Counts (or weights) of positive and negative posts.

    Returns
    -------
    float or None
        None when there is no polar post (neutral posts do not move the score).

    Examples
    --------
    >>> net_score(3, 1), net_score(0, 2), net_score(0, 0)
    (0.5, -1.0, None)
    """
    polar = positive + negative
    return (positive - negative) / polar if polar else None


@dataclass(frozen=True)
class NetSentiment:
    """Label counts of a group of scored posts, the net score and the share form.

    ``net`` = (positive − negative) / (positive + negative), in [-1, 1], None without any
    polar post; ``*_share`` = count / scored (the share form), None when nothing is scored.
    Unscored posts are counted in ``unscored`` only.
    """

    positive: int = 0
    neutral: int = 0
    negative: int = 0
    unscored: int = 0

    @property
    def scored(self) -> int:
        return self.positive + self.neutral + self.negative

    @property
    def net(self) -> float | None:
        return net_score(self.positive, self.negative)

    def share(self, label: str) -> float | None:
        """Share of ``label`` ("positive", "neutral", "negative") among scored posts."""
        return getattr(self, label) / self.scored if self.scored else None

    @property
    def positive_share(self) -> float | None:
        return self.share("positive")

    @property
    def negative_share(self) -> float | None:
        return self.share("negative")

    @property
    def neutral_share(self) -> float | None:
        return self.share("neutral")


def post_label(post: Post, neutral_band: tuple[float, float] = (0.4, 0.6)) -> str | None:
    """A post's stored label, or one derived from its score with ``neutral_band``; None if unscored.

    >>> post_label(Post("weibo", "1", sentiment=0.9)), post_label(Post("weibo", "2"))
    ('positive', None)
    """
    if post.sentiment_label:
        return post.sentiment_label
    if post.sentiment is None:
        return None
    low, high = neutral_band
    if post.sentiment < low:
        return "negative"
    return "positive" if post.sentiment > high else "neutral"


def net_sentiment(
    posts: Iterable[Post], *, neutral_band: tuple[float, float] = (0.4, 0.6)
) -> NetSentiment:
    """Count labels and compute the net sentiment of ``posts``.

    Parameters
    ----------
    posts : iterable of Post
        Scored posts (``sentiment_label`` or ``sentiment`` set); others count as unscored.
    neutral_band : (low, high)
        Used only for posts that have a score but no stored label.

    Returns
    -------
    NetSentiment

    Examples
    --------
    >>> ps = [Post("weibo", str(i), sentiment_label=lb)
    ...       for i, lb in enumerate(["positive", "positive", "negative", "neutral"])]
    >>> ns = net_sentiment(ps)
    >>> ns.net, ns.positive_share, ns.negative_share
    (0.3333333333333333, 0.5, 0.25)
    """
    counts = {"positive": 0, "neutral": 0, "negative": 0, "unscored": 0}
    for p in posts:
        label = post_label(p, neutral_band)
        counts[label if label in counts else "unscored"] += 1
    return NetSentiment(**counts)


def _bucket(created_at: datetime, size: timedelta) -> datetime:
    step = int(size.total_seconds())
    secs = int((created_at - _EPOCH).total_seconds())
    return _EPOCH + timedelta(seconds=secs - secs % step)


def net_sentiment_by(
    posts: Iterable[Post],
    by: str | Callable[[Post], Iterable[Hashable]] = "topic",
    *,
    bucket: timedelta = timedelta(hours=1),
    neutral_band: tuple[float, float] = (0.4, 0.6),
) -> dict[Hashable, NetSentiment]:
    """:func:`net_sentiment` per group.

    Parameters
    ----------
    posts : iterable of Post
    by : {"topic", "platform", "author", "bucket"} or callable
        Grouping: each topic of a post (a post in two topics counts in both), the platform, the
        author as ``(platform, author_id)``, or the start of the post's time bucket (aware UTC,
        buckets aligned on the Unix epoch; posts without ``created_at`` are left out). A callable
        returns the groups of a post.
    bucket : timedelta
        Bucket size for ``by="bucket"``.

    Returns
    -------
    dict
        Group → NetSentiment, in first-seen order.

    Examples
    --------
    >>> t = datetime(2026, 5, 1, 8, 20, tzinfo=UTC)
    >>> ps = [Post("weibo", "1", created_at=t, sentiment_label="negative"),
    ...       Post("weibo", "2", created_at=t + timedelta(minutes=50), sentiment_label="positive")]
    >>> hourly = net_sentiment_by(ps, "bucket", bucket=timedelta(hours=1))
    >>> {k.hour: v.net for k, v in hourly.items()}
    {8: -1.0, 9: 1.0}
    """
    if callable(by):
        key = by
    elif by == "topic":
        def key(p: Post) -> Iterable[Hashable]:
            return p.topics
    elif by == "platform":
        def key(p: Post) -> Iterable[Hashable]:
            return [p.platform]
    elif by == "author":
        def key(p: Post) -> Iterable[Hashable]:
            return [(p.platform, p.author_id)] if p.author_id else []
    elif by == "bucket":
        if bucket.total_seconds() < 1:
            raise ValueError("bucket must be at least one second")

        def key(p: Post) -> Iterable[Hashable]:
            return [_bucket(p.created_at, bucket)] if p.created_at else []
    else:
        raise ValueError(
            f"unknown grouping {by!r}: use topic, platform, author, bucket or a callable"
        )
    groups: dict[Hashable, list[Post]] = {}
    for p in posts:
        for k in key(p):
            groups.setdefault(k, []).append(p)
    return {k: net_sentiment(v, neutral_band=neutral_band) for k, v in groups.items()}
