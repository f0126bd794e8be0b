"""Start one ``tingfeng monitor run NAME`` in the background, with the web app's settings.

The CLI's ``main`` is called through ``python -c`` (``python -m scheduler`` always appends
``scheduler run``). Secrets travel in the environment, never on the command line: the store URI
may hold a password, and ``ps`` shows every argument to every user.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from web.data.runs.registry import Process

__all__ = ["OVERRIDES_ENV", "alive", "child_environment", "launch_monitor_run"]

OVERRIDES_ENV = "TINGFENG_WEB_RUN_SETTINGS"
# The child applies the web app's own setting overrides (a test's fixture server, a lower
# DOWNLOAD_DELAY…) to crawlers.settings before the CLI loads it; the variable is removed first,
# so crawls the run starts never see it (they get settings through scheduler.runner's spec).
_BOOT = ("import json, os, sys\n"
         "import crawlers.settings as s\n"
         f"for k, v in json.loads(os.environ.pop({OVERRIDES_ENV!r}, '{{}}')).items():\n"
         "    setattr(s, k, v)\n"
         "from scheduler.cli import main\n"
         "sys.exit(main(sys.argv[1:]))\n")
# Read from the environment by every crawl process itself, not forwarded by scheduler.runner.
_ENV_SECRETS = ("WEIBO_COOKIE", "ZHIHU_COOKIE", "WECHAT_COOKIE", "WECHAT_TOKEN", "TIEBA_COOKIE")
_REPO = Path(__file__).resolve().parents[3]


def _plain(value: Any) -> Any:
    return value.copy_to_dict() if hasattr(value, "copy_to_dict") else value


def _overrides(settings: Mapping[str, Any]) -> dict[str, Any]:
    """The settings the web app was built with beyond its environment: what
    ``load_settings(overrides)`` set at command-line priority (everything, for a plain dict).
    A fresh process loads the rest from the same environment by itself."""
    from scrapy.settings import SETTINGS_PRIORITIES

    priority = getattr(settings, "getpriority", None)
    out = {}
    for key in list(settings):
        if not key.isupper() or priority and (priority(key) or 0) < SETTINGS_PRIORITIES["cmdline"]:
            continue
        value = _plain(settings[key])
        try:
            json.dumps(value)
        except (TypeError, ValueError):
            continue  # not a plain value: nothing a settings module would hold
        out[key] = value
    return out


def child_environment(settings: Mapping[str, Any]) -> dict[str, str]:
    """The environment of a run: this process's, the app's overrides, and cookies the crawl
    processes read from the environment. Secrets travel here, never on the command line."""
    env = dict(os.environ)
    overrides = _overrides(settings)
    env[OVERRIDES_ENV] = json.dumps(overrides, ensure_ascii=False)
    for key in _ENV_SECRETS:
        if settings.get(key):
            env[key] = str(settings.get(key))
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(_REPO), env.get("PYTHONPATH")]))
    return env


def launch_monitor_run(monitor: str, log: Path, settings: Mapping[str, Any]) -> Process:
    """Start ``tingfeng monitor run MONITOR`` in its own session (a web restart leaves it
    running), stdout and stderr into ``log``. (``python -m scheduler`` always appends
    ``scheduler run``, so the CLI's ``main`` is called directly.)"""
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        return subprocess.Popen(
            [sys.executable, "-c", _BOOT, "monitor", "run", "--", monitor],
            env=child_environment(settings), stdin=subprocess.DEVNULL, stdout=fd,
            stderr=subprocess.STDOUT, start_new_session=True, close_fds=True)
    finally:
        os.close(fd)


def alive(pid: int | None) -> bool:
    """Whether ``pid`` is still a monitor run (a recycled pid running something else is not)."""
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return True  # no /proc here: the signal check is all there is
    return b"monitor" in command and b"run" in command


