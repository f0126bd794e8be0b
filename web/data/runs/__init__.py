""""Run now" from the web app, and a monitor's run history.

A click starts ``tingfeng monitor run NAME`` as a background subprocess — the command line's own
code path (crawls, scoring, alerts, mail, the CrawlRun records), so the request returns at once
and a crash in a run cannot take the web server down. The registry (JSON files beside
``WEB_DB``) knows what runs: a page can say "运行中（12:03 开始，ana 发起）", and a second click
while a monitor runs starts nothing. An ``flock`` makes "is one running? else start" atomic
across threads and web worker processes (POSIX only, like ``scheduler.runner``). The registry
cannot see runs of ``tingfeng scheduler run``: those hold no lock outside Redis.

History: ``store.runs(topic=…)`` holds one ``kind="monitor"`` record per monitor run, naming the
crawl runs it started (``args["crawl_runs"]``); :func:`run_history` groups them, newest first.
"""

from web.data.runs.history import PAGE_SIZE, run_history
from web.data.runs.launch import OVERRIDES_ENV, child_environment, launch_monitor_run
from web.data.runs.registry import Launcher, Process, RunHandle, RunRefused, RunRegistry

__all__ = ["OVERRIDES_ENV", "PAGE_SIZE", "Launcher", "Process", "RunHandle", "RunRefused",
           "RunRegistry", "child_environment", "launch_monitor_run", "run_history"]
