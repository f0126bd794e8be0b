"""The shared crawl machinery end to end: a toy platform crawled by real Scrapy subprocesses
against the replay server, checking policy (retry/close/skip), stats, run records, spooling and
idempotent re-runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from crawlers.errors import StoreError
from crawlers.replay import ReplayServer
from crawlers.storage import open_store

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parent.parent
TOY = REPO / "tests" / "toy_spider.py"
LONG_PAGES = 20


def _page(n: int, ids: list[int]) -> dict[str, object]:
    return {
        "items": [{"id": i, "uid": i % 3, "text": f"帖子{i} 😀", "age_min": i} for i in ids],
        "page": n,
    }


@pytest.fixture(scope="module")
def toy_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ReplayServer]:
    root = tmp_path_factory.mktemp("toyfix")
    d = root / "toy"
    d.mkdir()
    files = {
        "p1.json": _page(1, [1, 2, 3]),
        "p2.json": _page(2, [4, 5]),
        "p3.json": {"items": []},
        "rate.json": {"error": "rate"},
        "login.json": {"error": "login"},
        "bad.json": {"nope": 1},
    }
    for name, body in files.items():
        (d / name).write_text(json.dumps(body, ensure_ascii=False), encoding="utf-8")
    (d / "trunc.json").write_text('{"items": [{"id": 9', encoding="utf-8")
    for n in range(1, LONG_PAGES + 1):  # a crawl long enough to be killed half-way
        body = _page(n, [1000 + 2 * n, 1001 + 2 * n])
        (d / f"long{n}.json").write_text(json.dumps(body, ensure_ascii=False), encoding="utf-8")
    routes = [
        ("ok", 1, "p1.json"),
        ("ok", 2, "p2.json"),
        ("ok", 3, "p3.json"),
        ("rate", 1, "rate.json"),
        ("login", 1, "p1.json"),
        ("login", 2, "login.json"),
        ("bad", 1, "bad.json"),
        ("trunc", 1, "trunc.json"),
        ("mixed", 1, "p1.json"),
        ("mixed", 2, "bad.json"),
        *[("long", n, f"long{n}.json") for n in range(1, LONG_PAGES + 1)],
    ]
    manifest = {
        "platform": "toy",
        "routes": [
            {
                "url": f"https://toy.example/list?q={q}&page={p}",
                "file": f,
                "origin": "constructed",
                "content_type": "application/json",
            }
            for q, p, f in routes
        ],
    }
    (d / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    with ReplayServer(root) as srv:
        yield srv


def crawl_cmd(
    server: ReplayServer, tmp_path: Path, keyword: str, store_uri: str, **settings: object
) -> list[str]:
    all_settings = {
        "STORE_URI": store_uri,
        "PLATFORM_BASE_URLS": json.dumps({"toy": server.base_url}),
        "DOWNLOAD_DELAY": 0,
        "AUTOTHROTTLE_ENABLED": False,
        "CRAWL_BACKOFF_BASE": 0,
        "CRAWL_RATE_LIMIT_MAX": 3,
        "STORE_SPOOL_DIR": str(tmp_path / "spool"),
        "CRAWL_RUN_ID": f"run-{keyword}",
        "ROBOTSTXT_OBEY": False,
        **settings,
    }
    cmd = [
        sys.executable,
        "-m",
        "scrapy",
        "runspider",
        str(TOY),
        "-a",
        f"keyword={keyword}",
        "-a",
        "now=2026-11-20T12:00:00+00:00",
        "-a",
        "max_pages=100",
    ]
    for k, v in all_settings.items():
        cmd += ["-s", f"{k}={v}"]
    return cmd


ENV = {**os.environ, "SCRAPY_SETTINGS_MODULE": "crawlers.settings", "PYTHONPATH": str(REPO)}


def crawl(
    server: ReplayServer,
    tmp_path: Path,
    keyword: str,
    store_uri: str | None = None,
    **settings: object,
) -> tuple[subprocess.CompletedProcess[str], str]:
    store_uri = store_uri or f"sqlite:///{tmp_path / 'toy.db'}"
    cmd = crawl_cmd(server, tmp_path, keyword, store_uri, **settings)
    proc = subprocess.run(cmd, cwd=REPO, env=ENV, capture_output=True, text=True, timeout=120)
    return proc, store_uri


def run_of(store_uri: str, run_id: str):  # type: ignore[no-untyped-def]
    with open_store(store_uri) as store:
        return next(r for r in store.runs() if r.run_id == run_id)


def test_pages_until_empty_and_records_the_run(toy_server: ReplayServer, tmp_path: Path) -> None:
    proc, uri = crawl(toy_server, tmp_path, "ok")
    assert proc.returncode == 0, proc.stderr[-2000:]
    with open_store(uri) as store:
        posts = list(store.posts(topic="ok"))
        assert sorted(p.post_id for p in posts) == ["1", "2", "3", "4", "5"]
        assert all(p.created_at and p.created_at.tzinfo for p in posts)
        assert posts[0].text.endswith("😀")
        assert len(store.authors()) == 3
    run = run_of(uri, "run-ok")
    assert run.finish_reason == "finished"
    assert run.stats["tingfeng/posts_stored"] == 5
    assert run.platform == "toy" and run.topic == "ok"


def test_rerun_creates_no_duplicates(toy_server: ReplayServer, tmp_path: Path) -> None:
    crawl(toy_server, tmp_path, "ok")
    proc, uri = crawl(toy_server, tmp_path, "ok", CRAWL_RUN_ID="run-ok-2")
    assert proc.returncode == 0
    with open_store(uri) as store:
        assert store.counts()["posts"] == 5
        assert len(store.runs()) == 2


def test_rate_limit_retries_with_backoff_then_closes(
    toy_server: ReplayServer, tmp_path: Path
) -> None:
    _, uri = crawl(toy_server, tmp_path, "rate")
    run = run_of(uri, "run-rate")
    assert run.finish_reason == "rate_limited"
    assert run.stats["platform/toy/rate_limited"] == 3
    assert run.stats["retry/reason_count/toy_rate_limited"] == 2
    assert run.errors and "slow down" in run.errors[0]


def test_login_wall_closes_the_crawl_and_keeps_what_was_collected(
    toy_server: ReplayServer, tmp_path: Path
) -> None:
    _, uri = crawl(toy_server, tmp_path, "login")
    run = run_of(uri, "run-login")
    assert run.finish_reason == "login_required"
    assert run.stats["platform/toy/login_required"] == 1
    with open_store(uri) as store:
        assert store.counts()["posts"] == 3  # page 1 was stored before the wall


@pytest.mark.parametrize("keyword", ["bad", "trunc"])
def test_broken_bodies_are_counted_and_the_crawl_finishes(
    toy_server: ReplayServer, tmp_path: Path, keyword: str
) -> None:
    proc, uri = crawl(toy_server, tmp_path, keyword)
    assert proc.returncode == 0
    run = run_of(uri, f"run-{keyword}")
    assert run.finish_reason == "finished"
    assert run.stats["platform/toy/unexpected_payload"] == 1
    assert "unexpected payload at https://toy.example/list" in proc.stderr


def test_a_bad_page_after_good_ones_loses_nothing(toy_server: ReplayServer, tmp_path: Path) -> None:
    _, uri = crawl(toy_server, tmp_path, "mixed")
    with open_store(uri) as store:
        assert store.counts()["posts"] == 3
    assert run_of(uri, "run-mixed").stats["platform/toy/unexpected_payload"] == 1


def test_a_down_store_spools_and_the_next_crawl_into_it_replays(
    toy_server: ReplayServer, tmp_path: Path
) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    down_uri = f"sqlite:///{blocker / 'db.sqlite'}"
    proc, _ = crawl(toy_server, tmp_path, "ok", store_uri=down_uri, STORE_RETRIES=0)
    spooled = list((tmp_path / "spool").glob("*/spool-*.jsonl"))
    assert spooled or "spooled" in proc.stderr, proc.stderr[-3000:]
    # another store's crawl leaves them alone: they were meant for the store that was down
    other_uri = f"sqlite:///{tmp_path / 'other.db'}"
    crawl(toy_server, tmp_path, "rate", store_uri=other_uri)
    with open_store(other_uri) as store:
        assert not list(store.posts(topic="ok"))
    assert list((tmp_path / "spool").glob("*/spool-*.jsonl"))
    blocker.unlink()  # the store comes back
    blocker.mkdir()
    crawl(toy_server, tmp_path, "rate", store_uri=down_uri)  # its next crawl replays first
    with open_store(down_uri) as store:
        assert {p.post_id for p in store.posts(topic="ok")} == {"1", "2", "3", "4", "5"}
    assert not list((tmp_path / "spool").glob("*/spool-*.jsonl"))


def test_platform_cookie_from_settings_reaches_the_platform_but_not_the_log(
    toy_server: ReplayServer, tmp_path: Path
) -> None:
    before = len(toy_server.headers_seen)
    proc, _ = crawl(
        toy_server, tmp_path, "ok", TOY_COOKIE="SUB=s3cr3t-value; SUBP=abc", LOG_LEVEL="DEBUG"
    )
    sent = [h.get("cookie", "") for h in toy_server.headers_seen[before:]]
    assert any("SUB=s3cr3t-value" in c for c in sent)
    assert "s3cr3t" not in proc.stderr + proc.stdout


def test_a_killed_crawl_restarts_without_losing_or_duplicating(
    toy_server: ReplayServer, tmp_path: Path
) -> None:
    """SIGKILL half-way (no close handlers run), then run again: everything once, nothing twice."""
    import signal
    import time

    uri = f"sqlite:///{tmp_path / 'killed.db'}"
    cmd = crawl_cmd(
        toy_server,
        tmp_path,
        "long",
        uri,
        DOWNLOAD_DELAY=0.3,
        STORE_BATCH_SIZE=1,
        CRAWL_RUN_ID="run-killed",
    )
    proc = subprocess.Popen(
        cmd, cwd=REPO, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    stored_before_kill = 0
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.2)
            try:
                with open_store(uri) as store:
                    stored_before_kill = store.counts()["posts"]
            except StoreError:  # locked by the writer for a moment
                continue
            if stored_before_kill >= 6:
                break
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert 6 <= stored_before_kill < 2 * LONG_PAGES, "the crawl was not killed half-way"
    rerun, _ = crawl(toy_server, tmp_path, "long", store_uri=uri, CRAWL_RUN_ID="run-after-kill")
    assert rerun.returncode == 0
    with open_store(uri) as store:
        ids = [p.post_id for p in store.posts(topic="long")]
    assert len(ids) == len(set(ids)) == 2 * LONG_PAGES
    assert run_of(uri, "run-after-kill").finish_reason == "finished"


def test_credentials_in_request_urls_never_reach_the_crawl_log(
    toy_server: ReplayServer, tmp_path: Path
) -> None:
    # An unknown route 404s, and Scrapy itself logs the URL ("Ignoring response <404 …>").
    proc, _ = crawl(toy_server, tmp_path, "nothing&token=S3CRET-TOKEN&pass_ticket=T1CKET")
    log = proc.stderr + proc.stdout
    assert "Ignoring response <404" in log and "token=***" in log
    assert "S3CRET" not in log and "T1CKET" not in log
