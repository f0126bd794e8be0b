"""ApiClient: a long-lived httpx.Client for platform API calls outside Scrapy crawls.

No platform knowledge: a platform module passes its ``check_response`` as ``checker`` and its
API functions take the client (``fetch_profile(client, uid, now=…)``). The client rebases URLs
through PLATFORM_BASE_URLS like the spiders, sends the platform cookie from settings (never
logged), keeps a polite minimum interval between calls, and raises crawlers.errors types.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from crawlers.baseurls import base_for, rebase
from crawlers.errors import CrawlerError, UnexpectedPayload

__all__ = ["ApiClient"]

Checker = Callable[[int, bytes, str], None]


class ApiClient:
    """A polite, typed-error httpx client for one platform.

    Settings: PLATFORM_BASE_URLS, USER_AGENT, DOWNLOAD_TIMEOUT, DOWNLOAD_DELAY (the minimum
    interval between calls), ``<SLUG>_COOKIE``.

    >>> import httpx
    >>> ok = httpx.MockTransport(lambda r: httpx.Response(200, json={"ok": 1}))
    >>> c = ApiClient("weibo", {}, transport=ok)
    >>> c.get_json("https://m.weibo.cn/api/x")
    {'ok': 1}
    """

    def __init__(
        self,
        platform: str,
        settings: Mapping[str, Any] | Any,
        *,
        checker: Checker | None = None,
        transport: httpx.BaseTransport | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        get = settings.get
        self.platform = platform
        self.checker = checker
        overrides = get("PLATFORM_BASE_URLS") or {}
        if isinstance(overrides, str):
            overrides = json.loads(overrides)
        self.base = base_for(platform, overrides)
        self.min_interval = float(get("DOWNLOAD_DELAY") or 0)
        all_headers = {"User-Agent": get("USER_AGENT") or "Tingfeng"}
        all_headers.update(headers or {})
        cookie = get(f"{platform.upper()}_COOKIE")
        if cookie:
            all_headers["Cookie"] = cookie
        self._client = httpx.Client(
            headers=all_headers,
            timeout=float(get("DOWNLOAD_TIMEOUT") or 30),
            transport=transport,
            # A redirect to a login page is a signal, not something to follow.
            follow_redirects=False,
        )
        self._lock = threading.Lock()
        self._last = 0.0

    def __repr__(self) -> str:  # never shows the cookie
        return f"<ApiClient {self.platform} base={self.base or 'live'}>"

    def get(self, real_url: str, **kwargs: Any) -> httpx.Response:
        """GET ``real_url`` (rebased); raises the platform's typed error for a soft failure."""
        with self._lock:
            wait = self._last + self.min_interval - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            self._last = time.monotonic()
        try:
            response = self._client.get(rebase(real_url, self.base), **kwargs)
        except httpx.HTTPError as exc:
            raise CrawlerError(
                f"{self.platform}: request to {real_url} failed: {type(exc).__name__}"
            ) from exc
        if self.checker is not None:
            self.checker(response.status_code, response.content, real_url)
        elif response.status_code >= 400:
            raise CrawlerError(f"{self.platform}: HTTP {response.status_code} from {real_url}")
        return response

    def get_json(self, real_url: str, **kwargs: Any) -> Any:
        response = self.get(real_url, **kwargs)
        try:
            return response.json()
        except ValueError as exc:
            raise UnexpectedPayload(
                f"expected JSON, got {response.content[:60]!r}",
                platform=self.platform,
                url=real_url,
            ) from exc

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
