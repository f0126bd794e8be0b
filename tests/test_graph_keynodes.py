"""Key nodes: each method against networkx or a paper computation, then the fused ranking."""

from __future__ import annotations

import random

import networkx as nx
import pytest

from crawlers.items import Author, Post
from graph import (
    downstream_sentiment,
    key_nodes,
    kshell,
    leaderrank,
    node_scores,
    propagation_graphs,
    rank_key_nodes,
    tipping_points,
)


def six_node_cascade() -> nx.DiGraph:
    """r is reposted by a and b; a by c and d; d by e.

    On paper: reach r 5, a 3, d 1; direct reposts r 2, a 2, d 1; betweenness (directed,
    normalised by (n−1)(n−2) = 20): the paths through a are r→c, r→d, r→e (3/20), those
    through d are r→e and a→e (2/20).
    """
    return nx.DiGraph([("r", "a"), ("r", "b"), ("a", "c"), ("a", "d"), ("d", "e")])


def test_reach_out_degree_and_betweenness_on_paper():
    T = six_node_cascade()
    assert node_scores(T, "reach") == {"r": 5, "a": 3, "b": 0, "c": 0, "d": 1, "e": 0}
    assert key_nodes(T, 3, "out_degree") == [("r", 2.0), ("a", 2.0), ("d", 1.0)]
    bc = node_scores(T, "betweenness")
    assert bc["a"] == pytest.approx(3 / 20) and bc["d"] == pytest.approx(2 / 20)
    assert bc["r"] == 0 and bc["e"] == 0


def test_reach_on_a_general_digraph_is_descendants():
    rng = random.Random(3)
    for _ in range(10):
        G = nx.gnp_random_graph(25, 0.08, seed=rng.randint(0, 999), directed=True)
        got = node_scores(G, "reach")
        assert got == {v: len(nx.descendants(G, v)) for v in G}


def test_pagerank_is_networkx_pagerank_on_the_reversed_flow():
    rng = random.Random(5)
    for _ in range(10):
        G = nx.gnp_random_graph(30, 0.1, seed=rng.randint(0, 999), directed=True)
        for u, v in G.edges():
            G[u][v]["weight"] = rng.randint(1, 5)
        ours = node_scores(G, "pagerank")
        ref = nx.pagerank(G.reverse(), weight="weight")
        assert ours == pytest.approx(ref, abs=1e-5)


def test_leaderrank_star_on_paper_and_mass_conserved():
    lr = leaderrank(nx.DiGraph([("hub", 1), ("hub", 2), ("hub", 3)]))
    assert lr["hub"] == pytest.approx(28 / 19, abs=1e-5)
    assert lr[1] == pytest.approx(16 / 19, abs=1e-5)
    G = nx.gnp_random_graph(40, 0.1, seed=1, directed=True)
    assert sum(leaderrank(G).values()) == pytest.approx(40)


def test_leaderrank_ranks_the_source_of_a_chain_first():
    # a → b → c: b is the follower of a, c of b; a leads.
    lr = leaderrank(nx.DiGraph([("a", "b"), ("b", "c")]))
    assert lr["a"] > lr["b"] > lr["c"]


def test_kshell_equals_core_number_without_self_loops():
    rng = random.Random(9)
    for _ in range(15):
        G = nx.gnp_random_graph(50, rng.uniform(0.02, 0.2), seed=rng.randint(0, 999), directed=True)
        G.add_edge(0, 0)
        U = nx.Graph(G)
        U.remove_edges_from(nx.selfloop_edges(U))
        assert kshell(G) == nx.core_number(U)


def test_betweenness_exact_and_sampled():
    rng = random.Random(2)
    for _ in range(8):
        G = nx.gnp_random_graph(40, 0.07, seed=rng.randint(0, 999), directed=True)
        ours = node_scores(G, "betweenness")
        assert ours == pytest.approx(nx.betweenness_centrality(G), abs=1e-12)
    G = nx.gnp_random_graph(120, 0.05, seed=4, directed=True)
    a = node_scores(G, "betweenness", exact_max=50, samples=60, seed=1)
    b = node_scores(G, "betweenness", exact_max=50, samples=60, seed=1)
    assert a == b  # a fixed seed gives the same sample
    exact = nx.betweenness_centrality(G)
    top = max(exact, key=exact.get)
    assert sorted(a, key=a.get, reverse=True).index(top) < 10


def test_unknown_method_names_the_choices():
    with pytest.raises(ValueError, match="leaderrank"):
        node_scores(six_node_cascade(), "eigen")
    with pytest.raises(nx.NetworkXNotImplemented):
        node_scores(nx.Graph([(0, 1)]), "reach")


