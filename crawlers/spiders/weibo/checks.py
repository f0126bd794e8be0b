"""Weibo soft-failure detection: ``check_response`` raises crawlers.errors types, never decides.

Also the two body decoders every parser goes through: ``decode_body`` (UTF-8, the declared
charset, then GB18030 — legacy weibo.com pages are GBK and some lie about it) and ``load_json``.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from crawlers.errors import (
    Blocked,
    ContentUnavailable,
    LoginRequired,
    RateLimited,
    UnexpectedPayload,
)

from .urls import PLATFORM

__all__ = ["END_OF_DATA", "check_response", "decode_body", "is_end_of_data", "load_json"]

# ok:0 messages that mean "no (more) items", not failure. Recorded: an empty getIndex page.
END_OF_DATA = ("这里还没有内容",)
_DELETED = ("删除", "不存在", "暂无查看权限", "无法查看")
_LOGIN_HOSTS = ("passport.weibo.com", "passport.weibo.cn", "login.sina.com.cn")
_CHARSET = re.compile(rb"""charset\s*=\s*["']?([A-Za-z0-9_.:-]+)""", re.I)
_TITLE = re.compile(r"<title>\s*([^<]{0,80})", re.I)
# Page signatures, matched only in HTML bodies (never in JSON, where a post may quote them):
# The SSO answer redirects to ajaxlogin.php with a non-zero retcode (101: wrong credentials).
_SSO_FAILURE = re.compile(r"ajaxlogin\.php\?[^\"'\s]*retcode=(?!0\b)\d+|<title>\s*新浪通行证")
_VISITOR = re.compile(
    r"Sina Visitor System|passport\.weibo\.c(?:om|n)/visitor|visitor\.passport", re.I)
_FROZEN = re.compile(r"\(20003\)|帐号存在异常|账号存在异常")
_BUSY = re.compile(r"网络繁忙")
_ACCESS_DENY = re.compile(r"""pageid'\]\s*=\s*'content_accessdeny'|pl_guide_accessdeny""")


def decode_body(body: bytes, url: str = "") -> str:
    """Text of a response body: UTF-8, else the charset a ``<meta>`` declares, else GB18030.

    The legacy weibo.com error pages are GBK while declaring utf-8, hence the fallback.

    :raises UnexpectedPayload: when none of them decodes the bytes.
    """
    if body.startswith(b"\xef\xbb\xbf"):
        body = body[3:]
    declared = _CHARSET.search(body[:2048])
    tried = []
    candidates = ["utf-8"]
    if declared:
        name = declared.group(1).decode("ascii").lower()
        candidates.insert(0 if name not in ("utf-8", "utf8") else 1, name)
    candidates.append("gb18030")  # a superset of GBK and GB2312
    for encoding in dict.fromkeys(candidates):
        try:
            return body.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            tried.append(encoding)
    raise UnexpectedPayload(
        f"cannot decode the body ({len(body)} bytes): expected UTF-8 or GBK text, tried "
        + ", ".join(tried), platform=PLATFORM, url=url or None,
    )


@lru_cache(maxsize=8)
def _loads(body: bytes, url: str) -> Any:
    # Cached: check_response and the callback decode the same bytes; parsers never mutate.
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        if exc.end < len(body):
            text = decode_body(body, url)  # not UTF-8 at all: GBK JSON, or raise
        else:  # cut inside a multi-byte character: a truncated body
            raise json.JSONDecodeError("body ends inside a UTF-8 character", "",
                                       exc.start) from None
    return json.loads(text)


def load_json(body: bytes, url: str = "") -> Any:
    """The JSON document in ``body``.

    :raises UnexpectedPayload: naming what was expected, for truncated or non-JSON bodies.
    """
    try:
        return _loads(body, url)
    except json.JSONDecodeError as exc:
        text = body.lstrip()[:1]
        if text in (b"{", b"["):
            problem = f"truncated or malformed JSON ({exc.msg} at char {exc.pos} of {len(body)})"
        elif not body.strip():
            problem = "an empty body"
        else:
            problem = _describe(decode_body(body, url))
        raise UnexpectedPayload(
            f"expected a JSON object from {_where(url)}, got {problem}", platform=PLATFORM,
            url=url or None,
        ) from None


def is_end_of_data(payload: Any) -> bool:
    """True for the ``ok: 0`` bodies that only say there is nothing (more) to list."""
    return isinstance(payload, dict) and payload.get("ok") == 0 and _msg(payload) in END_OF_DATA


