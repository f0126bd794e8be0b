"""The Store contract: domain-level methods every backend implements.

No query syntax leaves a backend: callers speak ``upsert_posts`` and ``posts(topic=…)``, never
SQL or Mongo filter dicts. Every datetime going in or out is aware UTC. Driver errors are
translated into the ``StoreError`` family of ``crawlers.errors``.
"""

from __future__ import annotations

import abc
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any

from crawlers.errors import BackendUnavailable, IntegrityError, StoreError, UnknownScheme

if TYPE_CHECKING:
    from crawlers.items import Alert, Author, AuthorKey, CrawlRun, Monitor, Post, PostKey, PostScore

__all__ = ["AUTHOR_ORDERS", "NET_CLASSES", "AuthorPage", "BackendUnavailable", "IntegrityError",
           "PostPage", "Store", "StoreError", "UnknownScheme"]

# ``author_stats`` sorts by one of these; ``sentiment`` keeps one of NET_CLASSES (see there).
AUTHOR_ORDERS = ("posts", "engagement", "net", "positive", "negative", "neutral", "first_at",
                 "last_at", "platform")
NET_CLASSES = ("negative", "neutral", "positive", "unscored")


@dataclass(frozen=True)
class PostPage:
    """One page of :meth:`Store.newest_posts`: its posts and how many match in all."""

    posts: list[Post] = field(default_factory=list)
    total: int = 0


