"""The web app's doors: nothing answers without login except /login and /healthz; sessions are
new at every login (no fixation), end at logout and password change; cookies are HttpOnly,
SameSite=Lax and Secure over HTTPS; repeated failures are throttled; API tokens work for
/api/ only."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.web_support import (
    MONITOR,
    PASSWORD,
    csrf_of,
    login,
    make_accounts,
    make_app,
    route_paths,
)
from web.accounts import Accounts
from web.context import LOGIN_LIMITS, LOGIN_WINDOW


@pytest.fixture
def app(tmp_path):
    return make_app(tmp_path)


@pytest.fixture
def client(app):
    with TestClient(app) as c:
        yield c


def _cookie(response, name="tingfeng_session"):
    for header in response.headers.get_list("set-cookie"):
        if header.startswith(f"{name}="):
            return header
    return None


def test_every_route_refuses_anonymous_requests(app, client):
    public = {"/login", "/healthz"}
    checked = 0
    for method, path in route_paths():
        if path in public:
            continue
        r = client.request(method, path, follow_redirects=False)
        if path.startswith("/api/") or method != "GET":
            assert r.status_code == 401, (method, path, r.status_code)
        else:
            assert r.status_code == 303, (method, path)
            assert r.headers["location"].startswith("/login?next="), path
        assert MONITOR not in r.text, (method, path)  # nothing of the data leaks
        checked += 1
    assert checked > 25
    # static files too (only the login page's stylesheet is public)
    assert client.get("/static/vendor/echarts/echarts.min.js",
                      follow_redirects=False).status_code == 303
    assert client.get("/static/app.js", follow_redirects=False).status_code == 303
    assert client.get("/static/app.css").status_code == 200
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/login").status_code == 200


def test_login_rotates_the_session_id_and_logout_ends_it(app, client):
    client.cookies.set("tingfeng_session", "attacker-chosen-session-id", domain="testserver.local")
    r = login(client, "ana")
    assert r.status_code == 303 and r.headers["location"] == "/monitors"
    first = client.cookies.get("tingfeng_session")
    assert first and first != "attacker-chosen-session-id"
    accounts: Accounts = app.state.ctx.accounts
    assert accounts.session("attacker-chosen-session-id") is None
    assert client.get("/monitors").status_code == 200
    login(client, "ana")  # signing in again while signed in: a new id, the old one ends
    second = client.cookies.get("tingfeng_session")
    assert second != first and accounts.session(first) is None
    token = csrf_of(client)
    assert client.post("/logout", data={"csrf_token": token},
                       follow_redirects=False).status_code == 303
    assert accounts.session(second) is None
    client.cookies.set("tingfeng_session", second, domain="testserver.local")
    assert client.get("/monitors", follow_redirects=False).status_code == 303


def test_session_cookie_is_httponly_and_samesite_lax_and_secure_over_https(app):
    with TestClient(app) as plain:
        header = _cookie(login(plain, "ana"))
    assert "HttpOnly" in header and "SameSite=lax" in header and "Secure" not in header
    with TestClient(app, base_url="https://testserver") as tls:
        r = login(tls, "ana")
        header = _cookie(r, "__Host-tingfeng_session")
        assert header and "Secure" in header and "HttpOnly" in header and "Path=/" in header
        assert tls.get("/monitors").status_code == 200
        assert "max-age" in tls.get("/monitors").headers["strict-transport-security"]


def test_wrong_password_and_unknown_user_get_the_same_answer(client):
    wrong, unknown = login(client, "ana", "not the password"), login(client, "nobody")
    assert wrong.status_code == unknown.status_code == 401
    assert "用户名或密码错误" in wrong.text and "用户名或密码错误" in unknown.text
    assert client.cookies.get("tingfeng_session") is None


def test_login_is_throttled_after_repeated_failures(tmp_path):
    clock = [1_000_000.0]
    accounts = make_accounts(tmp_path / "web.db", clock=lambda: clock[0])
    app = make_app(tmp_path, accounts=accounts)
    with TestClient(app) as client:
        for _ in range(LOGIN_LIMITS["account"]):
            assert login(client, "ana", "guess").status_code == 401
        r = login(client, "ana")  # even the right password waits now
        assert r.status_code == 429
        assert 0 < int(r.headers["retry-after"]) <= LOGIN_WINDOW
        assert "分钟后再试" in r.text and client.cookies.get("tingfeng_session") is None
        assert login(client, "vic").status_code == 303  # other accounts are not locked out
        clock[0] += LOGIN_WINDOW + 1
        assert login(client, "ana").status_code == 303
    actions = [e["action"] for e in accounts.audit_log()]
    assert actions.count("login.failed") == 5 and "login.throttled" in actions


def test_many_accounts_from_one_address_are_throttled_too(tmp_path):
    app = make_app(tmp_path)
    with TestClient(app) as client:
        for i in range(LOGIN_LIMITS["address"]):
            login(client, f"user{i}", "guess")
        assert login(client, "ana").status_code == 429


def test_passwords_are_argon2id_hashes_and_never_stored_plain(tmp_path):
    accounts = Accounts(tmp_path / "web.db")  # the production hasher
    accounts.add_user("li", "admin", PASSWORD)
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("web.db*"))  # with the WAL
    assert PASSWORD.encode() not in raw and b"$argon2id$" in raw
    assert accounts.verify("li", PASSWORD) and accounts.verify("li", "wrong") is None
    assert oct((tmp_path / "web.db").stat().st_mode & 0o777) == "0o600"


def test_password_change_and_removal_end_sessions_and_roles_apply_at_once(app, client):
    login(client, "ana")
    accounts: Accounts = app.state.ctx.accounts
    accounts.set_role("ana", "viewer")
    token = csrf_of(client)
    assert client.post("/monitors/品牌A/pause", data={"csrf_token": token}).status_code == 403
    accounts.set_password("ana", "another long password")
    assert client.get("/monitors", follow_redirects=False).status_code == 303
    login(client, "vic")
    accounts.remove_user("vic")
    assert client.get("/api/me").status_code == 401


def test_api_token_works_for_the_api_only_and_needs_no_csrf(app, client):
    accounts: Accounts = app.state.ctx.accounts
    token = accounts.issue_token("ana")
    assert re.fullmatch(r"tf_[\w-]{40,}", token)
    auth = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/me", headers=auth).json()["username"] == "ana"
    assert client.post(f"/api/monitors/{MONITOR}/pause", headers=auth).json()["paused"] is True
    assert client.get("/monitors", headers=auth, follow_redirects=False).status_code == 401
    bad = {"Authorization": "Bearer tf_not-a-token"}
    assert client.get("/api/me", headers=bad).status_code == 401
    viewer = {"Authorization": f"Bearer {accounts.issue_token('vic')}"}
    assert client.post(f"/api/monitors/{MONITOR}/resume", headers=viewer).status_code == 403
    files = [p for p in Path(accounts.path).parent.iterdir() if p.name.startswith("web.db")]
    assert files and all(token.encode() not in p.read_bytes() for p in files)  # a digest only
    accounts.revoke_token("ana")
    assert client.get("/api/me", headers=auth).status_code == 401


def test_login_redirect_target_stays_on_this_site(client):
    page = client.get("/login", params={"next": "//evil.example/x"})
    assert 'name="next" value="/monitors"' in page.text
    page = client.get("/login", params={"next": "/alerts?monitor=x"})
    assert 'value="/alerts?monitor=x"' in page.text
