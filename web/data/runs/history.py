"""A monitor's run history: ``store.runs(topic=…)`` holds one ``kind="monitor"`` record per
monitor run, naming the crawl runs it started (``args["crawl_runs"]``); :func:`run_history`
groups them, newest first, each platform worded as the monitors list words crawl health."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from crawlers.items import CrawlRun, utcnow
from scheduler.notify.wording import platform_name

if TYPE_CHECKING:
    from crawlers.storage import Store
    from scheduler.i18n import Wording
    from web.data.runs.registry import RunHandle

__all__ = ["PAGE_SIZE", "run_history"]

PAGE_SIZE = 20


def _(message: str) -> str:  # marks a reader string; translated where it is shown
    return message


_GROUP_STATUS = {"ok": _("正常"), "partial": _("部分平台失败"), "failed": _("失败"),
                 "error": _("运行出错"), "missed": _("错过计划时间"), "crawl": _("单独采集"),
                 "running": _("运行中")}


def _platform_row(run: CrawlRun, w: Wording) -> dict[str, Any]:
    """A crawl's badge, worded as the monitors list words crawl health."""
    from scoring.snapshot import crawl_failure
    from web.data.monitors import _FAILURES

    failure = crawl_failure(run)
    return {"platform": run.platform, "name": platform_name(run.platform, w),
            "run_id": run.run_id, "status": "ok" if failure is None else "failed",
            "text": w("正常") if failure is None else w(_FAILURES.get(failure, _("采集失败"))),
            "items": run.stats.get("item_scraped_count"), "errors": list(run.errors)[:3],
            "at": w.time(run.finished_at or run.started_at)}


def _duration(start: datetime | None, end: datetime | None, w: Wording) -> str:
    if not start or not end:
        return "—"
    seconds = max(0, round((end - start).total_seconds()))
    return w("{m} 分 {s} 秒", m=seconds // 60, s=seconds % 60) if seconds >= 60 else \
        w("{s} 秒", s=seconds)


def _group(head: CrawlRun | None, crawls: list[CrawlRun], w: Wording,
           manual: RunHandle | None) -> dict[str, Any]:
    first = head or crawls[0]
    platforms = [_platform_row(c, w) for c in sorted(crawls, key=lambda c: c.platform)]
    if head is None:
        status = "running" if manual is not None and manual.running else "crawl"
    elif head.finish_reason in ("error", "missed"):
        status = str(head.finish_reason)
    else:
        failed = sum(p["status"] == "failed" for p in platforms)
        status = "ok" if not failed else "failed" if failed == len(platforms) else "partial"
    stats = head.stats if head else {}
    end = max((r.finished_at for r in [first, *crawls] if r.finished_at), default=None)
    return {
        "run_id": first.run_id, "kind": "monitor" if head else "crawl", "status": status,
        "status_name": w(_GROUP_STATUS[status]),
        "started_at": first.started_at.isoformat() if first.started_at else None,
        "started": w.time(first.started_at), "duration": _duration(first.started_at, end, w),
        "platforms": platforms,
        "posts": int(stats["posts/count"]) if "posts/count" in stats else None,
        "alerts_new": stats.get("alerts/new"), "errors": list(head.errors if head else [])[:5],
        "by": manual.by if manual else None,
    }


def _manual_for(start: datetime | None, manual: list[RunHandle]) -> RunHandle | None:
    """The web-started run a record belongs to: the run began after the click, before its
    process ended."""
    if start is None:
        return None
    for h in manual:
        if h.started_at - timedelta(seconds=5) <= start <= (h.finished_at or start):
            return h
    return None


def run_history(store: Store, monitor: str, w: Wording, *, page: int = 1, days: int | None = 30,
                manual: list[RunHandle] | None = None, now: datetime | None = None,
                size: int = PAGE_SIZE) -> dict[str, Any]:
    """A monitor's runs, newest first, ``size`` per page: each monitor run with the crawls it
    started; crawls no monitor run claims (``tingfeng crawl --topic``, or the run going on
    now) stand alone. ``manual`` (the registry's runs) names who started a run here."""
    now = now or utcnow()
    manual = manual or []
    records = store.runs(topic=monitor, since=now - timedelta(days=days) if days else None)
    crawls = {r.run_id: r for r in records if r.kind == "crawl"}
    claimed: set[str] = set()
    groups: list[tuple[datetime | None, CrawlRun | None, list[CrawlRun]]] = []
    for head in (r for r in records if r.kind == "monitor"):
        ids = [i for i in head.args.get("crawl_runs") or [] if i in crawls]
        claimed.update(ids)
        groups.append((head.started_at, head, [crawls[i] for i in ids]))
    running = next((h for h in manual if h.running), None)
    loose = [c for c in crawls.values() if c.run_id not in claimed]
    live = [c for c in loose if running and c.started_at and c.started_at >= running.started_at]
    if live:  # the run going on now: its crawls so far, under one head
        groups.append((running.started_at if running else None, None, live))
    groups += [(c.started_at, None, [c]) for c in loose if c not in live]
    groups.sort(key=lambda g: g[0] or datetime.min.replace(tzinfo=now.tzinfo), reverse=True)
    pages = max(1, -(-len(groups) // size))
    page = min(max(page, 1), pages)
    rows = [_group(head, cs, w, running if head is None and cs is live
                   else _manual_for((head or cs[0]).started_at, manual))
            for _start, head, cs in groups[(page - 1) * size:page * size]]
    return {"monitor": monitor, "page": page, "pages": pages, "total": len(groups),
            "days": days or 0, "runs": rows}