@dataclass(frozen=True)
class AuthorPage:
    """One page of :meth:`Store.author_stats`: its rows and how many authors match in all."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    total: int = 0


class Store(abc.ABC):
    """Abstract store. Subclasses implement every abstract method with the documented contract.

    Upsert semantics (posts and authors): the record is keyed by (platform, id); a field that is
    ``None``, ``""`` or ``[]`` in the incoming record keeps the stored value (a search result does
    not erase what a detail page found); ``topics`` are unioned and come back sorted; ``extra``
    dicts are merged one level deep, key by key (incoming wins; keys must not contain "." or
    start with "$"). Datetimes keep at least millisecond precision (MongoDB's). Scoring fields
    of posts (sentiment…) and authors (tier, influence) are only changed by ``set_scores`` /
    ``set_author_scores`` or by an incoming non-None value.

    Text is never overwritten with worse text: a post's stored ``text`` stays when the incoming
    one is a truncated copy of it (a search snippet ending in "…全文" over a detail page) or
    mojibake (more U+FFFD replacement characters, no longer). The one rule, with its edge cases,
    is ``crawlers.storage._records.keeps_stored_text``; any other non-empty text (an edit, a
    longer text, the full text over a snippet) wins. Each refusal is counted in
    :attr:`last_upsert_stats` (``text_kept``), so it is never silent.
    """

    # -- writes -----------------------------------------------------------------------------
    @abc.abstractmethod
    def upsert_posts(self, posts: Iterable[Post]) -> int:
        """Insert or merge posts. Returns how many records were written (new or updated);
        :attr:`last_upsert_stats` then tells how many texts were kept.

        Idempotent: the same batch upserted twice leaves one record per key.
        :raises BackendUnavailable: if the database cannot be reached.
        """

    @abc.abstractmethod
    def upsert_authors(self, authors: Iterable[Author]) -> int:
        """Insert or merge authors, same semantics as ``upsert_posts``."""

    @abc.abstractmethod
    def set_scores(self, scores: Mapping[PostKey, PostScore]) -> int:
        """Write sentiment, label, emotion, model version and risk hits onto stored posts.

        Keys that match no stored post are ignored. Returns how many posts were updated.
        """

    @abc.abstractmethod
    def set_author_scores(self, scores: Mapping[AuthorKey, tuple[str | None, float | None]]) -> int:
        """Write (tier, influence) onto stored authors. Unknown keys are ignored."""

    @abc.abstractmethod
    def record_run(self, run: CrawlRun) -> None:
        """Save a crawl or monitor run, replacing any run with the same ``run_id``."""

    @abc.abstractmethod
    def save_alert(self, alert: Alert) -> bool:
        """Save a new alert. Returns False (and changes nothing) if ``alert_id`` already exists."""

    @abc.abstractmethod
    def update_alert(self, alert: Alert, *, owner: str | None = None) -> bool:
        """Replace a stored alert's status fields (status, attempts, sent_at, last_error,
        deliveries, claimed_by, claimed_until, review).

        With ``owner``, the write happens only while ``owner`` holds the alert's claim (see
        :meth:`claim_alert`) and returns False otherwise: a process whose lease ran out and was
        taken over cannot overwrite the new holder's progress. Without, it always writes.

        :raises KeyError: if no alert has that ``alert_id``.
        """

    @abc.abstractmethod
    def claim_alert(self, alert_id: str, owner: str, *, now: datetime,
                    lease_seconds: float) -> Alert | None:
        """Atomically take the right to deliver one pending alert until ``now + lease_seconds``.

        Succeeds, returning the alert as stored with ``claimed_by=owner``, only if it is pending
        and unclaimed, its claim has expired (``claimed_until <= now``) or ``owner`` already
        holds it (renewal). Otherwise (sent, held by another live claim, or unknown) returns None.
        The check and the write are one atomic operation in every backend, so two processes —
        on one machine or many — never both hold a claim: an alert is never delivered twice.
        """

    @abc.abstractmethod
    def save_monitor(self, monitor: Monitor) -> None:
        """Insert or replace a monitor by name."""

    @abc.abstractmethod
    def delete_monitor(self, name: str) -> bool:
        """Delete a monitor; returns False if there was none by that name."""

    # -- reads ------------------------------------------------------------------------------
    @abc.abstractmethod
    def posts(
        self,
        *,
        topic: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        platform: str | None = None,
    ) -> Iterator[Post]:
        """Posts with ``since <= created_at < until`` (either bound optional), tagged with
        ``topic`` if given, on ``platform`` if given, ordered by (created_at, platform, post_id).
        Posts without ``created_at`` are returned only when neither bound is given, last."""

    @abc.abstractmethod
    def newest_posts(
        self,
        *,
        topic: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        platform: str | None = None,
        sentiment: str | None = None,
        author: AuthorKey | None = None,
        offset: int = 0,
        limit: int = 50,
    ) -> PostPage:
        """One page of dated posts, newest first, and how many match: for browsing.

        Posts with ``since <= created_at < until`` (either bound optional), tagged ``topic``,
        on ``platform``, whose ``sentiment_label`` is ``sentiment`` (``"unscored"``: no label),
        by ``author`` (``(platform, author_id)``), each filter only if given. Undated posts
        are never included: a page of a time line has no place for them. Ordered by
        (created_at, platform, post_id), all descending: exactly ``posts()`` reversed. The
        page skips ``offset`` posts and holds at most ``limit``; ``total`` counts every
        matching post (also when ``offset`` is past the end). Backends read an index in this
        order and the page's documents only, so a page costs the same at any size of store.

        :raises ValueError: for a negative ``offset`` or ``limit``.
        """

    @abc.abstractmethod
    def get_posts(self, keys: Iterable[PostKey]) -> dict[PostKey, Post]:
        """The stored posts among ``keys`` (missing keys are absent from the result)."""

    @abc.abstractmethod
    def cascade(self, platform: str, root_post_id: str) -> list[Post]:
        """The root post (if stored) and every post whose ``root_post_id`` is it, in
        ``created_at`` order (root first)."""

    @abc.abstractmethod
    def cascade_sizes(self, platform: str, root_post_ids: Iterable[str]) -> dict[str, int]:
        """How many stored posts on ``platform`` name each id as their ``root_post_id`` (the
        root itself not counted: ``len(cascade(...)) - 1`` when the root is stored). Ids with
        none are absent. Counted by the database, for listing cascades without reading them."""

    @abc.abstractmethod
    def unscored_posts(self, model: str, *, topic: str | None = None) -> Iterator[Post]:
        """Posts whose ``sentiment_model`` differs from ``model`` (never scored included)."""

    @abc.abstractmethod
    def authors(self, keys: Iterable[AuthorKey] | None = None) -> dict[AuthorKey, Author]:
        """The stored authors among ``keys``; all authors when ``keys`` is None."""

    @abc.abstractmethod
    def runs(
        self,
        *,
        topic: str | None = None,
        since: datetime | None = None,
        platform: str | None = None,
        kind: str | None = None,
    ) -> list[CrawlRun]:
        """Runs whose ``started_at >= since``, filtered as given, oldest first."""

    @abc.abstractmethod
    def alerts(
        self,
        *,
        monitor: str | None = None,
        since: datetime | None = None,
        status: str | None = None,
    ) -> list[Alert]:
        """Alerts created at or after ``since``, filtered as given, oldest first."""

    @abc.abstractmethod
    def monitors(self) -> list[Monitor]:
        """Every monitor, by name."""

    @abc.abstractmethod
    def get_monitor(self, name: str) -> Monitor | None:
        """The monitor called ``name``, or None."""

    @abc.abstractmethod
    def counts(self) -> dict[str, int]:
        """Record counts for a summary: ``posts``, ``posts/<kind>``, ``authors``, ``runs``,
        ``alerts``, ``monitors``."""

    # -- aggregates (computed by the database: no backend reads every post into Python) ------
    @abc.abstractmethod
    def post_counts(
        self,
        *,
        topic: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        platform: str | None = None,
        bucket: str | None = "day",
        by: Sequence[str] = ("sentiment_label",),
        tz: str = "Asia/Shanghai",
        author: AuthorKey | None = None,
    ) -> list[dict[str, Any]]:
        """Posts and engagement per time bucket and key, over the posts ``posts()`` would
        return for the same ``topic``, ``since``, ``until`` and ``platform``; with ``author``
        (``(platform, author_id)``), only that account's.

        One row per non-empty group: ``{"bucket": datetime, <each field of by>: value,
        "posts": int, "engagement": int}``, ordered by bucket, then the ``by`` values in
        order (None after every value). ``engagement`` is like + comment + repost counts (a
        missing count is 0).

        ``bucket`` is ``"hour"``, ``"day"`` or None (no ``"bucket"`` key: totals per key).
        Buckets are local to the IANA zone ``tz``: a ``"day"`` starts at local midnight (its
        first instant), given as aware UTC (Beijing's 2026-03-02 is ``2026-03-01 16:00 UTC``).
        DST is honoured: a local day may last 23 or 25 hours, an hour that happens twice is two
        buckets. ``by`` is a subset of ``("platform", "sentiment_label", "emotion", "kind")``.
        With neither bound, posts without ``created_at`` are counted too (as ``posts()``
        returns them), in rows whose bucket is None, last; so the ``posts`` of all rows add up
        to the number of posts ``posts()`` yields.

        :raises ValueError: for an unknown ``bucket``, ``by`` field or time zone.
        """

    @abc.abstractmethod
    def author_counts(
        self,
        *,
        topic: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        platform: str | None = None,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        """Posts and engagement per author over the same window as ``posts()``, for KOL tables:
        rows ``{"platform", "author_id", "posts", "engagement"}``, most posts first (then most
        engagement, then platform and author_id), at most ``limit`` rows (all when None).
        Posts without ``author_id`` belong to no author and are not counted."""

    @abc.abstractmethod
    def author_stats(
        self,
        *,
        topic: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        platform: str | None = None,
        authors: Iterable[AuthorKey] | None = None,
        sentiment: str | None = None,
        order: str = "posts",
        descending: bool = True,
        offset: int = 0,
        limit: int | None = None,
    ) -> AuthorPage:
        """Per-author figures over the same window as ``author_counts``, sorted and paged by
        the database, for KOL tables and account pages.

        Rows ``{"platform", "author_id", "posts", "engagement", "positive", "negative",
        "neutral", "first_at", "last_at"}``: posts and engagement as in ``author_counts``; how
        many of them carry each ``sentiment_label``; the first and last ``created_at``
        (aware UTC; None when every counted post is undated). ``authors`` keeps only those
        keys. ``sentiment`` keeps one class of NET_CLASSES by the counts: ``"negative"``
        (more negative than positive posts: net sentiment < 0), ``"positive"`` (net > 0),
        ``"neutral"`` (as many of each, with at least one scored post) or ``"unscored"`` (no
        labelled post). Net sentiment is ``(positive - negative) / (positive + negative)``,
        None without polar posts (``scoring.netsentiment.net_score``).

        Ordered by ``order`` (one of AUTHOR_ORDERS), descending or not; a None value (``net``,
        ``first_at``, ``last_at``) sorts last either way; ties go to most posts, then most
        engagement, then platform and author_id ascending. ``offset``/``limit`` cut the page
        (``limit`` None: all rows); ``total`` counts every matching author.

        :raises ValueError: for an unknown ``order`` or ``sentiment``, a negative ``offset``
            or ``limit``.
        """

    # -- upsert statistics ------------------------------------------------------------------
    @property
    def last_upsert_stats(self) -> dict[str, int]:
        """What the calling thread's last ``upsert_posts`` / ``upsert_authors`` on this store
        did: ``{"written": n, "text_kept": k}``, where ``written`` equals the call's return
        value and ``text_kept`` counts posts whose stored text was kept over a different,
        non-empty, worse incoming text (see the class docstring). Per thread, like a DB-API
        cursor's ``rowcount`` but safe when threads share the store; a copy, empty before the
        first upsert; a call that raises leaves it as it was. Callers add it to their stats
        (for instance as ``store/text_kept``)."""
        return dict(getattr(self._upsert_stats_local(), "stats", {}))

    def _set_upsert_stats(self, *, written: int, text_kept: int = 0) -> None:
        """For backends: record the counters of the upsert that just finished."""
        self._upsert_stats_local().stats = {"written": written, "text_kept": text_kept}

    def _upsert_stats_local(self) -> threading.local:
        # Created on first use (Store has no __init__ for subclasses to call); setdefault on
        # the instance dict is atomic, so two threads cannot each create one.
        local: threading.local = self.__dict__.setdefault("_upsert_stats", threading.local())
        return local

    # -- lifecycle --------------------------------------------------------------------------
    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections. Idempotent."""

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
