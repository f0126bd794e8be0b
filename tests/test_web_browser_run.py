"""Run now, as an analyst does it in a real browser: open a monitor's run history, click
立即运行, watch the page say it is running, and see the finished run with its Weibo crawl
(a real ``tingfeng monitor run`` subprocess crawling the recorded-response server)."""

from __future__ import annotations

import re
import time
from urllib.parse import quote

import pytest

from crawlers.items import Monitor, utcnow
from crawlers.storage.sqlite import SqliteStore
from tests.test_web_browser import NEEDS_CHROMIUM, _login, _not_pwned, page, shots  # noqa: F401
from tests.web_support import make_accounts, served

pytestmark = [pytest.mark.slow, NEEDS_CHROMIUM]
NAME = "浏览器运行"


@pytest.fixture(scope="module")
def base_url(tmp_path_factory, fixture_server):
    from crawlers.config import load_settings
    from web.app import create_app

    tmp = tmp_path_factory.mktemp("run")
    store = SqliteStore(tmp / "store.db")
    store.save_monitor(Monitor(NAME, "听风演示", ["weibo"], every=3600, created_at=utcnow()))
    settings = load_settings({
        "STORE_URI": f"sqlite:///{tmp}/store.db", "WEB_DB": str(tmp / "web.db"),
        "PLATFORM_BASE_URLS": {"weibo": fixture_server.base_url}, "DOWNLOAD_DELAY": 0,
        "AUTOTHROTTLE_ENABLED": False, "CRAWL_BACKOFF_BASE": 0,
        "MAIL_URL": f"file://{tmp / 'outbox'}"})
    app = create_app(settings, store=store, accounts=make_accounts(tmp / "web.db"))
    with served(app) as url:
        yield url
        for handle in app.state.runs.runs(NAME):  # never leave a crawl running behind the test
            app.state.runs.wait(handle.run_id, 240)


def test_run_now_from_the_browser_records_the_crawl(page, shots):  # noqa: F811
    _login(page)
    page.goto(f"/monitors/{quote(NAME, safe='')}/runs")
    assert page.locator("#runs").count() == 0  # nothing has run yet
    page.click("#run-now button[type=submit]")
    page.wait_for_url("**/runs?note=started")
    assert "已开始运行" in page.locator(".notice").inner_text()
    deadline = time.monotonic() + 240
    # until the run has ended: its crawls recorded and the process gone (the button is back)
    while (page.locator('#runs tr[data-status="ok"]').count() == 0
           or page.locator("#run-now").count() == 0):  # the page refreshes itself too
        assert time.monotonic() < deadline, page.locator("main").inner_text()[:500]
        page.wait_for_timeout(1000)
        page.goto(f"/monitors/{quote(NAME, safe='')}/runs")
    row = page.locator('#runs tr[data-status="ok"]').first
    health = row.locator(".health").inner_text()
    assert "微博" in health and "ana" in row.inner_text()
    assert re.search(r"· \d+ 条", health) and "built-in" not in health, health
    assert "已完成" in page.locator("#last-manual").inner_text()  # this click's run, ended
    page.screenshot(path=shots / "8-run-now.png", full_page=True)
    _not_pwned(page)
