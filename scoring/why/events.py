"""Stories ("events") in a window of posts, and how they grow from one monitor run to the next.

Near-duplicates (:mod:`scoring.why.dedup`) and the reposts, comments and replies of a post in the
window collapse into one *item* each. Items are clustered on TF-IDF over character bigrams
(numpy/scipy only: scikit-learn is not a run-time dependency). Pure: no store, no printing.

The clustering is deterministic:

1. A single pass (leader-follower) in time order, in batches of ``batch_size`` items. An item
   joins the cluster whose centroid it is most similar to, when that cosine similarity is at
   least ``threshold``; otherwise it starts a cluster that later items (of its own batch too)
   can join. Similarity is taken over the centroid's salient terms (normalised weight at least
   ``min_term_weight``, then renormalised), which keeps the comparison sparse.
2. Clusters of two items or more whose centroids have a cosine of at least MERGE_THRESHOLD
   merge (two events of earlier runs never merge with each other).
3. An item still alone joins the most similar cluster of two or more if it reaches
   ``threshold``: a story's first posts can come before the story has a centroid.

A centroid is the sum of its items' term-frequency vectors, each weighted 1 + ln(posts in the
item), not by the raw count: one copy-paste campaign of 5,000 posts should not define a story's
vocabulary. IDF is the window's; only terms of two texts or more (MIN_DF) are compared, and
generic bigrams (:data:`STOP_BIGRAMS`) are not terms at all. A cluster of a single post is
reached only through terms of at most COMMON_DF texts, which bounds the comparisons per item
on large windows (a story's common terms still count once it has two posts).
"""

from __future__ import annotations

import hashlib
import math
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime

import numpy as np
import scipy.sparse as sp

from crawlers.items import AuthorKey, Post, PostKey
from scoring.netsentiment import post_label
from scoring.why.dedup import (
    NUM_PERM,
    _partition,
    _shingle_codes,
    _UnionFind,
    match_text,
    ordered_posts,
)
from scoring.why.gcpause import gc_paused

__all__ = [
    "STOP_BIGRAMS",
    "Event",
    "KeyAccount",
    "RepresentativePost",
    "assign_events",
    "event_id",
    "find_events",
]

STOP_BIGRAMS = frozenset(
    "我们 什么 没有 一个 这个 不是 就是 还是 可以 自己 人的 大家 都是 真的 觉得 这么 感觉 "
    "我的 怎么 的人 现在 因为 了一 这是 这样 但是 时候 知道 为什 了我 也不 还有 很多 的是 "
    "也是 一直 是一 看到 是不 好的 的一 这种 的时 已经 出来 不知 是我 如果 所以 一下 一样 "
    "不要 起来 不能 00 都不 真是 应该 有一 到了 开始 样的 可能 不会 一点 个人 了这 那么 "
    "的不 只是 是这 来的 都没 就不 只有 大的 是有 希望 一次 非常 他们 还不 有点 20 不好 "
    "不过 们的 一定 10 还没 结果 那个 以后 虽然 不了 让我 最后 让人 看看 这些 的好 不到 "
    "的那 两个 哈哈 呵呵 嘻嘻 嘿嘿 啊啊 哦哦 嗯嗯 呜呜".split()
)
"""Bigrams frequent in every one of six unrelated Chinese corpora (Weibo posts, Weibo comments
on public events, Weibo emotions, offensive-language comments, shop and hotel reviews): the
bigrams among the 300 most frequent of at least five of them, less topic words (孩子, 中国…),
plus interjections (哈哈, 呵呵…) that would otherwise gather chatter into a "story"."""

CENTROID_TERMS = 64
"""Terms an Event keeps of its centroid (enough to match later posts)."""
MAX_CHARS = 2000
"""Characters of an item's text that are turned into terms (a 100 KB article is its start)."""
TEXT_CHARS = 140
"""Length of a representative post's text."""
KEY_ACCOUNTS = 5
REPRESENTATIVES = 3
LABEL_TERMS = 5
MAX_TERM_CHARS = 10
"""Longest label term (overlapping bigrams are joined up to this length)."""
MIN_DF = 2
"""Terms compared for similarity occur in at least this many texts of the window."""
MERGE_THRESHOLD = 0.4
"""Cosine at which two clusters' centroids merge after the single pass."""
COMMON_DF = 2000
"""A cluster of one post is not reached through terms of more texts than this (see _Clusters)."""
MAX_BATCHES = 256
"""Batches grow past ``batch_size`` so that a window takes at most this many steps."""


@dataclass(frozen=True)
class KeyAccount:
    """An account in an event: its posts there and their engagement (reposts + comments +
    likes)."""

    platform: str
    author_id: str
    author_name: str | None
    posts: int
    engagement: int


