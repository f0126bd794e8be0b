"""Report export: ``/monitors/{name}/export`` (choose window, report and format) and
``GET /api/monitors/{name}/report`` (the download). Reading only, so viewers may export."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from starlette.responses import Response

from crawlers.items import utcnow
from web.accounts import User
from web.auth import viewer
from web.context import get_ctx
from web.exports import DEFAULT_RANGE, FORMATS, KINDS, RANGES, content_disposition, export_report
from web.render import render
from web.routes.common import monitor_or_404

__all__ = ["router"]

router = APIRouter()
Format = Annotated[str, Query(alias="format", pattern="^(" + "|".join(FORMATS) + ")$")]
Range = Annotated[str, Query(alias="range", pattern="^(" + "|".join(RANGES) + ")$")]
Kind = Annotated[str, Query(pattern="^(" + "|".join(KINDS) + ")$")]
Why = Annotated[int, Query(ge=0, le=1,
                           description="1: 附「为什么」部分（默认）；0: 不附，长时间范围快得多")]



@router.get("/monitors/{name}/export", include_in_schema=False)
def export_page(request: Request, name: str, user: Annotated[User, Depends(viewer)]) -> Response:
    m = monitor_or_404(get_ctx(request), name)
    return render(request, "export.html", monitor=m.name, ranges=list(RANGES),
                  default_range=DEFAULT_RANGE, kinds=list(KINDS), formats=list(FORMATS),
                  action=f"/api/monitors/{quote(m.name, safe='')}/report",
                  monitor_url=f"/monitors/{quote(m.name, safe='')}")


@router.get("/api/monitors/{name}/report", tags=["报告"],
            summary="下载监测的 KOL 或话题报告（HTML、PDF 或 xlsx），时间范围可选",
            response_class=Response,
            responses={200: {"content": {t.split(";")[0]: {} for t in FORMATS.values()},
                             "description": "报告文件（附件）"}})
def report(request: Request, name: str, user: Annotated[User, Depends(viewer)],
           fmt: Format = "html", choice: Range = DEFAULT_RANGE, kind: Kind = "kol",
           why: Why = 1) -> Response:
    from web.exports.pdf import PdfUnavailable

    ctx = get_ctx(request)
    m = monitor_or_404(ctx, name)
    try:
        out = export_report(ctx.store, m, fmt=fmt, kind=kind, choice=choice, now=utcnow(),
                            w=ctx.words, why=bool(why))
    except PdfUnavailable as exc:
        raise HTTPException(501, ctx.words(str(exc))) from None
    disposition = content_disposition(out.filename, out.fallback)
    return Response(out.body, media_type=out.media_type,
                    headers={"Content-Disposition": disposition})
