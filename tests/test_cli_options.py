"""One table of command-line options: the README holds exactly the generated table, every
option has a help text, and an option has the same default wherever it appears (the few
exceptions are listed with their reason)."""

from __future__ import annotations

from pathlib import Path

from scheduler.cli import build_parser
from scheduler.cli.options import BEGIN, END, _options, commands, options_table

README = Path(__file__).resolve().parents[1] / "README.md"
# (option, command) pairs whose default differs on purpose.
EXCEPTIONS = {
    ("--since", "tingfeng crawl"): "collects back to the platform's limit unless bounded",
    ("--since", "tingfeng sentiment rescore"): "rescoring is over every stored post",
    ("--since", "tingfeng alert precision"): "a precision needs a month of reviews",
    ("--topic", "tingfeng demo"): "the demo's own topic",
    ("--platforms", "tingfeng demo"): "the demo runs every platform",
    ("--baseline", "tingfeng sentiment score"): "names the baseline model to use",
    ("--format", "tingfeng graph export"): "export has no default format: it is required",
    ("--store", "tingfeng"): "global options live on the top parser",
    ("--verbose", "tingfeng"): "global options live on the top parser",
}


def test_the_readme_holds_exactly_the_generated_options_table():
    text = README.read_text(encoding="utf-8")
    assert BEGIN in text and END in text, "add the table: python -m scheduler.cli.options"
    current = text[text.index(BEGIN): text.index(END) + len(END)]
    assert current == options_table(), "stale README table: python -m scheduler.cli.options"


def test_every_option_has_help_and_one_default_everywhere():
    defaults: dict[str, dict[str, list[str]]] = {}
    for path, parser in commands(build_parser()):
        for action in _options(parser):
            name = max(action.option_strings, key=len)
            assert action.help, f"{path} {name} has no help text"
            if (name, path) not in EXCEPTIONS:
                defaults.setdefault(name, {}).setdefault(repr(action.default), []).append(path)
    differing = {name: seen for name, seen in defaults.items() if len(seen) > 1}
    assert differing == {}


def test_help_texts_print_no_doubled_percent_signs(capsys):
    for path, parser in commands(build_parser()):
        assert "%%" not in parser.format_help(), path


def test_every_command_shows_its_own_example():
    import argparse

    for path, parser in commands(build_parser()):
        leaf = not any(isinstance(a, argparse._SubParsersAction) for a in parser._actions)
        if leaf and path != "tingfeng":
            assert f"  {path}" in (parser.epilog or ""), f"{path} --help has no example of itself"
            others = [line for line in (parser.epilog or "").splitlines()
                      if line.startswith("  tingfeng ") and not line.startswith(f"  {path}")
                      and not line.startswith("      ")]
            assert len(others) <= 2, f"{path} --help repeats other commands' examples: {others}"
