"""The web app on a big store: every page's server time, and 20 people using it at once.

    python bench/bench_web.py [--n 1000000] [--uri sqlite:///path/bench-web.db]
                              [--requests 20] [--users 20] [--seconds 60]

Loads N posts (bench_store's generator: 30 days ending now, 20 topics, each post in two of
them, four platforms, three sentiment labels, emotions, cascades of 40) into a fresh SQLite
store, or reuses ``--uri`` when it already holds posts, with one monitor per topic (20), crawl
runs and alerts. Then:

1. **Server time per page.** Every GET route of the app (read from its routers, so a new page
   is measured without editing this file), path parameters filled with real values (a
   monitor, its busiest account, its biggest cascade, an alert), requested ``--requests``
   times round the 20 monitors in-process; the time is measured around the ASGI app (routing,
   handler, template, serialisation; no network). Targets: every page p95 <= 300 ms, the
   dashboard's API (``/api/monitors/{name}/...``) p95 <= 500 ms.
   The analysis panels (``/why``, ``/measure``: drivers, events, regions, funnel, health, share
   of voice), the report download and the KOL table downloads are timed apart (step 3: the
   first request computes, the second is served from the panel cache) and left out of the load.
2. **Load.** The app under uvicorn on loopback, ``--users`` signed-in sessions, each requesting
   the pages in turn for ``--seconds``; every non-2xx/3xx reply or transport error counts as an
   error (target: none), with the p95 and throughput printed.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import statistics
import sys
import tempfile
import threading
import time
from collections import defaultdict
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

BENCH = Path(__file__).resolve().parent
if str(BENCH) not in sys.path:  # `python bench/bench_web.py` from the repository root
    sys.path.insert(0, str(BENCH))
    sys.path.insert(0, str(BENCH.parent))

from bench_store import SPAN, START, TOPICS, make_posts  # noqa: E402

from crawlers.items import Alert, Author, CrawlRun, Monitor, utcnow  # noqa: E402
from crawlers.storage import open_store  # noqa: E402

PAGE_MS, API_MS = 300, 500
PLATFORMS = ("weibo", "zhihu", "wechat", "forum")
LABELS = ("positive", "negative", "neutral")
EMOTIONS = ("like", "happiness", "disgust", "sadness", "surprise", "anger", "fear", None)
PASSWORD = "bench password 42"


def load(store: Any, n: int, now: Any) -> None:
    """N posts ending at ``now``, 20 monitors, a run per monitor and platform, alerts."""
    shift = now - (START + SPAN)
    rnd = random.Random(11)
    done = 0
    for posts in make_posts(n, 20_000, rnd_seed=7, bump=0):
        for p in posts:
            p.created_at = p.created_at + shift
            p.platform = rnd.choice(PLATFORMS)
            p.sentiment_label = rnd.choices(LABELS, weights=(3, 2, 5))[0]
            p.sentiment = {"positive": 0.8, "negative": 0.2, "neutral": 0.5}[p.sentiment_label]
            p.emotion = rnd.choice(EMOTIONS)
        store.upsert_posts(posts)
        done += len(posts)
        print(f"\r  loaded {done:,}/{n:,} posts", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    store.upsert_authors(
        Author(platform, str(1_000_000 + k), name=f"用户{k}", followers=rnd.randrange(10**6),
               verified=k % 10 == 0, region=rnd.choice(("北京", "上海", "广东")))
        for platform in PLATFORMS for k in range(20_000))
    for i, topic in enumerate(TOPICS):
        store.save_monitor(Monitor(topic, topic, list(PLATFORMS), every=1800,
                                   created_at=now - timedelta(days=40),
                                   last_run_at=now - timedelta(minutes=5)))
        for platform in PLATFORMS:
            store.record_run(CrawlRun(f"bench-{i}-{platform}", platform, topic=topic,
                                      kind="crawl", started_at=now - timedelta(minutes=6),
                                      finished_at=now - timedelta(minutes=5),
                                      finish_reason="finished",
                                      stats={"item_scraped_count": 100}))
        store.save_alert(Alert(f"{topic}:negative_spike:1", topic, "negative_spike", "warning",
                               "internal", value=40, threshold=20,
                               created_at=now - timedelta(hours=1),
                               window_start=now - timedelta(hours=2), window_end=now))


def values(store: Any, now: Any) -> dict[str, str]:
    """Real values for path parameters: a monitor, its top account and cascade, an alert."""
    topic = TOPICS[0]
    top = store.author_counts(topic=topic, since=now - timedelta(days=30), until=now, limit=1)
    roots: dict[tuple[str, str], int] = defaultdict(int)
    for p in store.posts(topic=topic, since=now - timedelta(days=1), until=now):
        if p.root_post_id:
            roots[(p.platform, p.root_post_id)] += 1
    (platform, root), _ = max(roots.items(), key=lambda kv: kv[1])
    # /api/runs/{run_id} is a run started from the web app (none here): left out
    return {"name": topic, "platform": top[0]["platform"] if top else "weibo", "panel": "drivers",
            "author_id": top[0]["author_id"] if top else "x", "root_post_id": root,
            "root_platform": platform, "alert_id": f"{topic}:negative_spike:1"}


def pages(vals: dict[str, str]) -> tuple[list[str], list[str]]:
    """(concrete GET paths, routes skipped for a parameter we cannot fill), from the routers
    the app includes (``web.routes``)."""
    from fastapi.routing import APIRoute

    from web.routes import routers

    out: list[str] = []
    skipped: list[str] = []
    for route in (r for router in routers() for r in router.routes):
        if not isinstance(route, APIRoute) or "GET" not in (route.methods or set()):
            continue
        path = route.path
        if path in ("/logout", "/healthz", "/login") or path.startswith("/api/docs"):
            continue
        if "/cascades/{platform}/" in path:
            path = path.replace("{platform}", vals["root_platform"])
        filled = re.sub(r"\{(\w+)\}", lambda m: quote(vals.get(m.group(1), "\0"), safe=""),
                        path)
        (skipped if "%00" in filled else out).append(route.path if "%00" in filled else filled)
    return out, skipped


class Timed:
    """ASGI wrapper recording each request's server time (first byte in to last byte out)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.times: dict[str, list[float]] = defaultdict(list)
        self.lock = threading.Lock()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        try:
            await self.app(scope, receive, send)
        finally:
            route = scope.get("route")
            key = getattr(route, "path", scope["path"])
            with self.lock:
                self.times[key].append((time.perf_counter() - start) * 1000)


