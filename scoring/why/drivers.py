"""Hot terms and negative drivers: the words a window uses more than the previous window, and
more in its negative posts than in its other posts. Pure functions over ``crawlers.items.Post``;
no store, no printing.

Both rank terms by the weighted log-odds ratio with an informative Dirichlet prior (Monroe,
Colaresi & Quinn 2008, "Fightin' Words", Political Analysis 16(4), eqs. 16–22), on document
counts: a term counts once per post, and identical cleaned texts count once per group, so one
spammy post or a copy-paste campaign cannot dominate.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
import numpy.typing as npt

from scoring.why.gcpause import gc_paused
from scoring.why.termindex import doc_frequencies
from scoring.why.words import CACHE_CHARS, clean, term_set

if TYPE_CHECKING:
    from crawlers.items import Post

__all__ = [
    "Driver",
    "DriversResult",
    "Example",
    "HotTerm",
    "hot_terms",
    "log_odds",
    "negative_drivers",
]

_FLOOR = 0.01  # pseudo-count of a term the prior never saw (and of an empty "all other terms")
_PRIOR_SHARE = 0.1  # default alpha0 as a share of the data's term total (see log_odds)
_RESIDUAL_Z = 1.96  # a fragment must stay this significant without its phrase's posts
_EXAMPLE_CHARS = 140


@dataclass(frozen=True)
class HotTerm:
    """A term the window uses more than the previous window: ``count`` posts now,
    ``previous_count`` before; ``delta`` the log-odds ratio and ``z`` its z-score."""

    term: str
    count: int
    z: float
    delta: float
    previous_count: int = 0


class Example(NamedTuple):
    """A post to read, shown beside a driver (``text`` at most 140 characters)."""

    platform: str
    post_id: str
    author_name: str | None
    created_at: datetime | None
    url: str | None
    text: str


@dataclass
class Driver:
    """A term over-represented in negative posts: in ``count`` negative and ``other_count``
    non-negative posts; ``examples`` are the most engaged negative posts that use it."""

    term: str
    count: int
    z: float
    delta: float = 0.0
    other_count: int = 0
    examples: list[Example] = field(default_factory=list)


@dataclass
class DriversResult:
    """What :func:`negative_drivers` found. ``posts_used`` = ``negative_posts`` +
    ``other_posts`` (distinct texts with terms); ``skipped`` counts the rest by reason
    (unlabelled, empty_after_cleaning, duplicate_text, no_terms); ``note`` says why
    ``drivers`` is empty when the data cannot support an answer."""

    drivers: list[Driver]
    posts_used: int = 0
    negative_posts: int = 0
    other_posts: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    note: str | None = None
    # With the previous window: the drivers that rose, ranked by the z of this window's
    # negative posts against the previous window's (``other_count`` is then the count there).
    emerging: list[Driver] = field(default_factory=list)
    previous_negative_posts: int = 0


def log_odds(
    counts_a: Mapping[str, float],
    counts_b: Mapping[str, float],
    prior: Mapping[str, float] | None = None,
    alpha0: float | None = None,
) -> dict[str, tuple[float, float]]:
    r"""Weighted log-odds ratio of every term of ``a`` or ``b``, with its z-score.

    With pseudo-counts :math:`\alpha_w = \alpha_0\,p_w / \sum p` from the prior counts
    :math:`p` and totals :math:`n_a = \sum_w y^a_w`:

    .. math::

        \delta_w = \log\frac{y^a_w + \alpha_w}{n_a + \alpha_0 - y^a_w - \alpha_w}
                 - \log\frac{y^b_w + \alpha_w}{n_b + \alpha_0 - y^b_w - \alpha_w},\qquad
        z_w = \delta_w \Big/ \sqrt{\frac{1}{y^a_w + \alpha_w} + \frac{1}{y^b_w + \alpha_w}}

    Parameters
    ----------
    counts_a, counts_b : mapping of term to count
        The two groups (``Counter`` objects, usually).
    prior : mapping of term to count, optional
        Background counts shaping the prior; default ``a + b`` pooled. A term the prior lacks
        gets a pseudo-count of 0.01.
    alpha0 : float, optional
        Total pseudo-count, default :math:`(n_a + n_b) / 10`: with the pooled prior each
        :math:`\alpha_w` is a tenth of the term's pooled count. A term in ``c`` posts of one
        group and none of the other then has :math:`z \approx 0.73\sqrt{c}` (significant from
        8 posts); the pooled counts themselves (``alpha0`` = :math:`n_a + n_b`) shrink that to
        :math:`0.57\sqrt{c}` (12 posts) and damp every effect size to at most about log 2.

    Returns
    -------
    dict
        ``term -> (delta, z)``; positive when ``a`` uses the term more. Empty for empty input.

    Raises
    ------
    ValueError
        If ``alpha0`` is not positive.

    Examples
    --------
    >>> from collections import Counter
    >>> scores = log_odds(Counter(x=3, y=1), Counter(x=1, y=3))
    >>> round(scores["x"][0], 3), round(scores["x"][1], 3), round(scores["y"][1], 3)
    (1.775, 1.767, -1.767)
    """
    vocab = sorted(counts_a.keys() | counts_b.keys())
    if not vocab:
        return {}
    ya = np.array([counts_a.get(t, 0) for t in vocab], dtype=float)
    yb = np.array([counts_b.get(t, 0) for t in vocab], dtype=float)
    n_a, n_b = float(sum(counts_a.values())), float(sum(counts_b.values()))
    if prior is not None and sum(prior.values()) > 0:
        pw = np.array([prior.get(t, 0) for t in vocab], dtype=float)
        p_total = float(sum(prior.values()))
    else:
        pw, p_total = ya + yb, n_a + n_b
    delta, z = _scores(ya, yb, pw, n_a, n_b, p_total, alpha0)
    return dict(zip(vocab, zip(delta.tolist(), z.tolist(), strict=True), strict=True))


def _scores(
    ya: npt.NDArray[np.float64], yb: npt.NDArray[np.float64], prior: npt.NDArray[np.float64],
    n_a: float, n_b: float, prior_total: float, alpha0: float | None,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    a0 = _PRIOR_SHARE * (n_a + n_b) if alpha0 is None else float(alpha0)
    if a0 <= 0:
        if alpha0 is not None:
            raise ValueError(f"alpha0 must be positive, got {alpha0}")
        a0 = 1.0  # both groups empty of terms: every count is 0, every delta 0
    alpha = np.maximum(a0 * prior / max(prior_total, _FLOOR), _FLOOR)
    rest_a = np.maximum(n_a + a0 - ya - alpha, _FLOOR)
    rest_b = np.maximum(n_b + a0 - yb - alpha, _FLOOR)
    delta = np.log(ya + alpha) - np.log(rest_a) - np.log(yb + alpha) + np.log(rest_b)
    z = delta / np.sqrt(1.0 / (ya + alpha) + 1.0 / (yb + alpha))
    return delta, z


@gc_paused
def hot_terms(
    window_posts: Iterable[Post],
    previous_posts: Iterable[Post],
    *,
    baseline_posts: Iterable[Post] = (),
    k: int = 20,
    min_count: int = 3,
    min_z: float = 1.96,
    user_words: Iterable[str] = (),
    max_n: int = 4,
) -> list[HotTerm]:
    """The terms the window uses more than the previous window, most significant first.

    Parameters
    ----------
    window_posts, previous_posts : iterable of Post
        The window and the one before it; each is read once (a generator will do).
    baseline_posts : iterable of Post
        A longer history (e.g. the last 30 days) merged into the prior, so that a term which
        is always common does not look hot after a quiet previous window. The prior keeps the
        weight it has without a baseline (``alpha0`` a tenth of the window's and previous
        window's term totals, see :func:`log_odds`); the baseline only changes its shape.
    k : int
        Most terms returned.
    min_count : int
        Fewest window posts a term must appear in.
    min_z : float
        Smallest z-score returned (1.96: two-sided 5 % if the counts were independent).
    user_words : iterable of str
        Brand and product names kept whole (see :func:`scoring.why.words.terms`).
    max_n : int
        Longest phrase in tokens.

    Returns
    -------
    list of HotTerm
        Ranked by z. A fragment ("鼓包") is left out when a longer phrase ("电池鼓包") explains
        its excess, and a phrase that only restates a listed term is left out too. Empty when
        nothing qualifies, including when the previous window is empty (the prior alone is
        weak evidence: pass the history as ``previous_posts`` instead). Segmenting is most of
        the cost (about 10 s per 100,000 Weibo-length posts on one core); both windows'
        segmentations are cached for the next call.

    Examples
    --------
    >>> from crawlers.items import Post
    >>> now = [Post("weibo", str(i), text=f"电池鼓包了，第{i}次") for i in range(5)]
    >>> before = [Post("weibo", f"b{i}", text=f"新车不错，第{i}次") for i in range(5)]
    >>> [(h.term, h.count, h.previous_count) for h in hot_terms(now, before, min_z=1)]
    [('电池鼓包', 5, 0)]

    See Also
    --------
    negative_drivers, log_odds
    """
    words = tuple(user_words)
    # the rare terms are dropped before counting the other groups
    a, n_a, _ = doc_frequencies(_unique_texts(window_posts), words, max_n, min_count=min_count)
    cand = set(a)
    if not cand:
        return []
    b, n_b, _ = doc_frequencies(_unique_texts(previous_posts), words, max_n, only=cand)
    base, n_base, _ = doc_frequencies(_unique_texts(baseline_posts), words, max_n, only=cand)
    t = _Table.build(sorted(cand), a, b, base, n_a, n_b, n_a + n_b + n_base)
    return [
        HotTerm(t.order[i], int(t.ya[i]), float(t.z[i]), float(t.delta[i]), int(t.yb[i]))
        for i in _select(t, min_z, k)
    ]


@gc_paused
def negative_drivers(
    window_posts: Iterable[Post],
    *,
    k: int = 10,
    min_count: int = 3,
    min_z: float = 1.96,
    min_posts: int = 20,
    user_words: Iterable[str] = (),
    examples: int = 3,
    max_n: int = 4,
    previous_posts: Iterable[Post] | None = None,
) -> DriversResult:
    """The terms most over-represented in a window's negative posts against its other posts.

    With ``previous_posts`` (the window before, scored) the result also ranks the **emerging**
    drivers: the terms significantly over-represented in this window's negative posts (as
    above, z ≥ ``min_z``) that rose most against the previous window's negative posts. A theme
    that has always been negative (差, 失望 in reviews) leads ``drivers``; the complaint that
    turned the opinion this week leads ``emerging`` even where it is 1 % of the negative posts.

    A post is negative when ``sentiment_label == "negative"``; positive and neutral posts are
    the comparison; unlabelled posts are skipped and counted. Never raises on odd input: an
    empty window, one post, emoji-only text or a 100 KB article give a result with a ``note``.

    Parameters
    ----------
    window_posts : iterable of Post
        The window, scored; read once.
    k : int
        Most drivers returned.
    min_count : int
        Fewest negative posts a term must appear in.
    min_z : float
        Smallest z-score returned.
    min_posts : int
        Fewest negative posts, and fewest other posts, to compare at all.
    user_words : iterable of str
        Brand and product names kept whole (see :func:`scoring.why.words.terms`).
    examples : int
        Example posts per driver: the negative posts using the term with the most reposts +
        comments + likes.
    max_n : int
        Longest phrase in tokens.
    previous_posts : iterable of Post, optional
        The previous window, scored; read once. Fewer than ``min_posts`` negative posts
        there: no ``emerging`` list.

    Returns
    -------
    DriversResult
        ``drivers`` ranked by z (redundant fragments and phrases left out, as in
        :func:`hot_terms`), with the counts of what was used and skipped; ``emerging`` with
        ``previous_posts``.

    Examples
    --------
    >>> from crawlers.items import Post
    >>> bad = [Post("weibo", f"n{i}", text=f"客服推诿，第{i}天", sentiment_label="negative",
    ...             like_count=i) for i in range(20)]
    >>> good = [Post("weibo", f"p{i}", text=f"新车漂亮，第{i}天", sentiment_label="positive")
    ...         for i in range(20)]
    >>> result = negative_drivers(bad + good, examples=1)
    >>> [(d.term, d.count, d.other_count, d.examples[0].post_id) for d in result.drivers]
    [('客服推诿', 20, 0, 'n19')]
    >>> negative_drivers(bad[:2]).note
    'need at least 20 negative posts, got 2'

    See Also
    --------
    hot_terms, log_odds
    """
    skipped: Counter[str] = Counter()
    docs = _labelled_docs(window_posts, skipped)
    negative = [d for d in docs if d.negative]
    other = [d for d in docs if not d.negative]
    result = DriversResult([], skipped=skipped)
    if len(negative) < min_posts:
        result.note = _short_note(min_posts, "negative posts", len(negative), skipped)
        return result
    words = tuple(user_words)
    a, n_a, docs_a = doc_frequencies((d.text for d in negative), words, max_n,
                                     min_count=min_count)
    cand = set(a)
    b, n_b, docs_b = doc_frequencies((d.text for d in other), words, max_n, only=cand)
    if len(docs) - docs_a - docs_b:
        skipped["no_terms"] += len(docs) - docs_a - docs_b
    result.negative_posts, result.other_posts = docs_a, docs_b
    result.posts_used = docs_a + docs_b
    if docs_a < min_posts:
        result.note = _short_note(min_posts, "negative posts with words", docs_a, skipped)
    elif docs_b < min_posts:
        result.note = _short_note(min_posts, "non-negative posts to compare with", docs_b, skipped)
    if result.note:
        return result
    t = _Table.build(sorted(cand), a, b, Counter(), n_a, n_b, n_a + n_b)
    result.drivers = [
        Driver(t.order[i], int(t.ya[i]), float(t.z[i]), float(t.delta[i]), int(t.yb[i]))
        for i in _select(t, min_z, k)
    ]
    if not result.drivers:
        result.note = (f"no term is over-represented in negative posts "
                       f"(min_count={min_count}, min_z={min_z})")
    if previous_posts is not None:
        result.emerging = _emerging(t, previous_posts, words, max_n, min_z, min_posts, k,
                                    result)
    _attach_examples(result.drivers + result.emerging, negative, words, max_n, examples)
    return result


def _emerging(t: _Table, previous_posts: Iterable[Post], words: tuple[str, ...], max_n: int,
              min_z: float, min_posts: int, k: int, result: DriversResult) -> list[Driver]:
    """The window's negative-over-other terms (``t``) ranked by how much they rose against
    the previous window's negative posts (the same weighted log-odds, pooled prior)."""
    previous = [d for d in _labelled_docs(previous_posts, Counter()) if d.negative]
    significant = {term for term, z in zip(t.order, t.z.tolist(), strict=True) if z >= min_z}
    c, n_c, docs_c = doc_frequencies((d.text for d in previous), words, max_n,
                                     only=significant)
    result.previous_negative_posts = docs_c
    if docs_c < min_posts or not significant:
        return []
    a = {term: int(t.ya[i]) for i, term in enumerate(t.order) if term in significant}
    rise = _Table.build(sorted(significant), a, c, Counter(), t.totals[0], n_c,
                        t.totals[0] + n_c)
    return [Driver(rise.order[i], int(rise.ya[i]), float(rise.z[i]), float(rise.delta[i]),
                   int(rise.yb[i])) for i in _select(rise, min_z, k)]


