"""Administration (admin role only): users (add, change role, remove) and the audit log.
Passwords are set by the person they belong to or by ``tingfeng user passwd``; no page shows a
hash or a token (a token is shown once, by ``tingfeng user add --token``)."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from starlette.responses import RedirectResponse, Response

from web.accounts import ROLES, AccountError, User
from web.auth import admin
from web.context import get_ctx
from web.render import render

__all__ = ["router"]

router = APIRouter()
Role = Annotated[str, Form(pattern="^(" + "|".join(ROLES) + ")$")]


def _user_row(u: User) -> dict[str, Any]:
    return {"username": u.username, "role": u.role, "created_at": u.created_at.isoformat(),
            "last_login_at": u.last_login_at.isoformat() if u.last_login_at else None,
            "has_token": u.has_token}


def _audit_rows(request: Request, limit: int = 200) -> list[dict[str, Any]]:
    ctx = get_ctx(request)
    return [{**e, "at": e["at"].isoformat() if e["at"] else None, "when": ctx.words.time(e["at"]),
             "detail_text": json.dumps(e["detail"], ensure_ascii=False, default=str)}
            for e in ctx.accounts.audit_log(limit)]


def _page(request: Request, error: str | None = None, status: int = 200) -> Response:
    ctx = get_ctx(request)
    users = [{**_user_row(u), "last_login": ctx.words.time(u.last_login_at)}
             for u in ctx.accounts.users()]
    return render(request, "admin.html", status, users=users, audit=_audit_rows(request),
                  roles=ROLES, error=error)


@router.get("/admin", include_in_schema=False)
def admin_page(request: Request, user: Annotated[User, Depends(admin)]) -> Response:
    return _page(request)


@router.post("/admin/users", include_in_schema=False)
def add_user(request: Request, user: Annotated[User, Depends(admin)],
             username: Annotated[str, Form(max_length=64)], role: Role,
             password: Annotated[str, Form(max_length=1024)]) -> Response:
    ctx = get_ctx(request)
    try:
        ctx.accounts.add_user(username.strip(), role, password)
    except AccountError as exc:
        return _page(request, str(exc), 400)
    ctx.accounts.audit(user.username, "user.add", username.strip(), {"role": role})
    return RedirectResponse("/admin", 303)


@router.post("/admin/users/{name}/role", include_in_schema=False)
def set_role(request: Request, name: str, user: Annotated[User, Depends(admin)],
             role: Role) -> Response:
    ctx = get_ctx(request)
    w = ctx.words
    if name == user.username and role != "admin":
        return _page(request, w("不能降低自己的权限：请另一位管理员操作。"), 400)
    try:
        ctx.accounts.set_role(name, role)
    except AccountError as exc:
        raise HTTPException(404, str(exc)) from None
    ctx.accounts.audit(user.username, "user.role", name, {"role": role})
    return RedirectResponse("/admin", 303)


@router.post("/admin/users/{name}/remove", include_in_schema=False)
def remove_user(request: Request, name: str, user: Annotated[User, Depends(admin)]) -> Response:
    ctx = get_ctx(request)
    w = ctx.words
    if name == user.username:
        return _page(request, w("不能删除自己的账号。"), 400)
    if not ctx.accounts.remove_user(name):
        raise HTTPException(404, w("没有这个用户"))
    ctx.accounts.audit(user.username, "user.remove", name)
    return RedirectResponse("/admin", 303)


@router.get("/api/users", tags=["管理"], summary="用户（仅管理员）")
def list_users(request: Request, user: Annotated[User, Depends(admin)]) -> list[dict[str, Any]]:
    return [_user_row(u) for u in get_ctx(request).accounts.users()]


@router.get("/api/audit", tags=["管理"], summary="审计日志，新的在前（仅管理员）")
def audit_log(request: Request, user: Annotated[User, Depends(admin)]) -> list[dict[str, Any]]:
    return _audit_rows(request)
