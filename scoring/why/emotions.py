"""How people feel, over time and per group: emotion shares per time bucket (情绪曲线), the
emotion mix of any grouping (event, region, platform…) and a polarisation measure beside net
sentiment.

Emotions are read from ``Post.emotion`` (the shipped model predicts the NLPCC 2014 scheme,
``scoring.sentiment.NLPCC_EMOTIONS``: like, happiness, disgust, sadness, surprise, anger,
fear; older models the seven of ``EMOTIONS``). Chinese names (愤怒, 悲伤…) are read too. A post
without an emotion is counted in ``unlabelled``: shares are over emotion-labelled posts, and
``labelled_share`` says how many that is.

Polarisation
------------
Net sentiment (pos − neg) / (pos + neg) is 0 both for a calm topic and for a split one, so
:func:`polarisation` sits beside it::

    polarisation = (1 − |pos − neg| / (pos + neg)) × (pos + neg) / labelled
                 = 2 · min(pos, neg) / labelled            (labelled = pos + neu + neg)

The first factor is 1 when the polar posts split evenly and 0 when they all lean one way; the
second weights it by how much of the talk is polar at all. Range [0, 1]:

===========================  =====  =============
100 labelled posts           net    polarisation
===========================  =====  =============
100 neutral (calm)           None   0.0
50 positive, 50 negative     0.0    1.0 (两极分化)
10 positive, 10 negative     0.0    0.2
90 positive, 10 negative     0.8    0.2
===========================  =====  =============

(The bimodality of the raw scores would be an alternative; labels are used because they are
what reports show and what every model, remote or local, returns.)
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from crawlers.items import Post
from scoring.netsentiment import net_score, post_label
from scoring.sentiment import NLPCC_EMOTIONS

__all__ = [
    "EmotionBucket",
    "EmotionCurve",
    "EmotionMix",
    "emotion_curve",
    "emotion_mix",
    "emotion_mix_by",
    "normalise_emotion",
    "polarisation",
]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_CHINESE = {
    "喜好": "like", "喜欢": "like", "高兴": "happiness", "快乐": "happiness", "喜悦": "happiness",
    "厌恶": "disgust", "悲伤": "sadness", "难过": "sadness", "惊讶": "surprise", "愤怒": "anger",
    "生气": "anger", "恐惧": "fear", "害怕": "fear", "乐观": "optimism", "感激": "gratitude",
}
_NONE = frozenset({"", "none", "null", "neutral", "无", "other"})


def normalise_emotion(value: object) -> str | None:
    """An emotion name as the models write it (lower case, English); None for no emotion.

    >>> normalise_emotion(" Anger "), normalise_emotion("愤怒"), normalise_emotion("none")
    ('anger', 'anger', None)
    """
    if not isinstance(value, str):
        return None
    name = value.strip().lower()[:40]
    name = _CHINESE.get(name, name)
    return None if name in _NONE else name


def polarisation(positive: float, negative: float, neutral: float = 0) -> float | None:
    """How split the talk is: 2 · min(pos, neg) / (pos + neu + neg), in [0, 1].

    Returns None with no labelled post. See the module docstring for the derivation.

    Examples
    --------
    >>> polarisation(0, 0, 100), polarisation(50, 50), polarisation(10, 10, 80), polarisation(0, 0)
    (0.0, 1.0, 0.2, None)
    """
    labelled = positive + negative + neutral
    if labelled <= 0:
        return None
    return 2 * min(positive, negative) / labelled


@dataclass
class EmotionMix:
    """Emotions and sentiment labels of a group of posts.

    ``counts`` holds emotion → posts for the scheme's emotions (zeros included, scheme order)
    and any other emotion seen; ``unlabelled`` the posts without one. ``positive``,
    ``neutral``, ``negative`` and ``unscored`` are the sentiment labels of the same posts.
    """

    counts: dict[str, int] = field(default_factory=dict)
    unlabelled: int = 0
    positive: int = 0
    neutral: int = 0
    negative: int = 0
    unscored: int = 0

    @property
    def total(self) -> int:
        return self.labelled + self.unlabelled

    @property
    def labelled(self) -> int:
        """Posts with an emotion."""
        return sum(self.counts.values())

    @property
    def labelled_share(self) -> float | None:
        """Share of posts that have an emotion; None for an empty group."""
        return self.labelled / self.total if self.total else None

    def share(self, emotion: str) -> float | None:
        """Share of ``emotion`` among posts with an emotion; None if none has one."""
        return self.counts.get(emotion, 0) / self.labelled if self.labelled else None

    @property
    def shares(self) -> dict[str, float | None]:
        return {e: self.share(e) for e in self.counts}

    @property
    def dominant(self) -> str | None:
        """The most frequent emotion (ties: scheme order); None if no post has one."""
        if not self.labelled:
            return None
        return max(self.counts, key=lambda e: self.counts[e])

    @property
    def net(self) -> float | None:
        return net_score(self.positive, self.negative)

    @property
    def polarisation(self) -> float | None:
        return polarisation(self.positive, self.negative, self.neutral)

    def add(self, post: Post, neutral_band: tuple[float, float]) -> None:
        emotion = normalise_emotion(post.emotion)
        if emotion is None:
            self.unlabelled += 1
        else:
            self.counts[emotion] = self.counts.get(emotion, 0) + 1
        label = post_label(post, neutral_band)
        if label in ("positive", "neutral", "negative"):
            setattr(self, label, getattr(self, label) + 1)
        else:
            self.unscored += 1


def _empty(emotions: Sequence[str]) -> EmotionMix:
    return EmotionMix(counts=dict.fromkeys(emotions, 0))


def emotion_mix(posts: Iterable[Post], *, emotions: Sequence[str] = NLPCC_EMOTIONS,
                neutral_band: tuple[float, float] = (0.4, 0.6)) -> EmotionMix:
    """The emotion mix, net sentiment and polarisation of ``posts``.

    Examples
    --------
    >>> ps = [Post("weibo", "1", emotion="anger", sentiment_label="negative"),
    ...       Post("weibo", "2", emotion="anger", sentiment_label="negative"),
    ...       Post("weibo", "3", emotion="like", sentiment_label="positive"), Post("weibo", "4")]
    >>> mix = emotion_mix(ps)
    >>> mix.dominant, mix.share("anger"), mix.unlabelled, mix.labelled_share, mix.net
    ('anger', 0.6666666666666666, 1, 0.75, -0.3333333333333333)
    """
    mix = _empty(emotions)
    for post in posts:
        if isinstance(post, Post):
            mix.add(post, neutral_band)
    return mix


def emotion_mix_by(
    posts: Iterable[Post],
    key: Callable[[Post], Any],
    *,
    emotions: Sequence[str] = NLPCC_EMOTIONS,
    neutral_band: tuple[float, float] = (0.4, 0.6),
) -> dict[Hashable, EmotionMix]:
    """:func:`emotion_mix` per group; ``key(post)`` names the group (an event id, a region…).

    A key that returns a list or set puts the post in each of its groups (topics); None is a
    group of its own (posts are counted, not dropped), and so is a key that raises.

    Examples
    --------
    >>> ps = [Post("weibo", "1", region="广东", emotion="anger"),
    ...       Post("weibo", "2", region="北京", emotion="like"), Post("weibo", "3")]
    >>> {k: m.dominant for k, m in emotion_mix_by(ps, lambda p: p.region).items()}
    {'广东': 'anger', '北京': 'like', None: None}
    """
    groups: dict[Hashable, EmotionMix] = {}
    for post in posts:
        if not isinstance(post, Post):
            continue
        try:
            found = key(post)
        except Exception:  # a user's key failing on one odd post must not lose the others
            found = None
        names: list[Any] = list(found) if isinstance(found, (list, set, frozenset)) else [found]
        for name in names or [None]:
            try:
                mix = groups.setdefault(name, _empty(emotions))
            except TypeError:  # unhashable key
                mix = groups.setdefault(repr(name), _empty(emotions))
            mix.add(post, neutral_band)
    return groups


@dataclass(frozen=True)
class EmotionBucket:
    """One time bucket of the curve: ``[start, start + bucket)``."""

    start: datetime
    mix: EmotionMix


@dataclass
class EmotionCurve:
    """:func:`emotion_curve`'s result: contiguous buckets (empty ones included, with zero
    counts and shares of None), plus the posts that have no time (``undated``) or fall outside
    the range (``out_of_range``), counted so nothing is dropped silently."""

    bucket: timedelta
    emotions: tuple[str, ...]
    buckets: list[EmotionBucket] = field(default_factory=list)
    undated: int = 0
    out_of_range: int = 0

    def series(self, emotion: str) -> list[float | None]:
        """The share of ``emotion`` per bucket (None where no post has an emotion)."""
        return [b.mix.share(emotion) for b in self.buckets]

    def shares(self) -> dict[str, list[float | None]]:
        """Every emotion's series, for a stacked-area chart."""
        names = dict.fromkeys(self.emotions)
        for b in self.buckets:
            names.update(dict.fromkeys(b.mix.counts))
        return {e: self.series(e) for e in names}