@dataclass(frozen=True)
class RepresentativePost:
    """A post that shows what an event is about. ``copies`` counts the posts of the window it
    stands for: itself, its near-duplicates, and the reposts and replies it got."""

    platform: str
    post_id: str
    author_name: str | None
    created_at: datetime | None
    url: str | None
    text: str
    copies: int
    engagement: int


@dataclass
class Event:
    """One story.

    ``event_id`` derives from ``canonical``, the post that started it, so the id persists while
    :func:`assign_events` adds posts. ``size`` counts posts including duplicates; ``accounts``
    are the distinct (platform, author_id) pairs, sorted. Hours are UTC hour starts; ``peak_hour``
    has the most posts (the earliest on a tie). ``positive``/``negative``/``labelled`` count
    posts with a sentiment label (``labelled`` includes neutral). ``hours`` (posts per hour),
    ``members`` (post keys) and ``centroid`` (term → weighted frequency) let a later run extend
    the event.
    """

    event_id: str
    canonical: PostKey
    label_terms: tuple[str, ...]
    size: int
    accounts: tuple[AuthorKey, ...]
    first_hour: datetime | None
    last_hour: datetime | None
    peak_hour: datetime | None
    platforms: Counter[str]
    positive: int
    negative: int
    labelled: int
    key_accounts: tuple[KeyAccount, ...]
    representatives: tuple[RepresentativePost, ...]
    members: tuple[PostKey, ...]
    hours: dict[datetime, int]
    centroid: dict[str, float]

    @property
    def net_sentiment(self) -> float | None:
        """(positive − negative) / labelled, in [-1, 1]; None when no post is labelled."""
        return (self.positive - self.negative) / self.labelled if self.labelled else None


def event_id(canonical: PostKey) -> str:
    """The id of the event started by ``canonical``.

    >>> event_id(("weibo", "4890000000000001"))
    'ev-7af4ea61a1ba251b'
    """
    return "ev-" + hashlib.sha1("\x1f".join(canonical).encode()).hexdigest()[:16]


def find_events(
    posts: Iterable[Post],
    *,
    threshold: float = 0.2,
    min_term_weight: float = 0.1,
    dup_threshold: float = 0.7,
    batch_size: int = 512,
    seed: int = 1,
    min_size: int = 1,
) -> list[Event]:
    """Group a window's posts into stories: :func:`assign_events` with no earlier events.

    The parameters are :func:`assign_events`'s.

    Examples
    --------
    >>> from datetime import datetime, timezone
    >>> t = datetime(2026, 3, 1, 8, 30, tzinfo=timezone.utc)
    >>> texts = ["某地化工厂爆炸致多人受伤，现场浓烟滚滚", "化工厂爆炸现场视频曝光，浓烟滚滚",
    ...          "新款手机发布会今晚举行，价格公布"]
    >>> posts = [Post("weibo", str(i), x, created_at=t) for i, x in enumerate(texts)]
    >>> [(e.size, e.label_terms[:2]) for e in find_events(posts)]
    [(2, ('化工厂爆炸', '浓烟滚滚')), (1, ('款手机发布会今晚举行', '价格公布'))]
    >>> find_events([])
    []
    """
    return assign_events(posts, (), threshold=threshold, min_term_weight=min_term_weight,
                         dup_threshold=dup_threshold, batch_size=batch_size, seed=seed,
                         min_size=min_size)


