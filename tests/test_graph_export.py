"""Exports Gephi can open: GEXF and GraphML read back by networkx, and node-link JSON."""

from __future__ import annotations

import io
import json

import networkx as nx
import numpy as np

from crawlers.items import Author, Post
from graph import export_graph, gephi_ready, propagation_graphs, repost_graph, write_graph


def topic_graph() -> nx.DiGraph:
    posts = [Post("weibo", "1", author_id="a", author_name="人民日报"),
             Post("weibo", "2", author_id="b", author_name="网友乙", kind="repost",
                  root_post_id="1", parent_post_id="1", sentiment_label="negative"),
             Post("weibo", "3", author_id="c", kind="repost", root_post_id="1",
                  parent_author_name="未知", repost_path=["未知"])]
    authors = [Author("weibo", "a", name="人民日报", followers=1_000_000, verified=True)]
    return repost_graph(posts, authors)


def test_gexf_round_trip_keeps_names_weights_and_types(tmp_path):
    G = topic_graph()
    path = write_graph(G, tmp_path / "t.gexf")
    H = nx.read_gexf(path)
    assert set(H.edges()) == set(G.edges())
    assert H.nodes["a"]["label"] == "人民日报"
    assert H.nodes["a"]["followers"] == 1_000_000 and H.nodes["a"]["verified"] is True
    assert "followers" not in H.nodes["b"]  # None is left out, never written as "None"
    assert H["a"]["b"]["weight"] == 1 and H["a"]["b"]["negative"] == 1
    assert H.nodes["name:未知"]["placeholder"] is True


def test_graphml_round_trip(tmp_path):
    G = topic_graph()
    H = nx.read_graphml(write_graph(G, tmp_path / "t.graphml"))
    assert set(H.edges()) == set(G.edges())
    assert H.nodes["a"]["name"] == "人民日报"
    assert H.graph["stats/unresolved_names"] == 1


def test_cascade_export_renames_the_sentiment_label():
    _, F = propagation_graphs([Post("weibo", "1", author_id="a", sentiment_label="positive")])
    H = nx.read_gexf(io.BytesIO(export_graph(F.graph(0), "gexf")))
    assert H.nodes["1"]["sentiment_label"] == "positive"


def test_json_is_node_link_and_utf8():
    data = json.loads(export_graph(topic_graph(), "json").decode("utf-8"))
    assert {n["id"] for n in data["nodes"]} == {"a", "b", "c", "name:未知"}
    assert {(e["source"], e["target"]) for e in data["edges"]} == {("a", "b"), ("a", "name:未知"),
                                                                   ("name:未知", "c")}


def test_values_gephi_cannot_read_are_converted():
    G = nx.DiGraph()
    G.add_node(1, score=np.float64(0.5), n=np.int64(3), tags={"x", "y"}, bad=float("nan"))
    G.add_node(2, score=1, n=4)
    G.add_edge(1, 2, weight=np.int32(2), meta={"k": "v"})
    H = gephi_ready(G)
    assert H.nodes[1] == {"score": 0.5, "n": 3, "tags": '["x", "y"]'}
    assert H.nodes[2] == {"score": 1.0, "n": 4}  # int beside float: every value a float
    assert type(H[1][2]["weight"]) is int and H[1][2]["meta"] == '{"k": "v"}'
    nx.read_gexf(io.BytesIO(export_graph(G, "gexf")))  # parses
