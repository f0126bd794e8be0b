"""The Store contract: domain-level methods every backend implements.

No query syntax leaves a backend: callers speak ``upsert_posts`` and ``posts(topic=…)``, never
SQL or Mongo filter dicts. Every datetime going in or out is aware UTC. Driver errors are
translated into the ``StoreError`` family of ``crawlers.errors``.
"""

from __future__ import annotations

import abc
import json
import re
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any

from crawlers.errors import BackendUnavailable, IntegrityError, StoreError, UnknownScheme

if TYPE_CHECKING:
    from crawlers.items import (
        Alert,
        Author,
        AuthorKey,
        CrawlRun,
        Monitor,
        Post,
        PostKey,
        PostScore,
        ScoreInput,
    )

__all__ = ["AUTHOR_FIELDS", "AUTHOR_ORDERS", "NET_CLASSES", "AuthorPage", "BackendUnavailable",
           "EventRecord", "IntegrityError", "PostPage", "Store", "StoreError", "UnknownScheme",
           "check_author_fields"]

# ``author_fields`` reads these Author fields (the scalar ones, and ``extra`` as a dict), and
# ``extra.<key>``: one value inside ``extra`` (Zhihu's upvotes), None where it is absent.
AUTHOR_FIELDS = ("name", "url", "followers", "following", "posts", "verified", "verified_type",
                 "verified_reason", "rank", "description", "region", "gender", "tier",
                 "influence", "extra")
_EXTRA_KEY = re.compile(r"extra\.[A-Za-z_][A-Za-z0-9_]{0,63}")


def check_author_fields(fields: Sequence[str]) -> tuple[str, ...]:
    unknown = [f for f in fields if f not in AUTHOR_FIELDS and not _EXTRA_KEY.fullmatch(f)]
    if unknown:
        raise ValueError(f"unknown author field {unknown[0]!r}; use some of "
                         f"{', '.join(AUTHOR_FIELDS)} or extra.<key>")
    return tuple(fields)


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


@dataclass(frozen=True)
class EventRecord:
    """One story of a monitor as the store keeps it between runs (``scoring.why.events.Event``
    flattened by ``scheduler.analysis.eventstore``; the store knows no scoring type).

    ``event_id`` is the key within a monitor; ``canonical`` the post that started the story;
    ``size`` its posts; ``first_at``/``last_at`` the hours of its first and last dated posts;
    ``updated_at`` when a run last grew it. ``members`` are the posts already counted, so a
    repeated run never counts one twice. ``data`` is the rest (centroid, hours, platforms,
    sentiment counts, key accounts, representative posts), JSON-compatible, stored as one
    opaque document.
    """

    event_id: str
    canonical: tuple[str, str]
    label_terms: tuple[str, ...]
    size: int
    first_at: datetime | None
    last_at: datetime | None
    updated_at: datetime
    members: tuple[tuple[str, str], ...] = ()
    data: dict[str, Any] = field(default_factory=dict)


def event_data_text(event: EventRecord) -> str:
    """``event.data`` as the JSON text every backend stores (one opaque document, so crawled
    terms as keys never meet MongoDB's rules on "." and "$").

    :raises IntegrityError: when it is not JSON-compatible.
    """
    try:
        return json.dumps(event.data, ensure_ascii=False, separators=(",", ":"),
                          allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise IntegrityError(f"event {event.event_id!r} cannot be stored as JSON: {exc}") from exc


def event_record(doc: Mapping[str, Any], event_id: str,
                 members: Iterable[Sequence[str]]) -> EventRecord:
    """An EventRecord from a backend's document (times as UTC ISO text or datetimes; ``data``
    as a dict or its JSON text)."""

    def when(value: Any) -> datetime | None:
        if value is None:
            return None
        at = value if isinstance(value, datetime) else datetime.fromisoformat(value)
        return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)

    data = doc.get("data") or {}
    updated = when(doc["updated_at"]) or datetime.min.replace(tzinfo=UTC)  # always set
    return EventRecord(
        event_id=event_id,
        canonical=(doc["canonical"][0], doc["canonical"][1]),
        label_terms=tuple(doc.get("label_terms") or ()),
        size=int(doc["size"]),
        first_at=when(doc.get("first_at")),
        last_at=when(doc.get("last_at")),
        updated_at=updated,
        members=tuple((m[0], m[1]) for m in members),
        data=json.loads(data) if isinstance(data, str) else dict(data),
    )


