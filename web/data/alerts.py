"""The alerts inbox: each alert in one sentence with severity, delivery state per channel and
the reviewer's verdict; each rule's precision from those verdicts."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from scheduler.cli.alert import rule_precision
from scheduler.notify.wording import explain, headline, next_step, rule_title, severity_name

if TYPE_CHECKING:
    from crawlers.items import Alert
    from crawlers.storage import Store
    from scheduler.i18n import Wording

__all__ = ["VERDICTS", "alert_row", "alert_rows", "find_alert", "precision_rows", "review_alert",
           "verdict_name"]

VERDICTS = ("confirmed", "false_alarm")


def _(message: str) -> str:  # marks a reader string; translated where it is shown
    return message


_VERDICT_NAMES = {"confirmed": _("属实"), "false_alarm": _("误报")}
_CHANNELS = {"mail": _("邮件"), "wecom": _("企业微信"), "dingtalk": _("钉钉"), "feishu": _("飞书"),
             "lark": "Lark", "webhook": "Webhook"}


def verdict_name(verdict: str | None, w: Wording) -> str:
    return w(_VERDICT_NAMES[verdict]) if verdict in _VERDICT_NAMES else w("未复核")


def _deliveries(alert: Alert, w: Wording) -> list[dict[str, Any]]:
    """Per channel: its kind (channel ids are secret-free: a kind and a digest) and outcome."""
    out = []
    for cid, rec in sorted(alert.deliveries.items()):
        kind = cid.split(":", 1)[0]
        sent = rec.get("status") == "sent"
        out.append({"channel": kind, "name": w(_CHANNELS[kind]) if kind in _CHANNELS else kind,
                    "sent": sent, "attempts": int(rec.get("attempts") or 0),
                    "text": w("已送达") if sent else w("未送达（已尝试 {n} 次）",
                                                     n=int(rec.get("attempts") or 0))})
    return out


def alert_row(a: Alert, w: Wording) -> dict[str, Any]:
    review = a.review or {}
    return {
        "alert_id": a.alert_id, "monitor": a.monitor, "rule": a.rule,
        "rule_title": rule_title(a.rule, w), "severity": a.severity,
        "severity_name": severity_name(a.severity, w), "headline": headline(a, w),
        "reasons": explain(a, w), "next_step": next_step(a, w),
        "created_at": a.created_at.isoformat() if a.created_at else None,
        "created": w.time(a.created_at), "window": w.window(a.window_start, a.window_end),
        "status": a.status,
        "status_name": w("已发送") if a.status == "sent" else w("待发送"),
        "deliveries": _deliveries(a, w),
        "review": {"verdict": review.get("verdict"),
                   "name": verdict_name(review.get("verdict"), w),
                   "by": review.get("by"), "at": review.get("at"),
                   "note": review.get("note", "")},
    }


def alert_rows(store: Store, w: Wording, *, now: datetime, monitor: str | None = None,
               status: str | None = None, verdict: str | None = None,
               days: int | None = 30) -> list[dict[str, Any]]:
    """Newest first. ``verdict`` is one of VERDICTS or "unreviewed"."""
    since = now - timedelta(days=days) if days else None
    alerts = store.alerts(monitor=monitor or None, since=since, status=status or None)
    if verdict == "unreviewed":
        alerts = [a for a in alerts if (a.review or {}).get("verdict") not in VERDICTS]
    elif verdict in VERDICTS:
        alerts = [a for a in alerts if (a.review or {}).get("verdict") == verdict]
    return [alert_row(a, w) for a in reversed(alerts)]


def precision_rows(store: Store, w: Wording, *, now: datetime,
                   days: int = 30) -> list[dict[str, Any]]:
    rows = rule_precision(store.alerts(since=now - timedelta(days=days)))
    return [{**r, "rule_title": rule_title(r["rule"], w),
             "precision_text": w.percent(r["precision"]) if r["precision"] is not None else "—"}
            for r in rows]


def find_alert(store: Store, alert_id: str, monitor: str | None = None) -> Alert | None:
    # Alert ids start with their monitor's name ("品牌A:risk_words:…"): read only its alerts.
    # Anything else (an alert written by other tools) is found by reading them all.
    for scope in dict.fromkeys([monitor or alert_id.split(":", 1)[0], None]):
        found = next((a for a in store.alerts(monitor=scope) if a.alert_id == alert_id), None)
        if found is not None:
            return found
    return None


def review_alert(store: Store, alert: Alert, *, verdict: str, note: str, by: str,
                 now: datetime) -> Alert:
    """Record a reviewer's verdict (the same record ``tingfeng alert review`` writes)."""
    if verdict not in VERDICTS:
        raise ValueError(f"verdict must be one of {', '.join(VERDICTS)}")
    reviewed = dataclasses.replace(alert, review={"verdict": verdict, "by": by,
                                                  "at": now.isoformat(), "note": note[:500]})
    store.update_alert(reviewed)
    return reviewed
