"""The scheduler service: APScheduler 3.x, one job per monitor, a sync job that follows monitor
changes in the store, retries when the store is down, and a clean stop on SIGTERM/SIGINT.

Monitor jobs are added by textual reference ("scheduler.jobs:monitor_topic") to a persistent job
store next to the data store, so a persisted job holds only the monitor's name. One scheduler
per process. Without Redis, run one scheduler per job store (APScheduler FAQ: job stores cannot
be shared between processes; within one, ``max_instances=1`` and ``coalesce`` keep a monitor
to one run at a time). With REDIS_URL, schedulers may share a job store (MONITOR_JOBSTORE on
PostgreSQL, for fail-over): every run takes a Redis lock first, so each run happens once
(LockingExecutor).
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from crawlers.errors import ConfigError, StoreError
from crawlers.items import CrawlRun, Monitor, utcnow
from scheduler.monitors import make_trigger, schedule_text

if TYPE_CHECKING:
    from apscheduler.events import JobExecutionEvent
    from apscheduler.jobstores.base import BaseJobStore
    from apscheduler.schedulers.base import BaseScheduler

    from crawlers.distributed.locks import RunLock
    from crawlers.storage import Store

__all__ = [
    "DIGEST_JOB",
    "MONITOR_JOB",
    "SyncReport",
    "build_scheduler",
    "job_id",
    "job_listener",
    "make_jobstore",
    "run_service",
    "sync_monitors",
]

log = logging.getLogger(__name__)

MONITOR_JOB = "scheduler.jobs:monitor_topic"
DIGEST_JOB = "scheduler.jobs:daily_digest"
SYNC_JOB_ID = "sync-monitors"
# Jobs that need live objects (the sync job) or need no persistence (the digest) live here.
VOLATILE = "volatile"


def job_id(name: str) -> str:
    """The scheduler job id of a monitor."""
    return f"monitor:{name}"


def _job_name(monitor: Monitor, tz: str) -> str:
    # The name carries the schedule, which is how the sync job notices an edited schedule.
    return f"{monitor.name} ({schedule_text(monitor)}, {tz})"


def make_jobstore(settings: Any) -> BaseJobStore:
    """The persistent job store for STORE_URI: an SQLite file beside an SQLite store
    (``tingfeng.db`` → ``tingfeng.jobs.sqlite``, via SQLAlchemyJobStore), the same database for
    MongoDB (collection ``apscheduler_jobs``), or memory for ``memory://``.
    MONITOR_JOBSTORE (an SQLAlchemy URL) overrides the choice."""
    explicit = settings.get("MONITOR_JOBSTORE")
    uri = settings.get("STORE_URI") or ""
    scheme = urlsplit(uri).scheme.lower()
    if explicit or scheme == "sqlite":
        path = unquote(urlsplit(uri).path)[1:]
        if not explicit and path in ("", ":memory:"):
            return _memory_jobstore()
        try:
            from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
        except ImportError:  # pragma: no cover - a dependency, but say what to do
            raise ConfigError("the scheduler's persistent job store needs SQLAlchemy: "
                              "pip install sqlalchemy") from None
        if explicit:
            return _sqlalchemy_jobstore(SQLAlchemyJobStore, explicit)
        jobs = Path(path).expanduser().resolve()
        jobs.parent.mkdir(parents=True, exist_ok=True)
        return SQLAlchemyJobStore(url=f"sqlite:///{jobs.with_name(jobs.stem + '.jobs.sqlite')}")
    if scheme in ("mongodb", "mongodb+srv"):
        from apscheduler.jobstores.mongodb import MongoDBJobStore

        database = urlsplit(uri).path.strip("/") or "tingfeng"
        return MongoDBJobStore(database=database, collection="apscheduler_jobs", host=uri)
    if scheme == "memory":
        return _memory_jobstore()
    raise ConfigError(f"no persistent job store for STORE_URI scheme {scheme!r}: use sqlite:///, "
                      "mongodb:// or set MONITOR_JOBSTORE to an SQLAlchemy URL")


def _sqlalchemy_jobstore(cls: Any, url: str) -> BaseJobStore:
    """MONITOR_JOBSTORE as given: any SQLAlchemy URL, e.g. postgresql+psycopg://u@db/tingfeng,
    where two schedulers (one active at a time, see :class:`LockingExecutor`) can fail over."""
    try:
        # pre-ping: a connection the database dropped (failover, restart) is replaced unseen
        store: BaseJobStore = cls(url=url, engine_options={"pool_pre_ping": True})
    except ModuleNotFoundError as exc:
        raise ConfigError(f"MONITOR_JOBSTORE needs the database driver {exc.name!r}: for "
                          "PostgreSQL, pip install .[distributed] (psycopg)") from None
    return store


def _memory_jobstore() -> BaseJobStore:
    from apscheduler.jobstores.memory import MemoryJobStore

    return MemoryJobStore()


@dataclass
class SyncReport:
    """What a reconciliation changed (monitor names), and monitors it could not schedule."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)


