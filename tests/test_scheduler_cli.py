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
