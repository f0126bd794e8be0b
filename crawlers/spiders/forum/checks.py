"""Soft failures of forum responses (Tieba, Discuz! HTML and mobile API, feeds) → typed errors.

Platforms detect, the middleware decides: this module only raises crawlers.errors types.
Markers are matched where the platform puts them (a page ``<title>``, Discuz's
``#messagetext`` box, the API's ``Message``), never anywhere in the body, so a post that quotes
an error message is not mistaken for one.
"""

from __future__ import annotations

import json
import re
from typing import Any

from crawlers.errors import (
    Blocked,
    ContentUnavailable,
    LoginRequired,
    RateLimited,
    UnexpectedPayload,
)

from .common import PLATFORM, decode_html, html_text

__all__ = ["check_response", "load_json"]

_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.I | re.S)
_MESSAGE_BOX = re.compile(r"""<div[^>]+id=["']messagetext["'][^>]*>(.*?)</div>""", re.I | re.S)
# Discuz showmessage() texts and mobile-API messagevals, by outcome.
_GONE = ("指定的主题不存在", "已被删除", "正在被审核", "指定的版块不存在")
_LOGIN = ("没有权限访问该版块", "您需要登录后才能继续", "尚未登录", "请先登录")
_GONE_KEYS = ("nonexistence", "thread_nopermission_deleted")
_LOGIN_KEYS = ("nopermission", "to_login", "login_before")
_BUSY = ("刷新过于频繁", "请求过于频繁", "操作太频繁")


def load_json(body: bytes | str) -> Any:
    """JSON (UTF-8, or GBK from an old Discuz) or UnexpectedPayload naming truncation."""
    text = decode_html(body, "application/json") if isinstance(body, bytes) else body
    try:
        return json.loads(text.lstrip("\ufeff"))
    except ValueError as exc:
        raise UnexpectedPayload(f"truncated or malformed JSON ({exc})", platform=PLATFORM) from None


def check_response(status: int, body: bytes, url: str) -> None:
    """Raise the typed error a forum response stands for; return None for a usable response.

    * HTTP 403, Baidu's "百度安全验证" interstitial (wappass captcha) → Blocked
    * HTTP 429, "刷新过于频繁" → RateLimited; HTTP 404/410, Tieba's 404 page, Discuz
      "主题不存在或已被删除或正在被审核" → ContentUnavailable
    * Discuz "没有权限访问该版块" / "需要登录" (HTML box or API ``Message``) → LoginRequired
    * an empty body, truncated JSON → UnexpectedPayload
    """
    if url.rstrip("/").endswith("robots.txt"):
        return  # Scrapy's own robots.txt fetch: a missing one is normal, not a forum failure
    if status == 403:
        what = (
            "Baidu security check (百度安全验证)"
            if "百度安全验证" in decode_html(body)
            else "forbidden"
        )
        raise Blocked(f"HTTP 403: {what}", platform=PLATFORM, url=url)
    if status == 429:
        raise RateLimited("HTTP 429 Too Many Requests", platform=PLATFORM, url=url)
    if status in (404, 410):
        raise ContentUnavailable(
            f"HTTP {status}: gone or never existed", platform=PLATFORM, url=url
        )
    if status >= 300:
        return  # redirects and 5xx belong to Scrapy's redirect/retry middlewares
    if not body.strip():
        raise UnexpectedPayload("empty body", platform=PLATFORM, url=url)
    head = body.lstrip()[:1]
    if head in (b"{", b"["):
        _check_api(load_json(body), url)
        return
    text = decode_html(body)
    title_m = _TITLE.search(text[:20000])
    title = " ".join(title_m.group(1).split()) if title_m else ""
    if "百度安全验证" in title or "wappass.baidu.com/static/captcha" in text[:20000]:
        raise Blocked(
            "Baidu security check (百度安全验证): a captcha wall", platform=PLATFORM, url=url
        )
    if title.startswith("贴吧404") or "该贴已被删除" in title:
        raise ContentUnavailable(
            f"Tieba says the page is gone ({title})", platform=PLATFORM, url=url
        )
    if box := _MESSAGE_BOX.search(text):
        _check_message(html_text(box.group(1)), "", url)


def _check_api(payload: Any, url: str) -> None:
    message = payload.get("Message") if isinstance(payload, dict) else None
    # Successful answers carry no Message (or a *_succeed one); the rest explain a refusal.
    if isinstance(message, dict) and not str(message.get("messageval", "")).endswith("succeed"):
        _check_message(
            str(message.get("messagestr") or ""), str(message.get("messageval") or ""), url
        )


def _check_message(text: str, key: str, url: str) -> None:
    """A Discuz showmessage (HTML box text, or the API's messagestr + messageval)."""
    first = text.splitlines()[0] if text else key
    if any(m in text for m in _GONE) or any(k in key for k in _GONE_KEYS):
        raise ContentUnavailable(f"Discuz: {first}", platform=PLATFORM, url=url)
    if any(m in text for m in _LOGIN) or any(k in key for k in _LOGIN_KEYS):
        raise LoginRequired(
            f"Discuz: {first} (the board needs a logged-in account)", platform=PLATFORM, url=url
        )
    if any(m in text for m in _BUSY):
        raise RateLimited(f"Discuz: {first}", platform=PLATFORM, url=url)
    raise UnexpectedPayload(f"Discuz message page: {first}", platform=PLATFORM, url=url)
