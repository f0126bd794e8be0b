"""First-order Markov chain attribution by removal effect, solved exactly.

Every journey is a walk ``start → c1 → … → cn → conv|null``; the fitted chain has transition
probabilities ``P[a, b] = n(a→b) / n(a→·)``. With transient states T = {start} ∪ channels and
``Q = P[T, T]``, ``r = P[T, conv]``, the absorption probabilities are ``x = (I - Q)⁻¹ r`` and
``P(conv) = x[start]``. Removing channel c sends every walk that would enter c to null (drop c's
row and column, then solve again); its removal effect is ``RE(c) = 1 - P(conv | c removed) /
P(conv)``, and credits are ``RE(c) / Σ RE × total conversion value``. No simulation: one small
dense linear solve per channel (numpy).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from scoring.attribution.journeys import Journey

__all__ = [
    "MarkovChain",
    "conversion_probability",
    "markov_attribution",
    "markov_chain",
    "removal_effects",
]

START, CONVERSION, NULL = "(start)", "(conversion)", "(null)"


@dataclass(frozen=True)
class MarkovChain:
    """A fitted chain: ``states`` = (START, *channels, CONVERSION, NULL), ``matrix`` its
    row-stochastic transition probabilities (the absorbing rows are self-loops)."""

    states: tuple[str, ...]
    matrix: NDArray[np.float64]

    @property
    def channels(self) -> tuple[str, ...]:
        return self.states[1:-2]


def markov_chain(journeys: Iterable[Journey]) -> MarkovChain:
    """Fit the first-order chain of the journeys' paths (converting or not, each counted once).

    Examples
    --------
    >>> chain = markov_chain([Journey("u", ("ads", "mail"), True),
    ...                       Journey("v", ("ads",), False)])
    >>> chain.states
    ('(start)', 'ads', 'mail', '(conversion)', '(null)')
    >>> chain.matrix[1].tolist()  # from ads: half to mail, half to null
    [0.0, 0.0, 0.5, 0.0, 0.5]
    """
    paths = [(j.channels, j.converted) for j in journeys]
    channels = sorted({c for path, _ in paths for c in path})
    index = {c: i for i, c in enumerate(channels, start=1)}
    n = len(channels) + 3
    conv, null = n - 2, n - 1
    sources: list[int] = []
    targets: list[int] = []
    for path, converted in paths:
        walk = [0, *(index[c] for c in path), conv if converted else null]
        sources.extend(walk[:-1])
        targets.extend(walk[1:])
    counts = np.bincount(
        np.asarray(sources, dtype=np.int64) * n + np.asarray(targets, dtype=np.int64),
        minlength=n * n,
    ).reshape(n, n).astype(np.float64)
    counts[conv, conv] = counts[null, null] = 1.0
    totals = counts.sum(axis=1, keepdims=True)
    matrix = np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)
    return MarkovChain((START, *channels, CONVERSION, NULL), matrix)


def conversion_probability(chain: MarkovChain, removed: Sequence[str] = ()) -> float:
    """Probability that a walk from start is absorbed in conversion, with ``removed`` channels
    turned into dead ends (a walk entering one goes to null).

    Examples
    --------
    >>> chain = markov_chain([Journey("u", ("ads", "mail"), True),
    ...                       Journey("v", ("ads",), False)])
    >>> conversion_probability(chain), conversion_probability(chain, ["mail"])
    (0.5, 0.0)
    """
    n = len(chain.states)
    index = {c: i for i, c in enumerate(chain.channels, start=1)}
    unknown = [c for c in removed if c not in index]
    if unknown:
        raise ValueError(f"not channels of this chain: {unknown}; known: {list(index)}")
    gone = {index[c] for c in removed}
    keep = [i for i in range(n - 2) if i not in gone]  # transient states still reachable
    q = chain.matrix[np.ix_(keep, keep)]
    r = chain.matrix[keep, n - 2]
    x = np.linalg.solve(np.eye(len(keep)) - q, r)
    return float(x[0])


def removal_effects(journeys: Iterable[Journey]) -> dict[str, float]:
    """``RE(c) = 1 - P(conv | c removed) / P(conv)`` for every channel (0 when nothing
    converts).

    Examples
    --------
    >>> effects = removal_effects([Journey("u", ("ads", "mail"), True),
    ...                            Journey("v", ("ads",), True)])
    >>> effects
    {'ads': 1.0, 'mail': 0.5}
    """
    chain = markov_chain(journeys)
    base = conversion_probability(chain)
    if base <= 0.0:
        return {c: 0.0 for c in chain.channels}
    return {c: 1.0 - conversion_probability(chain, [c]) / base for c in chain.channels}


def markov_attribution(journeys: Iterable[Journey]) -> dict[str, float]:
    """Credits: removal effects normalised to sum to the total conversion value.

    The chain is fitted on paths (each journey counts once); the scale is the converting
    journeys' total ``value``, which is the number of conversions when every conversion is
    worth 1 (the default). All zeros when no removal matters (nothing converts through a
    channel).

    Examples
    --------
    >>> journeys = ([Journey("a", ("ads",), True)] * 2 + [Journey("b", ("mail",), True)]
    ...             + [Journey("c", ("ads", "mail"), True), Journey("d", ("ads",), False)])
    >>> {c: round(v, 9) for c, v in markov_attribution(journeys).items()}
    {'ads': 2.4, 'mail': 1.6}
    """
    journeys = list(journeys)
    effects = removal_effects(journeys)
    total_effect = sum(effects.values())
    total_value = sum(j.value for j in journeys if j.converted)
    if total_effect <= 0.0:
        return {c: 0.0 for c in effects}
    return {c: e / total_effect * total_value for c, e in effects.items()}
