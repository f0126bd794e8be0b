"""Multi-touch attribution: journeys cut from touchpoints, the file readers' bad-row ledger,
every rule model on hand-checked journeys, and the Markov and Shapley models against the
worked examples and against oracles written differently (Monte Carlo walks and power iteration
of the fitted chain; Shapley as the average over all orderings)."""

from __future__ import annotations

import itertools
import math
import random
from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from scoring.attribution import (
    DIRECT,
    AssistStats,
    Conversion,
    Journey,
    Touchpoint,
    assist_report,
    build_journeys,
    conversion_probability,
    first_touch,
    journey_game,
    last_touch,
    linear,
    markov_attribution,
    markov_chain,
    read_conversions,
    read_touchpoints,
    removal_effects,
    shapley_from_journeys,
    shapley_values,
    time_decay,
    u_shaped,
    w_shaped,
)

T0 = datetime(2026, 3, 1, tzinfo=UTC)
CHANNELS = ("ads", "kol", "mail", "search", "social")


def day(d: float) -> datetime:
    return T0 + timedelta(days=d)


def touch(user: str, channel: str, d: float) -> Touchpoint:
    return Touchpoint(user, channel, day(d))


def random_journeys(n: int = 200, seed: int = 7) -> list[Journey]:
    """Journeys of 1–4 touches with times; conversion odds depend on the channels touched."""
    rng = random.Random(seed)
    lift = {"ads": 0.15, "kol": 0.05, "mail": 0.1, "search": 0.3, "social": 0.0}
    journeys = []
    for i in range(n):
        k = rng.randint(1, 4)
        channels = tuple(rng.choice(CHANNELS) for _ in range(k))
        times = tuple(sorted(day(rng.uniform(0, 20)) for _ in range(k)))
        converted = rng.random() < 0.15 + sum(lift[c] for c in set(channels))
        value = float(rng.randint(1, 5)) if converted else 0.0
        at = times[-1] + timedelta(hours=rng.uniform(0, 48)) if converted else None
        journeys.append(Journey(f"u{i}", channels, converted, value, times, at))
    return journeys


def total_value(journeys: list[Journey]) -> float:
    return sum(j.value for j in journeys if j.converted)


# ---------------------------------------------------------------- build_journeys


def test_each_conversion_takes_its_window_and_leftovers_form_a_non_converted_journey() -> None:
    touches = [
        touch("u1", "kol", 0), touch("u1", "ads", 40), touch("u1", "mail", 45),
        touch("u1", "ads", 50),                      # at the conversion instant: counts for it
        touch("u1", "search", 52), touch("u1", "mail", 60),
        touch("u1", "kol", 70),                      # after the last conversion
        touch("u2", "ads", 3), touch("u2", "ads", 1),  # never converts; given out of order
    ]
    conversions = [Conversion("u1", day(55), 5.0), Conversion("u1", day(50), 2.0),
                   Conversion("u1", day(61))]
    journeys = build_journeys(touches, conversions)
    got = [(j.user, j.channels, j.converted, j.value, j.at) for j in journeys]
    assert got == [
        ("u1", ("ads", "mail", "ads"), True, 2.0, day(50)),  # kol at day 0 is outside 30 days
        ("u1", ("search",), True, 5.0, day(55)),              # only touches after day 50
        ("u1", ("mail",), True, 1.0, day(61)),
        ("u1", ("kol",), False, 0.0, None),
        ("u2", ("ads", "ads"), False, 0.0, None),
    ]
    assert journeys[0].times == (day(40), day(45), day(50))
    assert journeys[-1].times == (day(1), day(3))


def test_lookback_bounds_the_window_and_non_converted_journeys_alike() -> None:
    touches = [touch("u", "ads", 0), touch("u", "mail", 5), touch("u", "kol", 9.5),
               touch("v", "ads", 0), touch("v", "mail", 3), touch("v", "kol", 10)]
    journeys = build_journeys(touches, [Conversion("u", day(10))], lookback=timedelta(days=5))
    assert [(j.user, j.channels) for j in journeys] == [("u", ("mail", "kol")),
                                                        ("v", ("kol",))]
    # exactly lookback before the conversion is inside
    [exact] = build_journeys([touch("w", "ads", 0)], [Conversion("w", day(1))],
                             lookback=timedelta(days=1))
    assert exact.channels == ("ads",)


