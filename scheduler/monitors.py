"""Monitors as user data: validation, store helpers, schedules, and TOML import/export.

Monitors live in the store (``crawlers.items.Monitor``); TOML is for version control. Reading
uses ``tomllib``; writing uses the small writer below (the standard library has none). Every
error is a ConfigError whose message names the fix.
"""

from __future__ import annotations

import dataclasses
import math
import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from crawlers.errors import ConfigError
from crawlers.items import Monitor
from scheduler.query import QueryError, parse_query

if TYPE_CHECKING:
    from apscheduler.triggers.base import BaseTrigger

    from crawlers.storage import Store

__all__ = [
    "PLATFORMS",
    "TEXT_SETTINGS",
    "THRESHOLD_SETTINGS",
    "add_monitor",
    "dump_toml",
    "effective_settings",
    "export_toml",
    "format_every",
    "import_toml",
    "in_quiet_hours",
    "make_trigger",
    "monitor_history",
    "monitor_window",
    "parse_every",
    "parse_quiet_hours",
    "parse_source",
    "parse_threshold",
    "require_monitor",
    "schedule_period",
    "schedule_text",
    "validate_monitor",
]

PLATFORMS = ("weibo", "wechat", "zhihu", "forum")
# Settings a monitor may override for itself (``--threshold NAME=VALUE``; ``off`` disables).
THRESHOLD_SETTINGS = (
    "ALERT_NEGATIVE_RATIO", "ALERT_SPIKE_PVALUE", "ALERT_MIN_VOLUME", "ALERT_MIN_RATIO",
    "ALERT_VOLUME_GROWTH", "ALERT_RISK_HITS", "ALERT_HEAD_JOINED", "ALERT_CRAWL_FAILURES",
    "ALERT_COOLDOWN", "MONITOR_WINDOW", "MONITOR_LOOKBACK", "ALERT_ESCALATE_RUNS",
    "ALERT_QUIET_HOURS", "ALERT_ESCALATE_TO", "ALERT_REGION_GROWTH", "ALERT_REGION_MIN",
    "ALERT_DIVERGENCE_RISE", "ALERT_EXCLUDE_WATERARMY",
)
# Per-monitor settings whose values are text, each with its checker.
TEXT_SETTINGS = ("ALERT_QUIET_HOURS", "ALERT_ESCALATE_TO")
MIN_EVERY = 60  # seconds; platforms punish anything more eager, and crawls take longer anyway
_NAME = re.compile(r"^[^\s:/\\\x00-\x1f\x7f][^:/\\\x00-\x1f\x7f]{0,63}$")
_EMAIL = re.compile(r"^[^@\s<>,;\"'\x00-\x1f]+@[A-Za-z0-9\-]+(\.[A-Za-z0-9\-]+)+$")
_CRON_FIELDS = ("minute", "hour", "day", "month", "day_of_week")
_WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat", "sun")


# -- parsing option values -------------------------------------------------------------------
def parse_every(text: str | int) -> int:
    """'30m', '2h', '1d' or a number of seconds → seconds (at least one minute).

    >>> parse_every("30m"), parse_every(7200)
    (1800, 7200)
    """
    from scheduler.cli.common import parse_duration

    seconds = int(text) if isinstance(text, int) else int(parse_duration(str(text)).total_seconds())
    if seconds < MIN_EVERY:
        raise ConfigError(f"--every {text!r} is too often: use at least 1m (platforms rate-limit "
                          "eager crawlers)")
    return seconds


def format_every(seconds: int) -> str:
    """7200 → '2h', 90 → '90s': the largest unit that divides exactly.

    >>> format_every(1800), format_every(86400), format_every(90)
    ('30m', '1d', '90s')
    """
    for unit, size in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def parse_threshold(text: str) -> tuple[str, float | str]:
    """'ALERT_NEGATIVE_RATIO=0.5' → ('ALERT_NEGATIVE_RATIO', 0.5); a value of ``off`` disables.

    >>> parse_threshold("ALERT_MIN_VOLUME=50"), parse_threshold("ALERT_RISK_HITS=off")
    (('ALERT_MIN_VOLUME', 50.0), ('ALERT_RISK_HITS', 'off'))
    """
    name, sep, raw = text.partition("=")
    name = name.strip().upper()
    if not sep:
        raise ConfigError(f"bad --threshold {text!r}: use NAME=VALUE, "
                          "e.g. ALERT_NEGATIVE_RATIO=0.5")
    return name, _threshold_value(name, raw.strip())


