"""The web app's pages and API as an analyst uses them: monitors (create with a bad query and
fix it, edit, pause), the dashboard's numbers, the alerts inbox with reviews and precision, the
post browser, the audit log, the OpenAPI docs; and the `tingfeng user` / `serve` commands."""

from __future__ import annotations

import io
from datetime import datetime, timedelta
from urllib.parse import quote, urlsplit
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from crawlers.items import Monitor, Post, utcnow
from crawlers.storage.memory import MemoryStore
from scheduler.cli import main
from tests.web_support import MONITOR, PASSWORD, csrf_of, fill_store, login, make_app
from web.accounts import Accounts
from web.data.series import post_counts


@pytest.fixture
def app(tmp_path):
    return make_app(tmp_path)


@pytest.fixture
def analyst(app):
    with TestClient(app) as client:
        assert login(client, "ana").status_code == 303
        yield client


def _form(token, **fields):
    base = {"csrf_token": token, "name": "新品", "query": "新品", "platforms": ["weibo"],
            "schedule": "every", "every": "30m", "recipients": "", "quiet_hours": ""}
    return {**base, **fields}


def test_query_check_gives_the_error_position(analyst):
    bad = analyst.get("/api/query/check", params={"q": "品牌A AND (投诉 OR"}).json()
    assert bad["ok"] is False and bad["position"] == 14 and "ends too early" in bad["error"]
    unclosed = analyst.get("/api/query/check", params={"q": "品牌A (投诉"}).json()
    assert unclosed["position"] == 4
    good = analyst.get("/api/query/check", params={"q": "品牌A (投诉 OR 退款)"}).json()
    assert good["ok"] is True and good["keywords"] == ["品牌A 投诉", "品牌A 退款"]