@gc_paused
def assign_events(
    new_posts: Iterable[Post],
    previous_events: Iterable[Event] = (),
    *,
    threshold: float = 0.2,
    min_term_weight: float = 0.1,
    dup_threshold: float = 0.7,
    batch_size: int = 512,
    seed: int = 1,
    min_size: int = 1,
) -> list[Event]:
    """Add a window's posts to the stories of earlier runs, and find the new ones.

    A new post joins an earlier event when it reposts, comments on or replies to one of that
    event's posts, or when it is similar enough to the event's centroid; otherwise it joins or
    starts a new event. Earlier events keep their ``event_id`` and canonical post; their
    statistics absorb the new posts. Posts already in an earlier event are not counted twice.
    Posts with no words (empty, or emoji and emoticons only) that nothing ties to a worded post
    belong to no event.

    Parameters
    ----------
    new_posts : iterable of Post
        The window (any platforms); a repeated (platform, post_id) is taken once.
    previous_events : iterable of Event
        Events of earlier runs (``[]`` for a first run).
    threshold : float
        Cosine similarity (TF-IDF of character bigrams) an item needs to join a story.
    min_term_weight : float
        Centroid terms below this normalised weight are not compared.
    dup_threshold : float
        Jaccard similarity for near-duplicates (:func:`scoring.why.dedup.near_duplicates`).
    batch_size : int
        Items per clustering step.
    seed : int
        MinHash seed of the near-duplicate step.
    min_size : int
        Smallest event returned (pass 1 to keep every event for the next run).

    Returns
    -------
    list of Event
        Earlier events (updated or not) and new ones, largest first.

    Examples
    --------
    >>> from datetime import datetime, timezone
    >>> t = datetime(2026, 3, 1, 8, tzinfo=timezone.utc)
    >>> text = "地铁三号线故障停运，大量乘客滞留站台"
    >>> first = find_events([Post("weibo", "1", text, created_at=t)])
    >>> later = [Post("weibo", "2", "地铁三号线故障停运，乘客滞留一小时", created_at=t),
    ...          Post("weibo", "3", "转发", created_at=t, root_post_id="1")]
    >>> events = assign_events(later, first)
    >>> [(e.event_id == first[0].event_id, e.size) for e in events]
    [(True, 3)]

    See Also
    --------
    find_events, scoring.why.dedup.near_duplicates
    """
    previous = list(previous_events)
    known = {key for ev in previous for key in ev.members}
    posts = [p for p in ordered_posts(new_posts) if p.key not in known]
    if not posts:
        return _ranked([e for e in previous if e.size >= min_size])
    texts = [match_text(p.text) for p in posts]
    items, forced = _items(posts, texts, previous, dup_threshold, seed)
    docs = [next((texts[i] for i in item if len(texts[i]) > 1), "")[:MAX_CHARS] for item in items]
    tf, vocab, prior = _term_frequencies(docs, [e.centroid for e in previous])
    df = np.bincount(tf.indices, minlength=len(vocab))
    for idx, _ in prior:
        df[idx] += 1
    idf = np.log((1.0 + len(docs)) / (1.0 + df)) + 1.0
    weights = np.array([1.0 + math.log(len(item)) for item in items])
    # Similarity uses the terms of two texts or more: one in a single text links nothing and
    # would only dilute the others. Clustering runs in that smaller vocabulary.
    link = np.flatnonzero(df >= MIN_DF)
    clusters = _Clusters([_restrict(p, link) for p in prior], [e.size for e in previous],
                         idf[link], df[link] > COMMON_DF, threshold, min_term_weight)
    sizes = np.array([len(item) for item in items], dtype=np.int64)
    assignment = clusters.run(sp.csr_matrix(tf[:, link]), weights, sizes, forced, batch_size,
                              np.diff(tf.indptr) > 0)

    members: dict[int, list[int]] = {}
    for n, cluster in enumerate(assignment.tolist()):
        if cluster >= 0:
            members.setdefault(cluster, []).append(n)
    indptr, term, freq, _ = _top_terms(
        _cluster_sums(tf, weights, assignment, prior, len(clusters.sums)), idf, CENTROID_TERMS)
    used, where = np.unique(term, return_inverse=True)
    names = np.array([chr(int(c) >> 21) + chr(int(c) & 0x1FFFFF) for c in vocab[used].tolist()]
                     + [""], dtype=object)[where]
    freq = np.round(freq, 6)
    out = [e for c, e in enumerate(previous) if c not in members]
    for cluster, its in members.items():
        lo, hi = indptr[cluster], indptr[cluster + 1]
        centroid = dict(zip(names[lo:hi].tolist(), freq[lo:hi].tolist(), strict=True))
        event = _summary([[posts[i] for i in items[n]] for n in its], centroid)
        out.append(event if cluster >= len(previous) else _merge(previous[cluster], event))
    return _ranked([e for e in out if e.size >= min_size])


def _ranked(events: list[Event]) -> list[Event]:
    far = datetime.max.replace(tzinfo=UTC)
    return sorted(events, key=lambda e: (-e.size, e.first_hour or far, e.event_id))


def _items(
    posts: Sequence[Post], texts: Sequence[str], previous: Sequence[Event], dup_threshold: float,
    seed: int,
) -> tuple[list[list[int]], dict[int, int]]:
    """Items (positions of posts, in time order) and the items tied to an earlier event.

    A post that reposts, comments on or replies to a post of the window joins that post's item
    (root first, then parent); one that answers a post of an earlier event is tied to it. The
    other posts are grouped as near-duplicates. Answers take no part in that grouping: the
    same "顶" or spam reply under two posts must not merge their stories.
    """
    uf = _UnionFind(len(posts))
    position = {p.key: i for i, p in enumerate(posts)}
    earlier = {key: e for e, ev in enumerate(previous) for key in ev.members}
    tied: dict[int, int] = {}
    free = []
    for i, p in enumerate(posts):
        for ref in (p.root_post_id, p.parent_post_id):
            if ref and (p.platform, ref) in position and position[(p.platform, ref)] != i:
                uf.union(position[(p.platform, ref)], i)
                break
            if ref and (p.platform, ref) in earlier:
                tied[i] = earlier[(p.platform, ref)]
                break
        else:
            free.append(i)
    groups = _partition([posts[i] for i in free], [texts[i] for i in free],
                        threshold=dup_threshold, num_perm=NUM_PERM, seed=seed)
    for group in groups:
        for n in group[1:]:
            uf.union(free[group[0]], free[n])
    items = uf.groups()
    forced = {}
    for n, item in enumerate(items):
        ties = [tied[i] for i in item if i in tied]
        if ties:
            forced[n] = min(ties)
    return items, forced