def p95(xs: list[float]) -> float:
    if len(xs) < 2:
        return xs[0] if xs else float("nan")
    return statistics.quantiles(xs, n=20, method="inclusive")[-1]


def sign_in(client: Any, user: str) -> None:
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token, "no login form"
    reply = client.post("/login", data={"username": user, "password": PASSWORD,
                                        "csrf_token": token.group(1)}, follow_redirects=False)
    assert reply.status_code == 303, f"login failed: {reply.status_code}"


def _rotate(path: str, topic: str) -> str:
    """``path`` for monitor ``topic`` instead of the first; a cascade, an account, a run or an
    alert belongs to the first monitor, so their paths stay as they are."""
    if re.search(r"/cascades/[^/]+/|/alerts/|/runs/|/accounts/", path):
        return path
    return path.replace(quote(TOPICS[0], safe=""), quote(topic, safe=""))


def per_page(timed: Timed, app: Any, paths: list[str], requests: int) -> bool:
    from fastapi.testclient import TestClient

    ok = True
    with TestClient(timed) as client:
        sign_in(client, "bench0")
        timed.times.clear()
        status: dict[str, set[int]] = defaultdict(set)
        for i in range(requests):
            topic = TOPICS[i % len(TOPICS)]
            for path in paths:
                concrete = _rotate(path, topic)
                reply = client.get(concrete, follow_redirects=False)
                status[path].add(reply.status_code)
        print(f"\n1. server time per page, {requests} requests each (ms)")
        print(f"   {'page':58} {'p50':>7} {'p95':>7} {'target':>6}  status")
        for path in paths:
            route = next((k for k in timed.times if re.fullmatch(
                re.sub(r"\\\{\w+\\\}", "[^/]+", re.escape(k)), path)), None)
            xs = timed.times.get(route or "", [])
            target = API_MS if path.startswith("/api/monitors/") else PAGE_MS
            met = bool(xs) and p95(xs) <= target and all(s < 400 for s in status[path])
            ok &= met
            print(f"   {path[:58]:58} {statistics.median(xs) if xs else float('nan'):7.1f} "
                  f"{p95(xs):7.1f} {target:6d}  {','.join(map(str, sorted(status[path])))}"
                  f"{'' if met else '  MISSED'}", flush=True)
    return ok


# The analysis panels (drivers, events, regions, funnel, health, share of voice) read the
# window's posts in Python once, then serve from a cache; report downloads build a whole report.
# Timed apart (first request, then cached) and left out of the page targets and the load test.
ANALYSIS = re.compile(r"/(why|measure|panels/\w+|report)(\?|$)|\.(csv|xlsx)(\?|$)")


