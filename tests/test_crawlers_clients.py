"""ApiClient: rebasing, cookies from settings (never in repr), typed errors, politeness."""

from __future__ import annotations

import httpx
import pytest

from crawlers.clients import ApiClient
from crawlers.errors import CrawlerError, RateLimited, UnexpectedPayload


def checker(status: int, body: bytes, url: str) -> None:
    if b"100005" in body:
        raise RateLimited("请求过于频繁", platform="weibo", url=url)


def test_rebases_sends_cookie_and_hides_it() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"ok": 1})

    settings = {
        "PLATFORM_BASE_URLS": {"weibo": "http://127.0.0.1:5"},
        "WEIBO_COOKIE": "SUB=secret-value",
        "USER_AGENT": "Tingfeng/test",
    }
    client = ApiClient("weibo", settings, checker=checker, transport=httpx.MockTransport(handler))
    assert client.get_json("https://m.weibo.cn/api/x?id=1") == {"ok": 1}
    assert str(seen[0].url) == "http://127.0.0.1:5/m.weibo.cn/api/x?id=1"
    assert seen[0].headers["cookie"] == "SUB=secret-value"
    assert seen[0].headers["user-agent"] == "Tingfeng/test"
    assert "secret" not in repr(client)


def test_platform_soft_failure_raises_typed_error() -> None:
    transport = httpx.MockTransport(
        lambda r: httpx.Response(200, json={"ok": 0, "errno": "100005"})
    )
    client = ApiClient("weibo", {}, checker=checker, transport=transport)
    with pytest.raises(RateLimited) as info:
        client.get_json("https://m.weibo.cn/api/y")
    assert info.value.url == "https://m.weibo.cn/api/y"


def test_non_json_body_is_an_unexpected_payload() -> None:
    client = ApiClient(
        "weibo",
        {},
        checker=checker,
        transport=httpx.MockTransport(lambda r: httpx.Response(200, text="<html>")),
    )
    with pytest.raises(UnexpectedPayload, match="expected JSON"):
        client.get_json("https://m.weibo.cn/api/z")


def test_network_errors_are_wrapped_and_name_the_url() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    client = ApiClient("weibo", {}, transport=httpx.MockTransport(handler))
    with pytest.raises(CrawlerError, match="m.weibo.cn/api/q"):
        client.get("https://m.weibo.cn/api/q")


def test_http_error_without_checker() -> None:
    client = ApiClient("zhihu", {}, transport=httpx.MockTransport(lambda r: httpx.Response(403)))
    with pytest.raises(CrawlerError, match="HTTP 403"):
        client.get("https://www.zhihu.com/api/v4/x")


def test_minimum_interval_between_calls(monkeypatch: pytest.MonkeyPatch) -> None:
    sleeps: list[float] = []
    monkeypatch.setattr("crawlers.clients.time.sleep", sleeps.append)
    client = ApiClient(
        "weibo",
        {"DOWNLOAD_DELAY": 3},
        transport=httpx.MockTransport(lambda r: httpx.Response(200, json={})),
    )
    client.get("https://m.weibo.cn/a")
    client.get("https://m.weibo.cn/b")
    assert len(sleeps) == 1 and 2.5 < sleeps[0] <= 3.0
