"""Attribution data kept between runs: touchpoints and conversions a user imported, merged into
one JSON-lines file each per campaign under ATTRIBUTION_DIR (duplicates dropped), and the full
report of every model (``scoring.attribution``) for a campaign or for files given directly.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from crawlers.errors import ConfigError
from scoring.attribution import (
    Conversion,
    Touchpoint,
    assist_report,
    build_journeys,
    first_touch,
    last_touch,
    linear,
    markov_attribution,
    read_conversions,
    read_touchpoints,
    shapley_from_journeys,
    time_decay,
    u_shaped,
    w_shaped,
)

__all__ = ["MODELS", "AttributionReport", "attribution_report", "campaign_dir", "import_files"]

MODELS = ("first", "last", "linear", "u_shaped", "w_shaped", "time_decay", "markov", "shapley")
_NAME = re.compile(r"^[\w\-\u4e00-\u9fff]{1,64}$")


def campaign_dir(root: str | Path, name: str) -> Path:
    if not _NAME.match(name):
        raise ConfigError(f"bad campaign name {name!r}: letters, digits, - and _ (≤ 64)")
    return Path(root).expanduser() / name


def _key(row: dict[str, Any]) -> tuple[Any, ...]:
    return (row["user"], row.get("channel"), row["time"])


def _merge(path: Path, rows: Iterable[dict[str, Any]]) -> tuple[int, int]:
    seen: dict[tuple[Any, ...], dict[str, Any]] = {}
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                old = json.loads(line)
                seen[_key(old)] = old
    before, added = len(seen), 0
    for row in rows:
        if _key(row) not in seen:
            seen[_key(row)] = row
            added += 1
    path.parent.mkdir(parents=True, exist_ok=True)
    # written beside and renamed: a killed import leaves the old file whole
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".import-", suffix=".jsonl")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        for row in sorted(seen.values(), key=lambda r: (r["time"], r["user"])):
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    os.replace(tmp, path)
    return added, before + added


def import_files(root: str | Path, name: str, *, touchpoints: str | None = None,
                 conversions: str | None = None, tz: str = "Asia/Shanghai") -> dict[str, Any]:
    """Read, check and merge the files into campaign ``name``. Returns counts and skip reasons."""
    folder = campaign_dir(root, name)
    out: dict[str, Any] = {}
    if touchpoints:
        tps, skipped = read_touchpoints(touchpoints, tz=tz)
        rows = [{"user": t.user, "channel": t.channel, "time": t.at.isoformat(),
                 **({"value": t.value} if t.value is not None else {})} for t in tps]
        added, total = _merge(folder / "touchpoints.jsonl", rows)
        out["touchpoints"] = {"read": len(tps), "added": added, "total": total,
                              "skipped": dict(skipped)}
    if conversions:
        cvs, skipped = read_conversions(conversions, tz=tz)
        rows = [{"user": c.user, "time": c.at.isoformat(), "value": c.value} for c in cvs]
        added, total = _merge(folder / "conversions.jsonl", rows)
        out["conversions"] = {"read": len(cvs), "added": added, "total": total,
                              "skipped": dict(skipped)}
    return out


@dataclass
class AttributionReport:
    """Credits per model and channel (each model sums to ``total_value``), the assist table,
    and what was read."""

    credits: dict[str, dict[str, float]]
    assists: dict[str, dict[str, Any]]
    journeys: int
    converting: int
    total_value: float
    lookback_days: float
    half_life_days: float
    skipped: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def attribution_report(touchpoints: list[Touchpoint], conversions: list[Conversion], *,
                       lookback: timedelta = timedelta(days=30),
                       half_life: timedelta = timedelta(days=7),
                       skipped: Counter[str] | None = None) -> AttributionReport:
    """Every model over the journeys the inputs make."""
    if not timedelta(days=1) <= lookback <= timedelta(days=90):
        raise ConfigError(f"--lookback {lookback.days}d is outside 1–90 days")
    journeys = build_journeys(touchpoints, conversions, lookback=lookback)
    credits = {
        "first": first_touch(journeys), "last": last_touch(journeys), "linear": linear(journeys),
        "u_shaped": u_shaped(journeys), "w_shaped": w_shaped(journeys),
        "time_decay": time_decay(journeys, half_life=half_life),
        "markov": markov_attribution(journeys), "shapley": shapley_from_journeys(journeys),
    }
    assists = {ch: {"assists": s.assists, "last_clicks": s.last_clicks, "ratio": s.ratio}
               for ch, s in assist_report(journeys).items()}
    converting = [j for j in journeys if j.converted]
    return AttributionReport(
        credits=credits, assists=assists, journeys=len(journeys), converting=len(converting),
        total_value=sum(j.value for j in converting), lookback_days=lookback.days,
        half_life_days=half_life.total_seconds() / 86400, skipped=dict(skipped or {}))
