"""`.ci/run` runs every step even when one fails, and fails when any step failed."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _fake_tools(bin_dir: Path, log: Path, failing: str) -> None:
    bin_dir.mkdir()
    # python: log the call; fail the step whose arguments contain ``failing``
    (bin_dir / "python").write_text(
        f'#!/bin/sh\necho "$*" >> {log}\ncase "$*" in *{failing}*) exit 1;; esac\nexit 0\n')
    for tool in ("apt-get", "chromium"):  # never touch the real package manager
        (bin_dir / tool).write_text("#!/bin/sh\nexit 0\n")
    for f in bin_dir.iterdir():
        f.chmod(0o755)


@pytest.mark.parametrize(("failing", "later_steps"), [
    ("pytest", ["ruff check", "mypy"]),   # failed tests used to stop lint and types (set -e)
    ("ruff check", ["mypy"]),
])
def test_every_step_runs_and_a_failure_fails_the_run(tmp_path, failing, later_steps):
    (tmp_path / ".ci").mkdir()
    shutil.copy(ROOT / ".ci" / "run", tmp_path / ".ci" / "run")
    log = tmp_path / "calls.log"
    _fake_tools(tmp_path / "bin", log, failing)
    env = {**os.environ, "PATH": f"{tmp_path / 'bin'}:/usr/bin:/bin"}
    proc = subprocess.run(["bash", str(tmp_path / ".ci" / "run")], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)
    calls = log.read_text()
    assert proc.returncode != 0, proc.stdout
    for step in later_steps:
        assert step in calls, f"{step} never ran after {failing} failed"
    assert "CI failed" in proc.stdout


def test_all_steps_passing_passes(tmp_path):
    (tmp_path / ".ci").mkdir()
    shutil.copy(ROOT / ".ci" / "run", tmp_path / ".ci" / "run")
    log = tmp_path / "calls.log"
    _fake_tools(tmp_path / "bin", log, failing="no-such-step")
    env = {**os.environ, "PATH": f"{tmp_path / 'bin'}:/usr/bin:/bin"}
    proc = subprocess.run(["bash", str(tmp_path / ".ci" / "run")], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout
    assert "-m pytest" in log.read_text()


def test_the_servers_of_the_distributed_tests_are_installed():
    # Debian's redis-server and postgresql (the tests start their own on loopback), and the
    # Python side through the distributed extra.
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "want+=(redis-server)" in ci and "want+=(postgresql)" in ci
    assert '-e ".[test]"' in ci  # the README's install: the test extra carries the drivers
    project = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    test_extra = project.split("test = [", 1)[1].split("]\n", 1)[0]
    assert all(dep in test_extra for dep in ("scrapy-redis", "redis>=", "psycopg[binary]"))

