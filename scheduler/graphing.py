"""The store-facing edge of graph/: load a topic window, build the graphs, analyse, report.

Reads the store only through Store methods (``posts``, ``cascade``, ``authors``); everything
else is graph/'s pure functions. No printing: the CLI and reports format what this returns.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import networkx as nx

    from crawlers.items import Author, AuthorKey, Post
    from crawlers.storage.base import Store
    from graph.forest import CascadeForest

__all__ = ["TopicGraphs", "analyse", "graph_report", "load_topic", "topic_graphs"]


@dataclass
class TopicGraphs:
    """A topic window's posts and graphs. ``context`` posts were outside the window (or not
    tagged with the topic) but belong to its cascades, so parents resolve."""

    posts: list[Post]
    authors: dict[AuthorKey, Author]
    context: int
    G: nx.DiGraph
    forest: CascadeForest
    meta: dict[str, Any] = field(default_factory=dict)


def load_topic(store: Store, topic: str, *, since: datetime | None = None,
               until: datetime | None = None, platform: str | Sequence[str] | None = None,
               complete: bool = True) -> tuple[list[Post], dict[AuthorKey, Author], int]:
    """Posts of ``topic`` in ``[since, until)``, plus (``complete``) the rest of every cascade
    whose root or some parent is missing from the window, and the authors of all of them.

    Returns ``(posts, authors, context)`` where ``context`` counts the added cascade posts.
    """
    chosen = [platform] if isinstance(platform, str) else list(platform or [])
    if len(chosen) == 1:
        posts = list(store.posts(topic=topic, since=since, until=until, platform=chosen[0]))
    else:  # several platforms: one window read, filtered (no read per platform to merge)
        posts = [p for p in store.posts(topic=topic, since=since, until=until)
                 if not chosen or p.platform in chosen]
    have = {p.key for p in posts}
    context = 0
    if complete:
        incomplete = sorted({
            (p.platform, p.root_post_id) for p in posts
            if p.root_post_id and p.root_post_id != p.post_id
            and ((p.platform, p.root_post_id) not in have
                 or (p.parent_post_id and (p.platform, p.parent_post_id) not in have))
        })
        for plat, root in incomplete:
            for q in store.cascade(plat, root):
                if q.key in have or (until is not None and q.created_at is not None
                                     and q.created_at >= until):
                    continue
                posts.append(q)
                have.add(q.key)
                context += 1
    keys = {(p.platform, p.author_id) for p in posts if p.author_id}
    keys |= {(p.platform, p.parent_author_id) for p in posts if p.parent_author_id}
    return posts, store.authors(sorted(keys)), context


def topic_graphs(store: Store, topic: str, *, since: datetime | None = None,
                 until: datetime | None = None, platform: str | Sequence[str] | None = None,
                 complete: bool = True) -> TopicGraphs:
    """Load a topic window and build its author graph and cascade forest (parents resolved once)."""
    from graph import propagation_graphs

    posts, authors, context = load_topic(store, topic, since=since, until=until,
                                         platform=platform, complete=complete)
    G, forest = propagation_graphs(posts, authors)
    meta = {"topic": topic,
            "platform": platform if isinstance(platform, str) or not platform
            else ",".join(platform),
            "since": since.isoformat() if since else None,
            "until": until.isoformat() if until else None}
    return TopicGraphs(posts, authors, context, G, forest, meta)


def _cascade_rows(tg: TopicGraphs, shapes: dict[Hashable, dict[str, Any]], limit: int
                  ) -> list[dict[str, Any]]:
    F = tg.forest
    by_key = {p.key: p for p in tg.posts}
    order = sorted(range(len(F)), key=lambda c: (-int(F.sizes[c]), str(F.ids[c])))
    rows = []
    for c in order[:limit]:
        cid = F.ids[c]
        root_row = int(F.offsets[c])
        a = int(F.author[root_row])
        plat = F.platforms[c]
        post = by_key.get((plat or "", str(F.nodes[root_row])))
        shape = dict(shapes[cid])
        shape.pop("level_shares", None)
        rows.append({
            "cascade_id": cid, "platform": plat,
            "root_author": F.author_names[a] if a >= 0 else None,
            "root_collected": not bool(F.placeholder[root_row]),
            "root_text": (post.title or post.text)[:60] if post is not None else None,
            **shape,
        })
    return rows


def graph_report(store: Store, topic: str, *, since: datetime | None = None,
                 until: datetime | None = None, platform: str | None = None,
                 progress: Callable[[str], None] | None = None, **kwargs: Any) -> dict[str, Any]:
    """Load a topic window from the store and :func:`analyse` it."""
    if progress is not None:
        progress(f"loading topic {topic!r}")
    tg = topic_graphs(store, topic, since=since, until=until, platform=platform)
    return analyse(tg, progress=progress, **kwargs)


def analyse(tg: TopicGraphs, *, k: int = 20, cascades: int = 10, tipping: int = 10,
            circle_count: int = 10, progress: Callable[[str], None] | None = None
            ) -> dict[str, Any]:
    """The propagation report of a loaded topic as a JSON-ready dict.

    Keys: topic, platform, since, until, posts (in the window), context_posts, accounts,
    flows, cascade_count, stats (repairs), key_nodes, tipping_points, cascades (the largest
    ``cascades`` with their shape), circles.
    """
    from graph import cascade_shapes, circles, rank_key_nodes, tipping_points

    say = progress or (lambda _msg: None)
    G, F = tg.G, tg.forest
    say(f"{len(tg.posts):,} posts, {G.number_of_nodes():,} accounts: ranking key nodes")
    keys = rank_key_nodes(G, F, k=k)
    tips = tipping_points(F, tipping, G=G)
    shapes = cascade_shapes(F)
    say("finding circles")
    circ = circles(G)[:circle_count]
    return {
        **tg.meta,
        "posts": len(tg.posts) - tg.context,
        "context_posts": tg.context,
        "accounts": G.number_of_nodes(),
        "flows": G.number_of_edges(),
        "cascade_count": len(F),
        "stats": dict(G.graph.get("stats", {})),
        "key_nodes": [kn.to_dict() for kn in keys],
        "tipping_points": [t.to_dict() for t in tips],
        "cascades": _cascade_rows(tg, shapes, cascades),
        "circles": [c.to_dict() for c in circ],
    }
