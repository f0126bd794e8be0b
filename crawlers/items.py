"""The platform-neutral schema every platform fills and everything downstream reads.

Plain dataclasses: no Scrapy, no database. Times are aware UTC datetimes. Fields are identical
across platforms; data only one platform has goes into ``extra``.

Records:
* ``Post``      a post, repost, comment, reply, article, answer or thread; key (platform, post_id)
* ``Author``    an account, keyed by (platform, author_id)
* ``PostScore`` what scoring writes back onto a post (sentiment, label, emotion, model, risk hits)
* ``ScoreInput`` what scoring reads of a stored post (key, text, kind)
* ``CrawlRun``  one crawl (or monitor run) with its stats: the error ledger
* ``Monitor``   a PR team's topic monitor (user data, kept in the store)
* ``Alert``     one alert, deduplicated by ``alert_id`` and kept until it is sent
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, NamedTuple, TypeAlias

__all__ = [
    "KINDS",
    "Alert",
    "Author",
    "AuthorKey",
    "CrawlRun",
    "Monitor",
    "Post",
    "PostKey",
    "PostScore",
    "ScoreInput",
    "clean_text",
    "from_dict",
    "to_dict",
    "utcnow",
]

PostKey: TypeAlias = tuple[str, str]
"""(platform, post_id)"""
AuthorKey: TypeAlias = tuple[str, str]
"""(platform, author_id)"""

Kind = Literal["original", "repost", "comment", "reply", "article", "answer", "thread"]
KINDS: tuple[str, ...] = ("original", "repost", "comment", "reply", "article", "answer", "thread")


def utcnow() -> datetime:
    """The current time as an aware UTC datetime."""
    return datetime.now(UTC)


# Code points that break an output somewhere: C0 controls other than tab/newline/return (NUL,
# ESC: not allowed in XML 1.0, terminal escapes), C1 controls, the noncharacters U+FFFE/U+FFFF,
# and surrogates (half an emoji from a JSON "\ud83d" escape cannot be encoded at all).
_UNSAFE = re.compile("[\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f-\\x9f\\ufffe\\uffff\\ud800-\\udfff]")
_CONTROLS = re.compile("[\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f-\\x9f\\ufffe\\uffff]")


def clean_text(text: str) -> str:
    r"""Text every output can carry (UTF-8, XML 1.0, terminals, CSV): a valid surrogate pair
    becomes its character, a lone surrogate U+FFFD, controls and noncharacters are dropped.
    Applied once, to every string field of a Post or Author when it is made.

    >>> clean_text("ok \ud83d\ude00 nul\x00 esc\x1b[31m tab\tend")
    'ok 😀 nul esc[31m tab\tend'
    >>> clean_text("half \ud83d") == "half \ufffd"
    True
    """
    if not _UNSAFE.search(text):
        return text
    if any("\ud800" <= c <= "\udfff" for c in text):
        text = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return _CONTROLS.sub("", text)


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _field_names(cls: type) -> tuple[str, ...]:
    # dataclasses.fields() per record was a fifth of the time of reading posts back
    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = _FIELD_NAMES[cls] = tuple(f.name for f in dataclasses.fields(cls))
    return names


def _clean_fields(record: Any) -> None:
    for name in _field_names(type(record)):
        value = getattr(record, name)
        if isinstance(value, str):
            if _UNSAFE.search(value):
                setattr(record, name, clean_text(value))
        elif isinstance(value, list) and value and isinstance(value[0], str):
            setattr(record, name, [clean_text(v) if isinstance(v, str) else v for v in value])


@dataclass
class Post:
    """One piece of content.

    Propagation: ``parent_post_id`` is the post this one reposts or replies to (None for an
    original), ``root_post_id`` the top of its cascade or thread. When a repost's parent is only
    known by name (Weibo's ``//@name:`` chains) ``parent_author_name`` holds it and
    ``repost_path`` holds the whole chain of names, nearest first.
    """

    platform: str
    post_id: str
    text: str = ""
    created_at: datetime | None = None
    kind: str = "original"
    url: str | None = None
    title: str | None = None
    author_id: str | None = None
    author_name: str | None = None
    parent_post_id: str | None = None
    root_post_id: str | None = None
    parent_author_id: str | None = None
    parent_author_name: str | None = None
    repost_path: list[str] = field(default_factory=list)
    repost_count: int | None = None
    comment_count: int | None = None
    like_count: int | None = None
    read_count: int | None = None
    region: str | None = None
    topics: list[str] = field(default_factory=list)
    fetched_at: datetime | None = None
    deleted: bool | None = None
    # Written by scoring (None until scored); crawlers leave them None.
    sentiment: float | None = None
    sentiment_label: str | None = None
    emotion: str | None = None
    sentiment_model: str | None = None
    risk_hits: list[str] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _clean_fields(self)

    @property
    def key(self) -> PostKey:
        return (self.platform, self.post_id)


@dataclass
class Author:
    """One account. ``rank`` is the platform's own level (Weibo mbrank, Zhihu level…)."""

    platform: str
    author_id: str
    name: str | None = None
    url: str | None = None
    followers: int | None = None
    following: int | None = None
    posts: int | None = None
    verified: bool | None = None
    verified_type: str | None = None
    verified_reason: str | None = None
    rank: int | None = None
    description: str | None = None
    region: str | None = None
    gender: str | None = None
    updated_at: datetime | None = None
    # Written by scoring.
    tier: str | None = None
    influence: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _clean_fields(self)

    @property
    def key(self) -> AuthorKey:
        return (self.platform, self.author_id)


class ScoreInput(NamedTuple):
    """What scoring reads of a stored post (``Store.score_inputs``): a tuple, since rescoring
    reads every post of a store and needs nothing else of it.

    >>> ScoreInput("weibo", "1", "好", "comment").key
    ('weibo', '1')
    """

    platform: str
    post_id: str
    text: str
    kind: str

    @property
    def key(self) -> PostKey:
        return (self.platform, self.post_id)


@dataclass
class PostScore:
    """Scores for one post, written with ``Store.set_scores``."""

    sentiment: float
    label: str
    model: str
    emotion: str | None = None
    risk_hits: list[str] = field(default_factory=list)


@dataclass
class CrawlRun:
    """One crawl or monitor run. ``stats`` is the flat Scrapy-style stats dict (slash-named)."""

    run_id: str
    platform: str
    topic: str | None = None
    kind: str = "crawl"  # "crawl" | "monitor"
    started_at: datetime | None = None
    finished_at: datetime | None = None
    finish_reason: str | None = None
    args: dict[str, Any] = field(default_factory=dict)
    stats: dict[str, Any] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


@dataclass
class Monitor:
    """A topic monitor: a boolean query over platforms, on a schedule, with recipients.

    Exactly one of ``every`` (seconds) and ``cron`` is set. ``thresholds`` overrides ALERT_*
    settings for this monitor (keys are setting names).
    """

    name: str
    query: str
    platforms: list[str] = field(default_factory=list)
    every: int | None = None
    cron: str | None = None
    recipients: list[str] = field(default_factory=list)
    thresholds: dict[str, Any] = field(default_factory=dict)
    paused: bool = False
    sources: list[str] = field(default_factory=list)
    created_at: datetime | None = None
    updated_at: datetime | None = None
    last_run_at: datetime | None = None
    collected_until: datetime | None = None


@dataclass
class Alert:
    """An alert. ``alert_id`` identifies rule + monitor + window: saving it twice is a no-op.

    ``status`` is "pending" until every channel delivers it, then "sent"; a failed send leaves it
    pending (``attempts`` counts tries) so nothing is lost while a channel is down.
    ``deliveries`` records each channel's outcome by channel id (``{"status", "attempts",
    "sent_at", "last_error"}``), so a retry resends only where it failed. ``claimed_by`` and
    ``claimed_until`` are the delivery lease of ``Store.claim_alert``: one process at a time.
    ``review`` is a person's verdict (``{"verdict": "confirmed" | "false_alarm", "by", "at",
    "note"}``), from which each rule's precision is reported.
    """

    alert_id: str
    monitor: str
    rule: str
    severity: str
    message: str
    metric: str | None = None
    value: float | None = None
    threshold: float | None = None
    window_start: datetime | None = None
    window_end: datetime | None = None
    created_at: datetime | None = None
    status: str = "pending"
    attempts: int = 0
    sent_at: datetime | None = None
    last_error: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    deliveries: dict[str, Any] = field(default_factory=dict)
    claimed_by: str | None = None
    claimed_until: datetime | None = None
    review: dict[str, Any] = field(default_factory=dict)


_DATETIME_FIELDS: dict[type, frozenset[str]] = {}


def _datetime_fields(cls: type) -> frozenset[str]:
    if cls not in _DATETIME_FIELDS:
        _DATETIME_FIELDS[cls] = frozenset(
            f.name for f in dataclasses.fields(cls) if "datetime" in str(f.type)
        )
    return _DATETIME_FIELDS[cls]


def to_dict(record: Any) -> dict[str, Any]:
    """A record as a JSON-ready dict: datetimes become ISO-8601 strings in UTC.

    >>> when = datetime(2024, 1, 2, tzinfo=UTC)
    >>> to_dict(Post("weibo", "1", created_at=when))["created_at"]
    '2024-01-02T00:00:00+00:00'
    """
    out: dict[str, Any] = {}
    dt_fields = _datetime_fields(type(record))
    for f in dataclasses.fields(record):
        value = getattr(record, f.name)
        if f.name in dt_fields and value is not None:
            value = value.astimezone(UTC).isoformat()
        elif isinstance(value, (list, dict)):
            value = value.copy()
        out[f.name] = value
    return out


def from_dict(cls: type[Any], data: dict[str, Any]) -> Any:
    """Inverse of :func:`to_dict`; unknown keys are ignored, naive datetimes are taken as UTC.

    >>> naive = {"platform": "weibo", "post_id": "1", "created_at": "2024-01-02T00:00:00"}
    >>> from_dict(Post, naive).created_at.tzinfo
    datetime.timezone.utc
    """
    names = _field_names(cls)
    dt_fields = _datetime_fields(cls)
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        if key not in names:
            continue
        if key in dt_fields and value is not None:
            if isinstance(value, str):
                value = datetime.fromisoformat(value)
            if value.tzinfo is None:
                value = value.replace(tzinfo=UTC)
            else:
                value = value.astimezone(UTC)
        kwargs[key] = value
    return cls(**kwargs)
