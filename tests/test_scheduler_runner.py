"""scheduler.runner.run_crawl: a real crawl subprocess against the fixture server, its result read
back from the store, and the watchdog that stops a process past its time limit (SIGTERM to its
process group, SIGKILL after CRAWL_KILL_GRACE) — with real child processes and real signals."""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from crawlers.config import load_settings
from crawlers.errors import ConfigError
from crawlers.spiders.weibo import DEMO_ARGS
from scheduler.runner import Supervised, kill_grace, run_crawl, run_supervised
from tests.fixture_server import ReplayServer

pytestmark = pytest.mark.slow


def _settings(server: ReplayServer, tmp_path: Path, **extra: object):  # type: ignore[no-untyped-def]
    return load_settings({
        "STORE_URI": f"sqlite:///{tmp_path / 'run.db'}",
        "PLATFORM_BASE_URLS": json.dumps({"weibo": server.base_url}),
        "DOWNLOAD_DELAY": 0, "AUTOTHROTTLE_ENABLED": False, "CRAWL_BACKOFF_BASE": 0,
        "STORE_SPOOL_DIR": str(tmp_path / "spool"), **extra,
    })


def _watchdogs() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("crawl-watchdog")]


@pytest.fixture(autouse=True)
def _no_watchdog_outlives_its_run() -> Iterator[None]:
    assert not _watchdogs()
    yield
    assert not _watchdogs(), "a watchdog thread outlived its run"


def test_a_crawl_result_carries_the_stats_its_pipeline_recorded(
    fixture_server: ReplayServer, tmp_path: Path
) -> None:
    lines: list[str] = []
    result = run_crawl("weibo", settings=_settings(fixture_server, tmp_path), topic="t",
                       extra_args=dict(DEMO_ARGS), on_line=lines.append)
    assert result.ok, result.log_tail
    assert result.finish_reason == "finished"
    assert result.ended == "normal" and not result.timed_out
    assert result.items == result.stats["item_scraped_count"] > 0
    assert result.stats["tingfeng/posts_stored"] > 0
    assert any("Spider closed (finished)" in line for line in lines)


