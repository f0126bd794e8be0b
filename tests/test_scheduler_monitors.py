"""Monitors: validation that names the fix, schedules (crontab weekdays), TOML round trips, and
the `tingfeng monitor` commands on a real SQLite store."""

from __future__ import annotations

import dataclasses
import re
import tomllib
from datetime import UTC, datetime, timedelta, timezone

import pytest

from crawlers.errors import ConfigError
from crawlers.items import Monitor
from crawlers.storage.memory import MemoryStore
from scheduler.cli import main
from scheduler.monitors import (
    add_monitor,
    dump_toml,
    export_toml,
    format_every,
    import_toml,
    make_trigger,
    parse_every,
    parse_threshold,
    require_monitor,
    schedule_period,
    validate_monitor,
)

SHANGHAI = timezone(timedelta(hours=8))


def _monitor(**kw) -> Monitor:
    base = dict(name="品牌A", query="品牌A AND (投诉 OR 退款) NOT 招聘",
                platforms=["weibo", "zhihu"], every=1800, recipients=["pr@example.com"])
    return Monitor(**{**base, **kw})


BAD = [
    (dict(name=""), "bad monitor name"),
    (dict(name="a:b"), "no ':'"),
    (dict(query="品牌A AND (投诉"), "unclosed '('"),
    (dict(query="NOT 招聘"), "nothing to search for"),
    (dict(platforms=["weibo", "tiktok"]),
     "unknown platform 'tiktok': use --platforms with some of weibo, wechat, zhihu, forum"),
    (dict(platforms=[]), "no platforms"),
    (dict(every=None), "exactly one schedule"),
    (dict(cron="0 * * * *"), "exactly one schedule"),
    (dict(every=30), "too often"),
    (dict(every=None, cron="61 * * * *"), "the minute field '61'"),
    (dict(every=None, cron="0 25 * * *"), "the hour field '25'"),
    (dict(every=None, cron="0 9 * * 5-1"), "the weekday field '5-1'"),
    (dict(every=None, cron="0 9 * *"), "needs 5 fields"),
    (dict(recipients=["pr@example"]), "bad email 'pr@example'"),
    (dict(recipients=["a@b.com\nBcc: x@evil.com"]), "bad email"),
    (dict(thresholds={"ALERT_NOPE": 1}),
     "unknown threshold 'ALERT_NOPE'; known: ALERT_NEGATIVE_RATIO"),
    (dict(thresholds={"ALERT_MIN_VOLUME": "many"}), "is not a number"),
]


@pytest.mark.parametrize(("changes", "words"), BAD)
def test_validation_errors_name_the_fix(changes: dict, words: str) -> None:
    with pytest.raises(ConfigError) as info:
        validate_monitor(_monitor(**changes))
    assert words in str(info.value)


def test_validation_tidies_platforms_recipients_and_threshold_names() -> None:
    m = validate_monitor(_monitor(platforms=[" Weibo", "weibo", "forum"],
                                  recipients=["a@b.com", " a@b.com", "c@d.cn"],
                                  thresholds={"alert_min_volume": "50", "ALERT_RISK_HITS": "off"}))
    assert m.platforms == ["weibo", "forum"]
    assert m.recipients == ["a@b.com", "c@d.cn"]
    assert m.thresholds == {"ALERT_MIN_VOLUME": 50.0, "ALERT_RISK_HITS": "off"}


@pytest.mark.parametrize(("text", "seconds"),
                         [("30m", 1800), ("2h", 7200), ("1d", 86400), (600, 600)])
def test_every_parses_and_formats_back(text, seconds) -> None:
    assert parse_every(text) == seconds
    assert parse_every(format_every(seconds)) == seconds


def test_threshold_option_parsing() -> None:
    assert parse_threshold("alert_negative_ratio=0.5") == ("ALERT_NEGATIVE_RATIO", 0.5)
    with pytest.raises(ConfigError, match="use NAME=VALUE"):
        parse_threshold("ALERT_NEGATIVE_RATIO")


# Sunday 2026-11-22 00:00 in Shanghai; crontab weekdays count 0 (and 7) as Sunday.
SUNDAY = datetime(2026, 11, 22, 0, 0, tzinfo=SHANGHAI)


@pytest.mark.parametrize(("cron", "expected"), [
    ("0 9 * * 1-5", datetime(2026, 11, 23, 9, 0, tzinfo=SHANGHAI)),   # Monday, not Tuesday
    ("0 9 * * 0", datetime(2026, 11, 22, 9, 0, tzinfo=SHANGHAI)),     # Sunday
    ("0 9 * * 7", datetime(2026, 11, 22, 9, 0, tzinfo=SHANGHAI)),
    ("30 8 * * 6", datetime(2026, 11, 28, 8, 30, tzinfo=SHANGHAI)),   # Saturday
    ("0 9 * * mon", datetime(2026, 11, 23, 9, 0, tzinfo=SHANGHAI)),
    ("0 */2 * * *", datetime(2026, 11, 22, 0, 0, tzinfo=SHANGHAI)),
])
def test_cron_reads_standard_crontab_weekdays_in_the_monitor_timezone(cron, expected) -> None:
    trigger = make_trigger(_monitor(every=None, cron=cron))
    assert trigger.get_next_fire_time(None, SUNDAY) == expected


