"""What a signed-in user or a hostile page cannot do: viewers change nothing, analysts cannot
administer, no unsafe request passes without the CSRF token (or from another site), crawled
text is always text, and no secret reaches a page."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from tests.web_support import (
    HOSTILE_MONITOR,
    HOSTILE_TEXT,
    MONITOR,
    PASSWORD,
    csrf_of,
    login,
    make_app,
    route_paths,
)

UNSAFE = ("POST", "PUT", "PATCH", "DELETE")
SECRET_KEY = "wecom-secret-key-0123456789"
MAIL_SECRET = "mail-password-0123456789"


@pytest.fixture
def app(tmp_path, monkeypatch):
    monkeypatch.setenv("WECOM_KEY", SECRET_KEY)
    monkeypatch.setenv("WEIBO_COOKIE", "SUB=weibo-cookie-0123456789")
    return make_app(tmp_path, settings={
        "MAIL_URL": f"smtp://bot:{MAIL_SECRET}@mail.example.com:587",
        "WEIBO_COOKIE": "SUB=weibo-cookie-0123456789"})


def _client(app, user):
    client = TestClient(app)
    assert login(client, user).status_code == 303
    return client


def _unsafe_routes():
    return [(m, p) for m, p in route_paths() if m in UNSAFE and p not in ("/login", "/logout")]


def test_a_viewer_can_read_but_change_nothing(app):
    client = _client(app, "vic")
    token = csrf_of(client)
    assert client.get("/monitors").status_code == 200
    assert client.get(f"/monitors/{MONITOR}").status_code == 200
    assert "新建监测" not in client.get("/monitors").text  # no edit controls shown
    assert "提交复核" not in client.get("/alerts").text
    routes = _unsafe_routes()
    assert len(routes) >= 10
    for method, path in routes:
        r = client.request(method, path, headers={"X-CSRF-Token": token},
                           data={"csrf_token": token} if method == "POST" else None)
        assert r.status_code == 403, (method, path, r.status_code)
    assert app.state.ctx.store.get_monitor(MONITOR).paused is False
    assert all(not a.review for a in app.state.ctx.store.alerts(monitor=MONITOR))
    for page in ("/monitors/new", f"/monitors/{MONITOR}/edit", "/admin", "/api/users"):
        assert client.get(page).status_code == 403, page


def test_an_analyst_cannot_administer(app):
    client = _client(app, "ana")
    token = csrf_of(client)
    assert client.get("/admin").status_code == 403
    assert client.get("/api/audit").status_code == 403
    r = client.post("/admin/users", data={"csrf_token": token, "username": "mallory",
                                          "role": "admin", "password": PASSWORD})
    assert r.status_code == 403 and app.state.ctx.accounts.get_user("mallory") is None


@pytest.mark.parametrize("given", [None, "", "wrong-token"], ids=["missing", "empty", "wrong"])
def test_every_unsafe_request_needs_the_csrf_token(app, given):
    client = _client(app, "root")  # an admin: only the CSRF check stands in the way
    for method, path in _unsafe_routes():
        headers = {} if given is None else {"X-CSRF-Token": given}
        form = {"csrf_token": given} if given is not None and method == "POST" else None
        r = client.request(method, path, headers=headers, data=form)
        assert r.status_code == 403, (method, path, r.status_code)
    assert app.state.ctx.store.get_monitor(MONITOR).paused is False
    # the same requests with the token go through
    token = csrf_of(client)
    r = client.post(f"/monitors/{MONITOR}/pause", data={"csrf_token": token},
                    follow_redirects=False)
    assert r.status_code == 303 and app.state.ctx.store.get_monitor(MONITOR).paused is True
    r = client.post(f"/api/monitors/{MONITOR}/resume", headers={"X-CSRF-Token": token})
    assert r.status_code == 200 and r.json()["paused"] is False


def test_another_sites_origin_is_refused_even_with_the_token(app):
    client = _client(app, "ana")
    token = csrf_of(client)
    r = client.post(f"/monitors/{MONITOR}/pause", data={"csrf_token": token},
                    headers={"Origin": "https://evil.example"})
    assert r.status_code == 403
    r = client.post(f"/monitors/{MONITOR}/pause", data={"csrf_token": token},
                    headers={"Origin": "http://testserver"}, follow_redirects=False)
    assert r.status_code == 303


def test_behind_a_proxy_the_base_url_is_this_site(tmp_path):
    app = make_app(tmp_path, settings={"WEB_BASE_URL": "https://tf.example.com"})
    client = TestClient(app, base_url="https://127.0.0.1:8600")  # the proxy's upstream Host
    login(client, "ana")
    token = csrf_of(client)
    ok = client.post(f"/monitors/{MONITOR}/pause", data={"csrf_token": token},
                     headers={"Origin": "https://tf.example.com"}, follow_redirects=False)
    assert ok.status_code == 303
    bad = client.post(f"/monitors/{MONITOR}/resume", data={"csrf_token": token},
                      headers={"Origin": "https://evil.example"})
    assert bad.status_code == 403


def test_login_form_needs_its_csrf_token(app):
    client = TestClient(app)
    client.get("/login")
    r = client.post("/login", data={"username": "ana", "password": PASSWORD})
    assert r.status_code == 403 and client.cookies.get("tingfeng_session") is None


def _pages(app):
    client = _client(app, "root")
    login(TestClient(app), HOSTILE_TEXT[:60], "x")  # a hostile name lands in the audit log
    pages = ["/monitors", "/alerts", "/alerts?days=0", "/posts", "/posts?range=all",
             f"/monitors/{MONITOR}", f"/monitors/{quote(HOSTILE_MONITOR, safe='')}",
             f"/alerts/{quote(MONITOR + ':risk_words:1', safe='')}",
             f"/alerts/{quote(HOSTILE_MONITOR + ':volume_spike:1', safe='')}",
             f"/monitors/{MONITOR}/edit", f"/monitors/{HOSTILE_MONITOR}/edit", "/admin",
             "/monitors/new", "/api/docs", f"/posts?topic={HOSTILE_MONITOR}",
             f"/monitors/{MONITOR}/kol", f"/accounts/weibo/evil?monitor={MONITOR}",
             f"/monitors/{MONITOR}/cascades", f"/monitors/{MONITOR}/runs",
             f"/monitors/{MONITOR}/export"]
    out = {}
    for page in pages:
        r = client.get(page)
        assert r.status_code == 200, page
        out[page] = r.text
    return out


class _Elements(HTMLParser):
    """Every element a browser would build from a page, with its attributes."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str]]] = []
        self.inline_script = False
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, {k: v or "" for k, v in attrs}))
        self._in_script = tag == "script"

    def handle_endtag(self, tag):
        self._in_script = False

    def handle_data(self, data):
        if self._in_script and data.strip():
            self.inline_script = True


