"""Near-duplicate posts: copy-paste campaigns, templated posts, reposts that quote the text.

Texts are cleaned (:func:`match_text`) and cut into character shingles. Exact copies are
grouped first. The rest are sketched with MinHash and banded with LSH, both datasketch's: its
permutations (the signatures are bit-identical to ``datasketch.MinHash``'s) and the (bands,
rows) its ``MinHashLSH`` picks for the threshold. Both steps run in bulk with numpy, because
datasketch's per-key insert costs about 90 µs a text (7 s for 75,000 texts here), which is most
of a monitor run's budget. The LSH only *proposes* pairs. Each pair is checked with the exact
Jaccard similarity of the two shingle sets before union-find merges it, so precision does not
depend on the sketch. Pure functions: no store, no printing, deterministic.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
from datasketch import MinHash, MinHashLSH  # type: ignore[import-untyped, unused-ignore]

from crawlers.items import AuthorKey, Post, PostKey

__all__ = [
    "NUM_PERM",
    "DupGroup",
    "lsh_bands",
    "match_text",
    "near_duplicates",
    "ordered_posts",
    "shingle_hash",
]

EXACT_BELOW = 8
"""Cleaned texts shorter than this many characters are grouped on exact match only."""
TRIGRAMS_FROM = 24
"""Pairs whose shorter text has at least this many characters compare 3-grams, others 2-grams."""
MAX_CHARS = 10_000
"""Only the first MAX_CHARS cleaned characters of a post are compared (100 KB posts stay cheap)."""
NUM_PERM = 64
"""MinHash permutations. 64 finds the pairs 128 did at half the hashing: pair precision 1.000
and recall 0.993 on the labelled set with 32, 64 and 128 alike, and on bench_why.py's
100,000-post window 32,942 posts in groups against 32,943 with 128 (near-duplicates 0.9 s
instead of 1.4 s); every candidate pair is confirmed on its exact Jaccard."""
MAX_CHECKS = 16
"""In one LSH bucket a text is checked against at most this many earlier members (a 10,000-copy
campaign costs 10,000 × MAX_CHECKS checks, not 50 million)."""

_URL = r"(?:https?://|www\.)[\x21-\x7e]+|\bt\.cn/[0-9A-Za-z]+"
_CHAIN = r"(?://|回复)\s*@[^\s:：@/]{1,30}\s*[:：]?"
_MENTION = r"@[^\s:@,。!?;/、()（）\[\]【】\"“”'‘’<>《》]{1,30}"
_BRACKETS = r"\[[^\[\]\s]{1,10}\]"
_BOILERPLATE = r"转发微博|轉發微博|网页链接|展开全文|收起全文|分享图片|\brepost\b"
# The noise is removed in two passes: the marked patterns only on texts with their marks (most
# have none), then the boilerplate. No boilerplate word holds a mark, so this removes what one
# alternation of all five would (checked on the 176,000 texts of the shared corpora).
_MARKED = re.compile("|".join((_URL, _CHAIN, _MENTION, _BRACKETS)), re.I)
_MARKS = ("@", "[", "://", "www.", "t.cn/")
_BOILER = re.compile(_BOILERPLATE, re.I)
_NOT_REACTION = re.compile("|".join((_URL, _CHAIN, _MENTION, _BOILERPLATE)), re.I)
_NON_WORD = re.compile(r"[\W_]+")
_FAR_FUTURE = datetime.max.replace(tzinfo=UTC)
_M32 = np.uint64(0xFFFFFFFF)


def match_text(text: str) -> str:
    """The text as near-duplicate matching sees it.

    NFKC-normalised and lowercased, without URLs, ``//@name:`` and ``回复@name:`` markers (the
    quoted text stays), ``@name`` mentions, ``[表情]`` emoticons, boilerplate such as 转发微博 or
    网页链接, whitespace, punctuation and emoji.

    Examples
    --------
    >>> match_text("转发微博 好消息！//@小王: 好消息[鼓掌] http://t.cn/A6x @某人 ＡＢＣ 😀")
    '好消息好消息abc'
    >>> match_text("[怒][怒] !!!")
    ''
    """
    text = _nfkc(text[: 4 * MAX_CHARS]).lower()
    if any(mark in text for mark in _MARKS):
        text = _MARKED.sub(" ", text)
    return _NON_WORD.sub("", _BOILER.sub(" ", text))[:MAX_CHARS]


def _nfkc(text: str) -> str:
    return text if unicodedata.is_normalized("NFKC", text) else unicodedata.normalize("NFKC", text)


def _reaction(text: str) -> str:
    """The emoji and [表情] of a text with no words (what identical reactions share), or ""."""
    return "".join(_NOT_REACTION.sub(" ", _nfkc(text[:MAX_CHARS])).split())


def _sort_key(post: Post) -> tuple[bool, datetime, str, str]:
    return (post.created_at is None, post.created_at or _FAR_FUTURE, post.platform, post.post_id)


def ordered_posts(posts: Iterable[Post]) -> list[Post]:
    """Posts in time order (undated last, then platform and post_id); a repeated key keeps the
    first occurrence. Every grouping here uses this order, which makes it deterministic."""
    seen: set[PostKey] = set()
    unique = []
    for post in posts:
        if post.key not in seen:
            seen.add(post.key)
            unique.append(post)
    unique.sort(key=_sort_key)
    return unique


@dataclass(frozen=True)
class DupGroup:
    """Posts that are near-duplicates of each other.

    ``canonical`` is the earliest post (by ``created_at``, then platform and post_id);
    ``members`` are all post keys in time order, canonical first; ``accounts`` the distinct
    (platform, author_id) pairs that posted them, sorted.
    """

    canonical: PostKey
    members: tuple[PostKey, ...]
    accounts: tuple[AuthorKey, ...]

    @property
    def size(self) -> int:
        return len(self.members)


class _UnionFind:
    def __init__(self, n: int) -> None:
        self.parent = list(range(n))

    def find(self, i: int) -> int:
        parent = self.parent
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def union(self, i: int, j: int) -> None:
        ri, rj = self.find(i), self.find(j)
        if ri != rj:  # the earlier post stays the root
            self.parent[max(ri, rj)] = min(ri, rj)

    def groups(self) -> list[list[int]]:
        by_root: dict[int, list[int]] = {}
        for i in range(len(self.parent)):
            by_root.setdefault(self.find(i), []).append(i)
        return list(by_root.values())


def _fmix64(h: np.ndarray) -> np.ndarray:
    """MurmurHash3's 64-bit finaliser (an avalanching bijection), element-wise."""
    h = h ^ (h >> np.uint64(33))
    h = h * np.uint64(0xFF51AFD7ED558CCD)
    h = h ^ (h >> np.uint64(33))
    h = h * np.uint64(0xC4CEB9FE1A85EC53)
    out: np.ndarray = h ^ (h >> np.uint64(33))
    return out


