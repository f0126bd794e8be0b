"""The alerts inbox: filter, read, and mark confirmed or false alarm with a note; each rule's
precision from the verdicts beside it."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from starlette.responses import RedirectResponse, Response

from crawlers.items import utcnow
from web.accounts import User
from web.auth import analyst, viewer
from web.context import WebContext, get_ctx
from web.data.alerts import (
    VERDICTS,
    alert_row,
    alert_rows,
    find_alert,
    precision_rows,
    review_alert,
)
from web.render import render
from web.schemas import ReviewIn
from web.security import safe_next

__all__ = ["router"]

router = APIRouter()
Monitor = Annotated[str, Query(max_length=64)]
Status = Annotated[str, Query(pattern="^(|pending|sent)$")]
Verdict = Annotated[str, Query(pattern="^(|confirmed|false_alarm|unreviewed)$")]
Days = Annotated[int, Query(ge=0, le=3650)]


def _review(ctx: WebContext, user: User, alert_id: str, verdict: str, note: str) -> Any:
    alert = find_alert(ctx.store, alert_id)
    if alert is None:
        raise HTTPException(404, ctx.words("没有这条预警"))
    reviewed = review_alert(ctx.store, alert, verdict=verdict, note=note, by=user.username,
                            now=utcnow())
    ctx.accounts.audit(user.username, "alert.review", alert_id,
                       {"verdict": verdict, "note": note[:500]})
    return reviewed


@router.get("/alerts", include_in_schema=False)
def alerts_page(request: Request, user: Annotated[User, Depends(viewer)], monitor: Monitor = "",
                status: Status = "", verdict: Verdict = "", days: Days = 30) -> Response:
    ctx = get_ctx(request)
    now = utcnow()
    rows = alert_rows(ctx.store, ctx.words, now=now, monitor=monitor, status=status,
                      verdict=verdict, days=days or None)
    filters = {"monitor": monitor, "status": status, "verdict": verdict, "days": days}
    back = "/alerts?" + urlencode(filters)
    return render(request, "alerts.html", rows=rows, filters=filters, back=back,
                  precision=precision_rows(ctx.store, ctx.words, now=now, days=days or 3650),
                  monitors=[m.name for m in ctx.store.monitors()], verdicts=VERDICTS)


@router.get("/alerts/{alert_id}", include_in_schema=False)
def alert_page(request: Request, alert_id: str,
               user: Annotated[User, Depends(viewer)]) -> Response:
    """One alert: the page alert messages link to (``WEB_BASE_URL/alerts/<id>``)."""
    ctx = get_ctx(request)
    alert, w = find_alert(ctx.store, alert_id), ctx.words
    if alert is None:
        raise HTTPException(404, w("没有这条预警"))
    return render(request, "alert.html", alert=alert_row(alert, ctx.words))


@router.post("/alerts/review", include_in_schema=False)
def review_page(request: Request, user: Annotated[User, Depends(analyst)],
                alert_id: Annotated[str, Form(max_length=300)],
                verdict: Annotated[str, Form(pattern="^(confirmed|false_alarm)$")],
                note: Annotated[str, Form(max_length=500)] = "",
                back: Annotated[str, Form(max_length=2000)] = "/alerts") -> Response:
    _review(get_ctx(request), user, alert_id, verdict, note)
    return RedirectResponse(safe_next(back, "/alerts"), 303)


@router.get("/api/alerts", tags=["预警"],
            summary="预警列表（新的在前）：一句话说明、级别、发送状态、复核")
def list_alerts(request: Request, user: Annotated[User, Depends(viewer)], monitor: Monitor = "",
                status: Status = "", verdict: Verdict = "",
                days: Days = 30) -> list[dict[str, Any]]:
    ctx = get_ctx(request)
    return alert_rows(ctx.store, ctx.words, now=utcnow(), monitor=monitor, status=status,
                      verdict=verdict, days=days or None)


@router.post("/api/alerts/review", tags=["预警"], summary="复核预警：属实或误报，附说明")
def api_review(request: Request, body: ReviewIn,
               user: Annotated[User, Depends(analyst)]) -> dict[str, Any]:
    ctx = get_ctx(request)
    return alert_row(_review(ctx, user, body.alert_id, body.verdict, body.note), ctx.words)


@router.get("/api/alerts/precision", tags=["预警"], summary="各规则的准确率（来自复核结论）")
def precision(request: Request, user: Annotated[User, Depends(viewer)],
              days: Days = 30) -> list[dict[str, Any]]:
    ctx = get_ctx(request)
    return precision_rows(ctx.store, ctx.words, now=utcnow(), days=days or 3650)


# After /api/alerts/precision: a path parameter would take that name too.
@router.get("/api/alerts/{alert_id}", tags=["预警"], summary="一条预警")
def get_alert(request: Request, alert_id: str,
              user: Annotated[User, Depends(viewer)]) -> dict[str, Any]:
    ctx = get_ctx(request)
    alert = find_alert(ctx.store, alert_id)
    if alert is None:
        raise HTTPException(404, ctx.words("没有这条预警"))
    return alert_row(alert, ctx.words)
