"""Key nodes with reasons, the 引爆点 (tipping-point) list and net sentiment downstream of a node.

Combines the methods of :mod:`graph.centrality` by reciprocal-rank fusion. Pure numpy/networkx.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import networkx as nx
import numpy as np

from ._typing import not_implemented_for
from .centrality import BETWEENNESS_EXACT_MAX, BETWEENNESS_SAMPLES, METHODS, all_scores, node_scores
from .forest import CascadeForest
from .shape import Cascades, as_forest

__all__ = [
    "KeyNode",
    "TippingPoint",
    "downstream_sentiment",
    "key_nodes",
    "rank_key_nodes",
    "tipping_points",
]

RRF_K = 60
"""Reciprocal-rank fusion constant (Cormack, Clarke & Büttcher 2009): score = Σ 1/(60 + rank)."""

_REASON = {
    "reach": ("reach", True),
    "out_degree": ("direct reposts", True),
    "pagerank": ("PageRank", False),
    "leaderrank": ("LeaderRank", False),
    "kshell": ("k-shell", True),
    "betweenness": ("bridge (betweenness)", False),
}


@dataclass
class KeyNode:
    """One key account (or post, in a cascade) and why it ranks."""

    node: Hashable
    name: str | None
    platform: str | None
    rank: int
    score: float
    reason: str
    ranks: dict[str, int]
    values: dict[str, float]
    downstream_positive: int = 0
    downstream_negative: int = 0
    net_sentiment: float | None = None
    followers: int | None = None
    tier: str | None = None
    verified: bool | None = None
    placeholder: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class TippingPoint:
    """An account whose reposts were themselves reposted: a 引爆点."""

    author: Hashable
    name: str | None
    second_level: int
    reposts: int
    reach: int
    cascades: int
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _order(scores: np.ndarray) -> np.ndarray:
    return np.lexsort((np.arange(len(scores)), -scores))


def _ranks(scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Competition ranks (ties share the better rank) and worst-case positions."""
    srt = np.sort(-scores)
    return (np.searchsorted(srt, -scores, side="left") + 1,
            np.searchsorted(srt, -scores, side="right"))


def key_nodes(G: nx.DiGraph, k: int = 10, method: str = "pagerank", **kwargs: Any
              ) -> list[tuple[Hashable, float]]:
    """The ``k`` best nodes by one method as ``(node, score)``, best first.

    Ties are broken by node insertion order. See :func:`graph.centrality.node_scores` for the
    methods (reach, out_degree, pagerank, leaderrank, kshell, betweenness) and their direction.

    Examples
    --------
    >>> import networkx as nx
    >>> G = nx.DiGraph([("a", "b"), ("a", "c"), ("a", "d"), ("b", "e")])
    >>> key_nodes(G, 2, "out_degree")
    [('a', 3.0), ('b', 1.0)]
    >>> key_nodes(G, 1, "pagerank")[0][0]
    'a'
    """
    scores = node_scores(G, method, **kwargs)
    vals = np.fromiter(scores.values(), float, len(scores))
    nodes = list(scores)
    return [(nodes[i], float(vals[i])) for i in _order(vals)[:k]]


def _topmost(F: CascadeForest, rows: np.ndarray) -> np.ndarray:
    """Rows with no ancestor by the same author, so nested subtrees are not counted twice."""
    rows = rows[F.author[rows] >= 0]
    a, pre = F.author[rows], F.preorder[rows]
    o = np.lexsort((pre, a))
    rows, a, pre = rows[o], a[o], pre[o]
    big = len(F.nodes) + 1
    acc = np.maximum.accumulate(a * big + pre + F.subtree_size[rows])
    covered = pre < np.r_[-1, acc[:-1]] - a * big  # inside an earlier subtree of the same author
    kept: np.ndarray = rows[~covered]
    return kept


