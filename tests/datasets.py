"""Real labelled data for tests, read where it lives: ``../shared/datasets`` beside the checkout
(or ``TINGFENG_SHARED_DIR``). The datasets' terms keep the files outside this repository, so
tests sample them at run time and skip, saying where to put them, when they are absent.
"""

from __future__ import annotations

import json
import os
import random
import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest

__all__ = ["SHARED", "dataset_rows", "sample_rows"]

REPO = Path(__file__).resolve().parents[1]


def _shared() -> Path:
    """TINGFENG_SHARED_DIR, else ``shared/`` beside the checkout, else the workplace's
    ``/work/shared`` (a clone made elsewhere, as CI makes them, still finds the data)."""
    if os.environ.get("TINGFENG_SHARED_DIR"):
        return Path(os.environ["TINGFENG_SHARED_DIR"])
    for candidate in (REPO.parent / "shared", Path("/work/shared")):
        if (candidate / "datasets").is_dir():
            return candidate
    return REPO.parent / "shared"


SHARED = _shared()
_HANDLE = re.compile(r"@([^\s:：@/，,。]{1,30})")


@cache
def dataset_rows(name: str) -> tuple[dict[str, Any], ...]:
    """Every row of ``datasets/sentiment/<name>``; skips the test when the file is absent."""
    path = SHARED / "datasets" / "sentiment" / name
    if not path.is_file():
        pytest.skip(f"needs the shared dataset {path} (set TINGFENG_SHARED_DIR to its parent)")
    return tuple(json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()
                 if line.strip())


def sample_rows(name: str, n: int, seed: int, *, anonymise: bool = True) -> list[dict[str, Any]]:
    """``n`` rows drawn with ``random.Random(seed)``; @handles become a consistent 用户N."""
    rows = list(dataset_rows(name))
    picked = random.Random(seed).sample(rows, min(n, len(rows)))
    if not anonymise:
        return [dict(r) for r in picked]
    names: dict[str, str] = {}

    def handle(m: re.Match[str]) -> str:
        return "@" + names.setdefault(m.group(1), f"用户{len(names) + 1}")

    return [{**r, "text": _HANDLE.sub(handle, str(r.get("text", "")))} for r in picked]


def adapt_posts() -> list[dict[str, Any]]:
    """2,000 real Weibo posts with their emoticons: every 20th row (rows 7, 27, 47, … counted
    from 1) of the shared weibo_polarity.train.jsonl, as the adapt tests store them."""
    return [dict(r) for r in dataset_rows("weibo_polarity.train.jsonl")[6::20][:2000]]
