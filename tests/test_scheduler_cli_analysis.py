"""``tingfeng report regions|emotions|waterarmy`` on a real SQLite store: Chinese tables, JSON,
CSV with formula injection quoted, HTML with hostile text escaped."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from crawlers.items import Author, Post
from crawlers.storage import open_store
from scheduler.cli import main

NOW = datetime.now(UTC).replace(microsecond=0)
HOSTILE = '=HYPERLINK("http://x") <script>alert(1)</script>'


@pytest.fixture
def uri(tmp_path):
    uri = f"sqlite:///{tmp_path}/a.db"
    posts = []
    for i in range(30):
        region = ["IP属地：广东", "发布于 北京", "上海", None][i % 4]
        label = ["negative", "positive", "neutral"][i % 3]
        emotion = ["anger", "happiness", "sadness", None][i % 4]
        posts.append(Post("weibo", f"p{i}", text=f"品牌A 投诉 {i}", topics=["品牌A"],
                          created_at=NOW - timedelta(hours=i), region=region,
                          sentiment_label=label, emotion=emotion, author_id=f"u{i % 10}",
                          author_name=f"用户{i % 10}", root_post_id="p0" if i else None,
                          parent_post_id="p0" if i else None, kind="repost" if i else "original"))
    # a ring: ten default-named accounts posting the same text within seconds in one cascade
    for j in range(10):
        posts.append(Post("weibo", f"r{j}", text="良心企业，产品质量一流，支持国货！大家快买",
                          topics=["品牌A"], created_at=NOW - timedelta(minutes=30, seconds=j),
                          author_id=f"ring{j}", author_name=f"用户{7_000_000_000 + j}",
                          kind="repost", root_post_id="p0", parent_post_id="p0"))
    posts.append(Post("weibo", "h", text=HOSTILE, topics=["品牌A"], region=HOSTILE,
                      created_at=NOW - timedelta(minutes=5), author_name=HOSTILE))
    with open_store(uri) as store:
        store.upsert_posts(posts)
        store.upsert_authors([Author("weibo", f"ring{j}", name=f"用户{7_000_000_000 + j}",
                                     followers=3, following=900) for j in range(10)])
    return uri


def test_regions_table_names_provinces_and_coverage(uri, capsys):
    assert main(["report", "regions", "--topic", "品牌A", "--store", uri]) == 0
    out = capsys.readouterr().out
    assert "地域分布" in out and "广东" in out and "北京" in out and "上海" in out
    assert "地域已知的帖子占" in out and "weibo" not in out


def test_emotions_json_has_the_mix_and_a_curve(uri, capsys):
    assert main(["report", "emotions", "--topic", "品牌A", "--format", "json", "--bucket", "6h",
                 "--store", uri]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["mix"]["counts"]["anger"] == 8 and data["mix"]["unlabelled"] > 0
    assert len(data["curve"]) >= 5


def test_waterarmy_lists_the_ring_with_reasons(uri, capsys):
    assert main(["report", "waterarmy", "--topic", "品牌A", "--store", uri]) == 0
    out = capsys.readouterr().out
    ring = [line for line in out.splitlines() if "用户700000000" in line]
    assert len(ring) >= 8 and "秒级扎堆发帖" in out and "默认样式昵称" in out


def test_csv_quotes_formulas_and_html_escapes_crawled_text(uri, capsys, tmp_path):
    assert main(["report", "regions", "--topic", "品牌A", "--format", "csv",
                 "--store", uri]) == 0
    csv_text = capsys.readouterr().out
    assert "\n=" not in csv_text and ",=" not in csv_text
    page = tmp_path / "r.html"
    assert main(["report", "waterarmy", "--topic", "品牌A", "--format", "html", "-o", str(page),
                 "--store", uri]) == 0
    html = page.read_text(encoding="utf-8")
    assert "<script>alert" not in html


def test_bad_options_are_one_line_errors(uri, capsys):
    assert main(["report", "emotions", "--topic", "品牌A", "--bucket", "5m",
                 "--store", uri]) != 0
    assert "at least 1h" in capsys.readouterr().err
    assert main(["report", "waterarmy", "--monitor", "nope", "--store", uri]) != 0
    assert "no monitor 'nope'" in capsys.readouterr().err


def test_funnel_health_and_sheets_reports(uri, capsys):
    assert main(["report", "funnel", "--topic", "品牌A", "--daily", "--store", uri]) == 0
    out = capsys.readouterr().out
    assert "看见与接触" in out and "分享与传播" in out and "每日" in out
    assert main(["report", "health", "--topic", "品牌A", "--format", "json",
                 "--store", uri]) == 0
    data = json.loads(capsys.readouterr().out)
    assert {c["name"] for c in data["components"]} >= {"reach", "depth", "retention"} or \
        len(data["components"]) == 3
    assert main(["report", "sheets", "--topic", "品牌A", "--store", uri]) == 0
    assert "话题总量" in capsys.readouterr().out


def test_compare_needs_two_monitors_and_shares_sum_to_100(uri, capsys):
    from crawlers.items import Monitor
    from scheduler.monitors import add_monitor

    with open_store(uri) as store:
        for name in ("品牌A", "品牌B"):
            add_monitor(store, Monitor(name, "品牌A OR 良心", ["weibo"], every=3600), now=NOW)
        store.upsert_posts([Post("weibo", f"b{i}", text="良心企业 品牌A", topics=["品牌B"],
                                 created_at=NOW - timedelta(hours=1)) for i in range(5)])
    assert main(["report", "compare", "--monitor", "品牌A", "--store", uri]) != 0
    assert "at least two" in capsys.readouterr().err
    assert main(["report", "compare", "--monitor", "品牌A", "--monitor", "品牌B", "--format",
                 "json", "--store", uri]) == 0
    data = json.loads(capsys.readouterr().out)
    assert sum(b["share_pct"] for b in data["overall"].values()) == pytest.approx(100)


def test_drivers_and_events_reports(uri, capsys):
    with open_store(uri) as store:  # a complaint theme among the negative posts
        store.upsert_posts([Post("weibo", f"n{i}", text=f"品牌A 电池鼓包 太吓人 第{i}台",
                                 topics=["品牌A"], sentiment_label="negative",
                                 created_at=NOW - timedelta(hours=1, minutes=i))
                            for i in range(25)]
                           + [Post("weibo", f"o{i}", text=f"品牌A 外观 好看 手感 不错 {i}",
                                   topics=["品牌A"], sentiment_label="positive",
                                   created_at=NOW - timedelta(hours=2, minutes=i))
                              for i in range(25)])
    assert main(["report", "drivers", "--topic", "品牌A", "--format", "json",
                 "--store", uri]) == 0
    data = json.loads(capsys.readouterr().out)
    assert any("电池鼓包" in d["term"] for d in data["drivers"]), data["drivers"][:5]
    assert main(["report", "events", "--topic", "品牌A", "--store", uri]) == 0
    out = capsys.readouterr().out
    assert "事件" in out and "代表帖子" in out


def test_kol_and_topic_reports_carry_the_why_sections(uri, capsys, tmp_path):
    assert main(["report", "topic", "--topic", "品牌A", "--store", uri]) == 0
    out = capsys.readouterr().out
    assert "为什么" in out and "地域分布" in out and "情绪构成" in out and "事件" in out
    assert main(["report", "kol", "--topic", "品牌A", "--format", "json", "--store", uri]) == 0
    data = json.loads(capsys.readouterr().out)
    assert set(data["why"]) == {"drivers", "events", "regions", "emotions"}
    page = tmp_path / "t.html"
    assert main(["report", "topic", "--topic", "品牌A", "--format", "html", "--no-pictures",
                 "-o", str(page), "--store", uri]) == 0
    html = page.read_text(encoding="utf-8")
    assert "为什么" in html and "<script>alert" not in html
    assert html.index("为什么") < html.index("</body>")


def test_the_kol_report_shows_influence_indices_with_their_inputs(tmp_path, capsys):
    uri = f"sqlite:///{tmp_path / 'inf.db'}"
    with open_store(uri) as store:
        store.upsert_posts(
            [Post("weibo", f"w{i}", text=f"品牌A 新品 {i}", topics=["品牌A"], author_id="blogger",
                  kind="original", repost_count=10 * i, comment_count=i, like_count=100,
                  created_at=NOW - timedelta(hours=i + 1)) for i in range(4)]
            + [Post("zhihu", "a1", text="品牌A 值得买吗", topics=["品牌A"], author_id="expert",
                    kind="answer", like_count=900, created_at=NOW - timedelta(hours=2))])
        store.upsert_authors([
            Author("weibo", "blogger", name="数码博主", followers=300_000),
            # Zhihu grades by upvotes: 900k followers but few upvotes is a tail account.
            Author("zhihu", "expert", name="=HYPERLINK(\"x\")", followers=900_000,
                   extra={"voteup_count": 20_000}),
        ])
    assert main(["report", "kol", "--topic", "品牌A", "--since", "7d", "--store", uri]) == 0
    out = capsys.readouterr().out
    assert "影响力指数（含公式输入）" in out
    weibo = out[out.index("微博影响力指数"):]
    assert "BCI" in weibo and "粉丝 300000" in weibo and "originals = 4" in weibo
    zhihu = out[out.index("知乎影响力指数"):]
    assert "获得赞同 20000" in zhihu and "尾部" in zhihu.splitlines()[3]
    assert main(["report", "kol", "--topic", "品牌A", "--since", "7d", "--format", "json",
                 "--store", uri]) == 0
    data = json.loads(capsys.readouterr().out)
    (row,) = data["influence"]["zhihu"]
    assert (row["index"], row["tier"], row["inputs"]["voteups"]) == ("zhihu", "tail", 20_000)
