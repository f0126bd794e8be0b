"""WeChat soft-failure detection: ``check_response`` raises crawlers.errors types, never decides.

Recorded: Sogou's anti-spider captcha page, the expired temporary link page (链接已过期), the
profile_ext ``{"ret": -3, "errmsg": "no session"}``. From peer readers (constructed fixtures):
the back office's ``base_resp.ret`` 200013 (freq control) and 200003 (invalid session).
"""

from __future__ import annotations

import re
from typing import Any

from crawlers.errors import (
    Blocked,
    ContentUnavailable,
    LoginRequired,
    RateLimited,
    UnexpectedPayload,
)

from .text import PLATFORM, decode_body, load_json

__all__ = ["check_response", "check_payload"]

# Sogou's interstitial (2017 recording: antispider.min.js, seccodeInput, "访问过于频繁").
_SOGOU_CAPTCHA = re.compile(r"antispider|seccodeInput|seccodeForm|访问过于频繁|需要您协助验证")
# mp.weixin.qq.com's current verification wall ("环境异常 … 完成验证后即可继续访问"; not recorded).
_MP_CAPTCHA = re.compile(r"环境异常|完成验证后即可继续访问")
# The weui message page that replaces an article: expired, deleted, blocked for violations…
_WEUI_TITLE = re.compile(
    r"""class="(?:weui-msg__title|weui_msg_title|global_error_msg)[^"]*"[^>]*>\s*([^<]{1,80}?)\s*<""",
    re.S,
)
_CLIENT_ONLY = "请在微信客户端打开"
# profile_ext ``ret`` and back-office ``base_resp.ret`` codes (peer readers: we-mp-rss,
# wechat_articles_spider; article_spider#3 for -3).
_LOGIN_RETS = {-3: "no session", 200003: "invalid session", 200040: "invalid csrf token"}
_RATE_RETS = {200013: "freq control"}


def check_response(status: int, body: bytes, url: str) -> None:
    """Raise the typed error for a WeChat or Sogou soft failure; None for a usable response.

    HTTP 5xx is left to Scrapy's RetryMiddleware; 403/418/432 are treated as anti-bot walls.
    """
    if status == 429:
        raise RateLimited(f"HTTP {status}: too many requests", platform=PLATFORM, url=url)
    if status in (403, 418, 432):
        raise Blocked(
            f"HTTP {status}: the platform refused the request (anti-bot wall)",
            platform=PLATFORM,
            url=url,
        )
    if status in (404, 410):
        raise ContentUnavailable(f"HTTP {status}: not found", platform=PLATFORM, url=url)
    if status >= 500:
        return
    text = decode_body(body, url)
    head = text.lstrip()[:1]
    if not head:
        raise UnexpectedPayload("empty body: expected a page or JSON", platform=PLATFORM, url=url)
    if head in "{[":
        check_payload(load_json(text, url), url)
        return
    _check_page(text, url)


def check_payload(payload: Any, url: str | None = None) -> None:
    """The JSON half of :func:`check_response` (profile_ext ``ret``, back-office ``base_resp``)."""
    if not isinstance(payload, dict):
        return
    ret = payload.get("ret")
    if isinstance(ret, int) and ret != 0:
        _raise_ret(
            ret,
            str(payload.get("errmsg") or ""),
            url,
            "profile_ext",
            "copy fresh uin/key/pass_ticket/appmsg_token into WECHAT_PROFILE_QUERY",
        )
    base = payload.get("base_resp")
    if isinstance(base, dict):
        code = base.get("ret")
        if isinstance(code, int) and code != 0:
            _raise_ret(
                code,
                str(base.get("err_msg") or base.get("errmsg") or ""),
                url,
                "base_resp",
                "log in to mp.weixin.qq.com again and copy WECHAT_COOKIE and WECHAT_TOKEN",
            )


def _raise_ret(code: int, message: str, url: str | None, where: str, fix: str) -> None:
    said = f"{where} ret {code} {message!r}".rstrip()
    if code in _RATE_RETS:
        raise RateLimited(f"{said}: WeChat asks us to slow down", platform=PLATFORM, url=url)
    if code in _LOGIN_RETS:
        raise LoginRequired(
            f"{said}: the session expired; {fix}",
            platform=PLATFORM,
            url=url,
        )
    raise UnexpectedPayload(
        f"{said}: an error code this parser does not know", platform=PLATFORM, url=url
    )


def _check_page(text: str, url: str) -> None:
    if "sogou" in text[:4000].lower() and _SOGOU_CAPTCHA.search(text):
        raise Blocked(
            "Sogou anti-spider captcha (您的访问过于频繁): crawl slower or solve it in a browser",
            platform=PLATFORM,
            url=url,
        )
    if 'id="js_content"' in text:
        return  # an article page; words like 违规 inside the text must not trip the checks below
    if _MP_CAPTCHA.search(text):
        raise Blocked("mp.weixin.qq.com verification page (环境异常)", platform=PLATFORM, url=url)
    if _CLIENT_ONLY in text:
        raise LoginRequired(
            f"{_CLIENT_ONLY}: needs a WeChat client session", platform=PLATFORM, url=url
        )
    m = _WEUI_TITLE.search(text)
    if m:
        message = " ".join(m.group(1).split())
        raise ContentUnavailable(f"article unavailable: {message}", platform=PLATFORM, url=url)
