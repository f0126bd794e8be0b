"""A monitor's dashboard at ``/monitors/{name}`` (the address alerts link to; also
``/monitors/{name}/dashboard``, for a monitor called "new"): its header (schedule, runs, crawl
health, recent alerts) rendered on the server, and the charts drawn in the browser by ECharts
from the JSON below.

``series``, ``emotions`` and ``tiers`` are counted by the store and come first; the analysis
panels (``why``: drivers, events, regions; ``measure``: funnel, health, share of voice) read the
window's posts in Python (seconds on a big window, then cached), so the page asks for them one
by one (``panels/{panel}``) after its charts are drawn, and shows each as it arrives."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Request
from starlette.responses import Response

from crawlers.items import utcnow
from web.context import get_ctx
from web.data.alerts import alert_rows
from web.data.monitors import monitor_row
from web.data.panels import MEASURE, PANELS, WHY, panels, tiers
from web.data.series import (
    RANGES,
    dashboard_series,
    emotion_series,
    resolve_range,
    resolve_window,
)
from web.render import render
from web.routes.common import RangeChoice, Viewer, monitor_or_404

__all__ = ["router"]

router = APIRouter()



@router.get("/monitors/{name}", include_in_schema=False)
@router.get("/monitors/{name}/dashboard", include_in_schema=False)
def dashboard_page(request: Request, name: str, user: Viewer,
                   choice: RangeChoice = "auto") -> Response:
    ctx = get_ctx(request)
    m = monitor_or_404(ctx, name)
    now = utcnow()
    row = monitor_row(ctx.store, m, now, ctx.words, ctx.timezone)
    alerts = alert_rows(ctx.store, ctx.words, now=now, monitor=m.name, days=30)[:10]
    api = f"/api/monitors/{quote(m.name, safe='')}"
    query = f"?range={resolve_range(choice)}"
    urls = {part: f"{api}/{part}{query}" for part in ("series", "emotions", "tiers")}
    urls.update((p, f"{api}/panels/{p}{query}") for p in PANELS)
    return render(request, "dashboard.html", monitor=row, alerts=alerts, urls=urls,
                  series_url=urls["series"], ranges=["auto", *RANGES],
                  choice=resolve_range(choice))


@router.get("/api/monitors/{name}/series", tags=["看板"],
            summary="声量、互动与情感随时间的变化，平台分布")
def series(request: Request, name: str, user: Viewer,
           choice: RangeChoice = "auto") -> dict[str, Any]:
    ctx = get_ctx(request)
    monitor_or_404(ctx, name)
    return dashboard_series(ctx.store, name, now=utcnow(), choice=choice, w=ctx.words,
                            tz=ctx.timezone)


@router.get("/api/monitors/{name}/emotions", tags=["看板"],
            summary="情绪曲线：每个时间段各情绪的帖子数（由存储聚合）")
def emotions(request: Request, name: str, user: Viewer,
             choice: RangeChoice = "auto") -> dict[str, Any]:
    ctx = get_ctx(request)
    monitor_or_404(ctx, name)
    win = resolve_window(ctx.store, name, now=utcnow(), choice=choice, tz=ctx.timezone)
    return emotion_series(ctx.store, name, win, w=ctx.words, tz=ctx.timezone)


@router.get("/api/monitors/{name}/tiers", tags=["看板"],
            summary="账号层级分布：各层级的帖子与账号数")
def tier_counts(request: Request, name: str, user: Viewer,
                choice: RangeChoice = "auto") -> dict[str, Any]:
    ctx = get_ctx(request)
    monitor_or_404(ctx, name)
    win = resolve_window(ctx.store, name, now=utcnow(), choice=choice, tz=ctx.timezone)
    return tiers(ctx.store, name, win, w=ctx.words)


@router.get("/api/monitors/{name}/why", tags=["看板"],
            summary="原因分析：负面驱动词、事件、地域",
            description="与 `tingfeng report drivers|events|regions --monitor` 同一时段一致。"
                        "首次计算读取整个时段的帖子（大时段需数秒），之后有缓存。")
def why(request: Request, name: str, user: Viewer,
        choice: RangeChoice = "auto") -> dict[str, Any]:
    return _panels(request, name, WHY, choice)


@router.get("/api/monitors/{name}/measure", tags=["看板"],
            summary="衡量模型：互动漏斗、健康度、声量份额",
            description="与 `tingfeng report funnel|health|compare` 同一时段一致；声量份额为"
                        "本监测与其他每个监测相比。")
def measure(request: Request, name: str, user: Viewer,
            choice: RangeChoice = "auto") -> dict[str, Any]:
    return _panels(request, name, MEASURE, choice)


@router.get("/api/monitors/{name}/panels/{panel}", tags=["看板"],
            summary="单个分析面板：drivers、events、regions、funnel、health 或 share",
            description="看板页面逐个加载面板，先算好的先显示；同时请求的面板共用一次帖子读取。")
def one_panel(request: Request, name: str, panel: str, user: Viewer,
              choice: RangeChoice = "auto") -> dict[str, Any]:
    if panel not in PANELS:
        w = get_ctx(request).words
        raise HTTPException(404, w("没有这个面板"))
    return _panels(request, name, (panel,), choice)


def _panels(request: Request, name: str, names: tuple[str, ...], choice: str
            ) -> dict[str, Any]:
    ctx = get_ctx(request)
    m = monitor_or_404(ctx, name)
    return panels(ctx.store, m, names, now=utcnow(), choice=choice, w=ctx.words,
                  tz=ctx.timezone)
