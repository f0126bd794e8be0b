"""With ``LANGUAGE=en`` the text scripts write into the page is English too (Playwright driving
Debian's Chromium): the dashboard's panels (headings, tables joined with the language's list
separator, state lines) and the cascade explorer's node list, over the ASCII-only store of
``test_web_i18n``, so any CJK character on screen is the app's own wording."""

from __future__ import annotations

import pytest

from crawlers.items import utcnow
from crawlers.storage.sqlite import SqliteStore
from tests.test_web_browser import NEEDS_CHROMIUM, _login, _not_pwned, page, shots  # noqa: F401
from tests.test_web_i18n import CJK, M, fill_ascii
from tests.web_support import make_app, served

pytestmark = [pytest.mark.slow, NEEDS_CHROMIUM]
PANELS = ("drivers", "events", "regions", "funnel", "health", "share")


@pytest.fixture(scope="module")
def base_url(tmp_path_factory):
    folder = tmp_path_factory.mktemp("web-en")
    store = SqliteStore(folder / "store.db")
    fill_ascii(store, utcnow())
    app = make_app(folder, settings={"LANGUAGE": "en"}, store=store, fill=False)
    with served(app) as url:
        yield url


def _shown_cjk(browser_page) -> list[str]:
    text = browser_page.evaluate("document.body.innerText")
    return [text[max(0, m.start() - 30):m.end() + 30] for m in CJK.finditer(text)]


def test_the_dashboard_scripts_write_english(page, shots):  # noqa: F811
    _login(page, "ana")
    page.goto(M)
    page.wait_for_selector('#charts[data-ready="1"]')
    for name in PANELS:
        page.wait_for_selector(f'#panel-{name}[data-state]:not([data-state="loading"])',
                               timeout=60_000)
    assert page.locator("#panels-window").inner_text().startswith("Analysed period: ")
    assert "Net sentiment" in page.locator("#panel-events").inner_text()
    page.screenshot(path=shots / "en-dashboard.png", full_page=True)
    assert _shown_cjk(page) == []
    _not_pwned(page)


def test_the_cascade_explorer_lists_nodes_in_english(page):  # noqa: F811
    _login(page, "vic")
    page.goto(f"{M}/cascades/weibo/c0")
    page.wait_for_selector('#cascade[data-ready="ready"]')
    first = page.locator("#cascade-nodes li button").first.inner_text()
    assert first == "blogger: BrandA refund is slow"  # "{label}: {value}", not "blogger：…"
    page.locator("#cascade-nodes li button").nth(1).click()
    assert "Reposts" in page.locator("#cascade-panel").inner_text()
    assert _shown_cjk(page) == []
    _not_pwned(page)