def test_a_conversion_without_touches_is_direct_unless_dropped() -> None:
    conversions = [Conversion("u", day(1), 3.0)]
    [journey] = build_journeys([], conversions)
    assert (journey.channels, journey.converted, journey.value) == ((DIRECT,), True, 3.0)
    assert build_journeys([], conversions, direct=None) == []
    # a second conversion right after the first has no touches left for it
    journeys = build_journeys([touch("u", "ads", 0)],
                              [Conversion("u", day(1)), Conversion("u", day(2))])
    assert [j.channels for j in journeys] == [("ads",), (DIRECT,)]


@pytest.mark.parametrize("lookback", [timedelta(0), timedelta(hours=23),
                                      timedelta(days=90, seconds=1), timedelta(days=-3)])
def test_lookback_outside_one_to_ninety_days_is_refused(lookback: timedelta) -> None:
    with pytest.raises(ValueError, match="between 1 and 90 days"):
        build_journeys([], [], lookback=lookback)


@pytest.mark.parametrize("lookback", [timedelta(days=1), timedelta(days=90)])
def test_lookback_bounds_are_inclusive(lookback: timedelta) -> None:
    assert build_journeys([], [], lookback=lookback) == []


def test_records_need_aware_times_and_journeys_aligned_times() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        Touchpoint("u", "ads", datetime(2026, 3, 1))
    with pytest.raises(ValueError, match="timezone-aware"):
        Conversion("u", datetime(2026, 3, 1))
    with pytest.raises(ValueError, match="2 times for 1 channels"):
        Journey("u", ("ads",), True, 1.0, (T0, T0))


def test_every_touch_lands_in_at_most_one_journey_inside_its_window() -> None:
    rng = random.Random(3)
    touches = [touch(f"u{rng.randint(0, 30)}", rng.choice(CHANNELS), rng.uniform(0, 120))
               for _ in range(600)]
    conversions = [Conversion(f"u{rng.randint(0, 30)}", day(rng.uniform(0, 120)))
                   for _ in range(60)]
    lookback = timedelta(days=14)
    journeys = build_journeys(touches, conversions, lookback=lookback, direct=None)
    used = Counter((j.user, t) for j in journeys for t in j.times)
    assert max(used.values()) == 1  # random float days: no two touches share an instant
    for j in journeys:
        assert list(j.times) == sorted(j.times)
        end = j.at if j.converted else j.times[-1]
        assert end is not None and all(end - lookback <= t <= end for t in j.times)


# ---------------------------------------------------------------- readers


def test_csv_reader_counts_and_skips_bad_rows(tmp_path: Path) -> None:
    path = tmp_path / "touches.csv"
    path.write_bytes(
        "\ufeffUser, Channel ,time,value\n"
        "u1,ads,2026-03-01T10:00:00+08:00,\n"
        "u1,mail,2026-03-01 12:00:00,1.5\n"     # naive: Asia/Shanghai
        ",ads,2026-03-01T10:00:00Z,\n"
        "u2,,2026-03-01T10:00:00Z,\n"
        "u2,ads,,\n"
        "u2,ads\n"                               # short row: no time at all
        "u2,ads,yesterday,\n"
        "u2,ads,2026-03-01T10:00:00Z,lots\n"
        "u2,ads,2026-03-01T10:00:00Z,nan\n"
        "\n"
        "u3,kol,2026-03-02T00:00:00Z,2\n".encode()
        + b"\xff\xfeu4,ads,2026-03-01T10:00:00Z,\n"
    )
    rows, skipped = read_touchpoints(path)
    assert rows == [
        Touchpoint("u1", "ads", datetime(2026, 3, 1, 2, tzinfo=UTC)),
        Touchpoint("u1", "mail", datetime(2026, 3, 1, 4, tzinfo=UTC), 1.5),
        Touchpoint("u3", "kol", datetime(2026, 3, 2, tzinfo=UTC), 2.0),
    ]
    assert all(r.at.tzinfo is UTC for r in rows)
    assert skipped == Counter(missing_user=1, missing_channel=1, missing_time=2, bad_time=1,
                              bad_value=2, bad_encoding=1)


