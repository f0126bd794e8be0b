"""Circles (圈层): Louvain communities of the undirected author graph, with net sentiment.

Pure networkx; no I/O.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import asdict, dataclass
from typing import Any

import networkx as nx

from ._typing import not_implemented_for

__all__ = ["Circle", "circles", "undirected_flow"]


@dataclass
class Circle:
    """One community: its size, its most reposted accounts and the sentiment of its posts."""

    id: int
    size: int
    top: list[dict[str, Any]]
    positive: int
    negative: int
    net_sentiment: float | None
    internal_weight: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@not_implemented_for("multigraph")
def undirected_flow(G: nx.Graph, weight: str = "weight") -> nx.Graph:
    """The undirected aggregate of a flow graph: u–v weighted by both directions, no self-loops.

    >>> import networkx as nx
    >>> G = nx.DiGraph([("a", "b", {"weight": 2}), ("b", "a", {"weight": 1}), ("a", "a")])
    >>> H = undirected_flow(G)
    >>> list(H.edges(data="weight"))
    [('a', 'b', 3)]
    """
    H = nx.Graph()
    H.add_nodes_from(G)
    for u, v, w in G.edges(data=weight, default=1):
        if u == v:
            continue
        if H.has_edge(u, v):
            H[u][v][weight] += w
        else:
            H.add_edge(u, v, **{weight: w})
    return H


@not_implemented_for("undirected")
@not_implemented_for("multigraph")
def circles(G: nx.DiGraph, *, top: int = 5, min_size: int = 2, seed: int = 0,
            resolution: float = 1.0, weight: str = "weight") -> list[Circle]:
    """Louvain communities of the author graph, largest first.

    Parameters
    ----------
    G : nx.DiGraph
        Author graph from :func:`graph.repost_graph` (edges u → v, attributes weight,
        positive, negative).
    top : int
        Accounts listed per circle: its members whose posts were reposted most (weighted
        out-degree in ``G``), with name, tier and followers when known.
    min_size : int
        Smaller communities (isolated accounts) are left out.
    seed : int
        Louvain is randomised; the fixed seed makes the result repeatable.

    Returns
    -------
    list of Circle
        ``positive``/``negative`` count the labelled reposts and comments *made by* members;
        ``net_sentiment`` is (pos − neg)/(pos + neg) or None; ``internal_weight`` the flows
        inside the circle.

    Examples
    --------
    Two triangles joined by one weak link split into two circles of three:

    >>> import networkx as nx
    >>> G = nx.DiGraph()
    >>> G.add_edges_from([(1, 2), (2, 3), (3, 1), (4, 5), (5, 6), (6, 4)], weight=5)
    >>> G.add_edge(3, 4, weight=1)
    >>> [(c.size, sorted(a["node"] for a in c.top)) for c in circles(G)]
    [(3, [1, 2, 3]), (3, [4, 5, 6])]
    """
    H = undirected_flow(G, weight)
    H.remove_nodes_from([v for v, d in H.degree() if d == 0])
    if H.number_of_edges() == 0:
        return []
    parts = nx.community.louvain_communities(H, weight=weight, resolution=resolution, seed=seed)
    order = {v: i for i, v in enumerate(G)}
    parts = sorted((p for p in parts if len(p) >= min_size),
                   key=lambda p: (-len(p), min(order[v] for v in p)))
    strength = dict(G.out_degree(weight=weight))
    out = []
    for cid, members in enumerate(parts):
        pos = neg = inner = 0
        for u, v, d in G.in_edges(members, data=True):
            pos += d.get("positive", 0)
            neg += d.get("negative", 0)
            if u in members and u != v:
                inner += d.get(weight, 1)
        ranked: list[Hashable] = sorted(members, key=lambda v: (-strength[v], order[v]))[:top]
        top_rows = [{"node": v, "name": G.nodes[v].get("name"), "reposted": strength[v],
                     "tier": G.nodes[v].get("tier"), "followers": G.nodes[v].get("followers")}
                    for v in ranked]
        out.append(Circle(cid, len(members), top_rows, pos, neg,
                          (pos - neg) / (pos + neg) if pos + neg else None, inner))
    return out
