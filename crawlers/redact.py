"""Keep secrets out of logs: a log-record factory that masks credential-bearing URL parameters,
cookie values and the configured secrets themselves in every record: its message, its
formatted exception (traceback text) and its stack info. Installed by an extension in each crawl
and by the CLI.

Platform API URLs carry credentials in their query (WeChat ``token=``, ``key=``,
``pass_ticket=``, ``appmsg_token=``); Scrapy logs request URLs in its own messages ("Gave up
retrying <GET …>", "Spider error processing <GET …>" with a traceback whose exception text holds
the URL again), and ``COOKIES_DEBUG`` logs whole ``Cookie:`` headers, quoted values included.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

__all__ = ["RedactSecrets", "install", "redact", "register_secrets"]

SECRET_NAMES = ("token", "appmsg_token", "key", "pass_ticket", "uin", "wxtoken",
                "SUB", "SUBP", "z_c0", "d_c0", "BDUSS", "STOKEN", "access_token", "password")
_NAMES = "|".join(map(re.escape, SECRET_NAMES))
# name=value in URLs and cookies; a value may be quoted (d_c0="AB…|1609"): it ends at the quote.
_SECRET = re.compile(rf"""(?<![A-Za-z0-9_])({_NAMES})=("[^"\n]*"?|[^&\s;'"<>]+)""")
# 'name': 'value' as dict reprs and JSON show them (cb_kwargs, payloads in tracebacks).
_SECRET_ITEM = re.compile(rf"""(["'])({_NAMES})\1(\s*:\s*)(["'])(?:(?!\4).)*\4""")
# Every value of a Cookie / Set-Cookie header line (COOKIES_DEBUG), whatever its name.
_COOKIE_LINE = re.compile(r"((?:Set-)?Cookie:[ \t]*)([^\r\n]*)", re.I)
_COOKIE_VALUE = re.compile(r"""([^=;,\s]+)=("[^"]*"?|[^;,\s]*)""")
# Secret settings whose values are masked wherever they appear. Short values are left alone:
# masking "1" everywhere would garble every log line and hide nothing.
SECRET_SETTINGS = ("WEIBO_COOKIE", "ZHIHU_COOKIE", "WECHAT_COOKIE", "TIEBA_COOKIE",
                   "WECHAT_TOKEN", "WECHAT_PROFILE_QUERY", "MAIL_PASSWORD",
                   "SCRAPYD_PASSWORD")
_MIN_SECRET = 4
_known: set[str] = set()
_known_re: list[re.Pattern[str]] = []


def register_secrets(values: Iterable[str]) -> None:
    """Mask these literal values (and the values inside cookie or query strings among them)
    in every later log record.

    >>> register_secrets(["wxuin=123456; slave_sid=Zm9vYmFy"])
    >>> redact("session Zm9vYmFy expired")
    'session *** expired'
    """
    parts: set[str] = set()
    for value in values:
        value = (value or "").strip()
        if not value:
            continue
        parts.add(value)
        for _, _, v in (p.strip().partition("=") for p in value.split(";")):
            parts.add(v.strip().strip('"'))
        parts.update(v for _, v in parse_qsl(value.lstrip("?")))
    new = {p for p in parts if len(p) >= _MIN_SECRET} - _known
    if new:
        _known.update(new)
        # Longest first, so that a whole cookie string is masked before its pieces.
        alternatives = sorted(_known, key=len, reverse=True)
        _known_re[:] = [re.compile("|".join(map(re.escape, alternatives)))]


def _mask_cookie_line(m: re.Match[str]) -> str:
    return m.group(1) + _COOKIE_VALUE.sub(r"\1=***", m.group(2))


def redact(text: str) -> str:
    """``text`` with the values of credential-bearing parameters and cookies masked.

    >>> redact("<GET https://mp.weixin.qq.com/cgi-bin/appmsg?token=12345&f=json>")
    '<GET https://mp.weixin.qq.com/cgi-bin/appmsg?token=***&f=json>'
    >>> redact("Cookie: SUB=abc; other=1")
    'Cookie: SUB=***; other=***'
    >>> redact('d_c0="AFDk1|1609"; x=1'), redact("{'key': 'v1', 'n': 2}")
    ('d_c0=***; x=1', "{'key': '***', 'n': 2}")
    """
    text = _SECRET.sub(r"\1=***", text)
    text = _SECRET_ITEM.sub(r"\1\2\1\3\4***\4", text)
    text = _COOKIE_LINE.sub(_mask_cookie_line, text)
    for pattern in _known_re:
        text = pattern.sub("***", text)
    return text


_FORMATTER = logging.Formatter()


def mask_record(record: logging.LogRecord) -> logging.LogRecord:
    """Mask ``record`` in place: message, exception text (formatted now, the live exception
    dropped so no handler formats it again unmasked) and stack info."""
    try:
        message = record.getMessage()
    except (TypeError, ValueError):  # a malformed log call: leave it to logging's own handling
        message = None
    if message is not None:
        masked = redact(message)
        if masked != message:
            record.msg, record.args = masked, None
    if record.exc_info and record.exc_info[0] is not None:
        record.exc_text = _FORMATTER.formatException(record.exc_info)
        record.exc_info = None
    if record.exc_text:
        record.exc_text = redact(record.exc_text)
    if record.stack_info:
        record.stack_info = redact(record.stack_info)
    return record


def _masking_factory(base: Callable[..., logging.LogRecord]) -> Callable[..., logging.LogRecord]:
    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        return mask_record(base(*args, **kwargs))

    factory.tingfeng_redacts = True  # type: ignore[attr-defined]
    return factory


def install() -> None:
    """Mask secrets in every log record this process creates, whatever logger or handler it
    goes to. A record factory, not a handler filter, because Scrapy replaces its root handler
    once the spider's settings are known. Idempotent."""
    current = logging.getLogRecordFactory()
    if not getattr(current, "tingfeng_redacts", False):
        logging.setLogRecordFactory(_masking_factory(current))


class RedactSecrets:
    """Scrapy extension (EXTENSIONS): calls :func:`install` when a crawl starts and registers
    the crawl's secret settings (SECRET_SETTINGS) as values to mask.

    >>> from types import SimpleNamespace
    >>> ext = RedactSecrets.from_crawler(SimpleNamespace())
    >>> record = logging.getLogger("x").makeRecord("x", 20, "f", 1, "GET %s", ("/a?key=v1",), None)
    >>> record.getMessage()
    'GET /a?key=***'
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        register_secrets(secrets)
        install()

    @classmethod
    def from_crawler(cls, crawler: Crawler | Any) -> RedactSecrets:
        settings = getattr(crawler, "settings", None)
        values = [str(settings.get(name) or "") for name in SECRET_SETTINGS] if settings else []
        return cls(values)
