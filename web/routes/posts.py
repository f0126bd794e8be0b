"""The post browser: topic, platform, sentiment and time filters, newest first, paged."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import Response

from crawlers.items import utcnow
from scheduler.monitors import PLATFORMS
from web.accounts import User
from web.auth import viewer
from web.context import WebContext, get_ctx
from web.data.posts import post_page
from web.data.series import RANGES, SENTIMENTS
from web.render import render
from web.routes.common import RangeChoice

__all__ = ["router"]

router = APIRouter()
Topic = Annotated[str, Query(max_length=64)]
Platform = Annotated[str, Query(max_length=32)]
Sentiment = Annotated[str, Query(pattern="^(|" + "|".join(SENTIMENTS) + ")$")]
Day = Annotated[date | None, Query(description="北京时间的日期 YYYY-MM-DD")]
Page = Annotated[int, Query(ge=1, le=100000)]


def _bounds(ctx: WebContext, since: date | None,
            until: date | None) -> tuple[datetime | None, datetime | None]:
    """Whole days in the reader's zone: ``until`` includes its own day."""
    zone = ZoneInfo(ctx.timezone)
    low = datetime.combine(since, time(), zone) if since else None
    high = datetime.combine(until, time(), zone) + timedelta(days=1) if until else None
    return low, high


def _page(request: Request, topic: str, platform: str, sentiment: str, choice: str,
          since: date | None, until: date | None, page: int) -> dict[str, Any]:
    ctx = get_ctx(request)
    low, high = _bounds(ctx, since, until)
    return post_page(ctx.store, ctx.words, now=utcnow(), topic=topic, platform=platform,
                     sentiment=sentiment, choice=choice, since=low, until=high, page=page)


@router.get("/posts", include_in_schema=False)
def posts_page(request: Request, user: Annotated[User, Depends(viewer)], topic: Topic = "",
               platform: Platform = "", sentiment: Sentiment = "", choice: RangeChoice = "auto",
               since: Day = None, until: Day = None, page: Page = 1) -> Response:
    result = _page(request, topic, platform, sentiment, choice, since, until, page)
    filters = {"topic": topic, "platform": platform, "sentiment": sentiment, "range": choice,
               "since": since.isoformat() if since else "",
               "until": until.isoformat() if until else ""}
    query = urlencode({k: v for k, v in filters.items() if v})
    ctx = get_ctx(request)
    return render(request, "posts.html", result=result, filters=filters, query=query,
                  topics=[m.name for m in ctx.store.monitors()], platforms=PLATFORMS,
                  sentiments=SENTIMENTS, ranges=["auto", *RANGES])


@router.get("/api/posts", tags=["帖子"],
            summary="帖子（新的在前），按主题、平台、情感、时间筛选，分页")
def list_posts(request: Request, user: Annotated[User, Depends(viewer)], topic: Topic = "",
               platform: Platform = "", sentiment: Sentiment = "", choice: RangeChoice = "auto",
               since: Day = None, until: Day = None, page: Page = 1) -> dict[str, Any]:
    return _page(request, topic, platform, sentiment, choice, since, until, page)
