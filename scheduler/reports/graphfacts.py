"""The graph facts a report needs (downstream reach, key-node rank, cascade shapes and trees),
from the graph package's cascade forest, else computed here from the posts' parent links.

The local path is a small, linear-time stand-in (and a cross-check in tests); graph/ is the
reference for these measures. No matplotlib here.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from crawlers.items import Post

if TYPE_CHECKING:
    from crawlers.items import Author, AuthorKey, PostKey

__all__ = ["CascadeShape", "GraphFacts", "graph_facts", "local_graph_facts"]

log = logging.getLogger(__name__)

_PICTURES_MAX = 20  # cascade trees kept for drawing; a report shows the largest few


@dataclass
class CascadeShape:
    root: Post
    size: int
    depth: int
    max_breadth: int
    structural_virality: float | None
    graph: Any = None  # a networkx DiGraph for draw_cascade, when available


@dataclass
class GraphFacts:
    reach: dict[AuthorKey, int] = field(default_factory=dict)
    rank: dict[AuthorKey, int] = field(default_factory=dict)
    cascades: list[CascadeShape] = field(default_factory=list)  # largest first
    notes: list[str] = field(default_factory=list)


def graph_facts(posts: Sequence[Post], authors: Mapping[AuthorKey, Author]) -> GraphFacts:
    """Facts from the graph package (author graph + cascade forest, ``rank_key_nodes`` fused
    over reach, reposts, PageRank, LeaderRank, k-shell and betweenness) when it is installed,
    else :func:`local_graph_facts`."""
    if not posts:
        return GraphFacts()
    try:
        import graph
        build, shapes_of, rank = (graph.propagation_graphs, graph.cascade_shapes,
                                  graph.rank_key_nodes)
    except (ImportError, AttributeError):
        return local_graph_facts(posts)
    return _forest_facts(posts, authors, build, shapes_of, rank)


def _forest_facts(posts: Sequence[Post], authors: Mapping[AuthorKey, Author], build: Any,
                  shapes_of: Any, rank: Any) -> GraphFacts:
    author_graph, forest = build(posts, authors)
    shapes = shapes_of(forest, levels=False)
    platforms = {p.platform for p in posts}
    multi = len(platforms) > 1
    only = next(iter(platforms))
    by_key = {p.key: p for p in posts}

    def post_key(row: int) -> PostKey:
        platform = forest.platforms[int(forest.tree[row])]
        node = str(forest.nodes[row])
        # Across platforms the graph package prefixes keys with "<platform>:".
        return platform, node.removeprefix(f"{platform}:") if multi else node

    def author_key(node: Any) -> AuthorKey:
        platform, _, author_id = str(node).partition(":") if multi else (only, "", str(node))
        return platform, author_id

    reach: dict[AuthorKey, int] = {}
    ranks: dict[AuthorKey, int] = {}
    notes: list[str] = []
    try:
        # k = every node: the report ranks all accounts, not only a top few.
        key_nodes = rank(author_graph, forest, k=max(len(author_graph), 1))
    except Exception as exc:  # a ranking failure must cost the rank column, not the report
        log.warning("rank_key_nodes failed on %d accounts: %s", len(author_graph), exc)
        local = local_graph_facts(posts)
        reach, ranks = local.reach, local.rank
        notes.append(f"key-node ranking failed ({type(exc).__name__}); ranked by reach only")
        key_nodes = []
    for key_node in key_nodes:
        if key_node.placeholder:
            continue
        account = author_key(key_node.node)
        ranks[account] = len(ranks) + 1
        reach[account] = int(key_node.values.get("reach", 0))
    out = []
    for c, cid in enumerate(forest.ids):
        shape = shapes[cid]
        if shape["size"] < 2:
            continue
        root_key = post_key(int(forest.offsets[c]))
        root = by_key.get(root_key) or Post(root_key[0], root_key[1], text="(原帖未采集)")
        out.append(CascadeShape(root=root, size=int(shape["size"]), depth=int(shape["depth"]),
                                max_breadth=int(shape["max_breadth"]),
                                structural_virality=shape["structural_virality"], graph=c))
    out.sort(key=lambda s: (-s.size, s.root.platform, s.root.post_id))
    for shape in out[:_PICTURES_MAX]:
        shape.graph = forest.graph(shape.graph)  # trees only for the cascades a report shows
    for shape in out[_PICTURES_MAX:]:
        shape.graph = None
    repaired = {k: v for k, v in forest.stats.items() if v}
    if repaired:
        from scheduler.notify.wording import repairs_note

        notes.append(repairs_note(repaired))
    return GraphFacts(reach=reach, rank=ranks, cascades=out, notes=notes)


def _parents(posts: Sequence[Post]) -> dict[PostKey, PostKey]:
    keys = {p.key for p in posts}
    parent: dict[PostKey, PostKey] = {}
    for p in posts:
        for ref in (p.parent_post_id, p.root_post_id):
            if ref and ref != p.post_id and (p.platform, ref) in keys:
                parent[p.key] = (p.platform, ref)
                break  # the direct parent when collected, else the cascade root
    return parent


def local_graph_facts(posts: Sequence[Post]) -> GraphFacts:
    """Reach, rank and cascade shapes from parent links, linear in the number of posts.

    Reach of an account = posts downstream of its posts (summed over its posts); rank = order
    by reach. Structural virality = 2·Σ_edges s·(n − s) / (n·(n − 1)) on the undirected tree
    (the Wiener index over pairs; s = size below the edge). Posts caught in a parent cycle are
    left out of cascades and counted in ``notes``.
    """
    by_key = {p.key: p for p in posts}
    parent = _parents(posts)
    depth: dict[PostKey, int] = {}
    root_of: dict[PostKey, PostKey] = {}
    cyclic = 0
    for key in by_key:
        chain, seen, node = [], set(), key
        while node not in depth and node in parent and node not in seen:
            seen.add(node)
            chain.append(node)
            node = parent[node]
        if node in seen:  # walked into a loop: nothing on this chain has a root
            cyclic += len(chain)
            for link in chain:
                depth[link], root_of[link] = -1, link
            continue
        if node not in depth:
            depth[node], root_of[node] = 0, node
        base, root = depth[node], root_of[node]
        if base < 0:
            cyclic += len(chain)
            for link in chain:
                depth[link], root_of[link] = -1, link
            continue
        for i, link in enumerate(reversed(chain), start=1):
            depth[link], root_of[link] = base + i, root
    size = dict.fromkeys(by_key, 1)
    for key in sorted(by_key, key=lambda k: -depth[k]):  # children before parents
        if depth[key] > 0:
            size[parent[key]] += size[key]

    reach: Counter[AuthorKey] = Counter()
    for key, post in by_key.items():
        if post.author_id and depth[key] >= 0:
            reach[(post.platform, post.author_id)] += size[key] - 1
    ranked = [a for a, r in sorted(reach.items(), key=lambda kv: (-kv[1], kv[0])) if r > 0]
    members: dict[PostKey, list[PostKey]] = defaultdict(list)
    for key in by_key:
        if depth[key] >= 0:
            members[root_of[key]].append(key)
    shapes = []
    for root, nodes in members.items():
        n = len(nodes)
        if n < 2:
            continue
        levels = Counter(depth[k] for k in nodes)
        wiener = sum(size[k] * (n - size[k]) for k in nodes if k != root)
        shapes.append(CascadeShape(
            root=by_key[root], size=n, depth=max(levels), max_breadth=max(levels.values()),
            structural_virality=2 * wiener / (n * (n - 1)),
            graph=_tree(nodes, parent, by_key, root)))
    shapes.sort(key=lambda s: (-s.size, s.root.platform, s.root.post_id))
    notes = [f"{cyclic} post(s) in repost cycles left out of cascades"] if cyclic else []
    return GraphFacts(reach=dict(reach), rank={a: i for i, a in enumerate(ranked, 1)},
                      cascades=shapes, notes=notes)


def _tree(nodes: list[PostKey], parent: Mapping[PostKey, PostKey], by_key: Mapping[PostKey, Post],
          root: PostKey) -> Any:
    import networkx as nx

    graph = nx.DiGraph(root=root)
    for key in nodes:
        post = by_key[key]
        graph.add_node(key, author=post.author_name or post.author_id, sentiment=post.sentiment,
                       created_at=post.created_at)
        if key != root:
            graph.add_edge(parent[key], key)
    return graph
