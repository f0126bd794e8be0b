"""Monitors: the list, the create/edit form (its query checked live through
``/api/query/check``), pause and resume, and their JSON API. Changes go through
``scheduler.monitors.add_monitor`` (the same validation as ``tingfeng monitor add``) and into
the audit log."""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from starlette.responses import RedirectResponse, Response

from crawlers.errors import ConfigError
from crawlers.items import Monitor, utcnow
from scheduler.monitors import PLATFORMS, add_monitor, format_every
from scheduler.notify.channels import check_recipient
from web.accounts import User
from web.auth import analyst, viewer
from web.context import WebContext, get_ctx
from web.data.monitors import (
    build_monitor,
    monitor_row,
    monitor_rows,
    query_check,
    split_recipients,
)
from web.render import render
from web.routes.common import monitor_or_404
from web.schemas import MonitorIn
from web.security import safe_next

__all__ = ["router"]

router = APIRouter()
_FIELDS = ("query", "platforms", "every", "cron", "recipients", "thresholds", "paused")



def _changes(before: Monitor | None, after: Monitor) -> dict[str, Any]:
    if before is None:
        return {f: getattr(after, f) for f in _FIELDS}
    return {f: [getattr(before, f), getattr(after, f)] for f in _FIELDS
            if getattr(before, f) != getattr(after, f)}


def _save(ctx: WebContext, user: User, existing: Monitor | None, draft: Monitor) -> Monitor:
    """Validate and store; audited. :raises ConfigError: naming the field to fix."""
    saved = add_monitor(ctx.store, draft, now=utcnow(), replace=existing is not None,
                        max_keywords=ctx.max_keywords, timezone=ctx.timezone)
    ctx.accounts.audit(user.username, "monitor.edit" if existing else "monitor.create",
                       saved.name, _changes(existing, saved))
    return saved


def _set_paused(ctx: WebContext, user: User, name: str, paused: bool) -> Monitor:
    m = dataclasses.replace(monitor_or_404(ctx, name), paused=paused, updated_at=utcnow())
    ctx.store.save_monitor(m)
    ctx.accounts.audit(user.username, "monitor.pause" if paused else "monitor.resume", name)
    return m


def _form_values(m: Monitor | None) -> dict[str, Any]:
    if m is None:
        return {"name": "", "query": "", "platforms": [], "schedule": "every", "every": "30m",
                "cron": "", "recipients": "", "quiet_hours": "", "paused": False}
    return {"name": m.name, "query": m.query, "platforms": list(m.platforms),
            "schedule": "cron" if m.cron else "every",
            "every": format_every(m.every) if m.every else "", "cron": m.cron or "",
            "recipients": "\n".join(m.recipients),
            "quiet_hours": str(m.thresholds.get("ALERT_QUIET_HOURS") or ""), "paused": m.paused}


def _shown_recipients(recipients: list[str]) -> str:
    """Recipients to show again after an error: a refused one may hold a literal secret,
    and no page ever shows one, so it is dropped (the error says how to write it)."""
    shown = []
    for r in recipients:
        try:
            shown.append(check_recipient(r))
        except ConfigError:
            continue
    return "\n".join(shown)


# -- pages -----------------------------------------------------------------------------------
@router.get("/monitors", include_in_schema=False)
def monitors_page(request: Request, user: Annotated[User, Depends(viewer)]) -> Response:
    ctx = get_ctx(request)
    rows = monitor_rows(ctx.store, utcnow(), ctx.words, ctx.timezone)
    return render(request, "monitors.html", rows=rows)


def _form_page(request: Request, existing: Monitor | None, values: dict[str, Any],
               error: str | None = None, status: int = 200) -> Response:
    return render(request, "monitor_form.html", status, form=values, editing=existing is not None,
                  choices=PLATFORMS, error=error)


@router.get("/monitors/new", include_in_schema=False)
def new_monitor(request: Request, user: Annotated[User, Depends(analyst)]) -> Response:
    return _form_page(request, None, _form_values(None))


@router.get("/monitors/{name}/edit", include_in_schema=False)
def edit_monitor(request: Request, name: str,
                 user: Annotated[User, Depends(analyst)]) -> Response:
    m = monitor_or_404(get_ctx(request), name)
    return _form_page(request, m, _form_values(m))


def _submit(request: Request, user: User, existing: Monitor | None,
            form: dict[str, Any]) -> Response:
    ctx = get_ctx(request)
    recipients = split_recipients(form["recipients"])
    name = existing.name if existing else form["name"].strip()
    try:
        draft = build_monitor(
            existing, name=name, query=form["query"], platforms=form["platforms"],
            every=form["every"] if form["schedule"] == "every" else None,
            cron=form["cron"] if form["schedule"] == "cron" else None,
            recipients=recipients, quiet_hours=form["quiet_hours"], paused=form["paused"])
        saved = _save(ctx, user, existing, draft)
    except ConfigError as exc:
        values = {**form, "name": name, "recipients": _shown_recipients(recipients)}
        return _form_page(request, existing, values, str(exc), 400)
    return RedirectResponse(f"/monitors/{quote(saved.name, safe='')}", 303)


