"""Keep secrets out of logs: a logging filter that masks credential-bearing URL parameters and
cookie values in every record, installed on the log handlers of each crawl by an extension.

Platform API URLs carry credentials in their query (WeChat ``token=``, ``key=``,
``pass_ticket=``, ``appmsg_token=``); Scrapy logs request URLs in its own messages ("Gave up
retrying <GET …>", "Ignoring response <404 …>"), which no platform module controls.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

__all__ = ["RedactSecrets", "install", "redact"]

SECRET_NAMES = ("token", "appmsg_token", "key", "pass_ticket", "uin", "wxtoken",
                "SUB", "SUBP", "z_c0", "d_c0", "BDUSS", "STOKEN", "access_token", "password")
_SECRET = re.compile(
    r"(?<![A-Za-z0-9_])(" + "|".join(map(re.escape, SECRET_NAMES)) + r")=([^&\s;'\"<>]+)"
)


def redact(text: str) -> str:
    """``text`` with the values of credential-bearing parameters and cookies masked.

    >>> redact("<GET https://mp.weixin.qq.com/cgi-bin/appmsg?token=12345&f=json>")
    '<GET https://mp.weixin.qq.com/cgi-bin/appmsg?token=***&f=json>'
    >>> redact("Cookie: SUB=abc; other=1")
    'Cookie: SUB=***; other=1'
    """
    return _SECRET.sub(r"\1=***", text)


def _masking_factory(base: Callable[..., logging.LogRecord]) -> Callable[..., logging.LogRecord]:
    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = base(*args, **kwargs)
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a malformed log call: leave it to logging's own handling
            return record
        masked = redact(message)
        if masked != message:
            record.msg, record.args = masked, None
        return record

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
    """Scrapy extension (EXTENSIONS): calls :func:`install` when a crawl starts.

    >>> from types import SimpleNamespace
    >>> ext = RedactSecrets.from_crawler(SimpleNamespace())
    >>> record = logging.getLogger("x").makeRecord("x", 20, "f", 1, "GET %s", ("/a?key=v1",), None)
    >>> record.getMessage()
    'GET /a?key=***'
    """

    def __init__(self) -> None:
        install()

    @classmethod
    def from_crawler(cls, crawler: Crawler | Any) -> RedactSecrets:
        return cls()
