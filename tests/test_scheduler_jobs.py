"""The monitor loop end to end with a fake clock: build_scheduler on a MemoryStore, a fake
run_crawl that upserts posts (a negative spike in one half hour), the outbox mailer, and the
job functions called the way the scheduler would call them."""

from __future__ import annotations

import email
from datetime import UTC, datetime, timedelta
from email import policy
from pathlib import Path

import pytest
from apscheduler.events import EVENT_JOB_ERROR, JobExecutionEvent

from crawlers.config import load_settings
from crawlers.errors import BackendUnavailable, MailError
from crawlers.items import CrawlRun, Monitor, Post
from crawlers.storage.memory import MemoryStore
from scheduler.app import build_scheduler, job_listener, sync_monitors
from scheduler.jobs import RetryLater, daily_digest, monitor_topic, save_alerts
from scheduler.monitors import add_monitor
from scheduler.notify import MemoryMailer, OutboxMailer
from scheduler.runner import CrawlResult
from scoring.alerts import RuleResult

T0 = datetime(2026, 11, 20, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai
HALF = timedelta(minutes=30)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now


class FakeCrawl:
    """Stands in for scheduler.runner.run_crawl: per topic, ``plan(slot_start)`` gives the
    (posts, negatives) of each half hour since ``since``; the crawl run is recorded the way
    StorePipeline records it. Two 招聘 posts per slot must be dropped by the query's NOT."""

    def __init__(self, store: MemoryStore, clock: Clock, plans: dict,
                 broken: frozenset[str] = frozenset()) -> None:
        self.store, self.clock, self.plans, self.broken = store, clock, plans, broken
        self.calls: list[tuple[str, str, tuple[str, ...], datetime]] = []

    def __call__(self, platform, *, keywords, topic, since, settings, timeout=None, **_):
        self.calls.append((platform, topic, tuple(keywords), since))
        if topic in self.broken:
            raise RuntimeError("spider exploded")
        posts = []
        slot = T0 + HALF * ((since - T0) // HALF)
        while slot < self.clock.now:
            total, negative = self.plans[topic](slot)
            for i in range(total + 2):
                hiring = i >= total
                label = "negative" if hiring or i < negative else "positive"
                posts.append(Post(
                    platform, f"{topic}-{slot:%H%M}-{i}", topics=[topic], author_id=f"u{i}",
                    created_at=slot + timedelta(seconds=60 * i + 1), sentiment_label=label,
                    text=f"{topic} 投诉 {'招聘客服' if hiring else '售后太差'} #{i}"))
            slot += HALF
        self.store.upsert_posts(posts)
        run_id = f"{platform}-{topic}-{self.clock.now:%H%M}"
        stats = {"item_scraped_count": len(posts)}
        self.store.record_run(CrawlRun(run_id, platform, topic=topic, kind="crawl", stats=stats,
                                       started_at=self.clock.now, finish_reason="finished"))
        return CrawlResult(platform, run_id, 0, "finished", stats)


def quiet(slot):
    return (20, 3)


def spike_at_half_past_four(slot):
    return (20, 16) if slot == T0 + HALF else (20, 3)


def half_negative(slot):
    return (20, 10)


@pytest.fixture
def settings():
    return load_settings({"STORE_URI": "memory://", "MAIL_FROM": "tingfeng@example.com"})


def _add(store: MemoryStore, name: str, query: str, platforms: list[str], **kw) -> None:
    monitor = Monitor(name, query, platforms, every=1800, recipients=["pr@example.com"], **kw)
    add_monitor(store, monitor, now=T0 - timedelta(days=1))


def _outbox(folder: Path) -> list[email.message.EmailMessage]:
    return [email.message_from_bytes(p.read_bytes(), policy=policy.default)
            for p in sorted(folder.glob("*.eml"))]


def _alerts_in(messages, monitor: str) -> list[str]:
    ids = [i for m in messages for i in str(m["X-Tingfeng-Alerts"]).split()]
    return [i for i in ids if i.startswith(f"{monitor}:")]


def drive(scheduler, now: datetime, listener, **collaborators) -> list[str]:
    """Run each monitor job due at ``now`` as the executor would (an exception goes to the
    listener), then advance it with its trigger, as the scheduler does after a run."""
    ran = []
    for job in sorted(scheduler.get_jobs(), key=lambda j: j.id):
        if not job.id.startswith("monitor:") or job.next_run_time > now:
            continue
        try:
            job.func(*job.args, now=now, **collaborators)
        except Exception as exc:  # noqa: BLE001 - what APScheduler's executor does
            listener(JobExecutionEvent(EVENT_JOB_ERROR, job.id, "default", now, exception=exc))
        following = job.trigger.get_next_fire_time(job.next_run_time, now)
        scheduler.modify_job(job.id, next_run_time=following)
        ran.append(job.args[0])
    return ran


def test_scheduler_loop_end_to_end_with_a_fake_clock(tmp_path, settings) -> None:
    store = MemoryStore()
    _add(store, "品牌A", "品牌A AND (投诉 OR 退款) NOT 招聘", ["weibo"],
         thresholds={"ALERT_NEGATIVE_RATIO": "off"})          # spike rule only
    _add(store, "品牌B", "品牌B NOT 招聘", ["zhihu"], thresholds={"ALERT_NEGATIVE_RATIO": 0.4})
    _add(store, "坏", "坏 NOT 招聘", ["forum"])                 # its crawl always crashes
    store.save_monitor(Monitor("残", "残 AND (", ["weibo"], every=1800))  # a bad query slipped in
    clock = Clock(T0)
    crawl = FakeCrawl(store, clock, {"品牌A": spike_at_half_past_four, "品牌B": half_negative,
                                     "坏": quiet, "新品": quiet}, broken={"坏"})
    outbox = tmp_path / "outbox"
    fakes = dict(store=store, mailer=OutboxMailer(outbox), run_crawl=crawl, settings=settings,
                 rescore=lambda store, *, topic, now: None,
                 graph_report=lambda posts, authors: None)
    scheduler = build_scheduler(settings, store, now=T0)
    listener = job_listener(scheduler, store, settings, clock=lambda: clock.now)
    jobs = {j.id: j for j in scheduler.get_jobs()}
    assert {jobs[f"monitor:{n}"].next_run_time for n in ("品牌A", "品牌B", "坏", "残")} == {T0}

    def step(now: datetime) -> list[str]:
        clock.now = now
        return drive(scheduler, now, listener, **fakes)

    # 04:00 — the first window is quiet (no history yet); B's steady 50% negatives cross its 40%.
    assert step(T0) == ["品牌A", "品牌B", "坏", "残"]
    assert [a.rule for a in store.alerts(monitor="品牌A")] == []
    assert [a.rule for a in store.alerts(monitor="品牌B")] == ["negative_share"]
    assert scheduler.get_job("monitor:品牌A").next_run_time == T0 + HALF
    assert crawl.calls[0] == ("weibo", "品牌A", ("品牌A 投诉", "品牌A 退款"), T0 - 2 * HALF)
    first = store.runs(kind="monitor", topic="品牌A")[-1]
    assert first.stats["posts/count"] == 40 and first.stats["posts/negative"] == 6  # 招聘 dropped
    assert "health/short/volume" in first.stats  # the divergence rule's history

    # 04:30 — still quiet; B's alert is in the same window bucket: not saved or sent again.
    step(T0 + HALF)
    assert crawl.calls[-3] == ("weibo", "品牌A", ("品牌A 投诉", "品牌A 退款"), T0)  # from last run
    assert len(store.alerts(monitor="品牌B")) == 1

    # 05:00 — the spike (16 of 20 negative from 04:30) is in the window: one alert for A.
    # B is in its cooldown (its alert was 60 minutes ago). 坏 crashed three times in a row.
    step(T0 + 2 * HALF)
    a_alerts = store.alerts(monitor="品牌A")
    assert [a.alert_id for a in a_alerts] == ["品牌A:negative_spike:20261120T0500Z"]
    assert a_alerts[0].status == "sent" and a_alerts[0].value == 19
    # B's warning has fired three runs in a row (ALERT_ESCALATE_RUNS): past its cooldown, it
    # becomes one red alert.
    assert [(a.rule, a.severity, a.details.get("escalated")) for a in store.alerts(
        monitor="品牌B")] == [("negative_share", "warning", None),
                             ("negative_share", "critical", True)]
    assert [a.rule for a in store.alerts(monitor="坏")] == ["crawl_health"]
    assert "forum: crashed for 3 consecutive runs" in store.alerts(monitor="坏")[0].message

    # 05:30 — the spike is still in the window but it was alerted in this bucket: no resend.
    # B's first alert is past its cooldown, but the red one of 05:00 keeps the same rule's
    # warnings quiet for its own cooldown; the streak is escalated once, not every run.
    step(T0 + 3 * HALF)
    assert len(store.alerts(monitor="品牌A")) == 1
    assert [a.alert_id for a in store.alerts(monitor="品牌B")] == [
        "品牌B:negative_share:20261120T0400Z", "品牌B:negative_share:escalated:20261120T0500Z"]

    messages = _outbox(outbox)
    assert _alerts_in(messages, "品牌A") == ["品牌A:negative_spike:20261120T0500Z"]
    assert len(_alerts_in(messages, "品牌B")) == 2
    spike_mail = next(m for m in messages if "品牌A" in str(m["X-Tingfeng-Alerts"]))
    assert "品牌A" in spike_mail["Subject"] and spike_mail["To"] == "pr@example.com"
    assert any(part.get_content_type() == "image/png" for part in spike_mail.walk())

    # The failing monitor never stopped the others; its failures are on record.
    errors = [r for r in store.runs(kind="monitor", topic="残")]
    assert len(errors) == 4 and {r.finish_reason for r in errors} == {"error"}
    assert "ends too early" in errors[0].errors[0]
    runs = store.runs(kind="monitor", topic="品牌A")
    assert [r.started_at for r in runs] == [T0 + i * HALF for i in range(4)]
    assert {r.finish_reason for r in runs} == {"finished"}
    assert store.get_monitor("品牌A").last_run_at == T0 + 3 * HALF

    # 05:35 — monitors change while the service runs; the sync job picks every change up.
    now = T0 + 3 * HALF + timedelta(minutes=5)
    add_monitor(store, Monitor("新品", "新品", ["weibo"], every=3600), now=now)
    b = store.get_monitor("品牌B")
    b.every = 3600
    add_monitor(store, b, now=now, replace=True)
    store.delete_monitor("残")
    paused = store.get_monitor("坏")
    paused.paused = True
    store.save_monitor(paused)
    sync_monitors(scheduler, store, settings, now=now)
    jobs = {j.id: j for j in scheduler.get_jobs() if j.id.startswith("monitor:")}
    assert set(jobs) == {"monitor:品牌A", "monitor:品牌B", "monitor:新品"}
    assert jobs["monitor:新品"].next_run_time == now
    assert jobs["monitor:品牌B"].next_run_time == T0 + 5 * HALF  # last run 05:30 + 1 h
    assert step(now) == ["新品"]
    assert step(T0 + 4 * HALF) == ["品牌A"]


def test_a_store_outage_postpones_the_run_and_loses_nothing(settings) -> None:
    class FlakyStore(MemoryStore):
        down = False

        def save_alert(self, alert):
            if self.down:
                raise BackendUnavailable("database is locked")
            return super().save_alert(alert)

    store = FlakyStore()
    _add(store, "品牌A", "品牌A NOT 招聘", ["weibo"], thresholds={"ALERT_NEGATIVE_RATIO": "off"})
    clock = Clock(T0)
    crawl = FakeCrawl(store, clock, {"品牌A": spike_at_half_past_four})
    mailer = MemoryMailer()
    fakes = dict(store=store, mailer=mailer, run_crawl=crawl, settings=settings,
                 rescore=lambda store, *, topic, now: None, graph_report=lambda p, a: None,
                 charts=lambda posts, now: {})
    for now in (T0, T0 + HALF):
        clock.now = now
        monitor_topic("品牌A", now=now, **fakes)
    clock.now = T0 + 2 * HALF
    store.down = True
    with pytest.raises(RetryLater, match="postponed, the store is unavailable: database is locked"):
        monitor_topic("品牌A", now=clock.now, **fakes)
    assert store.get_monitor("品牌A").last_run_at == T0 + HALF  # not advanced: nothing skipped
    assert len(store.runs(kind="monitor")) == 2 and mailer.outbox == []

    store.down = False
    clock.now = retry = T0 + 2 * HALF + timedelta(minutes=5)
    run = monitor_topic("品牌A", now=retry, **fakes)
    assert crawl.calls[-1][3] == T0 + HALF  # the retry crawls from the last completed run
    assert [a.rule for a in run.new_alerts] == ["negative_spike"]
    assert len(mailer.outbox) == 1


def test_a_failing_mailer_keeps_the_alert_pending_for_the_next_run(settings) -> None:
    class DownThenUp(MemoryMailer):
        fail = True

        def send(self, message):
            if self.fail:
                raise MailError("cannot reach SMTP server mail.example.com:587")
            super().send(message)

    store = MemoryStore()
    _add(store, "品牌B", "品牌B", ["zhihu"], thresholds={"ALERT_NEGATIVE_RATIO": 0.4})
    clock = Clock(T0)
    mailer = DownThenUp()
    crawl = FakeCrawl(store, clock, {"品牌B": half_negative})
    fakes = dict(store=store, mailer=mailer, run_crawl=crawl, settings=settings,
                 rescore=lambda store, *, topic, now: None, graph_report=lambda p, a: None,
                 charts=lambda posts, now: {})
    run = monitor_topic("品牌B", now=T0, **fakes)
    assert run.delivery.failed == 1 and store.alerts(status="pending")
    mailer.fail = False
    clock.now = T0 + 2 * HALF  # past the mail backoff (MAIL_RETRY_BASE = 60 s)
    run = monitor_topic("品牌B", now=clock.now, **fakes)
    assert run.delivery.sent == 1 and not store.alerts(status="pending")
    assert len(mailer.outbox) == 1


def test_scoring_and_graph_failures_are_recorded_not_raised(settings) -> None:
    store = MemoryStore()
    _add(store, "品牌B", "品牌B NOT 招聘", ["zhihu"])
    clock = Clock(T0)

    def broken_scoring(store, *, topic, now):
        raise RuntimeError("model file missing")

    run = monitor_topic("品牌B", store=store, mailer=MemoryMailer(), settings=settings, now=T0,
                        run_crawl=FakeCrawl(store, clock, {"品牌B": half_negative}),
                        rescore=broken_scoring, graph_report=lambda p, a: 1 / 0,
                        charts=lambda posts, now: {})
    assert run.errors == ["scoring: RuntimeError: model file missing",
                          "graph: ZeroDivisionError: division by zero"]
    assert run.metrics["posts/count"] == 40
    assert store.runs(kind="monitor")[0].errors == run.errors


def test_paused_monitor_runs_only_when_forced(settings) -> None:
    store = MemoryStore()
    _add(store, "品牌B", "品牌B", ["zhihu"], paused=True)
    crawl = FakeCrawl(store, Clock(T0), {"品牌B": quiet})
    common = dict(store=store, mailer=MemoryMailer(), run_crawl=crawl, settings=settings, now=T0,
                  rescore=lambda store, *, topic, now: None, graph_report=lambda p, a: None)
    assert monitor_topic("品牌B", **common) is None and crawl.calls == []
    assert monitor_topic("品牌B", force=True, **common) is not None and len(crawl.calls) == 1


def test_cooldown_lets_a_worse_alert_through() -> None:
    store = MemoryStore()
    monitor = Monitor("m", "x", ["weibo"], every=1800)
    window, cooldown = timedelta(hours=1), timedelta(hours=1)

    def fire(severity: str, now: datetime):
        result = RuleResult("negative_spike", "fired", "spike", severity=severity)
        return save_alerts(store, monitor, [result], now=now, window=window, cooldown=cooldown)

    assert [a.severity for a in fire("warning", T0)[0]] == ["warning"]
    new, held = fire("warning", T0 + window)
    assert new == [] and held == ["m:negative_spike:20261120T0500Z"]
    worse, _ = fire("critical", T0 + 2 * HALF + timedelta(minutes=1))
    assert [a.severity for a in worse] == ["critical"]


def test_a_worse_alert_in_the_same_window_bucket_is_not_swallowed() -> None:
    # Runs every 30 min in a 1 h window share the hour's alert id: a warning at :10 must not
    # turn the critical at :40 into a no-op (nor may a third critical run alert again).
    store = MemoryStore()
    monitor = Monitor("m", "x", ["weibo"], every=1800)

    def fire(severity: str, now: datetime, cooldown: timedelta = timedelta(hours=1)):
        result = RuleResult("negative_spike", "fired", "spike", severity=severity)
        return save_alerts(store, monitor, [result], now=now, window=timedelta(hours=1),
                           cooldown=cooldown)

    assert [a.severity for a in fire("warning", T0 + timedelta(minutes=10))[0]] == ["warning"]
    worse, held = fire("critical", T0 + timedelta(minutes=40))
    assert [a.severity for a in worse] == ["critical"] and held == []
    assert fire("critical", T0 + timedelta(minutes=50), cooldown=timedelta(0)) == ([], [])
    assert fire("warning", T0 + timedelta(minutes=55), cooldown=timedelta(0)) == ([], [])
    assert sorted(a.severity for a in store.alerts()) == ["critical", "warning"]


def test_daily_digest_mails_each_active_monitor(settings) -> None:
    store = MemoryStore()
    _add(store, "品牌B", "品牌B NOT 招聘", ["zhihu"])
    _add(store, "停", "停", ["weibo"], paused=True)
    clock = Clock(T0)
    crawl = FakeCrawl(store, clock, {"品牌B": half_negative})
    crawl("zhihu", keywords=["品牌B"], topic="品牌B", since=T0 - 4 * HALF, settings=settings)
    mailer = MemoryMailer()
    assert daily_digest(store=store, mailer=mailer, now=T0, settings=settings) == 1
    [message] = mailer.outbox
    assert "日报" in message["Subject"] and "品牌B" in message["Subject"]
    text = message.get_body(("plain",)).get_content()
    assert "帖子：80" in text and "负面占比：50.0%" in text and "posts/" not in text
    # kept as a delivered alert: the same day's second run sends nothing again
    [digest] = [a for a in store.alerts(monitor="品牌B") if a.rule == "digest"]
    assert digest.status == "sent"
    assert daily_digest(store=store, mailer=mailer, now=T0, settings=settings) == 0
    assert len(mailer.outbox) == 1


def test_monitor_run_command_with_the_real_scoring_graph_and_outbox(tmp_path, monkeypatch, capsys):
    import scheduler.runner
    from crawlers.storage import open_store
    from scheduler.cli import main

    uri = f"sqlite:///{tmp_path}/tf.db"
    outbox = tmp_path / "outbox"
    monkeypatch.setattr("crawlers.settings.MAIL_URL", f"file://{outbox}")
    with open_store(uri) as store:
        _add(store, "品牌A", "品牌A NOT 招聘", ["weibo"], thresholds={"ALERT_NEGATIVE_RATIO": 0.1})
        clock = Clock(datetime.now(UTC))
        monkeypatch.setattr(scheduler.runner, "run_crawl",
                            FakeCrawl(store, clock, {"品牌A": half_negative}))
        assert main(["--store", uri, "monitor", "run", "品牌A"]) == 0
        posts = list(store.posts(topic="品牌A"))
        run = store.runs(kind="monitor", topic="品牌A")[-1]
    out, err = capsys.readouterr()
    # The command runs on the real clock, so how many half hours the window spans varies.
    assert "crawling weibo for 品牌A since" in err and "weibo: finished (" in out
    assert "fired    negative_share" in out and "fired    risk_words" in out
    assert "mail: 2 sent, 0 failed" in out  # both alerts in one email
    assert posts and all(p.sentiment_model for p in posts)  # scored by the shipped model
    assert run.errors == [] and run.stats["posts/count"] >= 20
    assert run.stats["risk/word/complaint:投诉"] == run.stats["posts/count"]
    assert len(list(outbox.glob("*.eml"))) == 1


def test_a_failed_crawl_does_not_advance_the_collected_window(settings) -> None:
    # A crawl that crashed (or hit a login wall) collected nothing: the next run must crawl
    # that stretch again, not start from the failed run's time.
    store = MemoryStore()
    _add(store, "品牌A", "品牌A NOT 招聘", ["weibo"])
    clock = Clock(T0)
    crawl = FakeCrawl(store, clock, {"品牌A": quiet})
    fakes = dict(store=store, mailer=MemoryMailer(), run_crawl=crawl, settings=settings,
                 rescore=lambda store, *, topic, now: None, graph_report=lambda p, a: None,
                 charts=lambda posts, now: {})
    monitor_topic("品牌A", now=T0, **fakes)
    assert store.get_monitor("品牌A").collected_until == T0
    clock.now = T0 + HALF
    crawl.broken = frozenset({"品牌A"})
    monitor_topic("品牌A", now=T0 + HALF, **fakes)
    kept = store.get_monitor("品牌A")
    assert (kept.last_run_at, kept.collected_until) == (T0 + HALF, T0)
    clock.now = T0 + 2 * HALF
    crawl.broken = frozenset()
    monitor_topic("品牌A", now=T0 + 2 * HALF, **fakes)
    assert crawl.calls[-1][3] == T0  # the gap of the failed run is collected again
    assert store.get_monitor("品牌A").collected_until == T0 + 2 * HALF


def test_a_monitors_sources_are_crawled_as_forum_runs_with_their_arguments(settings) -> None:
    store = MemoryStore()
    _add(store, "品牌A", "品牌A NOT 招聘", ["weibo"],
         sources=["feed:https://example.com/rss.xml", "discuz:https://bbs.example.com/?fid=2"])
    seen = []
    clock = Clock(T0)
    crawl = FakeCrawl(store, clock, {"品牌A": quiet})

    def recording(platform, **kw):
        seen.append((platform, kw.get("extra_args")))
        return crawl(platform, **kw)

    monitor_topic("品牌A", now=T0, store=store, mailer=MemoryMailer(), run_crawl=recording,
                  settings=settings, rescore=lambda store, *, topic, now: None,
                  graph_report=lambda p, a: None, charts=lambda posts, now: {})
    assert seen == [("weibo", None), ("forum", {"feed": "https://example.com/rss.xml"}),
                    ("forum", {"discuz": "https://bbs.example.com/", "fid": "2"})]


def test_a_negative_alert_says_which_terms_drive_it(settings) -> None:
    # 16 of 20 posts negative, most of them about 电池鼓包: the alert carries the driver
    def complaints(slot):
        return (40, 30)

    store = MemoryStore()
    _add(store, "品牌A", "品牌A NOT 招聘", ["weibo"], thresholds={"ALERT_NEGATIVE_RATIO": 0.5})
    clock = Clock(T0)

    class Themed(FakeCrawl):
        def __call__(self, platform, **kw):  # type: ignore[no-untyped-def]
            result = super().__call__(platform, **kw)
            posts = list(self.store.posts(topic="品牌A"))
            for i, p in enumerate(posts):
                if p.sentiment_label == "negative" and "招聘" not in p.text:
                    p.text = f"品牌A 电池鼓包 太差了 第{i}台" if i % 3 else f"品牌A 售后 慢 {i}"
                elif "招聘" not in p.text:
                    p.text = f"品牌A 手感 不错 外观 漂亮 {i}"
            self.store.upsert_posts(posts)
            return result

    crawl = Themed(store, clock, {"品牌A": complaints})
    run = monitor_topic("品牌A", now=T0, store=store, mailer=MemoryMailer(), run_crawl=crawl,
                        settings=settings, rescore=lambda store, *, topic, now: None,
                        graph_report=lambda p, a: None, charts=lambda posts, now: {})
    [alert] = [a for a in run.new_alerts if a.rule == "negative_share"]
    terms = [d["term"] for d in alert.details.get("drivers", [])]
    assert any("电池鼓包" in t for t in terms), terms
    from scheduler.notify.wording import explain

    assert any("负面驱动词：" in line and "电池鼓包" in line for line in explain(alert))


def test_suspected_water_army_can_be_left_out_of_metrics_and_alerts_and_says_so(settings):
    from crawlers.items import Post as P

    def ring_store(thresholds):
        store = MemoryStore()
        _add(store, "品牌A", "品牌A", ["weibo"], thresholds=thresholds)
        honest = [P("weibo", f"h{i}", text=f"品牌A 新款 手感 不错 第{i}次 买", topics=["品牌A"],
                    sentiment_label="positive", author_id=f"fan{i}", author_name=f"小王{i}",
                    created_at=T0 - timedelta(minutes=50 - i)) for i in range(30)]
        ring = [P("weibo", f"r{j}", text="品牌A 垃圾产品，大家千万别买，退钱！！", topics=["品牌A"],
                  sentiment_label="negative", author_id=f"bot{j}", kind="repost",
                  author_name=f"用户{6_000_000_000 + j}", root_post_id="h0", parent_post_id="h0",
                  created_at=T0 - timedelta(minutes=20, seconds=j)) for j in range(30)]
        store.upsert_posts(honest + ring)
        return store

    def run(store):
        crawl = FakeCrawl(store, Clock(T0), {"品牌A": lambda slot: (0, 0)})
        return monitor_topic("品牌A", now=T0, store=store, mailer=MemoryMailer(),
                             run_crawl=crawl, settings=settings,
                             rescore=lambda store, *, topic, now: None,
                             graph_report=lambda p, a: None, charts=lambda posts, now: {})

    kept = run(ring_store({"ALERT_NEGATIVE_RATIO": 0.3}))
    assert [a.rule for a in kept.new_alerts] == ["negative_share"]
    cleaned = run(ring_store({"ALERT_NEGATIVE_RATIO": 0.3, "ALERT_EXCLUDE_WATERARMY": 0.5}))
    assert cleaned.metrics["waterarmy/excluded_accounts"] >= 25
    assert cleaned.metrics["posts/negative"] < kept.metrics["posts/negative"]
    assert "negative_share" not in [a.rule for a in cleaned.new_alerts]


def test_alert_drivers_put_the_emerging_complaint_first() -> None:
    from crawlers.items import Alert
    from crawlers.items import Post as P
    from scheduler.jobs import _drivers
    from scheduler.notify.wording import explain

    def text(i, complaint):
        if i % 2:
            return f"品牌A 不错 满意 第{i}单"
        return f"品牌A 太差了 失望 {complaint if i % 4 == 0 else ''} 第{i}单"

    def posts(tag, n, complaint):
        return [P("weibo", f"{tag}{i}", text=text(i, complaint), topics=["品牌A"],
                  sentiment_label="negative" if i % 2 == 0 else "positive") for i in range(n)]

    monitor = Monitor("品牌A", "品牌A", ["weibo"], every=1800)
    drivers = _drivers(posts("now", 80, "电池鼓包"), monitor, before=posts("old", 160, ""))
    assert drivers[0]["term"] == "电池鼓包" and drivers[0]["new"] and drivers[0]["before"] == 0
    assert any(not d.get("new") for d in drivers)  # the standing ones follow
    assert [d["term"] for d in _drivers(posts("now", 80, "电池鼓包"), monitor)][0] != "电池鼓包"
    alert = Alert("a", "品牌A", "negative_share", "warning", "x", details={"drivers": drivers})
    lines = explain(alert)
    assert any(line.startswith("新增负面驱动：电池鼓包") and "此前 0 条" in line for line in lines)
