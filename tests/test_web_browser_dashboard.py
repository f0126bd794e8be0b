"""The dashboard's remaining panels in a real browser (Playwright driving Debian's Chromium): the
emotion curve, tier split, regions, funnel, health gauge and share of voice draw their data on
canvases, the drivers and events tables list example posts whose crawled text stays text and
whose links are http(s) only, and no injected script runs, also on a monitor whose name is
hostile. The full dashboard is saved to the screenshots folder for a person to look at.

The server is this module's own (``base_url`` below, over ``test_web_dashboard``'s store with
emotions, regions, tiers, drivers and a rival brand); ``page``, ``shots`` and the helpers are
the browser suite's."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from crawlers.items import Monitor, utcnow
from crawlers.storage.sqlite import SqliteStore
from tests.test_web_browser import NEEDS_CHROMIUM, _login, _not_pwned, page, shots  # noqa: F401
from tests.test_web_dashboard import BRAND, LAUNCH, fill_panels
from tests.web_support import HOSTILE_MONITOR, HOSTILE_TEXT, make_app, served

pytestmark = [pytest.mark.slow, NEEDS_CHROMIUM]
CHARTS = ("chart-emotions", "chart-tiers", "chart-regions", "chart-funnel", "chart-health",
          "chart-share")
PANELS = ("drivers", "events", "regions", "funnel", "health", "share")


@pytest.fixture(scope="module")
def base_url(tmp_path_factory):
    folder = tmp_path_factory.mktemp("web-dash")
    store = SqliteStore(folder / "store.db")
    fill_panels(store, utcnow())
    store.save_monitor(Monitor(HOSTILE_MONITOR, "品牌B", ["weibo"], every=3600))
    app = make_app(folder, store=store, fill=False)
    with served(app) as url:
        yield url


DRAWN = """ids => ids.map(id => {
  const el = document.getElementById(id);
  const canvas = el.querySelector('canvas');
  const d = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  let inked = 0;
  for (let i = 3; i < d.length; i += 4) { if (d[i] > 0) inked++; }
  const option = echarts.getInstanceByDom(el).getOption();
  const values = option.series.flatMap(
    s => s.data.map(v => (v && typeof v === 'object') ? v.value : v));
  return {id, inked, width: canvas.width, points: values.length,
          total: values.reduce((a, b) => a + (typeof b === 'number' ? b : 0), 0)};
})"""


def _wait_for_panels(browser_page):
    browser_page.wait_for_selector('#charts[data-ready="1"]')
    for box in ("#emotions", "#tiers", *(f"#panel-{p}" for p in PANELS)):
        browser_page.wait_for_selector(f'{box}[data-state="ready"]', timeout=60_000)
    browser_page.wait_for_timeout(600)  # the charts' 300 ms animation


def test_every_panel_draws_its_data(page, shots):  # noqa: F811
    _login(page, "vic")
    page.goto(f"/monitors/{BRAND}?range=7d")
    _wait_for_panels(page)
    for chart in page.evaluate(DRAWN, list(CHARTS)):
        assert chart["width"] > 100 and chart["inked"] > 1000, chart
        assert chart["points"] > 0 and chart["total"] > 0, chart

    drivers = page.locator("#panel-drivers tbody tr")
    assert drivers.count() >= 1
    assert "客服推诿" in page.locator("#panel-drivers").inner_text()
    evil = page.locator("#panel-drivers li.example", has_text="window.__pwned=1").first
    assert "<script>window.__pwned=1</script>" in evil.locator(".text").inner_text()
    assert evil.locator("a").count() == 0  # its javascript: link is not offered
    links = page.eval_on_selector_all("#panels a", "els => els.map(a => a.href)")
    assert links and all(h.startswith(("http://", "https://")) for h in links)
    assert page.locator('a[href^="javascript"]').count() == 0

    assert 2 <= page.locator("#panel-events tbody tr.event").count() <= 10
    assert LAUNCH in page.locator("#panel-events").inner_text()
    assert "地域已知的帖子占" in page.locator("#panel-regions .state").inner_text()
    assert page.locator("#panel-health tbody tr").count() == 3
    assert page.locator("#panel-share tbody tr.self").count() == 1
    assert "分析时段" in page.locator("#panels-window").inner_text()
    for part in ("kol", "cascades", "runs", "export"):
        assert page.locator(f'.actions a[href="/monitors/{quote(BRAND)}/{part}"]').count() == 1
    page.screenshot(path=shots / "6-dashboard-panels.png", full_page=True)
    _not_pwned(page)


def test_a_hostile_monitor_name_stays_text_in_charts_and_tooltips(page, shots):  # noqa: F811
    _login(page, "vic")
    page.goto(f"/monitors/{quote(HOSTILE_MONITOR, safe='')}?range=7d")
    page.wait_for_selector('#panel-share[data-state="ready"]', timeout=60_000)
    page.wait_for_timeout(600)
    assert page.locator("#panel-share tbody tr.self td").first.inner_text() == HOSTILE_MONITOR
    box = page.locator("#chart-share").bounding_box()
    for x in (0.3, 0.5, 0.7):  # hover the bars: tooltips show the names
        page.mouse.move(box["x"] + box["width"] * x, box["y"] + box["height"] * 0.7)
        page.wait_for_timeout(200)
    page.screenshot(path=shots / "7-dashboard-hostile.png", full_page=True)
    assert HOSTILE_TEXT not in page.content()
    _not_pwned(page)
