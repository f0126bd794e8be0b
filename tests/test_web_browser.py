"""The web app in a real browser (Playwright driving Debian's Chromium), as a person uses it:
sign in, create a monitor with a bad query and see where it is wrong, fix it, open a dashboard
whose ECharts canvases have drawn data, mark an alert a false alarm, read hostile posts as
text; no injected script ever runs. Screenshots go to TINGFENG_WEB_SCREENSHOTS (or a temp
folder) for a person to look at."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.web_support import HOSTILE_MONITOR, MONITOR, PASSWORD, make_app, served

sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# every browser module's marks (they import these): slow, and skipped without Chromium
NEEDS_CHROMIUM = pytest.mark.skipif(not Path(CHROMIUM).exists(),
                                    reason="needs Debian's chromium (apt-get install chromium)")
pytestmark = [pytest.mark.slow, NEEDS_CHROMIUM]


@pytest.fixture(scope="module")
def base_url(tmp_path_factory):
    app = make_app(tmp_path_factory.mktemp("web"))
    with served(app) as url:
        yield url


@pytest.fixture(scope="module")
def shots(tmp_path_factory):
    folder = Path(os.environ.get("TINGFENG_WEB_SCREENSHOTS") or tmp_path_factory.mktemp("shots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def page(base_url):
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM,
                                    args=["--no-sandbox", "--disable-gpu"])
        context = browser.new_context(base_url=base_url, viewport={"width": 1280, "height": 900},
                                      locale="zh-CN")
        page = context.new_page()
        page.errors = []  # console errors (a CSP refusal would show here) and page errors
        page.on("console", lambda m: m.type == "error" and page.errors.append(m.text))
        page.on("pageerror", lambda e: page.errors.append(str(e)))
        page.on("dialog", lambda d: page.errors.append(f"dialog: {d.message}"))
        yield page
        context.close()
        browser.close()


def _not_pwned(page):
    assert page.evaluate("typeof window.__pwned") == "undefined", page.url
    assert page.errors == [], page.errors


def _login(page, user="ana"):
    page.goto("/monitors")
    assert "/login" in page.url
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/monitors")


def test_an_analyst_works_through_the_app(page, shots):
    _login(page)
    assert page.locator(f'tr[data-monitor="{MONITOR}"]').count() == 1
    page.screenshot(path=shots / "1-monitors.png", full_page=True)
    _not_pwned(page)

    # a new monitor: the bad query's error position shows while typing
    page.click("text=新建监测")
    page.fill("input[name=name]", "浏览器测试")
    page.fill("#query", "浏览器 AND (测试 OR")
    page.wait_for_selector('#query-check[data-state="error"]')
    check = page.locator("#query-check")
    assert check.get_attribute("data-position") == "14"
    assert "第 15 个字符处有误" in check.inner_text()
    assert page.locator("#query-check mark").count() == 1
    page.screenshot(path=shots / "2-query-error.png", full_page=True)
    page.fill("#query", "浏览器 AND (测试 OR 体验)")
    page.wait_for_selector('#query-check[data-state="ok"]')
    assert "浏览器 测试 | 浏览器 体验" in check.inner_text()
    page.check("input[name=platforms][value=weibo]")
    page.click("#monitor-form button[type=submit]")
    page.wait_for_url(lambda url: url.endswith(quote("浏览器测试")))
    assert "浏览器测试" in page.locator("h1").inner_text()
    _not_pwned(page)

    # the demo monitor's dashboard: every chart drew its data on a canvas
    page.goto(f"/monitors/{MONITOR}?range=7d")
    page.wait_for_selector('#charts[data-ready="1"]')
    page.wait_for_timeout(600)  # the charts' 300 ms animation
    drawn = page.evaluate("""() => ["chart-volume", "chart-sentiment", "chart-platforms"]
      .map(id => {
        const el = document.getElementById(id);
        const canvas = el.querySelector('canvas');
        const d = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
        let inked = 0;
        for (let i = 3; i < d.length; i += 4) { if (d[i] > 0) inked++; }
        const option = echarts.getInstanceByDom(el).getOption();
        const total = option.series.reduce((n, s) => n + s.data.reduce((a, b) => a + b, 0), 0);
        return {id, inked, width: canvas.width, points: option.series[0].data.length, total};
    })""")
    for chart in drawn:
        assert chart["width"] > 100 and chart["inked"] > 2000 and chart["points"] > 0, chart
    assert drawn[1]["total"] == 61 and drawn[2]["total"] == 61  # every post, once
    assert "帖子 61 条" in page.locator("#series-summary").inner_text()
    page.screenshot(path=shots / "3-dashboard.png", full_page=True)
    _not_pwned(page)

    # the alerts inbox: mark the risk-word alert a false alarm
    page.goto("/alerts")
    card = page.locator(f'li[data-alert-id="{MONITOR}:risk_words:1"]')
    card.locator("input[value=false_alarm]").check()
    card.locator("input[name=note]").fill("同名品牌，与我们无关")
    card.locator("button[type=submit]").click()
    page.wait_for_load_state()
    card = page.locator(f'li[data-alert-id="{MONITOR}:risk_words:1"]')
    assert card.locator(".verdict.false_alarm").inner_text() == "误报"
    assert "同名品牌" in card.inner_text()
    assert page.locator('#precision tr[data-rule="risk_words"] .precision').inner_text() == "0.0%"
    page.screenshot(path=shots / "4-alerts.png", full_page=True)
    _not_pwned(page)


def test_hostile_text_stays_text_in_the_browser(page, shots):
    _login(page, "vic")
    page.goto(f"/posts?topic={MONITOR}&range=7d")
    evil = page.locator('[data-post="weibo/evil"]')
    assert "<script>window.__pwned=1</script>" in evil.locator(".text").inner_text()
    assert evil.locator("a:not(.author)").count() == 0  # its javascript: link is not offered
    assert evil.locator("a.author").get_attribute("href").startswith("/accounts/weibo/evil?")
    assert page.locator('a[href^="javascript"]').count() == 0
    page.screenshot(path=shots / "5-posts.png")  # the first screenful: the hostile post
    _not_pwned(page)
    for path in ("/alerts", "/monitors", f"/monitors/{quote(HOSTILE_MONITOR, safe='')}",
                 f"/alerts/{quote(HOSTILE_MONITOR + ':volume_spike:1', safe='')}"):
        page.goto(path)
        page.wait_for_load_state("networkidle")
        _not_pwned(page)
    page.goto("/api/docs")  # Swagger UI, from the app itself, under the same CSP
    page.wait_for_selector(".swagger-ui .info", timeout=15000)
    assert page.locator(".opblock").count() > 10
    _not_pwned(page)
