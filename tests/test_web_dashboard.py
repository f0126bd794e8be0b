"""The dashboard's remaining panels through the API, as the page reads them: the emotion curve
and tier split counted by the store, and the analysis panels (drivers, events, regions,
funnel, health index, share of voice), each equal to what ``tingfeng report …`` says for the
same window of the same store; the cache sees new posts; hostile text stays JSON text;
unknown monitors and panels are 404; a viewer reads everything."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from datetime import datetime, timedelta
from urllib.parse import quote
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from crawlers.items import Author, Monitor, Post, PostScore, utcnow
from crawlers.storage.sqlite import SqliteStore
from scheduler.cli import main
from scheduler.reports.assemble import default_tier_of
from scoring.why.emotions import normalise_emotion
from tests.web_support import HOSTILE_MONITOR, HOSTILE_TEXT, HOSTILE_URL, login, make_app
from web.data.panels import PanelCache

BRAND, RIVAL = "品牌A", "品牌B"
THEME = "客服推诿，退款难"  # a complaint injected into negative posts: a driver to find
LAUNCH = "品牌A 新品发布会今晚八点直播，转发抽奖送手机"  # one text copied by many accounts
REGIONS = ("IP属地：广东", "发布于 北京", "上海", "IP 属地浙江", "四川 成都", "海外 美国", None)
FOLLOWERS = (50, 5_000, 50_000, 500_000, 2_000_000, None)
POLARITY = {"like": "positive", "happiness": "positive", "surprise": "neutral",
            "sadness": "negative", "disgust": "negative", "anger": "negative",
            "fear": "negative"}
PANELS = ("drivers", "events", "regions", "funnel", "health", "share")


def _rows(n: int, seed: int) -> list[tuple[str, str]]:
    """(text, NLPCC emotion) of real Weibo posts (shared datasets), else generated ones."""
    from tests.datasets import sample_rows

    try:
        rows = sample_rows("weibo_emotion_nlpcc.train.jsonl", n, seed)
        return [(str(r["text"]), str(r["label"])) for r in rows]
    except pytest.skip.Exception:
        subjects = ("物流", "屏幕", "电池", "门店", "包装", "价格", "赠品", "说明书")
        moods = (("太慢了，很生气", "anger"), ("很满意，推荐", "like"),
                 ("真让人难过", "sadness"), ("开心收到了", "happiness"),
                 ("恶心，再也不买", "disgust"), ("没想到啊", "surprise"))
        return [(f"{subjects[i % 8]}{moods[i % 6][0]}，第{i}次", moods[i % 6][1])
                for i in range(n)]


def fill_panels(store: SqliteStore, now: datetime) -> None:
    """Two brands over the last four days of real texts with emotions, sentiment, regions in
    the platforms' forms, counters, authors in every tier, a copied launch text, a previous
    window for hot terms, posts mentioning both brands, and one hostile post."""
    store.save_monitor(Monitor(BRAND, BRAND, ["weibo", "zhihu", "wechat", "forum"], every=1800))
    store.save_monitor(Monitor(RIVAL, RIVAL, ["weibo"], every=1800))
    posts = []
    platforms = ("weibo", "zhihu", "wechat", "forum")
    for i, (text, emotion) in enumerate(_rows(180, seed=3)):
        label = POLARITY[emotion]
        if label == "negative" and i % 2:
            text = f"{THEME}。{text}"
        platform = platforms[i % 4]
        posts.append(Post(
            platform, f"a{i}", text=f"{BRAND} {text}", topics=[BRAND],
            created_at=now - timedelta(minutes=31 * i + 7), author_id=f"u{i % 40}",
            author_name=f"用户{i % 40}", url=f"https://m.weibo.cn/detail/a{i}",
            region=REGIONS[i % len(REGIONS)], like_count=i % 17, comment_count=i % 5,
            repost_count=i % 3, read_count=1000 + 10 * i if platform == "wechat" else None,
            kind="article" if platform == "wechat" else "original", sentiment_label=label,
            sentiment={"positive": 0.9, "neutral": 0.5, "negative": 0.1}[label],
            emotion=None if i % 4 == 3 else ("愤怒" if emotion == "anger" and i % 3 == 0
                                            else emotion)))
    for j in range(12):
        posts.append(Post("weibo", f"launch{j}", text=LAUNCH, topics=[BRAND],
                          created_at=now - timedelta(hours=20, minutes=j), author_id=f"fan{j}",
                          author_name=f"粉丝{j}", sentiment_label="positive", sentiment=0.8,
                          emotion="happiness", region="IP属地：江苏", like_count=2))
    for j in range(5):
        posts.append(Post("weibo", f"both{j}", text=f"{BRAND} 和 {RIVAL} 哪个好？第{j}问",
                          topics=[BRAND, RIVAL], created_at=now - timedelta(hours=5 + j),
                          author_id=f"u{j}", sentiment_label="neutral", sentiment=0.5))
    for i, (text, emotion) in enumerate(_rows(60, seed=4)):
        posts.append(Post("weibo", f"b{i}", text=f"{RIVAL} {text}", topics=[RIVAL],
                          created_at=now - timedelta(minutes=53 * i + 3), author_id=f"r{i % 9}",
                          like_count=i % 7, sentiment_label=POLARITY[emotion], emotion=emotion))
    for i, (text, emotion) in enumerate(_rows(200, seed=5)):  # the week before: hot terms
        posts.append(Post("weibo", f"old{i}", text=f"{BRAND} {text}", topics=[BRAND],
                          created_at=now - timedelta(days=8, minutes=37 * i),
                          sentiment_label=POLARITY[emotion]))
    posts.append(Post("weibo", "evil", text=f"{BRAND} {THEME} {HOSTILE_TEXT}", topics=[BRAND],
                      title=HOSTILE_TEXT, created_at=now - timedelta(minutes=40),
                      author_id="evil", author_name=HOSTILE_TEXT, url=HOSTILE_URL,
                      region=HOSTILE_TEXT, like_count=999, comment_count=99, repost_count=9,
                      sentiment_label="negative", sentiment=0.05, emotion="anger"))
    store.upsert_posts(posts)
    authors = [Author(p, f"u{k}", name=f"用户{k}", followers=FOLLOWERS[k % len(FOLLOWERS)],
                      region=REGIONS[(k + 1) % len(REGIONS)]) for p in platforms
               for k in range(30)]
    authors.append(Author("weibo", "u0", name="用户0", followers=None, tier="kol"))
    authors.append(Author("weibo", "evil", name=HOSTILE_TEXT, followers=3))
    store.upsert_authors(authors)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    folder = tmp_path_factory.mktemp("dash")
    path = folder / "store.db"
    store = SqliteStore(path)
    fill_panels(store, utcnow())
    app = make_app(folder, store=store, fill=False)
    with TestClient(app) as client:
        assert login(client, "vic").status_code == 303  # a viewer reads every panel
        yield {"client": client, "store": store, "uri": f"sqlite:///{path}"}


def _api(client, part, monitor=BRAND, **params):
    r = client.get(f"/api/monitors/{quote(monitor, safe='')}/{part}",
                   params={"range": "7d", **params})
    assert r.status_code == 200, (part, r.status_code, r.text[:300])
    return r.json()


def _cli(capsys, *args):
    assert main(["report", *args, "--format", "json"]) == 0
    return json.loads(capsys.readouterr().out)


def _window(data):
    return ["--since", data["since"], "--until", data["until"]]


@pytest.fixture(scope="module")
def why(world):
    return _api(world["client"], "why")


@pytest.fixture(scope="module")
def measure(world):
    return _api(world["client"], "measure")


def test_drivers_are_the_cli_report_with_examples_and_safe_links(world, why, capsys):
    cli = _cli(capsys, "drivers", "--monitor", BRAND, *_window(why), "--store", world["uri"])
    d = why["drivers"]
    assert d["empty"] is None and len(d["drivers"]) >= 1
    assert [(x["term"], x["count"], x["other_count"], x["z"]) for x in d["drivers"]] == [
        (x["term"], x["count"], x["other_count"], x["z"]) for x in cli["drivers"]]
    assert [[e["post_id"] for e in x["examples"]] for x in d["drivers"]] == [
        [e["post_id"] for e in x["examples"]] for x in cli["drivers"]]
    assert "客服推诿" in {h["term"] for h in d["hot_terms"]}  # new against the week before
    assert [(h["term"], h["count"], h["previous_count"]) for h in d["hot_terms"]] == [
        (h["term"], h["count"], h["previous_count"]) for h in cli["hot_terms"]]
    theme = next(x for x in d["drivers"] if "客服推诿" in x["term"] or "退款难" in x["term"])
    assert 1 <= len(theme["examples"]) <= 3
    evil = next(e for x in d["drivers"] for e in x["examples"] if e["post_id"] == "evil")
    assert HOSTILE_TEXT in evil["text"] and evil["author"] == HOSTILE_TEXT  # text, as text
    assert evil["url"] is None  # the javascript: link is not offered
    assert all(e["url"].startswith("https://") for x in d["drivers"] for e in x["examples"]
               if e["post_id"] != "evil")


def test_events_are_the_cli_report(world, why, capsys):
    cli = _cli(capsys, "events", "--monitor", BRAND, *_window(why), "--store", world["uri"])
    ours = why["events"]["events"]
    assert [(e["event_id"], e["label_terms"], e["size"], e["accounts"]) for e in ours] == [
        (e["event_id"], e["label_terms"], e["size"], e["accounts"]) for e in cli["events"]]
    for e, c in zip(ours, cli["events"], strict=True):
        assert e["net"] == ((c["positive"] - c["negative"]) / e["labelled"]
                            if e["labelled"] else None)
        assert [r["post_id"] for r in e["representatives"]] == [
            r["post_id"] for r in c["representatives"]]
        assert (e["first"], e["last"], e["peak"]) == (c["first_hour"], c["last_hour"],
                                                      c["peak_hour"])
        assert sum(p["posts"] for p in e["platforms"]) == sum(c["platforms"].values())
    launch = next(e for e in ours if any(r["text"] == LAUNCH for r in e["representatives"]))
    assert launch["size"] >= 12 and launch["accounts"] >= 12  # the copies are one story


def test_regions_are_the_cli_report_with_coverage(world, why, capsys):
    cli = _cli(capsys, "regions", "--monitor", BRAND, *_window(why), "--store", world["uri"])
    r = why["regions"]
    assert (r["total"], r["known"], r["coverage"]) == (cli["total"], cli["known"],
                                                       cli["coverage"])
    assert {x["region"]: (x["posts"], x["net"]) for x in r["regions"]} == {
        k: (v["posts"], v["net"]) for k, v in cli["regions"].items()}
    assert r["total"] == why["posts"]
    assert r["coverage_text"].startswith("地域已知的帖子占 ")
    assert {"广东", "北京", "海外", "江苏"} <= {x["region"] for x in r["regions"] if x["known"]}
    assert HOSTILE_TEXT not in {x["region"] for x in r["regions"]}  # 未知, not a place


def test_funnel_health_and_share_are_the_cli_reports(world, measure, capsys):
    window = [*_window(measure), "--store", world["uri"]]
    funnel = _cli(capsys, "funnel", "--monitor", BRAND, *window)
    f = measure["funnel"]
    assert [x["value"] for x in f["layers"]] == [funnel["total"][k] for k in
                                                  ("exposure", "interaction", "creation",
                                                   "sharing")]
    assert [s["rate"] for s in f["steps"]] == [s["rate"] for s in funnel["total"]["steps"]]
    assert {p["platform"]: p["posts"] for p in f["platforms"]} == {
        k: v["posts"] for k, v in funnel["platforms"].items()}
    assert f["layers"][0]["value"] > 0  # the WeChat reads and the authors' followers

    health = _cli(capsys, "health", "--monitor", BRAND, *window, "--window", "7d")
    h = measure["health"]
    assert h["index"] == health["index"] and 0 <= h["index"] <= 100
    assert [(c["name"], c["score"], c["inputs"]) for c in h["components"]] == [
        (c["name"], c["score"], c["inputs"]) for c in health["components"]]
    assert [c["label"] for c in h["components"]] == ["触达效率", "参与深度", "价值沉淀"]

    # every post here matches its monitor's query, so the panel's counts of every collected
    # post are the report's figures; engagement differs: the report caps the outlying counters
    # (the hostile post's 999 likes) and reads Zhihu thanks and WeChat 在看, the counts do not
    compare = _cli(capsys, "compare", "--monitor", BRAND, "--monitor", RIVAL, *window)
    s = measure["share"]
    assert [b["brand"] for b in s["brands"]] == [BRAND, RIVAL] and s["brands"][0]["self"]
    for b in s["brands"]:
        c = compare["overall"][b["brand"]]
        assert (b["mentions"], b["share_pct"], b["share_ci"], b["net"], b["net_ci"]) == (
            c["mentions"], c["share_pct"], c["share_ci"], c["net"], c["net_ci"])
        assert b["sentiment"] == {k: c[k] for k in ("positive", "neutral", "negative",
                                                     "unscored")}
    assert any(cap["capped"] for cap in compare["capping"])
    since, until = (datetime.fromisoformat(measure[k]) for k in ("since", "until"))
    engagement = {b: sum((p.like_count or 0) + (p.comment_count or 0) + (p.repost_count or 0)
                         for p in world["store"].posts(topic=b, since=since, until=until))
                  for b in (BRAND, RIVAL)}
    assert [b["engagement"] for b in s["brands"]] == [engagement[BRAND], engagement[RIVAL]]
    assert sum(b["share_pct"] for b in s["brands"]) == pytest.approx(100)
    assert sum(b["engagement_pct"] for b in s["brands"]) == pytest.approx(100)
    assert s["multi_brand_posts"] == 5 == compare["overlap"]["multi_brand_posts"]
    assert s["notes"] == ["声量份额按每个监测在这段时间采集到的全部帖子计算，互动数未做异常值封顶；"
                          "tingfeng report compare 还会按各监测的查询条件筛选帖子"]


def test_one_panel_at_a_time_matches_the_group(world, why, measure):
    for name in PANELS:
        one = _api(world["client"], f"panels/{name}")
        assert one[name] == (why if name in why else measure)[name], name
        # share's head counts the monitor's collected posts (here its query keeps them all)
        assert one["posts"] == why["posts"] == measure["posts"]
    share = _api(world["client"], "panels/share")
    assert share["posts"] == share["share"]["brands"][0]["mentions"]


def test_share_of_voice_counts_every_collected_post_of_each_monitor():
    """Two monitors with known posts: mentions, shares, intervals, net, engagement and the
    overlap, counted from the store; a post the query would drop still counts, one outside
    the window does not; the head of a window-reading panel stands for the group."""
    from crawlers.storage.memory import MemoryStore
    from scheduler.i18n import wording
    from scoring.measure.share import wilson
    from web.data.panels import panels

    now = datetime(2026, 5, 10, 4, 0, tzinfo=ZoneInfo("UTC"))
    store = MemoryStore()
    store.save_monitor(Monitor("甲", "甲", ["weibo"], every=1800))
    store.save_monitor(Monitor("乙", "乙", ["weibo"], every=1800))

    def at(pid, hours, topics, label=None, likes=0, text=None):
        return Post("weibo", pid, text=text or f"{' '.join(topics)} 帖子{pid}",
                    topics=list(topics), created_at=now - timedelta(hours=hours),
                    sentiment_label=label, like_count=likes)

    store.upsert_posts([
        at("a1", 1, ["甲"], "positive", likes=3), at("a2", 2, ["甲"], "negative", likes=1),
        at("a3", 3, ["甲"], "positive", text="没有品牌名"),  # the query would drop it
        at("ab", 4, ["甲", "乙"], "neutral", likes=2),  # both monitors'
        at("b1", 5, ["乙"], "negative", likes=4), at("b2", 6, ["乙"]),  # b2 unscored
        at("old", 24 * 9, ["甲"], "negative", likes=100),  # before the 7-day window
    ])
    a = store.get_monitor("甲")
    out = panels(store, a, ["share", "regions"], now=now, choice="7d", w=wording())
    s = out["share"]
    mine, theirs = s["brands"]
    assert (mine["brand"], mine["self"], theirs["brand"], theirs["self"]) == ("甲", True, "乙",
                                                                              False)
    assert (mine["mentions"], theirs["mentions"]) == (4, 3)  # ab counts once for each
    assert (mine["share_pct"], theirs["share_pct"]) == (57.1, 42.9)
    assert mine["share"] == pytest.approx(4 / 7)
    assert mine["share_ci"] == pytest.approx(wilson(4, 7))
    assert mine["sentiment"] == {"positive": 2, "neutral": 1, "negative": 1, "unscored": 0}
    assert theirs["sentiment"] == {"positive": 0, "neutral": 1, "negative": 1, "unscored": 1}
    lo, hi = wilson(2, 3)
    assert mine["net"] == pytest.approx(1 / 3)
    assert mine["net_ci"] == pytest.approx((2 * lo - 1, 2 * hi - 1))
    assert theirs["net"] == -1.0
    assert (mine["engagement"], theirs["engagement"]) == (6, 6)  # 3+1+0+2 and 4+0+2
    assert (mine["engagement_pct"], theirs["engagement_pct"]) == (50.0, 50.0)
    assert s["multi_brand_posts"] == 1 and s["empty"] is None and s["confidence"] == 0.95
    assert s["sentiment_names"]["unscored"] == "未评分" and len(s["notes"]) == 1
    assert out["posts"] == out["regions"]["total"] == 3  # the query keeps 3 of 甲's 4 posts
    alone = panels(store, a, ["share"], now=now, choice="7d", w=wording())
    assert alone["posts"] == 4  # share alone: the posts it counted
    english = panels(store, a, ["share"], now=now, choice="7d", w=wording("en"))["share"]
    assert english["notes"][0].startswith("Share of voice counts every post collected")
    store.delete_monitor("乙")
    single = panels(store, a, ["share"], now=now, choice="7d", w=wording())
    assert single["share"]["empty"].startswith("没有其他监测") and single["posts"] == 4


def test_emotion_curve_counts_per_bucket_as_the_cli(world, capsys):
    data = _api(world["client"], "emotions")
    store = world["store"]
    since, until = (datetime.fromisoformat(data[k]) for k in ("since", "until"))
    posts = list(store.posts(topic=BRAND, since=since, until=until))
    zone = ZoneInfo("Asia/Shanghai")
    expected: Counter[tuple[str, str]] = Counter()
    for p in posts:
        if normalise_emotion(p.emotion):
            day = p.created_at.astimezone(zone).strftime("%Y-%m-%d")
            expected[(day, normalise_emotion(p.emotion))] += 1
    got = Counter({(label, e["emotion"]): n for e in data["emotions"]
                   for label, n in zip(data["labels"], e["posts"], strict=True) if n})
    assert got == expected and got[next(iter(got))] > 0
    assert sum(data["unlabelled"]) == sum(1 for p in posts if not normalise_emotion(p.emotion))
    assert data["totals"]["labelled"] == sum(expected.values())
    assert "愤怒" in {e["name"] for e in data["emotions"]}  # anger, stored as 愤怒 or anger
    cli = _cli(capsys, "emotions", "--topic", BRAND, *_window(data), "--bucket", "1d",
               "--store", world["uri"])
    curve = {datetime.fromisoformat(b["start"]).astimezone(zone).strftime("%Y-%m-%d"):
             {k: v for k, v in b["counts"].items() if v} for b in cli["curve"] if b["total"]}
    ours = {label: {e["emotion"]: e["posts"][i] for e in data["emotions"] if e["posts"][i]}
            for i, label in enumerate(data["labels"])
            if sum(e["posts"][i] for e in data["emotions"]) + data["unlabelled"][i]}
    assert ours == curve
    series = _api(world["client"], "series")
    assert data["labels"] == series["labels"]  # one time axis for every chart


def test_tier_split_counts_the_authors_of_the_window(world):
    data = _api(world["client"], "tiers")
    store = world["store"]
    since, until = (datetime.fromisoformat(data[k]) for k in ("since", "until"))
    posts = [p for p in store.posts(topic=BRAND, since=since, until=until)]
    authors = store.authors()
    expected_posts: Counter[str] = Counter()
    accounts: dict[str, set[tuple[str, str]]] = {}
    for p in posts:
        if not p.author_id:
            continue
        a = authors.get((p.platform, p.author_id))
        tier = "unknown" if a is None else (a.tier or default_tier_of(a) or "unknown")
        expected_posts[tier] += 1
        accounts.setdefault(tier, set()).add((p.platform, p.author_id))
    assert {t["tier"]: (t["posts"], t["accounts"]) for t in data["tiers"]} == {
        t: (n, len(accounts[t])) for t, n in expected_posts.items()}
    assert {"kol", "head", "waist", "tail", "amateur", "unknown"} <= set(expected_posts)
    assert data["tiers"][-1]["tier"] == "unknown" and data["tiers"][0]["name"] == "大V"
    assert data["totals"]["no_author"] == sum(1 for p in posts if not p.author_id)
    assert data["totals"]["posts"] == len(posts)


def test_hostile_text_is_json_text_and_the_page_escapes_names(world, why):
    client = world["client"]
    r = client.get(f"/api/monitors/{quote(BRAND)}/why", params={"range": "7d"})
    assert r.headers["content-type"].startswith("application/json")
    assert r.headers["x-content-type-options"] == "nosniff"  # never sniffed as a page
    texts = [r["text"] for e in why["events"]["events"] for r in e["representatives"]]
    texts += [x["text"] for d in why["drivers"]["drivers"] for x in d["examples"]]
    assert any(HOSTILE_TEXT in t for t in texts)
    assert all(r["url"] is None or r["url"].startswith(("http://", "https://"))
               for e in why["events"]["events"] for r in e["representatives"])
    page = client.get(f"/monitors/{quote(BRAND)}").text
    assert HOSTILE_TEXT not in page and "javascript:" not in page
    store = world["store"]
    store.save_monitor(Monitor(HOSTILE_MONITOR, "品牌B", ["weibo"], every=3600))
    try:
        hostile = client.get(f"/monitors/{quote(HOSTILE_MONITOR, safe='')}").text
        assert HOSTILE_MONITOR not in hostile and "&lt;img src=x onerror" in hostile
        share = _api(client, "panels/share", monitor=HOSTILE_MONITOR)["share"]
        assert share["brands"][0]["brand"] == HOSTILE_MONITOR  # a name, as data
    finally:
        store.delete_monitor(HOSTILE_MONITOR)


def test_unknown_monitors_and_panels_are_404_and_bad_ranges_422(world):
    client = world["client"]
    for part in ("series", "emotions", "tiers", "why", "measure", "panels/drivers"):
        r = client.get(f"/api/monitors/{quote('没有这个')}/{part}")
        assert r.status_code == 404, part
        assert client.get(f"/api/monitors/{quote(BRAND)}/{part}",
                          params={"range": "2y"}).status_code == 422, part
    assert client.get(f"/api/monitors/{quote(BRAND)}/panels/waterarmy").status_code == 404


def test_the_page_links_the_other_monitor_pages_and_the_panels(world):
    page = world["client"].get(f"/monitors/{quote(BRAND)}", params={"range": "30d"}).text
    base = f"/monitors/{quote(BRAND, safe='')}"
    for part, label in (("kol", "KOL 榜"), ("cascades", "传播链"), ("runs", "运行记录"),
                        ("export", "导出报告")):
        assert f'<a href="{base}/{part}">{label}</a>' in page
    for name in PANELS:
        assert f'data-url="/api{base}/panels/{name}?range=30d"' in page
    assert 'data-url="/api' + base + '/emotions?range=30d"' in page


def test_empty_windows_say_so_in_chinese(world):
    store = world["store"]
    store.save_monitor(Monitor("空监测", "空监测", ["weibo"], every=3600))
    try:
        for part, key in (("panels/drivers", "drivers"), ("panels/events", "events"),
                          ("panels/regions", "regions"), ("panels/funnel", "funnel")):
            data = _api(world["client"], part, monitor="空监测")
            assert data[key]["empty"] == "这段时间没有帖子", part
            assert data["posts"] == 0
        health = _api(world["client"], "panels/health", monitor="空监测")["health"]
        assert health["index"] is None and health["empty"].startswith("这段时间")
        assert _api(world["client"], "tiers", monitor="空监测")["tiers"] == []
    finally:
        store.delete_monitor("空监测")


def test_the_cache_sees_new_posts_and_rescoring(tmp_path):
    store = SqliteStore(tmp_path / "store.db")
    now = utcnow()
    fill_panels(store, now)
    with TestClient(make_app(tmp_path, store=store, fill=False)) as client:
        login(client, "vic")
        first = _api(client, "panels/regions")
        again = _api(client, "panels/regions")
        assert again == first  # served from the cache: the same computation
        assert "西藏" not in {r["region"] for r in first["regions"]["regions"]}
        store.upsert_posts([Post("weibo", "new", text=f"{BRAND} 拉萨也买得到", topics=[BRAND],
                                 created_at=utcnow() - timedelta(minutes=1),
                                 region="IP属地：西藏", sentiment_label="positive")])
        after = _api(client, "panels/regions")
        assert after["regions"]["total"] == first["regions"]["total"] + 1
        assert {r["region"]: r["posts"] for r in after["regions"]["regions"]}["西藏"] == 1
        tiers = _api(client, "tiers")
        store.upsert_posts([Post("weibo", "new2", text=f"{BRAND} 又一条", topics=[BRAND],
                                 created_at=utcnow() - timedelta(minutes=1), author_id="u3")])
        assert _api(client, "tiers")["totals"]["posts"] == tiers["totals"]["posts"] + 1
        # rescoring changes the labels the drivers read: the drivers panel recomputes
        drivers = _api(client, "panels/drivers")["drivers"]
        negative = [p.key for p in store.posts(topic=BRAND, since=now - timedelta(days=7))
                    if p.sentiment_label == "negative"]
        store.set_scores({k: PostScore(0.9, "positive", "test") for k in negative[:10]})
        rescored = _api(client, "panels/drivers")["drivers"]
        assert rescored["negative_posts"] < drivers["negative_posts"]


def test_panel_cache_bounds_expires_and_computes_once_per_key():
    clock = [0.0]
    cache = PanelCache(size=2, ttl=10, clock=lambda: clock[0])
    calls: list[str] = []

    def make(value: str):
        def compute() -> str:
            calls.append(value)
            time.sleep(0.05)
            return value
        return compute

    threads = [threading.Thread(target=cache.get, args=("a", make("a"))) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert calls == ["a"]  # eight readers, one computation
    cache.get("b", make("b"))
    cache.get("c", make("c"))  # the least recently used ("a") goes
    assert cache.get("a", make("a2")) == "a2"
    clock[0] = 11  # past the TTL: computed again
    assert cache.get("a", make("a3")) == "a3"
    assert calls == ["a", "b", "c", "a2", "a3"]
