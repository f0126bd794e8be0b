"""``tingfeng attribution``: import merges and counts bad rows; report gives every model on the
published Markov example (ads 2.4 / mail 1.6)."""

from __future__ import annotations

import json

import pytest

from scheduler.cli import main

TOUCHES = """user,channel,time
u1,ads,2026-11-01T10:00:00
u2,ads,2026-11-01T10:00:00
u3,mail,2026-11-01T10:00:00
u4,ads,2026-11-01T10:00:00
u4,mail,2026-11-02T10:00:00
u5,ads,2026-11-01T10:00:00
,ads,2026-11-01T10:00:00
u6,=HYPERLINK("x"),not-a-time
"""
CONVERSIONS = """user,time,value
u1,2026-11-03T10:00:00,1
u2,2026-11-03T10:00:00,
u3,2026-11-03T10:00:00,1
u4,2026-11-03T10:00:00,1
u9,2026-11-03T10:00:00,-5
"""


@pytest.fixture
def files(tmp_path, monkeypatch):
    monkeypatch.setattr("crawlers.settings.ATTRIBUTION_DIR", str(tmp_path / "attribution"))
    (tmp_path / "t.csv").write_text(TOUCHES, encoding="utf-8")
    (tmp_path / "c.csv").write_text(CONVERSIONS, encoding="utf-8")
    return tmp_path


def test_import_merges_without_double_counting_and_names_skipped_rows(files, capsys):
    args = ["attribution", "import", "--campaign", "双11", "--touchpoints",
            str(files / "t.csv"), "--conversions", str(files / "c.csv")]
    assert main(args) == 0
    err = capsys.readouterr().err
    assert "touchpoints: read 6, new 6, campaign total 6" in err
    assert "missing_user 1" in err and "bad_time 1" in err and "bad_value 1" in err
    assert main(args) == 0
    assert "new 0, campaign total 6" in capsys.readouterr().err


def test_report_reproduces_the_markov_example_and_sums_every_model(files, capsys):
    main(["attribution", "import", "--campaign", "c1", "--touchpoints", str(files / "t.csv"),
          "--conversions", str(files / "c.csv")])
    capsys.readouterr()
    assert main(["attribution", "report", "--campaign", "c1", "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["converting"] == 4 and report["total_value"] == 4
    markov = report["credits"]["markov"]
    assert markov["ads"] == pytest.approx(2.4) and markov["mail"] == pytest.approx(1.6)
    for model, credits in report["credits"].items():
        assert sum(credits.values()) == pytest.approx(4), model
    assert report["assists"]["ads"]["assists"] == 1  # u4: ads before the closing mail


def test_report_from_files_as_table_and_csv(files, capsys):
    args = ["attribution", "report", "--touchpoints", str(files / "t.csv"), "--conversions",
            str(files / "c.csv")]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "4 次转化" in out and "马尔可夫" in out and "ads" in out  # the readers' wording
    assert main([*args, "--format", "csv"]) == 0
    rows = capsys.readouterr().out.splitlines()
    assert rows[0].startswith("channel,first,last,linear")


def test_errors_are_one_line_and_name_the_fix(files, capsys):
    assert main(["attribution", "report", "--campaign", "nope"]) != 0
    assert "tingfeng attribution import --campaign nope" in capsys.readouterr().err
    assert main(["attribution", "report", "--touchpoints", str(files / "t.csv"),
                 "--conversions", str(files / "c.csv"), "--lookback", "120d"]) != 0
    assert "outside 1–90 days" in capsys.readouterr().err
    assert main(["attribution", "import", "--campaign", "a/b", "--touchpoints",
                 str(files / "t.csv")]) != 0
    assert "bad campaign name" in capsys.readouterr().err
