"""Cascades from an edge list of repost data: ``cascade_id, parent, child[, unix_time]``.

Tab-separated, one edge per line; a root's own row has an empty parent (its time is the root's
time). Pure: reads an iterable of lines, returns a :class:`~graph.forest.CascadeForest`; no I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Iterator
from typing import Any

import numpy as np

from .forest import STAT_KEYS, CascadeForest
from .shape import cascade_shapes

__all__ = ["edge_cascade_stats", "read_edges"]


class _Cascade:
    __slots__ = ("local", "nodes", "parent", "time", "root", "stats")

    def __init__(self) -> None:
        self.local: dict[str, int] = {}
        self.nodes: list[str] = []
        self.parent: list[int] = []
        self.time: list[float] = []
        self.root: int | None = None
        self.stats: dict[str, int] = {}

    def node(self, key: str) -> int:
        i = self.local.get(key)
        if i is None:
            i = self.local[key] = len(self.nodes)
            self.nodes.append(key)
            self.parent.append(-1)
            self.time.append(np.nan)
        return i

    def count(self, what: str) -> None:
        self.stats[what] = self.stats.get(what, 0) + 1


def read_edges(lines: Iterable[str], *, progress: Callable[[int], None] | None = None,
               every: int = 1_000_000) -> CascadeForest:
    """Parse an edge file into a forest, repairing and counting what does not form trees.

    Parameters
    ----------
    lines : iterable of str
        Lines of the file (a leading ``cascade_id`` header and ``#`` comments are skipped).
    progress : callable, optional
        Called with the number of lines read every ``every`` lines.

    Returns
    -------
    CascadeForest
        One cascade per ``cascade_id`` in order of first appearance. ``stats`` and
        ``cascade_stats`` count: bad_lines (not 3–4 fields), bad_times, duplicate_edges,
        conflicting_parents (a second, different parent: the first is kept), self_loops,
        missing_parents (extra parentless nodes, hung from the root), cycles_broken and
        missing_times (rows without a time when others have one). ``stats["timed"]`` is 1 when
        any row has a time. ``stats["bad_line_numbers"]`` is not a count: it lists the first few.

    Examples
    --------
    >>> lines = ["c1\\t\\tr\\t0", "c1\\tr\\ta\\t3600", "c1\\ta\\tb\\t7200", "c1\\tr\\tb\\t9"]
    >>> F = read_edges(lines)
    >>> F.ids, F.nodes, F.parent.tolist(), F.stats["conflicting_parents"]
    (['c1'], ['r', 'a', 'b'], [-1, 0, 1], 1)
    """
    cascades: dict[str, _Cascade] = {}
    bad: list[int] = []
    glob = {"bad_lines": 0, "bad_times": 0}
    timed = False
    n = 0
    for n, line in enumerate(lines, 1):
        if progress is not None and n % every == 0:
            progress(n)
        line = line.rstrip("\r\n")
        if not line.strip() or line.startswith("#") or (n == 1 and line.startswith("cascade_id")):
            continue
        f = line.split("\t")
        if len(f) not in (3, 4) or not f[0] or not f[2]:
            glob["bad_lines"] += 1
            if len(bad) < 5:
                bad.append(n)
            continue
        cas = cascades.get(f[0])
        if cas is None:
            cas = cascades[f[0]] = _Cascade()
        child = cas.node(f[2])
        if len(f) == 4 and f[3].strip():
            try:
                cas.time[child] = float(f[3])
                timed = True
            except ValueError:
                glob["bad_times"] += 1
        if not f[1]:
            if cas.root is None:
                cas.root = child
            elif cas.root != child:
                cas.count("missing_parents")  # a second root row: hung from the first
            continue
        if f[1] == f[2]:
            cas.count("self_loops")
            continue
        par = cas.node(f[1])
        old = cas.parent[child]
        if old == par:
            cas.count("duplicate_edges")
        elif old >= 0:
            cas.count("conflicting_parents")
        else:
            cas.parent[child] = par
    return _forest(cascades, glob, bad, timed)


def _forest(cascades: dict[str, _Cascade], glob: dict[str, int], bad: list[int],
            timed: bool) -> CascadeForest:
    ids: list[str] = []
    offsets = [0]
    nodes: list[str] = []
    parent: list[int] = []
    time: list[float] = []
    cstats: dict[int, dict[str, int]] = {}
    for c, (cid, cas) in enumerate(cascades.items()):
        root = cas.root
        if root is not None and cas.parent[root] >= 0:
            cas.count("conflicting_parents")  # the root row wins over an edge into the root
            cas.parent[root] = -1
        tops = [i for i, p in enumerate(cas.parent) if p < 0]
        if root is None:
            if not tops:  # every node has a parent: a cycle through all, cut at the first node
                cas.count("cycles_broken")
            root = tops[0] if tops else 0
        for i in tops:
            if i != root:
                cas.parent[i] = root
                cas.count("missing_parents")
        cas.parent[root] = -1
        if timed:
            missing = sum(1 for t in cas.time if t != t)
            if missing:
                cas.stats["missing_times"] = missing
        order = [root] + [i for i in range(len(cas.nodes)) if i != root]
        pos = {i: k for k, i in enumerate(order)}
        base = len(nodes)
        nodes.extend(cas.nodes[i] for i in order)
        parent.extend(-1 if cas.parent[i] < 0 else base + pos[cas.parent[i]] for i in order)
        time.extend(cas.time[i] for i in order)
        ids.append(cid)
        offsets.append(len(nodes))
        if cas.stats:
            cstats[c] = cas.stats
    stats: dict[str, Any] = dict.fromkeys(STAT_KEYS, 0)
    stats.update(glob)
    for cs in cstats.values():
        for k, v in cs.items():
            stats[k] = stats.get(k, 0) + v
    forest = CascadeForest(ids, np.array(offsets), nodes, np.array(parent, np.int64),
                           time=np.array(time, np.float64), stats=stats, cascade_stats=cstats)
    forest.break_cycles()
    forest.stats["timed"] = int(timed)
    forest.stats["bad_line_numbers"] = bad
    return forest


def edge_cascade_stats(forest: CascadeForest) -> Iterator[dict[str, Hashable | Any]]:
    """One record per cascade: cascade_id, size, depth, max_breadth, structural_virality,
    velocity (only when the edge file had times) and ``repairs`` (only when something was).

    Examples
    --------
    >>> F = read_edges(["x\\ta\\tb", "x\\ta\\tc", "x\\tc\\td"])
    >>> rec = next(edge_cascade_stats(F))
    >>> rec["cascade_id"], rec["size"], rec["depth"], rec["max_breadth"], rec["structural_virality"]
    ('x', 4, 2, 2, 1.6666666666666667)
    """
    shapes = cascade_shapes(forest, levels=False)
    timed = bool(forest.stats.get("timed"))
    for c, (cid, s) in enumerate(shapes.items()):
        rec: dict[str, Any] = {"cascade_id": cid, "size": s["size"], "depth": s["depth"],
                               "max_breadth": s["max_breadth"],
                               "structural_virality": s["structural_virality"]}
        if timed:
            rec["velocity"] = s["velocity"]
        if forest.cascade_stats.get(c):
            rec["repairs"] = forest.cascade_stats[c]
        yield rec
