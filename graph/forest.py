"""Many cascade trees as flat numpy arrays, so a million-post forest is analysed in linear time.

Every per-tree measure (depth, subtree sizes, pre-order) is one vectorised pass per tree level,
never a Python BFS per node. Pure numpy + networkx; no I/O, no matplotlib.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from functools import cached_property
from typing import Any

import networkx as nx
import numpy as np

__all__ = ["LABELS", "STAT_KEYS", "CascadeForest", "tree_depths", "subtree_sums"]

STAT_KEYS = ("unresolved_names", "missing_parents", "cycles_broken", "self_loops",
             "duplicate_edges", "missing_times")
"""Repair counters every graph's ``stats`` holds, zero or not (others appear when non-zero)."""

LABELS: dict[str | None, int] = {"positive": 1, "neutral": 0, "negative": -1, None: -2}
"""Sentiment label codes held in :attr:`CascadeForest.label` (-2 = not scored)."""
_LABEL_NAMES = {code: name for name, code in LABELS.items()}


def tree_depths(parent: np.ndarray) -> np.ndarray:
    """Depth of every node of a forest given as a parent array (-1 for roots).

    Pointer jumping: O(n log depth) array work. Raises ``nx.NotATree`` on a cycle.

    >>> tree_depths(np.array([-1, 0, 0, 1])).tolist()
    [0, 1, 1, 2]
    """
    anc = np.array(parent, dtype=np.int64, copy=True)
    dist = (anc >= 0).astype(np.int64)
    for _ in range(max(1, math.ceil(math.log2(max(len(anc), 2)))) + 2):
        live = np.flatnonzero(anc >= 0)
        if live.size == 0:
            return dist
        up = anc[live]
        dist[live] += dist[up]
        anc[live] = anc[up]
    if (anc >= 0).any():
        raise nx.NotATree(f"{int((anc >= 0).sum())} nodes are on or below a cycle")
    return dist


