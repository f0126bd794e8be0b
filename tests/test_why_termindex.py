"""scoring.why.termindex: document frequencies from cached term ids, the same counts as
counting term sets directly, whether the texts fit the index or spill past it."""

from __future__ import annotations

from collections import Counter

import pytest

from scoring.why import termindex
from scoring.why.words import clean, term_set

TEXTS = [clean(t) for t in (
    "电池鼓包了，客服推诿", "用了半年电池鼓包", "退款难，一拖再拖", "客服推诿扯皮，退款难",
    "新车不错，外观好看", "外观好看，手感不错", "Battery swelling again",
    "电池鼓包 battery swelling",
)]


def direct(texts, only=None, min_count=1):
    counts: Counter[str] = Counter()
    total = docs = 0
    for text in texts:
        found = term_set(text, max_n=4)
        if found:
            docs += 1
            total += len(found)
            counts.update(found if only is None else only & found)
    return Counter({t: c for t, c in counts.items() if c >= min_count}), total, docs


@pytest.mark.parametrize("indexed", [termindex.INDEXED_TEXTS, 3])
def test_counts_equal_counting_term_sets(monkeypatch, indexed) -> None:
    monkeypatch.setattr(termindex, "_INDEX", termindex._Index())
    monkeypatch.setattr(termindex, "INDEXED_TEXTS", indexed)  # 3: the rest spills over
    assert termindex.doc_frequencies(TEXTS, (), 4) == direct(TEXTS)
    assert termindex.doc_frequencies(TEXTS, (), 4, min_count=2) == direct(TEXTS, min_count=2)
    only = {"电池鼓包", "退款难", "外观", "没有的词"}
    assert termindex.doc_frequencies(TEXTS, (), 4, only=only) == direct(TEXTS, only=only)


def test_a_second_call_reads_the_cached_terms(monkeypatch) -> None:
    monkeypatch.setattr(termindex, "_INDEX", termindex._Index())
    calls = []

    def counted(text, **kw):
        calls.append(text)
        return term_set(text, **kw)

    monkeypatch.setattr(termindex, "term_set", counted)
    first = termindex.doc_frequencies(TEXTS, (), 4)
    assert len(calls) == len(TEXTS)
    assert termindex.doc_frequencies(TEXTS[:4], (), 4, only={"退款难"}) == (
        Counter({"退款难": 2}), direct(TEXTS[:4])[1], 4)
    assert len(calls) == len(TEXTS)  # nothing segmented or counted as strings again
    # other user words are other terms: not read from the cache
    termindex.doc_frequencies(TEXTS[:1], ("客服推诿",), 4)
    assert len(calls) == len(TEXTS) + 1
    assert first[2] == len(TEXTS)


def test_empty_input() -> None:
    assert termindex.doc_frequencies([], (), 4) == (Counter(), 0, 0)
    assert termindex.doc_frequencies(["", ""], (), 4) == (Counter(), 0, 0)
