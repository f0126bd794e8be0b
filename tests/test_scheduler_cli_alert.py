"""``tingfeng alert``: list, show, review, precision and test, on a real SQLite store."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from crawlers.items import Alert
from crawlers.storage import open_store
from scheduler.cli import main

NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
def uri(tmp_path):
    uri = f"sqlite:///{tmp_path}/alerts.db"
    with open_store(uri) as store:
        for i, rule in enumerate(["risk_words", "risk_words", "negative_share"]):
            store.save_alert(Alert(f"品牌A:{rule}:{i}", "品牌A", rule, "warning", "internal",
                                   value=7 if rule == "risk_words" else 0.5, threshold=3,
                                   created_at=NOW - timedelta(hours=i),
                                   window_start=NOW - timedelta(hours=i + 1),
                                   window_end=NOW - timedelta(hours=i),
                                   details={"words": {"爆炸": 4}}))
    return uri


def test_list_shows_a_sentence_per_alert_and_its_delivery(uri, capsys):
    assert main(["alert", "list", "--store", uri]) == 0
    out = capsys.readouterr().out
    assert out.count("品牌A:risk_words") == 2 and "风险词出现 7 次" in out and "未发送" in out
    assert "risk/hits" not in out


def test_review_then_precision_per_rule(uri, capsys):
    assert main(["alert", "review", "品牌A:risk_words:0", "--verdict", "confirmed",
                 "--store", uri]) == 0
    assert main(["alert", "review", "品牌A:risk_words:1", "--verdict", "false-alarm",
                 "--note", "同名品牌", "--by", "王", "--store", uri]) == 0
    capsys.readouterr()
    assert main(["alert", "precision", "--format", "json", "--store", uri]) == 0
    rows = {r["rule"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["risk_words"] == {"rule": "risk_words", "alerts": 2, "reviewed": 2,
                                  "confirmed": 1, "false_alarms": 1, "precision": 0.5}
    assert rows["negative_share"]["precision"] is None
    with open_store(uri) as store:
        [reviewed] = [a for a in store.alerts() if a.alert_id == "品牌A:risk_words:1"]
    assert reviewed.review["verdict"] == "false_alarm" and reviewed.review["by"] == "王"
    assert main(["alert", "show", "品牌A:risk_words:1", "--store", uri]) == 0
    assert "同名品牌" in capsys.readouterr().out


def test_unknown_ids_and_literal_robot_keys_are_one_line_errors(uri, capsys):
    assert main(["alert", "show", "nope", "--store", uri]) != 0
    err = capsys.readouterr().err.strip()
    assert "no alert 'nope'" in err and len(err.splitlines()) == 1
    assert main(["alert", "test", "wecom://693a91f6-7aoc", "--store", uri]) != 0
    assert "${WECOM_KEY}" in capsys.readouterr().err


def test_test_sends_a_card_to_a_robot_and_says_so(uri, capsys, monkeypatch):
    from tests.chat_servers import ChatServer

    with ChatServer(wecom_keys={"k-1"}) as server:
        monkeypatch.setenv("T_KEY", "k-1")
        monkeypatch.setattr("crawlers.settings.WECOM_API_BASE", server.url)
        assert main(["alert", "test", "wecom://${T_KEY}", "--store", uri]) == 0
        [body] = server.bodies("wecom")
    assert "听风测试" in body["markdown"]["content"]
    assert "sent a test message" in capsys.readouterr().err
    with open_store(uri) as store:  # the test alert never reaches the real store
        assert len(store.alerts()) == 3
