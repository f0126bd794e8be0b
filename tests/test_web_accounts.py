"""The account page: profile, figures under the monitor, posts newest first and paged, the
cascades its originals started, sentiment over time, the influence index with its inputs;
another monitor's account answers 404 (no id learns anything), hostile text stays text."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from crawlers.items import utcnow
from scoring.influence import BciInputs, bci
from tests.test_web_kol import EVIL_NAME, KM, fill_kol
from tests.web_support import HOSTILE_MONITOR, HOSTILE_TEXT, login, make_app
from web.data.accounts import account_detail

Q = f"?monitor={quote(KM, safe='')}"


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


def test_api_shape_and_figures(viewer):
    body = viewer.get(f"/api/accounts/weibo/k1{Q}").json()
    assert set(body) >= {"topic", "range", "profile", "figures", "influence", "posts",
                         "cascades", "series"}
    assert body["topic"] == KM and body["range"] == "30d"
    p = body["profile"]
    assert (p["name"], p["platform_name"], p["tier_name"], p["followers"], p["verified"]) == (
        "大号", "微博", "头部", 2_000_000, True)
    assert (p["location"], p["description"], p["url"]) == ("上海", "品牌观察",
                                                          "https://weibo.com/k1")
    f = body["figures"]
    assert (f["posts"], f["engagement"], f["positive"], f["negative"]) == (5, 50, 4, 1)
    assert f["net"] == pytest.approx(0.6)


def test_posts_are_newest_first_and_link_their_originals(viewer):
    posts = viewer.get(f"/api/accounts/weibo/k1{Q}").json()["posts"]
    assert posts["total"] == 5 and posts["pages"] == 1
    assert [r["post_id"] for r in posts["rows"]] == [f"k1p{i}" for i in (4, 3, 2, 1, 0)]
    assert posts["rows"][0]["url"] == "https://weibo.com/k1/4"


def test_posts_are_paged(app):
    ctx = app.state.ctx
    second = account_detail(ctx.store, KM, ("weibo", "k1"), now=utcnow(), page=2, size=2,
                            w=ctx.words)
    assert second is not None
    assert second["posts"]["total"] == 5 and second["posts"]["pages"] == 3
    assert [r["post_id"] for r in second["posts"]["rows"]] == ["k1p2", "k1p1"]
    assert [c["post_id"] for c in second["cascades"]] == ["k1p0"]  # all its originals


def test_cascades_of_its_originals_link_the_explorer(viewer):
    cascades = viewer.get(f"/api/accounts/weibo/k1{Q}").json()["cascades"]
    assert len(cascades) == 1
    c = cascades[0]
    assert (c["post_id"], c["reposts"], c["size"]) == ("k1p0", 2, 3)
    assert c["url"] == f"/monitors/{quote(KM, safe='')}/cascades/weibo/k1p0"
    page = viewer.get(f"/accounts/weibo/k1{Q}").text
    assert f'href="/monitors/{quote(KM, safe="")}/cascades/weibo/k1p0"' in page


def test_sentiment_over_time_is_counted_per_bucket(viewer):
    series = viewer.get(f"/api/accounts/weibo/k1/series{Q}").json()
    assert series["bucket"] == "day" and len(series["labels"]) == len(series["buckets"])
    totals = {s["label"]: sum(s["posts"]) for s in series["sentiment"]}
    assert totals == {"positive": 4, "negative": 1, "neutral": 0, "unscored": 0}
    assert all(len(s["posts"]) == len(series["buckets"]) for s in series["sentiment"])
    assert any(n is not None and -1 <= n <= 1 for n in series["net"])
    short = viewer.get(f"/api/accounts/weibo/k1/series{Q}&range=1d").json()
    assert short["bucket"] == "hour" and short["range"] == "1d"
    assert viewer.get(f"/api/accounts/weibo/k1{Q}").json()["series"]["labels"] == (
        series["labels"])


def test_influence_is_shown_with_its_inputs(viewer):
    inf = viewer.get(f"/api/accounts/weibo/k1{Q}").json()["influence"]
    assert inf["stored"] == 321.5 and inf["name"].startswith("BCI")
    inputs = {i["key"]: i["value"] for i in inf["inputs"]}
    assert inputs == {"posts": 5, "originals": 5, "reposts": 0, "comments": 0,
                      "original_reposts": 0, "original_comments": 0, "likes": 50}
    assert inf["window_value"] == pytest.approx(bci(BciInputs(posts=5, originals=5, likes=50)))
    page = viewer.get(f"/accounts/weibo/k1{Q}").text
    assert "321.5" in page and "发博数" in page
    assert viewer.get(f"/api/accounts/weibo/k2{Q}").json()["influence"] is None


def test_the_page_shows_profile_posts_and_chart(viewer):
    page = viewer.get(f"/accounts/weibo/k1{Q}&range=7d")
    assert page.status_code == 200
    text = page.text
    assert "大号" in text and "2,000,000" in text and "头部" in text
    assert 'src="/static/account.js"' in text
    assert (f'data-url="/api/accounts/weibo/k1/series?monitor={quote(KM, safe="")}&amp;'
            'range=7d"') in text
    assert "共 5 条，第 1/1 页" in text and 'data-post="weibo/k1p4"' in text
    assert 'href="https://weibo.com/k1"' in text


def test_another_monitors_account_is_404(viewer):
    for path in (f"/accounts/weibo/x1{Q}", f"/api/accounts/weibo/x1{Q}",
                 f"/api/accounts/weibo/x1/series{Q}", f"/api/accounts/weibo/nobody{Q}",
                 f"/api/accounts/zhihu/k1{Q}", "/api/accounts/weibo/k1?monitor=没有"):
        assert viewer.get(path).status_code == 404, path
    page = viewer.get(f"/accounts/weibo/x1{Q}")
    assert "该监测下没有这个账号" in page.text and "别家账号" not in page.text
    other = f"?monitor={quote(HOSTILE_MONITOR, safe='')}"
    assert viewer.get(f"/api/accounts/weibo/x1{other}").status_code == 200


def test_other_monitors_posts_are_left_out(viewer):
    under_km = viewer.get(f"/api/accounts/weibo/k1{Q}").json()
    everywhere = viewer.get("/api/accounts/weibo/k1").json()
    assert under_km["figures"]["posts"] == 5 and everywhere["figures"]["posts"] == 6
    assert "k1x" not in {r["post_id"] for r in under_km["posts"]["rows"]}
    assert everywhere["cascades"][0]["url"] is None  # the explorer lives under a monitor


def test_hostile_text_is_text(viewer):
    forum = viewer.get(f"/accounts/forum/k4{Q}").text
    zhihu = viewer.get(f"/accounts/zhihu/k3{Q}").text
    weibo = viewer.get(f"/accounts/weibo/k2{Q}").text
    for page in (forum, zhihu):
        assert "<script>window.__pwned" not in page and "<img src=x" not in page
        assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in page
        assert 'href="javascript:' not in page
    assert "知乎答主" in zhihu  # its javascript: profile link is not offered
    assert "=HYPERLINK(&#34;http://evil.example" in weibo
    assert viewer.get(f"/api/accounts/forum/k4{Q}").json()["profile"]["name"] == HOSTILE_TEXT
    assert viewer.get(f"/api/accounts/weibo/k2{Q}").json()["profile"]["name"] == EVIL_NAME


def test_viewer_reads_and_login_is_required(app):
    with TestClient(app) as anonymous:
        page = anonymous.get(f"/accounts/weibo/k1{Q}", follow_redirects=False)
        assert page.status_code in (302, 303) and "/login" in page.headers["location"]
        assert anonymous.get(f"/api/accounts/weibo/k1{Q}").status_code == 401
        assert anonymous.get(f"/api/accounts/weibo/k1/series{Q}").status_code == 401
