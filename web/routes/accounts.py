"""One account's page at ``/accounts/{platform}/{author_id}?monitor=NAME`` and its JSON twin:
profile, figures in the window, posts newest first (paged), the cascades its originals started,
and sentiment over time (drawn in the browser by ECharts). Under a monitor, an account with no
post of that monitor answers 404 like an unknown one; without ``monitor`` the account is shown
over every stored post."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, HTTPException, Query, Request
from starlette.responses import Response

from crawlers.items import utcnow
from web.context import get_ctx
from web.data.accounts import account_detail, account_series
from web.data.series import RANGES, resolve_range
from web.render import render
from web.routes.common import RangeChoice, Viewer, monitor_or_404

__all__ = ["router"]

router = APIRouter()
MonitorName = Annotated[str, Query(alias="monitor", max_length=200,
                                   description="监测名；省略时按全部帖子统计")]
Page = Annotated[int, Query(ge=1, le=100000)]


def _detail(request: Request, platform: str, author_id: str, monitor: str, choice: str,
            page: int, *, series: bool = True) -> dict[str, Any]:
    ctx = get_ctx(request)
    if monitor:
        monitor_or_404(ctx, monitor)
    data = account_detail(ctx.store, monitor or None, (platform, author_id), now=utcnow(),
                          choice=choice, page=page, w=ctx.words, tz=ctx.timezone,
                          series=series)
    if data is None:
        raise HTTPException(404, "该监测下没有这个账号" if monitor else "没有这个账号")
    return data


@router.get("/accounts/{platform}/{author_id}", include_in_schema=False)
def account_page(request: Request, platform: str, author_id: str, user: Viewer,
                 monitor: MonitorName = "", choice: RangeChoice = "auto",
                 page: Page = 1) -> Response:
    data = _detail(request, platform, author_id, monitor, choice, page, series=False)
    choice = resolve_range(choice)
    base = {"monitor": monitor, "range": choice if choice != "auto" else ""}
    query = urlencode({k: v for k, v in base.items() if v})
    ranges = {r: urlencode({k: v for k, v in {"monitor": monitor,
                                              "range": r if r != "auto" else ""}.items() if v})
              for r in ["auto", *RANGES]}
    series = (f"/api/accounts/{quote(platform, safe='')}/{quote(author_id, safe='')}/series"
              + (f"?{query}" if query else ""))
    return render(request, "account.html", account=data, monitor=monitor or None,
                  choice=choice, ranges=ranges, query=query, series_url=series)


@router.get("/api/accounts/{platform}/{author_id}", tags=["KOL"],
            summary="单个账号：资料、时段内数据、帖子（新的在前，分页）、传播链、情感走势",
            description="`monitor` 指定监测时，只统计该监测的帖子；账号在该监测下没有帖子时返回 "
                        "404。传播链与影响力输入按时段内最新的至多 500 条帖子计算。")
def account_api(request: Request, platform: str, author_id: str, user: Viewer,
                monitor: MonitorName = "", choice: RangeChoice = "auto",
                page: Page = 1) -> dict[str, Any]:
    return _detail(request, platform, author_id, monitor, choice, page)


@router.get("/api/accounts/{platform}/{author_id}/series", tags=["KOL"],
            summary="单个账号的情感走势：各时段正面、中性、负面、未评分帖子数与净情感")
def account_series_api(request: Request, platform: str, author_id: str, user: Viewer,
                       monitor: MonitorName = "", choice: RangeChoice = "auto") -> dict[str, Any]:
    ctx = get_ctx(request)
    if monitor:
        monitor_or_404(ctx, monitor)
    data = account_series(ctx.store, monitor or None, (platform, author_id), now=utcnow(),
                          choice=choice, w=ctx.words, tz=ctx.timezone)
    if data is None:
        raise HTTPException(404, "该监测下没有这个账号" if monitor else "没有这个账号")
    return data
