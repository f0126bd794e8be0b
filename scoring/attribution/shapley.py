"""Shapley-value attribution: each channel earns its average marginal contribution.

For players N and a coalition value v, the exact subset formula is
``φ_i = Σ_{S ⊆ N∖{i}} |S|! (|N| - |S| - 1)! / |N|! · (v(S ∪ {i}) - v(S))``.
For journeys the game is ``v(S)`` = value of the converting journeys whose channel set lies
inside S. That v is a sum of unanimity games, one per journey, so by linearity its Shapley value
is exact in closed form: each journey's value split equally over its *distinct* channels.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from math import factorial

from scoring.attribution.journeys import Journey

__all__ = ["journey_game", "shapley_from_journeys", "shapley_values"]


def shapley_values(
    players: Iterable[str],
    value: Callable[[frozenset[str]], float],
    *,
    max_players: int = 16,
) -> dict[str, float]:
    """Exact Shapley values of a coalition game by the subset formula.

    ``value`` is called once for each of the 2**n coalitions, the empty one included (it is
    normally 0; the values then sum to ``v(N)``). Cost O(n · 2**n).

    Raises
    ------
    ValueError
        If there are more than ``max_players`` players (2**16 coalitions by default).

    Examples
    --------
    >>> v = {"": 0, "O": 7, "F": 6, "D": 4, "OF": 15, "OD": 7, "FD": 9, "OFD": 19}
    >>> phi = shapley_values("OFD", lambda s: v["".join(p for p in "OFD" if p in s)])
    >>> {p: round(x, 3) for p, x in phi.items()}
    {'O': 7.667, 'F': 8.167, 'D': 3.167}
    """
    names = list(dict.fromkeys(players))
    n = len(names)
    if n > max_players:
        raise ValueError(
            f"{n} players need 2**{n} coalitions; max_players={max_players} "
            f"(raise it knowingly, or merge rare players)"
        )
    worth = [
        value(frozenset(names[j] for j in range(n) if mask >> j & 1)) for mask in range(1 << n)
    ]
    weight = [factorial(s) * factorial(n - s - 1) / factorial(n) for s in range(n)]
    result: dict[str, float] = {}
    for i, name in enumerate(names):
        bit = 1 << i
        result[name] = sum(
            weight[mask.bit_count()] * (worth[mask | bit] - worth[mask])
            for mask in range(1 << n)
            if not mask & bit
        )
    return result


def _channel_sets(journeys: Iterable[Journey]) -> dict[frozenset[str], float]:
    worth: defaultdict[frozenset[str], float] = defaultdict(float)
    for journey in journeys:
        if journey.converted and journey.channels:
            worth[frozenset(journey.channels)] += journey.value
    return dict(worth)


def journey_game(journeys: Iterable[Journey]) -> Callable[[frozenset[str]], float]:
    """The coalition value ``v(S)`` = total value of converting journeys whose channel set is a
    subset of S, for use with ``shapley_values``.

    Examples
    --------
    >>> v = journey_game([Journey("u", ("ads", "mail"), True), Journey("v", ("ads",), True)])
    >>> v(frozenset({"ads"})), v(frozenset({"ads", "mail"}))
    (1.0, 2.0)
    """
    sets = _channel_sets(journeys)

    def value(coalition: frozenset[str]) -> float:
        return sum(w for channels, w in sets.items() if channels <= coalition)

    return value


def shapley_from_journeys(
    journeys: Iterable[Journey], *, max_channels: int | None = 16
) -> dict[str, float]:
    """Shapley credits of the journey game ``v(S)`` (see ``journey_game``), exactly.

    ``v = Σ_j value_j · u_{T_j}`` where ``u_T(S) = 1`` if ``T ⊆ S``; the Shapley value of
    ``u_T`` is ``1/|T|`` to each member of T and 0 to the rest (symmetry, null player), so
    ``φ_c = Σ_{j : c ∈ T_j} value_j / |T_j|``. This equals ``shapley_values`` on the whole
    channel set (the tests check it) at O(touches) instead of O(n · 2**n), so there is no limit
    on the number of channels overall. Note that a channel repeated within a journey counts
    once, unlike ``linear``.

    ``max_channels`` caps the distinct channels of one journey, and the choice is to refuse,
    not bucket: a journey touching more than 16 channels is almost always a stitched identity
    or a bot, and splitting it 1/k would quietly dilute real journeys; merging channels into an
    "other" bucket would hand out credit to a channel nobody can act on. None accepts any size.

    Raises
    ------
    ValueError
        If a converting journey has more than ``max_channels`` distinct channels; the message
        names how many and the first such user.

    Examples
    --------
    >>> shapley_from_journeys([Journey("u", ("ads", "mail", "ads"), True, 10.0),
    ...                        Journey("v", ("ads",), True, 4.0)])
    {'ads': 9.0, 'mail': 5.0}
    """
    journeys = list(journeys)
    if max_channels is not None:
        wide = [j for j in journeys if j.converted and len(set(j.channels)) > max_channels]
        if wide:
            raise ValueError(
                f"{len(wide)} converting journeys have more than max_channels={max_channels} "
                f"distinct channels (first: user {wide[0].user!r}, "
                f"{len(set(wide[0].channels))}); clean them or pass a larger max_channels"
            )
    credit: defaultdict[str, float] = defaultdict(float)
    for channels, worth in _channel_sets(journeys).items():
        share = worth / len(channels)
        for channel in channels:
            credit[channel] += share
    return dict(sorted(credit.items()))
