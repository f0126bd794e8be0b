"""Rebasing real platform URLs onto an override base (PLATFORM_BASE_URLS): how tests and the
demo send every request to the recorded-response server without platform code knowing."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

__all__ = ["base_for", "rebase", "unbase"]


def rebase(url: str, base: str | None) -> str:
    """``https://HOST/PATH?Q`` → ``{base}/HOST/PATH?Q``; unchanged when ``base`` is empty.

    >>> rebase("https://m.weibo.cn/api/x?a=1", "http://127.0.0.1:8080")
    'http://127.0.0.1:8080/m.weibo.cn/api/x?a=1'
    >>> rebase("https://m.weibo.cn/api/x", None)
    'https://m.weibo.cn/api/x'
    """
    if not base:
        return url
    parts = urlsplit(url)
    b = urlsplit(base.rstrip("/"))
    path = f"{b.path}/{parts.netloc}{parts.path or '/'}"
    return urlunsplit((b.scheme, b.netloc, path, parts.query, ""))


def unbase(url: str, base: str | None) -> str:
    """Inverse of :func:`rebase` (https assumed for the real host).

    >>> unbase("http://127.0.0.1:8080/m.weibo.cn/api/x?a=1", "http://127.0.0.1:8080")
    'https://m.weibo.cn/api/x?a=1'
    """
    if not base or not url.startswith(base.rstrip("/") + "/"):
        return url
    rest = url[len(base.rstrip("/")) + 1 :]
    return "https://" + rest


def base_for(platform: str, overrides: Mapping[str, Any] | None) -> str | None:
    """The override base for ``platform`` from a PLATFORM_BASE_URLS mapping (``"*"`` = all)."""
    if not overrides:
        return None
    value = overrides.get(platform) or overrides.get("*")
    return str(value) if value else None
