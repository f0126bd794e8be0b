"""Build propagation graphs from posts: post-level cascade trees and the author-level flow graph.

Pure functions over ``crawlers.items`` records; no I/O, no settings, no matplotlib.

Post level (:func:`cascade_forest`, :func:`cascades`, :func:`cascade`): one tree per root post,
edge parent → child, nodes keyed by post id. A parent that was never collected becomes a
placeholder node: ``"missing:<post id>"``, ``"name:<screen name>"`` (a ``//@name`` matched to no
post) or ``"author:<author id>"``; each has ``placeholder=True``. Node attributes: author (the
author-graph key), name, time (unix seconds or None), sentiment, label, kind, placeholder.

Author level (:func:`repost_graph`): edge u → v when v reposted, commented on or replied to u's
post, i.e. the direction information flows. Attributes: ``weight`` (how many such posts),
``positive``/``negative`` (how many of them carry that sentiment label); nodes have name,
platform, posts, placeholder and, when authors are given, followers, tier and verified.

Keys: author ids (post ids for cascades); when the posts span several platforms every key
becomes ``"<platform>:<id>"`` so ids of different platforms never merge.

Parent resolution (:mod:`graph.resolve`), in order: ``parent_post_id`` when that post is in the
same cascade; else the latest earlier post of ``parent_author_id`` in the cascade; else the names
of ``parent_author_name`` and the ``repost_path`` chain (nearest first), matched by screen name
among the given authors and the posts; the unmatched part of the chain becomes ``name:``
placeholders hanging from the first matched post (or the root); with no parent information at
all the root is the parent.
``G.graph["stats"]`` counts every repair: duplicate_edges (repeated post records merged; in the
author graph, repeated flows merged into ``weight``), missing_times, missing_parents and
unresolved_names (placeholder nodes made), resolved_by_author, resolved_by_name, cycles_broken
(each cycle cut at its earliest post, which is re-attached to the root), self_loops (posts naming
themselves as parent; in the author graph also reposts of one's own post, dropped) and
missing_authors (posts without an author, left out of the author graph).
"""

from __future__ import annotations

import gc
from collections import Counter
from collections.abc import Hashable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import networkx as nx
import numpy as np

from .forest import STAT_KEYS, CascadeForest
from .resolve import resolve_forest

if TYPE_CHECKING:
    from typing import TypeAlias

    from crawlers.items import Author, Post

    AuthorsArg: TypeAlias = Iterable[Author] | Mapping[Any, Author] | None

__all__ = ["cascade", "cascade_forest", "cascades", "propagation_graphs", "repost_graph"]

@contextmanager
def _bulk() -> Iterator[None]:
    """Pause the cyclic garbage collector while millions of acyclic records are allocated.

    Each generation-2 pass walks every live object (the caller's posts included); at a million
    posts those passes cost about a third of the build. Nothing built here forms cycles, and
    the collector is restored (only if it was on) however the block ends.
    """
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()


def cascade_forest(posts: Iterable[Post], authors: AuthorsArg = None,
                   *, kinds: Iterable[str] | None = None) -> CascadeForest:
    """Every cascade of ``posts`` as one :class:`~graph.forest.CascadeForest` (array form).

    Parameters
    ----------
    posts : iterable of Post
        Originals, reposts, comments and replies of any platform; duplicates are merged.
    authors : mapping or iterable of Author, optional
        Known accounts, used to match ``//@name`` screen names to ids and to name nodes.
    kinds : iterable of str, optional
        Keep only posts of these kinds (default: all).

    Returns
    -------
    CascadeForest
        Cascade ids are root post ids (``"<platform>:<id>"`` across platforms); its ``stats``
        count every repair (see the module docstring).

    Examples
    --------
    >>> from crawlers.items import Post
    >>> posts = [Post("weibo", "1", author_id="a"),
    ...          Post("weibo", "2", author_id="b", author_name="B", kind="repost",
    ...               root_post_id="1"),
    ...          Post("weibo", "3", author_id="c", kind="repost", root_post_id="1",
    ...               parent_author_name="B")]
    >>> F = cascade_forest(posts)
    >>> F.ids, [F.nodes[p] for p in F.parent[1:]]
    (['1'], ['1', '2'])
    """
    if isinstance(authors, Mapping):
        authors = authors.values()
    with _bulk():
        return resolve_forest(posts, list(authors or ()), kinds)


def cascades(posts: Iterable[Post], authors: AuthorsArg = None,
             *, kinds: Iterable[str] | None = None) -> dict[Hashable, nx.DiGraph]:
    """Every cascade of ``posts`` as ``{root id: nx.DiGraph}`` (edges parent → child).

    Same parameters as :func:`cascade_forest`; see the module docstring for the attributes.

    Examples
    --------
    >>> from crawlers.items import Post
    >>> posts = [Post("zhihu", "q", author_id="a", kind="answer"),
    ...          Post("zhihu", "c1", author_id="b", kind="comment", root_post_id="q"),
    ...          Post("zhihu", "c2", author_id="a", kind="reply", root_post_id="q",
    ...               parent_post_id="c1")]
    >>> T = cascades(posts)["q"]
    >>> sorted(T.edges())
    [('c1', 'c2'), ('q', 'c1')]
    """
    return cascade_forest(posts, authors, kinds=kinds).graphs()


