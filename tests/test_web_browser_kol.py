"""The KOL table and an account page in a real browser: sort by a column, open an account,
see its sentiment chart drawn by ECharts with the account's counts, download the xlsx and read
it back; hostile names and text stay text and no injected script runs."""

from __future__ import annotations

import io
from pathlib import Path
from urllib.parse import quote

import pytest

from crawlers.items import utcnow
from tests.test_web_browser import NEEDS_CHROMIUM, _login, _not_pwned, page, shots  # noqa: F401
from tests.test_web_kol import EVIL_NAME, KM, fill_kol
from tests.web_support import HOSTILE_TEXT, make_app, served

pytestmark = [pytest.mark.slow, NEEDS_CHROMIUM]


@pytest.fixture(scope="module")
def base_url(tmp_path_factory):
    app = make_app(tmp_path_factory.mktemp("web"))
    fill_kol(app.state.ctx.store, utcnow())
    with served(app) as url:
        yield url


def _shot(page, shots, name):  # noqa: F811 - the fixture, passed in
    page.screenshot(path=shots / name, full_page=True)


def test_sort_open_an_account_and_download(page, shots):  # noqa: F811
    from openpyxl import load_workbook

    _login(page, "vic")
    page.goto(f"/monitors/{quote(KM, safe='')}/kol")
    rows = page.locator("table.kol tbody tr")
    assert rows.count() == 4
    assert rows.nth(0).get_attribute("data-account") == "weibo/k1"
    page.click("th a.sort:has-text('负面')")
    page.wait_for_url("**order=negative**")
    assert rows.nth(0).get_attribute("data-account") == "weibo/k2"
    assert rows.nth(0).locator("td.name").inner_text() == EVIL_NAME
    assert page.locator('tr[data-account="forum/k4"] td.name').inner_text() == HOSTILE_TEXT
    _shot(page, shots, "kol.png")
    _not_pwned(page)

    with page.expect_download() as info:
        page.click("#kol-xlsx")
    download = info.value
    assert download.suggested_filename.endswith(".xlsx") and KM in download.suggested_filename
    sheet = load_workbook(io.BytesIO(Path(download.path()).read_bytes())).active
    table = list(sheet.iter_rows(values_only=True))
    assert [r[3] for r in table[1:]] == ["k2", "k1", "k4", "k3"]  # the page's order
    assert sheet.cell(2, 3).value == EVIL_NAME and sheet.cell(2, 3).data_type == "s"

    page.click('tr[data-account="weibo/k1"] td.name a')
    page.wait_for_selector('#chart-account-sentiment[data-ready="ready"]')
    assert page.locator("#chart-account-sentiment canvas").count() >= 1
    drawn = page.evaluate("""() => {
      const chart = echarts.getInstanceByDom(document.getElementById('chart-account-sentiment'));
      return chart.getOption().series.filter(s => s.type === 'bar')
        .map(s => [s.name, s.data.reduce((a, b) => a + b, 0)]);
    }""")
    assert sorted(drawn) == [["正面", 4], ["负面", 1]]
    assert page.locator("h1.account-name").inner_text().startswith("大号")
    assert page.locator("ol.posts li.post").count() == 5
    _shot(page, shots, "account.png")
    _not_pwned(page)


def test_hostile_account_page_reads_as_text(page, shots):  # noqa: F811
    _login(page, "vic")
    page.goto(f"/accounts/forum/k4?monitor={quote(KM, safe='')}")
    page.wait_for_selector('#chart-account-sentiment[data-ready="ready"]')
    assert page.locator("h1.account-name").inner_text() == HOSTILE_TEXT
    page.goto(f"/accounts/zhihu/k3?monitor={quote(KM, safe='')}")
    page.wait_for_selector('#chart-account-sentiment[data-ready="ready"]')
    assert page.locator("ol.posts li.post .text").inner_text() == HOSTILE_TEXT
    assert page.locator("a.profile-url").count() == 0  # javascript: profile is no link
    _not_pwned(page)
