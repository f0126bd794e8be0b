"""Run now and run history: ``POST /monitors/{name}/run`` starts one background
``tingfeng monitor run`` (web.data.runs: never two at once per monitor), and
``/monitors/{name}/runs`` lists the monitor's runs with each platform's crawl status."""

from __future__ import annotations

import threading
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from web.accounts import User
from web.auth import analyst, viewer
from web.context import get_ctx
from web.data.runs import RunHandle, RunRefused, RunRegistry, run_history
from web.render import render
from web.routes.common import monitor_or_404

__all__ = ["registry", "router"]

router = APIRouter()
Page = Annotated[int, Query(ge=1, le=100000)]
Days = Annotated[int, Query(ge=0, le=3650)]
Note = Annotated[str, Query(pattern="^(|started|busy)$")]
_LOCK = threading.Lock()


def registry(request: Request) -> RunRegistry:
    """The app's run registry, made on first use (tests put their own in ``app.state.runs``)."""
    state = request.app.state
    with _LOCK:
        found: RunRegistry | None = getattr(state, "runs", None)
        if found is None:
            found = state.runs = RunRegistry.for_settings(get_ctx(request).settings)
    return found



def _start(request: Request, user: User, name: str) -> tuple[RunHandle, bool]:
    ctx = get_ctx(request)
    m = monitor_or_404(ctx, name)
    handle, started = registry(request).start(m.name, user.username)
    if started:
        ctx.accounts.audit(user.username, "monitor.run", m.name, {"run_id": handle.run_id})
    return handle, started


def _history(request: Request, name: str, page: int, days: int) -> dict[str, Any]:
    ctx = get_ctx(request)
    m = monitor_or_404(ctx, name)
    manual = registry(request).runs(m.name)
    data = run_history(ctx.store, m.name, ctx.words, page=page, days=days or None, manual=manual)
    running = next((h for h in manual if h.running), None)
    data["running"] = running.shown(ctx.words) if running else None
    data["last_manual"] = manual[0].shown(ctx.words) if manual else None
    return data


def _page(request: Request, name: str, page: int, days: int, note: str = "",
          error: str | None = None, status: int = 200) -> Response:
    data = _history(request, name, page, days)
    reg = registry(request)
    last = data["last_manual"]
    tail = reg.log_tail(last["run_id"]) if last else []
    return render(request, "runs.html", status, history=data, note=note, error=error,
                  log_tail=tail, monitor_url=f"/monitors/{quote(data['monitor'], safe='')}")


@router.get("/monitors/{name}/runs", include_in_schema=False)
def runs_page(request: Request, name: str, user: Annotated[User, Depends(viewer)],
              page: Page = 1, days: Days = 30, note: Note = "") -> Response:
    return _page(request, name, page, days, note)


@router.post("/monitors/{name}/run", include_in_schema=False)
def run_now_page(request: Request, name: str,
                 user: Annotated[User, Depends(analyst)]) -> Response:
    try:
        _handle, started = _start(request, user, name)
    except RunRefused as exc:
        return _page(request, name, 1, 30, error=get_ctx(request).words(str(exc)), status=409)
    note = "started" if started else "busy"
    return RedirectResponse(f"/monitors/{quote(name, safe='')}/runs?note={note}", 303)


@router.post("/api/monitors/{name}/run", tags=["监测"], status_code=202,
             summary="立即运行一次监测（后台进行；同一监测同时只运行一个）",
             responses={409: {"description": "这个监测已在运行中，未重复启动"}})
def api_run_now(request: Request, name: str,
                user: Annotated[User, Depends(analyst)]) -> Response:
    w = get_ctx(request).words
    try:
        handle, started = _start(request, user, name)
    except RunRefused as exc:
        raise HTTPException(409, w(str(exc))) from None
    body = {"started": started, "run": handle.shown(w),
            "poll": f"/api/runs/{handle.run_id}",
            "history": f"/api/monitors/{quote(handle.monitor, safe='')}/runs"}
    if not started:
        body["detail"] = w("这个监测正在运行中，没有重复启动")
    return JSONResponse(body, status_code=202 if started else 409)


@router.get("/api/monitors/{name}/runs", tags=["监测"],
            summary="监测的运行记录（新的在前，分页）：每次运行各平台的采集状态，及正在进行的运行")
def api_runs(request: Request, name: str, user: Annotated[User, Depends(viewer)],
             page: Page = 1, days: Days = 30) -> dict[str, Any]:
    return _history(request, name, page, days)


@router.get("/api/runs/{run_id}", tags=["监测"], summary="网页发起的一次运行：状态与退出码")
def api_run(request: Request, run_id: str,
            user: Annotated[User, Depends(viewer)]) -> dict[str, Any]:
    handle, w = registry(request).get(run_id), get_ctx(request).words
    if handle is None:
        raise HTTPException(404, w("没有这次运行"))
    return handle.shown(get_ctx(request).words)