def _author_downstream(F: CascadeForest, rows: np.ndarray) -> dict[str, np.ndarray]:
    """Per author: downstream rows and labelled downstream posts, over ``rows``' subtrees."""
    top = _topmost(F, rows)
    n = len(F.author_keys)
    a = F.author[top]
    out = {"reach": np.bincount(a, weights=F.subtree_size[top] - 1, minlength=n)}
    for name, code in (("positive", 1), ("negative", -1)):
        own = F.label == code
        below = F.subtree_sum(own)[top] - own[top]
        out[name] = np.bincount(a, weights=below, minlength=n)
    return out


def _downstream_counts(G: nx.DiGraph, node: Hashable) -> tuple[int, int]:
    below = nx.descendants(G, node)
    if G.graph.get("level") == "author":
        pos = neg = 0
        for _, _, d in G.out_edges(below | {node}, data=True):
            pos += d.get("positive", 0)
            neg += d.get("negative", 0)
        return pos, neg
    labels = [G.nodes[v].get("label") for v in below]
    return labels.count("positive"), labels.count("negative")


def _net(pos: float, neg: float) -> float | None:
    return (pos - neg) / (pos + neg) if pos + neg else None


@not_implemented_for("undirected")
def downstream_sentiment(G: nx.DiGraph, node: Hashable) -> float | None:
    """Net sentiment (pos − neg) / (pos + neg) of the reposts and comments downstream of ``node``.

    In a cascade (post level) the labels of the node's descendants count; in an author graph
    (``G.graph["level"] == "author"``) the ``positive``/``negative`` counts of every edge leaving
    the node or its descendants. None when nothing downstream is positive or negative.

    Examples
    --------
    >>> import networkx as nx
    >>> T = nx.DiGraph([("r", "a"), ("a", "b"), ("a", "c"), ("r", "d")])
    >>> nx.set_node_attributes(T, {"b": "negative", "c": "negative", "d": "positive"}, "label")
    >>> downstream_sentiment(T, "a"), downstream_sentiment(T, "r")
    (-1.0, -0.3333333333333333)
    """
    return _net(*_downstream_counts(G, node))


def rank_key_nodes(G: nx.DiGraph, cascades: Cascades | None = None, k: int = 10, *,
                   methods: Sequence[str] = METHODS, seed: int | None = 0,
                   exact_max: int = BETWEENNESS_EXACT_MAX,
                   samples: int = BETWEENNESS_SAMPLES) -> list[KeyNode]:
    """The ``k`` key nodes of ``G`` over all ``methods``, each with the reason it ranks.

    Parameters
    ----------
    G : nx.DiGraph
        Author graph from :func:`graph.repost_graph` (or a single cascade tree).
    cascades : CascadeForest or mapping of id to nx.DiGraph, optional
        The cascades behind ``G``; when given, an author's reach is the number of posts
        downstream of its posts (nested reposts of its own chains counted once) and the
        downstream sentiment comes from the posts' labels, all in linear time. Without them
        reach is descendants in ``G`` and the downstream sentiment of each returned node costs
        one traversal of ``G``.
    k : int
        How many nodes to return; also the "top" a method must place a node in to give a reason.
    methods : sequence of str
        Among :data:`graph.centrality.METHODS`.

    Returns
    -------
    list of KeyNode
        Best first. A node is a candidate when some method places it in its top ``k`` (ties
        included, score > 0); candidates are ordered by reciprocal-rank fusion
        Σ 1/(60 + rank) over all methods. Tier, followers and verified come from node
        attributes (present when ``repost_graph`` was given authors).

    Examples
    --------
    >>> import networkx as nx
    >>> G = nx.DiGraph([("a", "b"), ("a", "c"), ("a", "d"), ("b", "e"), ("b", "f")])
    >>> top = rank_key_nodes(G, k=2, methods=("reach", "out_degree"))
    >>> for n in top:
    ...     print(n.node, n.reason)
    a reach 5 (rank 1); direct reposts 3 (rank 1)
    b reach 2 (rank 2); direct reposts 2 (rank 2)
    """
    if len(G) == 0:
        return []
    reach = down = None
    if cascades is not None:
        F = as_forest(cascades)
        index = {v: i for i, v in enumerate(G)}
        amap = np.array([index.get(a, -1) for a in F.author_keys], np.int64)
        per_author = _author_downstream(F, np.arange(len(F.nodes)))
        down = {}
        ok = amap >= 0
        for name, arr in per_author.items():
            full = np.zeros(len(G))
            np.add.at(full, amap[ok], arr[ok])
            down[name] = full
        reach = down["reach"]
    nodes, scores = all_scores(G, methods, seed=seed, exact_max=exact_max, samples=samples,
                               reach=reach)
    ranks, worst, cand = {}, {}, set()
    for m, s in scores.items():
        ranks[m], worst[m] = _ranks(s)
        cand.update(np.flatnonzero((worst[m] <= k) & (s > 0)).tolist())
    fused = {i: sum(1.0 / (RRF_K + int(ranks[m][i])) for m in scores) for i in cand}
    chosen = sorted(cand, key=lambda i: (-fused[i], min(int(r[i]) for r in ranks.values()), i))[:k]
    out = []
    for pos, i in enumerate(chosen, 1):
        v = nodes[i]
        data = G.nodes[v]
        parts = []
        for m, s in scores.items():
            if worst[m][i] <= k and s[i] > 0:
                label, show = _REASON[m]
                parts.append(f"{label} {s[i]:,.0f} (rank {ranks[m][i]})" if show
                             else f"{label} rank {ranks[m][i]}")
        if down is not None:
            p, q = int(down["positive"][i]), int(down["negative"][i])
        else:
            p, q = _downstream_counts(G, v)
        out.append(KeyNode(
            node=v, name=data.get("name"), platform=data.get("platform"), rank=pos,
            score=fused[i], reason="; ".join(parts),
            ranks={m: int(r[i]) for m, r in ranks.items()},
            values={m: float(s[i]) for m, s in scores.items()},
            downstream_positive=p, downstream_negative=q, net_sentiment=_net(p, q),
            followers=data.get("followers"), tier=data.get("tier"), verified=data.get("verified"),
            placeholder=bool(data.get("placeholder", False)),
        ))
    return out