FormText = Annotated[str, Form(max_length=4000)]


@router.post("/monitors/new", include_in_schema=False)
def create_monitor(request: Request, user: Annotated[User, Depends(analyst)],
                   name: FormText = "", query: FormText = "",
                   platforms: Annotated[list[str] | None, Form()] = None,
                   schedule: FormText = "every", every: FormText = "", cron: FormText = "",
                   recipients: FormText = "", quiet_hours: FormText = "",
                   paused: FormText = "") -> Response:
    return _submit(request, user, None, {
        "name": name, "query": query, "platforms": platforms or [], "schedule": schedule,
        "every": every, "cron": cron, "recipients": recipients, "quiet_hours": quiet_hours,
        "paused": bool(paused)})


@router.post("/monitors/{name}/edit", include_in_schema=False)
def update_monitor(request: Request, name: str, user: Annotated[User, Depends(analyst)],
                   query: FormText = "",
                   platforms: Annotated[list[str] | None, Form()] = None,
                   schedule: FormText = "every", every: FormText = "", cron: FormText = "",
                   recipients: FormText = "", quiet_hours: FormText = "",
                   paused: FormText = "") -> Response:
    existing = monitor_or_404(get_ctx(request), name)
    return _submit(request, user, existing, {
        "name": name, "query": query, "platforms": platforms or [], "schedule": schedule,
        "every": every, "cron": cron, "recipients": recipients, "quiet_hours": quiet_hours,
        "paused": bool(paused)})


@router.post("/monitors/{name}/pause", include_in_schema=False)
def pause_page(request: Request, name: str, user: Annotated[User, Depends(analyst)],
               back: FormText = "/monitors") -> Response:
    _set_paused(get_ctx(request), user, name, True)
    return RedirectResponse(safe_next(back), 303)


@router.post("/monitors/{name}/resume", include_in_schema=False)
def resume_page(request: Request, name: str, user: Annotated[User, Depends(analyst)],
                back: FormText = "/monitors") -> Response:
    _set_paused(get_ctx(request), user, name, False)
    return RedirectResponse(safe_next(back), 303)


# -- API -------------------------------------------------------------------------------------
@router.get("/api/query/check", tags=["监测"], summary="检查查询语句（出错时给出位置）")
def check_query(request: Request, user: Annotated[User, Depends(viewer)],
                q: Annotated[str, Query(max_length=8000)] = "") -> dict[str, Any]:
    return query_check(q, get_ctx(request).max_keywords)


@router.get("/api/monitors", tags=["监测"], summary="全部监测：状态、计划、上次运行、采集健康")
def list_monitors(request: Request,
                  user: Annotated[User, Depends(viewer)]) -> list[dict[str, Any]]:
    ctx = get_ctx(request)
    return monitor_rows(ctx.store, utcnow(), ctx.words, ctx.timezone)


@router.get("/api/monitors/{name}", tags=["监测"], summary="一个监测")
def get_monitor(request: Request, name: str,
                user: Annotated[User, Depends(viewer)]) -> dict[str, Any]:
    ctx = get_ctx(request)
    return monitor_row(ctx.store, monitor_or_404(ctx, name), utcnow(), ctx.words, ctx.timezone)


def _api_save(request: Request, user: User, existing: Monitor | None,
              body: MonitorIn) -> dict[str, Any]:
    ctx = get_ctx(request)
    try:
        draft = build_monitor(existing, name=existing.name if existing else body.name,
                              query=body.query, platforms=body.platforms, every=body.every,
                              cron=body.cron, recipients=split_recipients(body.recipients),
                              quiet_hours=body.quiet_hours, paused=body.paused)
        saved = _save(ctx, user, existing, draft)
    except ConfigError as exc:
        raise HTTPException(400, str(exc)) from None
    return monitor_row(ctx.store, saved, utcnow(), ctx.words, ctx.timezone)


@router.post("/api/monitors", tags=["监测"], summary="新建监测", status_code=201)
def api_create(request: Request, body: MonitorIn,
               user: Annotated[User, Depends(analyst)]) -> dict[str, Any]:
    return _api_save(request, user, None, body)


@router.put("/api/monitors/{name}", tags=["监测"], summary="修改监测（名称不变）")
def api_update(request: Request, name: str, body: MonitorIn,
               user: Annotated[User, Depends(analyst)]) -> dict[str, Any]:
    return _api_save(request, user, monitor_or_404(get_ctx(request), name), body)


@router.post("/api/monitors/{name}/pause", tags=["监测"], summary="暂停监测")
def api_pause(request: Request, name: str,
              user: Annotated[User, Depends(analyst)]) -> dict[str, Any]:
    ctx = get_ctx(request)
    return monitor_row(ctx.store, _set_paused(ctx, user, name, True), utcnow(), ctx.words,
                       ctx.timezone)


@router.post("/api/monitors/{name}/resume", tags=["监测"], summary="恢复监测")
def api_resume(request: Request, name: str,
               user: Annotated[User, Depends(analyst)]) -> dict[str, Any]:
    ctx = get_ctx(request)
    return monitor_row(ctx.store, _set_paused(ctx, user, name, False), utcnow(), ctx.words,
                       ctx.timezone)