def check_response(status: int, body: bytes, url: str) -> None:
    """Raise the typed error for a Weibo soft failure; return None for a usable response.

    ``url`` is the real platform URL (or a file name for ``tingfeng parse``). An ``ok: 0``
    "这里还没有内容" body is the end of a list, not an error: this returns and parsers yield [].
    """
    err: dict[str, Any] = {"platform": PLATFORM, "url": url}
    host = urlsplit(url).netloc
    if status in (418, 432):
        # 432 is what m.weibo.cn answers anonymous or bot-like traffic since 2025; 418 is older.
        raise Blocked(f"HTTP {status}: Weibo's anti-bot wall; slow down or set WEIBO_COOKIE", **err)
    if status == 429:
        raise RateLimited("HTTP 429 Too Many Requests", **err)
    if 300 <= status < 400:
        raise LoginRequired(
            f"HTTP {status} redirect: Weibo sends anonymous or expired sessions to its "
            "visitor/login pages; set WEIBO_COOKIE from a logged-in browser", **err)
    if any(host == h or host.endswith("." + h) for h in _LOGIN_HOSTS):
        raise LoginRequired(f"landed on the login/visitor host {host}; set WEIBO_COOKIE", **err)
    is_json = body.lstrip()[:1] in (b"{", b"[")
    if status >= 400:
        _check_error_status(status, body, is_json, url, err)
        return
    if is_json:
        _check_json(load_json(body, url), err)
    else:
        _check_page(decode_body(body, url), url, err)


def _check_error_status(
    status: int, body: bytes, is_json: bool, url: str, err: dict[str, Any]
) -> None:
    payload: Any = None
    if is_json:
        try:
            payload = load_json(body, url)
        except UnexpectedPayload:
            payload = None
    text = "" if payload is not None else _text_or_empty(body, url)
    fields = payload if isinstance(payload, dict) else {}
    msg = _msg(fields)
    if str(fields.get("errno", "")) == "100005" or "频繁" in msg + text:
        # errno 100005 arrives with HTTP 403 (nondanee/weiboBatchFollow#4): slow down, not blocked.
        raise RateLimited(f"HTTP {status}, errno {fields.get('errno', '?')}: "
                          f"{msg or 'too many requests'}", **err)
    if status == 403:
        raise Blocked("HTTP 403 Forbidden without a rate-limit message", **err)
    if status == 404:
        detail = fields.get("error")
        raise ContentUnavailable("HTTP 404 Not Found" + (f": {detail}" if detail else ""), **err)
    if status >= 500 and not is_json:
        _check_page(decode_body(body, url), "", err)
    # Other statuses (5xx…) are left to Scrapy's RetryMiddleware and HttpErrorMiddleware.


def _check_json(payload: Any, err: dict[str, Any]) -> None:
    if not isinstance(payload, dict):
        raise UnexpectedPayload(
            f"expected a JSON object, got a JSON {type(payload).__name__}", **err)
    msg = _msg(payload)
    if str(payload.get("errno", "")) == "100005" or "频繁" in msg:
        raise RateLimited(f"errno {payload.get('errno', '?')}: {msg or 'too many requests'}", **err)
    ok = payload.get("ok")
    if ok == -100 or "登录" in msg:
        raise LoginRequired(f"ok={ok}: {msg or 'login required'}; set WEIBO_COOKIE", **err)
    if ok == 0:
        if msg in END_OF_DATA:
            return
        if any(word in msg for word in _DELETED):
            raise ContentUnavailable(f"deleted or hidden: {msg}", **err)
        raise UnexpectedPayload(f"ok=0 with an unknown message {msg!r}", **err)
    code = payload.get("code")
    if code is not None and "ok" not in payload and str(code) != "100000":
        # Legacy weibo.com aj/v6 wrappers: code "100000" is success.
        raise UnexpectedPayload(f"legacy API code {code}: {msg or 'no message'}", **err)


def _check_page(text: str, url: str, err: dict[str, Any]) -> None:
    if _SSO_FAILURE.search(text):
        raise LoginRequired("Sina SSO login failure page (retcode); set a fresh WEIBO_COOKIE",
                            **err)
    if _VISITOR.search(text):
        raise LoginRequired("Sina Visitor System page; set WEIBO_COOKIE", **err)
    if "page_error" in text or "W_error_bg" in text:
        if _FROZEN.search(text):
            raise Blocked("account frozen (20003 帐号存在异常); use another WEIBO_COOKIE", **err)
        if _BUSY.search(text):
            raise RateLimited("网络繁忙 busy page", **err)
    if _ACCESS_DENY.search(text):
        # "访问受限": the account/IP tripped a security rule and must solve a captcha. Not the
        # content's fault, so it stops the crawl rather than skipping one item.
        raise Blocked("content_accessdeny captcha page (访问受限)", **err)
    path = urlsplit(url).path
    if path.startswith(("/api/", "/ajax/", "/aj/", "/comments/", "/statuses/")):
        raise UnexpectedPayload(f"expected JSON from {_where(url)}, got {_describe(text)}", **err)


def _text_or_empty(body: bytes, url: str) -> str:
    try:
        return decode_body(body, url)
    except UnexpectedPayload:
        return ""


def _msg(payload: dict[str, Any]) -> str:
    msg = payload.get("msg")
    return msg.strip() if isinstance(msg, str) else ""


def _where(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.netloc}{parts.path}" if parts.netloc else (url or "the response")


def _describe(text: str) -> str:
    if not text.strip():
        return "an empty body"
    title = _TITLE.search(text)
    if title:
        return f"an HTML page titled {title.group(1).strip()!r}"
    return f"text starting {text.strip()[:40]!r}"
