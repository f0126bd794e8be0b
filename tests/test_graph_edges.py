"""`cascade_id, parent, child[, unix_time]` edge files and `tingfeng cascade stats`."""

from __future__ import annotations

import json

import pytest

from graph import edge_cascade_stats, read_edges
from scheduler.cli import main

EDGES = """cascade_id\tparent\tchild\tunix_time
star\t\thub\t0
star\thub\tx1\t3600
star\thub\tx2\t3600
star\thub\tx3\t7200
star\thub\tx4\t14400
chain\t\tp0\t100
chain\tp0\tp1\t200
chain\tp1\tp2\t300
"""


def test_shapes_and_velocity_per_cascade():
    recs = {r["cascade_id"]: r for r in edge_cascade_stats(read_edges(EDGES.splitlines()))}
    star, chain = recs["star"], recs["chain"]
    assert (star["size"], star["depth"], star["max_breadth"]) == (5, 1, 4)
    assert star["structural_virality"] == pytest.approx(2 * 4 / 5)
    assert star["velocity"]["reposts_per_hour"] == pytest.approx(1.0)
    assert star["velocity"]["hours_to_50pct"] == pytest.approx(1.0)
    assert chain["structural_virality"] == pytest.approx(4 / 3)  # path of 3: (3+1)/3
    assert "repairs" not in star


def test_untimed_file_has_no_velocity_and_root_rows_are_optional():
    recs = list(edge_cascade_stats(read_edges(["c\tr\ta", "c\ta\tb"])))
    assert recs == [{"cascade_id": "c", "size": 3, "depth": 2, "max_breadth": 1,
                     "structural_virality": pytest.approx(4 / 3)}]


def test_bad_rows_are_repaired_and_reported():
    lines = ["c\t\tr", "c\tr\ta", "c\tr\ta",        # duplicate edge
             "c\ta\tb", "c\tr\tb",                   # conflicting parent: first kept
             "c\tb\tb",                              # self-loop
             "c\tx\ty", "c\ty\tx",                   # a cycle off the tree
             "c\tq\tz",                              # q never attached: an orphan root
             "just one field", "d\t\t"]              # malformed
    F = read_edges(lines)
    rec = next(edge_cascade_stats(F))
    assert rec["repairs"] == {"duplicate_edges": 1, "conflicting_parents": 1, "self_loops": 1,
                              "missing_parents": 1, "cycles_broken": 1}
    assert rec["size"] == 7  # r a b x y q z
    assert F.stats["bad_lines"] == 2 and F.stats["bad_line_numbers"] == [10, 11]


def test_cascade_stats_command(tmp_path, capsys):
    path = tmp_path / "edges.tsv"
    path.write_text(EDGES, encoding="utf-8")
    assert main(["cascade", "stats", str(path)]) == 0
    out = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["cascade_id"] for r in out] == ["star", "chain"]
    assert set(out[0]) == {"cascade_id", "size", "depth", "max_breadth", "structural_virality",
                           "velocity"}


def test_cascade_stats_names_the_fix_for_a_missing_file(tmp_path, capsys):
    assert main(["cascade", "stats", str(tmp_path / "nope.tsv")]) == 2
    assert "tab-separated" in capsys.readouterr().err
