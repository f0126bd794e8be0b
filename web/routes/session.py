"""Signing in and out, the health check, and ``/api/me``.

Login: a throttle per account+address and per address (LOGIN_LIMITS in LOGIN_WINDOW; 429 with
Retry-After, checked before the password so a locked-out guess learns nothing), the same answer
for an unknown user as for a wrong password, and a brand-new session id on success (any session
the browser brought is ended: no fixation).
"""

from __future__ import annotations

import math
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from starlette.responses import RedirectResponse, Response

from web.accounts import User
from web.auth import principal, viewer
from web.context import LOGIN_LIMITS, LOGIN_WINDOW, SESSION_SECONDS, get_ctx
from web.render import render
from web.security import (
    LOGIN_CSRF_COOKIE,
    is_https,
    login_csrf,
    safe_next,
    session_cookie_name,
    set_cookie,
)

__all__ = ["router"]

router = APIRouter()


@router.api_route("/healthz", methods=["GET", "HEAD"], include_in_schema=False)
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/", include_in_schema=False)
def home() -> Response:
    return RedirectResponse("/monitors", 303)


def _login_page(request: Request, status: int = 200, *, error: str | None = None,
                username: str = "", target: str = "/monitors") -> Response:
    token, new = login_csrf(request)
    response = render(request, "login.html", status, csrf_token=token, error=error,
                      username=username, next=target)
    if new:
        set_cookie(response, LOGIN_CSRF_COOKIE, token, samesite="strict", max_age=3600,
                   https=is_https(request, get_ctx(request).force_https))
    return response


@router.get("/login", include_in_schema=False)
def login_form(request: Request,
               target: Annotated[str, Query(alias="next")] = "/monitors") -> Response:
    # Shown even to someone signed in: signing in again switches user (with a new session).
    return _login_page(request, target=safe_next(target))


@router.post("/login", include_in_schema=False)
def login(request: Request, username: Annotated[str, Form(max_length=64)] = "",
          password: Annotated[str, Form(max_length=1024)] = "",
          target: Annotated[str, Form(alias="next")] = "/monitors") -> Response:
    ctx = get_ctx(request)
    w, target = ctx.words, safe_next(target)
    address = request.client.host if request.client else "unknown"
    account_key = f"account:{username.strip().casefold()}|{address}"
    limits = {account_key: LOGIN_LIMITS["account"], f"address:{address}": LOGIN_LIMITS["address"]}
    wait = ctx.accounts.retry_after(limits, LOGIN_WINDOW)
    if wait > 0:
        ctx.accounts.audit(username.strip() or "?", "login.throttled", address)
        response = _login_page(request, 429, username=username, target=target, error=w(
            "登录失败次数过多，请 {minutes} 分钟后再试。", minutes=math.ceil(wait / 60)))
        response.headers["Retry-After"] = str(math.ceil(wait))
        return response
    user = ctx.accounts.verify(username.strip(), password)
    if user is None:
        ctx.accounts.record_failure(*limits)
        ctx.accounts.audit(username.strip() or "?", "login.failed", address)
        return _login_page(request, 401, username=username, target=target,
                           error=w("用户名或密码错误。"))
    https = is_https(request, ctx.force_https)
    old = request.cookies.get(session_cookie_name(https))
    if old:
        ctx.accounts.delete_session(old)
    ctx.accounts.clear_failures(account_key)
    sid, _ = ctx.accounts.create_session(user.username, SESSION_SECONDS)
    ctx.accounts.audit(user.username, "login", address)
    response = RedirectResponse(target, 303)
    set_cookie(response, session_cookie_name(https), sid, https=https, max_age=SESSION_SECONDS)
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/")
    return response


@router.post("/logout", include_in_schema=False)
def logout(request: Request, user: Annotated[User, Depends(viewer)]) -> Response:
    ctx = get_ctx(request)
    who = principal(request)
    if who is not None and who.session_id:
        ctx.accounts.delete_session(who.session_id)
    ctx.accounts.audit(user.username, "logout")
    response = RedirectResponse("/login", 303)
    response.delete_cookie(session_cookie_name(is_https(request, ctx.force_https)), path="/")
    return response


@router.get("/api/me", tags=["账号"], summary="当前用户")
def me(user: Annotated[User, Depends(viewer)]) -> dict[str, Any]:
    return {"username": user.username, "role": user.role, "has_token": user.has_token}