def order_events(events: Iterable[EventRecord]) -> list[EventRecord]:
    """The order of :meth:`Store.events`: largest first, then earliest ``first_at`` (undated
    last), then ``event_id``."""
    far = datetime.max.replace(tzinfo=UTC)
    return sorted(events, key=lambda e: (-e.size, e.first_at or far, e.event_id))


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
        """Delete a monitor and the stories its runs kept (:meth:`events`: a monitor made
        again under the name starts with none); returns False if there was none by that
        name. Posts, authors and alerts stay."""

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
    def author_fields(self, keys: Iterable[AuthorKey], fields: Sequence[str]
                      ) -> dict[AuthorKey, dict[str, Any]]:
        """A few profile fields of many stored authors, without building records: ``{key:
        {field: value}}`` for the stored ones among ``keys`` (a field the profile lacks is
        None). ``fields`` are names from AUTHOR_FIELDS. For tier splits over every account
        of a window (57,000 full records cost over a second; three fields, a tenth of it).

        :raises ValueError: for a field outside AUTHOR_FIELDS.
        """

    @abc.abstractmethod
    def root_counts(
        self,
        *,
        topic: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        platform: str | None = None,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        """Posts per cascade over the posts ``posts()`` would return for the same window:
        rows ``{"platform", "root_post_id", "posts"}``, where a post's cascade is its
        ``root_post_id`` or, without one, the post itself. Most posts first, then platform and
        root id ascending; at most ``limit`` rows (all when None). Counted by the database:
        the cascade explorer ranks a window's cascades without reading its posts.

        :raises ValueError: for a negative ``limit``.
        """

    @abc.abstractmethod
    def unscored_posts(self, model: str, *, topic: str | None = None) -> Iterator[Post]:
        """Posts whose ``sentiment_model`` differs from ``model`` (never scored included)."""

    def score_inputs(self, model: str | None, *, topic: str | None = None
                     ) -> Iterator[ScoreInput]:
        """Key, text and kind of each post ``unscored_posts(model, topic=topic)`` returns
        (``posts(topic=topic)`` when ``model`` is None), in the same order: what rescoring
        reads. Backends read only those fields (a Post costs ten times more to read back)."""
        from crawlers.items import ScoreInput

        source = self.posts(topic=topic) if model is None else self.unscored_posts(
            model, topic=topic)
        for post in source:
            yield ScoreInput(post.platform, post.post_id, post.text or "", post.kind)

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
        fields: Sequence[str] = (),
    ) -> list[dict[str, Any]]:
        """Posts and engagement per author over the same window as ``posts()``, for KOL tables:
        rows ``{"platform", "author_id", "posts", "engagement"}``, most posts first (then most
        engagement, then platform and author_id), at most ``limit`` rows (all when None).
        Posts without ``author_id`` belong to no author and are not counted.

        With ``fields`` (names from AUTHOR_FIELDS) each row also holds ``"profile"``: those
        fields of the stored profile as ``author_fields`` gives them, or None for an account
        with no stored profile (``tier_counts`` tiers accounts from these on memory and
        MongoDB).

        :raises ValueError: for a field outside AUTHOR_FIELDS."""

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

    def tier_counts(
        self,
        *,
        topic: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        platform: str | None = None,
        cutoffs: Mapping[str, Mapping[str, Any]],
    ) -> list[dict[str, Any]]:
        """Accounts and posts per influence tier among the authors of the window
        ``author_counts`` counts: rows ``{"tier", "accounts", "posts"}`` by tier name. An
        account's tier is its stored ``tier``; else, with ``followers`` known, its platform's
        measure against ``cutoffs[platform]`` (``cutoffs["forum"]`` for a platform not
        listed): ``{"measure": "followers" | "upvotes" | "reads", "head", "waist", "tail"}``,
        inclusive lower bounds, below tail "amateur"; upvotes are ``extra["voteup_count"]``
        (0 unless a whole number >= 0), reads are not stored, so such an account is
        untiered. No profile, no followers, untiered: "unknown". The rule is
        ``_aggregate.account_tier`` (``scoring.influence``'s ``default_tier_of``); SQLite
        applies it in the query, so a window of 57,000 accounts returns a few rows.

        :raises ValueError: for cut-offs without a known measure or numeric bounds.
        """
        from crawlers.storage import _aggregate as agg

        cut = agg.check_cutoffs(cutoffs)
        rows = self.author_counts(topic=topic, since=since, until=until, platform=platform,
                                  fields=agg.TIER_PROFILE)
        return agg.tier_rows(rows, cut)

    @abc.abstractmethod
    def topic_overlap(
        self,
        topic: str,
        others: Iterable[str],
        *,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> int:
        """How many of the posts ``posts(topic=topic, since=since, until=until)`` returns are
        tagged with at least one of ``others`` too: a monitor's posts that other monitors'
        topics also hold (share of voice counts such a post once per monitor, and says how
        many there were). ``topic`` among ``others`` is ignored; no others: 0. Counted by the
        database, as a post's topics are: no post is read."""

    # -- events (stories) of a monitor, kept across runs ----------------------------------------
    @abc.abstractmethod
    def save_events(self, monitor: str, events: Iterable[EventRecord]) -> int:
        """Insert or replace a monitor's events, keyed by (monitor, ``event_id``): every field
        but ``members`` is the incoming one; ``members`` are added to the stored ones (a post
        already counted in another event of the monitor stays there). Idempotent: the same
        events saved twice leave one record each. Returns how many events were written."""

    @abc.abstractmethod
    def events(self, monitor: str, *, since: datetime | None = None) -> list[EventRecord]:
        """The monitor's events whose ``last_at`` (``updated_at`` when undated) is at or after
        ``since`` (all with None), with their members (sorted by platform, then post_id);
        largest first, then earliest ``first_at`` (undated last), then ``event_id``."""

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
