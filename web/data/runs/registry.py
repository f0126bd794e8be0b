"""The registry of runs started from the web app: one at a time per monitor, visible to every
web worker process (JSON files and an ``flock`` in a folder beside ``WEB_DB``)."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import subprocess
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from crawlers.items import utcnow
from web.data.runs.launch import alive, launch_monitor_run

if TYPE_CHECKING:
    from scheduler.i18n import Wording

__all__ = ["Launcher", "Process", "RunHandle", "RunRefused", "RunRegistry"]


def _(message: str) -> str:  # marks a reader string; translated where it is shown
    return message


class RunRefused(Exception):
    """The run cannot start here (the message says why, for the page)."""


class Process(Protocol):
    """What the registry needs of a started run: ``subprocess.Popen`` is one."""

    pid: int

    def poll(self) -> int | None: ...

    def wait(self) -> int: ...


Launcher = Callable[[str, Path, Mapping[str, Any]], Process]


@dataclass
class RunHandle:
    """One run started from the web app. ``status``: running, finished (exit code 0), failed
    (another exit code) or lost (its process ended while no web process watched it)."""

    run_id: str
    monitor: str
    by: str
    started_at: datetime
    pid: int | None = None
    status: str = "running"
    returncode: int | None = None
    finished_at: datetime | None = None

    @property
    def running(self) -> bool:
        return self.status == "running"

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "started_at": self.started_at.isoformat(),
                "finished_at": self.finished_at.isoformat() if self.finished_at else None}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RunHandle:
        values = dict(data)
        values["started_at"] = datetime.fromisoformat(values["started_at"])
        if values.get("finished_at"):
            values["finished_at"] = datetime.fromisoformat(values["finished_at"])
        fields: dict[str, Any] = {k: values.get(k) for k in cls.__dataclass_fields__}
        return cls(**fields)

    def shown(self, w: Wording) -> dict[str, Any]:
        """The handle as pages and the API show it, with one sentence in the reader's words."""
        names = {"running": _("运行中"), "finished": _("已完成"), "failed": _("运行失败"),
                 "lost": _("结果未知")}
        if self.running:
            text = w("运行中（{time} 开始，{by} 发起）", time=w.time(self.started_at, "%H:%M"),
                     by=self.by)
        else:
            text = w("{status}（{time} 由 {by} 发起，{end} 结束）", status=w(names[self.status]),
                     time=w.time(self.started_at), by=self.by, end=w.time(self.finished_at))
        return {**self.to_json(), "status_name": w(names[self.status]), "text": text}


