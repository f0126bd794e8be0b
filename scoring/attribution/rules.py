"""Rule-based attribution: fixed formulas that split each conversion's value over its touches.

For a converting journey with touches 1..n and value V, touch i earns ``w_i * V`` with
``sum(w) == 1``, and a channel's credit is the sum over its touches:

* first touch: ``w_1 = 1``; last touch: ``w_n = 1``; linear: ``w_i = 1/n``.
* U-shaped (position based): 40% first, 40% last, 20% shared by the touches between.
* W-shaped: 30% first, 30% the lead-creating touch, 30% last, 10% shared by the rest.
* time decay: ``w_i ∝ 2 ** (-(t_conv - t_i) / half_life)``.

Only converting journeys earn credit, so every model's credits sum to the total conversion
value; every channel of a converting journey is listed, with 0.0 if it earned nothing.
``assist_report`` counts how often a channel helps without closing. Pure Python.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta

from scoring.attribution.journeys import Journey

__all__ = [
    "AssistStats",
    "assist_report",
    "first_touch",
    "last_touch",
    "linear",
    "time_decay",
    "u_shaped",
    "w_shaped",
]

Weights = Callable[[Journey], Sequence[float]]


def _credit(journeys: Iterable[Journey], weights: Weights) -> dict[str, float]:
    credit: defaultdict[str, float] = defaultdict(float)
    for journey in journeys:
        if not journey.converted or not journey.channels:
            continue  # nothing to credit (build_journeys gives touchless conversions "(direct)")
        for channel, weight in zip(journey.channels, weights(journey), strict=True):
            credit[channel] += weight * journey.value
    return dict(sorted(credit.items()))


def first_touch(journeys: Iterable[Journey]) -> dict[str, float]:
    """All of a conversion's value to the journey's first touch.

    Examples
    --------
    >>> first_touch([Journey("u", ("kol", "ads", "mail"), True, 30.0)])
    {'ads': 0.0, 'kol': 30.0, 'mail': 0.0}
    """
    return _credit(journeys, lambda j: [1.0] + [0.0] * (len(j.channels) - 1))


def last_touch(journeys: Iterable[Journey]) -> dict[str, float]:
    """All of a conversion's value to the journey's last touch (last click).

    Examples
    --------
    >>> last_touch([Journey("u", ("kol", "ads", "mail"), True, 30.0)])
    {'ads': 0.0, 'kol': 0.0, 'mail': 30.0}
    """
    return _credit(journeys, lambda j: [0.0] * (len(j.channels) - 1) + [1.0])


def linear(journeys: Iterable[Journey]) -> dict[str, float]:
    """An equal share of a conversion's value to every touch (a repeated channel earns twice).

    Examples
    --------
    >>> linear([Journey("u", ("kol", "ads", "kol"), True, 30.0)])
    {'ads': 10.0, 'kol': 20.0}
    """
    return _credit(journeys, lambda j: [1.0 / len(j.channels)] * len(j.channels))


def _u_weights(n: int) -> list[float]:
    if n <= 2:
        return [1.0 / n] * n  # no middle: one touch takes all, two split evenly
    return [0.4] + [0.2 / (n - 2)] * (n - 2) + [0.4]


def u_shaped(journeys: Iterable[Journey]) -> dict[str, float]:
    """Position based: 40% to the first touch, 40% to the last, 20% shared by those between.

    One touch takes everything; two touches take 50% each (there is no middle to share).

    Examples
    --------
    >>> u_shaped([Journey("u", ("kol", "ads", "mail", "ads"), True, 100.0)])
    {'ads': 50.0, 'kol': 40.0, 'mail': 10.0}
    """
    return _credit(journeys, lambda j: _u_weights(len(j.channels)))


def _w_weights(n: int, lead: int | None) -> list[float]:
    if lead is None:
        if n <= 2:
            return _u_weights(n)
        lead = (n - 1) // 2
    if not 0 <= lead < n:
        raise ValueError(f"lead index {lead} is outside a journey of {n} touches")
    weights = [0.0] * n
    for key in (0, lead, n - 1):
        weights[key] += 0.3  # a touch in two roles (first and lead) earns both shares
    others = [i for i in range(n) if i not in (0, lead, n - 1)]
    for i in others:
        weights[i] = 0.1 / len(others)
    if not others:  # nothing to spread the 10% over: scale the key touches up to 100%
        total = sum(weights)
        weights = [w / total for w in weights]
    return weights


def w_shaped(
    journeys: Iterable[Journey], *, lead: Callable[[Journey], int] | None = None
) -> dict[str, float]:
    """30% each to the first touch, the lead-creating touch and the last; 10% to the rest.

    ``lead(journey)`` returns the index of the touch that created the lead (a form filled, a
    follow). Our journeys carry no lead events, so by default the lead is the middle touch,
    index ``(n - 1) // 2`` (the earlier of two middles). That choice makes W a U with a peak in
    the middle; pass ``lead`` when the data knows better. With the default, one or two touches
    fall back to the U split (100%, 50/50) and three touches take a third each. With an explicit
    ``lead`` equal to the first or last index, that touch earns both 30% shares; when no other
    touch is left to share the 10%, the key shares are scaled up to sum to 100%.

    Raises
    ------
    ValueError
        If ``lead`` returns an index outside the journey.

    Examples
    --------
    >>> j = Journey("u", ("kol", "ads", "mail", "ads", "search"), True, 100.0)
    >>> {k: round(v, 6) for k, v in w_shaped([j]).items()}
    {'ads': 10.0, 'kol': 30.0, 'mail': 30.0, 'search': 30.0}
    >>> {k: round(v, 6) for k, v in w_shaped([j], lead=lambda j: 1).items()}
    {'ads': 35.0, 'kol': 30.0, 'mail': 5.0, 'search': 30.0}
    """
    return _credit(
        journeys, lambda j: _w_weights(len(j.channels), None if lead is None else lead(j))
    )


def time_decay(
    journeys: Iterable[Journey], *, half_life: timedelta = timedelta(days=7)
) -> dict[str, float]:
    """Credit halves for every ``half_life`` a touch lies before the conversion.

    ``w_i ∝ 2 ** (-(t_conv - t_i) / half_life)``, normalised per journey. ``t_conv`` is the
    journey's ``at`` (the last touch's time when ``at`` is missing).

    Raises
    ------
    ValueError
        If ``half_life`` is not positive, or a converting journey has no touch times.

    Examples
    --------
    >>> from datetime import UTC, datetime
    >>> day = lambda d: datetime(2026, 3, d, tzinfo=UTC)
    >>> j = Journey("u", ("ads", "mail"), True, 3.0, (day(1), day(8)), day(8))
    >>> time_decay([j])
    {'ads': 1.0, 'mail': 2.0}
    """
    if half_life <= timedelta(0):
        raise ValueError(f"half_life must be positive, got {half_life}")
    seconds = half_life.total_seconds()

    def weights(journey: Journey) -> list[float]:
        if len(journey.times) != len(journey.channels):
            raise ValueError(f"time_decay needs touch times; journey of {journey.user!r} has none")
        end = journey.at if journey.at is not None else journey.times[-1]
        raw = [2.0 ** (-(end - t).total_seconds() / seconds) for t in journey.times]
        total = sum(raw)
        return [w / total for w in raw]

    return _credit(journeys, weights)


@dataclass(frozen=True)
class AssistStats:
    """How a channel took part in conversions.

    ``assists``: converting journeys in which the channel appears other than as the last touch
    (once per journey, also when it closes the same journey). ``last_clicks``: converting
    journeys it closed. ``ratio`` = assists / last_clicks, None when it closed none: above 1 the
    channel mostly opens and nurtures, below 1 it mostly closes.
    """

    assists: int
    last_clicks: int
    ratio: float | None


def assist_report(journeys: Iterable[Journey]) -> dict[str, AssistStats]:
    """Assists, last-click conversions and their ratio per channel.

    Channels seen only in non-converting journeys are listed with zeros.

    Examples
    --------
    >>> report = assist_report([Journey("u", ("kol", "ads"), True),
    ...                         Journey("v", ("ads", "kol", "ads"), True),
    ...                         Journey("w", ("mail",), False)])
    >>> for channel, row in report.items():
    ...     print(channel, row.assists, row.last_clicks, row.ratio)
    ads 1 2 0.5
    kol 2 0 None
    mail 0 0 None
    """
    assists: defaultdict[str, int] = defaultdict(int)
    closes: defaultdict[str, int] = defaultdict(int)
    seen: set[str] = set()
    for journey in journeys:
        seen.update(journey.channels)
        if not journey.converted or not journey.channels:
            continue
        closes[journey.channels[-1]] += 1
        for channel in set(journey.channels[:-1]):
            assists[channel] += 1
    return {
        channel: AssistStats(
            assists[channel],
            closes[channel],
            assists[channel] / closes[channel] if closes[channel] else None,
        )
        for channel in sorted(seen)
    }