class _Doc:
    """One distinct cleaned text of a window; a negative one keeps what an example shows (not
    the Post, so a generator's posts can be freed)."""

    __slots__ = ("engagement", "negative", "source", "text")

    def __init__(self, text: str, negative: bool, engagement: int, source: Example | None):
        self.text, self.negative, self.engagement, self.source = (
            text, negative, engagement, source)


def _post_text(post: Post) -> str:
    return f"{post.title}\n{post.text}" if post.title else post.text or ""


def _engagement(post: Post) -> int:
    return (post.repost_count or 0) + (post.comment_count or 0) + (post.like_count or 0)


def _source(post: Post) -> Example:
    """The example fields with the whole text (cut to size once the term is known)."""
    return Example(post.platform, post.post_id, post.author_name, post.created_at, post.url,
                   post.text or post.title or "")


def _example(source: Example, term: str) -> Example:
    """``source`` with at most 140 characters of text, moved to show ``term`` when it falls
    beyond them (long posts often state the complaint last)."""
    text = " ".join(source.text.split())
    if len(text) > _EXAMPLE_CHARS:
        folded = text.casefold()
        at = folded.find(term) if len(folded) == len(text) else -1
        if at + len(term) > _EXAMPLE_CHARS - 1:
            start = max(0, min(at - 40, len(text) - _EXAMPLE_CHARS + 2))
            text = "…" + text[start + 1:]
        if len(text) > _EXAMPLE_CHARS:
            text = text[: _EXAMPLE_CHARS - 1] + "…"
    return source._replace(text=text)