def cascade(posts: Iterable[Post], root_id: Hashable,
            authors: AuthorsArg = None) -> nx.DiGraph:
    """The post-level tree of one root post (raises KeyError when no post belongs to it).

    Examples
    --------
    >>> from crawlers.items import Post
    >>> posts = [Post("weibo", "2", author_id="b", kind="repost", root_post_id="1",
    ...               parent_post_id="1")]
    >>> T = cascade(posts, "1")
    >>> list(T.edges()), T.nodes["missing:1"]["placeholder"], T.graph["stats"]["missing_parents"]
    ([('missing:1', '2')], True, 1)
    """
    F = cascade_forest(posts, authors)
    return F.graph(F.index(root_id))


def _author_graph(F: CascadeForest, authors: Iterable[Author]) -> nx.DiGraph:
    stats = Counter({k: v for k, v in F.stats.items() if k != "duplicate_edges"})
    stats["duplicate_posts"] = F.stats.get("duplicate_edges", 0)
    G = nx.DiGraph(level="author")
    # Keyed like the lookup below: a forest built without platforms has platform None.
    info: dict[tuple[str | None, str], Author] = {(a.platform, a.author_id): a for a in authors}
    multi = len(set(F.platforms)) > 1
    posts = np.bincount(F.author[(F.author >= 0) & ~F.placeholder], minlength=len(F.author_keys))
    plat_of = np.full(len(F.author_keys), -1, np.int64)
    plat_of[F.author[F.author >= 0]] = F.tree[F.author >= 0]
    nodes = []
    for key, c, n_posts, name in zip(F.author_keys, plat_of.tolist(), posts.tolist(),
                                     F.author_names, strict=True):
        if c < 0:
            continue  # looked up while resolving names, but no row is theirs
        plat = F.platforms[c]
        raw = key.split(":", 1)[1] if multi and isinstance(key, str) else key
        attrs: dict[str, Any] = {
            "name": name, "platform": plat, "posts": n_posts,
            "placeholder": isinstance(raw, str) and raw.startswith("name:"),
        }
        rec = info.get((plat, str(raw)))
        if rec is not None:
            attrs.update(name=rec.name or name, followers=rec.followers, tier=rec.tier,
                         verified=rec.verified)
        nodes.append((key, attrs))
    G.add_nodes_from(nodes)
    child = np.flatnonzero(F.parent >= 0)
    u, v = F.author[F.parent[child]], F.author[child]
    ok = (u >= 0) & (v >= 0)
    loops = ok & (u == v)
    stats["self_loops"] += int(loops.sum())
    ok &= ~loops
    u, v, lab = u[ok], v[ok], F.label[child][ok]
    n = max(len(F.author_keys), 1)
    pair, inv = np.unique(u * n + v, return_inverse=True)
    w = np.bincount(inv)
    pos = np.bincount(inv, weights=lab == 1).astype(np.int64)
    neg = np.bincount(inv, weights=lab == -1).astype(np.int64)
    stats["duplicate_edges"] += int(len(u) - len(pair))
    keys = F.author_keys
    src = [keys[a] for a in (pair // n).tolist()]
    dst = [keys[a] for a in (pair % n).tolist()]
    data = [{"weight": ww, "positive": pp, "negative": nn}
            for ww, pp, nn in zip(w.tolist(), pos.tolist(), neg.tolist(), strict=True)]
    G.add_edges_from(zip(src, dst, data, strict=True))
    G.graph["stats"] = {k: int(x) for k, x in stats.items() if x or k in STAT_KEYS}
    return G


def propagation_graphs(posts: Iterable[Post],
                       authors: AuthorsArg = None,
                       *, kinds: Iterable[str] | None = None) -> tuple[nx.DiGraph, CascadeForest]:
    """The author graph and the cascade forest, resolving parents once for both.

    Examples
    --------
    >>> from crawlers.items import Post
    >>> posts = [Post("weibo", "1", author_id="a"),
    ...          Post("weibo", "2", author_id="b", kind="repost", root_post_id="1")]
    >>> G, F = propagation_graphs(posts)
    >>> list(G.edges(data="weight")), F.sizes.tolist()
    ([('a', 'b', 1)], [2])
    """
    if isinstance(authors, Mapping):
        authors = authors.values()
    authors = list(authors or ())
    F = cascade_forest(posts, authors, kinds=kinds)
    with _bulk():
        return _author_graph(F, authors), F


def repost_graph(posts: Iterable[Post], authors: AuthorsArg = None,
                 *, kinds: Iterable[str] | None = None) -> nx.DiGraph:
    """Author-level flow graph: edge u → v weighted by how often v reposted or replied to u.

    Parameters
    ----------
    posts : iterable of Post
    authors : mapping or iterable of Author, optional
        Adds followers, tier and verified to nodes and resolves ``//@name`` screen names.
    kinds : iterable of str, optional
        Keep only posts of these kinds (default: all, so replies count as flow too).

    Returns
    -------
    nx.DiGraph
        ``G.graph["stats"]`` counts the repairs (see the module docstring).

    Examples
    --------
    A repost chain ``//@b: //@a:`` whose middle repost was never collected still yields the
    path a → b → c:

    >>> from crawlers.items import Post
    >>> posts = [Post("weibo", "1", author_id="a", author_name="A"),
    ...          Post("weibo", "3", author_id="c", kind="repost", root_post_id="1",
    ...               parent_author_name="B", repost_path=["B", "A"])]
    >>> G = repost_graph(posts)
    >>> sorted(G.edges(data="weight")), G.graph["stats"]["unresolved_names"]
    ([('a', 'name:B', 1), ('name:B', 'c', 1)], 1)

    See Also
    --------
    cascades, graph.keynodes.rank_key_nodes
    """
    return propagation_graphs(posts, authors, kinds=kinds)[0]
