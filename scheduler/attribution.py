"""Attribution data kept between runs: touchpoints and conversions a user imported, merged into
one JSON-lines file each per campaign under ATTRIBUTION_DIR (duplicates dropped), and the full
report of every model (``scoring.attribution``) for a campaign or for files given directly.

Touchpoints can also be derived from the store (``derive_from_store``): the campaign keeps its
channel map (``channels.jsonl``: which accounts stand for which channel), and derived rows carry
``source: derive:<topic>``, so deriving a window again replaces that window's derived rows
(a re-labelled account moves its touches) and never touches imported rows or other windows.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

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
from scoring.attribution.derive import ChannelMap, Derivation, derive_touchpoints

if TYPE_CHECKING:
    from collections.abc import Callable, Collection

    from crawlers.items import Post
    from crawlers.storage import Store

__all__ = [
    "MODELS", "AttributionReport", "attribution_report", "campaign_dir", "derive_from_store",
    "import_files", "load_channels", "save_channels", "store_derived",
]

MODELS = ("first", "last", "linear", "u_shaped", "w_shaped", "time_decay", "markov", "shapley")
_NAME = re.compile(r"^[\w\-\u4e00-\u9fff]{1,64}$")


def campaign_dir(root: str | Path, name: str) -> Path:
    if not _NAME.match(name):
        raise ConfigError(f"bad campaign name {name!r}: letters, digits, - and _ (≤ 64)")
    return Path(root).expanduser() / name


def _key(row: dict[str, Any]) -> tuple[Any, ...]:
    return (row["user"], row.get("channel"), row["time"])


def _merge(path: Path, rows: Iterable[dict[str, Any]]) -> tuple[int, int]:
    seen = {_key(old): old for old in _read(path)}
    before, added = len(seen), 0
    for row in rows:
        if _key(row) not in seen:
            seen[_key(row)] = row
            added += 1
    _write(path, sorted(seen.values(), key=lambda r: (r["time"], r["user"])))
    return added, before + added


def _read(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip()]


def _write(path: Path, rows: Iterable[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # written beside and renamed: a killed import leaves the old file whole
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".import-", suffix=".jsonl")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    os.replace(tmp, path)


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


# ------------------------------------------------------------------ touchpoints from the store


def save_channels(root: str | Path, name: str, channels: ChannelMap) -> Path:
    """Keep the campaign's channel map, replacing the one before; returns its path."""
    path = campaign_dir(root, name) / "channels.jsonl"
    _write(path, channels.rows())
    return path


def load_channels(root: str | Path, name: str) -> ChannelMap | None:
    """The channel map the campaign keeps, or None when it has none yet."""
    rows = _read(campaign_dir(root, name) / "channels.jsonl")
    if not rows:
        return None
    found = ChannelMap()
    for row in rows:
        found.accounts[row["platform"], row["account"]] = row["channel"]
        if row.get("name"):
            found.names[row["platform"], row["name"]] = row["account"]
    return found


def derive_from_store(store: Store, topic: str, channels: ChannelMap, *,
                      since: datetime | None, until: datetime | None,
                      platforms: Collection[str] = (),
                      is_conversion: Callable[[Post], bool] | None = None) -> Derivation:
    """Touchpoints of the topic's window (``scoring.attribution.derive``). Parents and roots
    outside the window are read by key, so a repost of last month's official post still finds
    its account; the channel accounts' stored screen names resolve ``//@name`` chains."""
    posts = [p for p in store.posts(topic=topic, since=since, until=until)
             if not platforms or p.platform in platforms]
    names = {(key[0], a.name): key[1]
             for key, a in store.authors(channels.accounts.keys()).items() if a.name}
    full = ChannelMap(dict(channels.accounts), {**names, **channels.names})
    return derive_touchpoints(posts, full, context=_context(store, posts),
                              is_conversion=is_conversion)


def _context(store: Store, posts: list[Post], rounds: int = 50) -> dict[tuple[str, str], Post]:
    """The parents and roots the window's posts point to but do not hold, level by level."""
    known = {p.key for p in posts}
    found: dict[tuple[str, str], Post] = {}
    frontier = _refs(posts) - known
    while frontier and rounds:
        fetched = store.get_posts(frontier)
        found.update(fetched)
        known |= frontier
        frontier = _refs(fetched.values()) - known
        rounds -= 1
    return found


def _refs(posts: Iterable[Post]) -> set[tuple[str, str]]:
    return {(p.platform, ref) for p in posts for ref in (p.parent_post_id, p.root_post_id)
            if ref}


def store_derived(root: str | Path, name: str, derived: Derivation, *, source: str,
                  since: datetime | None, until: datetime | None,
                  conversions: bool = False) -> dict[str, dict[str, int]]:
    """Write derived rows into the campaign: the rows of ``source`` in ``[since, until)`` are
    replaced by these (conversions too when ``conversions``); imported rows and other windows
    stay. Returns, per file, how many rows were removed, added and are there in all."""
    folder = campaign_dir(root, name)
    out = {"touchpoints": _replace(
        folder / "touchpoints.jsonl",
        [{"user": t.user, "channel": t.channel, "time": t.at.isoformat(), "source": source}
         for t in derived.touchpoints], source, since, until)}
    if conversions:
        out["conversions"] = _replace(
            folder / "conversions.jsonl",
            [{"user": c.user, "time": c.at.isoformat(), "value": c.value, "source": source}
             for c in derived.conversions], source, since, until)
    return out


def _replace(path: Path, rows: list[dict[str, Any]], source: str, since: datetime | None,
             until: datetime | None) -> dict[str, int]:
    def inside(row: dict[str, Any]) -> bool:
        at = datetime.fromisoformat(row["time"])
        return (since is None or at >= since) and (until is None or at < until)

    old = _read(path)
    kept = [r for r in old if not (r.get("source") == source and inside(r))]
    seen = {_key(r): r for r in kept}
    added = 0
    for row in rows:
        if _key(row) not in seen:
            seen[_key(row)] = row
            added += 1
    _write(path, sorted(seen.values(), key=lambda r: (r["time"], r["user"])))
    return {"removed": len(old) - len(kept), "added": added, "total": len(seen)}
