"""Report export in the web app: the monitor's KOL report for a window as the CLI's HTML file,
an Excel workbook whose cells are never formulas, and a PDF whose Chinese is real text in an
embedded CJK font; named after the monitor and the day; viewers may export."""

from __future__ import annotations

import io
import re
import zipfile
from datetime import datetime, timedelta
from html.parser import HTMLParser
from urllib.parse import quote
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from crawlers.items import Post, utcnow
from tests.web_support import HOSTILE_MONITOR, HOSTILE_TEXT, MONITOR, login, make_app

FORMULA_NAME = '=HYPERLINK("http://evil.example","点我")'
OLD_AUTHOR = "十天前的账号"


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("exports")
    app = make_app(tmp, settings={"STORE_URI": f"sqlite:///{tmp}/store.db"})
    now = utcnow()
    common = {"topics": [MONITOR], "sentiment_label": "negative", "sentiment": 0.1}
    app.state.ctx.store.upsert_posts([
        # crawled names and texts that must stay text: markup, and a spreadsheet formula
        Post("weibo", "h1", text="品牌A 投诉 " + HOSTILE_TEXT, author_id="h1",
             author_name=HOSTILE_TEXT, created_at=now - timedelta(hours=3), like_count=900,
             **common),
        Post("zhihu", "h2", text="=1+2 品牌A 退款", author_id="h2", author_name=FORMULA_NAME,
             created_at=now - timedelta(hours=4), like_count=800, **common),
        Post("weibo", "old", text="品牌A 投诉 很久以前", author_id="old", author_name=OLD_AUTHOR,
             created_at=now - timedelta(days=10), **common),
    ])
    return app


@pytest.fixture(scope="module")
def viewer(app):
    with TestClient(app) as client:
        assert login(client, "vic").status_code == 303
        yield client


def _get(client, fmt, monitor=MONITOR, **params):
    r = client.get(f"/api/monitors/{quote(monitor, safe='')}/report",
                   params={"format": fmt, **params})
    assert r.status_code == 200, r.text[:300]
    return r


def _today() -> str:
    return datetime.now(ZoneInfo("Asia/Shanghai")).strftime("%Y%m%d")


class _Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str]]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, {k: v or "" for k, v in attrs}))


def test_the_export_page_offers_ranges_reports_and_formats_to_a_viewer(viewer):
    page = viewer.get(f"/monitors/{MONITOR}/export")
    assert page.status_code == 200
    assert f'action="/api/monitors/{quote(MONITOR, safe="")}/report"' in page.text
    for value in ('name="format" value="pdf"', 'name="format" value="xlsx"',
                  'name="kind" value="topic"', '<option value="30d"', '<option value="all"'):
        assert value in page.text
    assert viewer.get("/monitors/没有/export").status_code == 404
    assert viewer.get("/api/monitors/没有/report").status_code == 404
    assert viewer.get(f"/api/monitors/{MONITOR}/report?format=docx").status_code == 422
    assert viewer.get(f"/api/monitors/{MONITOR}/report?range=5y").status_code == 422


def test_html_is_the_cli_report_for_the_window_with_crawled_text_escaped(app, viewer, tmp_path):
    from scheduler.cli import main

    r = _get(viewer, "html", range="7d")
    assert r.headers["content-type"].startswith("text/html")
    day = _today()
    assert r.headers["content-disposition"] == (
        f"attachment; filename=\"tingfeng-kol-{day}.html\"; "
        f"filename*=UTF-8''{quote(f'{MONITOR}-KOL报告-{day}.html', safe='')}")
    html = r.text
    assert "KOL 报告 · 品牌A" in html and "用户3" in html and "为什么" in html
    assert "data:image/png;base64," in html  # the charts travel inside the file
    assert OLD_AUTHOR not in html  # ten days back: outside the 7-day window
    assert OLD_AUTHOR in _get(viewer, "html", range="30d").text
    # hostile crawled text is text: escaped, never an element or a handler
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in html
    parsed = _Elements()
    parsed.feed(html)
    assert not [t for t, _ in parsed.tags if t == "script"]
    assert not [(t, a) for t, a in parsed.tags if any(k.startswith("on") for k in a)]
    assert not [a for t, a in parsed.tags if a.get("href", "").lower().startswith("javascript")]
    # the same accounts, in the same order, as `tingfeng report kol --monitor … --format html`
    out = tmp_path / "cli.html"
    assert main(["--store", str(app.state.ctx.settings.get("STORE_URI")), "report", "kol",
                 "--monitor", MONITOR, "--since", "7d", "--format", "html", "-o",
                 str(out), "--no-pictures"]) == 0

    def accounts(text):
        return re.search(r"<h2>关键账号.*?</table>", text, re.S).group(0)

    assert accounts(out.read_text(encoding="utf-8")) == accounts(html)


