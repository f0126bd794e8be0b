"""``LANGUAGE=en`` turns the whole web app English: every page an analyst or admin opens, the
error pages and API errors, and the labels pages hand to their scripts. The store here holds
ASCII-only crawled data, so any CJK character left on a page is the app's own wording."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from crawlers.items import Alert, CrawlRun, Monitor, Post, utcnow
from crawlers.storage import Store
from crawlers.storage.sqlite import SqliteStore
from tests.web_support import login, make_app

ROOT = Path(__file__).resolve().parents[1]
CJK = re.compile(r"[\u3000-\u30ff\u3400-\u9fff\uff00-\uffef]")
BRAND = "BrandA"
M = f"/monitors/{quote(BRAND, safe='')}"


def fill_ascii(store: Store, now: datetime) -> None:
    """What ``tests.web_support.fill_store`` stores, in English: two monitors (one paused),
    posts on three platforms with every sentiment and a repost cascade, a crawl behind a
    login wall, alerts sent, failed and reviewed."""
    store.save_monitor(Monitor(BRAND, "BrandA AND (refund OR complaint)", ["weibo", "zhihu"],
                               every=1800, recipients=["pr@example.com"],
                               created_at=now - timedelta(days=6),
                               last_run_at=now - timedelta(minutes=10)))
    store.save_monitor(Monitor("BrandB", "BrandB", ["weibo"], every=7200, paused=True,
                               created_at=now - timedelta(days=6)))
    labels = ("negative", "neutral", "positive", None)
    posts = [Post(("weibo", "zhihu", "wechat")[i % 3], f"p{i}", text=f"BrandA refund complaint {i}",
                  created_at=now - timedelta(hours=2 * i + 1), topics=[BRAND],
                  author_id=f"u{i % 7}", author_name=f"user{i % 7}", url=f"https://m.weibo.cn/{i}",
                  like_count=i, repost_count=1, comment_count=2, sentiment_label=labels[i % 4],
                  sentiment=(0.1, 0.5, 0.9, None)[i % 4])
             for i in range(60)]
    root = now - timedelta(hours=3)
    posts.append(Post("weibo", "c0", text="BrandA refund is slow", created_at=root,
                      author_id="a0", author_name="blogger", topics=[BRAND], repost_count=3,
                      url="https://weibo.com/a0/c0", sentiment_label="negative"))
    posts += [Post("weibo", f"r{i}", kind="repost", text=f"repost {i}", author_id=f"f{i}",
                   author_name=f"fan{i}", root_post_id="c0", parent_post_id="c0",
                   created_at=root + timedelta(minutes=i), topics=[BRAND])
              for i in range(1, 4)]
    store.upsert_posts(posts)
    store.record_run(CrawlRun("r1", "weibo", topic=BRAND, kind="crawl",
                              started_at=now - timedelta(minutes=11),
                              finished_at=now - timedelta(minutes=10), finish_reason="finished",
                              stats={"item_scraped_count": 20}))
    store.record_run(CrawlRun("r2", "zhihu", topic=BRAND, kind="crawl",
                              started_at=now - timedelta(minutes=11),
                              finished_at=now - timedelta(minutes=10),
                              finish_reason="login_required"))
    window = {"window_start": now - timedelta(hours=1), "window_end": now}
    store.save_alert(Alert(f"{BRAND}:negative_spike:1", BRAND, "negative_spike", "critical", "x",
                           value=42, threshold=20, created_at=now - timedelta(hours=2),
                           details={"expected": 10.0, "ratio": 4.2}, status="sent",
                           deliveries={"wecom:0123456789": {"status": "sent", "attempts": 1}},
                           **window))
    store.save_alert(Alert(f"{BRAND}:risk_words:1", BRAND, "risk_words", "warning", "x",
                           value=3, threshold=1, created_at=now - timedelta(hours=1),
                           details={"words": {"recall": 3}},
                           deliveries={"mail:0123456789": {"status": "failed", "attempts": 2}},
                           review={"verdict": "confirmed", "by": "ana", "note": "true story"},
                           **window))


def _app(tmp_path: Path, language: str):
    store = SqliteStore(tmp_path / "store.db")
    fill_ascii(store, utcnow())
    return make_app(tmp_path, settings={"LANGUAGE": language}, store=store, fill=False)


@pytest.fixture
def english(tmp_path):
    with TestClient(_app(tmp_path, "en")) as client:
        yield client


PAGES = ["/monitors", "/monitors/new", M, f"{M}/edit", "/posts", "/posts?sentiment=negative",
         "/alerts", f"/alerts/{quote(BRAND + ':risk_words:1', safe='')}", f"{M}/cascades",
         f"{M}/cascades/weibo/c0", f"{M}/runs", f"{M}/export", "/admin", "/api/docs",
         "/monitors/NoSuchMonitor", f"{M}/cascades/weibo/p1"]


def _chinese(text: str) -> list[str]:
    """The CJK runs in ``text`` with a little context, to say where they are."""
    return [text[max(0, m.start() - 30):m.end() + 30] for m in re.finditer(CJK.pattern + "+",
                                                                           text)]


def test_the_login_page_and_a_failed_sign_in_are_english(english):
    page = english.get("/login")
    assert page.status_code == 200 and "Sign in to Tingfeng" in page.text
    assert '<html lang="en">' in page.text and _chinese(page.text) == []
    failed = english.post("/login", data={"username": "ana", "password": "wrong",
                                          "csrf_token": "nope"})
    assert failed.status_code == 403 and _chinese(failed.text) == []
    assert "CSRF check failed" in failed.text


@pytest.mark.parametrize("path", PAGES)
def test_every_page_is_english_throughout(english, path):
    assert login(english, "root").status_code == 303  # admin: every control is on the page
    page = english.get(path)
    assert page.status_code in (200, 404), (path, page.status_code)
    assert _chinese(page.text) == [], path


def test_pages_say_what_they_are_in_english(english):
    login(english, "root")
    expected = {"/monitors": ["New monitor", "Crawl health", "Paused", "every 30 min",
                              "login required"],
                M: ["Run history", "Export report", "Cascade", "Net sentiment", "Schedule"],
                f"{M}/cascades/weibo/c0": ["Repost tree", "Structural virality",
                                           "Showing 4 of 4", 'data-label="{label}: {value}"'],
                f"{M}/runs": ["Run history", "Run now", "Crawls by platform"],
                f"{M}/export": ["Export report", "KOL report (top 50 accounts)", "Download"],
                "/alerts": ["Precision by rule", "Not delivered (2 attempts)", "Review: "],
                "/posts": ["Negative", "page 1/", "(newest first)"],
                "/monitors/NoSuchMonitor": ["No such monitor", "Back to monitors"]}
    for path, words in expected.items():
        text = english.get(path).text
        missing = [w for w in words if w not in text]
        assert missing == [], path


def test_api_errors_are_english_too(english):
    assert english.get("/api/monitors").json()["detail"] == "login required"
    login(english, "vic")
    assert english.get("/api/monitors/NoSuchMonitor").json() == {"detail": "No such monitor"}
    assert english.get(f"/api/monitors/{BRAND}/panels/nope").json() == {"detail": "No such panel"}


def test_the_dashboard_data_scripts_draw_is_english(english):
    login(english, "vic")
    for part in ("series", "emotions", "tiers", "panels/drivers", "panels/events",
                 "panels/regions", "panels/funnel",
                 "panels/health", "panels/share"):
        reply = english.get(f"/api/monitors/{BRAND}/{part}")
        assert reply.status_code == 200, part
        assert _chinese(reply.text) == [], part


def test_the_same_pages_stay_chinese_by_default(tmp_path):
    with TestClient(_app(tmp_path, "zh_CN")) as client:
        assert "登录听风" in client.get("/login").text
        login(client, "root")
        runs = client.get(f"{M}/runs").text
        assert '<html lang="zh-CN">' in runs and "运行记录" in runs and "立即运行" in runs
        assert "Run history" not in runs
        assert client.get("/api/monitors/NoSuchMonitor").json() == {"detail": "没有这个监测"}


def _code(js: str) -> str:
    """A script without its comments (those may say 听风; only code reaches the reader)."""
    return re.sub(r"/\*.*?\*/|^\s*//[^\n]*", "", js, flags=re.S | re.M)


@pytest.mark.parametrize("script", sorted(p.name for p in (ROOT / "web/static").glob("*.js")))
def test_scripts_take_their_words_from_the_page(script):
    code = _code((ROOT / "web/static" / script).read_text(encoding="utf-8"))
    assert _chinese(code) == [], script


def test_an_english_export_is_named_in_english(english):
    login(english, "vic")
    reply = english.get(f"/api/monitors/{BRAND}/report?format=xlsx&kind=kol&why=0")
    assert reply.status_code == 200
    disposition = reply.headers["content-disposition"]
    assert "filename*=UTF-8''BrandA-KOL_report-" in disposition and "%E6" not in disposition
