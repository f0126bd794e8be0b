"""Cascade shape on hand-built trees with answers known on paper."""

from __future__ import annotations

import random

import networkx as nx
import pytest

from graph import (
    CascadeForest,
    cascade_breadth,
    cascade_depth,
    cascade_shape,
    cascade_shapes,
    cascade_velocity,
    level_counts,
    structural_virality,
)


def star(n: int) -> nx.DiGraph:
    return nx.DiGraph([(0, i) for i in range(1, n)])


def path(n: int) -> nx.DiGraph:
    return nx.DiGraph([(i, i + 1) for i in range(n - 1)])


@pytest.mark.parametrize("n", [2, 3, 5, 10, 101])
def test_star_virality_is_2_n_minus_1_over_n(n):
    # Leaves are 2 apart, each leaf 1 from the hub: the mean over all pairs is 2(n−1)/n.
    assert structural_virality(star(n)) == pytest.approx(2 * (n - 1) / n)


@pytest.mark.parametrize("n", [2, 3, 4, 7, 50])
def test_path_virality_is_n_plus_1_over_3(n):
    assert structural_virality(path(n)) == pytest.approx((n + 1) / 3)


def test_virality_matches_all_pairs_shortest_paths_on_random_trees():
    rng = random.Random(11)
    for _ in range(60):
        n = rng.randint(2, 40)
        U = nx.random_labeled_tree(n, seed=rng.randint(0, 10**6))
        expected = nx.average_shortest_path_length(U)
        assert structural_virality(U) == pytest.approx(expected)
        assert structural_virality(nx.bfs_tree(U, rng.randrange(n))) == pytest.approx(expected)


def test_single_node_has_no_pairs():
    lone = nx.DiGraph()
    lone.add_node(0)
    assert structural_virality(lone) == 0.0


def test_depth_breadth_levels():
    # 0 → 1, 2, 3;  1 → 4, 5;  5 → 6
    T = nx.DiGraph([(0, 1), (0, 2), (0, 3), (1, 4), (1, 5), (5, 6)])
    assert cascade_depth(T) == 3
    assert level_counts(T) == [1, 3, 2, 1]
    assert cascade_breadth(T) == 3
    s = cascade_shape(T)
    assert s["size"] == 7 and s["levels"] == [1, 3, 2, 1]
    assert s["level_shares"] == pytest.approx([1 / 7, 3 / 7, 2 / 7, 1 / 7])
    assert s["velocity"] is None  # no times at all


def test_velocity_from_times():
    T = star(5)
    # root at 0; reposts at 1 h, 1 h, 2 h, 4 h → 4 reposts over 4 hours
    nx.set_node_attributes(T, {0: 0, 1: 3600, 2: 3600, 3: 7200, 4: 14400}, "time")
    v = cascade_velocity(T)
    assert v["reposts_per_hour"] == pytest.approx(1.0)
    assert v["hours_to_50pct"] == pytest.approx(1.0)  # 3rd of 5 posts
    assert v["hours_to_90pct"] == pytest.approx(4.0)  # 5th of 5
    assert v["untimed"] == 0


def test_velocity_leaves_out_untimed_posts_and_says_so():
    T = star(4)
    nx.set_node_attributes(T, {0: 0, 1: 1800, 2: None, 3: 3600}, "time")
    v = cascade_velocity(T)
    assert v["timed"] == 3 and v["untimed"] == 1
    assert v["reposts_per_hour"] == pytest.approx(2.0)
    T.nodes[0]["time"] = None
    assert cascade_velocity(T) is None  # no start time: no velocity


def test_forest_shapes_match_single_tree_answers():
    trees = {"s": star(6), "p": path(5), "one": nx.DiGraph([("r", "x")]).subgraph(["r"]).copy()}
    shapes = cascade_shapes(trees)
    assert shapes["s"]["structural_virality"] == pytest.approx(2 * 5 / 6)
    assert shapes["p"]["structural_virality"] == pytest.approx(2.0)
    assert shapes["p"]["depth"] == 4 and shapes["p"]["max_breadth"] == 1
    assert shapes["one"] == {"size": 1, "depth": 0, "max_breadth": 1, "structural_virality": 0.0,
                             "velocity": None, "levels": [1], "level_shares": [1.0]}


def test_not_a_tree_is_refused():
    with pytest.raises(nx.NotATree):
        structural_virality(nx.DiGraph([(0, 1), (1, 2), (2, 1)]))
    with pytest.raises(nx.NotATree):
        cascade_shapes({"two roots": nx.DiGraph([(0, 1), (2, 3)])})
    with pytest.raises(nx.NetworkXNotImplemented):
        structural_virality(nx.MultiDiGraph([(0, 1)]))


def test_forest_preorder_and_descendants():
    T = nx.DiGraph([("r", "a"), ("r", "b"), ("a", "c"), ("a", "d"), ("b", "e")])
    F = CascadeForest.from_graph(T)
    assert sorted(F.nodes[i] for i in F.descendants(F.nodes.index("a"))) == ["c", "d"]
    assert F.subtree_size.tolist() == [6, 3, 2, 1, 1, 1]