def test_rank_key_nodes_gives_reasons_on_the_six_node_cascade():
    top = rank_key_nodes(six_node_cascade(), k=2)
    assert [n.node for n in top] == ["r", "a"]
    assert top[0].reason.startswith("reach 5 (rank 1); direct reposts 2 (rank 1)")
    assert "bridge (betweenness) rank 1" in top[1].reason  # a relays r's flow furthest
    assert top[1].values["reach"] == 3 and top[1].ranks["betweenness"] == 1


def weibo_topic() -> tuple[list[Post], dict]:
    """a's post; b reposts twice (once nested below its own first repost); c, d, e follow."""
    def p(pid: str, author: str, parent: str | None, label: str | None = None) -> Post:
        return Post("weibo", pid, author_id=author, author_name=author.upper(),
                    kind="repost" if parent else "original", root_post_id="1" if parent else None,
                    parent_post_id=parent, sentiment_label=label)
    posts = [p("1", "a", None), p("2", "b", "1", "negative"), p("3", "c", "2", "negative"),
             p("4", "b", "3", "positive"), p("5", "d", "4", "negative"),
             p("6", "e", "1", "positive")]
    authors = {("weibo", "b"): Author("weibo", "b", name="B", followers=120_000, tier="waist")}
    return posts, authors


def test_rank_key_nodes_with_cascades_counts_nested_reach_once():
    posts, authors = weibo_topic()
    G, F = propagation_graphs(posts, authors)
    top = {n.node: n for n in rank_key_nodes(G, F, k=5)}
    # b's first repost has 3 posts below it (3, 4, 5); its nested repost 4 adds none.
    assert top["b"].values["reach"] == 3
    assert top["a"].values["reach"] == 5
    # Below b: 3 negative, 4 positive, 5 negative → (1 − 2) / 3.
    assert top["b"].net_sentiment == pytest.approx(-1 / 3)
    assert (top["b"].downstream_positive, top["b"].downstream_negative) == (1, 2)
    assert top["b"].followers == 120_000 and top["b"].tier == "waist" and top["b"].name == "B"


def test_tipping_points_count_reposts_of_reposts():
    posts, authors = weibo_topic()
    G, F = propagation_graphs(posts, authors)
    tips = tipping_points(F, G=G)
    # b's reposts (2 and 4) were reposted once each; c's once; d's and e's never.
    assert [(t.author, t.second_level, t.reposts) for t in tips] == [("b", 2, 2), ("c", 1, 1)]
    assert tips[0].extra["followers"] == 120_000


def test_downstream_sentiment_on_both_levels():
    posts, authors = weibo_topic()
    G, F = propagation_graphs(posts, authors)
    T = F.graph(0)
    assert downstream_sentiment(T, "2") == pytest.approx(-1 / 3)
    assert downstream_sentiment(T, "6") is None  # nothing below
    # Author level: every flow out of c and below it: c→b (positive), b→d (negative), b→c
    # (negative, the cycle back) → (1 − 2) / 3.
    assert downstream_sentiment(G, "c") == pytest.approx(-1 / 3)


def test_leaderrank_and_pagerank_on_graphs_without_edges():
    # Edgeless graph: the walk only goes node ↔ ground, a period-2 chain that never settles.
    # On paper (Lü et al.): nobody follows anybody, so every node keeps the mean score 1;
    # PageRank is uniform 1/n. The empty graph has no scores at all.
    G = nx.DiGraph()
    G.add_nodes_from(["a", "b", "c"])
    G.add_edge("c", "c")  # a self-loop is ignored by LeaderRank: still edgeless
    assert leaderrank(G) == {"a": 1.0, "b": 1.0, "c": 1.0}
    lone = nx.DiGraph()
    lone.add_node("x")
    assert leaderrank(lone) == {"x": 1.0}
    assert node_scores(lone, "pagerank") == {"x": 1.0}
    assert leaderrank(nx.DiGraph()) == {}
    assert node_scores(nx.DiGraph(), "pagerank") == {}


def test_rank_key_nodes_on_a_topic_with_originals_only():
    # Two originals and no repost: nothing flows, so no method scores anyone above 0
    # (reach 0, out-degree 0, k-shell 0, betweenness 0) except the uniform walks, whose ties
    # put both accounts in the top k; the call must not raise.
    posts = [Post("weibo", "1", author_id="a"), Post("weibo", "2", author_id="b")]
    G, F = propagation_graphs(posts)
    top = rank_key_nodes(G, F)
    assert {n.node for n in top} == {"a", "b"}
    assert all(n.values["reach"] == 0 and n.values["leaderrank"] == 1.0 for n in top)