def sync_monitors(scheduler: BaseScheduler, store: Store, settings: Any, *,
                  now: datetime | None = None) -> SyncReport:
    """Make the scheduler's monitor jobs match the store: add new monitors, reschedule edited
    ones, remove deleted or paused ones. Unchanged jobs keep their next run time.

    A changed job's next run is ``trigger.get_next_fire_time(last_run_at, now)``, so a run
    missed while the service was down fires at once (within MONITOR_MISFIRE_GRACE); a monitor
    that never ran runs at ``now``.
    """
    tz = str(settings.get("MONITOR_TIMEZONE") or "Asia/Shanghai")
    grace = int(settings.get("MONITOR_MISFIRE_GRACE") or 1800)
    now = now or utcnow()
    report = SyncReport()
    wanted = {job_id(m.name): m for m in store.monitors() if not m.paused}
    for job in scheduler.get_jobs():
        kind, _, name = job.id.partition(":")
        if kind in ("monitor", "retry") and job_id(name) not in wanted:
            scheduler.remove_job(job.id)
            if kind == "monitor":
                report.removed.append(name)
    current = {job.id: job for job in scheduler.get_jobs()}
    for jid, monitor in wanted.items():
        name = _job_name(monitor, tz)
        if jid in current and current[jid].name == name:
            continue
        try:  # one monitor with a bad schedule must not keep the others from being scheduled
            trigger = make_trigger(monitor, tz)
        except (ConfigError, ValueError) as exc:
            log.error("monitor %r cannot be scheduled: %s", monitor.name, exc)
            report.errors[monitor.name] = str(exc)
            continue
        # A monitor that never ran runs at once, so its baseline starts now.
        first = trigger.get_next_fire_time(monitor.last_run_at, now) if monitor.last_run_at else now
        if jid in current:  # modify, not re-add: works the same before and after start()
            scheduler.modify_job(jid, trigger=trigger, name=name, next_run_time=first)
            report.updated.append(monitor.name)
            continue
        scheduler.add_job(MONITOR_JOB, trigger=trigger, args=[monitor.name], id=jid, name=name,
                          replace_existing=True, next_run_time=first, coalesce=True,
                          max_instances=1, misfire_grace_time=grace)
        report.added.append(monitor.name)
    return report


