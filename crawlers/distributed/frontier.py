"""The shared frontier: scrapy-redis's Scheduler and PriorityQueue, one pair per run, with leases.

Checked against scrapy-redis 0.9.1 on Scrapy 2.19. Its key formats, serializer (pickled
``Request.to_dict``), priority scores and SHA1 fingerprints are kept as they are, so its tools
and docs apply; three things are changed because they do not hold on a shared, killable fleet:

* ``Scheduler.enqueue_request`` records the fingerprint and queues the request in two commands
  (a worker killed between them loses the request for good): here one Lua script does both.
* ``PriorityQueue.pop`` deletes the request, so a worker killed with requests in memory loses
  them: here a pop moves the request into a lease that is deleted only once its items are
  stored (runs.py); a dead worker's leases are re-queued by whoever notices its heartbeat gone.
* The shared queue holds a run's start requests (one search, board or feed each: the unit of
  work) and whatever dead workers left. A request a callback yields is deduped against the
  run's shared dupefilter and leased straight to the worker that yielded it: spiders keep
  state across a cascade's pages in memory (Weibo links reposts to parents seen on earlier
  repost pages, and emits a listing's author once), so a cascade stays on one worker and the
  result equals a one-process crawl. After a worker dies its cascades finish elsewhere without
  that state (as a one-process crawl restarted would); graph/resolve.py links such reposts
  from their ``repost_path`` at analysis time.
* It passes ``spider=`` to the stats collector (deprecated since Scrapy 2.14), and
  ``RedisMixin.start_requests`` is never called by Scrapy ≥ 2.13's ``start()``: start requests
  are seeded by the monitor run instead (dispatch.py), and idle workers poll every
  DISTRIBUTED_POLL_INTERVAL seconds rather than on Scrapy's 5-second idle heartbeat.

Settings: REDIS_URL, DISTRIBUTED_KEY_PREFIX, DISTRIBUTED_POLL_INTERVAL, CRAWL_RUN_ID (the run),
DISTRIBUTED_WORKER_ID (set by the worker).
"""

from __future__ import annotations

import itertools
import logging
from collections import deque
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import redis
from scrapy_redis import picklecompat
from scrapy_redis.dupefilter import RFPDupeFilter
from scrapy_redis.queue import PriorityQueue
from scrapy_redis.scheduler import Scheduler

from crawlers.distributed import scripts
from crawlers.distributed.keys import Keys, RunKeys, redis_client, text
from crawlers.distributed.runs import LEASE, RUN, RunBook

if TYPE_CHECKING:
    from scrapy import Request, Spider
    from scrapy.crawler import Crawler

__all__ = ["RunQueue", "RunScheduler", "drain_state", "enqueue", "requeue_dead"]

log = logging.getLogger(__name__)

_LOCAL = "tingfeng_local"  # meta: already leased by this worker, handed to the engine by the poll
REDIS_DOWN = (redis.ConnectionError, redis.TimeoutError)


def enqueue(server: redis.Redis, keys: Keys, run_id: str, entry: bytes, fingerprint: str,
            priority: int, dont_filter: bool) -> int:
    """Dedupe and queue one encoded request of run ``run_id`` (1 queued, 0 duplicate,
    -1 the run is over)."""
    script = server.register_script(scripts.ENQUEUE)
    run = keys.for_run(run_id)
    return int(script(keys=[run.dupefilter, run.requests, keys.runs],
                      args=[fingerprint, -priority, entry, "1" if dont_filter else "0", run_id]))


def drain_state(server: redis.Redis, run: RunKeys) -> tuple[bool, int, int, str]:
    """(seeded, queued, leased, close_reason) of a run, read in one step."""
    seeded, queued, leased, reason = server.register_script(scripts.DRAINED)(
        keys=[run.run, run.requests, run.leases])
    text = reason.decode() if isinstance(reason, bytes) else str(reason or "")
    return seeded in (b"1", "1", 1), int(queued), int(leased), text