def test_json_lines_reader_counts_and_skips_bad_rows(tmp_path: Path) -> None:
    path = tmp_path / "touches.log"  # no telling suffix: recognised by its first line
    path.write_text(
        '{"user": "u1", "channel": "ads", "time": "2026-03-01T10:00:00+08:00"}\n'
        "not json\n"
        "[1, 2]\n"
        "\n"
        '{"user": "u1", "channel": "ads", "time": 1772330400}\n'
        '{"user": "u1", "channel": "ads", "time": "2026-03-01T10:00:00", "value": true}\n'
        '{"user": 7, "channel": "ads", "time": "2026-03-01T10:00:00"}\n'
        '{"user": "u1", "channel": "kol", "time": "2026-03-01T10:00:00", "value": "3"}\n'
        '{"user": "u1", "chan',
        encoding="utf-8",
    )
    rows, skipped = read_touchpoints(path)
    assert rows == [Touchpoint("u1", "ads", datetime(2026, 3, 1, 2, tzinfo=UTC)),
                    Touchpoint("u1", "kol", datetime(2026, 3, 1, 2, tzinfo=UTC), 3.0)]
    assert skipped == Counter(bad_json=3, bad_time=1, bad_value=1, missing_user=1)


def test_conversion_reader_defaults_value_to_one_and_refuses_negative(tmp_path: Path) -> None:
    path = tmp_path / "conversions.csv"
    path.write_text(
        "user,channel,time,value\n"
        "u1,,2026-03-01T10:00:00Z,\n"
        "u2,ads,2026-03-01T10:00:00Z,99.5\n"
        "u3,,2026-03-01T10:00:00Z,-5\n"
        "u4,,2026-03-01T10:00:00Z,inf\n"
        "u5,,2026-13-01T10:00:00Z,\n",
        encoding="utf-8",
    )
    rows, skipped = read_conversions(path)
    assert rows == [Conversion("u1", datetime(2026, 3, 1, 10, tzinfo=UTC), 1.0),
                    Conversion("u2", datetime(2026, 3, 1, 10, tzinfo=UTC), 99.5)]
    assert skipped == Counter(bad_value=2, bad_time=1)

    jsonl = tmp_path / "conversions.jsonl"
    jsonl.write_text('{"user": "u1", "time": "2026-03-01T18:00:00", "value": 4}\n{"time": "x"}\n',
                     encoding="utf-8")
    rows, skipped = read_conversions(jsonl, tz="UTC")
    assert rows == [Conversion("u1", datetime(2026, 3, 1, 18, tzinfo=UTC), 4.0)]
    assert skipped == Counter(missing_user=1)


def test_files_to_credits_end_to_end(tmp_path: Path) -> None:
    (tmp_path / "t.csv").write_text(
        "user,channel,time\nu1,kol,2026-03-01T09:00:00\nu1,ads,2026-03-02T09:00:00\n"
        "u2,ads,2026-03-01T09:00:00\n", encoding="utf-8")
    (tmp_path / "c.csv").write_text("user,time,value\nu1,2026-03-03T09:00:00,10\n",
                                    encoding="utf-8")
    touches, _ = read_touchpoints(tmp_path / "t.csv")
    conversions, _ = read_conversions(tmp_path / "c.csv")
    journeys = build_journeys(touches, conversions)
    assert linear(journeys) == {"ads": 5.0, "kol": 5.0}
    # kol>ads>conv, ads>null: removing ads loses every conversion, removing kol half
    assert markov_attribution(journeys) == pytest.approx({"ads": 20 / 3, "kol": 10 / 3})


# ---------------------------------------------------------------- rule models