def build_scheduler(settings: Any, store: Store, *, scheduler_cls: type | None = None,
                    jobstore: BaseJobStore | None = None, now: datetime | None = None,
                    ) -> BaseScheduler:
    """A configured, not yet started scheduler with every monitor's job, the sync job and
    (ALERT_DIGEST_ENABLED) the daily digest. ``get_jobs()`` works before ``start()``.

    Jobs fired later use ``store`` and ``settings`` (set with :func:`scheduler.jobs.configure`).
    """
    from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_MISSED
    from apscheduler.executors.pool import ThreadPoolExecutor
    from apscheduler.schedulers.background import BackgroundScheduler
    from apscheduler.triggers.cron import CronTrigger
    from apscheduler.triggers.interval import IntervalTrigger

    from scheduler import jobs

    tz = str(settings.get("MONITOR_TIMEZONE") or "Asia/Shanghai")
    jobs.configure(settings=settings, store=store)
    workers = int(settings.get("MONITOR_MAX_WORKERS") or 4)
    executor = (LockingExecutor(workers, run_lock(settings)) if settings.get("REDIS_URL")
                else ThreadPoolExecutor(workers))
    scheduler = (scheduler_cls or BackgroundScheduler)(
        jobstores={"default": jobstore or make_jobstore(settings), VOLATILE: _memory_jobstore()},
        executors={"default": executor},
        job_defaults={"coalesce": True, "max_instances": 1,
                      "misfire_grace_time": int(settings.get("MONITOR_MISFIRE_GRACE") or 1800)},
        timezone=tz,
    )
    scheduler.add_listener(job_listener(scheduler, store, settings),
                           EVENT_JOB_ERROR | EVENT_JOB_MISSED)
    report = sync_monitors(scheduler, store, settings, now=now)
    log.info("scheduled %d monitor(s)%s", len(report.added),
             f"; not scheduled: {report.errors}" if report.errors else "")

    def sync() -> None:
        try:
            changed = sync_monitors(scheduler, store, settings)
        except StoreError as exc:
            log.warning("monitor sync skipped, the store is unavailable: %s", exc)
            return
        if changed.added or changed.updated or changed.removed:
            log.info("monitors synced: added %s, updated %s, removed %s",
                     changed.added, changed.updated, changed.removed)

    every = int(settings.get("MONITOR_SYNC_INTERVAL") or 60)
    # First sync at start: it drops jobs persisted for monitors deleted while the service was
    # down (build_scheduler cannot see the persisted jobs before start()).
    scheduler.add_job(sync, IntervalTrigger(seconds=every, timezone=tz), id=SYNC_JOB_ID,
                      name="sync monitors with the store", jobstore=VOLATILE,
                      replace_existing=True, next_run_time=now or utcnow())
    if _flag(settings.get("ALERT_DIGEST_ENABLED")):
        hour = int(settings.get("ALERT_DIGEST_HOUR") or 9)
        scheduler.add_job(DIGEST_JOB, CronTrigger(hour=hour, minute=0, timezone=tz), id="digest",
                          name=f"daily digest at {hour:02d}:00", jobstore=VOLATILE,
                          replace_existing=True)
    return scheduler


def run_lock(settings: Any) -> RunLock:
    """The Redis lock of monitor runs: a lease of DISTRIBUTED_LEASE_SECONDS (renewed while the
    run goes on), a finished run time kept taken for MONITOR_MISFIRE_GRACE plus an hour."""
    from crawlers.distributed.keys import Keys, redis_client
    from crawlers.distributed.locks import RunLock

    grace = float(settings.get("MONITOR_MISFIRE_GRACE") or 1800)
    return RunLock(redis_client(settings), Keys.from_settings(settings),
                   lease=float(settings.get("DISTRIBUTED_LEASE_SECONDS") or 30),
                   keep=grace + 3600)


def _locking_executor_class() -> type:
    from apscheduler.executors.base import run_job
    from apscheduler.executors.pool import ThreadPoolExecutor

    class _LockingExecutor(ThreadPoolExecutor):  # type: ignore[misc]
        """A thread pool whose jobs run under the monitor-run lock (REDIS_URL set).

        APScheduler 3 has no distributed locking: two schedulers that share a job store (say
        MONITOR_JOBSTORE on PostgreSQL, for fail-over) both fire each due job. Here every run
        of a job first takes ``lock:<job id>:<scheduled run time>`` in Redis (SET NX PX, with
        a fencing token; crawlers/distributed/locks.py): the scheduler that gets it runs the
        job, the other skips it, and the crawls of a run whose lock was lost are not started.
        The volatile sync job is not locked: each scheduler reconciles its own view.
        """

        def __init__(self, max_workers: int, lock: RunLock) -> None:
            super().__init__(max_workers)
            self.lock = lock

        def _do_submit_job(self, job: Any, run_times: list[datetime]) -> None:
            def callback(f: Any) -> None:
                exc = f.exception()
                if exc:
                    self._run_job_error(job.id, exc, getattr(exc, "__traceback__", None))
                else:
                    self._run_job_success(job.id, f.result())

            f = self._pool.submit(self._run_locked, job, run_times)
            f.add_done_callback(callback)

        def _run_locked(self, job: Any, run_times: list[datetime]) -> list[Any]:
            alias = job._jobstore_alias
            if job.id == SYNC_JOB_ID:
                return list(run_job(job, alias, run_times, self._logger.name))
            events: list[Any] = []
            for when in run_times:
                name = f"{job.id}:{when.astimezone(UTC):%Y%m%dT%H%M%S}"
                try:
                    with self.lock.held(job.id, name) as fence:
                        if fence is None:
                            log.info("job %s at %s runs on another scheduler", job.id, when)
                            continue
                        events += run_job(job, alias, [when], self._logger.name)
                except Exception as exc:  # noqa: BLE001 - Redis down: the run cannot be claimed
                    log.error("job %s at %s not run: the monitor-run lock is unavailable: %s",
                              job.id, when, exc)
            return events

    return _LockingExecutor


