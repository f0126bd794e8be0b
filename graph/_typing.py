"""Typed face of the untyped networkx helpers the graph modules use (networkx ships no stubs).

Pure: imports only networkx.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

from networkx.utils import not_implemented_for as _nx_not_implemented_for

__all__ = ["not_implemented_for"]

F = TypeVar("F", bound=Callable[..., Any])


def not_implemented_for(*graph_types: str) -> Callable[[F], F]:
    """:func:`networkx.utils.not_implemented_for`, typed.

    The decorator raises ``NetworkXNotImplemented`` for the named graph kinds and otherwise calls
    the function unchanged, so the decorated function keeps its signature.

    Examples
    --------
    >>> import networkx as nx
    >>> @not_implemented_for("undirected")
    ... def n_nodes(G: nx.Graph) -> int:
    ...     return len(G)
    >>> n_nodes(nx.DiGraph([(1, 2)]))
    2
    """
    return cast("Callable[[F], F]", _nx_not_implemented_for(*graph_types))
