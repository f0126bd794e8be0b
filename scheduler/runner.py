"""Run one crawl as a subprocess (``python -m crawlers.launch``, the equivalent of ``scrapy crawl
<platform>`` with its arguments in a private spec file) and read its result back.

CRAWL_DISPATCH chooses where it runs (crawlers.config.dispatch_mode): with REDIS_URL set, on
``tingfeng worker`` processes (crawlers/distributed): its start requests are queued in Redis and
the run waits until they are drained; with CRAWL_DISPATCH=scrapyd, as a job on a scrapyd node
(crawlers/distributed/scrapyd.py). Every way returns the same CrawlResult.

A subprocess per crawl means no Twisted reactor reuse inside a long-lived scheduler, crash
isolation and a clean memory footprint (Scrapy docs, "Common practices"). The crawl's stats are
written by StorePipeline as a CrawlRun record; the runner finds it by the run id it passes in.

A crawl past its time limit gets SIGTERM first (Scrapy's graceful shutdown: in-flight items are
stored, the spool closed and the run recorded, finish reason "shutdown"), then SIGKILL if it is
still running ``CRAWL_KILL_GRACE`` seconds later. The crawl runs in its own session, and both
signals go to its whole process group, so whatever it started stops with it. POSIX only.
"""

from __future__ import annotations

import json
import logging
import math
import os
import signal
import subprocess
import sys
import threading
import uuid
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from crawlers.config import dispatch_mode
from crawlers.errors import ConfigError, StoreError
from crawlers.launch import SPEC_ENV
from crawlers.storage import open_store

if TYPE_CHECKING:
    from scrapy.settings import Settings

__all__ = [
    "CrawlResult",
    "Ended",
    "Supervised",
    "crawl_command",
    "kill_grace",
    "run_crawl",
    "run_supervised",
    "write_spec",
]

log = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parent.parent
# Settings forwarded to the crawl subprocess when they differ from crawlers/settings.py.
FORWARDED = (
    "STORE_URI",
    "PLATFORM_BASE_URLS",
    "DOWNLOAD_DELAY",
    "AUTOTHROTTLE_ENABLED",
    "CRAWL_BACKOFF_BASE",
    "CRAWL_MAX_PAGES",
    "STORE_SPOOL_DIR",
    "LOG_LEVEL",
    "ROBOTSTXT_OBEY",
)


# How a supervised subprocess ended: on its own, after SIGTERM at its time limit (within the
# grace period), or by SIGKILL once the grace period ran out.
Ended = Literal["normal", "timeout-graceful", "timeout-killed"]


@dataclass
class CrawlResult:
    """What one crawl did. ``finish_reason`` is Scrapy's ("finished", "login_required", …;
    "shutdown" after a graceful stop at the time limit); ``ended`` says how the process ended."""

    platform: str
    run_id: str
    returncode: int
    finish_reason: str | None = None
    stats: dict[str, Any] = field(default_factory=dict)
    log_tail: str = ""
    ended: Ended = "normal"

    @property
    def timed_out(self) -> bool:
        return self.ended != "normal"

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and self.finish_reason == "finished"

    @property
    def items(self) -> int:
        return int(self.stats.get("item_scraped_count", 0))


def crawl_command(
    platform: str, spider_args: Mapping[str, Any], settings: Mapping[str, Any]
) -> list[str]:
    """The equivalent ``scrapy crawl`` command line (for people to read and rerun by hand;
    :func:`run_crawl` passes the same through a spec file, never argv)."""
    cmd = [sys.executable, "-m", "scrapy", "crawl", platform]
    for key, value in spider_args.items():
        if value is not None and value != "":
            cmd += ["-a", f"{key}={value}"]
    for key, value in settings.items():
        if isinstance(value, (dict, list)):
            value = json.dumps(value, ensure_ascii=False)
        cmd += ["-s", f"{key}={value}"]
    return cmd


def write_spec(folder: str | os.PathLike[str], platform: str, spider_args: Mapping[str, Any],
               settings: Mapping[str, Any]) -> str:
    """The crawl's arguments and settings as a private JSON file (0600) for crawlers.launch."""
    import tempfile

    fd, path = tempfile.mkstemp(prefix="crawl-", suffix=".json", dir=folder)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump({"platform": platform,
                   "args": {k: v for k, v in spider_args.items() if v not in (None, "")},
                   "settings": dict(settings)}, fh, ensure_ascii=False, default=str)
    os.chmod(path, 0o600)
    return path


