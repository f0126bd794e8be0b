"""The README stays true: every setting is documented, every platform has fixtures and a row,
and CI runs the README's test command (sqlite-utils' tests/test_docs.py habit)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
README = (REPO / "README.md").read_text(encoding="utf-8")


def _settings_names() -> list[str]:
    tree = ast.parse((REPO / "crawlers" / "settings.py").read_text(encoding="utf-8"))
    names = []
    for node in tree.body:
        targets = (
            node.targets
            if isinstance(node, ast.Assign)
            else [node.target]
            if isinstance(node, ast.AnnAssign)
            else []
        )
        names += [t.id for t in targets if isinstance(t, ast.Name) and t.id.isupper()]
    return names


@pytest.mark.parametrize("name", _settings_names())
def test_every_setting_is_in_the_readme_table(name: str) -> None:
    assert re.search(rf"^\| `{name}` \|", README, re.M), (
        f"add a row for {name} to the README settings table"
    )


def _platforms() -> list[str]:
    spiders = REPO / "crawlers" / "spiders"
    mods = [p.stem for p in spiders.glob("*.py")] + [
        p.name for p in spiders.iterdir() if (p / "__init__.py").exists()
    ]
    return sorted(m for m in mods if m not in {"__init__", "base"})


@pytest.mark.parametrize("slug", _platforms())
def test_every_platform_has_fixtures_tests_and_a_readme_row(slug: str) -> None:
    assert (REPO / "tests" / "fixtures" / slug / "manifest.json").is_file()
    assert (REPO / "tests" / f"test_spiders_{slug}.py").is_file()
    assert re.search(rf"^\| `{slug}` \|", README, re.M), f"add {slug} to the README platform table"


def test_ci_runs_the_readme_test_command() -> None:
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert "python -m pytest" in ci and "python -m pytest" in README
    assert "tingfeng demo" in README
