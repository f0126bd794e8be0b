"""Node scores for key-node ranking: reach, direct reposts, PageRank, LeaderRank, k-shell, bridges.

Direction: edges point the way information flows (source → reposter), so influence is measured
on the reversed graph, where each repost "votes" for its source. Each graph is converted to
numpy arrays once and every method runs on them. Pure numpy/scipy/networkx; no I/O.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import networkx as nx
import numpy as np
import scipy.sparse as sp

from ._typing import not_implemented_for
from .forest import subtree_sums, tree_depths

__all__ = ["BETWEENNESS_EXACT_MAX", "BETWEENNESS_SAMPLES", "METHODS", "kshell", "leaderrank",
           "node_scores"]

METHODS = ("reach", "out_degree", "pagerank", "leaderrank", "kshell", "betweenness")
BETWEENNESS_EXACT_MAX = 2000
"""Exact betweenness up to this many nodes (about a second: one BFS per node with out-links);
above it Brandes–Pich sampling of ``BETWEENNESS_SAMPLES`` sources with a fixed seed, fewer on
big graphs so that sources × edges stays under ``BETWEENNESS_WORK`` (never fewer than 64)."""
BETWEENNESS_SAMPLES = 500
BETWEENNESS_WORK = 50_000_000


class _Arrays:
    """Nodes, edge endpoints and weights of a graph as numpy arrays (one conversion, reused)."""

    def __init__(self, G: nx.DiGraph, weight: str | None = "weight") -> None:
        self.nodes = list(G)
        index = {v: i for i, v in enumerate(self.nodes)}
        self.n = len(self.nodes)
        m = G.number_of_edges()
        src = np.empty(m, np.int64)
        dst = np.empty(m, np.int64)
        w = np.ones(m)
        for e, (u, v, x) in enumerate(G.edges(data=weight, default=1)):
            src[e], dst[e] = index[u], index[v]
            w[e] = x if weight is not None else 1
        self.src, self.dst, self.w = src, dst, w


def _pagerank(A: _Arrays, alpha: float = 0.85, tol: float = 1e-6,
              max_iter: int = 100) -> np.ndarray:
    # Reversed flow: row = reposter, column = source; same scheme as nx.pagerank (dangling mass
    # spread uniformly), on a matrix we build once from arrays instead of from the graph.
    n = A.n
    if n == 0:
        return np.zeros(0)
    M = sp.csr_array((A.w, (A.dst, A.src)), shape=(n, n))
    out = np.asarray(M.sum(axis=1)).ravel()
    dangling = out == 0
    inv = np.divide(1.0, out, out=np.zeros(n), where=~dangling)
    MT = (sp.diags_array(inv) @ M).T.tocsr()
    x: np.ndarray = np.full(n, 1.0 / n)
    for _ in range(max_iter):
        last = x
        x = alpha * (MT @ x + x[dangling].sum() / n) + (1 - alpha) / n
        if np.abs(x - last).sum() < n * tol:
            return x
    raise nx.PowerIterationFailedConvergence(max_iter)


def _leaderrank(A: _Arrays, tol: float = 1e-6, max_iter: int = 1000) -> np.ndarray:
    n = A.n
    keep = A.src != A.dst
    if not keep.any():
        # Without links the walk only bounces node ↔ ground, a period-2 chain whose iteration
        # never converges; by symmetry every node keeps the mean score 1.
        return np.ones(n)
    M = sp.csr_array((np.ones(int(keep.sum())), (A.dst[keep], A.src[keep])), shape=(n, n))
    M.data[:] = 1.0  # duplicates summed by the constructor: unweighted, as in Lü et al.
    k = np.asarray(M.sum(axis=1)).ravel() + 1.0  # +1: the link to the ground node
    MT = M.T.tocsr()
    s, g = np.ones(n), 0.0
    for _ in range(max_iter):
        share = s / k
        s_new = MT @ share + g / n
        g_new = share.sum()
        err = np.abs(s_new - s).sum() + abs(g_new - g)
        s, g = s_new, g_new
        if err < (n + 1) * tol:
            scores: np.ndarray = s + g / n
            return scores
    raise nx.PowerIterationFailedConvergence(max_iter)


def _kshell(A: _Arrays) -> np.ndarray:
    n = A.n
    u, v = np.minimum(A.src, A.dst), np.maximum(A.src, A.dst)
    pairs = np.unique((u * n + v)[u != v])
    u, v = pairs // n, pairs % n
    S = sp.csr_array((np.ones(2 * len(u), np.int8), (np.r_[u, v], np.r_[v, u])), shape=(n, n))
    indptr, indices = S.indptr, S.indices
    deg = np.diff(indptr).astype(np.int64)
    core = np.zeros(n, np.int64)
    alive = np.ones(n, bool)
    left, k = n, 0
    # Peel whole frontiers at once (Batagelj–Zaversnik order, vectorised per round).
    while left:
        k = max(k, int(deg[alive].min()))
        front = np.flatnonzero(alive & (deg <= k))
        while front.size:
            core[front] = k
            alive[front] = False
            left -= front.size
            starts, lens = indptr[front], indptr[front + 1] - indptr[front]
            if lens.sum() == 0:
                break
            nb = indices[np.repeat(starts - np.cumsum(lens) + lens, lens) + np.arange(lens.sum())]
            nb = nb[alive[nb]]
            hit, cnt = np.unique(nb, return_counts=True)
            deg[hit] -= cnt
            front = hit[deg[hit] <= k]
    return core


def _betweenness(A: _Arrays, k: int | None, seed: int | None, batch: int = 64) -> np.ndarray:
    """Brandes' betweenness (directed, unweighted, normalised as networkx does), run for a
    batch of sources at once: each BFS level is one sparse product on an n × batch matrix."""
    n = A.n
    keep = A.src != A.dst
    M = sp.csr_array((np.ones(int(keep.sum())), (A.src[keep], A.dst[keep])), shape=(n, n))
    M.data[:] = 1.0
    MT = M.T.tocsr()
    # Only nodes with out-links start shortest paths; sampling among them (Brandes & Pich
    # 2007, scaled by |S|/k) is unbiased and wastes no samples on sinks.
    sources = np.flatnonzero(np.diff(M.indptr) > 0)
    scale = 1.0 / ((n - 1) * (n - 2)) if n > 2 else 1.0
    if k is not None and k < len(sources):
        scale *= len(sources) / k
        sources = np.sort(np.random.default_rng(seed).choice(sources, k, replace=False))
    bc = np.zeros(n)
    for lo in range(0, len(sources), batch):
        src = sources[lo : lo + batch]
        b, cols = len(src), np.arange(len(src))
        seen = np.zeros((n, b), bool)
        seen[src, cols] = True
        levels = [sp.csr_array((np.ones(b), (src, cols)), shape=(n, b))]
        while True:  # forward: sigma (shortest-path counts) level by level
            nxt = (MT @ levels[-1]).tocoo()
            new = ~seen[nxt.row, nxt.col]
            if not new.any():
                break
            r, c = nxt.row[new], nxt.col[new]
            seen[r, c] = True
            levels.append(sp.csr_array((nxt.data[new], (r, c)), shape=(n, b)))
        coef = None
        for d in range(len(levels) - 1, 0, -1):  # backward: dependencies, deepest level first
            inv = levels[d].copy()
            inv.data = 1.0 / inv.data
            coef = inv if coef is None else inv + coef.multiply(inv)
            delta = levels[d - 1].multiply(M @ coef)
            if d > 1:
                bc += np.asarray(delta.sum(axis=1)).ravel()
            coef = sp.csr_array(delta)
    return bc * scale


def _reach(G: nx.DiGraph, A: _Arrays) -> np.ndarray:
    indeg = np.bincount(A.dst, minlength=A.n)
    if (indeg <= 1).all() and (A.src != A.dst).all():
        parent = np.full(A.n, -1, np.int64)
        parent[A.dst] = A.src
        try:
            depth = tree_depths(parent)
        except nx.NotATree:
            pass
        else:  # a forest: reach is subtree size - 1, linear time
            return subtree_sums(parent, depth, np.ones(A.n, np.int64)) - 1
    # General digraph: descendants via the condensation, in reverse topological order.
    # Memory grows with the summed reach; rank_key_nodes uses cascades instead when it can.
    C = nx.condensation(G)
    index = {v: i for i, v in enumerate(A.nodes)}
    sets: dict[int, set[int]] = {}
    out = np.zeros(A.n, np.int64)
    for c in reversed(list(nx.topological_sort(C))):
        s = {index[v] for v in C.nodes[c]["members"]}
        for d in C.succ[c]:
            s |= sets[d]
        sets[c] = s
        for v in C.nodes[c]["members"]:
            out[index[v]] = len(s) - 1
    return out


def _scores(G: nx.DiGraph, method: str, A: _Arrays, *, seed: int | None,
            exact_max: int, samples: int) -> np.ndarray:
    if method == "reach":
        return _reach(G, A).astype(float)
    if method == "out_degree":
        return np.bincount(A.src, weights=A.w, minlength=A.n)
    if method == "pagerank":
        return _pagerank(A)
    if method == "leaderrank":
        return _leaderrank(A)
    if method == "kshell":
        return _kshell(A).astype(float)
    if method == "betweenness":
        if A.n <= exact_max:
            return _betweenness(A, None, seed)
        return _betweenness(A, min(samples, max(64, BETWEENNESS_WORK // max(len(A.src), 1))), seed)
    raise ValueError(f"unknown key-node method {method!r}; choose from {', '.join(METHODS)}")


@not_implemented_for("undirected")
@not_implemented_for("multigraph")
def node_scores(G: nx.DiGraph, method: str = "reach", *, weight: str | None = "weight",
                seed: int | None = 0, exact_max: int = BETWEENNESS_EXACT_MAX,
                samples: int = BETWEENNESS_SAMPLES) -> dict[Hashable, float]:
    """Score every node of a flow graph (edges source → reposter) by one method.

    Parameters
    ----------
    G : nx.DiGraph
        An author graph (:func:`graph.repost_graph`) or a cascade tree (:func:`graph.cascade`).
    method : str
        ``"reach"``: nodes downstream (subtree size − 1 in a tree, descendants otherwise);
        ``"out_degree"``: direct reposts (weighted out-degree); ``"pagerank"``: PageRank
        (alpha 0.85) on the reversed graph, so a node ranks high when many, themselves
        reposted, accounts repost it; ``"leaderrank"``: :func:`leaderrank`; ``"kshell"``:
        :func:`kshell`; ``"betweenness"``: shortest-path betweenness on the directed, unweighted
        graph (a bridge relays flow from upstream to downstream), exact up to ``exact_max``
        nodes, else sampled from ``samples`` sources with ``seed``.
    weight : str or None
        Edge weight for out_degree and PageRank.

    Returns
    -------
    dict
        ``{node: score}``.

    Examples
    --------
    A root reposted by two accounts, one of which is reposted again:

    >>> import networkx as nx
    >>> T = nx.DiGraph([("r", "a"), ("r", "b"), ("a", "c")])
    >>> node_scores(T, "reach")
    {'r': 3.0, 'a': 1.0, 'b': 0.0, 'c': 0.0}
    >>> node_scores(T, "betweenness")["a"]  # on the path r → c only: 1 pair of 3·2
    0.16666666666666666
    """
    A = _Arrays(G, weight)
    s = _scores(G, method, A, seed=seed, exact_max=exact_max, samples=samples)
    return dict(zip(A.nodes, s.tolist(), strict=True))


@not_implemented_for("undirected")
@not_implemented_for("multigraph")
def leaderrank(G: nx.DiGraph, *, tol: float = 1e-6, max_iter: int = 1000) -> dict[Hashable, float]:
    """LeaderRank of every node of a flow graph (edges source → reposter).

    Lü, Zhang, Yeung & Zhou (2011), "Leaders in social networks, the Delicious case", PLoS ONE
    6(6): e21202. A ground node is linked both ways to every node, which makes the graph strongly
    connected and removes PageRank's damping parameter; each node starts with score 1 (the
    ground 0) and repeatedly hands its score out evenly over its out-links, following the
    reversed flow (reposter → source, the "fan → leader" direction of the paper); at
    convergence the ground's score is shared evenly. Unweighted; self-loops ignored.

    Returns
    -------
    dict
        ``{node: score}``; the scores sum to the number of nodes.

    Examples
    --------
    A star of three reposts: on paper the walk's stationary mass is 5x/2 on the hub, x per
    leaf and 4x on the ground with 9.5x = 4, so the hub gets 3.5x = 28/19 and a leaf 16/19:

    >>> import networkx as nx
    >>> lr = leaderrank(nx.DiGraph([("hub", 1), ("hub", 2), ("hub", 3)]))
    >>> round(lr["hub"], 4), round(lr[1], 4), round(28 / 19, 4)
    (1.4737, 0.8421, 1.4737)
    """
    A = _Arrays(G, None)
    return dict(zip(A.nodes, _leaderrank(A, tol, max_iter).tolist(), strict=True))


@not_implemented_for("multigraph")
def kshell(G: nx.Graph) -> dict[Hashable, int]:
    """k-shell (core number) of every node on the undirected, self-loop-free aggregate of ``G``.

    Equals ``nx.core_number`` on that graph, peeling a whole frontier of nodes per numpy step.

    Examples
    --------
    A triangle with a tail: the triangle is the 2-core, the tail node has shell 1.

    >>> import networkx as nx
    >>> kshell(nx.DiGraph([("a", "b"), ("b", "c"), ("c", "a"), ("c", "d"), ("d", "d")]))
    {'a': 2, 'b': 2, 'c': 2, 'd': 1}
    """
    A = _Arrays(G if G.is_directed() else G.to_directed(), None)
    return dict(zip(A.nodes, _kshell(A).tolist(), strict=True))


def all_scores(G: nx.DiGraph, methods: Sequence[str], *, seed: int | None = 0,
               exact_max: int = BETWEENNESS_EXACT_MAX, samples: int = BETWEENNESS_SAMPLES,
               reach: np.ndarray | None = None) -> tuple[list[Hashable], dict[str, np.ndarray]]:
    """Node list and one score array per method, converting ``G`` once (used by rank_key_nodes)."""
    A = _Arrays(G)
    out: dict[str, np.ndarray] = {}
    for m in methods:
        if m == "reach" and reach is not None:
            out[m] = reach
        else:
            out[m] = _scores(G, m, A, seed=seed, exact_max=exact_max, samples=samples)
    return A.nodes, out
