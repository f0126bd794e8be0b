"""A monitor's repost cascades: the largest ones of a window, and one cascade's tree to draw.

Parents and shape measures come from graph/ (:func:`graph.cascade` resolves each post's parent
by ``parent_post_id``, ``//@`` chains and the rest; :func:`graph.cascade_shape` measures the
tree), so the page shows the same numbers as the reports. Counting which cascades are largest
reads the window's posts once; only the top few are then read whole from the store.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from graph.build import cascade as cascade_tree
from graph.shape import cascade_shape
from scheduler.notify.wording import platform_name
from scheduler.reports.markup import safe_url
from web.data.series import sentiment_name

if TYPE_CHECKING:
    import networkx as nx

    from crawlers.items import Post
    from crawlers.storage import Store
    from scheduler.i18n import Wording
    from web.data.series import Window

__all__ = ["MAX_NODES", "TOP", "cascade_detail", "cascade_posts", "top_cascades"]

TOP = 20  # cascades listed
RANKED = 5000  # cascades of the window, busiest first, looked through for the TOP
MAX_NODES = 500  # nodes drawn; ECharts stays responsive and a reader can still follow it
EXCERPT = 80


def _engagement(p: Post | None) -> int:
    if p is None:
        return 0
    return (p.repost_count or 0) + (p.comment_count or 0) + (p.like_count or 0)


def _excerpt(text: str | None) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= EXCERPT else text[:EXCERPT] + "…"


def _negative_share(posts: list[Post]) -> float | None:
    """Share of the scored posts labelled negative (None when none is scored)."""
    labelled = [p for p in posts if p.sentiment_label]
    if not labelled:
        return None
    return sum(p.sentiment_label == "negative" for p in labelled) / len(labelled)


def cascade_posts(store: Store, topic: str, platform: str, root_post_id: str) -> list[Post]:
    """The stored cascade, or [] when it is unknown or none of its posts carries ``topic``
    (another monitor's cascade is not this monitor's to show)."""
    posts = store.cascade(platform, root_post_id)
    if not any(topic in (p.topics or ()) for p in posts):
        return []
    return posts


def _tree(posts: list[Post], root_post_id: str) -> nx.DiGraph:
    return cascade_tree(posts, root_post_id)


def top_cascades(store: Store, topic: str, win: Window, *, w: Wording,
                 limit: int = TOP) -> list[dict[str, Any]]:
    """The ``limit`` cascades with the most posts of ``topic`` in the window, largest first,
    each measured over the whole stored cascade (its reposts outside the window included).
    The window's posts per cascade are counted by the store (``root_counts``); its ``RANKED``
    busiest are checked for reposts in turn until ``limit`` cascades are found (lone posts
    rank last among equals only by id, so a window of mostly lone posts may list fewer)."""
    ranked = [((r["platform"], r["root_post_id"]), r["posts"]) for r in store.root_counts(
        topic=topic, since=win.since, until=win.until, limit=RANKED)]
    rows: list[dict[str, Any]] = []
    for (platform, root_id), in_window in _with_reposts(store, ranked):
        if len(rows) >= limit:
            break
        posts = store.cascade(platform, root_id)
        if len(posts) < 2:
            continue
        shape = cascade_shape(_tree(posts, root_id))
        root = next((p for p in posts if p.post_id == root_id), None)
        rows.append({
            "platform": platform, "platform_name": platform_name(platform, w),
            "root_post_id": root_id,
            "excerpt": _excerpt(root.title or root.text) if root else w("（原帖未采集）"),
            "author": (root.author_name or root.author_id) if root else None,
            "time": w.time(root.created_at if root else None),
            "size": int(shape["size"]), "depth": int(shape["depth"]),
            "max_breadth": int(shape["max_breadth"]),
            "structural_virality": float(shape["structural_virality"]),
            "posts": len(posts), "in_window": in_window,
            "negative_share": _negative_share(posts),
            "url": f"/monitors/{quote(topic, safe='')}/cascades/{quote(platform, safe='')}/"
                   f"{quote(root_id, safe='')}",
        })
    rows.sort(key=lambda r: (-r["size"], r["platform"], r["root_post_id"]))
    return rows


def _with_reposts(store: Store, ranked: list[tuple[tuple[str, str], int]], chunk: int = 200
                  ) -> Iterator[tuple[tuple[str, str], int]]:
    """``ranked`` without the lone posts (no stored repost names them as root), asking the
    store's ``cascade_sizes`` a chunk at a time: a window of 50,000 originals and a few
    cascades then costs a few counting queries, not 50,000 cascade reads."""
    for start in range(0, len(ranked), chunk):
        part = ranked[start:start + chunk]
        sizes: dict[str, dict[str, int]] = {}
        for platform in {k[0] for k, _ in part}:
            sizes[platform] = store.cascade_sizes(
                platform, [root for (plat, root), _ in part if plat == platform])
        for key, n in part:
            if sizes[key[0]].get(key[1]):
                yield key, n


def _kept(T: nx.DiGraph, root: Any, engagement: dict[Any, int], cap: int) -> set[Any]:
    """At most ``cap`` nodes: the root, then the most engaged posts each with its ancestors
    (so the drawing stays one connected tree)."""
    keep = {root}
    for node in sorted(T.nodes, key=lambda n: (-engagement.get(n, 0), str(n))):
        if len(keep) >= cap:
            break
        path = []
        cur = node
        while cur not in keep:
            path.append(cur)
            parents = list(T.predecessors(cur))
            if not parents:
                break
            cur = parents[0]
        if len(keep) + len(path) <= cap:
            keep.update(path)
    return keep


def cascade_detail(posts: list[Post], root_post_id: str, *, topic: str, w: Wording,
                   cap: int = MAX_NODES) -> dict[str, Any]:
    """Nodes and edges of the cascade tree, at most ``cap`` nodes, with what the side panel
    shows for each post. Placeholder nodes stand for parents that were never collected."""
    T = _tree(posts, root_post_id)
    shape = cascade_shape(T)
    by_id = {p.post_id: p for p in posts}
    engagement = {n: _engagement(by_id.get(str(n))) for n in T.nodes}
    roots = [n for n in T.nodes if T.in_degree(n) == 0]
    root = roots[0] if roots else root_post_id
    keep = _kept(T, root, engagement, cap)
    depth = {root: 0}
    for u, v in _bfs_edges(T, root):
        depth[v] = depth[u] + 1
    account = f"?monitor={quote(topic, safe='')}"
    nodes = []
    for n in sorted(keep, key=lambda n: (depth.get(n, 0), str(n))):
        p = by_id.get(str(n))
        parents = [u for u in T.predecessors(n) if u in keep]
        node: dict[str, Any] = {"id": str(n), "parent": str(parents[0]) if parents else None,
                                "depth": depth.get(n, 0), "placeholder": p is None,
                                "engagement": engagement[n]}
        if p is None:
            node.update(author=T.nodes[n].get("name") or w("（未采集）"), text="", title=None,
                        sentiment="unscored", sentiment_name=sentiment_name(None, w))
        else:
            node.update(
                author=p.author_name or p.author_id or w("匿名"),
                account_url=(f"/accounts/{quote(p.platform, safe='')}/"
                             f"{quote(p.author_id, safe='')}{account}") if p.author_id else None,
                text=p.text or "", title=p.title, time=w.time(p.created_at), kind=p.kind,
                platform_name=platform_name(p.platform, w),
                sentiment=p.sentiment_label or "unscored",
                sentiment_name=sentiment_name(p.sentiment_label, w),
                reposts=p.repost_count, comments=p.comment_count, likes=p.like_count,
                url=safe_url(p.url))
        nodes.append(node)
    edges = [{"source": str(u), "target": str(v)} for u, v in T.edges if u in keep and v in keep]
    return {"root": str(root), "total": len(T), "shown": len(nodes),
            "size": int(shape["size"]), "depth": int(shape["depth"]),
            "max_breadth": int(shape["max_breadth"]),
            "structural_virality": float(shape["structural_virality"]),
            "negative_share": _negative_share(posts), "nodes": nodes, "edges": edges}


def _bfs_edges(T: nx.DiGraph, root: Any) -> list[tuple[Any, Any]]:
    import networkx as nx

    return list(nx.bfs_edges(T, root))