def _threshold_value(name: str, raw: Any) -> float | str:
    if name not in THRESHOLD_SETTINGS:
        raise ConfigError(f"unknown threshold {name!r}; known: {', '.join(THRESHOLD_SETTINGS)}")
    if isinstance(raw, str) and raw.lower() == "off":
        return "off"
    if name == "ALERT_QUIET_HOURS":
        parse_quiet_hours(str(raw))
        return str(raw).strip()
    if name == "ALERT_ESCALATE_TO":
        from scheduler.notify.channels import check_recipient

        return ",".join(check_recipient(r) for r in str(raw).split(",") if r.strip())
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise ConfigError(f"threshold {name}={raw!r} is not a number (or 'off')") from None
    if math.isnan(value) or value < 0:
        raise ConfigError(f"threshold {name}={raw!r} must be a number >= 0 (or 'off')")
    low, high, why = _THRESHOLD_RANGES.get(name, (0.0, math.inf, ""))
    if not low <= value <= high:
        raise ConfigError(f"threshold {name}={raw!r} can never fire: {why}")
    return value


def parse_quiet_hours(text: str) -> tuple[int, int] | None:
    """'22:00-08:00' → minutes of the day (1320, 480); '' → None. The range may wrap midnight.

    >>> parse_quiet_hours("22:00-08:00"), parse_quiet_hours("12:30-13:30"), parse_quiet_hours("")
    ((1320, 480), (750, 810), None)
    """
    text = (text or "").strip()
    if not text:
        return None
    m = re.fullmatch(r"(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})", text)
    if not m or int(m[1]) > 23 or int(m[3]) > 23 or int(m[2]) > 59 or int(m[4]) > 59:
        raise ConfigError(f"bad quiet hours {text!r}: use HH:MM-HH:MM in MONITOR_TIMEZONE, "
                          "e.g. 22:00-08:00")
    start, end = int(m[1]) * 60 + int(m[2]), int(m[3]) * 60 + int(m[4])
    if start == end:
        raise ConfigError(f"quiet hours {text!r} are empty: start and end are the same")
    return start, end


def in_quiet_hours(text: str, moment: datetime, timezone: str) -> bool:
    """Whether ``moment`` falls in the quiet hours ``text`` (local time of ``timezone``).

    >>> from datetime import UTC
    >>> in_quiet_hours("22:00-08:00", datetime(2026, 1, 1, 15, 0, tzinfo=UTC), "Asia/Shanghai")
    True
    """
    bounds = parse_quiet_hours(text)
    if bounds is None:
        return False
    local = moment.astimezone(ZoneInfo(timezone or "Asia/Shanghai"))
    minute = local.hour * 60 + local.minute
    start, end = bounds
    return start <= minute < end if start < end else (minute >= start or minute < end)


# Ranges outside which a threshold can never fire (or always fires).
_THRESHOLD_RANGES: dict[str, tuple[float, float, str]] = {
    "ALERT_NEGATIVE_RATIO": (0.0, 1.0, "it is a share of posts, between 0 and 1 (e.g. 0.6)"),
    "ALERT_SPIKE_PVALUE": (1e-12, 0.5, "it is a p-value, above 0 and at most 0.5 (e.g. 0.01)"),
    "ALERT_MIN_RATIO": (1.0, 1e6, "it is a ratio to the baseline, at least 1 (e.g. 2)"),
    "ALERT_VOLUME_GROWTH": (1.0, 1e6, "it is a growth factor, at least 1 (e.g. 3)"),
    "ALERT_REGION_GROWTH": (1.0, 1e6, "it is a growth factor, at least 1 (e.g. 3)"),
    "ALERT_EXCLUDE_WATERARMY": (0.01, 1.0, "it is a suspicion score above 0, at most 1 (e.g. 0.8)"),
}


