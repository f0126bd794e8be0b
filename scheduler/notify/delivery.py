"""Deliver pending alerts: one email per monitor, retried with exponential backoff, never lost.

A failing mail server or store is logged and reported, never raised into the caller (spidermon's
``Action.run``): the alerts stay pending in the store and the next delivery picks them up.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from crawlers.errors import MailError, StoreError
from crawlers.items import Monitor
from scheduler.notify.message import build_alert_message

if TYPE_CHECKING:
    from crawlers.items import Alert, Post
    from crawlers.storage import Store
    from scheduler.notify.mailers import Mailer

__all__ = ["DeliveryReport", "deliver_pending", "next_attempt_at"]

log = logging.getLogger(__name__)

DEFAULT_SENDER = "tingfeng@localhost"
DEFAULT_RETRY_BASE = 60.0
DEFAULT_MAX_ATTEMPTS = 10
DEFAULT_RETRY_MAX = 6 * 3600.0
# Monitor jobs run in a thread pool and each delivers *every* pending alert: two deliveries at
# once would both read an alert the other is still sending and mail it twice.
_DELIVERY_LOCK = threading.Lock()


@dataclass
class DeliveryReport:
    """What one delivery did. ``pending`` counts alerts still pending afterwards (failed, backing
    off, or ``exhausted``: past MAIL_MAX_ATTEMPTS, still retried every MAIL_RETRY_MAX at most
    and logged as an error each time so a person looks at the mail set-up)."""

    sent: int = 0
    failed: int = 0
    pending: int = 0
    messages: int = 0
    exhausted: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def next_attempt_at(
    alert: Alert, retry_base: float, retry_max: float | None = None
) -> datetime | None:
    """When ``alert`` may be tried again: after the n-th failure, wait ``retry_base·2^(n−1)``
    seconds, but never more than ``retry_max`` (so a long mail outage is retried for as long as
    it lasts, at a steady pace, and nothing is given up).

    Counted from ``created_at`` (uncapped, the schedule is created + base·(2^n − 1)), because the
    Alert record keeps no last-attempt time. None means "now".

    >>> from datetime import timezone
    >>> from crawlers.items import Alert
    >>> t0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
    >>> a = Alert("a", "m", "r", "warning", "x", created_at=t0, attempts=3)
    >>> next_attempt_at(a, 60.0) - t0
    datetime.timedelta(seconds=420)
    >>> next_attempt_at(a, 60.0, retry_max=100.0) - t0   # waits 60, 100, 100
    datetime.timedelta(seconds=260)
    """
    if alert.attempts <= 0 or alert.created_at is None:
        return None
    waited = sum(min(retry_base * 2**k, retry_max if retry_max else float("inf"))
                 for k in range(alert.attempts))
    return alert.created_at + timedelta(seconds=waited)


def _setting(settings: Mapping[str, Any] | None, name: str, default: Any) -> Any:
    value = settings.get(name) if settings is not None else None
    return default if value in (None, "") else value


def _as_list(value: Any) -> list[str]:
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    return [str(v) for v in value or ()]


def _safely(what: str, fn: Callable[..., Any], default: Any, *args: Any) -> Any:
    # Charts and samples decorate the email; a bug in them must not hold an alert back.
    try:
        return fn(*args)
    except Exception:
        log.exception("could not build %s for an alert email; sending without it", what)
        return default


def _save(store: Store, alert: Alert, report: DeliveryReport) -> None:
    try:
        store.update_alert(alert)
    except (StoreError, KeyError) as exc:
        note = "; it may be sent again" if alert.status == "sent" else ""
        log.error("could not record alert %s as %s: %s%s", alert.alert_id, alert.status, exc, note)
        report.errors.append(f"store: {exc}")


def deliver_pending(
    store: Store, mailer: Mailer, *, monitors: Mapping[str, Monitor], now: datetime,
    charts_for: Callable[[Monitor], Mapping[str, bytes]] | None = None,
    sender: str | None = None, max_attempts: int | None = None,
    retry_base: float | None = None, recipients: Sequence[str] | None = None,
    posts_for: Callable[[Monitor, Sequence[Alert]], Sequence[Post]] | None = None,
    settings: Mapping[str, Any] | None = None,
) -> DeliveryReport:
    """Send every due pending alert, grouped into one message per monitor.

    Success marks the group ``sent`` (``sent_at=now``); a MailError bumps ``attempts``, keeps the
    error in ``last_error`` and leaves them pending until :func:`next_attempt_at`. Alerts past
    ``max_attempts`` keep being retried (never dropped) and are reported as exhausted, with an
    error in the log. Unset arguments come from ``settings`` (MAIL_FROM, MAIL_TO,
    MAIL_RETRY_BASE, MAIL_RETRY_MAX, MAIL_MAX_ATTEMPTS), then defaults.
    ``charts_for(monitor)`` gives inline charts, ``posts_for(monitor, alerts)`` sample posts.
    """
    sender = sender or _setting(settings, "MAIL_FROM", DEFAULT_SENDER)
    limit = int(max_attempts or _setting(settings, "MAIL_MAX_ATTEMPTS", DEFAULT_MAX_ATTEMPTS))
    base = float(retry_base if retry_base is not None
                 else _setting(settings, "MAIL_RETRY_BASE", DEFAULT_RETRY_BASE))
    cap = float(_setting(settings, "MAIL_RETRY_MAX", DEFAULT_RETRY_MAX))
    extra_to = _as_list(recipients if recipients is not None else _setting(settings, "MAIL_TO", []))
    with _DELIVERY_LOCK:
        return _deliver(store, mailer, monitors, now, charts_for, posts_for, sender, limit,
                        (base, cap), extra_to)


def _deliver(store: Store, mailer: Mailer, monitors: Mapping[str, Monitor], now: datetime,
             charts_for: Callable[[Monitor], Mapping[str, bytes]] | None,
             posts_for: Callable[[Monitor, Sequence[Alert]], Sequence[Post]] | None,
             sender: str, limit: int, backoff: tuple[float, float],
             extra_to: list[str]) -> DeliveryReport:
    report = DeliveryReport()
    try:
        pending = store.alerts(status="pending")
    except StoreError as exc:
        log.warning("store unavailable, alert delivery postponed: %s", exc)
        report.errors.append(f"store: {exc}")
        return report

    groups: dict[str, list[Alert]] = {}
    for alert in pending:
        due = next_attempt_at(alert, *backoff)
        if alert.attempts >= limit:
            report.exhausted.append(alert.alert_id)
        if due is None or due <= now:
            groups.setdefault(alert.monitor, []).append(alert)

    for name, alerts in groups.items():
        # A monitor removed since its alert fired still gets its alert delivered (to MAIL_TO).
        monitor = monitors.get(name) or Monitor(name=name, query="")
        charts = _safely("charts", charts_for, {}, monitor) if charts_for else {}
        posts = _safely("sample posts", posts_for, [], monitor, alerts) if posts_for else []
        try:
            message = build_alert_message(alerts, monitor, charts=charts, sender=sender, now=now,
                                          posts=posts, recipients=extra_to)
            mailer.send(message)
        except MailError as exc:
            error: str | None = str(exc)
        except Exception as exc:  # a mailer or builder bug must not stop the other monitors
            log.exception("alert email for monitor %r failed unexpectedly", name)
            error = f"{type(exc).__name__}: {exc}"
        else:
            error = None
        if error is None:
            report.sent += len(alerts)
            report.messages += 1
            for a in alerts:
                _save(store, dataclasses.replace(a, status="sent", sent_at=now,
                                                 attempts=a.attempts + 1, last_error=None), report)
            log.info("sent %d alert(s) for monitor %r via %r", len(alerts), name, mailer)
            continue
        report.failed += len(alerts)
        report.errors.append(error)
        log.warning("alert email for monitor %r not sent (will retry): %s", name, error)
        for a in alerts:
            _save(store, dataclasses.replace(a, attempts=a.attempts + 1, last_error=error[:500]),
                  report)
    if report.exhausted:
        log.error("%d alert(s) still unsent after MAIL_MAX_ATTEMPTS=%d tries (kept pending, "
                  "retried every MAIL_RETRY_MAX at most): %s; check MAIL_URL and the mail server",
                  len(report.exhausted), limit, ", ".join(report.exhausted[:10]))
    report.pending = len(pending) - report.sent
    return report
