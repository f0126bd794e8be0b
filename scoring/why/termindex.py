"""Document frequencies of terms over cleaned texts, with each text's terms computed once.

``negative_drivers`` and ``hot_terms`` read the same window (a report and the dashboard call
both): the window's texts are turned into terms once, kept as arrays of term ids, and counted
with ``numpy.bincount`` instead of string-keyed Counters. On a 100,000-post window of real
texts, negative_drivers + hot_terms took 12.6 CPU-seconds before, 10.9 with it
(``python bench/bench_why.py``; their output is the same).

The index is bounded: it holds the terms of at most ``INDEXED_TEXTS`` texts (starting over
when full, between calls) and a call over more distinct texts than that counts the rest with
lossy counting (Manku & Motwani 2002) instead, as before the index existed: a 1,000,000-post
window stays within its memory.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterable

import numpy as np
import numpy.typing as npt

from scoring.why.words import term_set

__all__ = ["INDEXED_TEXTS", "MAX_TERMS", "doc_frequencies"]

INDEXED_TEXTS = 2**18
"""Distinct texts whose term ids are kept (two windows of Weibo-length posts: ~40 MB)."""
MAX_TERMS = 2_000_000
"""Distinct terms held by lossy counting before rare ones are pruned (~350 MB)."""
_INDEX_TERMS = 4_000_000
"""Interned terms past which the index starts over (at the next call)."""


class _Ids(dict[str, int]):
    """Term → id, a new term getting the next id (``__missing__`` runs only for new terms,
    so mapping a text's terms stays one C-level ``map``). Ids follow insertion order, so
    ``list(ids)`` names them."""

    def __missing__(self, term: str) -> int:
        n = self[term] = len(self)
        return n


class _Index:
    """Interned terms (``ids``) and the term ids of each (text, user words, max_n). One
    lock: calls from the web app's threads take turns."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        self.ids = _Ids()
        self.texts: dict[tuple[str, tuple[str, ...], int], npt.NDArray[np.int32]] = {}

    def of(self, text: str, words: tuple[str, ...], max_n: int) -> npt.NDArray[np.int32]:
        key = (text, words, max_n)
        found = self.texts.get(key)
        if found is None:
            terms = term_set(text, user_words=words, max_n=max_n)
            found = self.texts[key] = np.fromiter(map(self.ids.__getitem__, terms),
                                                  dtype=np.int32, count=len(terms))
        return found


_INDEX = _Index()


def doc_frequencies(
    texts: Iterable[str], words: tuple[str, ...], max_n: int, *,
    only: set[str] | None = None, min_count: int = 1,
) -> tuple[Counter[str], int, int]:
    """Texts per term, the total of those counts (the n of the log-odds) and the number of
    texts with any term. ``only`` restricts the terms returned, ``min_count`` drops the rarer
    ones (neither changes the totals).

    Exact while the call's texts fit the index; past ``INDEXED_TEXTS`` texts, the rest are
    counted with lossy counting: a pruned term may be undercounted by a few texts, never
    overcounted, and only terms far below any top-k count are ever pruned.

    >>> from scoring.why.words import clean
    >>> counts, total, docs = doc_frequencies([clean("退款难"), clean("退款")], (), 2)
    >>> sorted(counts.items()), total, docs
    ([('退款', 2), ('退款难', 1), ('难', 1)], 4, 2)
    """
    index = _INDEX
    chunks: list[npt.NDArray[np.int32]] = []
    total = docs = 0
    rest = iter(texts)
    with index.lock:
        if len(index.texts) >= INDEXED_TEXTS or len(index.ids) > _INDEX_TERMS:
            index.reset()
        spill = False
        for text in rest:
            ids = index.of(text, words, max_n)
            if len(ids):
                docs += 1
                total += len(ids)
                chunks.append(ids)
            if len(chunks) >= INDEXED_TEXTS:
                spill = True
                break
        counts = _named(index, chunks, only, 1 if spill else min_count)
    if not spill:
        return counts, total, docs
    counts, more, more_docs = _lossy(rest, words, max_n, only, counts)
    return Counter({t: c for t, c in counts.items() if c >= min_count}), total + more, (
        docs + more_docs)


def _named(index: _Index, chunks: list[npt.NDArray[np.int32]], only: set[str] | None,
           min_count: int) -> Counter[str]:
    if not chunks:
        return Counter()
    counts = np.bincount(np.concatenate(chunks), minlength=len(index.ids))
    if only is not None:
        wanted = np.array(sorted(index.ids[t] for t in only if t in index.ids), dtype=np.int64)
        keep = wanted[counts[wanted] >= max(min_count, 1)] if len(wanted) else wanted
    else:
        keep = np.flatnonzero(counts >= max(min_count, 1))
    names = list(index.ids)  # ids are insertion order: a list of 10^6 terms in a few ms
    return Counter(dict(zip([names[i] for i in keep.tolist()], counts[keep].tolist(),
                            strict=True)))


def _lossy(texts: Iterable[str], words: tuple[str, ...], max_n: int, only: set[str] | None,
           counts: Counter[str]) -> tuple[Counter[str], int, int]:
    total = docs = 0
    floor = 1
    for text in texts:
        found = term_set(text, user_words=words, max_n=max_n)
        if not found:
            continue
        docs += 1
        total += len(found)
        counts.update(found if only is None else only & found)
        if len(counts) > MAX_TERMS:
            counts = Counter({t: c for t, c in counts.items() if c > floor})
            if len(counts) > MAX_TERMS // 2:
                floor += 1
    return counts, total, docs