def requeue_dead(server: redis.Redis, keys: Keys, run_id: str, *, skip: str = "") -> int:
    """Re-queue the leases of every worker of ``run_id`` whose heartbeat expired."""
    run = keys.for_run(run_id)
    owners = {text(f).split("|", 1)[0] for f in server.hkeys(run.leases)}
    script = server.register_script(scripts.REQUEUE_DEAD)
    total = 0
    for worker in owners - {skip}:
        n = int(script(keys=[run.requests, run.leases, keys.worker(worker), run.run],
                       args=[worker]))
        if n:
            log.warning("worker %s is gone: %d of its requests of run %s re-queued",
                        worker, n, run_id)
        total += n
    return total


class RunQueue(PriorityQueue):  # type: ignore[misc]  # scrapy-redis is untyped
    """scrapy-redis's PriorityQueue of one run, whose ``pop`` leases (see the module docstring)."""

    def __init__(self, server: redis.Redis, spider: Spider, keys: Keys, run_id: str,
                 worker: str) -> None:
        super().__init__(server, spider, keys.for_run(run_id).requests, picklecompat)
        self.keys, self.run_id, self.worker = keys, run_id, worker
        self.run = keys.for_run(run_id)
        self.df = RFPDupeFilter(server, self.run.dupefilter)
        self._seq = itertools.count()
        self._keep = server.register_script(scripts.KEEP)
        self._lease = server.register_script(scripts.LEASE)
        self._requeue = server.register_script(scripts.REQUEUE)

    def encode(self, request: Request) -> bytes:
        entry: bytes = self._encode_request(request)
        return entry

    def keep(self, request: Request) -> tuple[int, str]:
        """Dedupe and lease to this worker: (1 kept, 0 duplicate, -1 run over; lease field)."""
        field = f"{self.worker}|{-request.priority}|{next(self._seq)}"
        code = self._keep(
            keys=[self.run.dupefilter, self.run.leases, self.keys.runs],
            args=[self.df.request_fingerprint(request), "1" if request.dont_filter else "0",
                  self.run_id, field, self.encode(request)])
        return int(code), field

    def lease(self) -> tuple[str, Request] | None:
        got = self._lease(keys=[self.run.requests, self.run.leases],
                          args=[self.worker, next(self._seq)])
        if not got:
            return None
        field, entry = got
        request: Request = self._decode_request(entry)
        return text(field), request

    def ack(self, leases: Sequence[str]) -> None:
        if leases:
            self.server.hdel(self.run.leases, *leases)

    def requeue(self, leases: Sequence[str]) -> int:
        return int(self._requeue(keys=[self.run.requests, self.run.leases], args=list(leases))
                   ) if leases else 0


class _LeaseErrback:
    """Wraps a leased request's errback: the request is done once it ran (or, with no errback
    of its own, once the failure is handed back to Scrapy to log)."""

    def __init__(self, book: RunBook, lease: str, original: Callable[..., Any] | None) -> None:
        self.book, self.lease, self.original = book, lease, original

    def __call__(self, failure: Any) -> Any:
        if self.original is None:
            self.book.done(self.lease)
            return failure
        try:
            output = self.original(failure)
        except BaseException:
            self.book.done(self.lease)
            raise
        if output is None or not hasattr(output, "__iter__") or hasattr(output, "raiseException"):
            self.book.done(self.lease)
            return output
        return self._counted(output)

    def _counted(self, output: Any) -> Any:
        from scrapy import Request

        try:
            for item in output:
                if isinstance(item, Request):
                    item.meta.pop(LEASE, None)
                else:
                    self.book.item_out(self.lease)
                yield item
        finally:
            self.book.done(self.lease)


