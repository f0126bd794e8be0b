"""The cascade explorer in a real browser: the tree is drawn by ECharts, the accessible node
list opens the same side panel as a click on the chart, hostile crawled text shows as text and
no injected script runs. Screenshots go where tests/test_web_browser.py puts them."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from crawlers.items import utcnow
from tests.test_web_browser import NEEDS_CHROMIUM, _login, _not_pwned, page, shots  # noqa: F401
from tests.test_web_cascades import fill_cascades
from tests.web_support import HOSTILE_TEXT, MONITOR, make_app, served

pytestmark = [pytest.mark.slow, NEEDS_CHROMIUM]


@pytest.fixture(scope="module")
def base_url(tmp_path_factory):
    """The demo app plus the cascades of tests/test_web_cascades.py (the demo has none)."""
    app = make_app(tmp_path_factory.mktemp("web"))
    fill_cascades(app.state.ctx.store, utcnow())
    with served(app) as url:
        yield url


def _drawn_nodes(page):  # noqa: F811 - the fixture, passed in
    """How many nodes the ECharts tree holds (counted through its option, root down)."""
    return page.evaluate("""() => {
      const chart = echarts.getInstanceByDom(document.getElementById('chart-cascade'));
      const count = (n) => 1 + (n.children || []).reduce((s, c) => s + count(c), 0);
      const data = chart.getOption().series[0].data;
      return data.length ? count(data[0]) : 0;
    }""")


def test_viewer_explores_a_cascade(page, shots):  # noqa: F811
    _login(page, "vic")
    page.goto(f"/monitors/{quote(MONITOR, safe='')}/cascades")
    page.click('tr[data-cascade="weibo/c0"] a')
    page.wait_for_selector('#cascade[data-ready="ready"]')
    assert _drawn_nodes(page) == 9
    assert page.locator("#cascade-nodes li").count() == 9
    assert "显示 9 / 共 9" in page.inner_text("#cascade-count")
    page.click('#cascade-nodes li[data-node="r111"] button')
    panel = page.locator("#cascade-panel .post")
    assert panel.get_attribute("data-node") == "r111"
    assert "转发 r111" in panel.locator(".text").inner_text()
    assert panel.locator("a.author").get_attribute("href") == (
        f"/accounts/weibo/ur111?monitor={quote(MONITOR, safe='')}")
    assert panel.locator("a.source").get_attribute("href") == "https://weibo.com/r111"
    page.click('#cascade-nodes li[data-node="r4"] button')  # hostile text, javascript: url
    assert panel.locator(".text").inner_text() == HOSTILE_TEXT
    assert panel.locator("a.source").is_hidden()
    page.screenshot(path=shots / "cascade-explorer.png", full_page=True)
    _not_pwned(page)


def test_hostile_cascade_reads_as_text(page, shots):  # noqa: F811
    _login(page, "vic")
    page.goto(f"/monitors/{quote(MONITOR, safe='')}/cascades/weibo/h0")
    page.wait_for_selector('#cascade[data-ready="ready"]')
    assert _drawn_nodes(page) == 2
    page.click('#cascade-nodes li[data-node="h0"] button')
    panel = page.locator("#cascade-panel .post")
    assert panel.locator(".text").inner_text() == HOSTILE_TEXT
    assert panel.locator("a.author").inner_text() == HOSTILE_TEXT
    page.screenshot(path=shots / "cascade-hostile.png", full_page=True)
    _not_pwned(page)
