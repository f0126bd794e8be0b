"""Weibo propagation: a repost's ``//@a: //@b:`` chain → its parent (a's repost), its path to the
root, and the links between reposts seen on one or many pages. Pure; mutates only the posts
it is given before they are yielded."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import Any, TypeAlias

from crawlers.items import Post

from .text import own_text, repost_chain

__all__ = [
    "ChainIndex", "copy_post", "find_parent", "link_parents", "mark_repost", "merge_long_text",
]

ChainIndex: TypeAlias = dict[tuple[str | None, str, tuple[str, ...]], Post]
"""(root id, author name, that author's own //@ chain) → the repost: how a name in a chain finds
its post. The root is part of the key: one account reposts many cascades."""


def mark_repost(post: Post, root_id: str | None, root_author_id: str | None,
                root_author_name: str | None) -> None:
    """Fill a repost's propagation fields from its ``//@`` chain and its root."""
    chain = repost_chain(post.text)
    post.kind = "repost"
    post.root_post_id = root_id
    post.repost_path = chain
    post.extra["own_text"] = own_text(post.text)
    if chain:
        post.parent_author_name = chain[0]
    else:
        post.parent_post_id = root_id
        post.parent_author_id = root_author_id
        post.parent_author_name = root_author_name


def find_parent(post: Post, index: ChainIndex) -> Post | None:
    """The repost a chained repost was made from, if ``index`` holds it: the repost of the same
    root by ``repost_path[0]`` whose own chain is the rest of this one's path."""
    if not post.repost_path or post.parent_post_id:
        return None
    return index.get((post.root_post_id, post.repost_path[0], tuple(post.repost_path[1:])))


def link_parents(reposts: Iterable[Post], index: ChainIndex | None = None) -> ChainIndex:
    """Register ``reposts`` in ``index`` (a new one by default), then give each chained repost
    the parent id the index now knows. Returns the index, to carry across pages.

    >>> direct = Post("weibo", "2", text="转发微博", author_name="甲")
    >>> chained = Post("weibo", "3", text="好//@甲:转发微博", author_name="乙")
    >>> for p in (direct, chained):
    ...     mark_repost(p, "1", "u1", "原作者")
    >>> _ = link_parents([chained, direct])
    >>> direct.parent_post_id, chained.parent_post_id, chained.repost_path
    ('1', '2', ['甲'])
    """
    index = {} if index is None else index
    reposts = [p for p in reposts if p.kind == "repost"]
    for p in reposts:
        if p.author_name:
            index.setdefault((p.root_post_id, p.author_name, tuple(p.repost_path)), p)
    for p in reposts:
        parent = find_parent(p, index)
        if parent is not None and parent.post_id != p.post_id:
            p.parent_post_id = parent.post_id
            p.parent_author_id = parent.author_id
    return index


def copy_post(post: Post, **changes: Any) -> Post:
    """``dataclasses.replace`` with fresh lists and dicts, so pipelines touching one copy (the
    topic list…) never touch the other."""
    fresh = {"topics": list(post.topics), "repost_path": list(post.repost_path),
             "extra": dict(post.extra)}
    return replace(post, **{**fresh, **changes})


def merge_long_text(post: Post, long: Post) -> Post:
    """A copy of ``post`` with the full text (and fresher counts) of a long-text response.

    A repost's chain is read again: the truncated text may have cut it short.
    """
    merged = copy_post(
        post, text=long.text,
        repost_count=long.repost_count if long.repost_count is not None else post.repost_count,
        comment_count=long.comment_count if long.comment_count is not None else post.comment_count,
        like_count=long.like_count if long.like_count is not None else post.like_count,
        extra={**post.extra, **long.extra},
    )
    chain = repost_chain(long.text)
    if post.kind == "repost" and chain and chain != post.repost_path:
        merged.repost_path = chain
        merged.extra["own_text"] = own_text(long.text)
        merged.parent_author_name = chain[0]
        if not post.repost_path:  # the parent was taken to be the root; the chain says otherwise
            merged.parent_post_id = merged.parent_author_id = None
    return merged
