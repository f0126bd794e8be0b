"""The store edge of graph/ (scheduler.graphing), `tingfeng graph` and the cascade picture."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta

import networkx as nx
import pytest

from crawlers.items import Author, Post
from crawlers.storage import open_store
from crawlers.storage.memory import MemoryStore
from scheduler.charts import new_figure
from scheduler.charts.cascade import draw_cascade
from scheduler.cli import main
from scheduler.graphing import graph_report, load_topic

T0 = datetime(2026, 11, 20, 8, tzinfo=UTC)
PNG = b"\x89PNG\r\n\x1a\n"


def topic_posts() -> tuple[list[Post], list[Author]]:
    """人民日报's post (two days before the window, not tagged) reposted in the window."""
    def post(pid, author, name, minutes, parent=None, label=None, topics=("品牌A",)):
        return Post("weibo", pid, author_id=author, author_name=name,
                    kind="repost" if parent else "original",
                    root_post_id="1" if parent else None, parent_post_id=parent,
                    created_at=T0 + timedelta(minutes=minutes), sentiment_label=label,
                    topics=list(topics), text=f"帖子{pid}")
    posts = [post("1", "a", "人民日报", -2 * 24 * 60, topics=()),
             post("2", "b", "大V乙", 10, "1", "negative"),
             post("3", "c", "网友丙", 20, "2", "negative"),
             post("4", "d", "网友丁", 30, "2", "positive"),
             post("5", "e", "网友戊", 40, "1", "negative"),
             post("6", "f", "网友己", 50, "3", "negative")]
    authors = [Author("weibo", "a", name="人民日报", followers=150_000_000, tier="kol",
                      verified=True),
               Author("weibo", "b", name="大V乙", followers=800_000, tier="head")]
    return posts, authors


@pytest.fixture
def store():
    s = MemoryStore()
    posts, authors = topic_posts()
    s.upsert_posts(posts)
    s.upsert_authors(authors)
    return s


def test_load_topic_completes_cascades_from_the_store(store):
    posts, authors, context = load_topic(store, "品牌A", since=T0)
    assert context == 1  # the root, outside the window and untagged
    assert {p.post_id for p in posts} == {"1", "2", "3", "4", "5", "6"}
    assert authors[("weibo", "b")].tier == "head"
    posts, _, context = load_topic(store, "品牌A", since=T0, complete=False)
    assert context == 0 and len(posts) == 5


def test_graph_report_key_nodes_tipping_points_and_cascades(store):
    r = graph_report(store, "品牌A", since=T0, k=3)
    assert (r["posts"], r["context_posts"], r["accounts"], r["cascade_count"]) == (5, 1, 6, 1)
    top = r["key_nodes"]
    assert [kn["node"] for kn in top[:2]] == ["a", "b"]
    assert top[0]["reason"].startswith("reach 5 (rank 1)")
    assert top[0]["tier"] == "kol" and top[0]["followers"] == 150_000_000
    # Below b: 3 −, 4 +, 6 − → (1 − 2)/3
    assert top[1]["net_sentiment"] == pytest.approx(-1 / 3)
    assert r["tipping_points"][0]["author"] == "b" and r["tipping_points"][0]["second_level"] == 2
    c = r["cascades"][0]
    assert (c["size"], c["depth"], c["root_author"], c["root_text"]) == (6, 3, "人民日报", "帖子1")
    assert c["velocity"]["timed"] == 6
    json.dumps(r, ensure_ascii=False)  # JSON-ready


@pytest.fixture
def store_uri(tmp_path):
    uri = f"sqlite:///{tmp_path / 't.db'}"
    posts, authors = topic_posts()
    with open_store(uri) as s:
        s.upsert_posts(posts)
        s.upsert_authors(authors)
    return uri


ALL = ["--since", "all"]  # the fixtures' posts are older than the default 7 days


def test_graph_command_table_json_and_picture(store_uri, tmp_path, capsys):
    png = tmp_path / "c.png"
    assert main(["--store", store_uri, "graph", *ALL, "--topic", "品牌A",
                 "--picture", str(png)]) == 0
    out = capsys.readouterr().out
    assert "Key nodes" in out and "人民日报" in out and "reach 5 (rank 1)" in out
    assert "引爆点" in out and "Cascades (largest 1 of 1)" in out
    assert png.read_bytes().startswith(PNG)
    assert main(["--store", store_uri, "graph", *ALL, "--topic", "品牌A", "-f", "json",
                 "--k", "2"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert len(report["key_nodes"]) == 2


def test_graph_export_command(store_uri, tmp_path):
    out = tmp_path / "g.gexf"
    assert main(["--store", store_uri, "graph", "export", *ALL, "--topic", "品牌A",
                 "--format", "gexf",
                 "-o", str(out)]) == 0
    G = nx.read_gexf(out)
    assert ("a", "b") in G.edges and G.nodes["a"]["label"] == "人民日报"
    out = tmp_path / "p.graphml"
    assert main(["--store", store_uri, "graph", "export", *ALL, "--topic", "品牌A",
                 "--format",
                 "graphml", "--level", "post", "-o", str(out)]) == 0
    assert nx.read_graphml(out).number_of_nodes() == 6


def test_unknown_topic_says_what_to_do(store_uri, capsys):
    assert main(["--store", store_uri, "graph", *ALL, "--topic", "无此话题"]) == 1
    assert "check the topic name" in capsys.readouterr().err


def pa_tree(n: int, seed: int = 0) -> nx.DiGraph:
    rng = random.Random(seed)
    T = nx.DiGraph()
    T.add_node(0, name="根账号", sentiment=0.5)
    urn = [0]
    for i in range(1, n):
        p = urn[rng.randrange(len(urn))]
        T.add_edge(p, i)
        T.nodes[i].update(name=f"用户{i}", sentiment=rng.random() if i % 5 else None)
        urn += [i, p]
    return T


def test_draw_cascade_returns_png_small_big_and_on_given_axes():
    assert draw_cascade(pa_tree(6)).startswith(PNG)
    assert draw_cascade(pa_tree(10_000), top=15).startswith(PNG)
    ax = new_figure().add_subplot()
    assert draw_cascade(pa_tree(30), ax=ax, labels={0: "自定义"}).startswith(PNG)
    assert any(t.get_text().startswith("自定义") for t in ax.texts)