_clean_short = lru_cache(maxsize=2**18)(clean)  # hot_terms and negative_drivers share a window


def _cleaned(post: Post) -> str:
    text = _post_text(post)
    return _clean_short(text) if len(text) <= CACHE_CHARS else clean(text)


def _unique_texts(posts: Iterable[Post]) -> Iterator[str]:
    seen: set[str] = set()
    for post in posts:
        text = _cleaned(post)
        if text and text not in seen:
            seen.add(text)
            yield text


def _labelled_docs(posts: Iterable[Post], skipped: Counter[str]) -> list[_Doc]:
    docs: list[_Doc] = []
    seen: dict[str, int] = {}
    for post in posts:
        label = post.sentiment_label
        if label is None:
            skipped["unlabelled"] += 1
            continue
        text = _cleaned(post)
        if not text:
            skipped["empty_after_cleaning"] += 1
            continue
        negative = label == "negative"
        at = seen.get(text)
        if at is None:
            seen[text] = len(docs)
            docs.append(_Doc(text, negative, _engagement(post),
                             _source(post) if negative else None))
            continue
        skipped["duplicate_text"] += 1
        doc = docs[at]  # counted once; the most engaged copy is the one shown
        if negative and doc.negative and _engagement(post) > doc.engagement:
            doc.engagement, doc.source = _engagement(post), _source(post)
    return docs


