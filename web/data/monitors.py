"""Monitors as the list, the form and the dashboard header show them: schedule, last and next
run, crawl health per platform; plus the live query check and the form → Monitor step."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from crawlers.errors import ConfigError
from crawlers.items import Monitor
from scheduler.monitors import make_trigger, parse_every, parse_threshold
from scheduler.notify.wording import platform_name
from scheduler.query import QueryError, QuerySyntaxError, parse_query

if TYPE_CHECKING:
    from collections.abc import Iterable

    from crawlers.storage import Store
    from scheduler.i18n import Wording

__all__ = ["HEALTH_DAYS", "build_monitor", "crawl_health", "monitor_row", "monitor_rows",
           "query_check", "schedule_label", "split_recipients"]

HEALTH_DAYS = 7  # crawl runs this recent speak for a platform's health


def _(message: str) -> str:  # marks a reader string; translated where it is shown
    return message


_UNITS = ((86400, _("天")), (3600, _("小时")), (60, _("分钟")), (1, _("秒")))
_FAILURES = {"login_required": _("需要登录"), "rate_limited": _("被限流"),
             "blocked": _("被封禁"), "crashed": _("采集进程出错")}


def schedule_label(m: Monitor, w: Wording) -> str:
    """``每 30 分钟`` or ``定时 0 */2 * * *``."""
    if m.cron:
        return w("定时 {cron}", cron=m.cron)
    seconds = m.every or 0
    size, unit = next((s, u) for s, u in _UNITS if seconds % s == 0)
    return w("每 {n} {unit}", n=seconds // size, unit=w(unit))


def crawl_health(store: Store, m: Monitor, now: datetime, w: Wording) -> list[dict[str, Any]]:
    """Each platform's latest crawl in the last HEALTH_DAYS days: ok, failed (why) or none."""
    from scoring.snapshot import crawl_failure

    latest = {r.platform: r for r in store.runs(topic=m.name, kind="crawl",
                                                since=now - timedelta(days=HEALTH_DAYS))}
    out = []
    for platform in dict.fromkeys([*m.platforms, *sorted(latest)]):
        run = latest.get(platform)
        row: dict[str, Any] = {"platform": platform, "name": platform_name(platform, w)}
        if run is None:
            row.update(status="none", text=w("近 {days} 天未采集", days=HEALTH_DAYS), at=None,
                       items=None)
        else:
            failure = crawl_failure(run)
            row.update(status="ok" if failure is None else "failed",
                       text=w("正常") if failure is None else w(_FAILURES.get(failure,
                                                                            _("采集失败"))),
                       at=w.time(run.finished_at or run.started_at),
                       items=run.stats.get("item_scraped_count"))
        out.append(row)
    return out


def _next_run(m: Monitor, now: datetime, timezone: str) -> datetime | None:
    if m.paused or m.last_run_at is None:
        return None
    try:
        when: datetime | None = make_trigger(m, timezone).get_next_fire_time(m.last_run_at, now)
    except (ConfigError, ValueError):
        return None
    return when


def monitor_row(store: Store, m: Monitor, now: datetime, w: Wording,
                timezone: str = "Asia/Shanghai") -> dict[str, Any]:
    health = crawl_health(store, m, now, w)
    nxt = _next_run(m, now, timezone)
    alerts = store.alerts(monitor=m.name, since=now - timedelta(days=7))
    return {
        "name": m.name, "query": m.query, "paused": m.paused,
        "status": w("已暂停") if m.paused else w("运行中"),
        "platforms": [{"platform": p, "name": platform_name(p, w)} for p in m.platforms],
        "schedule": schedule_label(m, w), "every": m.every, "cron": m.cron,
        "recipients": list(m.recipients),
        "quiet_hours": str(m.thresholds.get("ALERT_QUIET_HOURS") or ""),
        "last_run_at": m.last_run_at.isoformat() if m.last_run_at else None,
        "last_run": w.time(m.last_run_at) if m.last_run_at else w("尚未运行"),
        "next_run": w.time(nxt) if nxt else ("—" if m.paused else w("等待调度服务")),
        "health": health, "healthy": all(h["status"] != "failed" for h in health),
        "alerts_7d": len(alerts),
    }


def monitor_rows(store: Store, now: datetime, w: Wording,
                 timezone: str = "Asia/Shanghai") -> list[dict[str, Any]]:
    return [monitor_row(store, m, now, w, timezone) for m in store.monitors()]


def query_check(text: str, max_keywords: int = 16) -> dict[str, Any]:
    """Parse a query for the form: ``ok``, or the error with its 0-based ``position``."""
    try:
        query = parse_query(text)
        keywords = query.keywords(max_keywords)
    except QuerySyntaxError as exc:
        return {"ok": False, "error": exc.message, "position": exc.position, "keywords": []}
    except QueryError as exc:
        return {"ok": False, "error": str(exc), "position": None, "keywords": []}
    return {"ok": True, "error": None, "position": None, "keywords": keywords,
            "parsed": str(query)}


def split_recipients(text: str | Iterable[str]) -> list[str]:
    """Recipients from a textarea (one per line or comma-separated) or a list."""
    items = text.replace("\n", ",").split(",") if isinstance(text, str) else list(text)
    return [r.strip() for r in items if r.strip()]


def build_monitor(existing: Monitor | None, *, name: str, query: str, platforms: list[str],
                  every: str | None, cron: str | None, recipients: list[str],
                  quiet_hours: str | None, paused: bool) -> Monitor:
    """A Monitor from form or API fields (``add_monitor`` validates the rest); an edit keeps
    the monitor's thresholds and history.

    :raises ConfigError: for an interval or quiet hours that do not parse.
    """
    thresholds = dict(existing.thresholds) if existing else {}
    if quiet_hours is not None:
        if quiet_hours.strip():
            thresholds.update([parse_threshold(f"ALERT_QUIET_HOURS={quiet_hours.strip()}")])
        else:
            thresholds.pop("ALERT_QUIET_HOURS", None)
    cron_text = " ".join((cron or "").split()) or None
    base = existing or Monitor(name=name, query=query)
    return dataclasses.replace(
        base, query=query, platforms=list(platforms),
        every=parse_every(every.strip()) if every and every.strip() and not cron_text else None,
        cron=cron_text, recipients=recipients, thresholds=thresholds, paused=paused)
