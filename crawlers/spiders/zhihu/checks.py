"""Zhihu soft-failure detection: ``check_response`` raises crawlers.errors types, never decides.

Recorded: two 40362 bodies (``{"error": {"code": 40362, "message": "您当前请求存在异常，暂时
限制本次访问…"}}``) from search_v3 and the article API. They become **Blocked**, not RateLimited.
The message is a verdict on the client (signature, d_c0 cookie or address): "your request is
abnormal, access restricted; appeal through 知乎小管家". It does not mean "slow down". Retrying
the same request within our backoff window (at most CRAWL_BACKOFF_MAX seconds) sends the same
unsigned or flagged request again and keeps the restriction going. Recovery needs a person: a
working ZHIHU_SIGNER, a fresh cookie, or an appeal. That is the "blocked" close reason.
"""

from __future__ import annotations

import json
from typing import Any

from crawlers.errors import (
    Blocked,
    ContentUnavailable,
    LoginRequired,
    RateLimited,
    UnexpectedPayload,
)

from .urls import PLATFORM

__all__ = ["check_response", "load_json"]

_BLOCKED_CODES = {40362: "risk control", 40352: "network environment check"}
_LOGIN_WORDS = ("请登录", "未登录", "登录后")
_HTML_WALLS = ("unhuman", "安全验证", "captcha")


def load_json(body: bytes, url: str | None = None) -> Any:
    """The JSON document in ``body`` (UTF-8, else GB18030).

    :raises UnexpectedPayload: for empty, truncated or non-JSON bodies, with their first bytes.
    """
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        text = body.decode("gb18030", errors="replace")
    try:
        return json.loads(text)
    except ValueError as exc:
        head = text[:60].replace("\n", " ")
        raise UnexpectedPayload(
            f"expected JSON, got {len(body)} bytes starting {head!r} ({exc})",
            platform=PLATFORM,
            url=url,
        ) from None


def check_response(status: int, body: bytes, url: str) -> None:
    """Raise the typed error for a Zhihu soft failure; None for a usable answer.

    HTTP 5xx without an error object is left to Scrapy's RetryMiddleware.
    """
    stripped = body.lstrip()
    if stripped[:1] == b"{":
        payload = load_json(body, url)
        error = payload.get("error") if isinstance(payload, dict) else None
        if isinstance(error, dict):
            _raise_error(status, error, url)
    elif stripped[:1] == b"<" and any(w.encode() in body for w in _HTML_WALLS):
        raise Blocked(
            "Zhihu answered a verification page instead of JSON", platform=PLATFORM, url=url
        )
    if status == 429:
        raise RateLimited("HTTP 429: too many requests", platform=PLATFORM, url=url)
    if status == 401:
        raise LoginRequired(
            "HTTP 401: set ZHIHU_COOKIE from a logged-in browser", platform=PLATFORM, url=url
        )
    if status in (403, 418):
        raise Blocked(
            f"HTTP {status}: refused (unsigned request? see crawlers/zhihu_sign.py)",
            platform=PLATFORM,
            url=url,
        )
    if status in (404, 410):
        raise ContentUnavailable(
            f"HTTP {status}: deleted or never existed", platform=PLATFORM, url=url
        )
    if status >= 500:
        return
    if stripped[:1] not in (b"{", b"["):
        raise UnexpectedPayload(
            f"expected JSON, got {len(body)} bytes starting {body[:40]!r}",
            platform=PLATFORM,
            url=url,
        )


def _raise_error(status: int, error: dict[str, Any], url: str) -> None:
    code = error.get("code")
    message = str(error.get("message") or "")
    said = f"error {code}: {message}"
    if code in _BLOCKED_CODES:
        raise Blocked(
            f"{said} ({_BLOCKED_CODES[code]}): Zhihu distrusts this client; set ZHIHU_SIGNER "
            "and a fresh ZHIHU_COOKIE, or wait it out",
            platform=PLATFORM,
            url=url,
        )
    if status == 401 or any(word in message for word in _LOGIN_WORDS):
        raise LoginRequired(
            f"{said}: set ZHIHU_COOKIE from a logged-in browser", platform=PLATFORM, url=url
        )
    if status == 429:
        raise RateLimited(said, platform=PLATFORM, url=url)
    if status in (404, 410):
        raise ContentUnavailable(said, platform=PLATFORM, url=url)
    if status in (403, 418):
        raise Blocked(said, platform=PLATFORM, url=url)
    raise UnexpectedPayload(
        f"{said} (HTTP {status}): an error this module does not know", platform=PLATFORM, url=url
    )