def _codes(bigrams: Iterable[str]) -> np.ndarray:
    return np.array([(ord(b[0]) << 21) | ord(b[1]) for b in bigrams if len(b) == 2],
                    dtype=np.uint64)


_STOP_CODES = _codes(STOP_BIGRAMS)
_EMPTY = (np.empty(0, dtype=np.int64), np.empty(0))


def _term_frequencies(
    docs: Sequence[str], centroids: Sequence[dict[str, float]]
) -> tuple[sp.csr_matrix, np.ndarray, list[tuple[np.ndarray, np.ndarray]]]:
    """Sublinear term frequencies of ``docs`` (rows), the vocabulary (bigram codes) and the
    earlier centroids as (term index, weight) arrays in that vocabulary."""
    usable = [n for n, d in enumerate(docs) if len(d) > 1]
    codes, starts = (_shingle_codes([docs[n] for n in usable], 2) if usable
                     else (np.empty(0, dtype=np.uint64), np.empty(0, dtype=np.int64)))
    counts = np.diff(np.append(starts, len(codes)))
    rows = np.repeat(np.array(usable, dtype=np.int64), counts)
    keep = ~np.isin(codes, _STOP_CODES)
    codes, rows = codes[keep], rows[keep]
    prior_codes = [_codes(c) for c in centroids]
    vocab, inverse = np.unique(np.concatenate([codes, *prior_codes]), return_inverse=True)
    tf = sp.csr_matrix((np.ones(len(codes)), (rows, inverse[: len(codes)])),
                       shape=(len(docs), len(vocab)))
    tf.sum_duplicates()
    tf.data = 1.0 + np.log(tf.data)
    prior = []
    offset = len(codes)
    for c, centroid in zip(prior_codes, centroids, strict=True):
        idx = inverse[offset : offset + len(c)].astype(np.int64)
        offset += len(c)
        values = np.array([w for b, w in centroid.items() if len(b) == 2], dtype=np.float64)
        order = np.argsort(idx)
        prior.append((idx[order], values[order]))
    return tf, vocab, prior


def _unit_rows(m: sp.csr_matrix) -> sp.csr_matrix:
    """Rows scaled to unit length, as float32 (similarities need no more)."""
    norms = np.sqrt(np.asarray(m.multiply(m).sum(axis=1)).ravel())
    return sp.csr_matrix(sp.diags(1.0 / np.where(norms > 0, norms, 1.0)) @ m, dtype=np.float32)


def _salient(m: sp.csr_matrix, min_weight: float) -> sp.csr_matrix:
    """Unit rows of ``m`` without the weights below ``min_weight``, renormalised."""
    m = _unit_rows(m)
    m.data[m.data < min_weight] = 0.0
    m.eliminate_zeros()
    return _unit_rows(m)