HAND = [
    Journey("a", ("kol", "ads", "mail"), True, 30.0),
    Journey("b", ("ads",), True, 10.0),
    Journey("c", ("mail", "ads"), True, 20.0),
    Journey("d", ("kol", "mail"), False, 0.0),  # never converts: earns nothing
]


@pytest.mark.parametrize(("model", "expected"), [
    (first_touch, {"kol": 30.0, "ads": 10.0, "mail": 20.0}),
    (last_touch, {"kol": 0.0, "ads": 30.0, "mail": 30.0}),
    (linear, {"kol": 10.0, "ads": 30.0, "mail": 20.0}),
    # U: a = 40/20/40 of 30, b = all of 10, c = 50/50 of 20
    (u_shaped, {"kol": 12.0, "ads": 26.0, "mail": 22.0}),
    # W (default lead = middle): a = thirds, b = all, c = 50/50
    (w_shaped, {"kol": 10.0, "ads": 30.0, "mail": 20.0}),
], ids=lambda x: getattr(x, "__name__", ""))
def test_rule_models_on_hand_checked_journeys(
    model: Callable[[list[Journey]], dict[str, float]], expected: dict[str, float]
) -> None:
    assert model(HAND) == pytest.approx(expected)


def test_w_shape_weights_and_the_lead_hook() -> None:
    four = [Journey("u", ("kol", "ads", "mail", "search"), True, 100.0)]
    # default lead is index (4 - 1) // 2 = 1; the one touch left takes the 10%
    assert w_shaped(four) == pytest.approx({"kol": 30, "ads": 30, "mail": 10, "search": 30})
    # lead on the first touch: it earns both 30% shares, the two others share 10%
    assert w_shaped(four, lead=lambda j: 0) == pytest.approx(
        {"kol": 60, "ads": 5, "mail": 5, "search": 30})
    # two touches, lead on the last: 30 / 60, scaled up to 100
    two = [Journey("u", ("kol", "ads"), True, 90.0)]
    assert w_shaped(two, lead=lambda j: 1) == pytest.approx({"kol": 30, "ads": 60})
    with pytest.raises(ValueError, match="outside a journey of 2 touches"):
        w_shaped(two, lead=lambda j: 2)


def test_time_decay_halves_per_half_life() -> None:
    journey = Journey("u", ("ads", "mail", "kol"), True, 7.0,
                      (day(0), day(7), day(14)), day(14))
    # weights 1/4, 1/2, 1 → 1/7, 2/7, 4/7 of 7
    assert time_decay([journey]) == pytest.approx({"ads": 1.0, "mail": 2.0, "kol": 4.0})
    # half-life 14 days: 2^-1, 2^-0.5, 1
    w = [0.5, 2 ** -0.5, 1.0]
    assert time_decay([journey], half_life=timedelta(days=14)) == pytest.approx(
        {c: 7.0 * x / sum(w) for c, x in zip(("ads", "mail", "kol"), w, strict=True)})
    # without a conversion time the last touch is the reference
    undated = Journey("u", ("ads", "mail"), True, 3.0, (day(0), day(7)))
    assert time_decay([undated]) == pytest.approx({"ads": 1.0, "mail": 2.0})


def test_time_decay_refuses_missing_times_and_bad_half_life() -> None:
    with pytest.raises(ValueError, match="needs touch times"):
        time_decay([Journey("u", ("ads",), True)])
    with pytest.raises(ValueError, match="half_life must be positive"):
        time_decay([], half_life=timedelta(0))


def test_assist_report_counts_assists_and_last_clicks() -> None:
    journeys = [*HAND, Journey("e", ("ads", "kol", "ads"), True)]
    assert assist_report(journeys) == {
        # ads assists in a and e (once, though it also closes e), closes b, c and e
        "ads": AssistStats(assists=2, last_clicks=3, ratio=2 / 3),
        "kol": AssistStats(assists=2, last_clicks=0, ratio=None),
        "mail": AssistStats(assists=1, last_clicks=1, ratio=1.0),
    }


# ---------------------------------------------------------------- credits sum to the value


