"""Jinja2 templates with autoescape on for every template: crawled text is always text. Pages
get the signed-in user, their CSRF token, the wording ``w`` and the reader-wording helpers."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import jinja2
from starlette.templating import Jinja2Templates

from scheduler.notify import wording as reader
from web.auth import principal
from web.context import get_ctx

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response

    from scheduler.i18n import Wording

__all__ = ["TEMPLATES", "build_templates", "render"]

TEMPLATES = Path(__file__).with_name("templates")


def _segment(value: Any) -> str:
    """A value as one URL path segment (``/`` and ``?`` included are escaped)."""
    return quote(str(value), safe="")


def build_templates(w: Wording) -> Jinja2Templates:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
        undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["seg"] = _segment
    env.globals.update(
        w=w, platform_name=functools.partial(reader.platform_name, w=w),
        severity_name=functools.partial(reader.severity_name, w=w),
        rule_title=functools.partial(reader.rule_title, w=w),
        tier_name=functools.partial(reader.tier_name, w=w))
    return Jinja2Templates(env=env)


def render(request: Request, name: str, status: int = 200, **context: Any) -> Response:
    ctx = get_ctx(request)
    who = principal(request)
    context.setdefault("error", None)
    context.setdefault("csrf_token", who.csrf if who and who.via == "session" else "")
    context.update(request=request, user=who.user if who else None, path=request.url.path)
    response: Response = ctx.templates.TemplateResponse(request, name, context,
                                                        status_code=status)
    return response
