"""The recorded-response server for tests: crawlers.replay.ReplayServer over tests/fixtures.

``python -m tests.fixture_server`` serves the fixtures until interrupted (handy with
``scrapy crawl weibo -s PLATFORM_BASE_URLS='{"weibo": "http://127.0.0.1:PORT"}'``).
"""

from __future__ import annotations

from pathlib import Path

from crawlers.replay import ReplayServer

FIXTURES = Path(__file__).resolve().parent / "fixtures"

__all__ = ["FIXTURES", "ReplayServer", "fixture_bytes", "start_fixture_server"]


def fixture_bytes(slug: str, name: str) -> bytes:
    """The bytes of ``tests/fixtures/<slug>/<name>``."""
    return (FIXTURES / slug / name).read_bytes()


def start_fixture_server() -> ReplayServer:
    return ReplayServer(FIXTURES).start()


if __name__ == "__main__":  # pragma: no cover
    from crawlers.replay import main

    main([str(FIXTURES)])
