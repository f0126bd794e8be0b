"""Chinese social-media timestamps → aware UTC datetimes, parsed against an explicit ``now``.

Shared by every platform module. Pure standard library; imports nothing from Tingfeng.

Forms (platform times are China time, UTC+8, unless they carry their own offset)::

    刚刚 · 30秒前 · 5分钟前 · 3小时前 · 2天前 · 1周前     relative to ``now``
    今天 12:30 · 昨天 12:30 · 前天 12:30 (time optional)  calendar days in ``tz``
    06-14 · 06-14 20:39 · 6月14日 20:39                  this year (last year if that is ahead)
    2019-06-14 · 2019-06-14 20:39[:05] · 2019年6月14日 20:39
    Sat Jun 15 20:58:33 +0800 2019                       Weibo API (locale independent)
    1494895065 · 1494895065000 · "1494895065000"         unix seconds or milliseconds
    2019-06-14T20:39:20+08:00                            ISO 8601 (naive means ``tz``)
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo

__all__ = ["CHINA_TZ", "parse_duration", "parse_since", "parse_time"]

CHINA_TZ = timezone(timedelta(hours=8), "UTC+8")
"""China Standard Time. No daylight saving time since 1991, so a fixed offset is exact."""

_RELATIVE_UNITS = {"秒": "seconds", "分钟": "minutes", "分": "minutes", "小时": "hours",
                   "天": "days", "周": "weeks"}
_RELATIVE = re.compile(r"^(\d+)\s*(秒|分钟|分|小时|天|周)\s*前$")
_DAY_WORD = re.compile(r"^(今天|昨天|前天)\s*(?:(\d{1,2}):(\d{2})(?::(\d{2}))?)?$")
_DAY_OFFSETS = {"今天": 0, "昨天": 1, "前天": 2}
# Year optional: "06-14", "2019-06-14 20:39:05", "6月14日 20:39", "2019年6月14日".
_CALENDAR = re.compile(
    r"^(?:(\d{4})[-/年])?(\d{1,2})[-/月](\d{1,2})日?"
    r"(?:\s*(\d{1,2}):(\d{2})(?::(\d{2}))?)?$"
)
_MONTHS = {m: i for i, m in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), start=1)}
_API = re.compile(
    r"^[A-Za-z]{3}\s+([A-Za-z]{3})\s+(\d{1,2})\s+(\d{2}):(\d{2}):(\d{2})\s+([+-])(\d{2})(\d{2})\s+(\d{4})$"
)
_UNIX = re.compile(r"^\d{9,13}(?:\.\d+)?$")
# Seconds since the epoch stay below this until the year 5138; anything larger is milliseconds.
_MS_THRESHOLD = 1e11


def parse_time(
    text: str | int | float | datetime,
    *,
    now: datetime,
    tz: tzinfo = CHINA_TZ,
) -> datetime:
    """Parse one platform timestamp into an aware UTC datetime.

    ``now`` (aware) anchors relative forms and decides the year of year-less dates: a date
    without a year is this year (in ``tz``), or last year when this year's would lie after
    ``now`` (Weibo shows "MM-DD" only for past posts, so a future one must be last year's).

    :raises ValueError: naming ``text`` when no form matches, or when ``now`` is naive.

    >>> now = datetime(2019, 6, 16, 12, 0, tzinfo=UTC)
    >>> parse_time("昨天 20:39", now=now).isoformat()
    '2019-06-15T12:39:00+00:00'
    >>> parse_time("Sat Jun 15 20:58:33 +0800 2019", now=now).isoformat()
    '2019-06-15T12:58:33+00:00'
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError(f"parse_time needs an aware 'now', got naive {now!r}")
    if isinstance(text, datetime):
        return _utc(text if text.tzinfo else text.replace(tzinfo=tz))
    if isinstance(text, bool):
        raise ValueError(f"not a timestamp: {text!r}")
    if isinstance(text, (int, float)):
        return _from_unix(float(text))
    raw = text
    text = text.strip()
    if not text:
        raise ValueError("empty timestamp")
    try:
        result = _parse_text(text, now=now, tz=tz)
    except (ValueError, OverflowError) as exc:
        raise ValueError(f"unrecognised timestamp {raw!r}: {exc}") from None
    if result is None:
        raise ValueError(
            f"unrecognised timestamp {raw!r}: expected 刚刚, N分钟前, 今天/昨天 HH:MM, MM-DD, "
            "YYYY-MM-DD[ HH:MM[:SS]], 'Sat Jun 15 20:58:33 +0800 2019', unix time or ISO 8601"
        )
    return result


def _parse_text(text: str, *, now: datetime, tz: tzinfo) -> datetime | None:
    if text == "刚刚":
        return _utc(now)
    if m := _RELATIVE.match(text):
        return _utc(now - timedelta(**{_RELATIVE_UNITS[m.group(2)]: int(m.group(1))}))
    if m := _DAY_WORD.match(text):
        day = now.astimezone(tz).date() - timedelta(days=_DAY_OFFSETS[m.group(1)])
        return _local(day, (m.group(2), m.group(3), m.group(4)), tz)
    if m := _CALENDAR.match(text):
        year, month, day_of_month = m.group(1), int(m.group(2)), int(m.group(3))
        clock = (m.group(4), m.group(5), m.group(6))
        if year:
            return _local(date(int(year), month, day_of_month), clock, tz)
        return _without_year(month, day_of_month, clock, now=now, tz=tz)
    if m := _API.match(text):
        mon, dom, hh, mm, ss, sign, oh, om, yyyy = m.groups()
        if mon.lower() not in _MONTHS:
            return None
        offset = timedelta(hours=int(oh), minutes=int(om)) * (-1 if sign == "-" else 1)
        local = datetime(int(yyyy), _MONTHS[mon.lower()], int(dom), int(hh), int(mm), int(ss),
                         tzinfo=timezone(offset))
        return _utc(local)
    if _UNIX.match(text):
        return _from_unix(float(text))
    try:
        iso = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return _utc(iso if iso.tzinfo else iso.replace(tzinfo=tz))


_Clock = tuple[str | None, str | None, str | None]  # (hours, minutes, seconds), each optional


def _without_year(month: int, dom: int, clock: _Clock, *, now: datetime, tz: tzinfo) -> datetime:
    this_year = now.astimezone(tz).year
    try:
        candidate = _local(date(this_year, month, dom), clock, tz)
    except ValueError:
        candidate = None  # 02-29 outside a leap year: it can only be an earlier year's date
    if candidate is not None and candidate <= now:
        return candidate
    # The most recent earlier year that has this day (02-29 goes back to the last leap year).
    for year in range(this_year - 1, this_year - 9, -1):
        try:
            return _local(date(year, month, dom), clock, tz)
        except ValueError:
            continue
    raise ValueError(f"no year has {month:02d}-{dom:02d}")


def _local(day: date, clock: _Clock, tz: tzinfo) -> datetime:
    hh, mm, ss = (int(part or 0) for part in clock)
    return _utc(datetime(day.year, day.month, day.day, hh, mm, ss, tzinfo=tz))


def _from_unix(value: float) -> datetime:
    if value > _MS_THRESHOLD:
        value /= 1000.0
    return datetime.fromtimestamp(value, tz=UTC)


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


# -- user input: durations and window starts (CLI --since, spider -a since=) -----------------
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str) -> timedelta:
    """'30m', '2h', '7d', '1w', '45s' → timedelta.

    >>> parse_duration("7d")
    datetime.timedelta(days=7)
    """
    from crawlers.errors import ConfigError

    m = _DURATION.match(text)
    if not m:
        raise ConfigError(f"bad duration {text!r}: use a number and a unit, e.g. 30m, 2h, 7d, 1w")
    return timedelta(seconds=float(m.group(1)) * _UNITS[m.group(2)])


def parse_since(text: str | None, now: datetime | None = None) -> datetime | None:
    """A window start: a duration back from ``now`` ('7d', '12h') or an ISO date/time (UTC
    when it has no offset) → aware datetime; None for an empty value.

    >>> parse_since("2d", datetime(2026, 1, 3, tzinfo=UTC)).isoformat()
    '2026-01-01T00:00:00+00:00'
    """
    from crawlers.errors import ConfigError

    if not text:
        return None
    text = text.strip()
    if _DURATION.match(text):
        return (now or datetime.now(UTC)) - parse_duration(text)
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise ConfigError(
            f"bad since {text!r}: use a duration like 7d, 12h, 30m or a date like 2026-11-01"
        ) from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)
