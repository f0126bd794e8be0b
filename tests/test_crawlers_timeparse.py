"""crawlers.timeparse: every timestamp form, table-driven against a fixed ``now``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from crawlers.timeparse import CHINA_TZ, parse_time

# 2019-06-16 20:00 in Beijing: the Weibo fixtures were recorded around then.
NOW = datetime(2019, 6, 16, 12, 0, 0, tzinfo=UTC)
# 2026-01-01 00:30 in Beijing (still 2025-12-31 16:30 UTC): the year just rolled over.
NEW_YEAR = datetime(2025, 12, 31, 16, 30, tzinfo=UTC)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


CASES = [
    # relative
    ("刚刚", NOW, NOW),
    ("30秒前", NOW, NOW - timedelta(seconds=30)),
    ("5分钟前", NOW, NOW - timedelta(minutes=5)),
    ("3小时前", NOW, NOW - timedelta(hours=3)),
    ("2天前", NOW, NOW - timedelta(days=2)),
    ("1周前", NOW, NOW - timedelta(weeks=1)),
    ("  4分钟前 ", NOW, NOW - timedelta(minutes=4)),
    # calendar words, in Beijing days: 今天 is 2019-06-16 there
    ("今天 08:37", NOW, utc(2019, 6, 16, 0, 37)),
    ("今天08:37", NOW, utc(2019, 6, 16, 0, 37)),
    ("昨天 20:39", NOW, utc(2019, 6, 15, 12, 39)),
    ("昨天 00:05", NOW, utc(2019, 6, 14, 16, 5)),
    ("前天 12:00", NOW, utc(2019, 6, 14, 4, 0)),
    ("前天", NOW, utc(2019, 6, 13, 16, 0)),
    # month-day without a year: this year…
    ("06-14", NOW, utc(2019, 6, 13, 16, 0)),
    ("06-14 20:39", NOW, utc(2019, 6, 14, 12, 39)),
    ("6月14日 20:39", NOW, utc(2019, 6, 14, 12, 39)),
    ("01-01", NOW, utc(2018, 12, 31, 16, 0)),
    # …or last year when this year's date is still ahead
    ("12-31", NOW, utc(2018, 12, 30, 16, 0)),
    ("06-17", NOW, utc(2018, 6, 16, 16, 0)),
    # full dates
    ("2019-06-14", NOW, utc(2019, 6, 13, 16, 0)),
    ("2017-05-16 08:37", NOW, utc(2017, 5, 16, 0, 37)),
    ("2017-05-16 08:37:45", NOW, utc(2017, 5, 16, 0, 37, 45)),
    ("2017年5月16日 08:37", NOW, utc(2017, 5, 16, 0, 37)),
    # the Weibo API form, its own offset
    ("Sat Jun 15 20:58:33 +0800 2019", NOW, utc(2019, 6, 15, 12, 58, 33)),
    ("Fri Jun 14 20:39:20 +0800 2019", NOW, utc(2019, 6, 14, 12, 39, 20)),
    ("Wed Feb 01 17:05:36 +0800 2017", NOW, utc(2017, 2, 1, 9, 5, 36)),
    ("Mon Jan 01 00:00:00 -0500 2018", NOW, utc(2018, 1, 1, 5, 0)),
    # unix time: the legacy pages' date="1494895065000" attribute
    (1494895065, NOW, utc(2017, 5, 16, 0, 37, 45)),
    (1494895065000, NOW, utc(2017, 5, 16, 0, 37, 45)),
    ("1494895065000", NOW, utc(2017, 5, 16, 0, 37, 45)),
    (1494895065.5, NOW, utc(2017, 5, 16, 0, 37, 45, 500000)),
    # ISO 8601
    ("2019-06-14T20:39:20+08:00", NOW, utc(2019, 6, 14, 12, 39, 20)),
    ("2019-06-14T12:39:20Z", NOW, utc(2019, 6, 14, 12, 39, 20)),
    ("2019-06-14T20:39:20", NOW, utc(2019, 6, 14, 12, 39, 20)),
    # year rollover: in Beijing it is already 2026-01-01
    ("今天 00:10", NEW_YEAR, utc(2025, 12, 31, 16, 10)),
    ("昨天 23:50", NEW_YEAR, utc(2025, 12, 31, 15, 50)),
    ("12-31 23:50", NEW_YEAR, utc(2025, 12, 31, 15, 50)),
    ("12-30", NEW_YEAR, utc(2025, 12, 29, 16, 0)),
    ("01-01 00:20", NEW_YEAR, utc(2025, 12, 31, 16, 20)),
    ("01-01 08:00", NEW_YEAR, utc(2025, 1, 1, 0, 0)),  # later today would be the future: 2025's
    ("20分钟前", NEW_YEAR, utc(2025, 12, 31, 16, 10)),
    # 02-29 seen in 2025 can only be 2024's
    ("02-29", utc(2025, 3, 1), utc(2024, 2, 28, 16, 0)),
    # ... and seen in early 2025 before March, or in 2027, still the last leap year's
    ("02-29", utc(2027, 1, 10), utc(2024, 2, 28, 16, 0)),
]


@pytest.mark.parametrize(("text", "now", "expected"), CASES, ids=[str(c[0]) for c in CASES])
def test_parse_time(text: object, now: datetime, expected: datetime) -> None:
    result = parse_time(text, now=now)  # type: ignore[arg-type]
    assert result == expected
    assert result.tzinfo is UTC


@pytest.mark.parametrize(
    "text",
    ["", "   ", "明天 12:00", "3个月前", "13-45", "2019-02-30", "Sat Foo 15 20:58:33 +0800 2019",
     "abc", "12:30"],
)
def test_unrecognised_text_names_the_text(text: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_time(text, now=NOW)
    if text.strip():
        assert repr(text) in str(info.value)


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        parse_time("刚刚", now=datetime(2019, 6, 16))


def test_other_timezone_for_calendar_days() -> None:
    # A platform in UTC: 今天 is the UTC day of now.
    assert parse_time("今天 08:00", now=NOW, tz=UTC) == utc(2019, 6, 16, 8, 0)
    assert parse_time("2019-06-14 08:00", now=NOW, tz=UTC) == utc(2019, 6, 14, 8, 0)


def test_datetimes_pass_through_as_utc() -> None:
    aware = datetime(2019, 6, 14, 20, 0, tzinfo=CHINA_TZ)
    assert parse_time(aware, now=NOW) == utc(2019, 6, 14, 12, 0)
    assert parse_time(datetime(2019, 6, 14, 20, 0), now=NOW) == utc(2019, 6, 14, 12, 0)
