"""Run now and run history in the web app: a click starts exactly one background
``tingfeng monitor run`` while none is running (also across worker processes), only analysts
with the CSRF token may click, each start is audited, a real run's CrawlRun records land in the
store, and the history groups each monitor run with the crawls it started."""

from __future__ import annotations

import re
import subprocess
import sys
import threading
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from crawlers.items import CrawlRun, Monitor, utcnow
from crawlers.storage.sqlite import SqliteStore
from tests.web_support import MONITOR, csrf_of, login, make_accounts, make_app
from web.data.runs import RunRegistry, run_history
from web.data.runs.launch import OVERRIDES_ENV, child_environment


class FakeRun:
    """A started run that lasts until the test ends it."""

    def __init__(self) -> None:
        self.pid = 999_999_999  # no such process: never mistaken for a live one
        self.done = threading.Event()

    def poll(self) -> int | None:
        return 0 if self.done.is_set() else None

    def wait(self) -> int:
        self.done.wait()
        return 0


class FakeLauncher:
    def __init__(self) -> None:
        self.runs: list[tuple[str, FakeRun]] = []
        self.lock = threading.Lock()

    def __call__(self, monitor, log, settings):
        run = FakeRun()
        with self.lock:
            self.runs.append((monitor, run))
        log.write_text("crawling weibo for 品牌A\nweibo: finished (3 items)\n", encoding="utf-8")
        return run

    def finish_all(self) -> None:
        for _name, run in self.runs:
            run.done.set()


@pytest.fixture
def launcher():
    fake = FakeLauncher()
    yield fake
    fake.finish_all()


@pytest.fixture
def app(tmp_path, launcher):
    app = make_app(tmp_path)
    app.state.runs = RunRegistry(tmp_path / "runs", settings=app.state.ctx.settings,
                                 launcher=launcher)
    return app


def _client(app, user):
    client = TestClient(app)
    assert login(client, user).status_code == 303
    return client


def _finish(app, launcher):
    launcher.finish_all()
    for handle in app.state.runs.runs(MONITOR):
        app.state.runs.wait(handle.run_id, 10)


