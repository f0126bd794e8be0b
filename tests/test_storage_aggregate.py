"""Time buckets of Store.post_counts (crawlers.storage._aggregate): offset stretches, slots,
bucket starts in odd zones. The backends are held to them by tests/test_storage_contract.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from crawlers.storage import _aggregate as agg


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_one_stretch_for_shanghai_and_two_per_year_for_new_york():
    year = (at("2026-01-01T00:00:00"), at("2027-01-01T00:00:00"))
    assert agg.offset_spans(ZoneInfo("Asia/Shanghai"), *year) == [(year[0], 8 * 3600)]
    spans = agg.offset_spans(ZoneInfo("America/New_York"), *year)
    assert spans == [(year[0], -5 * 3600), (at("2026-03-08T07:00:00"), -4 * 3600),
                     (at("2026-11-01T06:00:00"), -5 * 3600)]
    assert agg.slot_length(spans, "America/New_York") == 13  # whole hours: hour slots


def test_half_hour_zones_use_minute_slots_and_local_mean_time_is_refused():
    kolkata = agg.offset_spans(ZoneInfo("Asia/Kolkata"), at("2026-01-01T00:00:00"),
                               at("2026-02-01T00:00:00"))
    assert agg.slot_length(kolkata, "Asia/Kolkata") == 16
    lord_howe = agg.offset_spans(ZoneInfo("Australia/Lord_Howe"), at("2026-01-01T00:00:00"),
                                 at("2027-01-01T00:00:00"))
    assert {offset for _, offset in lord_howe} == {10 * 3600 + 1800, 11 * 3600}  # 30-min DST
    lmt = agg.offset_spans(ZoneInfo("Asia/Shanghai"), at("1890-01-01T00:00:00"),
                           at("1890-01-02T00:00:00"))
    with pytest.raises(ValueError, match="whole minute"):
        agg.slot_length(lmt, "Asia/Shanghai")


@pytest.mark.parametrize("when, bucket, zone, start", [
    ("2026-03-01T15:59:59", "day", "Asia/Shanghai", "2026-02-28T16:00:00"),
    ("2026-03-01T16:00:00", "day", "Asia/Shanghai", "2026-03-01T16:00:00"),
    ("2026-03-08T08:30:00", "day", "America/New_York", "2026-03-08T05:00:00"),  # 23-hour day
    ("2026-11-01T05:30:00", "hour", "America/New_York", "2026-11-01T05:00:00"),  # 1st 01:00
    ("2026-11-01T06:30:00", "hour", "America/New_York", "2026-11-01T06:00:00"),  # 2nd 01:00
    # Santiago skips midnight when DST starts: the day starts at its first instant, 01:00
    ("2026-09-06T12:00:00", "day", "America/Santiago", "2026-09-06T04:00:00"),
    ("2026-03-01T18:45:00", "hour", "Asia/Kathmandu", "2026-03-01T18:15:00"),  # UTC+05:45
])
def test_bucket_start(when, bucket, zone, start):
    assert agg.bucket_start(at(when), bucket, ZoneInfo(zone)) == at(start)


@pytest.mark.parametrize("kwargs, match", [
    ({"bucket": "week"}, "'hour', 'day' or None"),
    ({"by": ("author_id",)}, "platform"),
    ({"tz": "Mars/Olympus"}, "IANA"),
    ({"tz": "../etc/passwd"}, "IANA"),
])
def test_count_request_names_what_is_accepted(kwargs, match):
    args = {"bucket": "day", "by": ("sentiment_label",), "tz": "Asia/Shanghai", "since": None,
            "until": None, **kwargs}
    with pytest.raises(ValueError, match=match):
        agg.count_request(**args)


def test_a_single_field_name_is_one_field():
    request = agg.count_request("day", "platform", "UTC", None, None)
    assert request.by == ("platform",)
    assert agg.count_request(None, (), "UTC", at("2026-03-02T00:00:00"),
                             at("2026-03-01T00:00:00")).empty
    assert timedelta(seconds=request.size) == timedelta(days=1)
