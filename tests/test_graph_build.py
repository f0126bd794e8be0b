"""Building cascades and the author graph from posts, including every repair of bad input."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import networkx as nx
import numpy as np

from crawlers.items import Author, Post
from graph import cascade, cascade_forest, cascades, propagation_graphs, repost_graph

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def repost(pid: str, author: str, *, root: str = "1", parent: str | None = None,
           minutes: float = 1, **kw: object) -> Post:
    return Post("weibo", pid, kind="repost", author_id=author, author_name=author.upper(),
                root_post_id=root, parent_post_id=parent, created_at=at(minutes), **kw)


def original(pid: str = "1", author: str = "a") -> Post:
    return Post("weibo", pid, author_id=author, author_name=author.upper(), created_at=at(0))


def test_repost_tree_and_author_flow_weights():
    posts = [original(), repost("2", "b", parent="1"), repost("3", "c", parent="2", minutes=2),
             repost("4", "c", parent="1", minutes=3), repost("5", "b", parent="1", minutes=4)]
    T = cascade(posts, "1")
    assert sorted(T.edges()) == [("1", "2"), ("1", "4"), ("1", "5"), ("2", "3")]
    assert T.graph["root"] == "1" and T.nodes["3"]["author"] == "c"
    G = repost_graph(posts)
    # a was reposted by b twice and by c once; b by c once.
    assert dict(G.edges()) == {("a", "b"): {"weight": 2, "positive": 0, "negative": 0},
                               ("a", "c"): {"weight": 1, "positive": 0, "negative": 0},
                               ("b", "c"): {"weight": 1, "positive": 0, "negative": 0}}
    assert G.graph["stats"]["duplicate_edges"] == 1  # the second a → b merged into the weight
    assert G.nodes["b"]["posts"] == 2


def test_chain_with_uncollected_middle_builds_the_whole_path():
    # c's repost reads "//@B: //@A:" but B's repost was never collected.
    posts = [original(), repost("3", "c", parent_author_name="B", repost_path=["B", "A"])]
    T = cascade(posts, "1")
    assert sorted(T.edges()) == [("1", "name:B"), ("name:B", "3")]
    assert T.nodes["name:B"]["placeholder"] is True
    G = repost_graph(posts)
    assert sorted(G.edges()) == [("a", "name:B"), ("name:B", "c")]
    assert G.nodes["name:B"]["placeholder"] is True
    assert G.graph["stats"]["unresolved_names"] == 1


def test_longer_unresolved_chain_hangs_from_the_deepest_match():
    # d's chain: //@C: //@B: //@A: — only A (the root author) is known.
    posts = [original(), repost("4", "d", repost_path=["C", "B", "A"], parent_author_name="C")]
    T = cascade(posts, "1")
    assert sorted(T.edges()) == [("1", "name:B"), ("name:B", "name:C"), ("name:C", "4")]
    assert T.graph["stats"]["unresolved_names"] == 2


def test_screen_name_matched_among_topic_authors():
    # B never posted in this window but is a known account: the flow starts at the real id.
    authors = {("weibo", "b"): Author("weibo", "b", name="B", followers=5000, tier="waist")}
    posts = [original(), repost("3", "c", parent_author_name="B", repost_path=["B"])]
    G = repost_graph(posts, authors)
    assert sorted(G.edges()) == [("a", "b"), ("b", "c")]
    assert G.nodes["b"]["followers"] == 5000 and G.nodes["b"]["tier"] == "waist"
    assert G.nodes["b"]["placeholder"] is False
    T = cascade(posts, "1", authors)
    assert T.nodes["name:B"]["author"] == "b"


def test_screen_name_matched_to_the_latest_earlier_post_of_that_author():
    posts = [original(), repost("2", "b", parent="1", minutes=1),
             repost("5", "b", parent="1", minutes=10),  # later than 3: cannot be its parent
             repost("3", "c", parent_author_name="B", minutes=5)]
    T = cascade(posts, "1")
    assert list(T.predecessors("3")) == ["2"]
    assert T.graph["stats"]["resolved_by_name"] == 1


def test_parent_author_id_fallback():
    posts = [original(), repost("2", "b", parent="1"),
             repost("3", "c", parent="999", parent_author_id="b", minutes=2)]
    T = cascade(posts, "1")
    assert list(T.predecessors("3")) == ["2"]
    assert T.graph["stats"]["resolved_by_author"] == 1 and T.graph["stats"]["missing_parents"] == 0


def test_missing_parent_and_missing_root_become_placeholders():
    posts = [repost("2", "b", parent="1"), repost("3", "c", parent="9", minutes=2)]
    T = cascade(posts, "1")
    assert T.graph["root"] == "missing:1"
    assert sorted(T.edges()) == [("missing:1", "2"), ("missing:1", "missing:9"), ("missing:9", "3")]
    assert T.graph["stats"]["missing_parents"] == 2
    assert {v for v, ph in T.nodes(data="placeholder") if ph} == {"missing:1", "missing:9"}


def test_cycle_is_cut_at_its_earliest_post_and_counted():
    # 2 and 3 each claim the other as parent (a user reposting into their own chain).
    posts = [original(), repost("2", "b", parent="3", minutes=1),
             repost("3", "c", parent="2", minutes=2)]
    T = cascade(posts, "1")
    assert nx.is_arborescence(T)
    assert sorted(T.edges()) == [("1", "2"), ("2", "3")]
    assert T.graph["stats"]["cycles_broken"] == 1


def test_cycle_without_root_ids_is_still_one_tree():
    posts = [Post("weibo", "x", parent_post_id="y", author_id="a", kind="repost"),
             Post("weibo", "y", parent_post_id="x", author_id="b", kind="repost")]
    F = cascade_forest(posts)
    assert F.ids == ["x"] and F.stats["cycles_broken"] == 1
    assert nx.is_arborescence(F.graph(0))


def test_self_loops_dropped_and_counted():
    posts = [original(), repost("2", "b", parent="2"), repost("3", "a", parent="1", minutes=2)]
    F = cascade_forest(posts)
    T = F.graph(0)
    assert sorted(T.edges()) == [("1", "2"), ("1", "3")]  # 2 named itself: hung from the root
    G = repost_graph(posts)
    assert sorted(G.edges()) == [("a", "b")]  # a reposting a's own post is no flow
    assert G.graph["stats"]["self_loops"] == 2


def test_duplicate_records_merge_without_double_counting():
    dup = repost("2", "b", parent="1")
    late = repost("2", "b", parent=None, sentiment_label="negative")
    G = repost_graph([original(), dup, late])
    assert G["a"]["b"]["weight"] == 1
    assert G["a"]["b"]["negative"] == 1  # the second record filled in the label
    assert G.graph["stats"]["duplicate_posts"] == 1


def test_missing_times_tolerated_and_counted():
    posts = [original(), Post("weibo", "2", kind="repost", author_id="b", root_post_id="1"),
             Post("weibo", "3", kind="repost", author_id="c", root_post_id="1",
                  parent_author_name="B")]
    posts[1].author_name = "B"
    T = cascade(posts, "1")
    assert sorted(T.edges()) == [("1", "2"), ("2", "3")]
    assert T.graph["stats"]["missing_times"] == 2
    assert T.nodes["2"]["time"] is None


def test_forum_and_zhihu_reply_trees():
    def reply(pid: str, author: str, parent: str, kind: str = "comment") -> Post:
        return Post("forum", pid, kind=kind, author_id=author, root_post_id="t1",
                    parent_post_id=parent)
    posts = [Post("forum", "t1", kind="thread", author_id="op"), reply("f2", "u1", "t1", "reply"),
             reply("f3", "u2", "f2"), reply("f4", "op", "f3")]
    T = cascades(posts)["t1"]
    assert sorted(T.edges()) == [("f2", "f3"), ("f3", "f4"), ("t1", "f2")]
    G = repost_graph(posts)
    assert sorted(G.edges()) == [("op", "u1"), ("u1", "u2"), ("u2", "op")]


def test_platforms_never_merge_ids():
    posts = [Post("weibo", "1", author_id="7"), Post("zhihu", "1", author_id="7"),
             Post("zhihu", "2", author_id="8", root_post_id="1", kind="comment")]
    G, F = propagation_graphs(posts)
    assert sorted(F.ids) == ["weibo:1", "zhihu:1"]
    assert sorted(G.edges()) == [("zhihu:7", "zhihu:8")]
    assert G.nodes["weibo:7"]["platform"] == "weibo"


def test_kinds_filter_and_label_from_score():
    posts = [original(), repost("2", "b", parent="1", sentiment=0.9),
             Post("weibo", "c1", kind="comment", author_id="c", root_post_id="1",
                  sentiment_label="negative")]
    G = repost_graph(posts, kinds=("original", "repost"))
    assert sorted(G.edges()) == [("a", "b")]
    assert G["a"]["b"]["positive"] == 1  # 0.9 with no label counts as positive


def test_bad_input_never_crashes_and_always_gives_trees():
    rng = random.Random(7)
    for trial in range(30):
        posts = []
        for i in range(40):
            p = Post("weibo", str(i), author_id=rng.choice("abcdef"),
                     author_name=rng.choice(["A", "B", "C", None]), kind="repost",
                     created_at=at(rng.randint(0, 60)) if rng.random() < 0.7 else None)
            if rng.random() < 0.8:
                p.parent_post_id = str(rng.randint(0, 45))  # some never collected, some self
            if rng.random() < 0.5:
                p.root_post_id = str(rng.randint(0, 3))
            if rng.random() < 0.3:
                p.parent_author_name = rng.choice("ABCXY")
                p.repost_path = [p.parent_author_name, rng.choice("ABZ")]
            if rng.random() < 0.2:
                p.parent_author_id = rng.choice("abcz")
            posts.append(p)
        posts += posts[:3]  # duplicates
        G, F = propagation_graphs(posts)
        assert int(F.sizes.sum()) == len(F.nodes), trial
        for c in range(len(F)):
            T = F.graph(c)
            assert nx.is_arborescence(T), (trial, c)
        assert all(u != v for u, v in G.edges())
        real = [str(v) for v in F.nodes if not str(v).startswith(("missing:", "name:", "author:"))]
        assert sorted(real) == sorted(str(i) for i in range(40))
        assert np.all(F.depth >= 0)


def test_graph_package_stays_free_of_io_and_drawing_imports():
    import subprocess
    import sys

    code = ("import sys, graph; bad = {'matplotlib', 'scrapy', 'pymongo', 'snownlp'} & "
            "{m.split('.')[0] for m in sys.modules}; print(sorted(bad))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
