"""Monitor-run locks on Redis: each (job, scheduled run time) runs once, however many schedulers
fire it.

APScheduler 3 has no distributed locking: two schedulers sharing a job store both fire a due
job. Before a run starts, its scheduler takes ``lock:<job id>:<run time>`` with
``SET NX PX`` (the lease, renewed by a thread while the run goes on). The value is a fencing
token from ``INCR fence:<job id>``; crawls are only published while the lock still holds that
token (scripts.PUBLISH), so a scheduler that lost its lock (paused past its lease) cannot start
crawls. When the run ends the lock becomes ``done:<token>`` for ``keep`` seconds: the same run
time is never run again, even by a scheduler that fires it late.
"""

from __future__ import annotations

import contextvars
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from crawlers.distributed.dispatch import Fence
from crawlers.distributed.keys import Keys
from crawlers.errors import TingfengError

if TYPE_CHECKING:
    import redis

__all__ = ["LockLost", "RunLock", "current_fence"]

log = logging.getLogger(__name__)

# The lock of the monitor run this thread is executing (set around the job by the scheduler's
# executor; read by the crawl dispatch).
current_fence: contextvars.ContextVar[Fence | None] = contextvars.ContextVar(
    "tingfeng_fence", default=None)

_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""
_FINISH = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('SET', KEYS[1], 'done:' .. ARGV[1], 'PX', ARGV[2]) and 1 or 0
end
return 0
"""


class LockLost(TingfengError):
    """The monitor-run lock is no longer this scheduler's (its fencing token is stale)."""


class RunLock:
    """Locks named ``<job id>:<run time>``; see the module docstring.

    ``lease`` seconds without renewal free a lock whose holder died; ``keep`` seconds is how
    long a finished run time stays taken (at least the misfire grace time).
    """

    def __init__(self, server: redis.Redis, keys: Keys, *, lease: float, keep: float) -> None:
        self.server, self.keys = server, keys
        self.lease_ms, self.keep_ms = int(lease * 1000), int(keep * 1000)
        self._renew = server.register_script(_RENEW)
        self._finish = server.register_script(_FINISH)

    def acquire(self, job_id: str, name: str) -> Fence | None:
        """The lock as held, or None when another scheduler has (or had) this run."""
        token = str(self.server.incr(self.keys.fence(job_id)))
        key = self.keys.lock(name)
        if not self.server.set(key, token, nx=True, px=self.lease_ms):
            return None
        return Fence(key, token)

    def renew(self, fence: Fence) -> bool:
        return bool(self._renew(keys=[fence.key], args=[fence.token, self.lease_ms]))

    def finish(self, fence: Fence) -> bool:
        return bool(self._finish(keys=[fence.key], args=[fence.token, self.keep_ms]))

    @contextmanager
    def held(self, job_id: str, name: str) -> Iterator[Fence | None]:
        """Hold the lock for the block (renewed every third of the lease); yields None without
        running anything when the run is taken."""
        fence = self.acquire(job_id, name)
        if fence is None:
            yield None
            return
        stop = threading.Event()

        def renew() -> None:
            while not stop.wait(self.lease_ms / 3000):
                try:
                    if not self.renew(fence):
                        log.error("monitor-run lock %s lost (token %s)", fence.key, fence.token)
                        return
                except Exception as exc:  # noqa: BLE001 - keep trying while the run goes on
                    log.warning("could not renew the monitor-run lock %s: %s", fence.key, exc)

        thread = threading.Thread(target=renew, name=f"lock-{name}", daemon=True)
        thread.start()
        reset = current_fence.set(fence)
        try:
            yield fence
        finally:
            current_fence.reset(reset)
            stop.set()
            thread.join()
            try:
                self.finish(fence)
            except Exception as exc:  # noqa: BLE001 - the lease expires by itself
                log.warning("could not mark the monitor-run lock %s done: %s", fence.key, exc)
