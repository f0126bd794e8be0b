"""Alert delivery bench: time from the end of a monitor run (its alerts saved) to the channel
call, and a burst through an outage.

    python bench/bench_alerts.py [--runs 50] [--burst 50]

Latency: ``--runs`` monitor runs, each saving one alert to a fresh SQLite store and delivering
it to a loopback webhook (signed) and a Feishu-style robot at the robots' real pacing; the
figure is when the server received it. Target: p95 ≤ 5 s when the channel is up.
Burst: ``--burst`` alerts over 10 monitors while the channels answer 5xx or nothing for ten
simulated minutes, two deliveries racing every 30 s; then recovery. Prints each alert's
deliveries per channel (target: exactly one) and the wall time.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from crawlers.items import Alert, Monitor  # noqa: E402
from crawlers.storage.sqlite import SqliteStore  # noqa: E402
from scheduler.notify import deliver_pending  # noqa: E402
from tests.chat_servers import ChatServer  # noqa: E402

SECRETS = {"BENCH_HOOK_SECRET": "bench-hook-secret", "BENCH_FS_HOOK": "fs-hook",
           "BENCH_FS_SECRET": "fs-secret"}


def _recipients(server: ChatServer) -> list[str]:
    return [f"{server.url}/hook#secret=${{BENCH_HOOK_SECRET}}",
            "feishu://${BENCH_FS_HOOK}?secret=${BENCH_FS_SECRET}"]


def _alert(alert_id: str, monitor: str, now: datetime) -> Alert:
    return Alert(alert_id, monitor, "negative_share", "warning", "bench", value=0.5,
                 threshold=0.3, created_at=now, window_start=now - timedelta(hours=1),
                 window_end=now)


def latency(runs: int) -> list[float]:
    stamps: dict[str, float] = {}
    with ChatServer(feishu_hooks={"fs-hook": "fs-secret"}, webhook_secret="bench-hook-secret") \
            as server, tempfile.TemporaryDirectory() as folder:
        original = server._accept

        def accept(platform: str, body: dict, headers: dict) -> None:
            if platform == "webhook":
                stamps[body["alert_ids"][0]] = time.perf_counter()
            original(platform, body, headers)

        server._accept = accept  # type: ignore[method-assign]
        settings = {"FEISHU_API_BASE": server.url, "CHANNEL_TIMEOUT": 5}
        store = SqliteStore(Path(folder) / "bench.db")
        monitor = Monitor("品牌A", "品牌A", recipients=_recipients(server))
        waits = []
        for i in range(runs):
            now = datetime.now(UTC)
            store.save_alert(_alert(f"a{i}", monitor.name, now))
            start = time.perf_counter()  # the monitor run ends here: its alert is saved
            deliver_pending(store, None, monitors={monitor.name: monitor}, now=now,
                            settings=settings)
            waits.append(stamps[f"a{i}"] - start)
        store.close()
    return waits


def burst(count: int) -> tuple[Counter[str], float, int]:
    with ChatServer(feishu_hooks={"fs-hook": "fs-secret"}, webhook_secret="bench-hook-secret",
                    hang=0.6) as server, tempfile.TemporaryDirectory() as folder:
        store = SqliteStore(Path(folder) / "burst.db")
        t0 = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)
        monitors = {f"m{m}": Monitor(f"m{m}", "q", recipients=_recipients(server))
                    for m in range(10)}
        for i in range(count):
            store.save_alert(_alert(f"m{i % 10}:{i}", f"m{i % 10}", t0))
        settings = {"FEISHU_API_BASE": server.url, "CHANNEL_TIMEOUT": 0.3, "CHANNEL_PACE": 0,
                    "MAIL_RETRY_MAX": 120}
        start, clock, rounds = time.perf_counter(), t0, 0
        while store.alerts(status="pending") and rounds < 200:
            server.mode = ("5xx", "timeout")[rounds % 2] if clock < t0 + timedelta(minutes=10) \
                else "ok"
            workers = [threading.Thread(target=deliver_pending, args=(store, None), kwargs={
                "monitors": monitors, "now": clock, "settings": settings}) for _ in range(2)]
            for w in workers:
                w.start()
            for w in workers:
                w.join()
            clock += timedelta(seconds=30)
            rounds += 1
        got: Counter[str] = Counter()
        for _, body, _ in server.received:
            if "alert_ids" in body:
                got.update(f"webhook {a}" for a in body["alert_ids"])
            else:
                note = body["card"]["elements"][-1]["elements"][0]["content"]
                got.update(f"feishu {a}" for a in note.split("：", 1)[1].split())
        pending = len(store.alerts(status="pending"))
        store.close()
    return got, time.perf_counter() - start, pending


def main() -> None:
    import logging
    import os

    logging.disable(logging.ERROR)  # the outage's retry warnings are the point, not the output
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--burst", type=int, default=50)
    args = parser.parse_args()
    os.environ.update(SECRETS)
    waits = sorted(latency(args.runs))
    p95 = waits[max(0, int(round(0.95 * len(waits))) - 1)]
    print(f"latency, end of monitor run → webhook call ({len(waits)} runs, two channels each):")
    print(f"  p50 {statistics.median(waits) * 1000:.0f} ms   p95 {p95 * 1000:.0f} ms   "
          f"max {waits[-1] * 1000:.0f} ms   target p95 ≤ 5000 ms: "
          f"{'met' if p95 <= 5 else 'MISSED'} ({p95 / 5:.2%} of the budget)")
    got, wall, pending = burst(args.burst)
    expected = {f"{kind} m{i % 10}:{i}" for kind in ("webhook", "feishu")
                for i in range(args.burst)}
    once = sum(1 for key in expected if got[key] == 1)
    print(f"burst: {args.burst} alerts × 2 channels through 10 simulated minutes of 5xx and "
          f"timeouts, two racing deliveries: {once}/{len(expected)} delivered exactly once, "
          f"{sum(1 for v in got.values() if v > 1)} duplicated, "
          f"{len(expected - set(got))} missing, {pending} still pending; {wall:.1f} s wall")


if __name__ == "__main__":
    main()