class RunRegistry:
    """Runs started from the web app, one at a time per monitor; see the module docstring.

    ``folder`` holds ``<run_id>.json`` and ``<run_id>.log`` per run and an ``active/`` marker
    per running monitor. Finished runs older than ``keep`` are removed at the next start.
    """

    def __init__(self, folder: Path | str, *, settings: Mapping[str, Any],
                 launcher: Launcher = launch_monitor_run,
                 clock: Callable[[], datetime] = utcnow,
                 keep: timedelta = timedelta(days=14)) -> None:
        self.folder = Path(folder)
        self.settings, self.launcher, self.clock, self.keep = settings, launcher, clock, keep
        self._procs: dict[str, Process] = {}

    @classmethod
    def for_settings(cls, settings: Mapping[str, Any], **options: Any) -> RunRegistry:
        """The registry beside the web app's user database (``WEB_DB``): its data directory."""
        from web.accounts import web_db_path

        return cls(web_db_path(settings).parent / "runs", settings=settings, **options)

    # paths and locking
    def _marker(self, monitor: str) -> Path:
        return self.folder / "active" / hashlib.sha256(monitor.encode()).hexdigest()[:24]

    def log_path(self, run_id: str) -> Path:
        return self.folder / f"{run_id}.log"

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        (self.folder / "active").mkdir(parents=True, exist_ok=True, mode=0o700)
        with open(self.folder / ".lock", "a+b") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def _write(self, handle: RunHandle) -> None:
        path = self.folder / f"{handle.run_id}.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(handle.to_json(), ensure_ascii=False), encoding="utf-8")
        tmp.replace(path)

    def _read(self, run_id: str) -> RunHandle | None:
        try:
            data = json.loads((self.folder / f"{run_id}.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return RunHandle.from_json(data)

    # what runs
    def _refresh(self, handle: RunHandle) -> RunHandle:
        """Under the lock: a run whose process ended is written as ended, its marker gone."""
        if not handle.running:
            return handle
        proc = self._procs.get(handle.run_id)
        code = proc.poll() if proc is not None else None
        if proc is not None and code is None or proc is None and alive(handle.pid):
            return handle
        handle.status = "lost" if proc is None else "finished" if code == 0 else "failed"
        handle.returncode, handle.finished_at = code, self.clock()
        self._procs.pop(handle.run_id, None)
        self._write(handle)
        marker = self._marker(handle.monitor)
        if marker.is_file() and marker.read_text() == handle.run_id:
            marker.unlink()
        return handle

    def _current(self, monitor: str) -> RunHandle | None:
        try:
            run_id = self._marker(monitor).read_text()
        except OSError:
            return None
        handle = self._read(run_id)
        if handle is None:
            self._marker(monitor).unlink(missing_ok=True)
            return None
        handle = self._refresh(handle)
        return handle if handle.running else None

    def current(self, monitor: str) -> RunHandle | None:
        """The run of ``monitor`` going on now, if any."""
        with self._locked():
            return self._current(monitor)

    def get(self, run_id: str) -> RunHandle | None:
        if not run_id.replace("-", "").isalnum():
            return None
        with self._locked():
            handle = self._read(run_id)
            return self._refresh(handle) if handle else None

    def runs(self, monitor: str) -> list[RunHandle]:
        """Every kept run of ``monitor`` started here, newest first."""
        with self._locked():
            found = [h for p in self.folder.glob("*.json")
                     if (h := self._read(p.stem)) and h.monitor == monitor]
            return sorted((self._refresh(h) for h in found), key=lambda h: h.started_at,
                          reverse=True)

    def start(self, monitor: str, by: str) -> tuple[RunHandle, bool]:
        """Start a run of ``monitor`` unless one is going on: (the run, whether it is new).

        :raises RunRefused: when a background process cannot reach the store.
        """
        uri = str(self.settings.get("STORE_URI") or "")
        if uri.startswith("memory:"):
            raise RunRefused(_("数据存储在网页进程的内存中（memory://），后台运行看不到它"))
        with self._locked():
            running = self._current(monitor)
            if running is not None:
                return running, False
            self._prune()
            now = self.clock()
            run_id = f"web-{now:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
            proc = self.launcher(monitor, self.log_path(run_id), self.settings)
            handle = RunHandle(run_id, monitor, by, now, pid=proc.pid)
            self._procs[run_id] = proc
            self._write(handle)
            self._marker(monitor).write_text(run_id)
        threading.Thread(target=self._watch, args=(handle.run_id, proc), daemon=True,
                         name=f"run-{run_id}").start()
        return handle, True

    def _watch(self, run_id: str, proc: Process) -> None:
        """Reap the process and record its end as soon as it exits."""
        proc.wait()
        with self._locked():
            handle = self._read(run_id)
            if handle is not None:
                self._refresh(handle)

    def wait(self, run_id: str, timeout: float) -> RunHandle | None:
        """Block until the run ends (or ``timeout`` seconds): for scripts and tests."""
        proc = self._procs.get(run_id)
        if proc is not None and isinstance(proc, subprocess.Popen):
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout)
        elif proc is not None:
            proc.wait()
        return self.get(run_id)

    def log_tail(self, run_id: str, lines: int = 20) -> list[str]:
        """The last ``lines`` lines of a run's output (secrets are masked by the CLI)."""
        try:
            with open(self.log_path(run_id), "rb") as fh:
                fh.seek(0, os.SEEK_END)
                fh.seek(max(0, fh.tell() - 16384))
                text = fh.read().decode("utf-8", "replace")
        except OSError:
            return []
        return text.splitlines()[-lines:]

    def _prune(self) -> None:
        cutoff = self.clock() - self.keep
        for path in self.folder.glob("*.json"):
            handle = self._read(path.stem)
            if handle and not handle.running and (handle.finished_at or cutoff) < cutoff:
                path.unlink(missing_ok=True)
                self.log_path(handle.run_id).unlink(missing_ok=True)