def panels(timed: Timed, paths: list[str], monitors: int) -> None:
    from fastapi.testclient import TestClient

    print(f"\n3. analysis panels and downloads, {monitors} monitors: computed, then cached (ms)")
    with TestClient(timed) as client:
        sign_in(client, "bench0")
        for path in paths:
            for topic in TOPICS[:monitors]:
                concrete = path.replace(quote(TOPICS[0], safe=""), quote(topic, safe=""))
                first = time.perf_counter()
                status = client.get(concrete, follow_redirects=False).status_code
                first = (time.perf_counter() - first) * 1000
                again = time.perf_counter()
                client.get(concrete, follow_redirects=False)
                again = (time.perf_counter() - again) * 1000
                print(f"   {concrete[:58]:58} {first:9.0f} {again:7.0f}  {status}", flush=True)


def load_test(app: Any, paths: list[str], users: int, seconds: float) -> bool:
    import httpx
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    base = f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    times: list[float] = [0.0] if not paths else []
    errors: list[str] = []
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def person(i: int) -> None:
        with httpx.Client(base_url=base, timeout=30) as client:
            try:
                sign_in(client, f"bench{i}")
            except Exception as exc:  # noqa: BLE001 - counted, reported
                with lock:
                    errors.append(f"login: {exc}")
                return
            k = i
            while time.monotonic() < stop:
                path = _rotate(paths[k % len(paths)], TOPICS[k % len(TOPICS)])
                k += 1
                t0 = time.perf_counter()
                try:
                    reply = client.get(path, follow_redirects=False)
                    bad = reply.status_code >= 400
                    what = f"{reply.status_code} {path}"
                except httpx.HTTPError as exc:
                    bad, what = True, f"{type(exc).__name__} {path}"
                with lock:
                    times.append((time.perf_counter() - t0) * 1000)
                    if bad:
                        errors.append(what)

    people = [threading.Thread(target=person, args=(i,)) for i in range(users)]
    for t in people:
        t.start()
    for t in people:
        t.join()
    server.should_exit = True
    thread.join(10)
    print(f"\n2. {users} users for {seconds:.0f} s: {len(times):,} requests, "
          f"{len(times) / seconds:.1f}/s, p50 {statistics.median(times):.0f} ms, "
          f"p95 {p95(times):.0f} ms, errors {len(errors)}")
    for what in sorted(set(errors))[:10]:
        print(f"   error: {what}")
    return not errors


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="posts to load (1000000)")
    parser.add_argument("--uri", help="store URI (default: a fresh SQLite file in a temp dir); "
                        "reused as is if it already holds posts")
    parser.add_argument("--requests", type=int, default=20, help="requests per page (20)")
    parser.add_argument("--users", type=int, default=20, help="concurrent users (20)")
    parser.add_argument("--seconds", type=float, default=60, help="load test length (60)")
    parser.add_argument("--panels", type=int, default=2,
                        help="monitors whose analysis panels are timed, computed then cached (2)")
    args = parser.parse_args(argv)

    from crawlers.config import load_settings
    from web.accounts import Accounts
    from web.app import create_app

    with tempfile.TemporaryDirectory(prefix="tingfeng-bench-web-") as tmp:
        uri = args.uri or f"sqlite:///{Path(tmp) / 'bench.db'}"
        now = utcnow()
        store = open_store(uri)
        if not store.counts().get("posts"):
            t0 = time.perf_counter()
            load(store, args.n, now)
            print(f"loaded {args.n:,} posts in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
        else:  # a reused store: its "now" is just after its newest post
            days = [r["bucket"] for r in store.post_counts(bucket="day", by=())
                    if r["bucket"] is not None]
            now = max(days) + timedelta(days=1) if days else now
        counts = store.counts()
        print(f"store: {counts.get('posts', 0):,} posts, {counts.get('monitors', 0)} monitors, "
              f"{counts.get('authors', 0):,} authors ({uri.split('://')[0]})")
        accounts = Accounts(Path(tmp) / "web.db")
        for i in range(max(args.users, 1)):
            accounts.add_user(f"bench{i}", "admin", PASSWORD)
        settings = load_settings({"STORE_URI": uri})
        app = create_app(settings, store=store, accounts=accounts)
        vals = values(store, now)
        paths, skipped = pages(vals)
        for route in skipped:
            print(f"   skipped (no value for a parameter): {route}")
        analysis = [p for p in paths if ANALYSIS.search(p)]
        paths = [p for p in paths if p not in analysis]
        timed = Timed(app)
        pages_ok = per_page(timed, app, paths, args.requests)
        if args.panels:
            panels(Timed(app), analysis, args.panels)
        load_ok = load_test(app, paths, args.users, args.seconds) if args.users else True
        store.close()
        print(f"\npages within target: {'yes' if pages_ok else 'NO'}; "
              f"load test without error: {'yes' if load_ok else 'NO'}")
    return 0 if pages_ok and load_ok else 1


if __name__ == "__main__":
    os.environ.setdefault("TINGFENG_LOG_LEVEL", "WARNING")
    raise SystemExit(main())
