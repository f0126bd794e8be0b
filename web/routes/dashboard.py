"""A monitor's dashboard at ``/monitors/{name}`` (the address alerts link to; also
``/monitors/{name}/dashboard``, for a monitor called "new"): its header (schedule, runs, crawl
health, recent alerts) rendered on the server, and the charts drawn in the browser by ECharts
from ``/api/monitors/{name}/series``."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from starlette.responses import Response

from crawlers.items import utcnow
from web.accounts import User
from web.auth import viewer
from web.context import get_ctx
from web.data.alerts import alert_rows
from web.data.monitors import monitor_row
from web.data.series import RANGES, dashboard_series, resolve_range
from web.render import render

__all__ = ["router"]

router = APIRouter()
RangeChoice = Annotated[str, Query(alias="range", pattern="^(auto|" + "|".join(RANGES) + ")$")]


@router.get("/monitors/{name}", include_in_schema=False)
@router.get("/monitors/{name}/dashboard", include_in_schema=False)
def dashboard_page(request: Request, name: str, user: Annotated[User, Depends(viewer)],
                   choice: RangeChoice = "auto") -> Response:
    ctx = get_ctx(request)
    m = ctx.store.get_monitor(name)
    if m is None:
        raise HTTPException(404, "没有这个监测")
    now = utcnow()
    row = monitor_row(ctx.store, m, now, ctx.words, ctx.timezone)
    alerts = alert_rows(ctx.store, ctx.words, now=now, monitor=m.name, days=30)[:10]
    series_url = f"/api/monitors/{quote(m.name, safe='')}/series?range={resolve_range(choice)}"
    return render(request, "dashboard.html", monitor=row, alerts=alerts, series_url=series_url,
                  ranges=["auto", *RANGES], choice=resolve_range(choice))


@router.get("/api/monitors/{name}/series", tags=["看板"],
            summary="声量、互动与情感随时间的变化，平台分布")
def series(request: Request, name: str, user: Annotated[User, Depends(viewer)],
           choice: RangeChoice = "auto") -> dict[str, Any]:
    ctx = get_ctx(request)
    if ctx.store.get_monitor(name) is None:
        raise HTTPException(404, "没有这个监测")
    return dashboard_series(ctx.store, name, now=utcnow(), choice=choice, w=ctx.words,
                            tz=ctx.timezone)