# -- schedules -------------------------------------------------------------------------------
def _crontab_weekdays(field: str) -> str:
    """Standard crontab weekday numbers (0 or 7 = Sunday) as names, because APScheduler 3.x
    counts 0 as Monday (its issue #286); '1-5' becomes 'mon,tue,wed,thu,fri'."""
    out = []
    for item in field.split(","):
        m = re.fullmatch(r"(\*|\d+)(?:-(\d+))?(?:/(\d+))?", item)
        if not m:
            out.append(item)  # names (mon-fri) and anything odd: APScheduler validates them
            continue
        first = 0 if m[1] == "*" else int(m[1])
        last = 6 if m[1] == "*" else int(m[2] or (first if not m[3] else 6))
        if first > 7 or last > 7:
            raise ValueError(f"weekday {item!r} is out of range 0-7")
        days = [_WEEKDAYS[d] for d in range(first, last + 1, int(m[3] or 1))]
        if not days:
            raise ValueError(f"weekday range {item!r} is empty: write the smaller day first")
        out += days
    return ",".join(dict.fromkeys(out))


def make_trigger(monitor: Monitor, timezone: str = "Asia/Shanghai") -> BaseTrigger:
    """The APScheduler trigger for a monitor: IntervalTrigger for ``every`` (anchored at
    ``created_at``), CronTrigger for ``cron`` (read with standard crontab weekday numbers)."""
    from apscheduler.triggers.cron import CronTrigger
    from apscheduler.triggers.interval import IntervalTrigger

    if monitor.cron:
        fields = monitor.cron.split()
        if len(fields) == 5 and fields[4] != "*":
            fields[4] = _crontab_weekdays(fields[4])
        return CronTrigger.from_crontab(" ".join(fields), timezone=timezone)
    if monitor.every:
        # Anchored at the monitor's creation, so fire times do not depend on when the service
        # (re)started: every 30m from 10:07 stays :07 and :37.
        return IntervalTrigger(seconds=monitor.every, start_date=monitor.created_at,
                               timezone=timezone)
    raise ConfigError(f"monitor {monitor.name!r} has no schedule: set --every 30m or --cron EXPR")


def schedule_text(monitor: Monitor) -> str:
    """'every 30m' or 'cron 0 */2 * * *' (also what tells the sync job a schedule changed)."""
    return f"cron {monitor.cron}" if monitor.cron else f"every {format_every(monitor.every or 0)}"


def schedule_period(monitor: Monitor, now: datetime, timezone: str = "Asia/Shanghai") -> timedelta:
    """The time between two runs: ``every``, or the gap between a cron's next two fire times."""
    if monitor.every:
        return timedelta(seconds=monitor.every)
    trigger = make_trigger(monitor, timezone)
    first = trigger.get_next_fire_time(None, now)
    second = trigger.get_next_fire_time(first, first + timedelta(microseconds=1)) if first else None
    return (second - first) if first and second else timedelta(hours=1)


def _check_cron(expr: str, timezone: str) -> None:
    from apscheduler.triggers.cron import CronTrigger

    fields = expr.split()
    if len(fields) != 5:
        raise ConfigError(f"bad --cron {expr!r}: it needs 5 fields (minute hour day month "
                          f"weekday), got {len(fields)}; e.g. '0 */2 * * *' for every two hours")
    for name, value in zip(_CRON_FIELDS, fields, strict=True):
        try:
            CronTrigger(**{name: _crontab_weekdays(value) if name == "day_of_week" else value},
                        timezone=timezone)
        except ValueError as exc:
            label = "weekday" if name == "day_of_week" else name
            raise ConfigError(f"bad --cron {expr!r}: the {label} field {value!r} is wrong "
                              f"({exc})") from None