class _Clusters:
    """The single-pass centroid clustering.

    ``sums[c]`` is cluster c's weighted term-frequency sum as (term index, value) arrays.
    Matching rows (salient, unit TF-IDF centroids) live in a log of blocks, each stored
    transposed for the product; a refreshed cluster's old row is marked dead and dropped when
    its block is merged into an older one.
    """

    def __init__(self, prior: list[tuple[np.ndarray, np.ndarray]], prior_sizes: list[int],
                 idf: np.ndarray, common: np.ndarray, threshold: float,
                 min_weight: float) -> None:
        self.sums = list(prior)
        self.posts = list(prior_sizes)  # posts per cluster
        self.common = common
        self.sizes = np.empty(0, dtype=np.int64)  # posts per item, set by run()
        self.prior, self.n_prior = list(prior), len(prior)
        self.idf, self.threshold, self.min_weight = idf, threshold, min_weight
        self.blocks: list[tuple[sp.csr_matrix, np.ndarray, np.ndarray]] = []
        self.where: dict[int, tuple[int, int]] = {}
        self._add_rows(np.arange(len(prior)))

    def _sums_of(self, clusters: np.ndarray) -> sp.csr_matrix:
        lengths = [len(self.sums[c][0]) for c in clusters.tolist()]
        indptr = np.concatenate(([0], np.cumsum(lengths))).astype(np.int64)
        idx = [self.sums[c][0] for c in clusters.tolist()]
        val = [self.sums[c][1] for c in clusters.tolist()]
        return sp.csr_matrix((np.concatenate([*val, _EMPTY[1]]),
                              np.concatenate([*idx, _EMPTY[0]]), indptr),
                             shape=(len(clusters), len(self.idf)))

    def _add_rows(self, clusters: np.ndarray) -> None:
        if not len(clusters):
            return
        matrix = _salient(sp.csr_matrix(self._sums_of(clusters) @ sp.diags(self.idf)),
                          self.min_weight)
        # a single post is reached through its less common terms only: this keeps the term
        # columns short, so an item is compared with a bounded number of clusters
        single = np.array([self.posts[c] == 1 for c in clusters.tolist()], dtype=bool)
        rows = np.repeat(np.arange(len(clusters)), np.diff(matrix.indptr))
        matrix.data[single[rows] & self.common[matrix.indices]] = 0.0
        matrix.eliminate_zeros()
        for c in clusters.tolist():
            if c in self.where:
                block, row = self.where[c]
                self.blocks[block][2][row] = False
        block = len(self.blocks)
        for r, c in enumerate(clusters.tolist()):
            self.where[c] = (block, r)
        self.blocks.append((sp.csr_matrix(matrix.T), clusters.astype(np.int64),
                            np.ones(len(clusters), dtype=bool)))
        # merge the newest two blocks while the older is at most twice the newer (live rows):
        # O(log n) blocks, and each row is copied O(log n) times in all
        while len(self.blocks) > 1 and (
                self.blocks[-2][2].sum() <= 2 * self.blocks[-1][2].sum()):
            (m1, c1, l1), (m2, c2, l2) = self.blocks[-2:]
            merged = np.concatenate([c1[l1], c2[l2]])
            matrix_t = sp.csr_matrix(sp.hstack([m1[:, l1], m2[:, l2]]))
            self.blocks[-2:] = [(matrix_t, merged, np.ones(len(merged), dtype=bool))]
            block = len(self.blocks) - 1
            self.where.update((c, (block, r)) for r, c in enumerate(merged.tolist()))

    def _best(self, x: sp.csr_matrix) -> np.ndarray:
        """Per row of x: the most similar live cluster at or above threshold (-1 if none;
        ties go to the older cluster)."""
        found_r, found_c, found_v = [], [], []
        for matrix_t, clusters, live in self.blocks:
            s = (x @ matrix_t).tocoo()
            keep = (s.data >= self.threshold) & live[s.col]
            found_r.append(s.row[keep])
            found_c.append(clusters[s.col[keep]])
            found_v.append(s.data[keep])
        best = np.full(x.shape[0], -1, dtype=np.int64)
        if found_r:
            r, c, v = np.concatenate(found_r), np.concatenate(found_c), np.concatenate(found_v)
            order = np.lexsort((c, -v, r))
            if len(order):
                first = order[np.r_[True, r[order][1:] != r[order][:-1]]]
                best[r[first]] = c[first]
        return best

    def run(self, tf: sp.csr_matrix, weights: np.ndarray, sizes: np.ndarray,
            forced: dict[int, int], batch_size: int, has_words: np.ndarray) -> np.ndarray:
        """Cluster index per item (-1: no words, no event)."""
        self.sizes = sizes
        x = _unit_rows(sp.csr_matrix(tf @ sp.diags(self.idf)))
        x.eliminate_zeros()
        has_terms = np.diff(x.indptr) > 0
        assignment = np.full(tf.shape[0], -1, dtype=np.int64)
        for n, c in forced.items():
            assignment[n] = c
        for n in np.flatnonzero(has_words & ~has_terms).tolist():
            if assignment[n] < 0:  # words, but none shared with another text: a story alone
                assignment[n] = len(self.sums)
                self.sums.append(_EMPTY)
                self.posts.append(0)
        step = max(1, batch_size, -(-tf.shape[0] // MAX_BATCHES))
        for start in range(0, tf.shape[0], step):
            span = np.arange(start, min(start + step, tf.shape[0]))
            batch = span[has_terms[span] & (assignment[span] < 0)]
            if len(batch):
                best = self._best(x[batch])
                assignment[batch] = best
                self._leaders(x, batch[best < 0], assignment)
            self._absorb(tf, weights, span[assignment[span] >= 0], assignment)
        return self._refine(tf, x, weights, assignment)

    def _leaders(self, x: sp.csr_matrix, pending: np.ndarray, assignment: np.ndarray) -> None:
        """Items of one batch that matched no cluster: each joins the most similar earlier one
        of them that started a cluster, or starts one."""
        if not len(pending):
            return
        rows = x[pending]
        sims = (rows @ _salient(rows, self.min_weight).T).toarray()
        reachable = np.tril(sims >= self.threshold, -1).any(axis=1)
        leaders = np.empty(len(pending), dtype=np.int64)
        count = 0
        for u in range(len(pending)):
            if reachable[u] and count:
                row = sims[u, leaders[:count]]
                j = int(np.argmax(row))
                if row[j] >= self.threshold:
                    assignment[pending[u]] = assignment[pending[leaders[j]]]
                    continue
            assignment[pending[u]] = len(self.sums)
            self.sums.append(_EMPTY)
            self.posts.append(0)
            leaders[count] = u
            count += 1

    def _absorb(self, tf: sp.csr_matrix, weights: np.ndarray, placed: np.ndarray,
                assignment: np.ndarray) -> None:
        """Add items ``placed`` to their clusters' sums and refresh those matching rows."""
        if not len(placed):
            return
        touched, local = np.unique(assignment[placed], return_inverse=True)
        rows = sp.csr_matrix(sp.diags(weights[placed]) @ tf[placed])
        old = self._sums_of(touched)
        combined = sp.csr_matrix(sp.csr_matrix(
            (np.ones(len(placed)), (local, np.arange(len(placed)))),
            shape=(len(touched), len(placed))) @ rows) + old
        combined = sp.csr_matrix(combined)
        combined.sum_duplicates()
        for r, c in enumerate(touched.tolist()):
            lo, hi = combined.indptr[r], combined.indptr[r + 1]
            self.sums[c] = (combined.indices[lo:hi].astype(np.int64), combined.data[lo:hi])
        for c, size in zip(assignment[placed].tolist(), self.sizes[placed].tolist(), strict=True):
            self.posts[c] += size
        self._add_rows(touched)

    def _centroids(self, tf: sp.csr_matrix, weights: np.ndarray, assignment: np.ndarray,
                   clusters: np.ndarray) -> sp.csr_matrix:
        sums = _cluster_sums(tf, weights, assignment, self.prior, len(self.sums))[clusters]
        return _salient(sp.csr_matrix(sums @ sp.diags(self.idf)), self.min_weight)

    def _refine(self, tf: sp.csr_matrix, x: sp.csr_matrix, weights: np.ndarray,
                assignment: np.ndarray) -> np.ndarray:
        """Merge clusters whose centroids are alike (two earlier events never merge), then
        move items left alone into the most similar cluster of two or more."""
        k = len(self.sums)
        placed = assignment >= 0
        if not k:
            return assignment
        counts = np.bincount(assignment[placed], minlength=k)
        est = np.flatnonzero((counts >= 2) | (np.arange(k) < self.n_prior))
        m = self._centroids(tf, weights, assignment, est)
        sim = (m @ m.T).tocoo()
        keep = (sim.row < sim.col) & (sim.data >= MERGE_THRESHOLD)
        r, c, v = sim.row[keep], sim.col[keep], sim.data[keep]
        uf = _UnionFind(k)
        for n in np.lexsort((c, r, -v)).tolist():
            a, b = uf.find(int(est[r[n]])), uf.find(int(est[c[n]]))
            if a != b and not (a < self.n_prior and b < self.n_prior):
                uf.union(a, b)
        root = np.array([uf.find(i) for i in range(k)], dtype=np.int64)
        assignment = np.where(placed, root[np.maximum(assignment, 0)], -1)

        counts = np.bincount(assignment[placed], minlength=k)
        est = np.flatnonzero((counts >= 2) | (np.arange(k) < self.n_prior))
        lonely = np.flatnonzero(placed & (counts[np.maximum(assignment, 0)] == 1)
                                & (assignment >= self.n_prior))
        if len(lonely) and len(est):
            m = self._centroids(tf, weights, assignment, est)
            self.blocks = [(sp.csr_matrix(m.T), est, np.ones(len(est), dtype=bool))]
            best = self._best(x[lonely])
            assignment[lonely[best >= 0]] = best[best >= 0]
        return assignment


def _restrict(vector: tuple[np.ndarray, np.ndarray], terms: np.ndarray) -> tuple[
        np.ndarray, np.ndarray]:
    """A (term index, value) vector in the sub-vocabulary ``terms`` (sorted indices)."""
    idx, val = vector
    at = np.minimum(np.searchsorted(terms, idx), max(len(terms) - 1, 0))
    inside = (terms[at] == idx) if len(terms) else np.zeros(len(idx), dtype=bool)
    return at[inside].astype(np.int64), val[inside]


def _cluster_sums(tf: sp.csr_matrix, weights: np.ndarray, assignment: np.ndarray,
                  prior: list[tuple[np.ndarray, np.ndarray]], k: int) -> sp.csr_matrix:
    """Every cluster's sum (k rows): the earlier sum it started with plus its items'."""
    placed = np.flatnonzero(assignment >= 0)
    a = sp.csr_matrix((weights[placed], (assignment[placed], placed)), shape=(k, tf.shape[0]))
    total = sp.csr_matrix(a @ tf)
    if prior:
        rows = np.repeat(np.arange(len(prior)), [len(p[0]) for p in prior])
        total = sp.csr_matrix(total + sp.csr_matrix(
            (np.concatenate([p[1] for p in prior]), (rows, np.concatenate([p[0] for p in prior]))),
            shape=total.shape))
    total.sum_duplicates()
    return total


def _top_terms(sums: sp.csr_matrix, idf: np.ndarray, k: int) -> tuple[np.ndarray, ...]:
    """Per row of ``sums``: its k heaviest terms by TF-IDF (ties by term index), as csr-style
    (indptr, term index, weighted frequency, TF-IDF weight)."""
    rows = np.repeat(np.arange(sums.shape[0]), np.diff(sums.indptr))
    weight = sums.data * idf[sums.indices]
    order = np.lexsort((sums.indices, -weight, rows))
    rank = np.arange(len(order)) - sums.indptr[rows[order]]
    top = order[rank < k]
    indptr = np.concatenate(([0], np.cumsum(np.bincount(rows[top], minlength=sums.shape[0]))))
    return indptr, sums.indices[top], sums.data[top], weight[top]


def _summary(items: list[list[Post]], centroid: dict[str, float]) -> Event:
    """The Event of one cluster's new items (each a list of posts, canonical first);
    ``centroid`` holds its heaviest terms, heaviest first."""
    if len(items) == 1 and len(items[0]) == 1:
        return _single(items[0][0], centroid)
    posts = items[0] if len(items) == 1 else [p for item in items for p in item]
    counts: dict[int, int] = {}
    labels = {"positive": 0, "negative": 0, "neutral": 0, None: 0}
    for p in posts:
        if p.created_at is not None:
            hour = int(p.created_at.timestamp()) // 3600
            counts[hour] = counts.get(hour, 0) + 1
        label = post_label(p)
        labels[label if label in labels else None] += 1
    hours = {datetime.fromtimestamp(3600 * h, UTC): n for h, n in sorted(counts.items())}
    ranked = sorted(range(len(items)), key=lambda n: (-len(items[n]), -_engagement(items[n][0])))
    canonical = min((item[0] for item in items), key=_time_key)
    members = posts if len(items) == 1 else sorted(posts, key=_time_key)  # items are in order
    return Event(
        event_id=event_id(canonical.key),
        canonical=canonical.key,
        label_terms=_label_terms(centroid, [_surface(items[n][0]) for n in ranked[:10]]),
        size=len(posts),
        accounts=tuple(sorted({(p.platform, p.author_id) for p in posts if p.author_id})),
        first_hour=min(hours) if hours else None,
        last_hour=max(hours) if hours else None,
        peak_hour=min(hours, key=lambda h: (-hours[h], h)) if hours else None,
        platforms=Counter([p.platform for p in posts]),
        positive=labels["positive"],
        negative=labels["negative"],
        labelled=labels["positive"] + labels["negative"] + labels["neutral"],
        key_accounts=_key_accounts(posts, ()),
        representatives=_representatives(
            [_representative(items[n]) for n in ranked[:REPRESENTATIVES]]),
        members=tuple(p.key for p in members),
        hours=hours,
        centroid=centroid,
    )


def _single(p: Post, centroid: dict[str, float]) -> Event:
    """:func:`_summary` of a story of one post, without its loops (two events in three of a
    window are a single post: bench/bench_why.py)."""
    hour = (None if p.created_at is None
            else datetime.fromtimestamp(3600 * (int(p.created_at.timestamp()) // 3600), UTC))
    label = post_label(p)
    engagement = _engagement(p)
    return Event(
        event_id=event_id(p.key),
        canonical=p.key,
        label_terms=_label_terms(centroid, [_surface(p)]),
        size=1,
        accounts=((p.platform, p.author_id),) if p.author_id else (),
        first_hour=hour,
        last_hour=hour,
        peak_hour=hour,
        platforms=Counter({p.platform: 1}),
        positive=int(label == "positive"),
        negative=int(label == "negative"),
        labelled=int(label in ("positive", "negative", "neutral")),
        key_accounts=((KeyAccount(p.platform, p.author_id, p.author_name, 1, engagement),)
                      if p.author_id else ()),
        representatives=(_representative([p]),),
        members=(p.key,),
        hours={hour: 1} if hour is not None else {},
        centroid=centroid,
    )


def _merge(old: Event, new: Event) -> Event:
    """``old`` grown by ``new`` (this run's posts of the same story); id and canonical stay."""
    hours = Counter(old.hours) + Counter(new.hours)
    return replace(
        old,
        label_terms=new.label_terms,  # computed on the grown centroid
        size=old.size + new.size,
        accounts=tuple(sorted(set(old.accounts) | set(new.accounts))),
        first_hour=min(hours) if hours else None,
        last_hour=max(hours) if hours else None,
        peak_hour=min(hours, key=lambda h: (-hours[h], h)) if hours else None,
        platforms=old.platforms + new.platforms,
        positive=old.positive + new.positive,
        negative=old.negative + new.negative,
        labelled=old.labelled + new.labelled,
        key_accounts=_key_accounts((), old.key_accounts + new.key_accounts),
        representatives=_representatives(old.representatives + new.representatives),
        members=old.members + new.members,
        hours=dict(sorted(hours.items())),
        centroid=new.centroid,
    )


def _surface(p: Post) -> str:
    """Text as label terms are read from it: normalised like match_text, punctuation kept."""
    return unicodedata.normalize("NFKC", ((p.title or "") + "\n" + p.text)[:500]).lower()


def _time_key(p: Post) -> tuple[bool, datetime, str, str]:
    far = datetime.max.replace(tzinfo=UTC)
    return (p.created_at is None, p.created_at or far, p.platform, p.post_id)


def _engagement(p: Post) -> int:
    return (p.repost_count or 0) + (p.comment_count or 0) + (p.like_count or 0)


def _key_accounts(posts: Iterable[Post], known: Sequence[KeyAccount]) -> tuple[KeyAccount, ...]:
    totals: dict[AuthorKey, list[int]] = {}
    names: dict[AuthorKey, str | None] = {}
    for account in known:
        key = (account.platform, account.author_id)
        totals.setdefault(key, [0, 0])
        totals[key][0] += account.posts
        totals[key][1] += account.engagement
        names[key] = account.author_name or names.get(key)
    for p in posts:
        if p.author_id:
            key = (p.platform, p.author_id)
            totals.setdefault(key, [0, 0])
            totals[key][0] += 1
            totals[key][1] += _engagement(p)
            names[key] = p.author_name or names.get(key)
    top = sorted(totals, key=lambda k: (-totals[k][1], -totals[k][0], k))[:KEY_ACCOUNTS]
    return tuple(KeyAccount(k[0], k[1], names[k], totals[k][0], totals[k][1]) for k in top)


def _representative(item: list[Post]) -> RepresentativePost:
    p = item[0]
    text = " ".join(((p.title + " ") if p.title else "").split() + p.text.split())
    if len(text) > TEXT_CHARS:
        text = text[: TEXT_CHARS - 1] + "…"
    return RepresentativePost(p.platform, p.post_id, p.author_name, p.created_at, p.url, text,
                              len(item), _engagement(p))


def _representatives(candidates: Iterable[RepresentativePost]) -> tuple[RepresentativePost, ...]:
    far = datetime.max.replace(tzinfo=UTC)
    unique = {(r.platform, r.post_id): r for r in candidates}
    ranked = sorted(unique.values(), key=lambda r: (-r.copies, -r.engagement,
                                                    r.created_at or far, r.platform, r.post_id))
    return tuple(ranked[:REPRESENTATIVES])


def _label_terms(centroid: dict[str, float], texts: list[str]) -> tuple[str, ...]:
    """Up to LABEL_TERMS terms from the centroid's heaviest bigrams (TF-IDF order) that most of
    the event's items share (weighted frequency ≥ 0.6 × the top one's); a bigram grows into the
    longer string the event's texts contain (李心 + 心草 → 李心草; punctuation stops it)."""
    joined = "\n".join(texts)
    common = 0.6 * max(centroid.values(), default=0.0)
    candidates = [b for b, f in centroid.items() if f >= common][: 4 * LABEL_TERMS]
    starting: dict[str, list[str]] = {}
    ending: dict[str, list[str]] = {}
    for b in candidates:
        starting.setdefault(b[0], []).append(b)
        ending.setdefault(b[1], []).append(b)
    used: set[str] = set()
    terms: list[str] = []
    for seed in candidates:
        if seed in used or any(seed in t for t in terms):
            continue
        term = seed
        used.add(seed)
        while len(term) < MAX_TERM_CHARS:
            right = [b for b in starting.get(term[-1], ()) if b not in used
                     and term + b[1] in joined]
            left = [] if right else [b for b in ending.get(term[0], ()) if b not in used
                                     and b[0] + term in joined]
            if not right and not left:
                break
            grow = (right or left)[0]
            used.add(grow)
            term = term + grow[1] if right else grow[0] + term
        terms.append(term)
        if len(terms) == LABEL_TERMS:
            break
    return tuple(terms)
