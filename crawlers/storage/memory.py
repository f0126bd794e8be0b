"""MemoryStore: the reference implementation of the Store contract, and the tests' double.

Plain dicts of documents behind a lock. Nothing persists. Imports no database driver.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from crawlers.items import Alert, Author, CrawlRun, Monitor, Post, from_dict
from crawlers.storage import _aggregate as agg
from crawlers.storage._records import json_doc, merge_docs, utc, utc_text, window_key
from crawlers.storage.base import (
    AuthorPage,
    EventRecord,
    PostPage,
    Store,
    check_author_fields,
    event_data_text,
    order_events,
)

if TYPE_CHECKING:
    from crawlers.items import AuthorKey, PostKey, PostScore

__all__ = ["MemoryStore"]


class MemoryStore(Store):
    """Every record kept as a document in a dict; copies go in and out, so callers cannot
    change stored state by mutating what they passed or got back.

    Documents hold datetimes as fixed-width UTC text, exactly as SqliteStore's JSON does, so
    the two compare and order the same way.

    Settings: none. ``open_store("memory://")`` returns a new, empty store each time.
    """

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._posts: dict[PostKey, dict[str, Any]] = {}
        self._authors: dict[AuthorKey, dict[str, Any]] = {}
        self._runs: dict[str, dict[str, Any]] = {}
        self._alerts: dict[str, dict[str, Any]] = {}
        self._monitors: dict[str, dict[str, Any]] = {}
        self._events: dict[str, dict[str, EventRecord]] = {}  # monitor -> event_id -> record
        self._event_of: dict[str, dict[PostKey, str]] = {}  # monitor -> member -> event_id

    @classmethod
    def from_uri(cls, uri: str) -> MemoryStore:
        return cls()

    # -- writes -----------------------------------------------------------------------------
    def upsert_posts(self, posts: Iterable[Post]) -> int:
        return self._upsert(self._posts, posts)

    def upsert_authors(self, authors: Iterable[Author]) -> int:
        return self._upsert(self._authors, authors)

    def _upsert(self, table: dict[Any, dict[str, Any]], records: Iterable[Any]) -> int:
        docs = [(record.key, _doc_in(record)) for record in records]
        kept = 0
        with self._lock:
            for key, doc in docs:
                stored = table.get(key)
                table[key] = merged = doc if stored is None else merge_docs(stored, doc)
                kept += "text" in doc and merged["text"] != doc["text"]
        self._set_upsert_stats(written=len(docs), text_kept=kept)
        return len(docs)

    def set_scores(self, scores: Mapping[PostKey, PostScore]) -> int:
        with self._lock:
            found = [(self._posts[k], score) for k, score in scores.items() if k in self._posts]
            for doc, score in found:
                _set_fields(doc, {
                    "sentiment": score.sentiment,
                    "sentiment_label": score.label,
                    "emotion": score.emotion,
                    "sentiment_model": score.model,
                    "risk_hits": list(score.risk_hits),
                })
        return len(found)

    def set_author_scores(self, scores: Mapping[AuthorKey, tuple[str | None, float | None]]) -> int:
        with self._lock:
            found = [(self._authors[k], s) for k, s in scores.items() if k in self._authors]
            for doc, (tier, influence) in found:
                _set_fields(doc, {"tier": tier, "influence": influence})
        return len(found)

    def record_run(self, run: CrawlRun) -> None:
        doc = _doc_in(run)
        with self._lock:
            self._runs[run.run_id] = doc

    def save_alert(self, alert: Alert) -> bool:
        doc = _doc_in(alert)
        with self._lock:
            if alert.alert_id in self._alerts:
                return False
            self._alerts[alert.alert_id] = doc
        return True

    def update_alert(self, alert: Alert, *, owner: str | None = None) -> bool:
        incoming = _doc_in(alert)
        with self._lock:
            doc = self._alerts.get(alert.alert_id)
            if doc is None:
                raise KeyError(alert.alert_id)
            if owner is not None and doc.get("claimed_by") != owner:
                return False
            _set_fields(doc, {k: incoming.get(k) or None for k in _ALERT_STATUS_FIELDS})
            return True

    def claim_alert(self, alert_id: str, owner: str, *, now: datetime,
                    lease_seconds: float) -> Alert | None:
        with self._lock:
            doc = self._alerts.get(alert_id)
            if doc is None or doc.get("status") != "pending":
                return None
            holder, until = doc.get("claimed_by"), doc.get("claimed_until")
            if holder not in (None, owner) and until is not None and until > utc_text(now):
                return None
            doc["claimed_by"] = owner
            doc["claimed_until"] = utc_text(now + timedelta(seconds=lease_seconds))
            claimed: Alert = from_dict(Alert, copy.deepcopy(doc))
            return claimed

    def save_monitor(self, monitor: Monitor) -> None:
        doc = _doc_in(monitor)
        with self._lock:
            self._monitors[monitor.name] = doc

    def delete_monitor(self, name: str) -> bool:
        with self._lock:
            self._events.pop(name, None)
            self._event_of.pop(name, None)
            return self._monitors.pop(name, None) is not None

    # -- reads ------------------------------------------------------------------------------
    def posts(
        self,
        *,
        topic: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        platform: str | None = None,
    ) -> Iterator[Post]:
        with self._lock:
            docs = self._window(topic, since, until, platform)
            docs.sort(key=_post_order)
            posts = [_record_out(Post, doc) for doc in docs]
        return iter(posts)

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
        agg.check_page(offset, limit)
        label = None if sentiment == "unscored" else sentiment
        with self._lock:
            docs = [
                doc for doc in self._window(topic, since, until, platform, author)
                if doc.get("created_at") is not None
                and (sentiment is None or doc.get("sentiment_label") == label)
            ]
            docs.sort(key=_post_order, reverse=True)
            page = [_record_out(Post, doc) for doc in docs[offset:offset + limit]]
        return PostPage(page, len(docs))

    def _window(self, topic: str | None, since: datetime | None, until: datetime | None,
                platform: str | None, author: AuthorKey | None = None) -> list[dict[str, Any]]:
        """The stored documents ``posts()`` selects (by ``author`` too, if given), unordered
        and not copied (hold the lock)."""
        low = utc_text(since) if since else None
        high = utc_text(until) if until else None
        bounded = low is not None or high is not None
        return [
            doc for doc in self._posts.values()
            if (topic is None or topic in doc.get("topics", ()))
            and (platform is None or doc["platform"] == platform)
            and (author is None or (doc["platform"], doc.get("author_id")) == tuple(author))
            and _within(doc.get("created_at"), low, high, bounded)
        ]

    # A dict is the database here, so the reference aggregates in Python, post by post, with
    # the same bucket_start the database backends' labels are mapped through.
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
        request = agg.count_request(bucket, by, tz, since, until)
        groups = []
        with self._lock:
            for doc in self._window(topic, since, until, platform, author):
                when = doc.get("created_at")
                start = None
                if request.bucket and when is not None:
                    start = agg.bucket_start(datetime.fromisoformat(when), request.bucket,
                                             request.zone)
                keys = tuple(doc.get(name) for name in request.by)
                groups.append(((start, keys), 1, agg.engagement(doc)))
        return agg.count_rows(groups, request)

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
        agg.check_limit(limit)
        names = check_author_fields(fields)
        totals: dict[tuple[str, str], list[int]] = {}
        with self._lock:
            for doc in self._window(topic, since, until, platform):
                if doc.get("author_id") is not None:
                    total = totals.setdefault((doc["platform"], doc["author_id"]), [0, 0])
                    total[0] += 1
                    total[1] += agg.engagement(doc)
        ranked = sorted(totals.items(), key=lambda kv: (-kv[1][0], -kv[1][1], kv[0]))
        rows = agg.author_rows((p, a, n, e) for (p, a), (n, e) in ranked[:limit])
        return agg.with_profiles(rows, names, self.author_fields)

    def root_counts(
        self,
        *,
        topic: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        platform: str | None = None,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        agg.check_limit(limit)
        counts: dict[tuple[str, str], int] = {}
        with self._lock:
            for doc in self._window(topic, since, until, platform):
                key = (doc["platform"], doc.get("root_post_id") or doc["post_id"])
                counts[key] = counts.get(key, 0) + 1
        ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
        return [{"platform": p, "root_post_id": r, "posts": n} for (p, r), n in ranked[:limit]]

    def topic_overlap(
        self,
        topic: str,
        others: Iterable[str],
        *,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> int:
        wanted = set(others) - {topic}
        if not wanted:
            return 0
        with self._lock:
            return sum(1 for doc in self._window(topic, since, until, None)
                       if not wanted.isdisjoint(doc.get("topics", ())))

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
        request = agg.stats_request(order, descending, sentiment, offset, limit)
        wanted = None if authors is None else {tuple(key) for key in authors}
        totals: dict[tuple[str, str], dict[str, Any]] = {}
        with self._lock:
            for doc in self._window(topic, since, until, platform):
                if doc.get("author_id") is None:
                    continue
                key = (doc["platform"], doc["author_id"])
                if wanted is not None and key not in wanted:
                    continue
                row = totals.setdefault(key, {"posts": 0, "engagement": 0, "positive": 0,
                                              "negative": 0, "neutral": 0, "times": []})
                row["posts"] += 1
                row["engagement"] += agg.engagement(doc)
                if doc.get("sentiment_label") in ("positive", "negative", "neutral"):
                    row[doc["sentiment_label"]] += 1
                if doc.get("created_at") is not None:
                    row["times"].append(doc["created_at"])
        rows = [agg.stats_row(p, a, t["posts"], t["engagement"], t["positive"], t["negative"],
                              t["neutral"], min(t["times"], default=None),
                              max(t["times"], default=None))
                for (p, a), t in totals.items()]
        if sentiment is not None:
            rows = [r for r in rows
                    if agg.net_class(r["positive"], r["negative"], r["neutral"]) == sentiment]
        ordered = agg.order_stats(rows, request)
        end = None if limit is None else offset + limit
        return AuthorPage(ordered[offset:end], len(ordered))

    def cascade_sizes(self, platform: str, root_post_ids: Iterable[str]) -> dict[str, int]:
        wanted = set(root_post_ids)
        sizes: dict[str, int] = {}
        with self._lock:
            for (p, post_id), doc in self._posts.items():
                root = doc.get("root_post_id")
                if p == platform and root in wanted and post_id != root:
                    sizes[root] = sizes.get(root, 0) + 1
        return sizes

    def get_posts(self, keys: Iterable[PostKey]) -> dict[PostKey, Post]:
        with self._lock:
            return {
                key: _record_out(Post, self._posts[key]) for key in keys if key in self._posts
            }

    def cascade(self, platform: str, root_post_id: str) -> list[Post]:
        with self._lock:
            root = self._posts.get((platform, root_post_id))
            tree = sorted(
                (
                    doc for (p, post_id), doc in self._posts.items()
                    if p == platform and post_id != root_post_id
                    and doc.get("root_post_id") == root_post_id
                ),
                key=_post_order,
            )
            docs = ([root] if root is not None else []) + tree
            return [_record_out(Post, doc) for doc in docs]

    def unscored_posts(self, model: str, *, topic: str | None = None) -> Iterator[Post]:
        with self._lock:
            docs = sorted(
                (
                    doc for doc in self._posts.values()
                    if doc.get("sentiment_model") != model
                    and (topic is None or topic in doc.get("topics", ()))
                ),
                key=_post_order,
            )
            posts = [_record_out(Post, doc) for doc in docs]
        return iter(posts)

    def authors(self, keys: Iterable[AuthorKey] | None = None) -> dict[AuthorKey, Author]:
        with self._lock:
            wanted = self._authors.keys() if keys is None else keys
            return {
                key: _record_out(Author, self._authors[key])
                for key in wanted if key in self._authors
            }

    def author_fields(self, keys: Iterable[AuthorKey], fields: Sequence[str]
                      ) -> dict[AuthorKey, dict[str, Any]]:
        names = check_author_fields(fields)
        with self._lock:
            return {key: {n: copy.deepcopy(agg.profile_field(self._authors[key], n))
                          for n in names}  # copies: the caller may change them
                    for key in keys if key in self._authors}

    def runs(
        self,
        *,
        topic: str | None = None,
        since: datetime | None = None,
        platform: str | None = None,
        kind: str | None = None,
    ) -> list[CrawlRun]:
        low = utc_text(since) if since else None
        with self._lock:
            docs = [
                doc for doc in self._runs.values()
                if (topic is None or doc.get("topic") == topic)
                and (platform is None or doc.get("platform") == platform)
                and (kind is None or doc.get("kind") == kind)
                and _within(doc.get("started_at"), low, None, low is not None)
            ]
            docs.sort(key=lambda d: window_key(d.get("started_at"), d["run_id"]))
            return [_record_out(CrawlRun, doc) for doc in docs]

    def alerts(
        self,
        *,
        monitor: str | None = None,
        since: datetime | None = None,
        status: str | None = None,
    ) -> list[Alert]:
        low = utc_text(since) if since else None
        with self._lock:
            docs = [
                doc for doc in self._alerts.values()
                if (monitor is None or doc.get("monitor") == monitor)
                and (status is None or doc.get("status") == status)
                and _within(doc.get("created_at"), low, None, low is not None)
            ]
            docs.sort(key=lambda d: window_key(d.get("created_at"), d["alert_id"]))
            return [_record_out(Alert, doc) for doc in docs]

    def monitors(self) -> list[Monitor]:
        with self._lock:
            return [_record_out(Monitor, self._monitors[name]) for name in sorted(self._monitors)]

    def get_monitor(self, name: str) -> Monitor | None:
        with self._lock:
            doc = self._monitors.get(name)
            return None if doc is None else _record_out(Monitor, doc)

    def counts(self) -> dict[str, int]:
        with self._lock:
            out = {"posts": len(self._posts)}
            for doc in self._posts.values():
                name = f"posts/{doc.get('kind')}"
                out[name] = out.get(name, 0) + 1
            out.update(
                authors=len(self._authors),
                runs=len(self._runs),
                alerts=len(self._alerts),
                monitors=len(self._monitors),
            )
            return out

    def save_events(self, monitor: str, events: Iterable[EventRecord]) -> int:
        # through the JSON text the other backends store, so the double stays faithful
        incoming = [(e, json.loads(event_data_text(e))) for e in events]
        with self._lock:
            stored = self._events.setdefault(monitor, {})
            owner = self._event_of.setdefault(monitor, {})
            for event, data in incoming:
                old = stored.get(event.event_id)
                members = list(old.members) if old else []
                for key in event.members:
                    key = (key[0], key[1])
                    if key not in owner:
                        owner[key] = event.event_id
                        members.append(key)
                stored[event.event_id] = dataclasses.replace(
                    event, canonical=(event.canonical[0], event.canonical[1]),
                    label_terms=tuple(event.label_terms), members=tuple(sorted(members)),
                    data=data,
                    first_at=event.first_at and utc(event.first_at),
                    last_at=event.last_at and utc(event.last_at),
                    updated_at=utc(event.updated_at))
        return len(incoming)

    def events(self, monitor: str, *, since: datetime | None = None) -> list[EventRecord]:
        with self._lock:
            found = [e for e in self._events.get(monitor, {}).values()
                     if since is None or (e.last_at or e.updated_at) >= since]
            out = [dataclasses.replace(e, data=copy.deepcopy(e.data)) for e in found]
        return order_events(out)


_ALERT_STATUS_FIELDS = ("status", "attempts", "sent_at", "last_error", "deliveries", "claimed_by",
                        "claimed_until", "review")


def _doc_in(record: Any) -> dict[str, Any]:
    # SqliteStore keeps JSON: refuse here what it would refuse, so the double stays faithful.
    return copy.deepcopy(json_doc(record))


def _record_out(cls: type[Any], doc: dict[str, Any]) -> Any:
    return from_dict(cls, copy.deepcopy(doc))


def _set_fields(doc: dict[str, Any], fields: dict[str, Any]) -> None:
    """Overwrite ``fields`` in a stored document; None removes the field (reads back None)."""
    for name, value in fields.items():
        if value is None:
            doc.pop(name, None)
        else:
            doc[name] = utc_text(value) if isinstance(value, datetime) else value


def _within(when: str | None, low: str | None, high: str | None, bounded: bool) -> bool:
    if when is None:
        return not bounded
    return (low is None or when >= low) and (high is None or when < high)


def _post_order(doc: dict[str, Any]) -> tuple[Any, ...]:
    return window_key(doc.get("created_at"), doc["platform"], doc["post_id"])