def test_interval_is_anchored_at_creation_and_period_follows_the_schedule() -> None:
    created = datetime(2026, 11, 20, 2, 7, tzinfo=UTC)
    trigger = make_trigger(_monitor(created_at=created))
    now = datetime(2026, 11, 20, 5, 0, tzinfo=UTC)
    assert trigger.get_next_fire_time(None, now) == datetime(2026, 11, 20, 5, 7, tzinfo=UTC)
    assert schedule_period(_monitor(), now) == timedelta(minutes=30)
    assert schedule_period(_monitor(every=None, cron="0 */2 * * *"), now) == timedelta(hours=2)


def test_store_helpers_refuse_duplicates_and_list_known_names() -> None:
    store = MemoryStore()
    now = datetime(2026, 11, 20, tzinfo=UTC)
    add_monitor(store, _monitor(), now=now)
    with pytest.raises(ConfigError, match="already exists: change it with `tingfeng monitor edit"):
        add_monitor(store, _monitor(), now=now)
    with pytest.raises(ConfigError, match=r"no monitor named 'x' \(known: 品牌A\)"):
        require_monitor(store, "x")
    stored = store.get_monitor("品牌A")
    stored.last_run_at = now
    store.save_monitor(stored)
    later = now + timedelta(days=1)
    replaced = add_monitor(store, _monitor(every=3600), now=later, replace=True)
    assert (replaced.created_at, replaced.updated_at, replaced.last_run_at) == (now, later, now)


def test_toml_writer_round_trips_awkward_strings_through_tomllib() -> None:
    awkward = 'quote " back\\slash \t tab \n newline \x01 ctrl \x7f del 中文 😀 \u2028'
    rows = [{"s": awkward, "n": 3, "f": 0.1, "b": True, "list": ["a", awkward],
             "table": {"KEY": 1.5, "odd key": "x"}}]
    assert tomllib.loads(dump_toml({"row": rows})) == {"row": rows}


def test_export_import_round_trip_keeps_definitions() -> None:
    monitors = [
        validate_monitor(_monitor(query='品牌A "新品 发布" NOT 招聘', thresholds={
            "ALERT_NEGATIVE_RATIO": 0.5, "ALERT_RISK_HITS": "off"})),
        validate_monitor(_monitor(name="新品", every=None, cron="0 */2 * * *", recipients=[],
                                  paused=True)),
    ]
    text = export_toml(monitors)
    assert import_toml(text) == monitors
    assert export_toml(import_toml(text)) == text


@pytest.mark.parametrize(("text", "words"), [
    ('[[monitor]]\nname = "a"\nquery = "x"\nplatforms = ["weibo"]\nevery = "30m"\n'
     '[[monitor]]\nname = "b"\nquery = "x"\nplatforms = ["tiktok"]\nevery = "30m"\n',
     "monitor #2 ('b'): unknown platform 'tiktok'"),
    ('[[monitor]]\nname = "a"\nquery = "x"\nplatforms = ["weibo"]\nevery = "30m"\ncolour = 1\n',
     "monitor #1 ('a'): unknown key 'colour'"),
    ('[[monitor]]\nname = "a"\nquery = "x"\nplatforms = ["weibo"]\nevery = "30m"\n' * 2,
     "defined twice"),
    ("[[monitor]\n", "not valid TOML"),
    ('[other]\nx = 1\n', "expected [[monitor]] tables only"),
])
def test_import_errors_name_the_entry_and_the_fix(text: str, words: str) -> None:
    with pytest.raises(ConfigError) as info:
        import_toml(text)
    assert words in str(info.value)


