"""Shared by the web app tests: a demo store with hostile crawled text, accounts for each role,
and helpers to sign in with the framework's TestClient."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher

from crawlers.items import Alert, CrawlRun, Monitor, Post
from crawlers.storage import Store
from web.accounts import Accounts

__all__ = ["HOSTILE_MONITOR", "HOSTILE_TEXT", "HOSTILE_URL", "MONITOR", "PASSWORD", "csrf_of",
           "fill_store", "login", "make_accounts", "make_app", "route_paths", "served"]

PASSWORD = "correct horse battery"
MONITOR = "品牌A"
# Each would set window.__pwned if it ever ran in a page.
HOSTILE_TEXT = ('<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">'
                '<a href="javascript:window.__pwned=3">x</a>')
HOSTILE_URL = "javascript:window.__pwned=4"
HOSTILE_MONITOR = "<img src=x onerror=window.__pwned=5>"  # a valid monitor name, sadly
# A cheap Argon2id for tests (the app's default costs ~50 ms a hash, on purpose).
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


def make_accounts(path: Path | str = ":memory:", **options: Any) -> Accounts:
    accounts = Accounts(path, hasher=options.pop("hasher", FAST_HASHER), **options)
    for name, role in (("root", "admin"), ("ana", "analyst"), ("vic", "viewer")):
        accounts.add_user(name, role, PASSWORD)
    return accounts


def fill_store(store: Store, now: datetime) -> None:
    """Two monitors, 5 days of posts on three platforms with every sentiment, crawl runs (one
    platform behind a login wall), alerts with deliveries, and hostile text everywhere."""
    store.save_monitor(Monitor(MONITOR, "品牌A AND (投诉 OR 退款)", ["weibo", "zhihu"], every=1800,
                               recipients=["pr@example.com", "wecom://${WECOM_KEY}"],
                               created_at=now - timedelta(days=6),
                               last_run_at=now - timedelta(minutes=10)))
    store.save_monitor(Monitor(HOSTILE_MONITOR, "品牌B", ["weibo"], every=3600, paused=True,
                               created_at=now - timedelta(days=6)))
    labels = ("negative", "neutral", "positive", None)
    posts = [
        Post(("weibo", "zhihu", "wechat")[i % 3], f"p{i}", text=f"品牌A 投诉 第{i}条",
             created_at=now - timedelta(hours=2 * i + 1), topics=[MONITOR],
             author_id=f"u{i % 7}", author_name=f"用户{i % 7}", url=f"https://m.weibo.cn/{i}",
             like_count=i, repost_count=1, comment_count=2, sentiment_label=labels[i % 4],
             sentiment=(0.1, 0.5, 0.9, None)[i % 4])
        for i in range(60)
    ]
    posts.append(Post("weibo", "evil", text=HOSTILE_TEXT, title=HOSTILE_TEXT,
                      created_at=now - timedelta(minutes=30), topics=[MONITOR, HOSTILE_MONITOR],
                      author_id="evil", author_name=HOSTILE_TEXT, url=HOSTILE_URL,
                      sentiment_label="negative", sentiment=0.05))
    store.upsert_posts(posts)
    store.record_run(CrawlRun("r1", "weibo", topic=MONITOR, kind="crawl",
                              started_at=now - timedelta(minutes=11),
                              finished_at=now - timedelta(minutes=10), finish_reason="finished",
                              stats={"item_scraped_count": 20}))
    store.record_run(CrawlRun("r2", "zhihu", topic=MONITOR, kind="crawl",
                              started_at=now - timedelta(minutes=11),
                              finished_at=now - timedelta(minutes=10),
                              finish_reason="login_required"))
    window = {"window_start": now - timedelta(hours=1), "window_end": now}
    store.save_alert(Alert(f"{MONITOR}:negative_spike:1", MONITOR, "negative_spike", "critical",
                           "internal", value=42, threshold=20, created_at=now - timedelta(hours=2),
                           details={"expected": 10.0, "ratio": 4.2}, status="sent",
                           deliveries={"wecom:0123456789": {"status": "sent", "attempts": 1}},
                           **window))
    store.save_alert(Alert(f"{MONITOR}:risk_words:1", MONITOR, "risk_words", "warning",
                           "internal", value=3, threshold=1, created_at=now - timedelta(hours=1),
                           details={"words": {HOSTILE_TEXT: 3}, "drivers": [HOSTILE_TEXT]},
                           deliveries={"mail:0123456789": {"status": "failed", "attempts": 2}},
                           **window))
    store.save_alert(Alert(f"{HOSTILE_MONITOR}:volume_spike:1", HOSTILE_MONITOR, "volume_spike",
                           "info", "internal", value=9, threshold=3,
                           created_at=now - timedelta(minutes=20),
                           review={"verdict": "confirmed", "by": HOSTILE_TEXT,
                                   "note": HOSTILE_TEXT}, **window))


def make_app(tmp_path: Path, *, settings: dict[str, Any] | None = None,
             store: Store | None = None, accounts: Accounts | None = None,
             fill: bool = True) -> Any:
    """The web app over a temp SQLite store filled by :func:`fill_store` and accounts for each
    role (root: admin, ana: analyst, vic: viewer; all with PASSWORD)."""
    from crawlers.config import load_settings
    from crawlers.items import utcnow
    from crawlers.storage.sqlite import SqliteStore
    from web.app import create_app

    if store is None:
        store = SqliteStore(tmp_path / "store.db")
    if fill:
        fill_store(store, utcnow())
    return create_app(load_settings(settings or {}), store=store,
                      accounts=accounts or make_accounts(tmp_path / "web.db"))


def login(client: Any, username: str, password: str = PASSWORD) -> Any:
    """Sign in through the login form (its CSRF token and cookie included)."""
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token, page.text
    return client.post("/login", data={"username": username, "password": password,
                                       "csrf_token": token.group(1)}, follow_redirects=False)


def csrf_of(client: Any) -> str:
    """The signed-in session's CSRF token, as pages carry it."""
    page = client.get("/monitors")
    found = re.search(r'name="csrf-token" content="([^"]+)"', page.text)
    assert found, page.text[:500]
    return found.group(1)


def route_paths() -> list[tuple[str, str]]:
    """(method, concrete path) for every route of the app, path parameters filled in. Read
    from the routers the app includes (all of them, without prefixes: ``web.routes``)."""
    from fastapi.routing import APIRoute

    from web.routes import routers

    out = []
    for route in (r for router in routers() for r in router.routes):
        if isinstance(route, APIRoute):
            path = re.sub(r"\{name\}", MONITOR, route.path)
            path = re.sub(r"\{[^}]+\}", "x", path)
            out += [(m, path) for m in sorted(route.methods)]
    return out


@contextmanager
def served(app: Any) -> Iterator[str]:
    """``app`` under uvicorn on a free loopback port, for a real browser: yields its base URL
    and stops the server afterwards."""
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(10)
