"""``create_app(settings)``: the FastAPI app behind ``tingfeng serve``.

Built from settings at the edge (house style §3.1): the store from ``STORE_URI``, the user
database from ``WEB_DB``, wording from ``LANGUAGE``/``MONITOR_TIMEZONE``; tests pass their own
``store=`` and ``accounts=``. Request path: SecurityHeaders → AuthGate (login or token) →
guard_unsafe (Origin, CSRF, no changes by viewers) → the route's own role check.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.exception_handlers import request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, Response

from crawlers.storage import Store, open_store
from scheduler.i18n import wording_for
from web.accounts import Accounts, web_db_path
from web.auth import AuthGate, guard_unsafe
from web.context import WebContext
from web.render import build_templates, render
from web.routes import routers
from web.security import SecurityHeaders

__all__ = ["STATIC", "create_app"]

STATIC = Path(__file__).with_name("static")
API_DESCRIPTION = """听风的 JSON 接口：网页上看到的每一项数据都来自这里。

登录后的浏览器会话可直接调用（修改类请求需带 `X-CSRF-Token` 头）；脚本用 API 令牌：
`Authorization: Bearer tf_…`（`tingfeng user add NAME --token` 或 `tingfeng user token NAME`
生成，只显示一次）。角色：viewer 只读，analyst 可管理监测与复核预警，admin 另可管理用户。"""


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if request.url.path.startswith("/api/"):
        return JSONResponse({"detail": exc.detail}, exc.status_code, headers=exc.headers)
    return render(request, "error.html", exc.status_code, message=str(exc.detail))


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    if request.url.path.startswith("/api/"):
        return await request_validation_exception_handler(request, exc)
    w = request.app.state.ctx.words
    return render(request, "error.html", 400, message=w("请求参数有误，请返回重试。"))


def create_app(settings: Mapping[str, Any] | None = None, *, store: Store | None = None,
               accounts: Accounts | None = None) -> FastAPI:
    """The web app over ``store`` (default: ``STORE_URI``) with users in ``accounts``
    (default: the ``WEB_DB`` file). Stores and databases it opened itself close at shutdown."""
    if settings is None:
        from crawlers.config import load_settings

        settings = load_settings()
    owned: list[Store | Accounts] = []
    if store is None:
        store = open_store(str(settings.get("STORE_URI")))
        owned.append(store)
    if accounts is None:
        accounts = Accounts(web_db_path(settings))
        owned.append(accounts)
    words = wording_for(settings)
    ctx = WebContext(
        settings=settings, store=store, accounts=accounts, words=words,
        templates=build_templates(words),
        force_https=str(settings.get("WEB_BASE_URL") or "").startswith("https://"),
        max_keywords=int(settings.get("MONITOR_MAX_KEYWORDS") or 16),
        timezone=str(settings.get("MONITOR_TIMEZONE") or "Asia/Shanghai"))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        for resource in owned:
            resource.close()

    app = FastAPI(title="听风 Tingfeng", description=API_DESCRIPTION, version="1",
                  docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan,
                  dependencies=[Depends(guard_unsafe)])
    app.state.ctx = ctx
    for router in routers():
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_middleware(AuthGate, ctx=ctx)
    app.add_middleware(SecurityHeaders, force_https=ctx.force_https)  # outermost: every reply
    return app