def _vector(counts: Mapping[str, int], order: Sequence[str]) -> npt.NDArray[np.float64]:
    return np.array([counts.get(t, 0) for t in order], dtype=np.float64)


@dataclass(frozen=True)
class _Table:
    """Candidate terms with their counts and scores (arrays aligned with ``order``)."""

    order: list[str]
    ya: npt.NDArray[np.float64]
    yb: npt.NDArray[np.float64]
    prior: npt.NDArray[np.float64]
    totals: tuple[float, float, float]  # n_a, n_b, prior total
    delta: npt.NDArray[np.float64]
    z: npt.NDArray[np.float64]

    @classmethod
    def build(
        cls, order: list[str], a: Mapping[str, int], b: Mapping[str, int],
        extra_prior: Mapping[str, int], n_a: float, n_b: float, prior_total: float,
    ) -> _Table:
        ya, yb = _vector(a, order), _vector(b, order)
        prior = ya + yb + _vector(extra_prior, order)
        delta, z = _scores(ya, yb, prior, n_a, n_b, prior_total, None)
        return cls(order, ya, yb, prior, (n_a, n_b, prior_total), delta, z)

    def residual_z(self, i: int, j: int) -> float:
        """z of term ``i`` in the posts that do not contain term ``j`` (``j`` contains ``i``,
        so its posts are among ``i``'s)."""
        rest = [np.maximum(arr[i : i + 1] - arr[j : j + 1], 0.0)
                for arr in (self.ya, self.yb, self.prior)]
        return float(_scores(rest[0], rest[1], rest[2], *self.totals, None)[1][0])

    def extension_z(self, i: int, j: int) -> float:
        """z of the 2×2 log-odds ratio (+0.5 smoothing) asking whether the posts with phrase
        ``i`` lean further to group a than the other posts with term ``j`` it contains."""
        a1, b1 = float(self.ya[i]), float(self.yb[i])
        a2, b2 = max(float(self.ya[j]) - a1, 0.0), max(float(self.yb[j]) - b1, 0.0)
        cells = (a1 + 0.5, b1 + 0.5, a2 + 0.5, b2 + 0.5)
        ratio = math.log(cells[0] * cells[3] / (cells[1] * cells[2]))
        return ratio / math.sqrt(sum(1 / c for c in cells))


