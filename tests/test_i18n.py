"""The message catalogue: every marked string has its English, placeholders agree, English
output is English throughout, and a bad LANGUAGE is refused before work starts."""

from __future__ import annotations

import re
import string
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from crawlers.errors import ConfigError
from crawlers.items import Alert, Monitor, Post
from scheduler.i18n import LOCALE_DIR, check_language, wording
from scheduler.notify.card import build_card
from scheduler.notify.message import build_alert_message

ROOT = Path(__file__).resolve().parents[1]
CJK = re.compile(r"[\u3000-\u30ff\u3400-\u9fff\uff00-\uffef]")
NOW = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)


# Where reader strings are marked (``w("…")`` or the ``_("…")`` marker): the scheduler's
# messages and reports, the web app's Python and its Jinja2 templates (``{{ w("…", n=…) }}``;
# Babel's Jinja2 extractor reads the keyword placeholders as a plain call).
_SOURCES = (("scheduler", [("**.py", "python")]), ("web", [("**.py", "python")]),
            ("web/templates", [("**.html", "jinja2.ext:babel_extract")]))


def _marked() -> set[str]:
    found = [msg for folder, method_map in _SOURCES
             for _, _, msg, _, _ in extract_from_dir(str(ROOT / folder), method_map=method_map,
                                                     keywords={"_": None, "w": None})]
    return {msg for msg in found if isinstance(msg, str)}


def _catalog():
    with (LOCALE_DIR / "en" / "LC_MESSAGES" / "tingfeng.po").open("rb") as fh:
        return read_po(fh)


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_marked_string_has_an_english_translation_and_none_is_stale():
    marked = _marked()
    catalog = {m.id: m.string for m in _catalog() if m.id}
    assert len(marked) > 40
    assert sorted(marked - set(catalog)) == []  # marked in code, missing from the .po
    assert sorted(set(catalog) - marked) == []  # in the .po, no longer used
    assert [k for k, v in catalog.items() if not v] == []


def test_placeholders_agree_between_chinese_and_english():
    for message in _catalog():
        if message.id:
            assert _fields(message.id) == _fields(message.string), message.id


def _alerts() -> list[Alert]:
    window = {"window_start": NOW - timedelta(hours=1), "window_end": NOW, "created_at": NOW}
    return [
        Alert("a1", "BrandA", "negative_spike", "critical", "x", value=42, threshold=20,
              details={"expected": 10.0, "ratio": 4.2, "baseline": "seasonal", "pvalue": 1e-4},
              **window),
        Alert("a2", "BrandA", "risk_words", "warning", "x", value=7, threshold=3,
              details={"words": {"recall": 4}}, **window),
        Alert("a3", "BrandA", "crawl_health", "critical", "x", value=3, threshold=3,
              details={"platforms": {"weibo": {"runs": 3, "reasons": ["login_required"]}}},
              **window),
        Alert("a4", "BrandA", "head_tier_joined", "warning", "x", value=2, threshold=1,
              details={"accounts": ["NewsDaily (weibo)"]}, **window),
        Alert("a5", "BrandA", "negative_share", "warning", "x", value=0.42, threshold=0.3,
              **window),
    ]


def test_english_alerts_hold_no_chinese_and_chinese_ones_no_english_labels():
    monitor = Monitor("BrandA", "BrandA", recipients=["pr@example.com"])
    posts = [Post("weibo", "1", text="terrible service", author_name="someone", created_at=NOW,
                  url="https://m.weibo.cn/detail/1")]
    en = build_card(_alerts(), monitor, now=NOW, posts=posts, words=wording("en"),
                    base_url="https://tf.example.com")
    shown = " ".join([en.title, *en.summary, *en.reasons, *en.next_steps, *en.links])
    assert CJK.findall(shown) == []
    assert "times the usual" in shown and "login required" in shown
    mail = build_alert_message(_alerts(), monitor, sender="x@example.com", now=NOW, posts=posts,
                               words=wording("en"))
    text = mail.get_body(("plain",)).get_content()
    assert CJK.findall(text) == [] and "Beijing time" in text
    zh = build_card(_alerts(), monitor, now=NOW, posts=posts)
    shown = " ".join([zh.title, *zh.summary, *zh.reasons, *zh.next_steps])
    for internal in ("negative_spike", "posts/", "risk/hits", "login_required", "weibo:"):
        assert internal not in shown


def test_times_are_beijing_time_and_numbers_follow_the_locale():
    zh, en = wording("zh_CN"), wording("en")
    assert zh.time(NOW) == "2026-11-24 11:00" == en.time(NOW)
    assert zh.number(1234567) == "1,234,567" and en.percent(0.4567) == "45.7%"


@pytest.mark.parametrize("value", ["fr", "zh_TW", "english"])
def test_an_unknown_language_is_refused_naming_the_choices(value):
    with pytest.raises(ConfigError, match="zh_CN, en"):
        check_language(value)


def test_the_cli_refuses_a_bad_language_before_any_work(monkeypatch, capsys, tmp_path):
    from scheduler.cli import main

    monkeypatch.setattr("crawlers.settings.LANGUAGE", "klingon")  # as TINGFENG_LANGUAGE sets it
    code = main(["--store", f"sqlite:///{tmp_path}/s.db", "monitor", "list"])
    assert code != 0
    err = capsys.readouterr().err
    assert "LANGUAGE='klingon'" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "s.db").exists()


def test_the_web_apps_strings_are_read_from_python_and_templates():
    marked = _marked()
    # a template call with keyword placeholders, a template attribute, a route's error, a marker
    for msg in ("显示 {n} / 共 {m}", "{label}：{value}", "没有这个监测", "KOL 报告"):
        assert msg in marked, msg