def _fmix32(h: np.ndarray) -> np.ndarray:
    """MurmurHash3's 32-bit finaliser: datasketch's "affine32" pre-mix, element-wise."""
    h = h ^ (h >> np.uint32(16))
    h = h * np.uint32(0x85EBCA6B)
    h = h ^ (h >> np.uint32(13))
    h = h * np.uint32(0xC2B2AE35)
    out: np.ndarray = h ^ (h >> np.uint32(16))
    return out


def shingle_hash(code: int) -> int:
    """The 32-bit hash of one shingle code: the ``hashfunc`` an equivalent
    ``datasketch.MinHash(hashfunc=shingle_hash)`` would use (tests check the equivalence)."""
    return int(_fmix64(np.array([code], dtype=np.uint64))[0] & _M32)


def _shingle_codes(texts: Sequence[str], k: int) -> tuple[np.ndarray, np.ndarray]:
    """All k-gram codes of ``texts`` (code points packed 21 bits each) and each text's start
    offset into them; every text must have at least k characters."""
    lengths = np.fromiter((len(t) for t in texts), dtype=np.int64, count=len(texts))
    chars = np.frombuffer("".join(texts).encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    ends = np.cumsum(lengths)
    counts = lengths - (k - 1)
    m = len(chars) - (k - 1)
    codes = chars[:m].copy()
    for j in range(1, k):
        codes = (codes << np.uint64(21)) | chars[j : j + m]
    # drop the k-1 shingles that straddle each boundary between two texts
    keep = np.ones(m, dtype=bool)
    for j in range(1, k):
        cut = ends[:-1] - j
        keep[cut[cut >= 0]] = False
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    return codes[keep], starts


def _signatures(codes: np.ndarray, starts: np.ndarray, num_perm: int, seed: int) -> np.ndarray:
    """MinHash signatures, one column per text (shape num_perm × texts), computed in bulk.

    Bit-identical to ``datasketch.MinHash(num_perm, seed, hashfunc=shingle_hash)`` fed the same
    shingle codes (scheme "affine32": MurmurHash3 pre-mix, then ``a * h + b mod 2**32``).
    """
    a, b = MinHash(num_perm=num_perm, seed=seed).permutations
    hashed = _fmix32((_fmix64(codes) & _M32).astype(np.uint32))
    out = np.empty((num_perm, len(starts)), dtype=np.uint32)
    permuted = np.empty_like(hashed)
    for k in range(num_perm):  # one permutation at a time: 1-D passes stay in cache
        np.multiply(hashed, a[k], out=permuted)
        permuted += b[k]
        out[k] = np.minimum.reduceat(permuted, starts)
    return out


def lsh_bands(threshold: float, num_perm: int) -> tuple[int, int]:
    """(bands, rows per band) that ``datasketch.MinHashLSH`` picks for ``threshold``."""
    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
    return int(lsh.b), int(lsh.r)


def _band_keys(codes: np.ndarray, starts: np.ndarray, num_perm: int, seed: int, bands: int,
               rows: int) -> np.ndarray:
    """One 64-bit bucket key per (band, text): the hash of the text's signature rows in that
    band. Signatures are made a chunk of texts at a time, so memory stays bounded."""
    n = len(starts)
    keys = np.zeros((bands, n), dtype=np.uint64)
    bounds = np.append(starts, len(codes))
    chunk = 100_000
    for first in range(0, n, chunk):
        last = min(first + chunk, n)
        lo, hi = int(bounds[first]), int(bounds[last])
        signature = _signatures(codes[lo:hi], bounds[first:last] - lo, num_perm, seed)
        for band in range(bands):
            key = np.zeros(last - first, dtype=np.uint64)
            for row in signature[band * rows : (band + 1) * rows]:
                key = _fmix64(key ^ row.astype(np.uint64)) + np.uint64(0x9E3779B97F4A7C15)
            keys[band, first:last] = key
    return keys


def _band_pairs(key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pairs of texts that share a bucket of one band (datasketch's MinHashLSH banding, in
    bulk): texts are sorted by bucket key and each is paired with at most MAX_CHECKS texts
    before it in its bucket, so a 10,000-copy campaign stays linear."""
    order = np.argsort(key, kind="stable")
    sorted_key = key[order]
    first, second = [np.empty(0, dtype=np.int64)], [np.empty(0, dtype=np.int64)]
    for lag in range(1, MAX_CHECKS + 1):
        same = np.flatnonzero(sorted_key[lag:] == sorted_key[:-lag])
        if not len(same):
            break
        first.append(order[same])
        second.append(order[same + lag])
    return np.concatenate(first), np.concatenate(second)


def _link_similar(
    texts: Sequence[str],
    index: Sequence[int],
    k: int,
    skip_long: bool,
    uf: _UnionFind,
    threshold: float,
    lsh_threshold: float,
    num_perm: int,
    seed: int,
) -> None:
    """Union the texts ``index`` (positions in ``texts``) whose k-gram Jaccard ≥ threshold.

    Band by band, pairs already joined (through earlier bands or exact copies) are dropped in
    bulk before the remaining ones are checked one by one.
    """
    if len(index) < 2:
        return
    codes, starts = _shingle_codes([texts[i] for i in index], k)
    bounds = np.append(starts, len(codes))
    keys = _band_keys(codes, starts, num_perm, seed, *lsh_bands(lsh_threshold, num_perm))
    root_of: dict[int, int] = {}
    parent = np.array([root_of.setdefault(uf.find(i), n) for n, i in enumerate(index)])
    sets: dict[int, frozenset[int]] = {}

    def shingle_set(pos: int) -> frozenset[int]:
        if pos not in sets:
            if len(sets) >= 100_000:  # bounded: memory stays flat on a million posts
                sets.clear()
            sets[pos] = frozenset(codes[bounds[pos] : bounds[pos + 1]].tolist())
        return sets[pos]

    def find(pos: int) -> int:
        while parent[pos] != pos:
            pos = int(parent[pos])
        return pos

    for key in keys:
        first, second = _band_pairs(key)
        open_ = parent[first] != parent[second]
        for p, q in zip(first[open_].tolist(), second[open_].tolist(), strict=True):
            rp, rq = find(p), find(q)
            if rp == rq:
                continue
            i, j = index[p], index[q]
            if skip_long and min(len(texts[i]), len(texts[j])) >= TRIGRAMS_FROM:
                continue  # judged on 3-grams in the other pass
            a, b = shingle_set(p), shingle_set(q)
            inter = len(a & b)
            if inter and inter >= threshold * (len(a) + len(b) - inter):
                parent[max(rp, rq)] = min(rp, rq)
        while True:  # point every text at its root before the next band's bulk filter
            grand = parent[parent]
            if np.array_equal(grand, parent):
                break
            parent = grand
    for pos in np.flatnonzero(parent != np.arange(len(index))).tolist():
        uf.union(index[pos], index[int(parent[pos])])


def _partition(
    posts: Sequence[Post],
    texts: Sequence[str],
    *,
    threshold: float,
    num_perm: int,
    seed: int,
    lsh_threshold: float | None = None,
) -> list[list[int]]:
    """Groups of positions in ``posts`` (already in :func:`ordered_posts` order, ``texts`` their
    :func:`match_text`), each in time order; singletons included."""
    if not 0.0 < threshold <= 1.0:
        raise ValueError(f"threshold must be in (0, 1], got {threshold!r}")
    lsh_t = max(0.05, threshold - 0.2) if lsh_threshold is None else lsh_threshold
    uf = _UnionFind(len(posts))
    first: dict[str, int] = {}
    for i, (post, text) in enumerate(zip(posts, texts, strict=True)):
        key = text or "\0" + _reaction(post.text)
        if key == "\0":
            continue  # nothing to compare: an empty post is nobody's duplicate
        if key in first:
            uf.union(first[key], i)
        else:
            first[key] = i
    unique = [i for i in first.values() if len(texts[i]) >= EXACT_BELOW]
    # 2-grams for pairs with a short text (the longer one can be up to 1/threshold longer),
    # 3-grams for the rest; texts in between are indexed in both passes.
    bigram_below = int(TRIGRAMS_FROM / threshold) + 2
    short = [i for i in unique if len(texts[i]) < bigram_below]
    long = [i for i in unique if len(texts[i]) >= TRIGRAMS_FROM]
    _link_similar(texts, short, 2, True, uf, threshold, lsh_t, num_perm, seed)
    _link_similar(texts, long, 3, False, uf, threshold, lsh_t, num_perm, seed)
    return uf.groups()


def near_duplicates(
    posts: Iterable[Post],
    *,
    threshold: float = 0.7,
    num_perm: int = NUM_PERM,
    seed: int = 1,
    min_size: int = 2,
    lsh_threshold: float | None = None,
) -> list[DupGroup]:
    """Group posts whose cleaned texts are near-duplicates.

    Two posts are linked when the Jaccard similarity of their character shingle sets (3-grams;
    2-grams when the shorter text has fewer than ``TRIGRAMS_FROM`` characters) is at least
    ``threshold``; groups are the connected components. Cleaned texts shorter than
    ``EXACT_BELOW`` characters are grouped on exact match only, and posts with no text are never
    grouped. A post with nothing but emoticons or emoji is grouped with identical ones.

    Parameters
    ----------
    posts : iterable of Post
        Any platforms; a repeated (platform, post_id) is taken once.
    threshold : float
        Exact Jaccard similarity a pair needs, in (0, 1].
    num_perm, seed : int
        MinHash size and permutation seed (same seed, same result).
    min_size : int
        Smallest group returned; 1 returns every post, singletons included.
    lsh_threshold : float, optional
        Similarity the LSH index is tuned for; it only proposes pairs, so it sits below
        ``threshold`` (default ``threshold - 0.2``) to miss few of them.

    Returns
    -------
    list of DupGroup
        Largest first, then by the canonical post's time.

    Raises
    ------
    ValueError
        If ``threshold`` is outside (0, 1].

    Examples
    --------
    >>> from datetime import datetime, timezone
    >>> t = datetime(2026, 1, 1, tzinfo=timezone.utc)
    >>> text = "某品牌奶粉被曝检出违禁添加剂，家长们快看看自家的批次号"
    >>> posts = [Post("weibo", "1", text, created_at=t, author_id="a"),
    ...          Post("weibo", "2", "转发微博 " + text + "[怒]", created_at=t, author_id="b"),
    ...          Post("weibo", "3", "今天天气不错，出去走走吧，心情很好", created_at=t)]
    >>> [(g.canonical, g.size, g.accounts) for g in near_duplicates(posts)]
    [(('weibo', '1'), 2, (('weibo', 'a'), ('weibo', 'b')))]

    See Also
    --------
    scoring.why.events.find_events : collapses these groups before clustering stories.
    """
    ordered = ordered_posts(posts)
    texts = [match_text(p.text) for p in ordered]
    groups = _partition(ordered, texts, threshold=threshold, num_perm=num_perm, seed=seed,
                        lsh_threshold=lsh_threshold)
    out = [_dup_group([ordered[i] for i in g]) for g in groups if len(g) >= min_size]
    out.sort(key=lambda g: -g.size)  # stable: ties stay in time order of the canonical
    return out


def _dup_group(members: Sequence[Post]) -> DupGroup:
    accounts = sorted({(p.platform, p.author_id) for p in members if p.author_id})
    return DupGroup(members[0].key, tuple(p.key for p in members), tuple(accounts))
