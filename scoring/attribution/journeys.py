"""Touchpoints, conversions and the journeys the attribution models read.

A *journey* is one user's touchpoints, in time order, that lead up to one conversion (or lead
nowhere). ``build_journeys`` cuts them; ``read_touchpoints`` / ``read_conversions`` load CSV or
JSON-lines files, counting bad rows instead of failing. Pure standard library.
"""

from __future__ import annotations

import csv
import json
import math
from bisect import bisect_left, bisect_right
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any
from zoneinfo import ZoneInfo

__all__ = [
    "DIRECT",
    "Conversion",
    "Journey",
    "Touchpoint",
    "build_journeys",
    "read_conversions",
    "read_touchpoints",
]

DIRECT = "(direct)"
_MIN_LOOKBACK = timedelta(days=1)
_MAX_LOOKBACK = timedelta(days=90)
_JSON_SUFFIXES = frozenset({".jsonl", ".ndjson", ".json"})


def _require_aware(at: datetime, what: str) -> None:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"{what}.at must be timezone-aware (UTC), got naive {at.isoformat()}")


@dataclass(frozen=True, slots=True)
class Touchpoint:
    """One contact between a user and a channel (an ad view, a mail open, a KOL repost seen).

    ``at`` is an aware datetime (UTC by convention); ``value`` is an optional per-touch number
    (cost, engagement) that is carried along but not used by the models.
    """

    user: str
    channel: str
    at: datetime
    value: float | None = None

    def __post_init__(self) -> None:
        _require_aware(self.at, "Touchpoint")


@dataclass(frozen=True, slots=True)
class Conversion:
    """One conversion of a user at ``at`` (aware), worth ``value`` (default 1: a count)."""

    user: str
    at: datetime
    value: float = 1.0

    def __post_init__(self) -> None:
        _require_aware(self.at, "Conversion")


@dataclass(frozen=True, slots=True)
class Journey:
    """The touchpoints one user had before one conversion, or before giving up.

    ``channels`` and ``times`` are aligned and in time order (``times`` may be left empty for
    hand-built journeys; only ``time_decay`` needs it). ``at`` is the conversion time (None when
    not converted); ``value`` is the conversion's value and is ignored when not converted.
    """

    user: str
    channels: tuple[str, ...]
    converted: bool
    value: float = 1.0
    times: tuple[datetime, ...] = ()
    at: datetime | None = None

    def __post_init__(self) -> None:
        if self.times and len(self.times) != len(self.channels):
            raise ValueError(
                f"Journey of {self.user!r}: {len(self.times)} times for "
                f"{len(self.channels)} channels"
            )


def build_journeys(
    touchpoints: Iterable[Touchpoint],
    conversions: Iterable[Conversion],
    *,
    lookback: timedelta = timedelta(days=30),
    direct: str | None = DIRECT,
) -> list[Journey]:
    """Cut each user's touchpoints into journeys, one per conversion.

    A conversion at time *c* takes the user's touchpoints with ``c - lookback <= t <= c`` that
    came after the user's previous conversion (a touch at the same instant as a conversion
    counts for it). Touchpoints after a user's last conversion, or of a user who never
    converted, form one non-converted journey: those within ``lookback`` of the last of them.
    Touchpoints older than every window are dropped.

    Parameters
    ----------
    touchpoints, conversions : iterables of Touchpoint and Conversion, in any order
    lookback : timedelta, between 1 and 90 days
    direct : channel name given to a conversion with no touchpoint in its window, so that
        every model still credits its value; None drops such conversions instead.

    Returns
    -------
    list of Journey, by user, then in time order (a user's non-converted journey last).

    Raises
    ------
    ValueError
        If ``lookback`` is outside 1–90 days.

    Examples
    --------
    >>> d = lambda day: datetime(2026, 3, day, tzinfo=UTC)
    >>> touches = [Touchpoint("u1", "ads", d(1)), Touchpoint("u1", "mail", d(3)),
    ...            Touchpoint("u1", "ads", d(9)), Touchpoint("u2", "kol", d(2))]
    >>> for j in build_journeys(touches, [Conversion("u1", d(5), 20.0)]):
    ...     print(j.user, j.channels, j.converted, j.value)
    u1 ('ads', 'mail') True 20.0
    u1 ('ads',) False 0.0
    u2 ('kol',) False 0.0
    """
    if not _MIN_LOOKBACK <= lookback <= _MAX_LOOKBACK:
        raise ValueError(f"lookback must be between 1 and 90 days, got {lookback}")
    touches_by_user: defaultdict[str, list[Touchpoint]] = defaultdict(list)
    for touch in touchpoints:
        touches_by_user[touch.user].append(touch)
    conversions_by_user: defaultdict[str, list[Conversion]] = defaultdict(list)
    for conversion in conversions:
        conversions_by_user[conversion.user].append(conversion)

    journeys: list[Journey] = []
    for user in sorted(touches_by_user.keys() | conversions_by_user.keys()):
        touches = sorted(touches_by_user.get(user, ()), key=_at)  # stable: ties keep input order
        times = [t.at for t in touches]
        previous = 0  # index of the first touch not yet taken by an earlier conversion
        for conversion in sorted(conversions_by_user.get(user, ()), key=_at):
            start = max(previous, bisect_left(times, conversion.at - lookback))
            end = bisect_right(times, conversion.at)
            window = touches[start:end]
            previous = max(previous, end)
            if window:
                journeys.append(_journey(user, window, conversion))
            elif direct is not None:
                journeys.append(Journey(user, (direct,), True, conversion.value,
                                        (conversion.at,), conversion.at))
        trailing = touches[previous:]
        if trailing:
            first = bisect_left(times, trailing[-1].at - lookback, lo=previous)
            journeys.append(_journey(user, touches[first:], None))
    return journeys


