"""``tingfeng worker``: crawl the runs that monitor runs queue in Redis, until stopped."""

from __future__ import annotations

import argparse
import logging
import sys

__all__ = ["register"]

EPILOG = """\
examples:
  tingfeng worker                                         # REDIS_URL from TINGFENG_REDIS_URL
  TINGFENG_REDIS_URL=redis://10.0.0.5:6379/0 tingfeng worker
  TINGFENG_WORKER_PLATFORMS=weibo,zhihu tingfeng worker   # only these platforms' runs

Start any number, on any machines that reach the Redis of REDIS_URL and the store. Each joins
the crawl runs that monitor runs queue (at most DISTRIBUTED_MAX_RUNS at once) and shares their
requests with the other workers; a platform's delay and concurrency hold across all of them.
SIGTERM or Ctrl-C: open crawls close, stored what they fetched and hand the rest back to the
queue; a second signal exits at once (its work is re-queued after DISTRIBUTED_LEASE_SECONDS)."""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("worker", help="crawl runs queued in Redis (distributed crawling)",
                       description="Crawl the runs monitor runs queue in Redis, until stopped.",
                       epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.set_defaults(func=cmd_worker)


def cmd_worker(args: argparse.Namespace) -> int:
    from crawlers.distributed.worker import Worker
    from crawlers.errors import ConfigError
    from scheduler.cli.common import settings_for

    settings = settings_for(args)
    if not settings.get("REDIS_URL"):
        raise ConfigError("tingfeng worker needs REDIS_URL (TINGFENG_REDIS_URL=redis://host:6379/0)")
    if not args.verbose:
        logging.getLogger().setLevel(logging.INFO)
    platforms = [p.strip() for p in str(settings.get("DISTRIBUTED_WORKER_PLATFORMS") or "")
                 .split(",") if p.strip()]
    worker = Worker(settings, platforms=platforms or None)
    print(f"tingfeng worker {worker.id}: waiting for runs; stop with Ctrl-C or SIGTERM",
          file=sys.stderr, flush=True)
    code = worker.run()
    print(f"tingfeng worker {worker.id}: stopped", file=sys.stderr, flush=True)
    return code
