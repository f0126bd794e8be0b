"""Shared fixtures: the recorded-response server, a fixed clock, an isolated data directory."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.fixture_server import ReplayServer, start_fixture_server


@pytest.fixture(scope="session")
def fixture_server() -> Iterator[ReplayServer]:
    """Serves tests/fixtures/*/manifest.json on 127.0.0.1:<ephemeral port>."""
    server = start_fixture_server()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def now() -> datetime:
    """A fixed, aware 'now' for time-dependent code."""
    return datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _isolated_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test writes into the real user data directory or reads the user's environment secrets."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    for var in (
        "TINGFENG_STORE",
        "TINGFENG_MAIL_URL",
        "TINGFENG_BASE_URLS",
        "WEIBO_COOKIE",
        "ZHIHU_COOKIE",
        "WECHAT_COOKIE",
        "WECHAT_TOKEN",
        "TIEBA_COOKIE",
    ):
        monkeypatch.delenv(var, raising=False)