def _models() -> list[Callable[[list[Journey]], dict[str, float]]]:
    return [first_touch, last_touch, linear, u_shaped, w_shaped, time_decay,
            markov_attribution, shapley_from_journeys]


@pytest.mark.parametrize("model", _models(), ids=lambda m: m.__name__)
def test_every_model_credits_sum_to_the_total_conversion_value(
    model: Callable[[list[Journey]], dict[str, float]]
) -> None:
    journeys = random_journeys()
    credit = model(journeys)
    assert sum(credit.values()) == pytest.approx(total_value(journeys), rel=1e-12)
    assert min(credit.values()) >= 0.0
    assert set(credit) <= set(CHANNELS)


@pytest.mark.parametrize("model", _models(), ids=lambda m: m.__name__)
def test_nothing_converted_means_no_credit(
    model: Callable[[list[Journey]], dict[str, float]]
) -> None:
    journeys = [Journey("u", ("ads", "mail"), False, 0.0, (day(0), day(1)))]
    assert sum(model(journeys).values()) == 0.0


# ---------------------------------------------------------------- Markov

WORKED = (
    [Journey("a", ("ads",), True)] * 2
    + [Journey("m", ("mail",), True), Journey("am", ("ads", "mail"), True),
       Journey("x", ("ads",), False)]
)


def test_markov_worked_example_is_exact() -> None:
    chain = markov_chain(WORKED)
    assert conversion_probability(chain) == pytest.approx(0.8, abs=1e-12)
    assert removal_effects(WORKED) == pytest.approx({"ads": 0.75, "mail": 0.5}, abs=1e-12)
    credit = markov_attribution(WORKED)
    assert credit.keys() == {"ads", "mail"}
    assert abs(credit["ads"] - 2.4) < 1e-9 and abs(credit["mail"] - 1.6) < 1e-9


def test_markov_refuses_unknown_channels() -> None:
    with pytest.raises(ValueError, match="not channels of this chain"):
        conversion_probability(markov_chain(WORKED), ["tv"])


def _oracle_transitions(journeys: list[Journey]) -> tuple[list[str], np.ndarray]:
    """Fit the chain again, independently: dict counting, states named, absorbing last."""
    counts: defaultdict[str, Counter[str]] = defaultdict(Counter)
    for j in journeys:
        path = ["START", *j.channels, "CONV" if j.converted else "NULL"]
        for a, b in itertools.pairwise(path):
            counts[a][b] += 1
    states = ["START", *sorted({c for j in journeys for c in j.channels}), "CONV", "NULL"]
    p = np.zeros((len(states), len(states)))
    for a, row in counts.items():
        for b, n in row.items():
            p[states.index(a), states.index(b)] = n / sum(row.values())
    p[-2, -2] = p[-1, -1] = 1.0
    return states, p


def _with_removed(states: list[str], p: np.ndarray, removed: str | None) -> np.ndarray:
    p = p.copy()
    if removed is not None:
        i = states.index(removed)
        p[:, -1] += p[:, i]   # entering the removed channel means falling out
        p[:, i] = 0.0
    return p


def _monte_carlo(states: list[str], p: np.ndarray, removed: str | None,
                 walkers: int, seed: int) -> float:
    p = _with_removed(states, p, removed)
    cumulative = np.cumsum(p, axis=1)
    rng = np.random.default_rng(seed)  # same seed for every scenario: common random numbers
    state = np.zeros(walkers, dtype=np.int64)
    conv, null = len(states) - 2, len(states) - 1
    active = np.ones(walkers, dtype=bool)
    while active.any():
        u = rng.random(walkers)
        step = (u[:, None] >= cumulative[state]).sum(axis=1).clip(max=null)
        state = np.where(active, step, state)
        active = (state != conv) & (state != null)
    return float((state == conv).mean())


def _power_iteration(states: list[str], p: np.ndarray, removed: str | None) -> float:
    p = _with_removed(states, p, removed)
    mass = np.zeros(len(states))
    mass[0] = 1.0
    while mass[:-2].sum() > 1e-15:
        mass = mass @ p
    return float(mass[-2])


