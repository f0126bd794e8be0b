"""What every request handler needs, built once at start-up: settings, the store, the user
database, the wording and the templates (``request.app.state.ctx``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Mapping

    from starlette.requests import Request
    from starlette.templating import Jinja2Templates

    from crawlers.storage import Store
    from scheduler.i18n import Wording
    from web.accounts import Accounts

__all__ = ["LOGIN_LIMITS", "LOGIN_WINDOW", "SESSION_SECONDS", "WebContext", "get_ctx"]

SESSION_SECONDS = 12 * 3600  # a working day; then the password again
LOGIN_WINDOW = 15 * 60  # failures older than this no longer count
LOGIN_LIMITS = {"account": 5, "address": 20}  # failures per account+address, per address


@dataclass
class WebContext:
    settings: Mapping[str, Any]
    store: Store
    accounts: Accounts
    words: Wording
    templates: Jinja2Templates
    force_https: bool = False
    max_keywords: int = 16
    timezone: str = "Asia/Shanghai"


def get_ctx(request: Request) -> WebContext:
    ctx: WebContext = request.app.state.ctx
    return ctx
