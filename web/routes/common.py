"""What the page modules share: the signed-in reader, the ``range`` choice and a monitor looked
up or answered with a worded 404. Not a page (not in ``web.routes.MODULES``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Query

from crawlers.items import Monitor
from web.accounts import User
from web.auth import viewer
from web.context import WebContext
from web.data.series import RANGES

__all__ = ["RangeChoice", "Viewer", "monitor_or_404"]

Viewer = Annotated[User, Depends(viewer)]
RangeChoice = Annotated[str, Query(alias="range", pattern="^(auto|" + "|".join(RANGES) + ")$")]


def monitor_or_404(ctx: WebContext, name: str) -> Monitor:
    """The stored monitor ``name``; 404 (没有这个监测, in the reader's language) without one."""
    m, w = ctx.store.get_monitor(name), ctx.words  # w(): read by the catalogue's extraction
    if m is None:
        raise HTTPException(404, w("没有这个监测"))
    return m