def run_crawl(
    platform: str,
    *,
    settings: Settings,
    keywords: list[str] | None = None,
    topic: str | None = None,
    since: datetime | None = None,
    max_pages: int | None = None,
    extra_args: Mapping[str, Any] | None = None,
    timeout: float | None = None,
    on_line: Callable[[str], None] | None = None,
) -> CrawlResult:
    """Crawl ``platform`` in a subprocess and return its result (never raises for crawl trouble).

    ``timeout`` (seconds, None or 0 for none) stops the crawl as the module docstring describes;
    ``result.ended`` tells how it ended. ``on_line`` receives each log line as it arrives
    (progress display); the last 40 lines are kept in ``log_tail``. Raises ConfigError for a bad
    ``CRAWL_KILL_GRACE`` or ``CRAWL_DISPATCH`` (and its SCRAPYD_* settings) before anything
    starts, and ScrapydUnavailable when no scrapyd node answers (nothing was started).
    """
    mode = dispatch_mode(settings)
    grace = kill_grace(settings)
    run_id = f"{platform}-{uuid.uuid4().hex[:12]}"
    spider_args: dict[str, Any] = {
        "keywords": ",".join(keywords or []),
        "topic": topic,
        "since": since.isoformat() if since else None,
        "max_pages": max_pages,
        **(extra_args or {}),
    }
    forwarded = {k: settings.get(k) for k in FORWARDED if settings.get(k) not in (None, "", {})}
    if "PLATFORM_BASE_URLS" in forwarded:
        forwarded["PLATFORM_BASE_URLS"] = dict(settings.getdict("PLATFORM_BASE_URLS"))
    forwarded["CRAWL_RUN_ID"] = run_id
    env = dict(os.environ)
    env["SCRAPY_SETTINGS_MODULE"] = "crawlers.settings"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    tail: deque[str] = deque(maxlen=40)

    def line_seen(line: str) -> None:
        tail.append(line)
        if on_line:
            on_line(line)

    if mode == "redis":
        return _run_on_workers(platform, run_id, settings, spider_args, forwarded, timeout,
                               grace, line_seen, tail)
    if mode == "scrapyd":
        return _run_on_scrapyd(platform, run_id, settings, spider_args, forwarded, timeout,
                               grace, line_seen, tail)
    import tempfile

    started = datetime.now(UTC)
    # Arguments travel in a private file, not argv: no "Argument list too long" for a long
    # keyword list, and nothing readable by other local users through `ps`.
    with tempfile.TemporaryDirectory(prefix="tingfeng-crawl-") as folder:
        env[SPEC_ENV] = write_spec(folder, platform, spider_args, forwarded)
        done = run_supervised(
            [sys.executable, "-m", "crawlers.launch"],
            name=platform,
            timeout=timeout,
            grace=grace,
            on_line=line_seen,
            cwd=REPO_ROOT,
            env=env,
        )
    if done.ended == "timeout-graceful":
        tail.append(f"crawl stopped after {timeout:g}s (MONITOR_CRAWL_TIMEOUT): "
                    "SIGTERM, shut down gracefully")
    elif done.ended == "timeout-killed":
        tail.append(f"crawl killed after {timeout:g}s (MONITOR_CRAWL_TIMEOUT): SIGTERM, "
                    f"then SIGKILL {grace:g}s later (CRAWL_KILL_GRACE)")
    result = CrawlResult(platform, run_id, done.returncode, log_tail="\n".join(tail),
                         ended=done.ended)
    _read_record(result, settings, started)
    return result


def _read_record(result: CrawlResult, settings: Settings, started: datetime) -> None:
    """Fill ``result`` from the CrawlRun the crawl's own StorePipeline wrote (found by run id)."""
    try:
        with open_store(settings.get("STORE_URI")) as store:
            # The record is written by the crawl's StorePipeline with a start time after ours.
            since_start = started - timedelta(minutes=1)
            for run in store.runs(platform=result.platform, kind="crawl", since=since_start):
                if run.run_id == result.run_id:
                    result.finish_reason = run.finish_reason
                    result.stats = run.stats
    except StoreError as exc:  # a result without stats is still a result
        result.log_tail += f"\n(could not read the crawl record: {exc})"


