"""Louvain circles of the author graph."""

from __future__ import annotations

import networkx as nx
import pytest

from graph import circles, undirected_flow


def two_camps() -> nx.DiGraph:
    G = nx.DiGraph()
    for a, b, c in (("a1", "a2", "a3"), ("b1", "b2", "b3")):
        G.add_edge(a, b, weight=5, positive=4, negative=0)
        G.add_edge(a, c, weight=5, positive=2, negative=1)
        G.add_edge(b, c, weight=3, positive=0, negative=0)
    G["b1"]["b2"].update(positive=0, negative=4)
    G.add_edge("a3", "b1", weight=1, positive=0, negative=1)  # one weak bridge
    G.add_node("lonely")
    nx.set_node_attributes(G, {"a1": "甲", "b1": "乙"}, "name")
    return G


def test_two_camps_are_two_circles_with_their_own_sentiment():
    found = circles(two_camps())
    assert [sorted(a["node"] for a in c.top) for c in found] == [["a1", "a2", "a3"],
                                                              ["b1", "b2", "b3"]]
    a, b = found
    assert a.top[0] == {"node": "a1", "name": "甲", "reposted": 10, "tier": None, "followers": None}
    # Made by members of a: a→a2 (+4), a→a3 (+2 −1); camp b also received the bridge (−1).
    assert (a.positive, a.negative) == (6, 1) and a.net_sentiment == pytest.approx(5 / 7)
    assert (b.positive, b.negative) == (2, 6) and b.net_sentiment == pytest.approx(-0.5)
    assert a.internal_weight == 13 and a.size == 3


def test_repeatable_and_isolated_accounts_left_out():
    assert circles(two_camps()) == circles(two_camps())
    assert all("lonely" not in [t["node"] for t in c.top] for c in circles(two_camps()))
    assert circles(nx.DiGraph()) == []


def test_undirected_flow_sums_both_directions_and_drops_self_loops():
    G = nx.DiGraph([(1, 2, {"weight": 2}), (2, 1, {"weight": 3}), (1, 1, {"weight": 9})])
    H = undirected_flow(G)
    assert list(H.edges(data="weight")) == [(1, 2, 5)]
