"""Exports for Gephi and the web: GEXF, GraphML and node-link JSON.

Pure: functions return bytes or write to the path they are given. Gephi reads neither None nor
list values and wants one type per attribute, so attributes are converted first (see
:func:`gephi_ready`).
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import Mapping
from os import PathLike
from pathlib import Path
from typing import Any

import networkx as nx

__all__ = ["FORMATS", "export_graph", "gephi_ready", "write_graph"]

FORMATS = ("gexf", "graphml", "json")
# Attribute names GEXF keeps for itself (networkx's writer pops them off the data).
_GEXF_RESERVED = {"id", "label", "pid", "start", "end", "viz", "parents", "slices", "spells",
                  "type"}


def _scalar(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        value = value.item() if hasattr(value, "item") else value
        return None if isinstance(value, float) and not math.isfinite(value) else value
    if hasattr(value, "item") and not isinstance(value, str):  # numpy scalars
        return _scalar(value.item())
    if isinstance(value, list | tuple | set | frozenset | Mapping):
        seq = sorted(value, key=str) if isinstance(value, set | frozenset) else value
        return json.dumps(seq, ensure_ascii=False, default=str)
    return str(value)


def _unify(rows: list[dict[str, Any]]) -> None:
    """One type per attribute: int+float → float; anything mixed with text → text."""
    kinds: dict[str, set[type]] = {}
    for row in rows:
        for k, v in row.items():
            kinds.setdefault(k, set()).add(type(v))
    for k, ts in kinds.items():
        if len(ts) < 2:
            continue
        cast = float if ts <= {int, float} else str
        for row in rows:
            if k in row:
                row[k] = cast(row[k])


def gephi_ready(G: nx.Graph) -> nx.Graph:
    """A copy of ``G`` whose attributes Gephi accepts.

    None and NaN values are dropped, lists and dicts become JSON text, numpy scalars Python
    ones, each attribute gets one type, node ``label`` (the sentiment label of a cascade) is
    renamed ``sentiment_label``, and graph attributes are flattened (``stats/missing_parents``).

    Examples
    --------
    >>> import networkx as nx
    >>> G = nx.DiGraph(stats={"self_loops": 1})
    >>> G.add_node("a", name="甲", tier=None, label="negative", followers=10)
    >>> G.add_node("b", followers=2.5, topics=["x", "y"])
    >>> H = gephi_ready(G)
    >>> dict(H.nodes["a"])
    {'name': '甲', 'sentiment_label': 'negative', 'followers': 10.0}
    >>> dict(H.nodes["b"]), H.graph
    ({'followers': 2.5, 'topics': '["x", "y"]'}, {'stats/self_loops': 1})
    """
    H = G.__class__()
    for k, v in G.graph.items():
        items = v.items() if isinstance(v, Mapping) else [(None, v)]
        for sub, x in items:
            x = _scalar(x)
            if x is not None:
                H.graph[k if sub is None else f"{k}/{sub}"] = x
    nodes = []
    for _, data in G.nodes(data=True):
        row = {}
        for k, v in data.items():
            v = _scalar(v)
            if v is not None:
                if k == "label":
                    k = "sentiment_label"
                elif k in _GEXF_RESERVED:
                    k = f"_{k}"
                row[k] = v
        nodes.append(row)
    edges = [{k: x for k, v in d.items() if (x := _scalar(v)) is not None}
             for _, _, d in G.edges(data=True)]
    _unify(nodes)
    _unify(edges)
    H.add_nodes_from(zip(G.nodes, nodes, strict=True))
    H.add_edges_from((u, v, d) for (u, v), d in zip(G.edges(), edges, strict=True))
    return H


def export_graph(G: nx.Graph, fmt: str) -> bytes:
    """``G`` as GEXF 1.2, GraphML or node-link JSON (UTF-8 bytes).

    In GEXF each node's display label is its ``name`` (else its id).

    Examples
    --------
    >>> import networkx as nx
    >>> G = nx.DiGraph()
    >>> G.add_edge("a", "b", weight=2)
    >>> G.nodes["a"]["name"] = "甲"
    >>> b'label="\\xe7\\x94\\xb2"' in export_graph(G, "gexf")
    True
    >>> json.loads(export_graph(G, "json"))["edges"]
    [{'weight': 2, 'source': 'a', 'target': 'b'}]
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; choose from {', '.join(FORMATS)}")
    H = gephi_ready(G)
    if fmt == "json":
        data = nx.node_link_data(H, edges="edges")
        return json.dumps(data, ensure_ascii=False, default=str).encode("utf-8")
    buf = io.BytesIO()
    if fmt == "gexf":
        for v, data in H.nodes(data=True):
            data["label"] = str(data.get("name", v))
        nx.write_gexf(H, buf)
    else:
        nx.write_graphml(H, buf)
    return buf.getvalue()


def write_graph(G: nx.Graph, path: str | PathLike[str], fmt: str | None = None) -> Path:
    """Write ``G`` to ``path`` in ``fmt`` (default: the path's suffix); returns the path."""
    path = Path(path)
    fmt = fmt or path.suffix.lstrip(".").lower()
    path.write_bytes(export_graph(G, fmt))
    return path