def test_create_a_monitor_with_a_bad_query_then_fix_it(app, analyst):
    token = csrf_of(analyst)
    r = analyst.post("/monitors/new", data=_form(token, query="新品 AND (发布 OR"))
    assert r.status_code == 400 and "ends too early" in r.text
    assert 'value="新品 AND (发布 OR"' in r.text  # what was typed stays in the form
    assert app.state.ctx.store.get_monitor("新品") is None
    r = analyst.post("/monitors/new", data=_form(token, query="新品 AND (发布 OR 上市)",
                                                 recipients="pr@example.com",
                                                 quiet_hours="22:00-08:00"),
                     follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/monitors/{quote('新品')}"
    m = app.state.ctx.store.get_monitor("新品")
    assert m.query == "新品 AND (发布 OR 上市)" and m.every == 1800 and m.platforms == ["weibo"]
    assert m.recipients == ["pr@example.com"] and m.thresholds["ALERT_QUIET_HOURS"]
    r = analyst.post("/monitors/new", data=_form(token))
    assert r.status_code == 400 and "already exists" in r.text


def test_edit_keeps_thresholds_and_history_and_pause_resume(app, analyst):
    store = app.state.ctx.store
    before = store.get_monitor(MONITOR)
    store.save_monitor(before.__class__(**{**before.__dict__, "thresholds": {
        "ALERT_MIN_VOLUME": 50.0}}))
    token = csrf_of(analyst)
    page = analyst.get(f"/monitors/{MONITOR}/edit")
    assert page.status_code == 200 and before.query in page.text
    r = analyst.post(f"/monitors/{MONITOR}/edit", data=_form(
        token, query="品牌A 投诉", platforms=["weibo", "wechat"], schedule="cron",
        cron="0 */2 * * *"), follow_redirects=False)
    assert r.status_code == 303
    m = store.get_monitor(MONITOR)
    assert (m.query, m.cron, m.every, m.platforms) == ("品牌A 投诉", "0 */2 * * *", None,
                                                        ["weibo", "wechat"])
    assert m.thresholds == {"ALERT_MIN_VOLUME": 50.0} and m.last_run_at == before.last_run_at
    analyst.post(f"/monitors/{MONITOR}/pause", data={"csrf_token": token})
    assert store.get_monitor(MONITOR).paused is True
    assert "已暂停" in analyst.get("/monitors").text
    analyst.post(f"/monitors/{MONITOR}/resume", data={"csrf_token": token})
    assert store.get_monitor(MONITOR).paused is False
    log = app.state.ctx.accounts.audit_log()
    assert [e["action"] for e in log[:3]] == ["monitor.resume", "monitor.pause", "monitor.edit"]
    assert log[2]["actor"] == "ana" and log[2]["detail"]["query"] == [before.query, "品牌A 投诉"]


def test_monitors_list_shows_schedule_runs_and_crawl_health(analyst):
    rows = {r["name"]: r for r in analyst.get("/api/monitors").json()}
    row = rows[MONITOR]
    assert row["schedule"] == "每 30 分钟" and row["status"] == "运行中"
    health = {h["platform"]: h for h in row["health"]}
    assert health["weibo"]["status"] == "ok" and health["zhihu"]["text"] == "需要登录"
    assert row["healthy"] is False and row["alerts_7d"] == 2
    html = analyst.get("/monitors").text
    assert "知乎：需要登录" in html and "微博：正常" in html


def test_monitor_api_create_update_and_errors(app, analyst):
    token = csrf_of(analyst)
    h = {"X-CSRF-Token": token}
    body = {"name": "接口", "query": "接口 OR API", "platforms": ["zhihu"], "every": "1h"}
    r = analyst.post("/api/monitors", json=body, headers=h)
    assert r.status_code == 201 and r.json()["schedule"] == "每 1 小时"
    r = analyst.put("/api/monitors/接口", json={**body, "query": "接口 (", "every": "1h"},
                    headers=h)
    assert r.status_code == 400 and "ends too early" in r.json()["detail"]
    assert analyst.get("/api/monitors/没有").status_code == 404


def test_dashboard_series_counts_volume_sentiment_and_platforms(app, analyst):
    page = analyst.get(f"/monitors/{MONITOR}")
    assert page.status_code == 200 and 'id="chart-volume"' in page.text
    assert "/static/vendor/echarts/echarts.min.js" in page.text
    data = analyst.get(f"/api/monitors/{MONITOR}/series", params={"range": "7d"}).json()
    assert data["bucket"] == "day" and data["range"] == "7d"
    assert data["totals"]["posts"] == 61 and sum(data["posts"]) == 61
    assert len(data["buckets"]) == len(data["labels"]) == len(data["posts"])
    by_label = {s["label"]: sum(s["posts"]) for s in data["sentiment"]}
    assert by_label == {"negative": 16, "neutral": 15, "positive": 15, "unscored": 15}
    assert {p["platform"]: p["posts"] for p in data["platforms"]} == {
        "weibo": 21, "zhihu": 20, "wechat": 20}
    assert data["platforms"][0]["name"] == "微博"
    assert data["totals"]["engagement"] == sum(i + 3 for i in range(60))
    hours = analyst.get(f"/api/monitors/{MONITOR}/series", params={"range": "1d"}).json()
    assert hours["bucket"] == "hour" and sum(hours["posts"]) == 13  # 12 + the hostile one
    starts = [datetime.fromisoformat(b) for b in hours["buckets"]]
    steps = {b - a for a, b in zip(starts, starts[1:], strict=False)}
    assert steps == {timedelta(hours=1)}  # no gaps
    assert 0 in hours["posts"]  # quiet hours are zeros
    assert analyst.get(f"/api/monitors/{MONITOR}/series",
                       params={"range": "bogus"}).status_code == 422


def test_dashboard_zooms_to_where_the_data_is(tmp_path):
    store = MemoryStore()
    fill_store(store, utcnow() - timedelta(days=400))  # nothing in the last 30 days
    with TestClient(make_app(tmp_path, store=store, fill=False)) as client:
        login(client, "vic")
        data = client.get(f"/api/monitors/{MONITOR}/series").json()
    assert data["range"] == "all" and sum(data["posts"]) == 61


def test_the_store_counts_when_it_can(tmp_path):
    calls = []

    class CountingStore(MemoryStore):
        def post_counts(self, *, topic, since, until, bucket, by, tz, **rest):
            calls.append((topic, bucket, by, tz))
            return [{"bucket": utcnow().replace(minute=0, second=0, microsecond=0),
                     "sentiment_label": "negative", "platform": "weibo", "posts": 7,
                     "engagement": 70}]

        def posts(self, **kwargs):  # pragma: no cover - must not be needed
            raise AssertionError("the dashboard counted in Python although the store can")

    store = CountingStore()
    store.save_monitor(Monitor(MONITOR, "品牌A", ["weibo"], every=1800))
    with TestClient(make_app(tmp_path, store=store, fill=False)) as client:
        login(client, "vic")
        data = client.get(f"/api/monitors/{MONITOR}/series", params={"range": "1d"}).json()
    # one GROUP BY gives both the sentiment and the platform views
    assert calls == [(MONITOR, "hour", ("sentiment_label", "platform"), "Asia/Shanghai")]
    assert data["totals"] == {"posts": 7, "engagement": 70, "negative_share": 1.0}
    assert [(p["platform"], p["posts"]) for p in data["platforms"]] == [("weibo", 7)]


class _PostsOnly:
    """A store object without post_counts (a third-party backend): the Python fallback."""

    def __init__(self, store):
        self.posts = store.posts


@pytest.mark.parametrize("bounded", [True, False])
def test_python_fallback_counts_like_the_store(bounded):
    store = MemoryStore()
    now = utcnow()
    fill_store(store, now)
    store.upsert_posts([Post("weibo", "undated", text="无时间", topics=[MONITOR])])
    window = {"since": now - timedelta(days=30), "until": now} if bounded else {
        "since": None, "until": None}
    for bucket in ("day", "hour"):
        for by in (("platform",), ("sentiment_label",)):
            args = {"topic": MONITOR, "bucket": bucket, "by": by, **window}
            ours = post_counts(_PostsOnly(store), **args)
            assert ours == store.post_counts(**args), (bucket, by, bounded)
    rows = post_counts(_PostsOnly(store), topic=MONITOR, bucket="day", by=("platform",),
                       **window)
    local = rows[0]["bucket"].astimezone(ZoneInfo("Asia/Shanghai"))
    assert (local.hour, local.minute) == (0, 0)  # Beijing days
    assert sum(r["posts"] for r in rows) == (61 if bounded else 62)


def test_alerts_inbox_review_and_precision(app, analyst):
    page = analyst.get("/alerts")
    assert "「品牌A」本时段出现 42 条负面帖子，是平常（约 10 条）的 4.2 倍。" in page.text
    assert "红色预警" in page.text and "企业微信 已送达" in page.text
    assert "邮件 未送达（已尝试 2 次）" in page.text
    token = csrf_of(analyst)
    alert_id = f"{MONITOR}:risk_words:1"
    r = analyst.post("/alerts/review", data={"csrf_token": token, "alert_id": alert_id,
                                             "verdict": "false_alarm", "note": "同名品牌",
                                             "back": "/alerts?monitor=x"},
                     follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/alerts?monitor=x"
    stored = next(a for a in app.state.ctx.store.alerts() if a.alert_id == alert_id)
    assert stored.review["verdict"] == "false_alarm" and stored.review["by"] == "ana"
    assert stored.review["note"] == "同名品牌"
    rows = {r["rule"]: r for r in analyst.get("/api/alerts/precision").json()}
    assert rows["risk_words"]["false_alarms"] == 1 and rows["risk_words"]["precision"] == 0.0
    assert rows["volume_spike"]["precision"] == 1.0
    r = analyst.post("/api/alerts/review", headers={"X-CSRF-Token": token},
                     json={"alert_id": alert_id, "verdict": "confirmed", "note": ""})
    assert r.json()["review"]["name"] == "属实"
    assert analyst.post("/api/alerts/review", headers={"X-CSRF-Token": token},
                        json={"alert_id": "nope", "verdict": "confirmed"}).status_code == 404
    assert len(analyst.get("/api/alerts", params={"verdict": "unreviewed"}).json()) == 1
    assert app.state.ctx.accounts.audit_log()[0]["action"] == "alert.review"


def test_the_links_alert_messages_carry_open_the_right_pages(app, analyst):
    from scheduler.notify.card import build_card

    store = app.state.ctx.store
    alerts = store.alerts(monitor=MONITOR)
    card = build_card(alerts, store.get_monitor(MONITOR), now=utcnow(),
                      base_url="https://tf.example.com/")
    assert len(card.links) == 3
    for link in card.links.values():
        page = analyst.get(urlsplit(link).path)
        assert page.status_code == 200, link
    one = analyst.get(f"/alerts/{quote(alerts[0].alert_id, safe='')}")
    assert alerts[0].alert_id in one.text and "提交复核" in one.text
    assert analyst.get(f"/api/alerts/{quote(alerts[0].alert_id, safe='')}").json()[
        "alert_id"] == alerts[0].alert_id
    assert analyst.get("/alerts/nope").status_code == 404
    assert analyst.get(f"/monitors/{MONITOR}/dashboard").status_code == 200  # the alias


def test_post_browser_filters_and_pages_newest_first(analyst):
    first = analyst.get("/api/posts", params={"topic": MONITOR, "range": "7d"}).json()
    assert first["total"] == 61 and first["pages"] == 2 and len(first["posts"]) == 50
    times = [p["created_at"] for p in first["posts"]]
    assert times == sorted(times, reverse=True)
    second = analyst.get("/api/posts", params={"topic": MONITOR, "range": "7d",
                                               "page": 2}).json()
    assert len(second["posts"]) == 11 and second["posts"][0]["created_at"] < times[-1]
    neg = analyst.get("/api/posts", params={"sentiment": "negative", "platform": "weibo",
                                            "range": "7d"}).json()
    assert neg["total"] and all(p["sentiment_label"] == "negative" and p["platform"] == "weibo"
                                for p in neg["posts"])
    evil = next(p for p in first["posts"] if p["post_id"] == "evil")
    assert evil["url"] is None  # a javascript: link is never offered
    today = utcnow().astimezone(ZoneInfo("Asia/Shanghai")).date()
    dated = analyst.get("/api/posts", params={"since": today.isoformat()}).json()
    assert 0 < dated["total"] < 61 and dated["range"] == "custom"
    html = analyst.get("/posts", params={"topic": MONITOR, "range": "7d"}).text
    assert "共 61 条，第 1/2 页" in html and "page=2" in html
    account = f'href="/accounts/weibo/u0?monitor={quote(MONITOR)}"'
    assert account in html  # each author opens the account's page in this monitor
    assert analyst.get(f"/accounts/weibo/u0?monitor={quote(MONITOR)}").status_code == 200


def test_openapi_docs_are_served_offline_behind_login(app, analyst):
    schema = analyst.get("/api/openapi.json").json()
    paths = set(schema["paths"])
    assert {"/api/monitors", "/api/monitors/{name}/series", "/api/alerts", "/api/posts",
            "/api/query/check", "/api/alerts/review"} <= paths
    assert all(p.startswith("/api/") for p in paths)
    docs = analyst.get("/api/docs")
    assert "/api/docs/assets/swagger-ui-bundle.js" in docs.text and "cdn" not in docs.text
    asset = analyst.get("/api/docs/assets/swagger-ui-bundle.js")
    assert asset.status_code == 200 and len(asset.content) > 100_000
    assert analyst.get("/api/docs/assets/../../secret").status_code == 404


def test_admin_page_manages_users_and_shows_the_audit_log(app):
    with TestClient(app) as client:
        login(client, "root")
        token = csrf_of(client)
        r = client.post("/admin/users", data={"csrf_token": token, "username": "new",
                                              "role": "viewer", "password": PASSWORD},
                        follow_redirects=False)
        assert r.status_code == 303
        client.post("/admin/users/new/role", data={"csrf_token": token, "role": "analyst"})
        assert app.state.ctx.accounts.get_user("new").role == "analyst"
        r = client.post("/admin/users/root/role", data={"csrf_token": token, "role": "viewer"})
        assert r.status_code == 400  # no admin demotes themselves by accident
        client.post("/admin/users/new/remove", data={"csrf_token": token})
        assert app.state.ctx.accounts.get_user("new") is None
        html = client.get("/admin").text
        assert "user.remove" in html and "user.role" in html and "login" in html
        assert [u["username"] for u in client.get("/api/users").json()] == ["ana", "root", "vic"]


# -- the commands ----------------------------------------------------------------------------
def _stdin(monkeypatch, text):
    monkeypatch.setattr("sys.stdin", io.StringIO(text))


def test_user_commands(tmp_path, monkeypatch, capsys):
    db = str(tmp_path / "users.db")
    _stdin(monkeypatch, f"{PASSWORD}\n")
    assert main(["user", "add", "li", "--role", "admin", "--token", "--password-stdin",
                 "--web-db", db]) == 0
    token = capsys.readouterr().out.strip()
    accounts = Accounts(db)
    assert accounts.user_for_token(token).username == "li"
    assert accounts.verify("li", PASSWORD).role == "admin"
    assert main(["user", "list", "--web-db", db]) == 0
    out = capsys.readouterr().out
    assert "li  admin" in out and token not in out and "argon2" not in out
    _stdin(monkeypatch, "short\n")
    assert main(["user", "passwd", "li", "--password-stdin", "--web-db", db]) == 2
    assert "too short" in capsys.readouterr().err
    _stdin(monkeypatch, "a much better passphrase\n")
    assert main(["user", "passwd", "li", "--password-stdin", "--web-db", db]) == 0
    assert accounts.verify("li", "a much better passphrase")
    assert main(["user", "role", "li", "viewer", "--web-db", db]) == 0
    assert main(["user", "token", "li", "--revoke", "--web-db", db]) == 0
    assert accounts.user_for_token(token) is None
    assert main(["user", "remove", "li", "--web-db", db]) == 0
    assert main(["user", "remove", "li", "--web-db", db]) == 2
    actions = [e["action"] for e in accounts.audit_log()]
    assert actions[0] == "user.remove" and "user.add" in actions
    assert all(e["actor"].startswith("cli") for e in accounts.audit_log())


def test_user_add_without_a_terminal_says_how(tmp_path, monkeypatch, capsys):
    _stdin(monkeypatch, "")
    assert main(["user", "add", "li", "--web-db", str(tmp_path / "u.db")]) == 2
    assert "--password-stdin" in capsys.readouterr().err


def test_serve_binds_loopback_and_warns_off_loopback_without_https(tmp_path, monkeypatch,
                                                                    capsys):
    calls = []
    monkeypatch.setattr("uvicorn.run", lambda app, **kw: calls.append((app, kw)))
    store = f"sqlite:///{tmp_path / 's.db'}"
    db = str(tmp_path / "web.db")
    assert main(["--store", store, "serve", "--web-db", db]) == 0
    app, kw = calls[-1]
    assert kw["host"] == "127.0.0.1" and kw["port"] == 8600 and kw["proxy_headers"] is True
    err = capsys.readouterr().err
    assert "no users yet" in err and "warning" not in err
    assert main(["--store", store, "serve", "--host", "0.0.0.0", "--web-db", db]) == 0
    assert "plain HTTP" in capsys.readouterr().err
