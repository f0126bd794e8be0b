"""The ``tingfeng worker`` process: joins the runs queued in Redis and crawls them until stopped.

One Scrapy ``CrawlerProcess``; each run it joins gets a crawler of its own (the run's spider
arguments and settings, from the spec the monitor run published), whose scheduler, item
pipeline and middlewares are the distributed ones. Every DISTRIBUTED_POLL_INTERVAL the worker
beats its heartbeat (the lease of everything it holds), re-queues the leases of workers whose
heartbeat expired, and joins new runs (at most DISTRIBUTED_MAX_RUNS at once).

SIGTERM or SIGINT: no new runs; each open crawl closes ("shutdown"), flushing its items and
handing its unfinished requests back to the queue, then the process exits 0. A second signal
exits at once (what it held is re-queued when its heartbeat expires).
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import redis

from crawlers.distributed import scripts
from crawlers.distributed.frontier import requeue_dead
from crawlers.distributed.keys import Keys, redis_client, text

if TYPE_CHECKING:
    from scrapy.crawler import CrawlerProcess
    from scrapy.settings import Settings

__all__ = ["Worker", "run_settings", "warm_up", "worker_id"]

log = logging.getLogger(__name__)
REDIS_DOWN = (redis.ConnectionError, redis.TimeoutError)


def worker_id() -> str:
    """host-pid-random: unique, readable in logs, and free of the ``|`` leases use."""
    host = socket.gethostname().replace("|", "_")
    return f"{host}-{os.getpid()}-{uuid.uuid4().hex[:4]}"


def run_settings(base: Settings, spidercls: type, spec: dict[str, Any], worker: str) -> Settings:
    """The settings of one run's crawler: the worker's, then the run's (as ``-s``), then the
    distributed components. The platform's own politeness (its custom_settings, or the run's
    override) becomes the global per-host rate and cap; the local delay is turned off so a
    granted token is sent at once (AutoThrottle is per process, so it is off too)."""
    settings = base.copy()
    for key, value in (spec.get("settings") or {}).items():
        settings.set(key, value, priority="cmdline")
    effective = settings.copy()
    spidercls.update_settings(effective)  # type: ignore[attr-defined]
    delay = effective.getfloat("DOWNLOAD_DELAY")
    per_host = effective.getint("CONCURRENT_REQUESTS_PER_DOMAIN")
    pipelines = dict(effective.getdict("ITEM_PIPELINES"))
    order = pipelines.pop("crawlers.pipelines.StorePipeline", 300)
    pipelines["crawlers.distributed.runs.RunStorePipeline"] = order
    overrides: dict[str, Any] = {
        "CRAWL_RUN_ID": spec["run_id"],
        "DISTRIBUTED_WORKER_ID": worker,
        "SCHEDULER": "crawlers.distributed.frontier.RunScheduler",
        "ITEM_PIPELINES": pipelines,
        "SPIDER_MIDDLEWARES": {**effective.getdict("SPIDER_MIDDLEWARES"),
                               "crawlers.distributed.runs.RunSpiderMiddleware": 5},
        "DOWNLOADER_MIDDLEWARES": {
            **effective.getdict("DOWNLOADER_MIDDLEWARES"),
            "crawlers.distributed.throttle.GlobalThrottleMiddleware": 960},
        "DISTRIBUTED_HOST_DELAY": delay,
        "DISTRIBUTED_HOST_CONCURRENCY": per_host,
        "DOWNLOAD_DELAY": 0,
        "RANDOMIZE_DOWNLOAD_DELAY": False,
        "AUTOTHROTTLE_ENABLED": False,
        # Never more in flight per host here than the global cap allows everywhere.
        "CONCURRENT_REQUESTS_PER_DOMAIN": max(per_host, 1),
    }
    for key, value in overrides.items():
        settings.set(key, value, priority=50)  # above cmdline: these make the crawl distributed
    return settings


# Components whose classes Scrapy loads when it builds a crawler (disabled ones too: it
# normalizes every key), plus the distributed ones run_settings() adds.
_COMPONENT_SETTINGS = ("DOWNLOADER_MIDDLEWARES", "SPIDER_MIDDLEWARES", "ITEM_PIPELINES",
                       "EXTENSIONS", "DOWNLOAD_HANDLERS")
_DISTRIBUTED = ("crawlers.distributed.frontier.RunScheduler",
                "crawlers.distributed.runs.RunStorePipeline",
                "crawlers.distributed.runs.RunSpiderMiddleware",
                "crawlers.distributed.throttle.GlobalThrottleMiddleware")


def warm_up(settings: Settings) -> int:
    """Import every component a run's crawler is built from; returns how many.

    Done before the worker's first heartbeat, so a worker counts as up only once it can crawl:
    the first crawler of a process spends ~0.3 s of CPU importing them (its download handlers,
    TLS context factory, middlewares, measured on 2 cores), and a newly started worker would
    otherwise make the first run it joins wait for that, each worker at the same moment.
    """
    from scrapy.utils.misc import load_object

    paths = [*_DISTRIBUTED, str(settings.get("SCHEDULER") or "")]
    for name in _COMPONENT_SETTINGS:
        for key, value in settings.getwithbase(name).items():
            paths.append(value if name == "DOWNLOAD_HANDLERS" else key)
    loaded = 0
    for path in paths:
        if isinstance(path, str) and path:
            try:
                load_object(path)
                loaded += 1
            except Exception as exc:  # noqa: BLE001 - the run's crawler reports it properly
                log.debug("warm-up: %s not loaded: %s", path, exc)
    return loaded


class Worker:
    """See the module docstring. ``platforms`` limits the runs it joins (None: any)."""

    def __init__(self, settings: Settings, *, platforms: Sequence[str] | None = None,
                 max_runs: int | None = None, name: str | None = None) -> None:
        self.settings = settings
        self.id = name or worker_id()
        self.platforms = set(platforms) if platforms else None
        self.max_runs = max_runs or settings.getint("DISTRIBUTED_MAX_RUNS", 8)
        self.keys = Keys.from_settings(settings)
        self.server = redis_client(settings)
        self.lease_ms = int(settings.getfloat("DISTRIBUTED_LEASE_SECONDS", 30) * 1000)
        self.poll = settings.getfloat("DISTRIBUTED_POLL_INTERVAL", 0.2)
        self.active: dict[str, Any] = {}  # run id → its crawler
        self.done: set[str] = set()
        self.stopping = False
        self._join = self.server.register_script(scripts.JOIN)
        self._ticks = 0
        self._redis_down = False
        self.process: CrawlerProcess | None = None

    def run(self) -> int:
        """Crawl until SIGTERM/SIGINT (blocking). Returns the exit code."""
        from scrapy.crawler import CrawlerProcess
        from scrapy.utils.reactor import install_reactor

        settings = self.settings.copy()
        settings.set("LOG_INSTALL_ROOT_HANDLER", False)  # the CLI has configured logging
        # The crawlers are built here (not by the process), so the reactor is installed here.
        install_reactor(settings["TWISTED_REACTOR"], settings["ASYNCIO_EVENT_LOOP"])
        self.process = CrawlerProcess(settings)
        logging.getLogger().setLevel(str(settings.get("LOG_LEVEL") or "INFO"))
        warm_up(settings)
        from twisted.internet import reactor as _reactor
        from twisted.internet import task

        reactor: Any = _reactor  # twisted types the module, not the installed reactor

        looping = task.LoopingCall(self.tick)
        looping.start(self.poll, now=True)

        def on_signal(signum: int, frame: Any) -> None:
            if self.stopping:
                os._exit(1)
            self.stopping = True
            reactor.callFromThread(self._shutdown, looping)

        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, on_signal)
        log.info("worker %s: waiting for runs in %s", self.id, self.keys.runs)
        self.process.start(stop_after_crawl=False, install_signal_handlers=False)
        return 0

    def _shutdown(self, looping: Any) -> None:
        from twisted.internet import reactor as _reactor

        reactor: Any = _reactor

        log.warning("worker %s: stopping; %d run(s) hand their work back", self.id,
                    len(self.active))
        if looping.running:
            looping.stop()
        assert self.process is not None
        stopped: Any = self.process.stop()

        def done(result: Any) -> None:
            self._goodbye()
            reactor.stop()

        stopped.addBoth(done)

    def _goodbye(self) -> None:
        try:
            self.server.delete(self.keys.worker(self.id))
        except REDIS_DOWN:
            pass

    def tick(self) -> None:
        """One poll: heartbeat, reap dead workers' leases, join new runs."""
        if self.stopping:
            return
        try:
            self.beat()
            self._ticks += 1
            runs = [text(r) for r in self.server.smembers(self.keys.runs)]
            if self._ticks % 5 == 0:
                for run_id in runs:
                    requeue_dead(self.server, self.keys, run_id, skip=self.id)
            for run_id in runs:
                if len(self.active) >= self.max_runs:
                    break
                if run_id not in self.active and run_id not in self.done:
                    self._maybe_join(run_id)
            if self._redis_down:
                log.warning("worker %s: Redis is back", self.id)
                self._redis_down = False
        except REDIS_DOWN as exc:
            if not self._redis_down:
                log.warning("worker %s: Redis unreachable, retrying: %s", self.id, exc)
                self._redis_down = True
        except Exception:  # noqa: BLE001 - the poll must go on
            log.exception("worker %s: poll failed", self.id)

    def beat(self) -> None:
        info = {"pid": os.getpid(), "runs": sorted(self.active)}
        self.server.set(self.keys.worker(self.id), json.dumps(info), px=self.lease_ms)

    def _maybe_join(self, run_id: str) -> None:
        run = self.keys.for_run(run_id)
        raw = self.server.hget(run.run, "spec")
        if raw is None:
            return
        spec = json.loads(raw)
        if self.platforms is not None and spec.get("platform") not in self.platforms:
            self.done.add(run_id)
            return
        if not int(self._join(keys=[self.keys.runs, run.workers], args=[run_id, self.id])):
            self.done.add(run_id)
            return
        self._start(spec)

    def _start(self, spec: dict[str, Any]) -> None:
        from scrapy.crawler import Crawler

        assert self.process is not None
        run_id = spec["run_id"]
        spidercls = self.process.spider_loader.load(spec["platform"])
        crawler = Crawler(spidercls, run_settings(self.settings, spidercls, spec, self.id))
        args = {k: str(v) for k, v in (spec.get("args") or {}).items()}
        log.info("worker %s: joined run %s (%s)", self.id, run_id, spec["platform"])
        self.active[run_id] = crawler
        finished = self.process.crawl(crawler, **args)

        def ended(result: Any) -> Any:
            self.active.pop(run_id, None)
            self.done.add(run_id)
            if hasattr(result, "getTraceback"):  # a Failure: the crawl could not run
                log.error("worker %s: run %s failed: %s", self.id, run_id,
                          result.getTraceback())
            else:
                log.info("worker %s: left run %s", self.id, run_id)
            return None

        finished.addBoth(ended)