def _run_on_scrapyd(platform: str, run_id: str, settings: Settings,
                    spider_args: Mapping[str, Any], forwarded: Mapping[str, Any],
                    timeout: float | None, grace: float, on_line: Callable[[str], None],
                    tail: deque[str]) -> CrawlResult:
    """The crawl as a scrapyd job (CRAWL_DISPATCH=scrapyd) whose id is the run id; its record is
    read from the store as a local crawl's is, so the nodes must write to this store."""
    from crawlers.distributed.scrapyd import run_on_scrapyd

    started = datetime.now(UTC)
    outcome = run_on_scrapyd(platform, run_id=run_id, settings=settings,
                             spider_args=spider_args, forwarded=forwarded,
                             timeout=timeout or None, grace=grace, on_line=on_line)
    ended: Ended = "normal"
    if outcome.ended in ("timeout-graceful", "timeout-killed"):
        ended = "timeout-graceful" if outcome.ended == "timeout-graceful" else "timeout-killed"
    result = CrawlResult(platform, run_id, outcome.returncode, ended=ended)
    if outcome.state == "gone":
        tail.append(f"scrapyd at {outcome.node} no longer knows job {run_id} (restarted?)")
    result.log_tail = "\n".join(tail)
    _read_record(result, settings, started)
    if result.finish_reason is None and result.returncode == 0:
        result.returncode = 1
        result.log_tail += (f"\nscrapyd job {run_id} on {outcome.node} ended without a crawl "
                            "record in this store: do the scrapyd nodes write to the same store "
                            "(TINGFENG_STORE in scrapyd's environment)?")
    return result


def _run_on_workers(platform: str, run_id: str, settings: Settings,
                    spider_args: Mapping[str, Any], forwarded: Mapping[str, Any],
                    timeout: float | None, grace: float, on_line: Callable[[str], None],
                    tail: deque[str]) -> CrawlResult:
    """The crawl on ``tingfeng worker`` processes through Redis (REDIS_URL is set): its start
    requests are queued, the run waits until they are drained (``timeout`` as for a
    subprocess), and the workers' parts become the run's CrawlRun, stored here. Inside a
    monitor run locked by the scheduler, the crawl is published only while the lock holds."""
    from crawlers.distributed.dispatch import run_distributed
    from crawlers.distributed.locks import current_fence

    outcome = run_distributed(platform, run_id=run_id, settings=settings,
                              spider_args=spider_args, forwarded=forwarded,
                              timeout=timeout or None, grace=grace, on_line=on_line,
                              fence=current_fence.get())
    record = outcome.record
    try:
        with open_store(settings.get("STORE_URI")) as store:
            store.record_run(record)
    except StoreError as exc:  # the result still carries the stats
        tail.append(f"(could not store the crawl record: {exc})")
    ended: Ended = "normal"
    if outcome.ended in ("timeout-graceful", "timeout-killed"):
        ended = "timeout-graceful" if outcome.ended == "timeout-graceful" else "timeout-killed"
    return CrawlResult(platform, run_id, 0, finish_reason=record.finish_reason,
                       stats=record.stats, log_tail="\n".join([*tail, *record.errors]),
                       ended=ended)


def kill_grace(settings: Settings) -> float:
    """``CRAWL_KILL_GRACE``: seconds between SIGTERM and SIGKILL, a number above 0."""
    raw = settings.get("CRAWL_KILL_GRACE", 30)
    try:
        grace = float(raw)
    except (TypeError, ValueError):
        grace = math.nan
    if not (grace > 0 and math.isfinite(grace)):
        raise ConfigError(
            f"CRAWL_KILL_GRACE={raw!r}: use the seconds a crawl gets between SIGTERM and "
            "SIGKILL, a number above 0 (default 30)"
        )
    return grace


@dataclass(frozen=True)
class Supervised:
    """How a ``run_supervised`` process ended: its exit status (negative: killed by that signal)
    and whether the time limit stopped it."""

    returncode: int
    ended: Ended