def _select(t: _Table, min_z: float, k: int) -> list[int]:
    """Indices of the top ``k`` terms by z, without redundant fragments and extensions.

    A fragment ("鼓包") contained in a chosen phrase ("电池鼓包") is dropped unless it is still
    significant (z ≥ 1.96, whatever ``min_z``) in the posts the phrase does not explain. A
    phrase extending a chosen term takes its place when the term is no longer significant
    without it ("退款" gives way to "退款难" when the excess is all "退款难"); otherwise the
    phrase is kept only if it leans significantly further than the term's other posts
    ("客服推诿" beside a mixed "客服"; not "半年电池鼓包" beside "电池鼓包").
    """
    chosen: list[int] = []
    for i in np.argsort(-t.z, kind="stable")[: 50 * max(k, 0)].tolist():
        if t.z[i] < min_z:
            break
        term = t.order[i]
        skip, replaced = False, []
        for pos, j in enumerate(chosen):
            if term in t.order[j]:
                skip = t.residual_z(i, j) < _RESIDUAL_Z
            elif t.order[j] in term:
                if t.residual_z(j, i) < _RESIDUAL_Z:
                    replaced.append(pos)
                else:
                    skip = t.extension_z(i, j) < _RESIDUAL_Z
            if skip:
                break
        if skip:
            continue
        if replaced:
            chosen[replaced[0]] = i
            for pos in reversed(replaced[1:]):
                del chosen[pos]
        elif len(chosen) < k:
            chosen.append(i)
    return sorted(chosen, key=lambda i: (-t.z[i], t.order[i]))


def _attach_examples(
    drivers: list[Driver], negative: list[_Doc], words: tuple[str, ...], max_n: int, n: int
) -> None:
    if n <= 0 or not drivers:
        return
    ranked = sorted(negative, key=lambda d: -d.engagement)
    compact = [d.text.replace(" ", "") for d in ranked]
    for driver in drivers:
        needle = driver.term.replace(" ", "")
        for doc, flat in zip(ranked, compact, strict=True):
            if len(driver.examples) >= n:
                break
            # The substring test is a cheap superset; term_set() confirms the phrase is a term.
            if needle in flat and doc.source is not None and driver.term in term_set(
                doc.text, user_words=words, max_n=max_n
            ):
                driver.examples.append(_example(doc.source, driver.term))


def _short_note(need: int, what: str, got: int, skipped: Counter[str]) -> str:
    note = f"need at least {need} {what}, got {got}"
    if skipped["unlabelled"]:
        note += f" ({skipped['unlabelled']} posts have no sentiment label: score them first)"
    return note
