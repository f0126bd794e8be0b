"""Monitor-run locks and the PostgreSQL job store: two schedulers sharing one job store (real
PostgreSQL) and one Redis run each monitor run once; a stale fencing token starts no crawl."""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from crawlers.config import load_settings
from crawlers.storage.memory import MemoryStore
from tests import test_distributed_servers as servers

# The servers' fixtures, by name (pytest finds fixtures among a module's globals).
postgres_url, redis_server, redis_url = (servers.postgres_url, servers.redis_server,
                                         servers.redis_url)

CALLS: list[str] = []
_LOCK = threading.Lock()


def count_run(name: str) -> None:
    """The job both schedulers fire (a stand-in for scheduler.jobs:monitor_topic)."""
    with _LOCK:
        CALLS.append(name)
    time.sleep(0.3)  # long enough for the other scheduler to fire the same run meanwhile


def test_the_job_store_lives_in_postgresql(postgres_url: str) -> None:
    from scheduler.app import make_jobstore

    settings = load_settings({"MONITOR_JOBSTORE": postgres_url, "STORE_URI": "memory://"})
    store = make_jobstore(settings)
    assert type(store).__name__ == "SQLAlchemyJobStore"
    assert store.engine.dialect.name == "postgresql"  # type: ignore[attr-defined]
    store.engine.dispose()  # type: ignore[attr-defined]  # no connection left to the collector


@pytest.mark.slow
def test_two_schedulers_on_one_job_store_run_each_monitor_run_once(
    postgres_url: str, redis_url: str
) -> None:
    from apscheduler.events import EVENT_JOB_EXECUTED
    from apscheduler.triggers.interval import IntervalTrigger

    from scheduler.app import build_scheduler, make_jobstore

    settings = load_settings({"MONITOR_JOBSTORE": postgres_url, "REDIS_URL": redis_url,
                              "STORE_URI": "memory://", "MONITOR_TIMEZONE": "UTC"})
    executed: list[tuple[str, datetime]] = []

    def on_executed(event: Any) -> None:
        with _LOCK:
            executed.append((event.job_id, event.scheduled_run_time))

    jobstores = [make_jobstore(settings) for _ in range(2)]
    schedulers = [build_scheduler(settings, MemoryStore(), jobstore=j) for j in jobstores]
    for scheduler in schedulers:
        scheduler.add_listener(on_executed, EVENT_JOB_EXECUTED)
    start = datetime.now(UTC) + timedelta(seconds=1)
    schedulers[0].add_job("tests.test_distributed_locks:count_run",
                          IntervalTrigger(seconds=1, start_date=start), args=["m"],  # not
                          # "monitor:…": the sync job would drop it (no such monitor)
                          id="probe:m", replace_existing=True, next_run_time=start,
                          misfire_grace_time=30)
    CALLS.clear()
    try:
        for scheduler in schedulers:
            scheduler.start()
        time.sleep(5)
    finally:
        for scheduler in schedulers:
            scheduler.shutdown(wait=True)
        for jobstore in jobstores:
            jobstore.engine.dispose()  # type: ignore[attr-defined]
        from scheduler.jobs import configure

        configure()  # build_scheduler set process-wide defaults (a MemoryStore): drop them
    runs = Counter(when for job, when in executed if job == "probe:m")
    assert len(runs) >= 3, executed
    assert set(runs.values()) == {1}, f"a run happened twice: {runs}"
    assert len(CALLS) == len(runs)


def test_a_taken_run_is_skipped_and_a_stale_token_publishes_nothing(redis_url: str) -> None:
    import redis

    from crawlers.distributed.dispatch import Fence
    from crawlers.distributed.keys import Keys
    from crawlers.distributed.locks import LockLost, RunLock
    from scheduler.runner import run_crawl

    lock = RunLock(redis.Redis.from_url(redis_url), Keys(), lease=5, keep=60)
    with lock.held("monitor:m", "monitor:m:T1") as fence:
        assert fence is not None
        assert lock.acquire("monitor:m", "monitor:m:T1") is None  # the other scheduler
    assert lock.acquire("monitor:m", "monitor:m:T1") is None  # done: never run again
    stale = Fence(Keys().lock("monitor:m:T2"), "0")  # a token the lock does not hold
    from crawlers.distributed import locks

    reset = locks.current_fence.set(stale)
    try:
        with pytest.raises(LockLost):
            run_crawl("weibo", settings=load_settings({"REDIS_URL": redis_url,
                                                      "STORE_URI": "memory://"}),
                      keywords=["x"], topic="x")
    finally:
        locks.current_fence.reset(reset)
    assert not redis.Redis.from_url(redis_url).smembers(Keys().runs)
