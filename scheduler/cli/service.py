"""``tingfeng scheduler run|jobs``: the long-running monitor service (``python -m scheduler``)."""

from __future__ import annotations

import argparse
import logging
import sys

__all__ = ["register"]

EPILOG = """\
examples:
  tingfeng scheduler run                       # foreground; stop with Ctrl-C or SIGTERM
  python -m scheduler --store sqlite:///data/tingfeng.db
  tingfeng scheduler jobs                      # what would run when, without starting

Runs every active monitor on its schedule (crawl → score → graph → alert rules → email). Jobs are
kept in a job store beside the data store (x.db → x.jobs.sqlite; MongoDB: apscheduler_jobs),
monitor changes are picked up within MONITOR_SYNC_INTERVAL seconds, a run that finds the store
down is retried after MONITOR_RETRY_DELAY seconds, and SIGTERM waits for running jobs. Run one
scheduler per store: APScheduler job stores cannot be shared between processes."""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    top = sub.add_parser(
        "scheduler", help="run the monitor service", epilog=EPILOG,
        description="The monitor service: runs every monitor on its schedule.",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    ssub = top.add_subparsers(dest="scheduler_command", metavar="ACTION", required=True)
    p = ssub.add_parser("run", help="run the service in the foreground until SIGTERM/Ctrl-C",
                        description="Run the monitor service in the foreground.", epilog=EPILOG,
                        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.set_defaults(func=cmd_run)
    p = ssub.add_parser("jobs", help="list the jobs the service would run, with next run times",
                        description="List scheduled jobs without starting the service.",
                        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.set_defaults(func=cmd_jobs)


def _job_lines(scheduler: object) -> list[str]:
    lines = []
    for job in scheduler.get_jobs():  # type: ignore[attr-defined]
        when = getattr(job, "next_run_time", None)
        lines.append(f"  {job.id:<28} next {when:%Y-%m-%d %H:%M %Z}  {job.name}" if when
                     else f"  {job.id:<28} next: after start  {job.name}")
    return lines


def cmd_run(args: argparse.Namespace) -> int:
    from scheduler.app import run_service
    from scheduler.cli.common import open_cli_store, settings_for
    from scheduler.cli.crawl import _safe

    if not args.verbose:
        logging.getLogger().setLevel(logging.INFO)
        logging.getLogger("apscheduler").setLevel(logging.WARNING)
    settings = settings_for(args)

    def ready(scheduler: object) -> None:
        print(f"tingfeng scheduler: running on {_safe(settings.get('STORE_URI'))}; "
              "stop with Ctrl-C or SIGTERM", file=sys.stderr, flush=True)
        print("\n".join(_job_lines(scheduler)), file=sys.stderr, flush=True)

    with open_cli_store(args) as store:
        code = run_service(settings, store, ready=ready)
    print("tingfeng scheduler: stopped", file=sys.stderr, flush=True)
    return code


def cmd_jobs(args: argparse.Namespace) -> int:
    from apscheduler.jobstores.memory import MemoryJobStore

    from scheduler.app import build_scheduler
    from scheduler.cli.common import open_cli_store, settings_for

    settings = settings_for(args)
    with open_cli_store(args) as store:
        # A throwaway job store: listing must not touch a running service's persisted jobs.
        scheduler = build_scheduler(settings, store, jobstore=MemoryJobStore())
        lines = _job_lines(scheduler)
    print("\n".join(lines) if lines else "no jobs: add a monitor with `tingfeng monitor add`")
    return 0