def tipping_points(cascades: Cascades, k: int = 10, *, G: nx.DiGraph | None = None
                   ) -> list[TippingPoint]:
    """The 引爆点 list: accounts whose reposts brought the most second-level reposts.

    For every repost (not a root, not a placeholder) the reposts made directly of it are its
    second-level reposts; an account's total over its reposts ranks it. ``reach`` is everything
    downstream of its reposts, ``reposts`` how many reposts it made, ``cascades`` in how many
    cascades. With ``G`` (the author graph) ``extra`` holds tier, followers and verified.

    Examples
    --------
    Account b reposts the root and is reposted twice; c reposts b and is reposted once:

    >>> import networkx as nx
    >>> T = nx.DiGraph([("p0", "p1"), ("p1", "p2"), ("p1", "p3"), ("p2", "p4"), ("p0", "p5")])
    >>> who = {"p0": "a", "p1": "b", "p2": "c", "p3": "d", "p4": "e", "p5": "b"}
    >>> nx.set_node_attributes(T, who, "author")
    >>> [(t.author, t.second_level, t.reach) for t in tipping_points({"c1": T})]
    [('b', 2, 3), ('c', 1, 1)]
    """
    F = as_forest(cascades)
    rows = np.flatnonzero((F.parent >= 0) & ~F.placeholder & (F.author >= 0))
    n = len(F.author_keys)
    a = F.author[rows]
    second = np.bincount(a, weights=F.children[rows], minlength=n)
    made = np.bincount(a, minlength=n)
    reach = _author_downstream(F, rows)["reach"]
    pairs = np.unique(a * max(len(F), 1) + F.tree[rows])
    spread = np.bincount(pairs // max(len(F), 1), minlength=n)
    order = np.lexsort((np.arange(n), -reach, -second))
    out = []
    for i in order[:k].tolist():
        if second[i] <= 0:
            break
        key = F.author_keys[i]
        extra = {}
        if G is not None and key in G:
            extra = {x: G.nodes[key].get(x)
                     for x in ("platform", "tier", "followers", "verified")}
        out.append(TippingPoint(key, F.author_names[i], int(second[i]), int(made[i]),
                                int(reach[i]), int(spread[i]), extra))
    return out