# -- validation ------------------------------------------------------------------------------
def validate_monitor(monitor: Monitor, *, platforms: Iterable[str] = PLATFORMS,
                     max_keywords: int = 16, timezone: str = "Asia/Shanghai") -> Monitor:
    """Check every field; returns the monitor with platforms, recipients and thresholds tidied.

    :raises ConfigError: naming the field and the fix.
    """
    known = tuple(platforms)
    if not _NAME.match(monitor.name or ""):
        raise ConfigError(f"bad monitor name {monitor.name!r}: 1-64 characters, no ':', '/', '\\' "
                          "or control characters, not starting with a space")
    try:
        parse_query(monitor.query).keywords(max_keywords)
    except QueryError as exc:
        raise ConfigError(f"bad --query: {exc}") from None
    chosen = list(dict.fromkeys(p.strip().lower() for p in monitor.platforms if p.strip()))
    unknown = [p for p in chosen if p not in known]
    sources = list(dict.fromkeys(s.strip() for s in monitor.sources if s.strip()))
    for source in sources:
        parse_source(source)
    if unknown or not (chosen or sources):
        what = f"unknown platform {unknown[0]!r}" if unknown else "no platforms or sources"
        raise ConfigError(f"{what}: use --platforms with some of {', '.join(known)} "
                          "and/or --source feed:URL | discuz:URL?fid=N | site:NAME")
    if bool(monitor.every) == bool(monitor.cron):
        raise ConfigError("give exactly one schedule: --every 30m or --cron '0 */2 * * *'")
    if monitor.every is not None and monitor.every < MIN_EVERY:
        raise ConfigError(f"every {monitor.every}s is too often: use at least {MIN_EVERY}s (1m)")
    if monitor.cron:
        _check_cron(monitor.cron, timezone)
    recipients = list(dict.fromkeys(r.strip() for r in monitor.recipients if r.strip()))
    from scheduler.notify.channels import check_recipient, is_email

    for address in recipients:
        if not is_email(address):
            check_recipient(address)  # a chat robot or webhook; refuses literal secrets
        elif not _EMAIL.match(address.removeprefix("mailto:")):
            raise ConfigError(f"bad email {address!r}: use a plain address like pr@example.com")
    thresholds = {str(k).upper(): _threshold_value(str(k).upper(), v)
                  for k, v in monitor.thresholds.items()}
    return dataclasses.replace(monitor, platforms=chosen, recipients=recipients,
                               thresholds=thresholds, sources=sources)


SOURCE_KINDS = ("feed", "discuz", "discuz-api", "site")


def parse_source(text: str) -> dict[str, str]:
    """A monitor source as forum-spider arguments: ``feed:URL`` (RSS/Atom), ``discuz:URL?fid=N``
    (a Discuz! X board; ``discuz-api:`` reads its mobile API), ``site:NAME[?fid=N]`` (a known
    forum row of crawlers/spiders/forum/sites.py).

    >>> parse_source("feed:https://example.com/rss.xml")
    {'feed': 'https://example.com/rss.xml'}
    >>> parse_source("discuz-api:https://bbs.example.com/?fid=2,36")
    {'discuz': 'https://bbs.example.com/', 'fid': '2,36', 'api': '1'}
    """
    from urllib.parse import parse_qs, urlsplit, urlunsplit

    kind, sep, rest = text.strip().partition(":")
    kind = kind.lower()
    if not sep or kind not in SOURCE_KINDS or not rest.strip():
        raise ConfigError(f"bad source {text!r}: use feed:https://…/rss, "
                          "discuz:https://bbs.example.com/?fid=2 or site:NAME")
    if kind == "site":
        name, _, query = rest.partition("?")
        from crawlers.spiders.forum.sites import SITES

        if name not in SITES:
            raise ConfigError(f"unknown forum site {name!r}; known: {', '.join(SITES)}")
        out = {"site": name}
        fid = parse_qs(query).get("fid")
        return {**out, "fid": fid[0]} if fid else out
    parts = urlsplit(rest.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"bad source {text!r}: the address must be http(s)://host/…")
    if kind == "feed":
        return {"feed": rest.strip()}
    fid = parse_qs(parts.query).get("fid")
    if not fid:
        raise ConfigError(f"source {text!r} names no board: add ?fid=<board id>[,<board id>] "
                          "(the fid= of its forumdisplay URL)")
    base = urlunsplit(parts._replace(query="", fragment=""))
    out = {"discuz": base if base.endswith("/") else base + "/", "fid": fid[0]}
    return {**out, "api": "1"} if kind == "discuz-api" else out


