"""build_scheduler without starting it: job ids, triggers, options and first run times; the sync
job following monitor edits; job stores by store URI; the error listener; SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_MISSED, JobExecutionEvent
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from crawlers.config import load_settings
from crawlers.errors import BackendUnavailable, ConfigError
from crawlers.items import Monitor
from crawlers.storage.memory import MemoryStore
from scheduler.app import build_scheduler, job_listener, make_jobstore, sync_monitors
from scheduler.jobs import RetryLater
from scheduler.monitors import add_monitor

NOW = datetime(2026, 11, 20, 4, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def settings():
    return load_settings({"STORE_URI": "memory://", "MONITOR_MISFIRE_GRACE": 900})


@pytest.fixture
def store() -> MemoryStore:
    store = MemoryStore()
    created = NOW - timedelta(days=3)
    add_monitor(store, Monitor("fresh", "a", ["weibo"], every=1800), now=NOW)
    add_monitor(store, Monitor("hourly", "b", ["zhihu"], every=3600), now=created)
    add_monitor(store, Monitor("cron", "c", ["forum"], cron="0 */2 * * *"), now=created)
    add_monitor(store, Monitor("paused", "d", ["weibo"], every=1800, paused=True), now=created)
    for name, last in (("hourly", NOW - timedelta(minutes=20)), ("cron", NOW - timedelta(hours=3))):
        m = store.get_monitor(name)
        m.last_run_at = last
        store.save_monitor(m)
    return store


def _jobs(scheduler) -> dict:
    return {job.id: job for job in scheduler.get_jobs()}


def test_build_scheduler_adds_one_job_per_active_monitor(settings, store) -> None:
    scheduler = build_scheduler(settings, store, now=NOW)
    jobs = _jobs(scheduler)
    assert set(jobs) == {"monitor:fresh", "monitor:hourly", "monitor:cron", "sync-monitors"}
    for name in ("fresh", "hourly", "cron"):
        job = jobs[f"monitor:{name}"]
        assert job.func_ref == "scheduler.jobs:monitor_topic" and job.args == (name,)
        assert (job.coalesce, job.max_instances, job.misfire_grace_time) == (True, 1, 900)
    assert isinstance(jobs["monitor:hourly"].trigger, IntervalTrigger)
    assert isinstance(jobs["monitor:cron"].trigger, CronTrigger)
    assert str(jobs["monitor:cron"].trigger.timezone) == "Asia/Shanghai"
    assert isinstance(jobs["sync-monitors"].trigger, IntervalTrigger)
    assert jobs["sync-monitors"].trigger.interval == timedelta(seconds=60)


def test_first_run_times_follow_the_trigger_from_the_last_run(settings, store) -> None:
    jobs = _jobs(build_scheduler(settings, store, now=NOW))
    # Never ran: at once, so the monitor's baseline starts.
    assert jobs["monitor:fresh"].next_run_time == NOW
    # Ran 20 minutes ago on an hourly schedule: 40 minutes from now.
    hourly = jobs["monitor:hourly"]
    previous = NOW - timedelta(minutes=20)
    assert hourly.next_run_time == hourly.trigger.get_next_fire_time(previous, NOW)
    assert hourly.next_run_time == NOW + timedelta(minutes=40)
    # Every two hours on Shanghai's even hours (UTC+8: also even UTC hours). Last run at 01:00
    # UTC, so the 02:00 UTC run was missed while the service was down: it is due already, and
    # the scheduler's misfire grace decides whether it still runs; after it comes 04:00 UTC.
    cron = jobs["monitor:cron"]
    assert cron.next_run_time == datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
    assert cron.trigger.get_next_fire_time(cron.next_run_time, NOW) == NOW


def test_a_monitor_that_cannot_be_scheduled_does_not_stop_the_others(settings, store) -> None:
    store.save_monitor(Monitor("broken", "x", ["weibo"], cron="99 * * * *"))  # bypasses validation
    scheduler = build_scheduler(settings, store, now=NOW)
    assert "monitor:broken" not in _jobs(scheduler) and "monitor:hourly" in _jobs(scheduler)
    report = sync_monitors(scheduler, store, settings, now=NOW)
    assert "broken" in report.errors and "99" in report.errors["broken"]


def test_sync_picks_up_add_edit_pause_and_remove(settings, store) -> None:
    scheduler = build_scheduler(settings, store, now=NOW)
    before = _jobs(scheduler)
    later = NOW + timedelta(minutes=5)
    add_monitor(store, Monitor("new", "e", ["weibo"], every=7200), now=later)
    edited = store.get_monitor("hourly")
    edited.every = 600
    add_monitor(store, edited, now=later, replace=True)
    paused = store.get_monitor("fresh")
    paused.paused = True
    store.save_monitor(paused)
    store.delete_monitor("cron")
    resumed = store.get_monitor("paused")
    resumed.paused = False
    store.save_monitor(resumed)

    report = sync_monitors(scheduler, store, settings, now=later)
    assert sorted(report.added) == ["new", "paused"]
    assert report.updated == ["hourly"] and sorted(report.removed) == ["cron", "fresh"]
    jobs = _jobs(scheduler)
    assert set(jobs) == {"monitor:hourly", "monitor:new", "monitor:paused", "sync-monitors"}
    assert jobs["monitor:hourly"].trigger.interval == timedelta(minutes=10)
    # An unchanged sync changes nothing and keeps next run times.
    again = sync_monitors(scheduler, store, settings, now=later + timedelta(minutes=1))
    assert (again.added, again.updated, again.removed) == ([], [], [])
    assert jobs["monitor:new"].next_run_time == _jobs(scheduler)["monitor:new"].next_run_time
    assert before["sync-monitors"] is not None


def test_digest_job_only_when_enabled(store) -> None:
    off = build_scheduler(load_settings({"STORE_URI": "memory://"}), store, now=NOW)
    assert "digest" not in _jobs(off)
    on = build_scheduler(load_settings({"STORE_URI": "memory://", "ALERT_DIGEST_ENABLED": True,
                                        "ALERT_DIGEST_HOUR": 8}), store, now=NOW)
    digest = _jobs(on)["digest"]
    assert digest.func_ref == "scheduler.jobs:daily_digest"
    assert digest.trigger.get_next_fire_time(None, NOW) == datetime(2026, 11, 21, 0, 0, tzinfo=UTC)


def test_job_store_follows_the_store_uri(tmp_path) -> None:
    from apscheduler.jobstores.mongodb import MongoDBJobStore
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore

    sqlite = make_jobstore(load_settings({"STORE_URI": f"sqlite:///{tmp_path}/data/tf.db"}))
    assert isinstance(sqlite, SQLAlchemyJobStore)
    assert sqlite.engine.url.database == str(tmp_path / "data" / "tf.jobs.sqlite")
    explicit = make_jobstore(load_settings({"MONITOR_JOBSTORE": f"sqlite:///{tmp_path}/j.sqlite"}))
    assert explicit.engine.url.database == str(tmp_path / "j.sqlite")
    mongo = make_jobstore(load_settings({"STORE_URI": "mongodb://127.0.0.1:9/listen"}))
    try:  # pymongo connects lazily: nothing is contacted here
        assert isinstance(mongo, MongoDBJobStore)
        assert mongo.collection.full_name == "listen.apscheduler_jobs"
    finally:
        mongo.client.close()
    sqlite.engine.dispose()
    explicit.engine.dispose()
    assert isinstance(make_jobstore(load_settings({"STORE_URI": "memory://"})), MemoryJobStore)
    with pytest.raises(ConfigError, match="no persistent job store for STORE_URI scheme 'redis'"):
        make_jobstore(load_settings({"STORE_URI": "redis://x"}))


def test_jobs_persist_in_the_sqlite_job_store(tmp_path) -> None:
    # Real time here: a started scheduler processes due jobs (even when paused, at shutdown), so
    # every job is made due well in the future.
    now = datetime.now(UTC).replace(microsecond=0)
    # The daily run half a day away in the monitor's zone (a fixed 09:00 came due, and ran at
    # start, when the test ran in the 20 minutes after it).
    hour = (now.astimezone(ZoneInfo("Asia/Shanghai")).hour + 12) % 24
    store = MemoryStore()
    add_monitor(store, Monitor("hourly", "b", ["zhihu"], every=3600), now=now - timedelta(days=1))
    add_monitor(store, Monitor("daily", "c", ["forum"], cron=f"0 {hour} * * *"), now=now)
    for name in ("hourly", "daily"):
        m = store.get_monitor(name)
        m.last_run_at = now - timedelta(minutes=20)
        store.save_monitor(m)
    settings = load_settings({"STORE_URI": f"sqlite:///{tmp_path}/tf.db"})
    first = build_scheduler(settings, store, now=now)
    expected = {job.id: job.next_run_time for job in first.get_jobs()
                if job.id.startswith("monitor:")}
    assert expected["monitor:hourly"] == now + timedelta(minutes=40)
    first.start(paused=True)  # writes the jobs, runs nothing
    first.shutdown(wait=False)
    reopened = make_jobstore(settings)
    reopened.start(None, "default")
    try:
        persisted = {job.id: job for job in reopened.get_all_jobs()}
    finally:
        reopened.shutdown()
    assert set(persisted) == set(expected)  # the volatile sync job is not persisted
    assert {k: job.next_run_time for k, job in persisted.items()} == expected
    assert persisted["monitor:daily"].func_ref == "scheduler.jobs:monitor_topic"


def test_listener_reschedules_a_run_that_found_the_store_down(settings, store) -> None:
    scheduler = build_scheduler(settings, store, now=NOW)
    listen = job_listener(scheduler, store, settings, clock=lambda: NOW)
    error = RetryLater("hourly", str(BackendUnavailable("database is locked")))
    listen(JobExecutionEvent(EVENT_JOB_ERROR, "monitor:hourly", "default", NOW, exception=error))
    retry = _jobs(scheduler)["retry:hourly"]
    assert isinstance(retry.trigger, DateTrigger)
    assert retry.trigger.run_date == NOW + timedelta(seconds=300) and retry.args == ("hourly",)
    assert store.runs(kind="monitor") == []  # the store is down: nothing to record into


def test_listener_records_failed_and_missed_monitor_runs(settings, store) -> None:
    scheduler = build_scheduler(settings, store, now=NOW)
    listen = job_listener(scheduler, store, settings, clock=lambda: NOW)
    listen(JobExecutionEvent(EVENT_JOB_ERROR, "monitor:cron", "default", NOW,
                             exception=ValueError("boom")))
    listen(JobExecutionEvent(EVENT_JOB_MISSED, "monitor:hourly", "default", NOW - 2 * HOUR))
    listen(JobExecutionEvent(EVENT_JOB_ERROR, "sync-monitors", "volatile", NOW,
                             exception=KeyError("x")))
    runs = {run.topic: run for run in store.runs(kind="monitor")}
    assert set(runs) == {"cron", "hourly"}
    assert runs["cron"].finish_reason == "error" and runs["cron"].errors == ["ValueError: boom"]
    assert runs["hourly"].finish_reason == "missed"


@pytest.mark.slow
def test_sigterm_stops_the_service_cleanly(tmp_path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO), "XDG_DATA_HOME": str(tmp_path)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "scheduler", "--store", f"sqlite:///{tmp_path}/tf.db"],
        cwd=tmp_path, env=env, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stderr is not None
        lines = []
        for line in proc.stderr:
            lines.append(line)
            if "stop with Ctrl-C or SIGTERM" in line:
                break
        else:
            pytest.fail("".join(lines))
        time.sleep(0.2)
        proc.send_signal(signal.SIGTERM)
        rest = proc.communicate(timeout=30)[1]
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, rest
    assert "SIGTERM received" in rest and "tingfeng scheduler: stopped" in rest
    assert (tmp_path / "tf.jobs.sqlite").is_file()
