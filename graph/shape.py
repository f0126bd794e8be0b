"""Cascade shape: size, depth, breadth, per-level counts, structural virality and velocity.

All measures run in linear time on a whole forest at once (see :class:`graph.forest.CascadeForest`).
Pure numpy/networkx; no I/O, no matplotlib.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import Any

import networkx as nx
import numpy as np

from ._typing import not_implemented_for
from .forest import CascadeForest

__all__ = [
    "cascade_breadth",
    "cascade_depth",
    "cascade_shape",
    "cascade_shapes",
    "cascade_size",
    "cascade_velocity",
    "level_counts",
    "structural_virality",
]

Cascades = CascadeForest | Mapping[Hashable, nx.DiGraph]


def as_forest(cascades: Cascades) -> CascadeForest:
    """``cascades`` as a :class:`CascadeForest` (converted from ``{id: nx.DiGraph}`` if needed)."""
    if isinstance(cascades, CascadeForest):
        return cascades
    return CascadeForest.from_graphs(cascades)


def _tree(T: nx.Graph) -> CascadeForest:
    if not T.is_directed():
        if len(T) == 0 or not nx.is_tree(T):
            raise nx.NotATree("an undirected cascade must be a tree")
        root = T.graph.get("root", next(iter(T)))
        T = nx.bfs_tree(T, root)
    return CascadeForest.from_graph(T)


def _velocity(F: CascadeForest, pcts: tuple[int, ...] = (50, 90)) -> list[dict[str, Any] | None]:
    t0 = F.time[F.roots]
    rel = F.time - t0[F.tree]
    timed = np.flatnonzero(~np.isnan(rel))
    order = timed[np.lexsort((rel[timed], F.tree[timed]))]
    n_t = np.bincount(F.tree[order], minlength=len(F))
    start = np.cumsum(n_t) - n_t
    srel = np.maximum(rel[order], 0.0)  # a repost stamped before its root counts as instant
    out: list[dict[str, Any] | None] = [None] * len(F)
    ok = np.flatnonzero(n_t >= 2)
    if ok.size == 0:
        return out
    span = srel[start[ok] + n_t[ok] - 1] / 3600.0
    at = {p: srel[start[ok] + (n_t[ok] * p + 99) // 100 - 1] / 3600.0 for p in pcts}
    untimed = F.sizes[ok] - n_t[ok]
    for j, c in enumerate(ok.tolist()):
        v: dict[str, Any] = {
            "reposts_per_hour": float((n_t[c] - 1) / span[j]) if span[j] > 0 else None,
        }
        for p in pcts:
            v[f"hours_to_{p}pct"] = float(at[p][j])
        v["timed"] = int(n_t[c])
        v["untimed"] = int(untimed[j])
        out[c] = v
    return out


def cascade_shapes(cascades: Cascades, *, levels: bool = True) -> dict[Hashable, dict[str, Any]]:
    """Shape of every cascade, vectorised over the whole forest.

    Parameters
    ----------
    cascades : CascadeForest or mapping of id to nx.DiGraph
        Trees with edges parent → child (see :func:`graph.cascades`).
    levels : bool
        Include the per-level ``levels`` and ``level_shares`` lists.

    Returns
    -------
    dict
        ``{cascade id: {"size", "depth", "max_breadth", "structural_virality", "velocity",
        "levels", "level_shares"}}``. ``size`` counts every node (placeholders for uncollected
        posts included), ``depth`` the longest root-to-leaf path in edges, ``levels[d]`` the
        nodes at depth d. ``velocity`` is None when the root or every repost lacks a time,
        else ``{"reposts_per_hour", "hours_to_50pct", "hours_to_90pct", "timed", "untimed"}``
        measured from the root's time over the timed posts only (``untimed`` says how many
        were left out).

    Notes
    -----
    O(n + depth) numpy work: depth by pointer jumping, subtree sizes by one pass per level.

    Examples
    --------
    >>> import networkx as nx
    >>> T = nx.DiGraph([(0, 1), (0, 2), (1, 3)])
    >>> s = cascade_shapes({"t": T})["t"]
    >>> s["size"], s["depth"], s["max_breadth"], s["levels"], s["structural_virality"]
    (4, 2, 2, [1, 2, 1], 1.6666666666666667)
    """
    F = as_forest(cascades)
    n = F.sizes
    depth, size = F.depth, F.subtree_size
    tree_depth = np.maximum.reduceat(depth, F.roots) if len(F) else depth[:0]
    width = int(tree_depth.max(initial=0)) + 1
    keys, counts = np.unique(F.tree * width + depth, return_counts=True)
    first = np.flatnonzero(np.r_[True, np.diff(keys // width) != 0])
    breadth = np.maximum.reduceat(counts, first) if len(first) else counts
    child = np.flatnonzero(F.parent >= 0)
    s = size[child]
    pair_dist = np.bincount(F.tree[child], weights=s * (n[F.tree[child]] - s), minlength=len(F))
    pairs = n * (n - 1) / 2.0
    sv = np.divide(pair_dist, pairs, out=np.zeros(len(F)), where=pairs > 0)
    velocity = _velocity(F)
    per_level = np.split(counts, first[1:]) if levels else None
    out: dict[Hashable, dict[str, Any]] = {}
    for c, cid in enumerate(F.ids):
        shape: dict[str, Any] = {
            "size": int(n[c]),
            "depth": int(tree_depth[c]),
            "max_breadth": int(breadth[c]),
            "structural_virality": float(sv[c]),
            "velocity": velocity[c],
        }
        if per_level is not None:
            lv = per_level[c].tolist()
            shape["levels"] = lv
            shape["level_shares"] = [x / int(n[c]) for x in lv]
        out[cid] = shape
    return out


@not_implemented_for("multigraph")
def cascade_shape(T: nx.Graph) -> dict[str, Any]:
    """Every shape measure of one cascade tree (see :func:`cascade_shapes`).

    Examples
    --------
    >>> import networkx as nx
    >>> cascade_shape(nx.DiGraph([("r", "a"), ("r", "b")]))["level_shares"]
    [0.3333333333333333, 0.6666666666666666]
    """
    return next(iter(cascade_shapes(_tree(T)).values()))


@not_implemented_for("multigraph")
def cascade_size(T: nx.Graph) -> int:
    """Number of nodes of the cascade.

    >>> import networkx as nx
    >>> cascade_size(nx.DiGraph([(0, 1), (1, 2)]))
    3
    """
    return len(T)


@not_implemented_for("multigraph")
def cascade_depth(T: nx.Graph) -> int:
    """Longest root-to-leaf path, in edges (0 for a lone root).

    >>> import networkx as nx
    >>> cascade_depth(nx.DiGraph([(0, 1), (1, 2), (0, 3)]))
    2
    """
    return int(_tree(T).depth.max())


@not_implemented_for("multigraph")
def level_counts(T: nx.Graph) -> list[int]:
    """Number of nodes at each depth, root level first.

    >>> import networkx as nx
    >>> level_counts(nx.DiGraph([(0, 1), (0, 2), (2, 3)]))
    [1, 2, 1]
    """
    counts: list[int] = np.bincount(_tree(T).depth).tolist()
    return counts


@not_implemented_for("multigraph")
def cascade_breadth(T: nx.Graph) -> int:
    """Maximum number of nodes at one depth.

    >>> import networkx as nx
    >>> cascade_breadth(nx.DiGraph([(0, 1), (0, 2), (0, 3), (1, 4)]))
    3
    """
    return max(level_counts(T))


@not_implemented_for("multigraph")
def structural_virality(T: nx.Graph) -> float:
    """Mean shortest-path distance over all pairs of nodes of the (undirected) tree.

    Goel, Anderson, Hofman & Watts (2016), "The structural virality of online diffusion",
    Management Science 62(1). Computed in linear time: removing the edge above a subtree of
    s nodes separates s·(n−s) pairs, each of whose paths uses that edge, so the distance sum is
    Σ s·(n−s) over edges and the mean is that sum divided by n(n−1)/2.

    Parameters
    ----------
    T : nx.DiGraph or nx.Graph
        A tree (directed parent → child, or undirected).

    Returns
    -------
    float
        2(n−1)/n for a star of n nodes (a broadcast), (n+1)/3 for a path (a chain of
        person-to-person reposts); 0.0 for a single node, which has no pairs.

    Examples
    --------
    >>> import networkx as nx
    >>> structural_virality(nx.star_graph(3))  # 4 nodes: 2·3/4
    1.5
    >>> structural_virality(nx.path_graph(5))  # (5+1)/3
    2.0
    """
    F = _tree(T)
    n = len(F.nodes)
    if n < 2:
        return 0.0
    s = F.subtree_size[F.parent >= 0]
    return float((s * (n - s)).sum() * 2.0 / (n * (n - 1)))


@not_implemented_for("multigraph")
def cascade_velocity(T: nx.Graph) -> dict[str, Any] | None:
    """Reposts per hour and hours to 50% and 90% of the final size, from node ``time``.

    Times are unix seconds in the ``time`` node attribute; see :func:`cascade_shapes`.

    Examples
    --------
    >>> import networkx as nx
    >>> T = nx.DiGraph([(0, 1), (0, 2), (1, 3)])
    >>> nx.set_node_attributes(T, {0: 0, 1: 3600, 2: 7200, 3: 10800}, "time")
    >>> v = cascade_velocity(T)
    >>> v["reposts_per_hour"], v["hours_to_50pct"], v["hours_to_90pct"]
    (1.0, 1.0, 3.0)
    """
    return _velocity(_tree(T))[0]