def source_label(text: str) -> str:
    """A source as shown to people: its kind and host (``论坛 bbs.example.com``)."""
    from urllib.parse import urlsplit

    args = parse_source(text)
    host = urlsplit(args.get("feed") or args.get("discuz") or "").hostname
    kind = {"feed": "RSS", "discuz": "Discuz!", "site": "论坛"}[
        "feed" if "feed" in args else "discuz" if "discuz" in args else "site"]
    return f"{kind} {host or args.get('site', '')}"


# -- store helpers ---------------------------------------------------------------------------
def require_monitor(store: Store, name: str) -> Monitor:
    """The stored monitor ``name``, or a ConfigError listing the known names."""
    monitor = store.get_monitor(name)
    if monitor is None:
        names = ", ".join(m.name for m in store.monitors()) or "none yet"
        raise ConfigError(f"no monitor named {name!r} (known: {names}); "
                          "create it with `tingfeng monitor add`")
    return monitor


def add_monitor(store: Store, monitor: Monitor, *, now: datetime, replace: bool = False,
                **validate: Any) -> Monitor:
    """Validate and save a new monitor (or replace one, keeping its history fields)."""
    monitor = validate_monitor(monitor, **validate)
    existing = store.get_monitor(monitor.name)
    if existing and not replace:
        raise ConfigError(f"monitor {monitor.name!r} already exists: change it with "
                          f"`tingfeng monitor edit {monitor.name}`")
    monitor = dataclasses.replace(
        monitor, created_at=existing.created_at if existing else now, updated_at=now,
        last_run_at=existing.last_run_at if existing else None,
        collected_until=existing.collected_until if existing else None)
    store.save_monitor(monitor)
    return monitor


# -- run configuration ---------------------------------------------------------------------
def effective_settings(settings: Any, overrides: Mapping[str, Any]) -> dict[str, Any]:
    """ALERT_* and MONITOR_* settings with a monitor's overrides on top ("off" unsets)."""
    conf = {k: settings.get(k) for k in settings if k.startswith(("ALERT_", "MONITOR_"))}
    conf.update(overrides)
    return {k: v for k, v in conf.items() if v is not None and v != "off"}


def monitor_window(monitor: Monitor, conf: Mapping[str, Any], now: datetime) -> timedelta:
    """The analysis window: MONITOR_WINDOW, widened to the schedule's period so no post falls
    between two windows."""
    base = timedelta(seconds=float(conf.get("MONITOR_WINDOW") or 3600))
    tz = str(conf.get("MONITOR_TIMEZONE") or "Asia/Shanghai")
    return max(base, schedule_period(monitor, now, tz))


def monitor_history(store: Store, name: str, now: datetime,
                    conf: Mapping[str, Any]) -> list[dict[str, float]]:
    """Snapshots of the monitor's past finished runs (ALERT_HISTORY_WEEKS back), oldest first."""
    weeks = float(conf.get("ALERT_HISTORY_WEEKS") or 4)
    runs = store.runs(topic=name, kind="monitor", since=now - timedelta(weeks=weeks, hours=1))
    out = []
    for run in runs:
        stats = {k: float(v) for k, v in run.stats.items()
                 if isinstance(v, (int, float)) and not isinstance(v, bool)}
        ended = stats.get("window/end", now.timestamp())
        if run.finish_reason == "finished" and ended < now.timestamp():
            out.append(stats)
    return out