class RunScheduler(Scheduler):  # type: ignore[misc]  # scrapy-redis is untyped
    """scrapy-redis's Scheduler for one run of a worker (SCHEDULER in the run's crawler).

    Never flushes the shared queue at close (``persist``); at close it acknowledges what is done
    and re-queues what it still held, so a SIGTERM'd worker hands its work back at once.
    """

    def __init__(self, crawler: Crawler, server: redis.Redis) -> None:
        settings = crawler.settings
        self.keys = Keys.from_settings(settings)
        self.run_id = str(settings.get("CRAWL_RUN_ID"))
        self.worker = str(settings.get("DISTRIBUTED_WORKER_ID") or "local")
        run = self.keys.for_run(self.run_id)
        super().__init__(server, persist=True, queue_key=run.requests,
                         dupefilter=RFPDupeFilter(server, run.dupefilter))
        self.crawler = crawler
        self.stats = crawler.stats
        self.book = RunBook.for_crawler(crawler)
        self.poll_interval = settings.getfloat("DISTRIBUTED_POLL_INTERVAL", 0.2)
        self.room = max(settings.getint("CONCURRENT_REQUESTS", 8), 1)
        self.local: deque[Request] = deque()  # leased by the poll, not yet taken by the engine
        self.unpushed: list[Request] = []  # children held back while Redis is unreachable
        self.closing = False
        self._acking = False
        self._in_ack: list[str] = []  # taken out of the book, waiting for the flush to end
        self._ticks = 0
        self._redis_down = False
        self._poller: Any = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RunScheduler:
        server = redis_client(crawler.settings)
        server.ping()
        return cls(crawler, server)

    # -- Scrapy's scheduler interface ---------------------------------------------------------
    def open(self, spider: Spider) -> None:
        from twisted.internet import task

        self.spider = spider
        self.queue = RunQueue(self.server, spider, self.keys, self.run_id, self.worker)
        self._poller = task.LoopingCall(self._poll)
        self._poller.start(self.poll_interval, now=False)

    def close(self, reason: str) -> None:
        self.closing = True
        if self._poller is not None and self._poller.running:
            self._poller.stop()
        from crawlers.distributed.runs import _retrying

        # The pipelines closed (and flushed) before the scheduler: what is settled is stored.
        settled = self.book.take_settled()
        held = sorted(set(self.book.unsettled()) | {r.meta[LEASE] for r in self.local
                                                    if LEASE in r.meta})
        try:
            _retrying(self._push_unpushed)
            _retrying(lambda: self.queue.ack(settled))
            n = _retrying(lambda: self.queue.requeue(held))
            if reason not in ("finished", "shutdown"):
                # login_required, rate_limited…: the whole run stops, not just this worker.
                self.server.hsetnx(self.queue.run.run, "close_reason", reason)
        except REDIS_DOWN as exc:
            log.error("run %s: Redis unreachable at close; the leases expire and are re-queued "
                      "by the other workers: %s", self.run_id, exc)
            return
        if n:
            log.info("run %s: %d requests handed back to the queue", self.run_id, n)
            self._stat("distributed/handed_back", n)

    def enqueue_request(self, request: Request) -> bool:
        if request.meta.pop(_LOCAL, False):
            self.local.append(request)
            return True
        replaced = request.meta.pop(LEASE, None)  # a retry or redirect of a leased request
        if isinstance(request.errback, _LeaseErrback):
            request.errback = request.errback.original
        request.meta[RUN] = self.run_id
        try:
            kept, field = self.queue.keep(request)
        except REDIS_DOWN:
            self._down()
            self.unpushed.append(request)  # kept by the poll; its parent stays leased
            self.book.done(replaced)
            return True
        self.book.done(replaced)
        if kept == 0:
            self.df.log(request, self.spider)
            return False
        if kept < 0:
            return False
        self.local.append(self._leased(field, request))
        self._stat("scheduler/enqueued/redis")
        return True

    def next_request(self) -> Request | None:
        if self.local:
            return self.local.popleft()
        if self.closing or len(self.book.outstanding) >= self.room:
            return None  # busy with its own cascades: leave the next start request to others
        try:
            got = self.queue.lease()
        except REDIS_DOWN:
            self._down()
            return None
        if got is None:
            return None
        return self._leased(*got)

    def has_pending_requests(self) -> bool:
        if self.local or self.unpushed:
            return True
        try:
            seeded, queued, leased, reason = drain_state(self.server, self.queue.run)
        except REDIS_DOWN:
            return True  # unknown: keep the crawl open until Redis answers
        return not reason and (not seeded or queued > 0 or leased > 0)

    def __len__(self) -> int:
        try:
            return len(self.local) + len(self.queue)
        except REDIS_DOWN:
            return len(self.local)

    # -- internals ----------------------------------------------------------------------------
    def _leased(self, lease: str, request: Request) -> Request:
        self.book.taken(lease)
        request.meta[LEASE] = lease
        request.meta[RUN] = self.run_id
        request.errback = _LeaseErrback(self.book, lease, request.errback)
        self._stat("scheduler/dequeued/redis")
        return request

    def _poll(self) -> None:
        """Every DISTRIBUTED_POLL_INTERVAL: hand back unpushed children, acknowledge done
        leases, feed an idle engine, and close this run's crawl when the run is over."""
        try:
            self._push_unpushed()
            self._ticks += 1
            if self._ticks % max(int(1 / self.poll_interval), 1) == 0:
                self._requeue_orphans()
            if self.book.settled and not self._acking:
                self._ack_soon()
            engine = self.crawler.engine
            if not self.local and not engine.needs_backout() \
                    and len(self.book.outstanding) < self.room:
                got = self.queue.lease()
                if got is not None:
                    request = self._leased(*got)
                    request.meta[_LOCAL] = True
                    engine.crawl(request)  # comes back through enqueue_request, kept local
            seeded, queued, leased, reason = drain_state(self.server, self.queue.run)
            if self._redis_down:
                log.warning("run %s: Redis is back", self.run_id)
                self._redis_down = False
        except REDIS_DOWN:
            self._down()
            return
        except Exception:  # noqa: BLE001 - a bug here must not stop the poll (and the run)
            log.exception("run %s: poll failed", self.run_id)
            return
        if reason:
            self._close(reason)
        elif seeded and not queued and not leased and not self.local and not self.unpushed \
                and engine.spider_is_idle():
            self._close("finished")

    def _close(self, reason: str) -> None:
        if self.closing:
            return
        self.closing = True
        from scrapy.utils.defer import deferred_from_coro

        deferred_from_coro(self.crawler.engine.close_spider_async(reason=reason))

    def _ack_soon(self) -> None:
        from scrapy.utils.defer import deferred_from_coro

        self._acking = True
        deferred_from_coro(self._flush_and_ack())

    async def _flush_and_ack(self) -> None:
        try:
            settled = self._in_ack = self.book.take_settled()
            if self.book.pipeline is not None:
                await self.book.pipeline.flush()
            if self.unpushed:  # their parents must stay leased until they are queued
                self.book.settled[:0] = settled
                return
            try:
                self.queue.ack(settled)
            except REDIS_DOWN:
                self._down()
                self.book.settled[:0] = settled
        finally:
            self._in_ack = []
            self._acking = False

    def _requeue_orphans(self) -> None:
        """Leases of this worker that it does not know of: a lease or keep script that ran on a
        Redis going down, whose reply never came back. Back into the shared queue with them."""
        prefix = f"{self.worker}|"
        mine = {text(f) for f in self.server.hkeys(self.queue.run.leases)
                if text(f).startswith(prefix)}
        known = set(self.book.outstanding) | set(self.book.settled) | set(self._in_ack)
        orphans = sorted(mine - known)
        if orphans:
            n = self.queue.requeue(orphans)
            log.warning("run %s: %d leases whose reply was lost re-queued", self.run_id, n)
            self._stat("distributed/orphans_requeued", n)

    def _push_unpushed(self) -> None:
        while self.unpushed:
            request = self.unpushed[0]
            kept, field = self.queue.keep(request)
            self.unpushed.pop(0)
            if kept == 1:
                self.local.append(self._leased(field, request))

    def _down(self) -> None:
        if not self._redis_down:
            log.warning("run %s: Redis unreachable; the crawl waits for it", self.run_id)
            self._redis_down = True
            self._stat("distributed/redis_errors")

    def _stat(self, key: str, n: int = 1) -> None:
        if self.stats is not None:
            self.stats.inc_value(key, n)
