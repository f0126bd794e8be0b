"""A monitor's events (stories) kept in the store, so an event keeps its id as it grows.

Each monitor run hands the posts of its window to :func:`record_events`: the events the store
holds for the monitor (those active within the run's lookback) are read back, the window's
posts are added to them with :func:`scoring.why.events.assign_events` (new stories get new
ids), and only the events that changed are saved, with only their new members. A post counted
once is never counted again (the store keeps every event's members), so a repeated or killed
run cannot duplicate an event. The step reads nothing but the events and the posts the run
already holds.

:func:`to_record` / :func:`from_record` translate between ``Event`` and the store's neutral
``EventRecord``; the store knows no scoring type.
"""

from __future__ import annotations

import base64
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from crawlers.items import Monitor, Post
from crawlers.storage.base import EventRecord, Store
from scoring.why.events import Event, KeyAccount, RepresentativePost, assign_events

__all__ = ["ACTIVE_FOR", "EventsUpdate", "from_record", "record_events", "stored_events",
           "to_record", "update_events"]


@dataclass(frozen=True)
class EventsUpdate:
    """What one run did to a monitor's events: ``events`` all of them after the run (largest
    first), ``new`` and ``grown`` the ids it created and extended, ``saved`` how many it
    wrote."""

    events: list[Event]
    new: tuple[str, ...]
    grown: tuple[str, ...]
    saved: int


def _iso(when: datetime | None) -> str | None:
    return None if when is None else when.astimezone(UTC).isoformat()


def _when(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text).astimezone(UTC)


ACTIVE_FOR = timedelta(hours=48)
"""A story with no post for this long is over: a run reads only the stories active since (the
cost of a run's step grows with the stories it reads, about 0.15 ms each: bench_why.py --step),
and a post resembling an older one starts a new story."""
_SEP = " "  # between centroid terms: match_text() leaves no space in a term
_HOURS: dict[int, datetime] = {}  # hour number → its datetime: stories share their hours


def _hour(number: int) -> datetime:
    if len(_HOURS) > 100_000:
        _HOURS.clear()
    at = _HOURS[number] = datetime.fromtimestamp(3600 * number, UTC)
    return at


def to_record(event: Event, *, updated_at: datetime,
              known_members: int = 0) -> EventRecord:
    """``event`` as the store keeps it; ``known_members`` of its members (the first ones, as
    ``assign_events`` appends) are stored already and are not sent again."""
    data: dict[str, Any] = {
        "accounts": [list(a) for a in event.accounts],
        "peak_hour": _iso(event.peak_hour),
        "platforms": dict(event.platforms),
        "positive": event.positive, "negative": event.negative, "labelled": event.labelled,
        "key_accounts": [[k.platform, k.author_id, k.author_name, k.posts, k.engagement]
                         for k in event.key_accounts],
        "representatives": [[r.platform, r.post_id, r.author_name, _iso(r.created_at), r.url,
                             r.text, r.copies, r.engagement] for r in event.representatives],
        "hours": [[int(h.timestamp()) // 3600, n] for h, n in event.hours.items()],
        # terms as one string and weights as float64 bytes: read back at C speed (a list
        # of [term, weight] pairs was half the JSON and most of its decoding time)
        "centroid_terms": _SEP.join(event.centroid),
        "centroid_weights": base64.b64encode(
            np.array(list(event.centroid.values()), dtype="<f8").tobytes()).decode(),
    }
    return EventRecord(event.event_id, event.canonical, event.label_terms, event.size,
                       event.first_hour, event.last_hour, updated_at,
                       tuple(event.members[known_members:]), data)


def from_record(record: EventRecord) -> Event:
    """The ``Event`` a stored record stands for (``assign_events`` can extend it)."""
    d = record.data
    hour = _HOURS.get
    hours = {hour(h) or _hour(h): int(n) for h, n in d.get("hours", [])}
    return Event(
        event_id=record.event_id,
        canonical=record.canonical,
        label_terms=record.label_terms,
        size=record.size,
        accounts=tuple((a[0], a[1]) for a in d.get("accounts", [])),
        first_hour=record.first_at,
        last_hour=record.last_at,
        peak_hour=_when(d.get("peak_hour")),
        platforms=Counter({str(k): int(v) for k, v in d.get("platforms", {}).items()}),
        positive=int(d.get("positive", 0)),
        negative=int(d.get("negative", 0)),
        labelled=int(d.get("labelled", 0)),
        key_accounts=tuple(KeyAccount(*k) for k in d.get("key_accounts", [])),
        representatives=tuple(RepresentativePost(r[0], r[1], r[2], _when(r[3]), r[4], r[5],
                                                 r[6], r[7])
                              for r in d.get("representatives", [])),
        members=record.members,
        hours=hours,
        centroid=_centroid(d),
    )


def _centroid(d: dict[str, Any]) -> dict[str, float]:
    terms = d.get("centroid_terms") or ""
    if not terms:
        return {}
    weights = np.frombuffer(base64.b64decode(d["centroid_weights"]), dtype="<f8").tolist()
    return dict(zip(terms.split(_SEP), weights, strict=True))


def stored_events(store: Store, monitor: str, since: datetime | None = None) -> list[Event]:
    """The monitor's stored events active at or after ``since`` (all with None)."""
    return [from_record(r) for r in store.events(monitor, since=since)]


def update_events(store: Store, monitor: str, posts: Sequence[Post], *, now: datetime,
                  active_since: datetime | None) -> EventsUpdate:
    """Add ``posts`` to the monitor's stored events (those active since ``active_since``),
    start events for new stories, and save what changed."""
    previous = stored_events(store, monitor, active_since)
    before = {e.event_id: (e.size, len(e.members)) for e in previous}
    events = assign_events(posts, previous)
    changed = [e for e in events if before.get(e.event_id, (None, 0))[0] != e.size]
    saved = store.save_events(monitor, [
        to_record(e, updated_at=now, known_members=before.get(e.event_id, (0, 0))[1])
        for e in changed]) if changed else 0
    return EventsUpdate(events, tuple(e.event_id for e in changed if e.event_id not in before),
                        tuple(e.event_id for e in changed if e.event_id in before), saved)


def record_events(store: Store, monitor: Monitor, posts: Sequence[Post], *, now: datetime,
                  window: timedelta, start: datetime) -> EventsUpdate:
    """The monitor run's step: the posts of this run's window (from the previous run on, when
    that is earlier, so a pause leaves no gap), taken from the ``posts`` the run already read
    (created since ``start``, its lookback), join the events with a post in the last
    ACTIVE_FOR (at most since ``start``)."""
    since = now - window
    if monitor.last_run_at is not None:
        since = max(start, min(since, monitor.last_run_at))
    fresh = [p for p in posts if p.created_at is not None and p.created_at >= since]
    return update_events(store, monitor.name, fresh, now=now,
                         active_since=max(start, now - ACTIVE_FOR))
