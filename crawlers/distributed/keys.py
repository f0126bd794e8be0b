"""Redis key names and the client factory of the distributed crawl (one place for both).

Every key starts with DISTRIBUTED_KEY_PREFIX, so several deployments can share one Redis.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from crawlers.errors import ConfigError

if TYPE_CHECKING:
    import redis

__all__ = ["Keys", "RunKeys", "redis_client", "text"]


def text(value: bytes | str) -> str:
    """A Redis reply as text (the client returns bytes: requests are pickled)."""
    return value.decode() if isinstance(value, bytes) else value


def redis_client(settings: Mapping[str, Any] | Any) -> redis.Redis:
    """A redis-py client for ``REDIS_URL`` through scrapy-redis's factory (its socket timeouts
    and retry-on-timeout defaults). Raises ConfigError naming the extra when redis is missing."""
    try:
        from scrapy_redis.connection import get_redis
    except ImportError:  # pragma: no cover - an optional extra, but say what to do
        raise ConfigError("REDIS_URL is set but scrapy-redis is not installed: "
                          "pip install .[distributed]") from None
    url = settings.get("REDIS_URL")
    if not url:
        raise ConfigError("REDIS_URL is not set (TINGFENG_REDIS_URL=redis://host:6379/0)")
    client: redis.Redis = get_redis(url=url, socket_timeout=10, socket_connect_timeout=5,
                                    retry_on_timeout=True)
    return client


@dataclass(frozen=True)
class RunKeys:
    """The keys of one crawl run (``prefix:run:<id>:…``)."""

    run: str  # hash: spec, platform, seeded, close_reason, requeued
    requests: str  # zset: scrapy-redis PriorityQueue format (score -priority, pickled dict)
    dupefilter: str  # set: scrapy-redis RFPDupeFilter fingerprints
    leases: str  # hash: "<worker>|<score>|<seq>" → the leased request's queue entry
    workers: str  # set: workers that joined the run
    parts: str  # hash: worker → JSON of its crawl record (stats, finish reason)

    def all(self) -> tuple[str, ...]:
        return (self.run, self.requests, self.dupefilter, self.leases, self.workers, self.parts)


@dataclass(frozen=True)
class Keys:
    """Key names under one prefix."""

    prefix: str = "tingfeng"

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any] | Any) -> Keys:
        return cls(str(settings.get("DISTRIBUTED_KEY_PREFIX") or "tingfeng"))

    @property
    def runs(self) -> str:
        """Set of the run ids workers may join."""
        return f"{self.prefix}:runs"

    def for_run(self, run_id: str) -> RunKeys:
        base = f"{self.prefix}:run:{run_id}"
        return RunKeys(base, f"{base}:requests", f"{base}:dupefilter", f"{base}:leases",
                       f"{base}:workers", f"{base}:parts")

    def worker(self, worker_id: str) -> str:
        """The worker's heartbeat (expires DISTRIBUTED_LEASE_SECONDS after its last beat)."""
        return f"{self.prefix}:worker:{worker_id}"

    def bucket(self, host: str) -> str:
        return f"{self.prefix}:throttle:{host}"

    def active(self, host: str) -> str:
        return f"{self.prefix}:throttle:{host}:active"

    def lock(self, name: str) -> str:
        return f"{self.prefix}:lock:{name}"

    def fence(self, name: str) -> str:
        return f"{self.prefix}:fence:{name}"
