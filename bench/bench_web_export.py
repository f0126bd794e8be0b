"""What a report export costs on a big window: the web app's HTML, PDF and xlsx downloads.

    python bench/bench_web_export.py [--n 50000] [--uri sqlite:///path/bench-export.db]

Loads N posts of one monitor (bench_store's generator: 30 days ending now, cascades of 40,
20,000 accounts on four platforms, every post matching the monitor's query) into a fresh SQLite
store, or reuses ``--uri`` when it already holds them. Then times, for the 7-day and 30-day
windows (about a quarter of N, and N):

* the steps every format shares: the KOL report (``kol_report``: posts, authors, graph,
  ranking), the 为什么 part (drivers, events, regions, emotions), the four charts;
* each download as the app serves it (``GET /api/monitors/{name}/report``, in-process, so
  routing, the handler and the response are included), with and without the 为什么 part
  (``why=0``), in ms, with its size.

Exports run inside the request; the figures say how long a user waits.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

BENCH = Path(__file__).resolve().parent
if str(BENCH) not in sys.path:  # `python bench/bench_web_export.py` from the repository root
    sys.path.insert(0, str(BENCH))
    sys.path.insert(0, str(BENCH.parent))

from bench_store import SPAN, START, make_posts  # noqa: E402

from crawlers.items import Author, Monitor, utcnow  # noqa: E402
from crawlers.storage import open_store  # noqa: E402

MONITOR = "品牌A"
PLATFORMS = ("weibo", "zhihu", "wechat", "forum")
LABELS = ("positive", "negative", "neutral")
EMOTIONS = ("like", "happiness", "disgust", "sadness", "surprise", "anger", "fear", None)


def load(store: Any, n: int, now: Any) -> None:
    shift = now - (START + SPAN)
    rnd = random.Random(5)
    done = 0
    for posts in make_posts(n, 10_000, rnd_seed=3, bump=0):
        for p in posts:
            p.created_at = p.created_at + shift
            p.platform = rnd.choice(PLATFORMS)
            p.topics = [MONITOR]
            p.text = f"{MONITOR} {'投诉' if rnd.random() < 0.3 else '体验'} {p.text}"
            p.sentiment_label = rnd.choices(LABELS, weights=(3, 2, 5))[0]
            p.sentiment = {"positive": 0.8, "negative": 0.2, "neutral": 0.5}[p.sentiment_label]
            p.emotion = rnd.choice(EMOTIONS)
        store.upsert_posts(posts)
        done += len(posts)
        print(f"\r  loaded {done:,}/{n:,} posts", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    store.upsert_authors(
        Author(platform, str(1_000_000 + k), name=f"用户{k}", followers=rnd.randrange(10**6),
               region=rnd.choice(("北京", "上海", "广东")))
        for platform in PLATFORMS for k in range(20_000))
    store.save_monitor(Monitor(MONITOR, f"{MONITOR} AND (投诉 OR 体验)", list(PLATFORMS),
                               every=1800, created_at=now - timedelta(days=40)))


def _ms(start: float) -> float:
    return (time.perf_counter() - start) * 1000


def steps(store: Any, monitor: Monitor, choice: str, now: Any) -> None:
    from scheduler.i18n import wording
    from scheduler.query import parse_query
    from scheduler.reports import kol_report, report_charts
    from web.exports.report import _why, window

    w = wording("zh_CN")
    since, until = window(choice, now)
    t = time.perf_counter()
    report = kol_report(store, topic=monitor.name, since=since, until=until, now=now, k=50,
                        post_filter=parse_query(monitor.query).select, pictures=True)
    kol = _ms(t)
    t = time.perf_counter()
    sections, _data = _why(store, monitor, since, until, w)
    why = _ms(t)
    t = time.perf_counter()
    report_charts(report)
    charts = _ms(t)
    print(f"  {choice:>3}: {report.post_count:>7,} posts  kol_report {kol:8.0f} ms  "
          f"why ({len(sections)} tables) {why:8.0f} ms  charts {charts:6.0f} ms")


def downloads(uri: str, workdir: Path, choices: list[str]) -> None:
    from fastapi.testclient import TestClient

    from crawlers.config import load_settings
    from web.accounts import Accounts
    from web.app import create_app

    accounts = Accounts(workdir / "web.db")
    if accounts.get_user("bench") is None:
        accounts.add_user("bench", "viewer", "bench password 42")
    token = accounts.issue_token("bench")
    app = create_app(load_settings({"STORE_URI": uri, "WEB_DB": str(workdir / "web.db")}),
                     accounts=accounts)
    url = f"/api/monitors/{quote(MONITOR, safe='')}/report"
    with TestClient(app) as client:
        client.get(url, params={"format": "xlsx", "range": "1d"},
                   headers={"Authorization": f"Bearer {token}"})  # imports, fonts: once
        for choice in choices:
            for fmt, why in (("html", 1), ("pdf", 1), ("xlsx", 1), ("html", 0), ("xlsx", 0)):
                t = time.perf_counter()
                r = client.get(url, params={"format": fmt, "range": choice, "why": why},
                               headers={"Authorization": f"Bearer {token}"})
                took = _ms(t)
                status = "" if r.status_code == 200 else f"  HTTP {r.status_code}"
                label = fmt if why else f"{fmt} without 为什么"
                print(f"  {choice:>3} {label:<18} {took:8.0f} ms  "
                      f"{len(r.content) / 1024:6.0f} KiB{status}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=50_000, help="posts (default 50,000)")
    parser.add_argument("--uri", help="an SQLite store to reuse (loaded when empty)")
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="tingfeng-bench-export-"))
    uri = args.uri or f"sqlite:///{workdir / 'bench-export.db'}"
    now = utcnow()
    with open_store(uri) as store:
        if store.get_monitor(MONITOR) is None:
            print(f"loading {args.n:,} posts into {uri}", file=sys.stderr)
            load(store, args.n, now)
        monitor = store.get_monitor(MONITOR)
        assert monitor is not None
        print("shared steps (ms):")
        for choice in ("7d", "30d"):
            steps(store, monitor, choice, now)
    print("downloads (GET /api/monitors/{name}/report, in-process):")
    downloads(uri, workdir, ["7d", "30d"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