def _at(record: Touchpoint | Conversion) -> datetime:
    return record.at


def _journey(user: str, touches: list[Touchpoint], conversion: Conversion | None) -> Journey:
    channels = tuple(t.channel for t in touches)
    times = tuple(t.at for t in touches)
    if conversion is None:
        return Journey(user, channels, False, 0.0, times, None)
    return Journey(user, channels, True, conversion.value, times, conversion.at)


def read_touchpoints(
    path: str | Path, *, tz: str = "Asia/Shanghai"
) -> tuple[list[Touchpoint], Counter[str]]:
    """Read touchpoints from a CSV or JSON-lines file with fields user, channel, time[, value].

    ``time`` is ISO-8601; a time without an offset is read in ``tz`` (the platforms' local
    time). Bad rows are skipped and counted by reason (``missing_user``, ``missing_channel``,
    ``missing_time``, ``bad_time``, ``bad_value``, ``bad_json``, ``bad_csv``,
    ``bad_encoding``); the file as a whole never fails. JSON lines are chosen by the suffix
    (.jsonl, .ndjson, .json) or, for any other suffix, by a first line starting with ``{``.

    Returns
    -------
    (touchpoints, skipped) : list of Touchpoint in file order, Counter of skip reasons
    """
    zone = ZoneInfo(tz)
    rows: list[Touchpoint] = []
    skipped: Counter[str] = Counter()
    for record in _records(Path(path), skipped):
        user, channel = record.get("user"), record.get("channel")
        if not isinstance(user, str) or not user.strip():
            skipped["missing_user"] += 1
        elif not isinstance(channel, str) or not channel.strip():
            skipped["missing_channel"] += 1
        elif (at := _parse_time(record.get("time"), zone, skipped)) is None:
            pass
        elif not isinstance(value := _parse_value(record.get("value"), None, skipped), _Bad):
            rows.append(Touchpoint(user.strip(), channel.strip(), at, value))
    return rows, skipped


def read_conversions(
    path: str | Path, *, tz: str = "Asia/Shanghai"
) -> tuple[list[Conversion], Counter[str]]:
    """Read conversions from a CSV or JSON-lines file with fields user, time[, value].

    Same rules as ``read_touchpoints`` (a ``channel`` field, if present, is ignored); a missing
    value means 1, and a negative or non-finite value is a ``bad_value``.
    """
    zone = ZoneInfo(tz)
    rows: list[Conversion] = []
    skipped: Counter[str] = Counter()
    for record in _records(Path(path), skipped):
        user = record.get("user")
        if not isinstance(user, str) or not user.strip():
            skipped["missing_user"] += 1
        elif (at := _parse_time(record.get("time"), zone, skipped)) is None:
            pass
        elif not isinstance(value := _parse_value(record.get("value"), 1.0, skipped), _Bad):
            if value is None or value < 0:
                skipped["bad_value"] += 1
            else:
                rows.append(Conversion(user.strip(), at, value))
    return rows, skipped


class _Bad:
    """Marker for a value that failed to parse (None is a legitimate 'no value')."""


_BAD = _Bad()


def _parse_time(raw: object, zone: ZoneInfo, skipped: Counter[str]) -> datetime | None:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        skipped["missing_time"] += 1
        return None
    try:
        if not isinstance(raw, str):
            raise TypeError(raw)
        at = datetime.fromisoformat(raw.strip())
    except (TypeError, ValueError):
        skipped["bad_time"] += 1
        return None
    if at.tzinfo is None:
        at = at.replace(tzinfo=zone)
    return at.astimezone(UTC)


def _parse_value(raw: object, default: float | None, skipped: Counter[str]) -> float | None | _Bad:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return default
    try:
        if isinstance(raw, bool) or not isinstance(raw, (int, float, str)):
            raise TypeError(raw)
        value = float(raw)
    except (TypeError, ValueError):
        value = math.nan
    if not math.isfinite(value):
        skipped["bad_value"] += 1
        return _BAD
    return value


def _records(path: Path, skipped: Counter[str]) -> Iterator[Mapping[str, Any]]:
    # surrogateescape keeps undecodable bytes visible, so a garbled row is skipped and counted
    # rather than accepted with U+FFFD in its user id.
    with path.open(encoding="utf-8-sig", errors="surrogateescape", newline="") as handle:
        first = handle.readline()
        handle.seek(0)
        if path.suffix.lower() in _JSON_SUFFIXES or first.lstrip().startswith("{"):
            yield from _json_records(handle, skipped)
        else:
            yield from _csv_records(handle, skipped)


def _json_records(handle: IO[str], skipped: Counter[str]) -> Iterator[Mapping[str, Any]]:
    for line in handle:
        if not line.strip():
            continue
        if _has_surrogates(line):
            skipped["bad_encoding"] += 1
            continue
        try:
            record = json.loads(line)
        except ValueError:
            skipped["bad_json"] += 1
            continue
        if isinstance(record, dict):
            yield record
        else:
            skipped["bad_json"] += 1


def _csv_records(handle: IO[str], skipped: Counter[str]) -> Iterator[Mapping[str, Any]]:
    reader = csv.DictReader(handle)
    if reader.fieldnames:  # tolerate "User, Channel, Time" headers
        reader.fieldnames = [name.strip().lower() for name in reader.fieldnames]
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error:  # e.g. a field over csv.field_size_limit(); the reader moves on
            skipped["bad_csv"] += 1
            continue
        if any(isinstance(v, str) and _has_surrogates(v) for v in row.values()):
            skipped["bad_encoding"] += 1
            continue
        yield row


def _has_surrogates(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False