def test_run_now_starts_exactly_one_run_while_one_is_running(app, launcher):
    client = _client(app, "ana")
    token = csrf_of(client)
    r = client.post(f"/monitors/{MONITOR}/run", data={"csrf_token": token},
                    follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == f"/monitors/{quote(MONITOR)}/runs?note=started"
    assert [name for name, _ in launcher.runs] == [MONITOR]
    # the second click while it runs says so and starts nothing
    r = client.post(f"/monitors/{MONITOR}/run", data={"csrf_token": token})
    assert r.status_code == 200 and "正在运行中，没有重复启动" in r.text
    assert len(launcher.runs) == 1
    page = client.get(f"/monitors/{MONITOR}/runs").text
    assert re.search(r"运行中（\d\d:\d\d 开始，ana 发起）", page)
    assert 'id="run-now"' not in page  # no button while it runs
    assert 'http-equiv="refresh"' in page
    api = client.post(f"/api/monitors/{MONITOR}/run", headers={"X-CSRF-Token": token})
    assert api.status_code == 409 and api.json()["started"] is False
    [handle] = app.state.runs.runs(MONITOR)
    assert api.json()["run"]["run_id"] == handle.run_id and handle.running
    audit = [e for e in app.state.ctx.accounts.audit_log() if e["action"] == "monitor.run"]
    assert [(e["actor"], e["target"], e["detail"]["run_id"]) for e in audit] == [
        ("ana", MONITOR, handle.run_id)]
    # once it ended, the next click starts a new run, through the API: 202 and a handle
    _finish(app, launcher)
    assert client.get(f"/api/runs/{handle.run_id}").json()["status"] == "finished"
    api = client.post(f"/api/monitors/{MONITOR}/run", headers={"X-CSRF-Token": token})
    assert api.status_code == 202 and api.json()["started"] is True
    assert api.json()["run"]["status"] == "running" and len(launcher.runs) == 2
    polled = client.get(api.json()["poll"]).json()
    assert polled["run_id"] == api.json()["run"]["run_id"] and polled["by"] == "ana"
    page = client.get(f"/monitors/{MONITOR}/runs").text
    assert "weibo: finished (3 items)" in page  # the run's output, for analysts


def test_simultaneous_clicks_start_one_run(tmp_path, launcher):
    registry = RunRegistry(tmp_path / "runs", settings={}, launcher=launcher)
    results = []
    barrier = threading.Barrier(8)

    def click(i: int) -> None:
        barrier.wait()
        results.append(registry.start(MONITOR, f"user{i}"))

    threads = [threading.Thread(target=click, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(launcher.runs) == 1
    assert sum(started for _, started in results) == 1
    assert len({h.run_id for h, _ in results}) == 1
    # another monitor is not held up by this one
    _other, started = registry.start("品牌B", "ana")
    assert started and len(launcher.runs) == 2


def test_another_web_process_sees_the_run_and_starts_none(tmp_path):
    """Two registries on one folder stand for two web worker processes: the second one sees
    the first one's live process (by its pid) and starts nothing until it has ended."""
    started: list[subprocess.Popen] = []

    def launch(monitor, log, settings):  # a process that looks like a monitor run until told
        proc = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()",
                                 "monitor", "run", "--", monitor], stdin=subprocess.PIPE)
        started.append(proc)
        return proc

    first = RunRegistry(tmp_path / "runs", settings={}, launcher=launch)
    second = RunRegistry(tmp_path / "runs", settings={}, launcher=launch)
    handle, new = first.start(MONITOR, "ana")
    assert new
    try:
        again, new_again = second.start(MONITOR, "li")
        assert not new_again and again.run_id == handle.run_id and again.by == "ana"
        assert second.current(MONITOR) is not None and len(started) == 1
    finally:
        started[0].stdin.close()
    assert first.wait(handle.run_id, 30).status == "finished"
    assert second.current(MONITOR) is None
    _h, new = second.start(MONITOR, "li")
    assert new and len(started) == 2
    started[1].stdin.close()
    started[1].wait(30)


def test_only_analysts_with_the_csrf_token_can_run(app, launcher):
    viewer = _client(app, "vic")
    token = csrf_of(viewer)
    assert viewer.post(f"/monitors/{MONITOR}/run", data={"csrf_token": token}).status_code == 403
    assert viewer.post(f"/api/monitors/{MONITOR}/run",
                       headers={"X-CSRF-Token": token}).status_code == 403
    assert viewer.get(f"/monitors/{MONITOR}/runs").status_code == 200  # reading is fine
    assert 'id="run-now"' not in viewer.get(f"/monitors/{MONITOR}/runs").text
    analyst = _client(app, "ana")
    assert analyst.post(f"/monitors/{MONITOR}/run").status_code == 403
    assert analyst.post(f"/monitors/{MONITOR}/run", data={"csrf_token": "x"}).status_code == 403
    assert analyst.post(f"/api/monitors/{MONITOR}/run").status_code == 403
    assert launcher.runs == []
    assert not [e for e in app.state.ctx.accounts.audit_log() if e["action"] == "monitor.run"]
    # a script's API token needs no CSRF token (no ambient credential)
    bearer = {"Authorization": f"Bearer {app.state.ctx.accounts.issue_token('ana')}"}
    r = TestClient(app).post(f"/api/monitors/{MONITOR}/run", headers=bearer)
    assert r.status_code == 202 and len(launcher.runs) == 1


def test_unknown_monitor_and_an_in_memory_store(app, launcher, tmp_path):
    client = _client(app, "ana")
    token = csrf_of(client)
    assert client.post("/monitors/没有/run", data={"csrf_token": token}).status_code == 404
    assert client.get("/monitors/没有/runs").status_code == 404
    assert client.get("/api/runs/..%2F..%2Fetc").status_code == 404
    app.state.runs = RunRegistry(tmp_path / "mem-runs", settings={"STORE_URI": "memory://"},
                                 launcher=launcher)
    r = client.post(f"/api/monitors/{MONITOR}/run", headers={"X-CSRF-Token": token})
    assert r.status_code == 409 and "memory://" in r.json()["detail"]
    assert launcher.runs == []


def test_the_run_environment_carries_overrides_and_cookies_not_argv():
    from crawlers.config import load_settings

    settings = load_settings({"DOWNLOAD_DELAY": 0, "PLATFORM_BASE_URLS": {"weibo": "http://x"},
                              "WEIBO_COOKIE": "SUB=made-up-test-value"})
    env = child_environment(settings)
    overrides = __import__("json").loads(env[OVERRIDES_ENV])
    assert overrides["DOWNLOAD_DELAY"] == 0
    assert overrides["PLATFORM_BASE_URLS"] == {"weibo": "http://x"}
    assert "ROBOTSTXT_OBEY" not in overrides  # unchanged settings are left to the child
    assert env["WEIBO_COOKIE"] == "SUB=made-up-test-value"


def _crawl(run_id, platform, start, reason="finished", items=None, **extra):
    return CrawlRun(run_id, platform, topic=MONITOR, kind="crawl", started_at=start,
                    finished_at=start + timedelta(seconds=40), finish_reason=reason,
                    stats={"item_scraped_count": items} if items is not None else {}, **extra)


def _monitor_run(run_id, start, crawls, **extra):
    return CrawlRun(run_id, "weibo,zhihu", topic=MONITOR, kind="monitor", started_at=start,
                    finished_at=start + timedelta(seconds=95), finish_reason="finished",
                    args={"crawl_runs": crawls}, **extra)


def test_history_groups_each_monitor_run_with_its_crawls(tmp_path, launcher):
    from scheduler.i18n import wording

    now = utcnow()
    store = SqliteStore(tmp_path / "store.db")
    store.save_monitor(Monitor(MONITOR, "品牌A", ["weibo", "zhihu"], every=1800))
    t1, t2, t3 = now - timedelta(hours=3), now - timedelta(hours=2), now - timedelta(hours=1)
    for run in (
        _crawl("c1", "weibo", t1, items=20), _crawl("c2", "zhihu", t1, "login_required"),
        _monitor_run("m1", t1, ["c1", "c2"], stats={"posts/count": 31.0, "alerts/new": 2}),
        _crawl("c5", "weibo", t2, items=4),  # `tingfeng crawl --topic 品牌A`: no monitor run
        _crawl("c3", "weibo", t3 + timedelta(seconds=2), items=7),
        _crawl("c4", "zhihu", t3 + timedelta(seconds=2), items=3),
        _monitor_run("m2", t3, ["c3", "c4"], stats={"posts/count": 12.0, "alerts/new": 0}),
        CrawlRun("monitor:品牌A:x", "weibo,zhihu", topic=MONITOR, kind="monitor",
                 started_at=now - timedelta(minutes=30), finished_at=now - timedelta(minutes=30),
                 finish_reason="error", errors=["RuntimeError: boom"]),
        _monitor_run("old", now - timedelta(days=40), []),
    ):
        store.record_run(run)
    clock = [t3 - timedelta(seconds=3)]  # m2 was started from the web app, by ana
    registry = RunRegistry(tmp_path / "runs", settings={}, launcher=launcher,
                           clock=lambda: clock[0])
    handle, _ = registry.start(MONITOR, "ana")
    clock[0] = t3 + timedelta(minutes=2)
    launcher.finish_all()
    registry.wait(handle.run_id, 10)
    w = wording("zh_CN")
    history = run_history(store, MONITOR, w, days=30, manual=registry.runs(MONITOR), now=now)
    assert [r["run_id"] for r in history["runs"]] == ["monitor:品牌A:x", "m2", "c5", "m1"]
    error, m2, loose, m1 = history["runs"]
    assert (error["status_name"], error["errors"], error["platforms"]) == (
        "运行出错", ["RuntimeError: boom"], [])
    assert m2["status"] == "ok" and m2["by"] == "ana" and m2["posts"] == 12
    assert [(p["name"], p["text"], p["items"]) for p in m2["platforms"]] == [
        ("微博", "正常", 7), ("知乎", "正常", 3)]
    assert loose["status_name"] == "单独采集" and loose["by"] is None
    assert m1["status_name"] == "部分平台失败" and m1["by"] is None and m1["alerts_new"] == 2
    assert [(p["name"], p["status"], p["text"]) for p in m1["platforms"]] == [
        ("微博", "ok", "正常"), ("知乎", "failed", "需要登录")]
    assert m1["duration"] == "1 分 35 秒"
    everything = run_history(store, MONITOR, w, days=None, now=now, size=2)
    assert everything["total"] == 5 and everything["pages"] == 3
    assert [r["run_id"] for r in run_history(store, MONITOR, w, days=None, now=now, size=2,
                                             page=3)["runs"]] == ["old"]


def test_history_page_and_api_show_the_run_going_on(app, launcher):
    client = _client(app, "ana")
    token = csrf_of(client)
    client.post(f"/api/monitors/{MONITOR}/run", headers={"X-CSRF-Token": token})
    [handle] = app.state.runs.runs(MONITOR)
    # the run's first crawl has recorded itself; its monitor record comes at the end
    app.state.ctx.store.record_run(_crawl("live", "weibo", handle.started_at + timedelta(
        seconds=1), items=5))
    data = client.get(f"/api/monitors/{MONITOR}/runs").json()
    assert data["running"]["run_id"] == handle.run_id
    live = data["runs"][0]
    assert live["status"] == "running" and live["by"] == "ana"
    assert [p["run_id"] for p in live["platforms"]] == ["live"]
    # fill_store's two crawls, claimed by no monitor run, stand alone
    assert [r["status"] for r in data["runs"][1:]] == ["crawl", "crawl"]
    page = client.get(f"/monitors/{MONITOR}/runs").text
    assert 'data-run="r2"' in page and "知乎：需要登录" in page


def test_a_real_monitor_run_in_the_background_records_its_crawls(tmp_path, fixture_server):
    """The real path: ``tingfeng monitor run`` as a subprocess with the app's settings (the
    replay server instead of weibo.cn), its CrawlRun records written by the scheduler."""
    from crawlers.config import load_settings
    from web.app import create_app

    name = "演示"
    uri = f"sqlite:///{tmp_path}/store.db"
    store = SqliteStore(tmp_path / "store.db")
    store.save_monitor(Monitor(name, "听风演示", ["weibo"], every=3600, created_at=utcnow()))
    settings = load_settings({
        "STORE_URI": uri, "WEB_DB": str(tmp_path / "web.db"),
        "PLATFORM_BASE_URLS": {"weibo": fixture_server.base_url}, "DOWNLOAD_DELAY": 0,
        "AUTOTHROTTLE_ENABLED": False, "CRAWL_BACKOFF_BASE": 0,
        "MAIL_URL": f"file://{tmp_path / 'outbox'}"})
    app = create_app(settings, store=store, accounts=make_accounts(tmp_path / "web.db"))
    with TestClient(app) as client:
        login(client, "ana")
        r = client.post(f"/api/monitors/{name}/run", headers={"X-CSRF-Token": csrf_of(client)})
        assert r.status_code == 202, r.text
        run_id = r.json()["run"]["run_id"]
        registry = app.state.runs
        assert registry.folder == Path(tmp_path / "runs")
        ended = registry.wait(run_id, 240)
        log = registry.log_path(run_id).read_text(encoding="utf-8")
        assert ended.status == "finished" and ended.returncode == 0, log
        assert "weibo: finished" in log
        [crawl] = store.runs(topic=name, kind="crawl")
        [head] = store.runs(topic=name, kind="monitor")
        assert crawl.finish_reason == "finished" and crawl.stats["item_scraped_count"] > 0
        assert head.args["crawl_runs"] == [crawl.run_id]
        history = client.get(f"/api/monitors/{name}/runs").json()
        assert history["running"] is None and history["last_manual"]["status"] == "finished"
        [group] = history["runs"]
        assert group["run_id"] == head.run_id and group["by"] == "ana"
        assert [(p["name"], p["text"]) for p in group["platforms"]] == [("微博", "正常")]