def subtree_sums(parent: np.ndarray, depth: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Sum of ``values`` over each node's subtree (itself included), one pass per level.

    >>> subtree_sums(np.array([-1, 0, 0, 1]), np.array([0, 1, 1, 2]), np.ones(4)).tolist()
    [4.0, 2.0, 1.0, 1.0]
    """
    acc = np.array(values, dtype=np.result_type(values, np.int64), copy=True)
    order = np.argsort(depth, kind="stable")
    bounds = np.searchsorted(depth[order], np.arange(int(depth.max(initial=0)) + 2))
    for d in range(len(bounds) - 2, 0, -1):
        rows = order[bounds[d] : bounds[d + 1]]
        np.add.at(acc, parent[rows], acc[rows])
    return acc


class CascadeForest:
    """A forest of cascades, one row per post (or placeholder), rows of a cascade contiguous.

    Rows ``offsets[c]:offsets[c + 1]`` belong to cascade ``ids[c]`` and the first of them is its
    root. ``parent`` holds global row numbers (-1 for roots); ``time`` unix seconds (NaN when
    unknown); ``author`` an index into ``author_keys`` (-1 when unknown); ``label`` a code of
    :data:`LABELS`; ``sentiment`` a score in [0, 1] or NaN. ``stats`` counts what the builder
    repaired, ``cascade_stats[c]`` the same per cascade (only non-zero cascades are present).

    Build one with :func:`graph.cascade_forest` (from posts), :meth:`from_graphs` (from
    ``nx.DiGraph`` trees) or :func:`graph.read_edges` (from an edge file).

    Examples
    --------
    >>> import networkx as nx
    >>> T = nx.DiGraph([("r", "a"), ("r", "b"), ("a", "c")])
    >>> F = CascadeForest.from_graph(T)
    >>> F.nodes, F.depth.tolist(), F.subtree_size.tolist()
    (['r', 'a', 'b', 'c'], [0, 1, 1, 2], [4, 2, 1, 1])
    """

    def __init__(
        self,
        ids: Sequence[Hashable],
        offsets: np.ndarray,
        nodes: Sequence[Hashable],
        parent: np.ndarray,
        *,
        time: np.ndarray | None = None,
        author: np.ndarray | None = None,
        author_keys: Sequence[Hashable] = (),
        author_names: Sequence[str | None] = (),
        label: np.ndarray | None = None,
        sentiment: np.ndarray | None = None,
        kind: Sequence[str | None] | None = None,
        placeholder: np.ndarray | None = None,
        platforms: Sequence[str | None] | None = None,
        stats: Mapping[str, Any] | None = None,
        cascade_stats: Mapping[int, Mapping[str, int]] | None = None,
    ) -> None:
        n = len(nodes)
        self.ids = list(ids)
        self.offsets = np.asarray(offsets, dtype=np.int64)
        self.nodes = list(nodes)
        self.parent = np.asarray(parent, dtype=np.int64)
        self.tree = np.repeat(np.arange(len(self.ids), dtype=np.int64), np.diff(self.offsets))
        self.time = np.full(n, np.nan) if time is None else np.asarray(time, dtype=np.float64)
        self.author = np.full(n, -1, np.int64) if author is None else np.asarray(author, np.int64)
        self.author_keys = list(author_keys)
        self.author_names = list(author_names) or [None] * len(self.author_keys)
        self.label = np.full(n, -2, np.int8) if label is None else np.asarray(label, np.int8)
        self.sentiment = (
            np.full(n, np.nan) if sentiment is None else np.asarray(sentiment, dtype=np.float64)
        )
        self.kind = list(kind) if kind is not None else [None] * n
        self.placeholder = (
            np.zeros(n, bool) if placeholder is None else np.asarray(placeholder, dtype=bool)
        )
        self.platforms = list(platforms) if platforms is not None else [None] * len(self.ids)
        self.stats: dict[str, Any] = dict(stats or {})
        self.cascade_stats = {c: dict(s) for c, s in (cascade_stats or {}).items()}
        if self.offsets[-1] != n or len(self.parent) != n:
            raise ValueError("offsets, nodes and parent disagree on the number of rows")

    def __len__(self) -> int:
        return len(self.ids)

    def __repr__(self) -> str:
        return f"<CascadeForest {len(self.ids)} cascades, {len(self.nodes)} rows>"

    @property
    def roots(self) -> np.ndarray:
        """Row of each cascade's root."""
        return self.offsets[:-1]

    @property
    def sizes(self) -> np.ndarray:
        """Number of rows (posts and placeholders) of each cascade."""
        return np.diff(self.offsets)

    def index(self, cascade_id: Hashable) -> int:
        """Position of ``cascade_id`` in :attr:`ids` (KeyError when absent)."""
        if not hasattr(self, "_index"):
            self._index = {cid: i for i, cid in enumerate(self.ids)}
        try:
            return self._index[cascade_id]
        except KeyError:
            raise KeyError(f"no cascade {cascade_id!r} in this forest") from None

    # -- derived arrays: each a few vectorised passes ------------------------------------------
    @cached_property
    def depth(self) -> np.ndarray:
        """Depth of every row (root 0), by pointer jumping: O(n log depth) array work.

        Raises ``nx.NotATree`` if some rows never reach a root (a cycle).
        """
        return tree_depths(self.parent)

    @cached_property
    def _levels(self) -> tuple[np.ndarray, np.ndarray]:
        order = np.argsort(self.depth, kind="stable")
        bounds = np.searchsorted(self.depth[order], np.arange(int(self.depth.max(initial=0)) + 2))
        return order, bounds

    def level_rows(self, d: int) -> np.ndarray:
        """Rows at depth ``d`` in row order."""
        order, bounds = self._levels
        return order[bounds[d] : bounds[d + 1]] if d + 1 < len(bounds) else order[:0]

    @property
    def max_depth(self) -> int:
        return len(self._levels[1]) - 2

    def subtree_sum(self, values: np.ndarray) -> np.ndarray:
        """Sum of ``values`` over each row's subtree (itself included), deepest level first."""
        acc = np.array(values, dtype=np.result_type(values, np.int64), copy=True)
        for d in range(self.max_depth, 0, -1):
            rows = self.level_rows(d)
            np.add.at(acc, self.parent[rows], acc[rows])
        return acc

    @cached_property
    def subtree_size(self) -> np.ndarray:
        """Rows in each row's subtree, itself included (so reach = size - 1)."""
        return self.subtree_sum(np.ones(len(self.nodes), np.int64))

    @cached_property
    def children(self) -> np.ndarray:
        """Number of direct children (reposts/replies) of each row."""
        has = self.parent >= 0
        return np.bincount(self.parent[has], minlength=len(self.nodes))

    @cached_property
    def preorder(self) -> np.ndarray:
        """Global DFS pre-order number; row j is in i's subtree iff 0 <= pre[j]-pre[i] < size[i].

        Siblings are visited in row order, so each cascade occupies its own row range.
        """
        pre = np.empty(len(self.nodes), np.int64)
        pre[self.roots] = self.offsets[:-1]
        size = self.subtree_size
        for d in range(1, self.max_depth + 1):
            rows = self.level_rows(d)
            rows = rows[np.argsort(self.parent[rows], kind="stable")]
            par = self.parent[rows]
            excl = np.cumsum(size[rows]) - size[rows]
            first = np.r_[True, par[1:] != par[:-1]]
            excl -= np.maximum.accumulate(np.where(first, excl, 0))
            pre[rows] = pre[par] + 1 + excl
        return pre

    def descendants(self, row: int) -> np.ndarray:
        """Rows strictly below ``row``."""
        pre, size = self.preorder, self.subtree_size
        lo = pre[row]
        start, stop = self.offsets[self.tree[row]], self.offsets[self.tree[row] + 1]
        rel = pre[start:stop] - lo
        below: np.ndarray = start + np.flatnonzero((rel > 0) & (rel < size[row]))
        return below

    def break_cycles(self) -> int:
        """Cut every parent cycle at its earliest row (by time, then key), re-attaching that row
        to its cascade's root; counts them in ``stats["cycles_broken"]``. Returns how many.

        >>> F = CascadeForest(["t"], np.array([0, 3]), ["r", "a", "b"], np.array([-1, 2, 1]))
        >>> F.break_cycles(), F.parent.tolist()
        (1, [-1, 0, 1])
        """
        anc = self.parent.copy()
        for _ in range(max(2, math.ceil(math.log2(max(len(anc), 2)))) + 2):
            live = np.flatnonzero(anc >= 0)
            if live.size == 0:
                return 0
            anc[live] = anc[anc[live]]
        state: dict[int, int] = {}
        broken = 0
        for start in np.flatnonzero(anc >= 0).tolist():
            path, i = [], start
            while i >= 0 and i not in state:
                state[i] = start
                path.append(i)
                i = int(self.parent[i])
            if i >= 0 and state[i] == start:  # closed a new cycle
                cyc = path[path.index(i) :]
                cut = min(cyc, key=lambda r: (self.time[r] if self.time[r] == self.time[r]
                                              else math.inf, str(self.nodes[r])))
                c = int(self.tree[cut])
                self.parent[cut] = self.offsets[c]
                broken += 1
                self.stats["cycles_broken"] = self.stats.get("cycles_broken", 0) + 1
                cs = self.cascade_stats.setdefault(c, {})
                cs["cycles_broken"] = cs.get("cycles_broken", 0) + 1
        for derived in ("depth", "_levels", "subtree_size", "children", "preorder"):
            self.__dict__.pop(derived, None)  # stale now
        return broken

    # -- conversion --------------------------------------------------------------------------
    @classmethod
    def from_graph(cls, T: nx.DiGraph, cascade_id: Hashable | None = None) -> CascadeForest:
        """One tree; see :meth:`from_graphs`."""
        key = T.graph.get("id", 0) if cascade_id is None else cascade_id
        return cls.from_graphs({key: T})

    @classmethod
    def from_graphs(cls, graphs: Mapping[Hashable, nx.DiGraph]) -> CascadeForest:
        """Arrays from directed trees (edges parent → child) such as :func:`graph.cascades` returns.

        Node attributes ``author``, ``name``, ``time``, ``sentiment``, ``label``, ``kind`` and
        ``placeholder`` are read when present. Raises ``nx.NetworkXNotImplemented`` for
        undirected or multi graphs and ``nx.NotATree`` for anything but an arborescence.
        """
        ids: list[Hashable] = []
        offsets = [0]
        nodes: list[Hashable] = []
        parent: list[int] = []
        cols: dict[str, list[Any]] = {
            a: [] for a in ("author", "time", "sentiment", "label", "kind", "placeholder")
        }
        akeys: dict[Hashable, int] = {}
        anames: list[str | None] = []
        platforms: list[str | None] = []
        for cid, T in graphs.items():
            if not T.is_directed() or T.is_multigraph():
                raise nx.NetworkXNotImplemented("cascades must be nx.DiGraph trees (parent→child)")
            roots = [v for v, d in T.in_degree() if d == 0]
            if len(T) == 0 or len(roots) != 1 or T.number_of_edges() != len(T) - 1:
                raise nx.NotATree(f"cascade {cid!r} is not a tree with one root")
            base = len(nodes)
            order = roots + [v for v in T if v != roots[0]]
            local = {v: base + i for i, v in enumerate(order)}
            for v in order:
                data = T.nodes[v]
                nodes.append(v)
                preds = T._pred[v]
                parent.append(local[next(iter(preds))] if preds else -1)
                a = data.get("author")
                if a is None:
                    cols["author"].append(-1)
                else:
                    if a not in akeys:
                        akeys[a] = len(akeys)
                        anames.append(data.get("name"))
                    cols["author"].append(akeys[a])
                t = data.get("time")
                s = data.get("sentiment")
                cols["time"].append(np.nan if t is None else float(t))
                cols["sentiment"].append(np.nan if s is None else float(s))
                cols["label"].append(LABELS.get(data.get("label"), -2))
                cols["kind"].append(data.get("kind"))
                cols["placeholder"].append(bool(data.get("placeholder", False)))
            ids.append(cid)
            offsets.append(len(nodes))
            platforms.append(T.graph.get("platform"))
        forest = cls(
            ids, np.array(offsets), nodes, np.array(parent, np.int64),
            time=np.array(cols["time"]), author=np.array(cols["author"], np.int64),
            author_keys=list(akeys), author_names=anames, label=np.array(cols["label"], np.int8),
            sentiment=np.array(cols["sentiment"]), kind=cols["kind"],
            placeholder=np.array(cols["placeholder"], bool), platforms=platforms,
        )
        forest.depth  # noqa: B018 - validates: raises NotATree on a cycle
        return forest

    def graph(self, cascade: int) -> nx.DiGraph:
        """Cascade number ``cascade`` as an ``nx.DiGraph`` (edges parent → child).

        Node attributes: author, name, time (unix seconds or None), sentiment, label, kind,
        placeholder. Graph attributes: id, root, platform, level="post", stats.
        """
        lo, hi = int(self.offsets[cascade]), int(self.offsets[cascade + 1])
        T = nx.DiGraph(
            id=self.ids[cascade], root=self.nodes[lo], platform=self.platforms[cascade],
            level="post",
            stats={**dict.fromkeys(STAT_KEYS, 0), **self.cascade_stats.get(cascade, {})},
        )
        for i in range(lo, hi):
            a = int(self.author[i])
            t, s = self.time[i], self.sentiment[i]
            T.add_node(
                self.nodes[i],
                author=self.author_keys[a] if a >= 0 else None,
                name=self.author_names[a] if a >= 0 else None,
                time=None if t != t else float(t),
                sentiment=None if s != s else float(s),
                label=_LABEL_NAMES[int(self.label[i])],
                kind=self.kind[i],
                placeholder=bool(self.placeholder[i]),
            )
        T.add_edges_from(
            (self.nodes[p], self.nodes[i])
            for i, p in enumerate(self.parent[lo + 1 : hi].tolist(), lo + 1)
        )
        return T

    def graphs(self) -> dict[Hashable, nx.DiGraph]:
        """Every cascade as ``{cascade_id: nx.DiGraph}`` (see :meth:`graph`)."""
        return {cid: self.graph(c) for c, cid in enumerate(self.ids)}