def _aware(when: datetime) -> datetime:
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def emotion_curve(
    posts: Iterable[Post],
    *,
    bucket: timedelta = timedelta(hours=1),
    start: datetime | None = None,
    end: datetime | None = None,
    origin: datetime = _EPOCH,
    emotions: Sequence[str] = NLPCC_EMOTIONS,
    neutral_band: tuple[float, float] = (0.4, 0.6),
    max_buckets: int = 10_000,
) -> EmotionCurve:
    """Emotion shares (and net sentiment, polarisation) per time bucket: the 情绪曲线.

    Parameters
    ----------
    posts : iterable of Post
    bucket : timedelta
        Bucket length (positive).
    start, end : datetime, optional
        The range to cover: the buckets holding ``start`` and ``end`` and those between;
        default from the first to the last dated post. Posts in other buckets are counted in
        ``out_of_range``.
    origin : datetime
        Buckets are aligned to it: the default (the Unix epoch) gives UTC hours and days; pass
        a Beijing midnight, ``datetime(2024, 1, 1, tzinfo=ZoneInfo("Asia/Shanghai"))``, for
        days that start at 00:00 CST.
    max_buckets : int
        Most buckets returned. An explicit range longer than this is an error; a range taken
        from the data keeps the last ``max_buckets`` buckets (a stray 1970 timestamp does not
        make a million empty buckets) and counts the earlier posts as out of range.

    Examples
    --------
    >>> t = datetime(2024, 5, 1, 8, tzinfo=UTC)
    >>> ps = [Post("weibo", "1", created_at=t, emotion="anger"),
    ...       Post("weibo", "2", created_at=t + timedelta(hours=2), emotion="like"),
    ...       Post("weibo", "3", created_at=t + timedelta(hours=2)), Post("weibo", "4")]
    >>> curve = emotion_curve(ps)
    >>> [b.mix.total for b in curve.buckets], curve.series("like"), curve.undated
    ([1, 0, 2], [0.0, None, 1.0], 1)
    """
    if bucket <= timedelta(0):
        raise ValueError(f"bucket must be positive, not {bucket}")
    origin = _aware(origin)
    dated: list[tuple[int, Post]] = []
    curve = EmotionCurve(bucket=bucket, emotions=tuple(emotions))
    for post in posts:
        if not isinstance(post, Post):
            continue
        if not isinstance(post.created_at, datetime):
            curve.undated += 1
            continue
        dated.append(((_aware(post.created_at) - origin) // bucket, post))
    explicit = start is not None and end is not None
    first = (_aware(start) - origin) // bucket if start is not None else \
        min((i for i, _ in dated), default=None)
    last = (_aware(end) - origin) // bucket if end is not None else \
        max((i for i, _ in dated), default=None)
    if first is None or last is None:
        curve.out_of_range = len(dated)
        return curve
    if last - first + 1 > max_buckets:
        if explicit:
            raise ValueError(f"{last - first + 1} buckets of {bucket} from {start} to {end}; "
                             f"more than max_buckets={max_buckets}")
        if start is None:
            first = last - max_buckets + 1
        else:
            last = first + max_buckets - 1
    mixes = [_empty(emotions) for _ in range(max(0, last - first + 1))]
    for index, post in dated:
        if first <= index <= last:
            mixes[index - first].add(post, neutral_band)
        else:
            curve.out_of_range += 1
    curve.buckets = [EmotionBucket(origin + (first + i) * bucket, mix)
                     for i, mix in enumerate(mixes)]
    return curve
