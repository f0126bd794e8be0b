"""Engagement per post, author and topic, and the depth funnel exposure → interaction →
creation → sharing. Pure functions over ``crawlers.items.Post``; no store, no settings.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass

from crawlers.items import AuthorKey, Post

__all__ = [
    "Engagement",
    "Funnel",
    "engagement",
    "engagement_by",
    "funnel",
    "has_own_words",
]

# Text a platform fills in when the user typed nothing (Weibo, Weibo intl, Zhihu/Tieba shares).
_DEFAULT_TEXTS = frozenset(
    {"转发微博", "轉發微博", "repost", "转发", "分享图片", "分享视频", "分享"}
)
_CHAIN = re.compile(r"//\s*@")
_NOISE = re.compile(r"\[[^\[\]\s]{1,8}\]|@[\w\-·]{1,30}|https?://\S+|[\W_]+")
_TOP_LEVEL = frozenset({"original", "article", "answer", "thread"})


@dataclass(frozen=True)
class Engagement:
    """Counts over a set of posts and the engagement rate.

    ``interactions`` = likes + comments + reposts. ``rate`` = interactions / reach, summed over
    the posts whose reach is known, where a post's reach is its reads when the platform shows
    them (WeChat, Zhihu articles) and otherwise its author's followers (Weibo, forums); None
    when no post has a known reach.
    """

    posts: int = 0
    reads: int = 0
    likes: int = 0
    reposts: int = 0
    comments: int = 0
    interactions: int = 0
    reach: int = 0
    rate: float | None = None


@dataclass(frozen=True)
class Funnel:
    """Depth funnel: how far the audience went.

    ``exposure``  reads, or followers of the authors (reposters included) where reads are
                  unknown: the potential reach;
    ``interaction`` likes + comments + reposts counted by the platform;
    ``creation``  posts with their own words: top-level posts, and comments, replies and
                  reposts whose text is not empty, a bare "转发微博" or only emoticons/mentions;
    ``sharing``   reposts: the platforms' repost counts of the non-repost posts, or the reposts
                  collected, whichever is larger (collected reposts are part of those counts).
    """

    exposure: int
    interaction: int
    creation: int
    sharing: int


def has_own_words(post: Post) -> bool:
    """Whether a post carries its author's own words (the "creation" stage).

    Top-level posts (original, article, answer, thread) always do. For comments, replies and
    reposts only the text before a Weibo ``//@name:`` chain is the author's, and it must hold
    more than a default text, emoticons, mentions or punctuation.

    >>> has_own_words(Post("weibo", "p1", text="[图片]", kind="original"))
    True
    >>> has_own_words(Post("weibo", "r1", text="转发微博", kind="repost"))
    False
    >>> has_own_words(Post("weibo", "r2", text="[哈哈] //@a: 真好", kind="repost"))
    False
    >>> has_own_words(Post("weibo", "r3", text="说得对 //@a: 真好", kind="repost"))
    True
    """
    text = _CHAIN.split(post.text or "", maxsplit=1)[0].strip()
    if post.kind in _TOP_LEVEL:
        return True
    if text.lower() in _DEFAULT_TEXTS:
        return False
    return bool(_NOISE.sub("", text))


def _reach(post: Post, followers: Mapping[AuthorKey, int | None]) -> int | None:
    if post.read_count is not None:
        return post.read_count
    if post.author_id is None:
        return None
    return followers.get((post.platform, post.author_id))


def engagement(
    posts: Iterable[Post], *, followers: Mapping[AuthorKey, int | None] | None = None
) -> Engagement:
    """Engagement of a set of posts (one post, an author's posts, a topic).

    Parameters
    ----------
    posts : iterable of Post
    followers : mapping, optional
        ``{(platform, author_id): followers}``, used as reach where reads are unknown.

    Returns
    -------
    Engagement

    Examples
    --------
    >>> a = Post("wechat", "1", read_count=1000, like_count=30, repost_count=10, comment_count=10)
    >>> engagement([a]).rate
    0.05
    >>> b = Post("weibo", "2", author_id="u1", like_count=5, comment_count=3, repost_count=2)
    >>> engagement([b], followers={("weibo", "u1"): 200}).rate
    0.05
    >>> engagement([b]).rate is None
    True
    """
    followers = followers or {}
    n = reads = likes = reposts = comments = reach = reached = 0
    for p in posts:
        n += 1
        li, re_, co = p.like_count or 0, p.repost_count or 0, p.comment_count or 0
        likes, reposts, comments = likes + li, reposts + re_, comments + co
        reads += p.read_count or 0
        r = _reach(p, followers)
        if r:
            reach += r
            reached += li + re_ + co
    interactions = likes + reposts + comments
    rate = reached / reach if reach else None
    return Engagement(n, reads, likes, reposts, comments, interactions, reach, rate)


def engagement_by(
    posts: Iterable[Post],
    key: Callable[[Post], Iterable[Hashable]],
    *,
    followers: Mapping[AuthorKey, int | None] | None = None,
) -> dict[Hashable, Engagement]:
    """:func:`engagement` per group; ``key(post)`` returns the post's groups (a post with two
    topics counts in both).

    >>> ps = [Post("weibo", "1", author_id="a", like_count=2), Post("weibo", "2", author_id="b")]
    >>> {k: e.likes for k, e in engagement_by(ps, lambda p: [p.author_id]).items()}
    {'a': 2, 'b': 0}
    """
    groups: dict[Hashable, list[Post]] = {}
    for p in posts:
        for k in key(p):
            groups.setdefault(k, []).append(p)
    return {k: engagement(v, followers=followers) for k, v in groups.items()}


def funnel(
    posts: Iterable[Post], *, followers: Mapping[AuthorKey, int | None] | None = None
) -> Funnel:
    """The exposure → interaction → creation → sharing funnel of ``posts`` (see :class:`Funnel`).

    Examples
    --------
    >>> root = Post("weibo", "1", text="新品发布", author_id="a", repost_count=3, like_count=10)
    >>> r1 = Post("weibo", "2", text="转发微博", kind="repost", parent_post_id="1")
    >>> r2 = Post("weibo", "3", text="支持！//@a: 新品发布", kind="repost", author_id="b")
    >>> funnel([root, r1, r2], followers={("weibo", "a"): 5000, ("weibo", "b"): 300})
    Funnel(exposure=5300, interaction=13, creation=2, sharing=3)
    """
    followers = followers or {}
    exposure = interaction = creation = counted_shares = collected_reposts = 0
    for p in posts:
        # A repost exposes the content to the reposter's followers too.
        exposure += _reach(p, followers) or 0
        if p.kind != "repost":
            counted_shares += p.repost_count or 0
        else:
            collected_reposts += 1
        interaction += (p.like_count or 0) + (p.comment_count or 0) + (p.repost_count or 0)
        creation += has_own_words(p)
    return Funnel(exposure, interaction, creation, max(counted_shares, collected_reposts))
