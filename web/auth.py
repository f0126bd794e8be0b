"""Who is asking, and may they: one gate in front of every route, and the checks routes declare.

* :class:`AuthGate` (ASGI middleware) resolves the session cookie, or for ``/api/`` a bearer
  token, before any route runs; without either, only ``PUBLIC_PATHS`` answer (``/api/`` gets
  401, a page a redirect to the login form). Nothing else needs to remember to check.
* :func:`guard_unsafe` (a dependency of the whole app) checks Origin and CSRF on every unsafe
  request and refuses changes by viewers, whatever the route declares.
* :func:`require` gives the per-route role check: ``Depends(require("analyst"))``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import quote

import anyio.to_thread
from fastapi import HTTPException, Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from web.security import (
    CSRF_FIELD,
    CSRF_HEADER,
    LOGIN_CSRF_COOKIE,
    SAFE_METHODS,
    csrf_matches,
    is_https,
    origin_allowed,
    session_cookie_name,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from starlette.types import ASGIApp, Receive, Scope, Send

    from web.accounts import User
    from web.context import WebContext

__all__ = ["PUBLIC_PATHS", "AuthGate", "Principal", "guard_unsafe", "principal", "require"]

PUBLIC_PATHS = frozenset({"/login", "/healthz", "/static/app.css", "/favicon.ico"})
# Unsafe requests a viewer may make (still CSRF-checked): signing in and out.
VIEWER_UNSAFE = frozenset({"/login", "/logout"})


@dataclass(frozen=True)
class Principal:
    """The signed-in user and how: ``via`` is "session" (with its id and CSRF token) or
    "token" (an API token; no CSRF token needed, no ambient credential)."""

    user: User
    via: str
    session_id: str = ""
    csrf: str = ""


def _resolve(ctx: WebContext, scope: Scope, cookies: dict[str, str],
             authorization: str) -> Principal | None | bool:
    """The principal, None for anonymous, or False for a bad bearer token."""
    path = str(scope.get("path", ""))
    if authorization:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not path.startswith("/api/"):
            return False
        user = ctx.accounts.user_for_token(token.strip())
        return Principal(user, "token") if user else False
    sid = cookies.get(session_cookie_name(is_https(scope, ctx.force_https)), "")
    session = ctx.accounts.session(sid) if sid else None
    if session is None:
        return None
    return Principal(session.user, "session", sid, session.csrf)


class AuthGate:
    """ASGI middleware: every request except ``PUBLIC_PATHS`` needs a live session (or, under
    ``/api/``, a bearer token). Puts the :class:`Principal` in ``request.state.principal``."""

    def __init__(self, app: ASGIApp, *, ctx: WebContext) -> None:
        self.app = app
        self.ctx = ctx

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        authorization = request.headers.get("authorization", "")
        found = await anyio.to_thread.run_sync(_resolve, self.ctx, scope, dict(request.cookies),
                                               authorization)
        scope.setdefault("state", {})["principal"] = found or None
        path = request.url.path
        if found or path in PUBLIC_PATHS:
            await self.app(scope, receive, send)
            return
        response: Response
        if path.startswith("/api/") or found is False:
            w = self.ctx.words
            detail = w("API 令牌无效") if found is False else w("需要登录")
            response = JSONResponse({"detail": detail}, status_code=401,
                                    headers={"WWW-Authenticate": "Bearer"})
        elif request.method in SAFE_METHODS:
            target = path + (f"?{request.url.query}" if request.url.query else "")
            response = RedirectResponse(f"/login?next={quote(target, safe='')}", 303)
        else:
            response = JSONResponse({"detail": self.ctx.words("需要登录")}, status_code=401)
        await response(scope, receive, send)


def principal(request: Request) -> Principal | None:
    found: Principal | None = getattr(request.state, "principal", None)
    return found


async def guard_unsafe(request: Request) -> None:
    """App-wide dependency: every POST/PUT/PATCH/DELETE passes Origin and CSRF checks, and
    viewers may change nothing."""
    if request.method in SAFE_METHODS:
        return
    ctx: WebContext = request.app.state.ctx
    w = ctx.words
    if not origin_allowed(request.scope, str(ctx.settings.get("WEB_BASE_URL") or "")):
        raise HTTPException(403, w("拒绝跨站请求"))
    who = principal(request)
    if who is not None and who.via == "token":
        expected = None
    elif who is None or request.url.path == "/login":  # signing in: the pre-login token
        expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    else:
        expected = who.csrf
    if expected is not None:
        given = request.headers.get(CSRF_HEADER)
        content_type = request.headers.get("content-type", "")
        if given is None and content_type.startswith(("application/x-www-form-urlencoded",
                                                      "multipart/form-data")):
            value = (await request.form()).get(CSRF_FIELD)
            given = value if isinstance(value, str) else None
        if not csrf_matches(expected, given):
            raise HTTPException(
                403, w("页面已过期或请求来源不明（CSRF 校验失败）：请刷新页面后重试"))
    if who is not None and not who.user.can("analyst") and request.url.path not in VIEWER_UNSAFE:
        raise HTTPException(403, w("只读账号不能修改"))


def require(role: str) -> Callable[[Request], User]:
    """A dependency returning the signed-in user if their role is at least ``role``."""

    def dependency(request: Request) -> User:
        who, w = principal(request), request.app.state.ctx.words
        if who is None:
            raise HTTPException(401, w("需要登录"))
        if not who.user.can(role):
            raise HTTPException(403, w("没有权限"))
        return who.user

    dependency.__name__ = f"require_{role}"
    return dependency


viewer = require("viewer")
analyst = require("analyst")
admin = require("admin")