# -- TOML ------------------------------------------------------------------------------------
_TOML_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f",
                 "\r": "\\r"}
_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def _toml_str(text: str) -> str:
    return '"' + "".join(
        _TOML_ESCAPES.get(c) or (f"\\u{ord(c):04x}" if ord(c) < 0x20 or ord(c) == 0x7F else c)
        for c in text) + '"'


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else ("nan" if math.isnan(value) else
                                                           ("inf" if value > 0 else "-inf"))
    if isinstance(value, str):
        return _toml_str(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, Mapping):
        pairs = ", ".join(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items())
        return "{ " + pairs + " }"
    raise TypeError(f"cannot write {type(value).__name__} to TOML")


def _toml_key(key: str) -> str:
    return key if _BARE_KEY.match(key) else _toml_str(key)


def dump_toml(tables: Mapping[str, Sequence[Mapping[str, Any]]], header: str = "") -> str:
    """Arrays of tables (``[[name]]``) of scalars, lists and inline tables, as TOML text."""
    lines = [f"# {line}" if line else "#" for line in header.splitlines()]
    for name, rows in tables.items():
        for row in rows:
            lines += ["", f"[[{_toml_key(name)}]]"]
            lines += [f"{_toml_key(k)} = {_toml_value(v)}" for k, v in row.items() if v is not None]
    return "\n".join(lines).lstrip("\n") + "\n"


def export_toml(monitors: Iterable[Monitor]) -> str:
    """Monitors as TOML (definitions only; run times and timestamps stay in the store)."""
    rows = []
    for m in monitors:
        row: dict[str, Any] = {"name": m.name, "query": m.query, "platforms": list(m.platforms)}
        row.update({"cron": m.cron} if m.cron else {"every": format_every(m.every or 0)})
        row.update({"recipients": list(m.recipients), "paused": m.paused})
        if m.sources:
            row["sources"] = list(m.sources)
        if m.thresholds:
            row["thresholds"] = dict(m.thresholds)
        rows.append(row)
    header = "Tingfeng monitors: edit, then `tingfeng monitor import FILE`."
    return dump_toml({"monitor": rows}, header)


_TOML_KEYS = {"name", "query", "platforms", "every", "cron", "recipients", "alert_to", "paused",
              "thresholds", "sources"}


def import_toml(text: str, **validate: Any) -> list[Monitor]:
    """Monitors from TOML text written by :func:`export_toml` (or by hand), each validated."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"not valid TOML: {exc}") from None
    rows = data.get("monitor", [])
    if not isinstance(rows, list) or set(data) - {"monitor"}:
        raise ConfigError("expected [[monitor]] tables only, as `tingfeng monitor export` writes")
    out: list[Monitor] = []
    for i, row in enumerate(rows, 1):
        label = f"monitor #{i} ({row.get('name', 'no name')!r})"
        try:
            unknown = set(row) - _TOML_KEYS
            if unknown:
                raise ConfigError(f"unknown key {sorted(unknown)[0]!r}; "
                                  f"known: {', '.join(sorted(_TOML_KEYS))}")
            platforms = row.get("platforms", [])
            recipients = row.get("recipients", row.get("alert_to", []))
            monitor = Monitor(
                name=str(row.get("name", "")), query=str(row.get("query", "")),
                platforms=[platforms] if isinstance(platforms, str) else list(platforms),
                every=parse_every(row["every"]) if "every" in row else None,
                cron=row.get("cron"),
                recipients=[recipients] if isinstance(recipients, str) else list(recipients),
                thresholds=dict(row.get("thresholds", {})), paused=bool(row.get("paused", False)),
                sources=[str(s) for s in row.get("sources", [])])
            out.append(validate_monitor(monitor, **validate))
        except ConfigError as exc:
            raise ConfigError(f"{label}: {exc}") from None
    names = [m.name for m in out]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ConfigError(f"monitor {duplicates[0]!r} is defined twice: keep one [[monitor]] table")
    return out