def _credits_from(probability: Callable[[str | None], float], channels: list[str],
                  total: float) -> dict[str, float]:
    base = probability(None)
    effects = {c: 1 - probability(c) / base for c in channels}
    return {c: e / sum(effects.values()) * total for c, e in effects.items()}


def test_markov_matches_power_iteration_of_an_independently_fitted_chain() -> None:
    journeys = random_journeys()
    states, p = _oracle_transitions(journeys)
    oracle = _credits_from(lambda c: _power_iteration(states, p, c), states[1:-2],
                           total_value(journeys))
    assert markov_attribution(journeys) == pytest.approx(oracle, abs=1e-9)
    assert markov_chain(journeys).matrix == pytest.approx(p, abs=1e-15)


def test_markov_matches_a_monte_carlo_simulation_of_the_chain_within_two_percent() -> None:
    journeys = random_journeys()
    states, p = _oracle_transitions(journeys)
    oracle = _credits_from(lambda c: _monte_carlo(states, p, c, 400_000, seed=2026),
                           states[1:-2], total_value(journeys))
    assert markov_attribution(journeys) == pytest.approx(oracle, rel=0.02)


# ---------------------------------------------------------------- Shapley

GAME = {"": 0.0, "O": 7.0, "F": 6.0, "D": 4.0, "OF": 15.0, "OD": 7.0, "FD": 9.0, "OFD": 19.0}


def test_shapley_worked_example() -> None:
    phi = shapley_values("OFD", lambda s: GAME["".join(p for p in "OFD" if p in s)])
    assert {p: round(x, 3) for p, x in phi.items()} == {"O": 7.667, "F": 8.167, "D": 3.167}
    assert sum(phi.values()) == pytest.approx(19.0, abs=1e-12)


def _permutation_shapley(players: list[str],
                         value: Callable[[frozenset[str]], float]) -> dict[str, float]:
    """The definition: average marginal contribution over every ordering of the players."""
    phi = dict.fromkeys(players, 0.0)
    orders = list(itertools.permutations(players))
    for order in orders:
        coalition: frozenset[str] = frozenset()
        for player in order:
            phi[player] += value(coalition | {player}) - value(coalition)
            coalition = coalition | {player}
    return {p: x / len(orders) for p, x in phi.items()}


def test_shapley_values_match_the_permutation_definition_on_a_random_game() -> None:
    rng = random.Random(11)
    players = ["a", "b", "c", "d", "e"]
    table = {frozenset(s): rng.uniform(0, 10) for k in range(1, 6)
             for s in itertools.combinations(players, k)}
    table[frozenset()] = 0.0
    assert shapley_values(players, table.__getitem__) == pytest.approx(
        _permutation_shapley(players, table.__getitem__), abs=1e-9)


def test_shapley_from_journeys_matches_the_permutation_definition() -> None:
    journeys = random_journeys()
    cache: dict[frozenset[str], float] = {}

    def v(coalition: frozenset[str]) -> float:  # written from the definition, not the module
        if coalition not in cache:
            cache[coalition] = sum(j.value for j in journeys
                                   if j.converted and set(j.channels) <= coalition)
        return cache[coalition]

    oracle = _permutation_shapley(list(CHANNELS), v)
    assert shapley_from_journeys(journeys) == pytest.approx(oracle, abs=1e-9)
    assert shapley_values(CHANNELS, journey_game(journeys)) == pytest.approx(oracle, abs=1e-9)


def test_shapley_refuses_wide_journeys_and_too_many_players() -> None:
    wide = Journey("bot", tuple(f"c{i}" for i in range(5)), True)
    with pytest.raises(ValueError, match="max_channels=4 distinct channels.*'bot', 5"):
        shapley_from_journeys([wide], max_channels=4)
    assert shapley_from_journeys([wide], max_channels=None) == pytest.approx(
        {f"c{i}": 0.2 for i in range(5)})
    with pytest.raises(ValueError, match="max_players=3"):
        shapley_values("abcd", lambda s: float(len(s)), max_players=3)
    assert math.isclose(sum(shapley_values("abcd", lambda s: float(len(s) ** 2)).values()), 16)
