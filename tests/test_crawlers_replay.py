"""The recorded-response server: route matching, 404 help, redirects, manifests."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from crawlers.baseurls import rebase, unbase
from crawlers.replay import ReplayServer, load_routes


@pytest.fixture
def fixtures(tmp_path: Path) -> Path:
    site = tmp_path / "demo"
    site.mkdir()
    (site / "a.json").write_text('{"page": 1}', encoding="utf-8")
    (site / "b.json").write_text('{"page": 2}', encoding="utf-8")
    (site / "gbk.html").write_bytes("<html>网络繁忙</html>".encode("gbk"))
    manifest = {
        "platform": "demo",
        "routes": [
            {
                "url": "https://api.example.cn/list?q=x",
                "file": "a.json",
                "content_type": "application/json",
            },
            {
                "url": "https://api.example.cn/list?q=x&page=2",
                "file": "b.json",
                "content_type": "application/json",
            },
            {
                "url": "https://api.example.cn/busy",
                "file": "gbk.html",
                "status": 503,
                "content_type": "text/html; charset=gbk",
            },
            {
                "url": "https://api.example.cn/old",
                "file": "a.json",
                "status": 302,
                "headers": {"Location": "https://passport.example.cn/login"},
            },
        ],
    }
    (site / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return tmp_path


def test_most_specific_route_wins_and_extra_params_are_ignored(fixtures: Path) -> None:
    with ReplayServer(fixtures) as srv:
        assert httpx.get(srv.url("https://api.example.cn/list?q=x&page=2&t=9")).json() == {
            "page": 2
        }
        assert httpx.get(srv.url("https://api.example.cn/list?q=x&t=9")).json() == {"page": 1}
        assert srv.hits[0].startswith("GET /api.example.cn/list?")


def test_status_content_type_and_bytes_are_served_verbatim(fixtures: Path) -> None:
    with ReplayServer(fixtures) as srv:
        r = httpx.get(srv.url("https://api.example.cn/busy"))
    assert r.status_code == 503
    assert r.headers["content-type"] == "text/html; charset=gbk"
    assert r.content.decode("gbk") == "<html>网络繁忙</html>"


def test_unknown_route_404_lists_known_routes(fixtures: Path) -> None:
    with ReplayServer(fixtures) as srv:
        r = httpx.get(srv.url("https://api.example.cn/nope?q=1"))
    assert r.status_code == 404
    body = r.json()
    assert "no fixture for GET https://api.example.cn/nope" in body["error"]
    assert "https://api.example.cn/list?q=x" in body["known_routes"]


def test_redirect_location_is_rebased_onto_the_server(fixtures: Path) -> None:
    with ReplayServer(fixtures) as srv:
        r = httpx.get(srv.url("https://api.example.cn/old"))
        assert r.status_code == 302
        assert r.headers["location"] == srv.base_url + "/passport.example.cn/login"
        assert unbase(r.headers["location"], srv.base_url) == "https://passport.example.cn/login"


def test_missing_file_is_named(tmp_path: Path) -> None:
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "manifest.json").write_text(
        json.dumps({"routes": [{"url": "https://h/p", "file": "gone.json"}]}), encoding="utf-8"
    )
    with pytest.raises(ValueError, match="gone.json"):
        load_routes(tmp_path)


def test_rebase_keeps_query_and_host() -> None:
    assert (
        rebase("https://weibo.com/ajax/x?id=1&p=2", "http://127.0.0.1:9/")
        == "http://127.0.0.1:9/weibo.com/ajax/x?id=1&p=2"
    )


def test_every_project_manifest_loads() -> None:
    """Every route of tests/fixtures/*/manifest.json names a file that exists."""
    routes = load_routes(Path(__file__).parent / "fixtures")
    for route in routes:
        assert route.origin in {"recorded", "constructed"}, route.url
        if route.origin == "constructed":
            assert route.file.name.startswith("constructed-"), route.file