def LockingExecutor(max_workers: int, lock: RunLock) -> Any:  # noqa: N802 - a class, built lazily
    """An APScheduler executor running each job under the monitor-run lock (see above)."""
    return _locking_executor_class()(max_workers, lock)


def _flag(value: Any) -> bool:
    return str(value).strip().lower() in ("1", "true", "yes", "on")


def job_listener(scheduler: BaseScheduler, store: Store, settings: Any, *,
                 clock: Callable[[], datetime] = utcnow) -> Callable[[JobExecutionEvent], None]:
    """The EVENT_JOB_ERROR | EVENT_JOB_MISSED listener: logs, records a failed monitor run, and
    reschedules a run that hit a down store (RetryLater) after MONITOR_RETRY_DELAY seconds."""
    from apscheduler.events import EVENT_JOB_MISSED

    from scheduler.jobs import RetryLater

    delay = int(settings.get("MONITOR_RETRY_DELAY") or 300)

    def on_event(event: JobExecutionEvent) -> None:
        kind, _, name = event.job_id.partition(":")
        if event.code == EVENT_JOB_MISSED:
            reason, error = "missed", f"run due at {event.scheduled_run_time} was missed"
            log.warning("job %s: %s (the service was down or busy)", event.job_id, error)
        else:
            reason, error = "error", f"{type(event.exception).__name__}: {event.exception}"
            exc = event.exception
            trace = None if isinstance(exc, RetryLater) else (type(exc), exc, exc.__traceback__)
            log.error("job %s failed: %s", event.job_id, error, exc_info=trace)
        if kind not in ("monitor", "retry"):
            return
        if isinstance(event.exception, RetryLater):
            when = clock() + timedelta(seconds=delay)
            scheduler.add_job(MONITOR_JOB, "date", run_date=when, args=[name], id=f"retry:{name}",
                              name=f"{name} (retry)", replace_existing=True)
            log.warning("monitor %r will be retried at %s", name, when)
            return  # the store is down: recording the failure would fail too
        try:
            monitor = store.get_monitor(name)
            platforms = ",".join(monitor.platforms) if monitor else "unknown"
            store.record_run(CrawlRun(f"{event.job_id}:{event.scheduled_run_time:%Y%m%dT%H%M%S}",
                                      platforms, topic=name, kind="monitor", started_at=clock(),
                                      finished_at=clock(), finish_reason=reason, errors=[error]))
        except StoreError as exc:
            log.error("could not record the %s of monitor %r: %s", reason, name, exc)

    return on_event


def run_service(settings: Any, store: Store, *,
                ready: Callable[[BaseScheduler], None] | None = None) -> int:
    """Run the scheduler until SIGTERM or SIGINT, then shut down waiting for running jobs.

    A second signal while waiting exits at once (running crawls are abandoned).
    """
    scheduler = build_scheduler(settings, store)
    stop = threading.Event()

    def on_signal(signum: int, frame: Any) -> None:
        if stop.is_set():
            # SystemExit would still wait for the job threads (and their crawls) at exit.
            log.error("second %s: exiting without waiting for running jobs",
                      signal.Signals(signum).name)
            os._exit(1)
        log.warning("%s received: stopping after running jobs finish", signal.Signals(signum).name)
        stop.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        scheduler.start()
        if ready:
            ready(scheduler)
        while not stop.wait(1.0):
            pass
        scheduler.shutdown(wait=True)
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    return 0