def test_a_crawl_past_its_time_limit_shuts_down_gracefully_and_records_its_run(
    fixture_server: ReplayServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # A 3 s politeness delay makes the demo crawl take far longer than the 2 s limit; SIGTERM
    # lets Scrapy close the spider, so StorePipeline still writes the run record.
    settings = _settings(fixture_server, tmp_path, DOWNLOAD_DELAY=3)
    with caplog.at_level("WARNING", logger="scheduler.runner"):
        result = run_crawl("weibo", settings=settings, topic="t", extra_args=dict(DEMO_ARGS),
                           timeout=2)
    assert result.ended == "timeout-graceful", result.log_tail
    assert result.timed_out and not result.ok
    assert result.finish_reason == "shutdown"
    assert "crawl stopped after 2s (MONITOR_CRAWL_TIMEOUT)" in result.log_tail
    messages = [r.getMessage() for r in caplog.records]
    assert any("weibo" in m and "2s timeout" in m and "SIGTERM" in m for m in messages)
    assert not any("SIGKILL to its process group" in m for m in messages)


@pytest.mark.parametrize("grace", [0, -1, "soon", "nan", "inf"])
def test_the_kill_grace_must_be_a_positive_number(tmp_path: Path, grace: object) -> None:
    settings = load_settings({"STORE_URI": f"sqlite:///{tmp_path / 'run.db'}",
                              "CRAWL_KILL_GRACE": grace})
    with pytest.raises(ConfigError, match="CRAWL_KILL_GRACE"):
        kill_grace(settings)
    with pytest.raises(ConfigError, match="CRAWL_KILL_GRACE"):  # before any process starts
        run_crawl("weibo", settings=settings, timeout=1)


def test_the_kill_grace_defaults_to_30_seconds(tmp_path: Path) -> None:
    assert kill_grace(load_settings({"STORE_URI": f"sqlite:///{tmp_path / 'run.db'}"})) == 30
    assert kill_grace(load_settings({"CRAWL_KILL_GRACE": "0.5"})) == 0.5


# --- the watchdog on plain child processes --------------------------------------------------

# Every child prints "ready" once its signal handling is in place. -I -S: stdlib only, and a
# fast start, so the signal handling is set up long before the 0.5 s limit.
GRACEFUL = """
import pathlib, signal, sys, time

def on_term(signum, frame):
    pathlib.Path(sys.argv[1]).write_text("flushed")
    print("SIGTERM: flushed, exiting", flush=True)
    sys.exit(0)

signal.signal(signal.SIGTERM, on_term)
print("ready", flush=True)
while True:
    time.sleep(0.05)
"""

STUBBORN = """
import signal, subprocess, sys, time

signal.signal(signal.SIGTERM, signal.SIG_IGN)  # inherited by the grandchild, too
grandchild = subprocess.Popen(
    [sys.executable, "-I", "-S", "-c", "import time\\nwhile True: time.sleep(0.05)"])
print(f"grandchild {grandchild.pid}", flush=True)
print("ready", flush=True)
while True:
    time.sleep(0.05)
"""

QUICK = """
import sys
print("one")
print("two", file=sys.stderr)
sys.exit(int(sys.argv[1]))
"""


def _run(tmp_path: Path, source: str, *args: str, timeout: float | None, grace: float,
         lines: list[str]) -> Supervised:
    script = tmp_path / "child.py"
    script.write_text(source, encoding="utf-8")
    return run_supervised([sys.executable, "-I", "-S", str(script), *args], name="toy",
                          timeout=timeout, grace=grace, on_line=lines.append, cwd=tmp_path)


def _alive(pid: int) -> bool:
    """Whether ``pid`` is a running process (a zombie waiting for its new parent counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    except OSError:  # no /proc: ask the kernel
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True
    return stat.rpartition(")")[2].split()[0] not in ("Z", "X")


def _gone(pid: int) -> bool:
    """Wait (generously, for the kernel to finish the kill) until ``pid`` is no longer running."""
    deadline = time.monotonic() + 30
    while _alive(pid):
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)  # don't leak it past the test
            return False
        time.sleep(0.05)
    return True


def test_a_child_that_handles_sigterm_ends_gracefully(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    marker, lines = tmp_path / "flushed", list[str]()
    with caplog.at_level("WARNING", logger="scheduler.runner"):
        # A long grace: the child exits on SIGTERM by itself, SIGKILL never comes.
        done = _run(tmp_path, GRACEFUL, str(marker), timeout=0.5, grace=60, lines=lines)
    assert done == Supervised(0, "timeout-graceful"), lines
    assert marker.read_text() == "flushed"
    assert lines == ["ready", "SIGTERM: flushed, exiting"]
    messages = [r.getMessage() for r in caplog.records]
    assert any("toy" in m and "0.5s timeout" in m and "SIGTERM" in m for m in messages)
    assert any("toy" in m and "0.5s timeout" in m and "gracefully" in m for m in messages)
    assert not any("SIGKILL to its" in m for m in messages)


def test_a_child_that_ignores_sigterm_is_killed_with_its_whole_process_group(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    lines: list[str] = []
    with caplog.at_level("WARNING", logger="scheduler.runner"):
        done = _run(tmp_path, STUBBORN, timeout=0.5, grace=0.5, lines=lines)
    assert done == Supervised(-signal.SIGKILL, "timeout-killed"), lines
    assert "ready" in lines
    grandchild = int(next(line for line in lines if line.startswith("grandchild ")).split()[1])
    assert _gone(grandchild), "the crawl's grandchild survived the process-group kill"
    steps = [r for r in caplog.records if "toy" in r.getMessage()]
    assert [("SIGTERM" in r.getMessage(), "SIGKILL to its" in r.getMessage()) for r in steps] \
        == [(True, False), (True, True)]
    assert all("0.5s timeout" in r.getMessage() for r in steps)
    assert steps[-1].levelname == "ERROR"


@pytest.mark.parametrize("status", [0, 3])
@pytest.mark.parametrize("timeout", [None, 60])
def test_a_child_that_ends_in_time_is_left_alone(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, status: int, timeout: float | None
) -> None:
    lines: list[str] = []
    with caplog.at_level("DEBUG", logger="scheduler.runner"):
        done = _run(tmp_path, QUICK, str(status), timeout=timeout, grace=0.5, lines=lines)
    assert done == Supervised(status, "normal")
    assert sorted(lines) == ["one", "two"]
    assert not caplog.records


def test_an_interrupted_reader_stops_the_child_before_the_error_propagates(
    tmp_path: Path,
) -> None:
    # on_line raising stands in for Ctrl-C: the child lives in its own session, so it would not
    # see the terminal's SIGINT; the runner must stop it rather than leave it running.
    marker = tmp_path / "flushed"
    script = tmp_path / "child.py"
    script.write_text(GRACEFUL, encoding="utf-8")

    def on_line(line: str) -> None:
        if line == "ready":
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_supervised([sys.executable, "-I", "-S", str(script), str(marker)], name="toy",
                       timeout=None, grace=60, on_line=on_line)
    assert marker.read_text() == "flushed"


def test_the_grace_period_must_be_positive(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="grace"):
        _run(tmp_path, QUICK, "0", timeout=1, grace=0, lines=[])


def test_crawl_arguments_travel_in_a_private_file_not_argv(
    fixture_server: ReplayServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 100 KB of keywords: on a command line this is "Argument list too long" (and readable by
    # every local user in `ps`); in the spec file it is just data.
    import scheduler.runner as runner

    seen: dict[str, object] = {}
    real = runner.run_supervised

    def spy(cmd, **kw):  # type: ignore[no-untyped-def]
        spec = Path(kw["env"]["TINGFENG_CRAWL_SPEC"])
        seen.update(cmd=cmd, mode=spec.stat().st_mode & 0o777, spec=json.loads(spec.read_text()))
        return real(cmd, **kw)

    monkeypatch.setattr(runner, "run_supervised", spy)
    keywords = [f"关键词{i}" * 1_500 for i in range(10)]  # 10 searches, ~150 KB in all
    settings = _settings(fixture_server, tmp_path, WEIBO_COOKIE="SUB=secret-cookie-value")
    result = run_crawl("weibo", settings=settings, topic="t", keywords=keywords, max_pages=1,
                       extra_args=dict(DEMO_ARGS))
    assert result.returncode == 0, result.log_tail
    assert seen["cmd"] == [sys.executable, "-m", "crawlers.launch"]
    assert seen["mode"] == 0o600
    assert len(seen["spec"]["args"]["keywords"].encode()) > 100_000  # type: ignore[index]
    assert not list(tmp_path.glob("**/crawl-*.json"))  # removed after the run
