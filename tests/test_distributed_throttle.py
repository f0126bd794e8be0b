"""The Redis token bucket (crawlers/distributed/throttle.py): three worker processes hammering one
host never get more than its rate, nor more requests in flight than its cap."""

from __future__ import annotations

import multiprocessing
import time
from typing import Any

import pytest

from tests import test_distributed_servers as servers

# The servers' fixtures, by name (pytest finds fixtures among a module's globals).
redis_server, redis_url = servers.redis_server, servers.redis_url


def _hammer(url: str, name: str, rate: float, cap: int, hold: float, seconds: float,
            out: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    import redis

    from crawlers.distributed.keys import Keys
    from crawlers.distributed.throttle import TokenBucket

    server = redis.Redis.from_url(url)
    bucket = TokenBucket(server, Keys(), rate=rate, burst=1, concurrency=cap, hold=30)
    grants = []
    end = time.monotonic() + seconds
    n = 0
    while time.monotonic() < end:
        member = f"{name}:{n}"
        wait, now = bucket.try_acquire("m.weibo.cn", member)
        if wait:
            time.sleep(min(wait, 0.01))
            continue
        n += 1
        time.sleep(hold)
        released = server.time()
        bucket.release("m.weibo.cn", member)
        grants.append((now, released[0] * 1_000_000 + released[1]))
    out.put(grants)


def _run(url: str, rate: float, cap: int, hold: float, seconds: float = 2.0
         ) -> list[tuple[int, int]]:
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    procs = [ctx.Process(target=_hammer, args=(url, f"w{i}", rate, cap, hold, seconds, out))
             for i in range(3)]
    for p in procs:
        p.start()
    grants = [g for _ in procs for g in out.get(timeout=60)]
    for p in procs:
        p.join(30)
    return sorted(grants)


@pytest.mark.slow
def test_three_processes_never_exceed_the_hosts_rate(redis_url: str) -> None:
    rate = 20.0
    grants = _run(redis_url, rate=rate, cap=0, hold=0.0)
    starts = [g[0] for g in grants]
    gaps = [(b - a) / 1e6 for a, b in zip(starts, starts[1:], strict=False)]
    assert min(gaps) >= 1 / rate - 1e-4  # burst 1: never two tokens closer than 1/rate
    span = (starts[-1] - starts[0]) / 1e6
    assert len(starts) <= 1 + rate * span + 1e-6
    assert len(starts) >= 0.8 * rate * 2.0  # and the rate is used, not starved


@pytest.mark.slow
def test_three_processes_never_exceed_the_hosts_concurrency(redis_url: str) -> None:
    grants = _run(redis_url, rate=0.0, cap=2, hold=0.03)
    events = sorted([(s, 1) for s, _ in grants] + [(e, -1) for _, e in grants])
    level = peak = 0
    for _, step in events:
        level += step
        peak = max(peak, level)
    assert peak == 2 and len(grants) > 40


def test_a_slot_of_a_dead_holder_frees_itself(redis_url: str) -> None:
    import redis

    from crawlers.distributed.keys import Keys
    from crawlers.distributed.throttle import TokenBucket

    bucket = TokenBucket(redis.Redis.from_url(redis_url), Keys(), rate=0, burst=1,
                         concurrency=1, hold=0.2)
    assert bucket.try_acquire("h", "dead:1")[0] == 0  # taken, never released
    wait, _ = bucket.try_acquire("h", "alive:1")
    assert 0 < wait <= 0.2
    time.sleep(0.25)
    assert bucket.try_acquire("h", "alive:1")[0] == 0


def _reserve_hammer(url: str, name: str, rate: float, count: int, start: Any,
                    out: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    import redis

    from crawlers.distributed.keys import Keys
    from crawlers.distributed.throttle import TokenBucket

    bucket = TokenBucket(redis.Redis.from_url(url), Keys(), rate=rate, burst=1, concurrency=0,
                         hold=30)
    start.wait(60)  # all three ask together, so their requests interleave on the server
    slots = []
    for n in range(count):
        granted, wait, now = bucket._acquire("m.weibo.cn", f"{name}:{n}", reserve=True)
        assert granted  # no concurrency cap: a reservation always comes back
        slots.append(now + int(wait * 1e6))
    out.put(slots)


@pytest.mark.slow
def test_reservations_from_three_processes_follow_the_hosts_rate_exactly(redis_url: str) -> None:
    # Each process books its sends back to back, far faster than the rate: the server must hand
    # out one send time per request, each exactly one delay after the last, whoever asked. (The
    # workers' sleeping until their times is the middleware's business, tested without timing.)
    rate, count = 50.0, 40
    ctx = multiprocessing.get_context("spawn")
    out, start = ctx.Queue(), ctx.Barrier(3)
    procs = [ctx.Process(target=_reserve_hammer, args=(redis_url, f"w{i}", rate, count, start,
                                                       out))
             for i in range(3)]
    for p in procs:
        p.start()
    slots = sorted(s for _ in procs for s in out.get(timeout=60))
    for p in procs:
        p.join(30)
    assert len(slots) == 3 * count
    gaps = [(b - a) / 1e6 for a, b in zip(slots, slots[1:], strict=False)]
    assert min(gaps) >= 1 / rate - 1e-6  # never two sends closer than the delay
    assert max(gaps) <= 1 / rate + 1e-6  # and no slot is lost or handed out twice
