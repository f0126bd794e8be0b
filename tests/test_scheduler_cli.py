"""The `tingfeng` command: help, `parse` over every fixture of every platform, error messages."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scheduler.cli import build_parser, main

FIXTURES = Path(__file__).resolve().parent / "fixtures"
PLATFORMS = ("weibo", "wechat", "zhihu", "forum")


def _fixture_files() -> list[tuple[str, Path]]:
    out = []
    for slug in PLATFORMS:
        folder = FIXTURES / slug
        if folder.is_dir():
            out += [
                (slug, p)
                for p in sorted(folder.iterdir())
                if p.name != "manifest.json" and p.is_file()
            ]
    return out


def test_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    for command in ("crawl", "parse", "demo"):
        assert command in out


def test_every_subcommand_has_help_with_a_description() -> None:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    for name, p in sub.choices.items():  # type: ignore[union-attr]
        assert p.description, f"`tingfeng {name}` has no description"


@pytest.mark.parametrize(("slug", "path"), _fixture_files(), ids=lambda v: getattr(v, "name", v))
def test_parse_handles_every_fixture(
    slug: str, path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every saved response parses to items, or is reported as a platform error — never a crash."""
    extra = ["--context", "post_id=4900000000000102"] if "longtext" in path.name else []
    code = main(["parse", slug, str(path), "--now", "2026-11-20T12:00:00+08:00", *extra])
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert code in (0, 1)
    if code == 1:
        assert len(lines) == 1 and lines[0]["type"] == "error" and lines[0]["message"]
    else:
        assert all(obj["type"] in ("post", "author") for obj in lines)
        for obj in lines:
            key = "post_id" if obj["type"] == "post" else "author_id"
            assert obj["platform"] == slug and obj[key]
    if path.name.startswith("error-"):
        # An error answer is reported as one, or (Weibo's ok:0 "这里还没有内容") is the end of data.
        assert code == 1 or lines == [], (
            f"{path.name} is a recorded error response but parsed as data"
        )


def test_parse_names_the_known_endpoints_for_a_wrong_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    f = FIXTURES / "weibo" / "m.weibo.cn-comments-hotflow.json"
    assert main(["parse", "weibo", str(f), "--endpoint", "nope"]) == 2
    err = capsys.readouterr().err
    assert "unknown endpoint 'nope'" in err and "comments" in err


def test_parse_missing_file_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["parse", "weibo", "/nonexistent/x.json"]) == 2
    assert "no such file" in capsys.readouterr().err


def test_crawl_without_keywords_says_what_to_give(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["crawl", "weibo"]) == 2
    assert "--keyword" in capsys.readouterr().err


def test_bad_since_names_the_accepted_forms(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["crawl", "weibo", "--keyword", "x", "--since", "last week"]) == 2
    assert "7d" in capsys.readouterr().err


# -- sentiment adapt / train-abuse ----------------------------------------------------------------


def _tiny_corpora(folder: Path) -> Path:
    from tests.test_scoring_training import _write_corpora

    folder.mkdir()
    _write_corpora(folder)
    return folder


def _store_uri(tmp_path: Path, texts: list[str]) -> str:
    from crawlers.items import Post
    from crawlers.storage import open_store

    uri = f"sqlite:///{tmp_path / 'store.db'}"
    with open_store(uri) as store:
        store.upsert_posts([Post("weibo", str(i), text=t, topics=["A" if i % 4 else "B"],
                                 kind="comment" if i % 3 == 0 else "original")
                            for i, t in enumerate(texts)])
    return uri


def test_sentiment_adapt_then_rescore_is_incremental(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.datasets import adapt_posts

    texts = [row["text"] for row in adapt_posts()]
    uri, data, out = _store_uri(tmp_path, texts), _tiny_corpora(tmp_path / "data"), tmp_path / "m"
    assert main(["--store", uri, "sentiment", "rescore"]) == 0  # scored by the shipped model
    capsys.readouterr()
    assert main(["--store", uri, "sentiment", "adapt", "--topic", "A", "--data", str(data),
                 "--out", str(out), "--min-confidence", "0.95"]) == 0
    printed = capsys.readouterr().out
    assert "store: 1,500 posts" in printed and "confidence >= 0.95" in printed
    curve = printed.split("learning curve", 1)[1].splitlines()[1:5]
    assert [line.split()[0] for line in curve] == ["10%", "25%", "50%", "100%"]
    meta = json.loads((out / "tingfeng-sentiment.json").read_text(encoding="utf-8"))
    assert f"model {meta['version']} written to {out}" in printed
    assert "SENTIMENT_MODEL_PATH=" in printed and "before" in printed and "after" in printed
    model = str(out / "tingfeng-sentiment.json")
    assert main(["--store", uri, "sentiment", "rescore", "--model", model]) == 0
    assert f"posts scored: 2000 (model {meta['version']})" in capsys.readouterr().out
    assert main(["--store", uri, "sentiment", "rescore", "--model", model]) == 0
    assert "posts scored: 0" in capsys.readouterr().out


@pytest.mark.parametrize(("texts", "extra", "message"), [
    ([], [], "no posts in the store to adapt to: crawl first"),
    (["今天去了一家新开的店"] * 5 + [f"第{i}次排队" for i in range(50)], [],
     "only 0 of 55 stored posts carry a polarity emoticon"),
    (["好[哈哈]"], ["--min-confidence", "0.3"], "--min-confidence 0.3: give a probability"),
    (["好[哈哈]"], ["--out", "SHIPPED"], "never overwrites"),
    (["好[哈哈]"], ["--topic", "nope"], "no posts in topic 'nope' to adapt to"),
])
def test_sentiment_adapt_bad_inputs_are_one_line_errors_naming_the_fix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], texts: list[str], extra: list[str],
    message: str,
) -> None:
    from scoring.sentiment import DEFAULT_MODEL_PATH

    uri, data = _store_uri(tmp_path, texts), _tiny_corpora(tmp_path / "data")
    extra = [str(DEFAULT_MODEL_PATH.parent) if a == "SHIPPED" else a for a in extra]
    args = ["--store", uri, "sentiment", "adapt", "--data", str(data), "--out",
            str(tmp_path / "m"), *extra]  # a second --out wins
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("tingfeng: error: ") and message in err
    assert not (tmp_path / "m").exists()


def test_sentiment_train_abuse_prints_model_and_word_list_figures(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data, out = _tiny_corpora(tmp_path / "data"), tmp_path / "abuse"
    assert main(["sentiment", "train-abuse", "--data", str(data), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    meta = json.loads((out / "tingfeng-abuse.json").read_text(encoding="utf-8"))
    assert f"model {meta['version']} written to {out}" in printed
    rows = {line.split("  ")[1].strip(): line.split()[-3:] for line in printed.splitlines()
            if line.startswith("  ")}
    assert set(rows) == {"model", "abuse word list"}
    assert float(rows["model"][2]) > 0.9  # F1 on the tiny corpus's perfectly telling words
