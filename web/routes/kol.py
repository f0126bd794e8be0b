"""A monitor's KOL table at ``/monitors/{name}/kol`` (sorted, filtered by platform, tier and net
sentiment, paged), its JSON twin, and the whole filtered table as CSV or xlsx (at most
EXPORT_CAP rows, the cut stated in the file). Reading only: viewers may see and download."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from crawlers.items import Monitor, utcnow
from scheduler.monitors import PLATFORMS
from web.context import WebContext, get_ctx
from web.data.kol import (
    EXPORT_CAP,
    ORDERS,
    SENTIMENT_CHOICES,
    TIER_CHOICES,
    KolQuery,
    kol_page,
    kol_rows,
)
from web.data.series import RANGES, Window, resolve_range, resolve_window
from web.exports import FORMATS, KINDS, content_disposition, filename
from web.render import render
from web.routes.common import RangeChoice, Viewer, monitor_or_404

__all__ = ["router"]

router = APIRouter()
Order = Annotated[str, Query(pattern="^(" + "|".join(ORDERS) + ")$",
                             description="排序列：" + "、".join(ORDERS))]
Desc = Annotated[int, Query(ge=0, le=1, description="1: 从大到小（默认）；0: 从小到大")]
Platform = Annotated[str, Query(pattern="^(|" + "|".join(PLATFORMS) + ")$")]
Tier = Annotated[str, Query(pattern="^(|" + "|".join(TIER_CHOICES) + ")$",
                            description="账号层级；unknown 为未知")]
Sentiment = Annotated[str, Query(pattern="^(|" + "|".join(SENTIMENT_CHOICES) + ")$",
                                 description="净情感类别：negative 负面多于正面，positive 正面多于"
                                             "负面，neutral 持平，unscored 未评分")]
Page = Annotated[int, Query(ge=1, le=100000)]
CSV_TYPE = "text/csv; charset=utf-8"



def _query(order: str, desc: int, platform: str, tier: str, sentiment: str,
           page: int = 1) -> KolQuery:
    return KolQuery(order=order, descending=bool(desc), platform=platform or None,
                    tier=tier or None, sentiment=sentiment or None, page=page)


def _window(ctx: WebContext, m: Monitor, choice: str) -> Window:
    return resolve_window(ctx.store, m.name, now=utcnow(), choice=choice, tz=ctx.timezone)


def _table(request: Request, name: str, choice: str, q: KolQuery) -> dict[str, Any]:
    ctx = get_ctx(request)
    m = monitor_or_404(ctx, name)
    return kol_page(ctx.store, m.name, _window(ctx, m, choice), q, w=ctx.words,
                    choice=resolve_range(choice))


@router.get("/monitors/{name}/kol", include_in_schema=False)
def kol_table_page(request: Request, name: str, user: Viewer, choice: RangeChoice = "auto",
                   order: Order = "posts", desc: Desc = 1, platform: Platform = "",
                   tier: Tier = "", sentiment: Sentiment = "", page: Page = 1) -> Response:
    q = _query(order, desc, platform, tier, sentiment, page)
    data = _table(request, name, choice, q)
    choice = resolve_range(choice)
    return render(request, "kol.html", monitor=data["topic"], table=data, q=q,
                  choice=choice, ranges=["auto", *RANGES], orders=ORDERS,
                  platforms=PLATFORMS, tiers=TIER_CHOICES, sentiments=SENTIMENT_CHOICES,
                  range_param=("range=" + choice + "&") if choice != "auto" else "",
                  cap=EXPORT_CAP)


@router.get("/api/monitors/{name}/kol", tags=["KOL"],
            summary="KOL 账号表：时段内发帖的账号，可排序、按平台/层级/净情感筛选、分页",
            description="每行：账号名、平台、层级、粉丝、认证、帖子、互动、正/中/负面帖子数、"
                        "净情感 (正−负)/(正+负)、首次与最近发帖时间（北京时间）、账号页与主页链接。"
                        "`total` 为符合条件的账号总数。")
def kol_table_api(request: Request, name: str, user: Viewer, choice: RangeChoice = "auto",
                  order: Order = "posts", desc: Desc = 1, platform: Platform = "",
                  tier: Tier = "", sentiment: Sentiment = "", page: Page = 1) -> dict[str, Any]:
    data = _table(request, name, choice, _query(order, desc, platform, tier, sentiment, page))
    for row in data["rows"]:
        for key in ("first_at", "last_at"):
            row[key] = row[key].isoformat() if row[key] else None
    return data


def _download(request: Request, name: str, choice: str, q: KolQuery, fmt: str) -> Response:
    """The page's table, unpaged (the same query string as the page), as a file: downloads
    live beside the page, like the page's own links, so they stay out of the /api/ schema."""
    from web.exports.kol_table import kol_csv, kol_xlsx

    ctx = get_ctx(request)
    m = monitor_or_404(ctx, name)
    rows, total = kol_rows(ctx.store, m.name, _window(ctx, m, choice), q, w=ctx.words,
                           choice=resolve_range(choice))
    now = utcnow()
    name_, fallback = filename(m.name, "kol", now, fmt, ctx.words)
    label = KINDS["kol"][0].replace(" ", "")
    name_ = name_.replace(f"-{label}-", "-KOL账号-", 1)
    fallback = fallback.replace("-kol-", "-kol-accounts-", 1)
    if fmt == "csv":
        body, media = kol_csv(rows, total, ctx.words), CSV_TYPE
    else:
        body = kol_xlsx(rows, total, ctx.words, title=ctx.words("账号 KOL"))
        media = FORMATS["xlsx"]
    return Response(body, media_type=media,
                    headers={"Content-Disposition": content_disposition(name_, fallback)})


@router.get("/monitors/{name}/kol.csv", include_in_schema=False)
def kol_csv_download(request: Request, name: str, user: Viewer, choice: RangeChoice = "auto",
                     order: Order = "posts", desc: Desc = 1, platform: Platform = "",
                     tier: Tier = "", sentiment: Sentiment = "") -> Response:
    return _download(request, name, choice, _query(order, desc, platform, tier, sentiment),
                     "csv")


@router.get("/monitors/{name}/kol.xlsx", include_in_schema=False)
def kol_xlsx_download(request: Request, name: str, user: Viewer, choice: RangeChoice = "auto",
                      order: Order = "posts", desc: Desc = 1, platform: Platform = "",
                      tier: Tier = "", sentiment: Sentiment = "") -> Response:
    return _download(request, name, choice, _query(order, desc, platform, tier, sentiment),
                     "xlsx")
