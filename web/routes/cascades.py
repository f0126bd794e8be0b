"""A monitor's repost cascades: the largest of a window at ``/monitors/{name}/cascades``, and
one cascade's tree at ``/monitors/{name}/cascades/{platform}/{root_post_id}`` (drawn in the
browser by ECharts from the JSON twin). A cascade is shown only under a monitor whose topic
its posts carry: another monitor's cascade id answers 404, like an unknown one."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Request
from starlette.responses import Response

from crawlers.items import utcnow
from web.context import get_ctx
from web.data.cascades import MAX_NODES, cascade_detail, cascade_posts, top_cascades
from web.data.series import RANGES, resolve_range, resolve_window
from web.render import render
from web.routes.common import RangeChoice, Viewer, monitor_or_404

__all__ = ["router"]

router = APIRouter()



def _list(request: Request, name: str, choice: str) -> dict[str, Any]:
    ctx = get_ctx(request)
    m = monitor_or_404(ctx, name)
    win = resolve_window(ctx.store, m.name, now=utcnow(), choice=choice, tz=ctx.timezone)
    rows = top_cascades(ctx.store, m.name, win, w=ctx.words)
    return {"topic": m.name, "range": win.used,
            "since": win.since.isoformat() if win.since else None,
            "until": win.until.isoformat() if win.until else None, "cascades": rows}


def _detail(request: Request, name: str, platform: str, root_post_id: str) -> dict[str, Any]:
    ctx = get_ctx(request)
    m, w = monitor_or_404(ctx, name), ctx.words
    posts = cascade_posts(ctx.store, m.name, platform, root_post_id)
    if not posts:
        raise HTTPException(404, w("该监测下没有这条传播链"))
    return cascade_detail(posts, root_post_id, topic=m.name, w=ctx.words)


@router.get("/monitors/{name}/cascades", include_in_schema=False)
def cascades_page(request: Request, name: str, user: Viewer,
                  choice: RangeChoice = "auto") -> Response:
    data = _list(request, name, choice)
    return render(request, "cascades.html", monitor=data["topic"], rows=data["cascades"],
                  ranges=["auto", *RANGES], choice=resolve_range(choice), used=data["range"])


@router.get("/api/monitors/{name}/cascades", tags=["传播链"],
            summary="时段内最大的传播链：规模、深度、最大宽度、结构病毒性、负面占比")
def cascades_api(request: Request, name: str, user: Viewer,
                 choice: RangeChoice = "auto") -> dict[str, Any]:
    return _list(request, name, choice)


@router.get("/monitors/{name}/cascades/{platform}/{root_post_id}", include_in_schema=False)
def cascade_page(request: Request, name: str, platform: str, root_post_id: str,
                 user: Viewer) -> Response:
    data = _detail(request, name, platform, root_post_id)
    api = (f"/api/monitors/{quote(name, safe='')}/cascades/{quote(platform, safe='')}/"
           f"{quote(root_post_id, safe='')}")
    root = next((n for n in data["nodes"] if n["id"] == data["root"]), None)
    return render(request, "cascade.html", monitor=name, platform=platform,
                  root_post_id=root_post_id, cascade=data, root=root, api_url=api,
                  cap=MAX_NODES)


@router.get("/api/monitors/{name}/cascades/{platform}/{root_post_id}", tags=["传播链"],
            summary="一条传播链的转发树：节点与边（最多 500 个节点）",
            description="保留互动最多的帖子及其上级；`shown`/`total` 为显示与全部节点数。")
def cascade_api(request: Request, name: str, platform: str, root_post_id: str,
                user: Viewer) -> dict[str, Any]:
    return _detail(request, name, platform, root_post_id)