def test_topic_report_and_a_hostile_monitor_name_in_the_file_name(app, viewer):
    topic = _get(viewer, "html", kind="topic", range="all").text
    assert "话题报告 · 品牌A" in topic and "为什么" in topic
    assert "为什么" not in _get(viewer, "html", kind="topic", range="all", why=0).text
    r = _get(viewer, "html", monitor=HOSTILE_MONITOR, range="all")
    disposition = r.headers["content-disposition"]
    assert disposition.startswith(f'attachment; filename="tingfeng-kol-{_today()}.html"; ')
    encoded = disposition.split("filename*=UTF-8''", 1)[1]
    assert re.fullmatch(r"[A-Za-z0-9%._~-]+", encoded)  # nothing a header could misread
    assert "onerror" in encoded and "%3C" not in encoded  # the name, without < > / "


def _workbook(viewer, **params):
    from openpyxl import load_workbook

    r = _get(viewer, "xlsx", **params)
    assert r.headers["content-type"].startswith("application/vnd.openxmlformats")
    return r.content, load_workbook(io.BytesIO(r.content))


def test_xlsx_has_the_sheets_with_chinese_headers_and_no_formula(viewer):
    raw, book = _workbook(viewer, range="7d")
    assert book.sheetnames == ["概览", "账号 KOL", "传播链", "声量与情感", "为什么", "影响力指数"]
    influence = [r for r in book["影响力指数"].iter_rows(values_only=True) if any(r)]
    assert influence[0][0] == "微博影响力指数" and "BCI" in influence[2]
    assert any("originals = " in str(v) for r in influence for v in r)  # the formula's inputs
    kol = book["账号 KOL"]
    headers = [c.value for c in kol[1]]
    assert headers[:4] == ["#", "平台", "账号", "账号 ID"] and "下游触达" in headers
    names = [row[2] for row in kol.iter_rows(min_row=2, values_only=True)]
    assert "用户3" in names and OLD_AUTHOR not in names
    assert FORMULA_NAME in names  # the crawled text as it was written, as text
    assert any("<script>window.__pwned=1</script>" in n for n in names)
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (sheet.title, cell.coordinate, cell.value)
    with zipfile.ZipFile(io.BytesIO(raw)) as z:
        sheets = [z.read(n).decode() for n in z.namelist() if n.startswith("xl/worksheets/")]
    assert sheets and not any("<f>" in s or "<f " in s for s in sheets)
    assert kol.column_dimensions["C"].width > 10  # fitted to the names
    assert kol.freeze_panes == "A2"
    first_seen = [row[11] for row in kol.iter_rows(min_row=2, values_only=True)]
    assert all(isinstance(v, datetime) for v in first_seen)
    overview = dict(book["概览"].iter_rows(min_row=2, values_only=True))
    timeline = list(book["声量与情感"].iter_rows(min_row=2, values_only=True))
    assert overview["帖子"] == sum(row[1] for row in timeline) == 62  # 60 + the two hostile ones
    assert overview["监测"] == MONITOR
    _raw, wider = _workbook(viewer, range="30d")
    assert OLD_AUTHOR in [r[2] for r in wider["账号 KOL"].iter_rows(min_row=2, values_only=True)]


def test_pdf_carries_the_chinese_title_as_text_in_an_embedded_cjk_font(viewer):
    pytest.importorskip("fpdf", reason="PDF export needs fpdf2 (a runtime dependency)")
    pypdf = pytest.importorskip("pypdf", reason="reading the PDF back needs pypdf (tests only)")
    r = _get(viewer, "pdf", range="7d")
    assert r.headers["content-type"] == "application/pdf" and r.content.startswith(b"%PDF")
    assert quote(f"{MONITOR}-KOL报告-{_today()}.pdf", safe="") in r.headers["content-disposition"]
    reader = pypdf.PdfReader(io.BytesIO(r.content))
    first = reader.pages[0].extract_text().replace("\x00", "")
    assert "KOL 报告 · 品牌A" in first and "话题走势" in first
    text = "".join(p.extract_text() for p in reader.pages).replace("\x00", "")
    assert "关键账号" in text and "用户3" in text and "为什么" in text
    fonts = [f.get_object() for p in reader.pages for f in p["/Resources"]["/Font"].values()]
    assert fonts and all("NotoSansCJKSC" in str(f["/BaseFont"]) for f in fonts)
    descriptor = fonts[0]["/DescendantFonts"][0].get_object()["/FontDescriptor"].get_object()
    assert "/FontFile3" in descriptor or "/FontFile2" in descriptor  # embedded, not referenced
    assert len(r.content) < 2_000_000  # a subset of the 19 MB collection, not all of it