def run_supervised(
    cmd: list[str],
    *,
    name: str,
    timeout: float | None,
    grace: float,
    on_line: Callable[[str], None],
    cwd: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
) -> Supervised:
    """Run ``cmd`` in a new session, feed each output line (stdout and stderr, stripped) to
    ``on_line`` and return how it ended.

    Past ``timeout`` seconds (None or 0: no limit) its process group gets SIGTERM, then SIGKILL
    if the leader is still running or the output still open ``grace`` seconds later. Once the
    leader has exited, whatever is left of its group gets SIGKILL, so nothing it started
    outlives the run. If reading is interrupted (Ctrl-C, ``on_line`` raising), the process is
    stopped the same way before the exception propagates. The watchdog thread never outlives
    the call.
    """
    if grace <= 0:
        raise ValueError(f"grace must be above 0 seconds, not {grace!r}")
    with subprocess.Popen(
        cmd,
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        encoding="utf-8",
        errors="replace",
        start_new_session=True,  # its own process group (pgid == pid), signalled as a whole
    ) as proc:
        # Reading the output blocks until the process ends, so the time limit is a watchdog.
        assert proc.stdout is not None
        output = proc.stdout
        watchdog = _Watchdog(proc.pid, name, timeout or None, grace)
        try:
            for line in output:
                on_line(line.rstrip())
        except BaseException:
            watchdog.stop_now()
            output.close()  # nobody reads any more: let its writes fail, not block
            raise
        finally:
            exited = False
            try:
                _wait_unreaped(proc.pid)
                exited = True
            finally:  # a second Ctrl-C while waiting: kill it now
                watchdog.finish(exited)
        returncode = proc.wait()
    return Supervised(returncode, watchdog.ended)


class _Watchdog:
    """The thread that stops a process group past its time limit: SIGTERM, then SIGKILL.

    Signals are sent under a lock and only before ``finish``, which the caller runs while the
    leader is still unreaped (a zombie at worst), so its pid — the group id — is never reused
    under us.
    """

    def __init__(self, pgid: int, name: str, timeout: float | None, grace: float) -> None:
        self.pgid, self.name, self.timeout, self.grace = pgid, name, timeout, grace
        self.ended: Ended = "normal"
        self._why = f"{timeout:g}s timeout" if timeout else "no timeout"
        self._lock = threading.Lock()
        self._expire = threading.Event()  # time to stop (the limit, or an interruption)
        self._done = threading.Event()  # the leader has exited: signal no more
        self._interrupted = False
        self._exited = False
        self._thread = threading.Thread(target=self._run, name=f"crawl-watchdog-{name}",
                                        daemon=True)
        self._thread.start()

    def stop_now(self) -> None:
        """The caller gave up reading: stop the process at once, not at the time limit."""
        self._interrupted = True
        self._expire.set()

    def finish(self, exited: bool) -> None:
        """The leader has ``exited`` (or the caller gives up waiting): kill what is left of the
        group and join the thread."""
        with self._lock:
            self._done.set()
            self._exited = exited
            if not exited:
                log.error("crawl %s (%s) interrupted again: sending SIGKILL to its process group",
                          self.name, self._why)
            _signal_group(self.pgid, signal.SIGKILL)
        self._expire.set()
        self._thread.join()

    def _run(self) -> None:
        self._expire.wait(self.timeout)
        with self._lock:
            if self._done.is_set():
                return
            if self._interrupted:
                log.warning("crawl %s (%s) interrupted: sending SIGTERM to its process group, "
                            "SIGKILL in %gs", self.name, self._why, self.grace)
            else:
                self.ended = "timeout-graceful"
                log.warning("crawl %s passed its %s: sending SIGTERM to its process group, "
                            "SIGKILL in %gs", self.name, self._why, self.grace)
            _signal_group(self.pgid, signal.SIGTERM)
        self._done.wait(self.grace)
        with self._lock:
            if self._done.is_set():
                if self._exited:
                    log.warning("crawl %s (%s) shut down gracefully after SIGTERM",
                                self.name, self._why)
                return
            if not self._interrupted:
                self.ended = "timeout-killed"
            log.error("crawl %s (%s) still running %gs after SIGTERM: sending SIGKILL to its "
                      "process group", self.name, self._why, self.grace)
            _signal_group(self.pgid, signal.SIGKILL)


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:  # the group is already gone
        pass
    except OSError as exc:  # e.g. EPERM from a member that changed user; nothing more to do
        log.warning("could not send %s to process group %d: %s", sig.name, pgid, exc)


def _wait_unreaped(pid: int) -> None:
    """Block until ``pid`` exits, leaving it a zombie so its pid (our group id) stays taken."""
    try:
        os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT)
    except ChildProcessError:  # reaped elsewhere (SIGCHLD ignored); nothing to wait for
        pass
