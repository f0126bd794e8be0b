"""The cascade picture: a radial repost tree, readable from ten to ten thousand posts.

Root at the centre, one ring per repost level; each post gets an angular wedge proportional to
its subtree, so big branches get room and a 10,000-node tree lays out in milliseconds (no spring
layout). Nodes sized by reach, coloured red–grey–green by sentiment, top accounts labelled.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import TYPE_CHECKING

import numpy as np
from matplotlib.cm import ScalarMappable
from matplotlib.collections import LineCollection
from matplotlib.colors import LinearSegmentedColormap, Normalize

from graph.forest import CascadeForest
from scheduler.charts.base import figure_png, subplots

if TYPE_CHECKING:
    import networkx as nx
    from matplotlib.axes import Axes

__all__ = ["SENTIMENT_CMAP", "draw_cascade", "radial_layout"]

SENTIMENT_CMAP = LinearSegmentedColormap.from_list(
    "tingfeng_sentiment", ["#c62828", "#9e9e9e", "#2e7d32"]
)
UNSCORED = "#cfd8dc"
# Label codes stand in for a missing score: negative / neutral / positive.
_LABEL_SCORE = {-1: 0.1, 0: 0.5, 1: 0.9}


def radial_layout(F: CascadeForest, cascade: int = 0) -> np.ndarray:
    """(x, y) of every row of one cascade: radius = depth, angle = centre of its subtree wedge.

    Returns an array of shape (rows of the cascade, 2), in the cascade's row order.
    """
    lo, hi = int(F.offsets[cascade]), int(F.offsets[cascade + 1])
    n = hi - lo
    pre = F.preorder[lo:hi] - lo
    size = F.subtree_size[lo:hi]
    theta = 2 * np.pi * (pre + size / 2.0) / n
    r = F.depth[lo:hi].astype(float)
    xy: np.ndarray = np.c_[r * np.cos(theta), r * np.sin(theta)]
    return xy


def _colours(F: CascadeForest, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
    score = F.sentiment[lo:hi].copy()
    lab = F.label[lo:hi]
    for code, value in _LABEL_SCORE.items():
        score[np.isnan(score) & (lab == code)] = value
    return score, np.isnan(score)


def _spread(theta: np.ndarray, gap: float) -> np.ndarray:
    """Angles moved apart to at least ``gap`` (labels must not overlap), order kept."""
    order = np.argsort(theta)
    out = theta.copy()
    prev = -np.inf
    for i in order.tolist():
        out[i] = max(out[i], prev + gap)
        prev = out[i]
    over = prev - (theta[order[0]] + 2 * np.pi - gap)
    if over > 0:  # ran into the first label again: rotate everything back half the overlap
        out -= over / 2
    return out


def draw_cascade(
    T: nx.DiGraph | CascadeForest,
    *,
    ax: Axes | None = None,
    labels: Mapping[Hashable, str] | None = None,
    top: int = 15,
    cascade: int | None = None,
    title: str | None = None,
) -> bytes:
    """Draw one cascade as a radial tree and return the figure as PNG bytes.

    Parameters
    ----------
    T : nx.DiGraph or CascadeForest
        A cascade tree (edges parent → child, node attributes ``name``, ``sentiment``,
        ``label`` as :func:`graph.cascades` makes them), or a forest.
    ax : matplotlib Axes, optional
        Draw here instead of on a new figure.
    labels : mapping, optional
        Text per node; default: the author's screen name (``name``), else the node id.
    top : int
        How many nodes to label: those with the largest reach (posts downstream), among those
        that were reposted at all, plus the root.
    cascade : int, optional
        With a forest, which cascade (default: the largest).
    title : str, optional
        Default: the root, size and depth.
    """
    if not isinstance(T, CascadeForest):
        if labels is None:
            labels = {v: d["name"] for v, d in T.nodes(data=True) if d.get("name")}
        T = CascadeForest.from_graph(T)
    F = T
    c = int(np.argmax(F.sizes)) if cascade is None else cascade
    lo, hi = int(F.offsets[c]), int(F.offsets[c + 1])
    n = hi - lo
    xy = radial_layout(F, c)
    reach = F.subtree_size[lo:hi] - 1
    big = n > 2000
    fig, ax = subplots(ax, 9.0, 9.0)
    par = F.parent[lo + 1 : hi] - lo
    segs = np.stack([xy[par], xy[1:]], axis=1)
    ax.add_collection(LineCollection(list(segs), colors="#90a4ae", linewidths=0.25 if big else 0.8,
                                     alpha=0.35 if big else 0.7, zorder=1))
    score, unscored = _colours(F, lo, hi)
    scale = np.log1p(reach) / max(np.log1p(reach.max()), 1.0)
    sizes = (1.5 if big else 12.0) + (260.0 if big else 400.0) * scale
    norm = Normalize(0.0, 1.0)
    ax.scatter(xy[unscored, 0], xy[unscored, 1], s=sizes[unscored], c=UNSCORED,
               linewidths=0, zorder=2)
    ax.scatter(xy[~unscored, 0], xy[~unscored, 1], s=sizes[~unscored], c=score[~unscored],
               cmap=SENTIMENT_CMAP, norm=norm, linewidths=0, zorder=3)
    depth = int(F.depth[lo:hi].max())
    ring = depth + 0.7  # labels sit on a ring outside the tree, joined by leader lines
    order = np.lexsort((np.arange(n), -reach))[:top]
    order = order[(reach[order] > 0) | (order == 0)]  # label spreaders (and always the root)
    theta = np.arctan2(xy[order, 1], xy[order, 0])
    theta[F.depth[lo + order] == 0] = np.pi / 2  # the root: label it at the top
    angles = _spread(theta, 2 * np.pi / max(1.6 * top, 12))
    for i, angle in zip(order.tolist(), angles, strict=True):
        node = F.nodes[lo + i]
        a = int(F.author[lo + i])
        text = labels.get(node) if labels is not None else None
        if text is None:
            text = (F.author_names[a] if a >= 0 else None) or str(node)
        at = (ring * np.cos(angle), ring * np.sin(angle))
        ax.annotate(f"{text} ({reach[i]:,})", xy[i], xytext=at, fontsize=8, zorder=4,
                    ha="left" if np.cos(angle) >= 0 else "right", va="center",
                    arrowprops={"arrowstyle": "-", "color": "#546e7a", "lw": 0.6},
                    bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": "#b0bec5",
                          "alpha": 0.85})
    ax.set_title(title or f"传播树 {F.ids[c]}：{n:,} 个节点，深度 {depth}，"
                 f"标注下游转发最多的 {min(top, n)} 个")
    lim = ring * 1.25 + 1.0
    ax.set_xlim(-lim, lim)
    ax.set_ylim(-lim, lim)
    ax.set_aspect("equal")
    ax.set_axis_off()
    bar = fig.colorbar(ScalarMappable(norm, SENTIMENT_CMAP), ax=ax, shrink=0.45, pad=0.01)
    bar.set_label("情感：负面 → 正面（浅灰 = 未评分）")
    return figure_png(fig)