def test_hostile_crawled_text_is_escaped_on_every_page(app):
    pages = _pages(app)
    shown = 0
    for page, html in pages.items():
        parsed = _Elements()
        parsed.feed(html)
        assert not parsed.inline_script, page
        for tag, attrs in parsed.elements:
            assert tag != "img", page  # the hostile <img> never becomes an element
            assert not [a for a in attrs if a.startswith("on")], (page, tag, attrs)
            for name in ("href", "src", "action"):
                assert not attrs.get(name, "").strip().lower().startswith("javascript:"), page
            if tag == "script":  # every script is a file of this site
                assert re.match(r"/(static|api/docs/assets)/", attrs.get("src", "")), page
        shown += "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in html
    assert shown >= 3  # the text is there, as text: on the posts, alerts and admin pages
    assert "&lt;img src=x onerror=window.__pwned=5&gt;" in pages["/monitors"]


def test_the_csp_forbids_inline_script_and_framing(app):
    client = _client(app, "vic")
    r = client.get("/posts")
    csp = r.headers["content-security-policy"]
    script = re.search(r"script-src ([^;]+)", csp).group(1)
    assert script.strip() == "'self'"
    assert "frame-ancestors 'none'" in csp and r.headers["x-frame-options"] == "DENY"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["cache-control"] == "no-store"


def test_links_to_originals_are_http_only_and_open_without_opener(app):
    html = _client(app, "vic").get("/posts?range=all").text
    links = re.findall(r"<a [^>]*>原文</a>", html)
    assert len(links) >= 45  # a page of 50, less the hostile post's (no safe link)
    for link in links:
        assert re.search(r'href="https?://', link), link
        assert 'rel="noopener noreferrer nofollow"' in link


def test_no_secret_reaches_a_page_or_the_api(app):
    pages = _pages(app)
    client = _client(app, "root")
    token = app.state.ctx.accounts.issue_token("ana")
    sid = client.cookies.get("tingfeng_session")
    for path in ("/api/monitors", "/api/alerts", "/api/posts?range=all", "/api/users",
                 "/api/audit", f"/api/monitors/{MONITOR}/series", "/api/openapi.json"):
        pages[path] = client.get(path).text
    for page, text in pages.items():
        for secret in (SECRET_KEY, MAIL_SECRET, "weibo-cookie-0123456789", PASSWORD, token,
                       sid, "$argon2"):
            assert secret not in text, (page, secret[:8])
    assert "wecom://${WECOM_KEY}" in pages[f"/monitors/{MONITOR}/edit"]  # the reference only


def test_a_refused_literal_robot_key_is_not_shown_back(app):
    client = _client(app, "ana")
    token = csrf_of(client)
    r = client.post("/monitors/new", data={
        "csrf_token": token, "name": "新监测", "query": "新品", "platforms": ["weibo"],
        "schedule": "every", "every": "30m",
        "recipients": "pr@example.com\nwecom://693a91f6-literal-key-0000"})
    assert r.status_code == 400
    assert "literal" in r.text and "693a91f6-literal-key-0000" not in r.text
    assert "pr@example.com" in r.text
