"""Alert channels against loopback servers that answer like WeCom, DingTalk, Feishu and a
signed webhook: native formats, each API's own success code, signatures, rate limits, outages,
exactly-once delivery across concurrent deliveries, and no secret anywhere it should not be.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from crawlers.errors import ConfigError
from crawlers.items import Alert, Monitor, Post
from crawlers.storage.memory import MemoryStore
from crawlers.storage.sqlite import SqliteStore
from scheduler.notify import MemoryMailer, deliver_pending
from scheduler.notify.channels import channel_id, check_recipient, webhook_signature
from tests.chat_servers import ChatServer

NOW = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)
KEY, TOKEN, DING_SECRET = "wk-7f3a9c", "dt-55aa", "SECd1ng0"
HOOK, FS_SECRET, HOOK_SECRET = "fh-1234", "fs-s3cr3t", "hk-s3cr3t"
ENV = {"WECOM_KEY": KEY, "DING_TOKEN": TOKEN, "DING_SECRET": DING_SECRET,
       "FEISHU_HOOK": HOOK, "FEISHU_SECRET": FS_SECRET, "HOOK_SECRET": HOOK_SECRET}
SECRETS = (KEY, TOKEN, DING_SECRET, HOOK, FS_SECRET, HOOK_SECRET)
HOSTILE = "[点我](javascript:alert(1)) <@all> <at id=all></at> <font color=\"red\">x</font>\n# 标题"


@pytest.fixture
def env(monkeypatch):
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def server():
    with ChatServer(wecom_keys={KEY}, ding_tokens={TOKEN: DING_SECRET},
                    feishu_hooks={HOOK: FS_SECRET}, webhook_secret=HOOK_SECRET, hang=0.6) as srv:
        yield srv


def _settings(server: ChatServer, **extra):
    return {"WECOM_API_BASE": server.url, "DINGTALK_API_BASE": server.url,
            "FEISHU_API_BASE": server.url, "CHANNEL_TIMEOUT": 0.3, "CHANNEL_PACE": 0,
            "MAIL_RETRY_BASE": 60, "WEB_BASE_URL": "https://tingfeng.example.com", **extra}


RECIPIENTS = {
    "wecom": "wecom://${WECOM_KEY}",
    "dingtalk": "dingtalk://${DING_TOKEN}?secret=${DING_SECRET}",
    "feishu": "feishu://${FEISHU_HOOK}?secret=${FEISHU_SECRET}",
    "webhook": "URL/hook#secret=${HOOK_SECRET}",
}


def _recipient(kind: str, server: ChatServer) -> str:
    return RECIPIENTS[kind].replace("URL", server.url)


def _alert(alert_id="a1", monitor="品牌A", **kw) -> Alert:
    base = dict(rule="risk_words", severity="critical", message="internal", metric="risk/hits",
                value=7, threshold=3, created_at=NOW, window_start=NOW - timedelta(hours=1),
                window_end=NOW, details={"words": {"爆炸": 4, "召回": 3}})
    base.update(kw)
    return Alert(alert_id, monitor, **base)


def _post(text=HOSTILE) -> Post:
    return Post("weibo", "p1", text=text, author_name="<@all>用户", created_at=NOW,
                url="https://m.weibo.cn/detail/1 (x)")


def _run(store, server, monitors, now=NOW, **kw):
    with httpx.Client(timeout=0.3, trust_env=False) as client:
        return deliver_pending(store, MemoryMailer(), monitors=monitors, now=now,
                               settings=_settings(server, **kw.pop("settings", {})),
                               client=client, posts_for=lambda m, a: [_post()], **kw)


# -- recipients ---------------------------------------------------------------------------------
@pytest.mark.parametrize("bad", ["wecom://693a91f6-7aoc", "dingtalk://${T}?secret=SECabc",
                                 "feishu://abc", "https://x.example/h#secret=plain",
                                 "slack://${X}", "https:///nohost"])
def test_literal_secrets_and_unknown_schemes_are_refused(bad):
    with pytest.raises(ConfigError):
        check_recipient(bad)


def test_channel_ids_are_stable_and_hold_no_secret():
    cid = channel_id("wecom://${WECOM_KEY}")
    assert cid == channel_id(" wecom://${WECOM_KEY} ") and "WECOM" not in cid
    assert channel_id("pr@example.com").startswith("mail:")


# -- each channel ---------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["wecom", "dingtalk", "feishu", "webhook"])
def test_each_channel_delivers_in_its_native_format_with_escaped_text(kind, env, server, caplog):
    store = MemoryStore()
    store.save_alert(_alert())
    monitors = {"品牌A": Monitor("品牌A", "品牌A", recipients=[_recipient(kind, server)])}
    with caplog.at_level(logging.DEBUG):
        report = _run(store, server, monitors)
    assert (report.sent, report.pending, report.messages) == (1, 0, 1)
    [body] = server.bodies(kind)
    text = json.dumps(body, ensure_ascii=False)
    # what happened, why, the post, the next step and the web-app link, in Chinese
    assert "风险词出现 7 次" in text and "爆炸×4" in text
    assert ("next_steps" if kind == "webhook" else "下一步") in text
    assert "https://tingfeng.example.com/monitors/" in text
    if kind != "webhook":  # chat markdown: crawled text cannot add links, mentions, tags
        for raw in ("<@all>", "<at id=all>", "](javascript", '<font color=\\"red\\">',
                    "# 标题"):
            assert raw not in text
        assert "＜＠all＞" in text
    if kind == "wecom":
        assert body["msgtype"] == "markdown"
        assert '<font color=\\"warning\\">' in text  # the severity colour, WeCom's named one
    elif kind == "dingtalk":
        assert body["msgtype"] == "markdown" and body["markdown"]["title"]
    elif kind == "feishu":
        assert body["msg_type"] == "interactive"
        assert body["card"]["header"]["template"] == "red"
    else:
        assert body["schema"] == "tingfeng.alert/1" and body["severity"] == "critical"
        assert body["alert_ids"] == ["a1"] and body["posts"][0]["text"].startswith("[点我]")
    # the store records the channel's confirmation, and nothing holds a secret
    [stored] = store.alerts()
    assert stored.status == "sent" and stored.claimed_by is None
    assert list(stored.deliveries.values())[0]["status"] == "sent"
    leaks = caplog.text + json.dumps(stored.deliveries) + str(stored)
    assert not [s for s in SECRETS if s in leaks]


def test_webhook_signature_is_what_the_documentation_says(env, server):
    store = MemoryStore()
    store.save_alert(_alert())
    _run(store, server, {"品牌A": Monitor("品牌A", "q", recipients=[_recipient("webhook",
                                                                              server)])})
    [(_, body, headers)] = server.received
    raw = json.dumps(body, ensure_ascii=False, sort_keys=True).encode()
    stamp = headers["x-tingfeng-timestamp"]
    assert headers["x-tingfeng-signature"] == webhook_signature(HOOK_SECRET, stamp, raw)
    assert len(headers["idempotency-key"]) == 32


@pytest.mark.parametrize(("kind", "code"), [("wecom", "45009"), ("dingtalk", "410100"),
                                            ("feishu", "11232"), ("webhook", "429")])
def test_rate_limits_keep_the_alert_pending_and_wait_as_asked(kind, code, env, server):
    store = MemoryStore()
    store.save_alert(_alert())
    monitors = {"品牌A": Monitor("品牌A", "q", recipients=[_recipient(kind, server)])}
    server.mode = "ratelimit"
    report = _run(store, server, monitors)
    assert (report.sent, report.pending) == (0, 1)
    [alert] = store.alerts()
    [record] = alert.deliveries.values()
    assert code in record["last_error"] and alert.status == "pending"
    wait = datetime.fromisoformat(record["next_at"]) - NOW
    assert wait >= timedelta(seconds=60)  # the platform's window, not the 60 s base alone
    server.mode = "ok"
    assert _run(store, server, monitors, now=NOW + timedelta(seconds=30)).sent == 0  # waiting
    assert _run(store, server, monitors, now=NOW + wait).sent == 1
    assert len(server.bodies(kind)) == 1


@pytest.mark.parametrize("kind", ["dingtalk", "feishu", "webhook"])
def test_a_wrong_secret_is_a_config_error_named_in_the_log(kind, env, server, monkeypatch,
                                                           caplog):
    monkeypatch.setenv({"dingtalk": "DING_SECRET", "feishu": "FEISHU_SECRET",
                        "webhook": "HOOK_SECRET"}[kind], "wrong-secret")
    store = MemoryStore()
    store.save_alert(_alert())
    with caplog.at_level(logging.WARNING):
        report = _run(store, server, {"品牌A": Monitor("品牌A", "q", recipients=[
            _recipient(kind, server)])})
    assert report.sent == 0 and store.alerts()[0].status == "pending"
    assert server.received == []
    assert "fix the robot set-up" in caplog.text
    assert "wrong-secret" not in caplog.text and "wrong-secret" not in str(store.alerts()[0])


def test_a_missing_environment_variable_keeps_the_alert_and_names_the_variable(server):
    store = MemoryStore()
    store.save_alert(_alert())
    report = _run(store, server, {"品牌A": Monitor("品牌A", "q", recipients=[
        "wecom://${NOT_SET_ANYWHERE}"])})
    assert report.pending == 1
    assert "NOT_SET_ANYWHERE is not set" in store.alerts()[0].last_error


def test_a_long_card_is_cut_to_wecoms_4096_bytes_by_dropping_posts(env, server):
    store = MemoryStore()
    store.save_alert(_alert())
    with httpx.Client(timeout=1, trust_env=False) as client:
        deliver_pending(store, MemoryMailer(), now=NOW, settings=_settings(server), client=client,
                        monitors={"品牌A": Monitor("品牌A", "q", recipients=[
                            _recipient("wecom", server)])},
                        posts_for=lambda m, a: [_post("很长的帖子" * 200)] * 5)
    [body] = server.bodies("wecom")
    assert len(body["markdown"]["content"].encode()) <= 4096
    assert store.alerts()[0].status == "sent"


def test_email_and_chat_are_tracked_apart_so_a_retry_resends_only_what_failed(env, server):
    store = MemoryStore()
    store.save_alert(_alert())
    monitors = {"品牌A": Monitor("品牌A", "q", recipients=["pr@example.com",
                                                         _recipient("wecom", server)])}
    mailer = MemoryMailer()
    server.mode = "5xx"
    with httpx.Client(timeout=0.3, trust_env=False) as client:
        first = deliver_pending(store, mailer, monitors=monitors, now=NOW,
                                settings=_settings(server), client=client)
        assert (first.sent, first.pending, len(mailer.outbox)) == (0, 1, 1)
        server.mode = "ok"
        later = deliver_pending(store, mailer, monitors=monitors, now=NOW + timedelta(minutes=5),
                                settings=_settings(server), client=client)
    assert later.sent == 1
    assert len(mailer.outbox) == 1 and len(server.bodies("wecom")) == 1  # the email not resent


# -- the burst ------------------------------------------------------------------------------------
def test_fifty_alerts_through_ten_minutes_of_outage_arrive_exactly_once(env, server, tmp_path):
    """A burst of 50 alerts (10 monitors) while the channels answer 5xx or nothing for 10
    minutes; two deliveries race every 30 s (two workers on one store). After recovery every
    alert has reached every channel exactly once."""
    store = SqliteStore(tmp_path / "alerts.db")
    monitors = {}
    for m in range(10):
        name = f"品牌{m}"
        monitors[name] = Monitor(name, "q", recipients=[_recipient("webhook", server),
                                                        _recipient("feishu", server)])
        for k in range(5):
            store.save_alert(_alert(f"{name}:r{k}", monitor=name, rule="negative_share",
                                    value=0.5, threshold=0.3,
                                    created_at=NOW + timedelta(seconds=k)))
    settings = _settings(server, MAIL_RETRY_MAX=120)

    def deliver(now: datetime) -> None:
        with httpx.Client(timeout=0.3, trust_env=False) as client:
            deliver_pending(store, None, monitors=monitors, now=now, settings=settings,
                            client=client)

    clock = NOW
    for step in range(40):  # 20 simulated minutes, a delivery round every 30 s
        server.mode = ("5xx", "timeout")[step % 2] if step < 20 else "ok"
        workers = [threading.Thread(target=deliver, args=(clock,)) for _ in range(2)]
        for t in workers:
            t.start()
        for t in workers:
            t.join(60)
        clock += timedelta(seconds=30)
        if step >= 20 and not store.alerts(status="pending"):
            break
    assert store.alerts(status="pending") == []
    for kind in ("webhook", "feishu"):
        ids = Counter(i for body in server.bodies(kind) for i in _alert_ids(kind, body))
        assert set(ids) == {f"品牌{m}:r{k}" for m in range(10) for k in range(5)}, kind
        assert max(ids.values()) == 1, kind


def _alert_ids(kind, body):
    if kind == "webhook":
        return body["alert_ids"]
    note = body["card"]["elements"][-1]["elements"][0]["content"]
    return note.split("：", 1)[1].split()


# -- control: quiet hours and escalation --------------------------------------------------------
def test_quiet_hours_hold_all_but_red_alerts_then_send_the_rest_as_one_message(env, server):
    store = MemoryStore()
    night = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)  # 23:00 北京时间
    store.save_alert(_alert("red", created_at=night))
    store.save_alert(_alert("w1", severity="warning", rule="negative_share", value=0.5,
                            threshold=0.3, created_at=night))
    store.save_alert(_alert("w2", severity="warning", rule="volume_spike", created_at=night))
    monitor = Monitor("品牌A", "q", recipients=[_recipient("webhook", server)],
                      thresholds={"ALERT_QUIET_HOURS": "22:00-08:00"})
    report = _run(store, server, {"品牌A": monitor}, now=night)
    assert (report.sent, report.quiet) == (1, 2)
    assert [b["alert_ids"] for b in server.bodies("webhook")] == [["red"]]
    still_night = _run(store, server, {"品牌A": monitor}, now=night + timedelta(hours=2))
    assert still_night.sent == 0 and still_night.quiet == 2
    morning = datetime(2026, 11, 25, 0, 30, tzinfo=UTC)  # 08:30
    assert _run(store, server, {"品牌A": monitor}, now=morning).sent == 2
    assert [sorted(b["alert_ids"]) for b in server.bodies("webhook")] == [["red"], ["w1", "w2"]]


def test_an_escalated_alert_also_reaches_the_escalation_list(env, server):
    store = MemoryStore()
    store.save_alert(_alert("plain", severity="warning"))
    store.save_alert(_alert("esc", details={"words": {"爆炸": 4}, "escalated": True, "runs": 3,
                                            "escalate_to": [_recipient("wecom", server)]}))
    monitors = {"品牌A": Monitor("品牌A", "q", recipients=[_recipient("webhook", server)])}
    assert _run(store, server, monitors).sent == 2
    assert sorted(server.bodies("webhook")[0]["alert_ids"]) == ["esc", "plain"]
    [card] = server.bodies("wecom")  # the escalation list gets the escalated one only
    assert "升级为红色预警" in card["markdown"]["content"]
    esc = next(a for a in store.alerts() if a.alert_id == "esc")
    assert len(esc.deliveries) == 2 and esc.status == "sent"
