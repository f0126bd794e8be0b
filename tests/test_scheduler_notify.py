"""Alert email: transports by URL, message building (encoding, escaping, inline chart) and
delivery with retries, against a real SMTP server (aiosmtpd) on 127.0.0.1."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from html.parser import HTMLParser
from pathlib import Path

import pytest

from crawlers.errors import ConfigError, MailError
from crawlers.items import Alert, Monitor, Post
from crawlers.storage.memory import MemoryStore
from scheduler.notify import (
    MemoryMailer,
    OutboxMailer,
    SmtpMailer,
    build_alert_message,
    build_digest_message,
    deliver_pending,
    mask_url,
    next_attempt_at,
    open_mailer,
)
from tests.smtp_server import LoopbackSmtpServer, free_port

NOW = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)  # 11:00 Beijing time
SECRET = "hunter2-秘密"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32  # bytes only; nobody decodes it
SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(document.cookie)>'


@pytest.fixture
def smtp_server():
    with LoopbackSmtpServer() as server:
        yield server


def _alert(alert_id: str = "a1", monitor: str = "品牌A", **kw) -> Alert:
    base = dict(rule="negative_spike", severity="critical", message="42 negative posts",
                metric="posts/negative", value=42, threshold=20, created_at=NOW,
                window_start=NOW - timedelta(hours=1), window_end=NOW,
                details={"expected": 10.0, "ratio": 4.2, "baseline": "seasonal", "pvalue": 1e-4})
    base.update(kw)
    return Alert(alert_id, monitor, **base)


def _monitor(name: str = "品牌A", **kw) -> Monitor:
    return Monitor(name, "品牌A AND (投诉 OR 退款)", recipients=["pr@example.com"], **kw)


def _hostile_post() -> Post:
    return Post("weibo", "p1", text=f"{SCRIPT} {IMG} <b><i>未闭合\r\n第二行 😡", url=
                "javascript:alert(1)", author_name=f"{SCRIPT}\r\nBcc: evil@example.com",
                created_at=NOW)


def _parts(msg: EmailMessage) -> tuple[str, str, list[EmailMessage]]:
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    images = [p for p in msg.walk() if p.get_content_type() == "image/png"]
    return text, html, images


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def _assert_inert(html: str) -> None:
    """No element or attribute that data could have injected."""
    parser = _Tags()
    parser.feed(html)
    names = {t for t, _ in parser.tags}
    assert not names & {"script", "iframe", "object", "embed", "svg", "b", "i"}
    for tag, attrs in parser.tags:
        assert not [a for a in attrs if a.startswith("on")], (tag, attrs)
        if tag == "img":
            assert attrs["src"].startswith(("cid:", "data:image/png;base64,"))
        if tag == "a":
            assert attrs["href"].startswith(("http://", "https://"))


# -- open_mailer ---------------------------------------------------------------------------

@pytest.mark.parametrize(("url", "cls", "attrs"), [
    ("smtp://mail.example.com", SmtpMailer, {"port": 25, "tls": "none"}),
    ("smtp://bot@mail.example.com:587?starttls=1", SmtpMailer,
     {"port": 587, "tls": "starttls", "username": "bot"}),
    ("smtps://mail.example.com", SmtpMailer, {"port": 465, "tls": "implicit"}),
    ("file:///var/tmp/outbox", OutboxMailer, {"directory": Path("/var/tmp/outbox")}),
    ("file://./outbox", OutboxMailer, {"directory": Path("outbox")}),
    ("memory://", MemoryMailer, {}),
])
def test_open_mailer_picks_the_transport_by_scheme(url, cls, attrs):
    mailer = open_mailer(url)
    assert isinstance(mailer, cls)
    for name, value in attrs.items():
        assert getattr(mailer, name) == value


def test_unknown_scheme_names_the_known_ones_and_masks_the_password():
    with pytest.raises(ConfigError) as err:
        open_mailer(f"sendgrid://bot:{SECRET}@api")
    assert "smtp://" in str(err.value) and "file://" in str(err.value)
    assert SECRET not in str(err.value)


def test_credentials_come_from_settings_and_never_show():
    mailer = open_mailer("smtp://mail.example.com:587", {"MAIL_USERNAME": "bot",
                                                         "MAIL_PASSWORD": SECRET,
                                                         "MAIL_STARTTLS": "1"})
    assert (mailer.username, mailer.tls) == ("bot", "starttls")
    assert SECRET not in repr(mailer)
    url_mailer = open_mailer("smtp://bot:pw%40x@mail.example.com")
    assert url_mailer._password == "pw@x"  # URL-decoded; the URL's password wins
    assert mask_url(f"smtp://bot:{SECRET}@h:25") == "smtp://bot:***@h:25"


# -- build_alert_message -------------------------------------------------------------------

def test_alert_message_subject_parts_and_inline_chart_round_trip():
    msg = build_alert_message([_alert()], _monitor(), charts={"sentiment": PNG},
                              sender="listen@example.com", now=NOW, posts=[_hostile_post()])
    back = message_from_bytes(msg.as_bytes(policy=policy.SMTP), policy=policy.default)
    raw_subject = back.get("Subject", failobj="")
    assert str(raw_subject) == "[听风][红色预警] 品牌A 负面舆情激增"
    assert back.get_content_type() == "multipart/alternative"
    text, html, images = _parts(back)
    assert "出现 42 条负面帖子，是平常（约 10 条）的 4.2 倍" in text
    assert "11:00" in text and "北京时间" in text
    # what to do next, and no internal metric name or rule id reaches the reader
    assert "下一步" in text and "posts/" not in text + html and "negative_share" not in html
    assert len(images) == 1 and images[0].get_content() == PNG
    cid = str(images[0]["Content-ID"]).strip().strip("<>")
    assert f'src="cid:{cid}"' in html
    assert back.get_body(("html",)).get_content_charset() == "utf-8"


def test_hostile_post_text_is_escaped_and_cannot_inject_headers():
    monitor = _monitor(name="品牌A\r\nBcc: evil@example.com")
    alert = _alert(monitor=monitor.name, message=f"{SCRIPT}\nsecond line")
    msg = build_alert_message([alert], monitor, sender="listen@example.com", now=NOW,
                              posts=[_hostile_post()])
    back = message_from_bytes(msg.as_bytes(policy=policy.SMTP), policy=policy.default)
    assert back.get_all("Bcc") is None
    assert back["To"] == "pr@example.com"
    assert "\n" not in str(back["X-Tingfeng-Monitor"])
    _, html, _ = _parts(back)
    assert "<script" not in html and "<img src=x" not in html and "<b><i>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&quot;&gt;&lt;img src=x onerror=alert(document.cookie)&gt;" in html
    assert "javascript:" not in html  # the post's URL is not linked at all
    assert "😡" in html
    _assert_inert(html)


def test_several_alerts_take_the_most_severe_for_the_subject():
    alerts = [_alert("a1", severity="warning", rule="volume_spike"),
              _alert("a2", severity="critical", rule="risk_words")]
    msg = build_alert_message(alerts, _monitor(), sender="x@example.com", now=NOW)
    assert msg["Subject"] == "[听风][红色预警] 品牌A 风险词命中 等 2 条预警"
    assert msg["X-Tingfeng-Alerts"] == "a2 a1"  # most severe first


def test_digest_message_lists_metrics_and_alerts():
    msg = build_digest_message(_monitor(), [_alert()], {"posts/count": 120,
                                                        "posts/negative_ratio": 0.25},
                               sender="x@example.com", now=NOW, charts={"volume": PNG})
    assert msg["Subject"] == "[听风][日报] 品牌A 2026-11-24"
    text, html, images = _parts(msg)
    assert "帖子：120" in text and "负面占比：25.0%" in text and "posts/" not in text + html
    assert "负面舆情激增" in html and "是平常（约 10 条）的 4.2 倍" in text and len(images) == 1


# -- transports ----------------------------------------------------------------------------

def test_smtp_mailer_delivers_to_a_real_server(smtp_server):
    msg = build_alert_message([_alert()], _monitor(), charts={"sentiment": PNG},
                              sender="listen@example.com", now=NOW, posts=[_hostile_post()])
    open_mailer(smtp_server.url).send(msg)
    [got] = smtp_server.messages
    assert got["Subject"] == "[听风][红色预警] 品牌A 负面舆情激增"
    assert smtp_server.envelopes == [("listen@example.com", ["pr@example.com"])]
    _, html, images = _parts(got)
    assert "&lt;script&gt;" in html and "<script" not in html
    assert images[0].get_content() == PNG


def test_smtp_login_with_environment_credentials():
    secret = "hunter2-s3cret"
    with LoopbackSmtpServer(auth=("bot", secret)) as server:
        msg = build_alert_message([_alert()], _monitor(), sender="a@example.com", now=NOW)
        open_mailer(server.url, {"MAIL_USERNAME": "bot", "MAIL_PASSWORD": secret}).send(msg)
        assert len(server.messages) == 1
        for wrong in ("wrong-" + secret, SECRET):  # a bad one, and a non-ASCII one
            with pytest.raises(MailError) as err:
                open_mailer(server.url, {"MAIL_USERNAME": "bot", "MAIL_PASSWORD": wrong}).send(msg)
            assert "MAIL_PASSWORD" in str(err.value) and wrong not in str(err.value)
            assert err.value.__cause__ is None
        assert len(server.messages) == 1


def test_starttls_is_never_silently_skipped(smtp_server):
    msg = build_alert_message([_alert()], _monitor(), sender="a@example.com", now=NOW)
    with pytest.raises(MailError, match="STARTTLS"):
        open_mailer(smtp_server.url + "?starttls=1").send(msg)
    assert smtp_server.messages == []


def test_a_refused_connection_is_a_mail_error_naming_the_host():
    port = free_port()
    mailer = open_mailer(f"smtp://bot:{SECRET}@127.0.0.1:{port}?timeout=5")
    msg = build_alert_message([_alert()], _monitor(), sender="a@example.com", now=NOW)
    with pytest.raises(MailError) as err:
        mailer.send(msg)
    assert f"127.0.0.1:{port}" in str(err.value) and SECRET not in str(err.value)


def test_outbox_mailer_writes_parseable_eml_files(tmp_path):
    mailer = open_mailer(f"file://{tmp_path}/out")
    for i in range(2):
        mailer.send(build_alert_message([_alert(f"a{i}")], _monitor(), sender="a@example.com",
                                        now=NOW))
    files = sorted((tmp_path / "out").glob("*.eml"))
    assert len(files) == 2 and not list((tmp_path / "out").glob(".*"))
    back = message_from_bytes(files[0].read_bytes(), policy=policy.default)
    assert back["Subject"] == "[听风][红色预警] 品牌A 负面舆情激增"


def test_outbox_that_cannot_be_written_is_a_mail_error(tmp_path):
    (tmp_path / "blocker").write_text("a file, not a folder")
    msg = build_alert_message([_alert()], _monitor(), sender="a@example.com", now=NOW)
    with pytest.raises(MailError, match="outbox"):
        OutboxMailer(tmp_path / "blocker" / "out").send(msg)


# -- delivery ------------------------------------------------------------------------------

@pytest.mark.parametrize(("attempts", "wait"), [(0, None), (1, 60), (2, 180), (3, 420)])
def test_backoff_schedule_doubles_from_creation(attempts, wait):
    due = next_attempt_at(_alert(attempts=attempts), 60.0)
    assert (due - NOW).total_seconds() == wait if wait is not None else due is None


def _store_with(*alerts: Alert) -> MemoryStore:
    store = MemoryStore()
    for alert in alerts:
        assert store.save_alert(alert)
    return store


def test_down_server_keeps_alerts_pending_then_sends_them_once():
    port = free_port()
    store = _store_with(_alert("a1"), _alert("a2", rule="volume_spike", severity="warning"))
    monitors = {"品牌A": _monitor()}
    mailer = open_mailer(f"smtp://127.0.0.1:{port}?timeout=5")

    report = deliver_pending(store, mailer, monitors=monitors, now=NOW, retry_base=60)
    assert (report.sent, report.failed, report.pending) == (0, 2, 2)
    for alert in store.alerts():
        assert (alert.status, alert.attempts) == ("pending", 1)
        assert f"127.0.0.1:{port}" in alert.last_error

    # Still backing off 30 s later: not even tried.
    early = deliver_pending(store, mailer, monitors=monitors, now=NOW + timedelta(seconds=30),
                            retry_base=60)
    assert (early.sent, early.failed, early.pending) == (0, 0, 2)
    assert {a.attempts for a in store.alerts()} == {1}

    with LoopbackSmtpServer(port=port) as server:
        later = NOW + timedelta(seconds=61)
        report = deliver_pending(store, mailer, monitors=monitors, now=later, retry_base=60)
        assert (report.sent, report.failed, report.pending, report.messages) == (2, 0, 0, 1)
        again = deliver_pending(store, mailer, monitors=monitors, now=later, retry_base=60)
        assert again.sent == 0
        assert len(server.messages) == 1
        assert server.messages[0]["X-Tingfeng-Alerts"] == "a1 a2"
    assert {(a.status, a.sent_at, a.attempts) for a in store.alerts()} == {("sent", later, 2)}


def test_one_message_per_monitor_and_unknown_monitors_still_delivered():
    store = _store_with(_alert("a1"), _alert("b1", monitor="品牌B"), _alert("a2"))
    mailer = MemoryMailer()
    report = deliver_pending(store, mailer, monitors={"品牌A": _monitor()}, now=NOW,
                             recipients=["ops@example.com"])
    assert (report.sent, report.messages) == (3, 2)
    by_monitor = {str(m["X-Tingfeng-Monitor"]): m for m in mailer.outbox}
    assert by_monitor["品牌A"]["X-Tingfeng-Alerts"] == "a1 a2"
    assert by_monitor["品牌B"]["To"] == "ops@example.com"  # the removed monitor's alert


def test_failing_mailer_and_chart_builder_never_raise_into_the_caller(caplog):
    class Broken:
        def send(self, message):
            raise RuntimeError("bug in a mailer")

    store = _store_with(_alert("a1"))
    with caplog.at_level(logging.WARNING):
        report = deliver_pending(store, Broken(), monitors={}, now=NOW)
    assert (report.failed, report.pending) == (1, 1)
    assert store.alerts()[0].last_error == "RuntimeError: bug in a mailer"

    def bad_charts(monitor):
        raise ValueError("no data")

    mailer = MemoryMailer()
    report = deliver_pending(store, mailer, monitors={}, now=NOW + timedelta(hours=1),
                             charts_for=bad_charts)
    assert report.sent == 1
    assert not [p for p in mailer.outbox[0].walk() if p.get_content_type() == "image/png"]


def test_charts_and_sample_posts_reach_the_message():
    store = _store_with(_alert("a1"))
    mailer = MemoryMailer()
    deliver_pending(store, mailer, monitors={"品牌A": _monitor()}, now=NOW,
                    charts_for=lambda m: {"sentiment": PNG},
                    posts_for=lambda m, alerts: [_hostile_post()])
    _, html, images = _parts(mailer.outbox[0])
    assert len(images) == 1 and "&lt;script&gt;" in html


def test_alerts_out_of_attempts_are_reported_and_still_retried_at_a_capped_pace(caplog):
    # 3 failures with base 60 s and cap 6 h: due at created + 60 + 120 + 240 s = 7 min.
    store = _store_with(_alert("a1", attempts=3, created_at=NOW - timedelta(days=2)))

    class Down:
        def send(self, message):
            raise MailError("smtp://mail.example.com: connection refused")

    with caplog.at_level(logging.ERROR):
        report = deliver_pending(store, Down(), monitors={}, now=NOW, max_attempts=3)
    assert report.exhausted == ["a1"] and report.pending == 1
    assert store.alerts()[0].status == "pending" and store.alerts()[0].attempts == 4
    assert "MAIL_MAX_ATTEMPTS" in caplog.text
    # Uncapped, the 5th try would wait 2^4 min after the 4th; capped, a mail server that comes back
    # two days later still gets the alert, exactly once.
    mailer = MemoryMailer()
    report = deliver_pending(store, mailer, monitors={}, now=NOW + timedelta(days=2),
                             max_attempts=3, settings={"MAIL_RETRY_MAX": 3600})
    assert report.sent == 1 and len(mailer.outbox) == 1
    assert store.alerts()[0].status == "sent"


def test_settings_supply_sender_and_retry_policy():
    store = _store_with(_alert("a1", attempts=1))
    mailer = MemoryMailer()
    settings = {"MAIL_FROM": "bot@example.com", "MAIL_RETRY_BASE": 3600, "MAIL_TO": "a@x.org"}
    assert deliver_pending(store, mailer, monitors={}, now=NOW + timedelta(minutes=59),
                           settings=settings).sent == 0
    assert deliver_pending(store, mailer, monitors={}, now=NOW + timedelta(minutes=60),
                           settings=settings).sent == 1
    assert "bot@example.com" in mailer.outbox[0]["From"]
    assert mailer.outbox[0]["To"] == "a@x.org"


def test_alert_callbacks_give_the_monitors_chart_and_negative_samples_first():
    from scheduler.reports.alerting import alert_callbacks

    store = _store_with(_alert("a1", window_start=NOW - timedelta(hours=6)))
    store.save_monitor(_monitor())
    texts = {"n1": ("品牌A 退款 太差了", "negative"), "p1": ("品牌A 投诉 已解决 好评", "positive"),
             "x1": ("品牌A 招聘", "negative"), "old": ("品牌A 退款 旧帖", "negative")}
    store.upsert_posts([
        Post("weibo", pid, text=text, sentiment_label=label, topics=["品牌A"],
             created_at=NOW - timedelta(hours=30 if pid == "old" else 1),
             url=f"https://m.weibo.cn/detail/{pid}")
        for pid, (text, label) in texts.items()
    ])
    charts_for, posts_for = alert_callbacks(store, now=NOW)
    mailer = MemoryMailer()
    report = deliver_pending(store, mailer, monitors={"品牌A": _monitor()}, now=NOW,
                             charts_for=charts_for, posts_for=posts_for)
    assert report.sent == 1
    text, html, images = _parts(mailer.outbox[0])
    assert [i.get_filename() for i in images] == ["sentiment.png", "volume.png"]
    assert all(i.get_content().startswith(b"\x89PNG") for i in images)
    # The query (品牌A AND (投诉 OR 退款)) keeps n1 and p1; "old" is before the alert window.
    assert text.index("太差了") < text.index("好评")
    assert "招聘" not in text and "旧帖" not in text
    assert 'href="https://m.weibo.cn/detail/n1"' in html


def test_concurrent_deliveries_send_each_alert_once():
    # Two monitor jobs finishing together (ThreadPoolExecutor) both deliver every pending alert:
    # the second must not read the alerts the first is still sending.
    import threading

    store = _store_with(_alert("a1"))
    entered, release, second_read = threading.Event(), threading.Event(), threading.Event()

    class SlowFirstSend(MemoryMailer):
        def send(self, message: EmailMessage) -> None:
            if not self.outbox and not entered.is_set():
                entered.set()
                release.wait(10)
            super().send(message)

    class WatchedStore(MemoryStore):
        def alerts(self, **kw):
            if threading.current_thread().name == "second":
                second_read.set()
            return super().alerts(**kw)

    watched = WatchedStore()
    assert watched.save_alert(store.alerts()[0])
    mailer = SlowFirstSend()
    reports = {}

    def run(key: str) -> None:
        reports[key] = deliver_pending(watched, mailer, monitors={}, now=NOW)

    first = threading.Thread(target=run, args=("first",), name="first")
    first.start()
    assert entered.wait(10)
    second = threading.Thread(target=run, args=("second",), name="second")
    second.start()
    second_read.wait(0.5)  # without serialisation the second delivery reads at once
    release.set()
    first.join(10)
    second.join(10)
    assert len(mailer.outbox) == 1
    assert reports["first"].sent + reports["second"].sent == 1
    assert watched.alerts()[0].status == "sent"