# -- the commands ----------------------------------------------------------------------------
def _tf(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_monitor_commands_on_a_sqlite_store(tmp_path, capsys) -> None:
    store = f"sqlite:///{tmp_path}/t.db"
    code, out, _ = _tf(capsys, "--store", store, "monitor", "add", "品牌A",
                       "--query", "品牌A AND (投诉 OR 退款) NOT 招聘", "--platforms", "weibo,zhihu",
                       "--every", "30m", "--alert-to", "a@b.com,c@d.com",
                       "--threshold", "ALERT_NEGATIVE_RATIO=0.5")
    assert code == 0 and "added 品牌A  [active]  every 30m  weibo,zhihu" in out
    code, _, err = _tf(capsys, "--store", store, "monitor", "add", "坏",
                       "--query", "品牌A AND (投诉", "--platforms", "weibo", "--every", "30m")
    assert code == 2 and "unclosed '('" in err and err.rstrip().endswith("^")

    code, out, _ = _tf(capsys, "--store", store, "monitor", "show", "品牌A")
    assert "searches:   品牌A 投诉 | 品牌A 退款" in out and "a@b.com, c@d.com" in out
    _tf(capsys, "--store", store, "monitor", "edit", "品牌A", "--cron", "0 */2 * * *",
        "--threshold", "ALERT_RISK_HITS=off", "--alert-to", "e@f.com")
    _tf(capsys, "--store", store, "monitor", "pause", "品牌A")
    code, out, _ = _tf(capsys, "--store", store, "monitor", "list")
    assert out.startswith("品牌A  [paused]  cron 0 */2 * * *")

    exported = tmp_path / "m.toml"
    _tf(capsys, "--store", store, "monitor", "export", "-o", str(exported))
    data = tomllib.loads(exported.read_text(encoding="utf-8"))["monitor"][0]
    assert data["recipients"] == ["a@b.com", "c@d.com", "e@f.com"]
    assert data["thresholds"] == {"ALERT_NEGATIVE_RATIO": 0.5, "ALERT_RISK_HITS": "off"}
    other = f"sqlite:///{tmp_path}/other.db"
    code, out, _ = _tf(capsys, "--store", other, "monitor", "import", str(exported))
    assert code == 0 and "1 new" in out
    _, again, _ = _tf(capsys, "--store", other, "monitor", "export")
    assert again == exported.read_text(encoding="utf-8")

    _tf(capsys, "--store", store, "monitor", "resume", "品牌A")
    code, out, _ = _tf(capsys, "--store", store, "monitor", "remove", "品牌A")
    assert code == 0
    code, _, err = _tf(capsys, "--store", store, "monitor", "show", "品牌A")
    assert code == 2 and "no monitor named '品牌A' (known: none yet)" in err


def test_edit_keeps_what_is_not_given(tmp_path, capsys) -> None:
    store = f"sqlite:///{tmp_path}/t.db"
    _tf(capsys, "--store", store, "monitor", "add", "m", "--query", "a", "--platforms", "weibo",
        "--cron", "0 9 * * 1-5", "--alert-to", "a@b.com")
    _tf(capsys, "--store", store, "monitor", "edit", "m", "--platforms", "forum")
    from crawlers.storage import open_store

    with open_store(store) as s:
        m = s.get_monitor("m")
    assert dataclasses.astuple(m)[:6] == ("m", "a", ["forum"], None, "0 9 * * 1-5", ["a@b.com"])


@pytest.mark.parametrize(("text", "args"), [
    ("feed:https://example.com/rss.xml", {"feed": "https://example.com/rss.xml"}),
    ("discuz:https://bbs.example.com/?fid=2", {"discuz": "https://bbs.example.com/", "fid": "2"}),
    ("discuz-api:https://bbs.example.com/forum/?fid=2,36",
     {"discuz": "https://bbs.example.com/forum/", "fid": "2,36", "api": "1"}),
])
def test_sources_become_forum_spider_arguments(text, args):
    from scheduler.monitors import parse_source

    assert parse_source(text) == args


@pytest.mark.parametrize(("text", "hint"), [
    ("https://example.com/rss", "use feed:"), ("feed:ftp://x/rss", "http(s)"),
    ("discuz:https://bbs.example.com/", "?fid="), ("site:nowhere", "known:"),
    ("rss:https://x.com/feed", "use feed:"),
])
def test_bad_sources_are_refused_with_the_fix(text, hint):
    from scheduler.monitors import parse_source

    with pytest.raises(ConfigError, match=re.escape(hint)):
        parse_source(text)


def test_a_monitor_of_sources_alone_is_valid_and_round_trips_through_toml():
    from scheduler.monitors import export_toml, import_toml, validate_monitor

    m = validate_monitor(Monitor("论坛监测", "品牌A", every=1800,
                                 sources=["feed:https://example.com/rss.xml",
                                          "discuz:https://bbs.example.com/?fid=2"]))
    assert m.platforms == [] and len(m.sources) == 2
    [back] = import_toml(export_toml([m]))
    assert back.sources == m.sources
    with pytest.raises(ConfigError, match="no platforms or sources"):
        validate_monitor(Monitor("空", "品牌A", every=1800))


def test_monitor_add_with_sources_robots_and_quiet_hours_shows_them(tmp_path, capsys) -> None:
    store = f"sqlite:///{tmp_path}/t.db"
    code, out, err = _tf(capsys, "--store", store, "monitor", "add", "论坛",
                         "--query", "品牌A", "--every", "1h",
                         "--source", "discuz:https://bbs.example.com/?fid=2",
                         "--source", "feed:https://news.example.com/rss.xml",
                         "--alert-to", "wecom://${WECOM_KEY}", "--quiet-hours", "22:00-08:00")
    assert code == 0, err
    code, out, _ = _tf(capsys, "--store", store, "monitor", "show", "论坛")
    assert "Discuz! bbs.example.com" in out and "RSS news.example.com" in out
    assert "wecom://${WECOM_KEY}" in out and "ALERT_QUIET_HOURS=22:00-08:00" in out
    code, _, err = _tf(capsys, "--store", store, "monitor", "edit", "论坛",
                       "--quiet-hours", "25:00-08:00")
    assert code != 0 and "HH:MM-HH:MM" in err
    code, _, err = _tf(capsys, "--store", store, "monitor", "edit", "论坛",
                       "--alert-to", "dingtalk://literal-token")
    assert code != 0 and "${DINGTALK_TOKEN}" in err
