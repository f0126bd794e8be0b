"""Deliver pending alerts on every channel a monitor names — email, WeCom, DingTalk, Feishu,
webhooks — one message per monitor and channel, retried with capped backoff, never lost, never
sent twice.

Each delivery first *claims* the alerts it will send (``Store.claim_alert``: atomic in every
backend, so two processes or threads never both send one), records each channel's outcome as
soon as the channel confirms (``Alert.deliveries``), and releases the claim. A channel that
failed is retried alone at its own pace (the wait the platform asked for, else
``MAIL_RETRY_BASE·2^(n−1)`` capped at ``MAIL_RETRY_MAX``); the alert is "sent" once every
channel confirmed. A process that dies mid-delivery leaves a claim that expires after
``ALERT_CLAIM_SECONDS``. A failing channel or store is logged and reported, never raised into
the caller (spidermon's ``Action.run``).

One duplicate remains possible and is documented: a channel that accepted a message but whose
answer never arrived (a timeout after the platform processed it). Webhook receivers can drop the
repeat by its ``Idempotency-Key``; chat robots have no such key.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import socket
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from crawlers.errors import ConfigError, MailError, StoreError
from crawlers.items import Monitor
from crawlers.storage._records import utc_text
from scheduler.notify.card import top_severity
from scheduler.notify.channels import ChannelError, channel_id, is_email, open_channel
from scheduler.notify.message import build_alert_message

if TYPE_CHECKING:
    import httpx

    from crawlers.items import Alert, Post
    from crawlers.storage import Store
    from scheduler.notify.mailers import Mailer

__all__ = ["DeliveryReport", "deliver_pending", "next_attempt_at"]

log = logging.getLogger(__name__)

DEFAULT_SENDER = "tingfeng@localhost"
DEFAULT_RETRY_BASE = 60.0
DEFAULT_MAX_ATTEMPTS = 10
DEFAULT_RETRY_MAX = 6 * 3600.0
DEFAULT_CLAIM_SECONDS = 600.0
DEFAULT_CHANNEL_TIMEOUT = 10.0
MAIL = "mail"
DIGEST = "digest"


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
    claimed_elsewhere: int = 0
    quiet: int = 0
    by_channel: dict[str, dict[str, int]] = field(default_factory=dict)

    def count(self, kind: str, outcome: str) -> None:
        slot = self.by_channel.setdefault(kind, {"sent": 0, "failed": 0})
        slot[outcome] = slot.get(outcome, 0) + 1


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
    # Charts and samples decorate the message; a bug in them must not hold an alert back.
    try:
        return fn(*args)
    except Exception:
        log.exception("could not build %s for an alert message; sending without it", what)
        return default


def _owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass
class _Policy:
    sender: str
    limit: int
    base: float
    cap: float
    lease: float
    extra_to: list[str]
    settings: Mapping[str, Any]
    base_url: str | None

    def wait(self, attempts: int, asked: float | None) -> float:
        backoff = min(self.base * 2.0 ** max(attempts - 1, 0), self.cap)
        wait = max(asked, backoff) if asked is not None else backoff
        return float(min(wait, max(self.cap, 1.0)))


def deliver_pending(
    store: Store, mailer: Mailer | None, *, monitors: Mapping[str, Monitor], now: datetime,
    charts_for: Callable[..., Mapping[str, bytes]] | None = None,
    sender: str | None = None, max_attempts: int | None = None,
    retry_base: float | None = None, recipients: Sequence[str] | None = None,
    posts_for: Callable[[Monitor, Sequence[Alert]], Sequence[Post]] | None = None,
    settings: Mapping[str, Any] | None = None, client: httpx.Client | None = None,
) -> DeliveryReport:
    """Send every due pending alert: one message per monitor and channel.

    A monitor's recipients are email addresses (one email to all of them and MAIL_TO) and
    channel URIs (:mod:`scheduler.notify.channels`); a monitor with no recipient at all still
    gets its email (MAIL_URL's outbox by default), so nothing fires unseen. Success on a
    channel is recorded at once; a failure bumps ``attempts``, keeps the error in
    ``last_error`` and waits; alerts past ``max_attempts`` keep being retried (never dropped)
    and are reported as exhausted, with an error in the log. Unset arguments come from
    ``settings`` (MAIL_FROM, MAIL_TO, MAIL_RETRY_BASE, MAIL_RETRY_MAX, MAIL_MAX_ATTEMPTS,
    ALERT_CLAIM_SECONDS, CHANNEL_TIMEOUT, WEB_BASE_URL), then defaults.
    ``charts_for(monitor, alerts)`` (or ``charts_for(monitor)``) gives inline email charts,
    ``posts_for(monitor, alerts)`` the posts that matter.
    """
    import httpx

    settings = settings or {}
    base = float(retry_base if retry_base is not None
                 else _setting(settings, "MAIL_RETRY_BASE", DEFAULT_RETRY_BASE))
    policy = _Policy(
        sender=sender or _setting(settings, "MAIL_FROM", DEFAULT_SENDER),
        limit=int(max_attempts or _setting(settings, "MAIL_MAX_ATTEMPTS", DEFAULT_MAX_ATTEMPTS)),
        base=base, cap=float(_setting(settings, "MAIL_RETRY_MAX", DEFAULT_RETRY_MAX)),
        lease=float(_setting(settings, "ALERT_CLAIM_SECONDS", DEFAULT_CLAIM_SECONDS)),
        extra_to=[r for r in _as_list(recipients if recipients is not None
                                      else _setting(settings, "MAIL_TO", [])) if is_email(r)],
        settings=settings, base_url=_setting(settings, "WEB_BASE_URL", None),
    )
    own_client = client is None
    if client is None:
        timeout = float(_setting(settings, "CHANNEL_TIMEOUT", DEFAULT_CHANNEL_TIMEOUT))
        client = httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False)
    try:
        return _deliver(store, mailer, monitors, now, charts_for, posts_for, policy, client)
    finally:
        if own_client:
            client.close()


def _channel_due(record: Mapping[str, Any] | None, alert: Alert, now: datetime,
                 policy: _Policy) -> bool:
    if record is None:
        if alert.deliveries:  # other channels were tried: this one never was, so it is due
            return True
        # never tried anywhere, or a record from before per-channel tracking: alert-level pace
        due = next_attempt_at(alert, policy.base, policy.cap)
        return due is None or due <= now
    if record.get("status") == "sent":
        return False
    at = record.get("next_at")
    return at is None or str(at) <= utc_text(now)


def _channels_of(monitor: Monitor) -> tuple[list[str], list[str]]:
    """(email addresses, chat/webhook URIs) a monitor names."""
    emails: list[str] = []
    uris: list[str] = []
    for raw in monitor.recipients:
        text = raw.strip()
        if text:
            (emails if is_email(text) else uris).append(
                text.removeprefix("mailto:") if is_email(text) else text)
    return emails, uris


def _deliver(store: Store, mailer: Mailer | None, monitors: Mapping[str, Monitor], now: datetime,
             charts_for: Callable[..., Mapping[str, bytes]] | None,
             posts_for: Callable[[Monitor, Sequence[Alert]], Sequence[Post]] | None,
             policy: _Policy, client: httpx.Client) -> DeliveryReport:
    report = DeliveryReport()
    try:
        pending = store.alerts(status="pending")
    except StoreError as exc:
        log.warning("store unavailable, alert delivery postponed: %s", exc)
        report.errors.append(f"store: {exc}")
        return report

    # A digest goes out as its own message; alerts of one monitor are merged into one.
    groups: dict[tuple[str, bool], list[Alert]] = {}
    for alert in pending:
        if alert.attempts >= policy.limit:
            report.exhausted.append(alert.alert_id)
        groups.setdefault((alert.monitor, alert.rule == DIGEST), []).append(alert)

    owner = _owner()
    for (name, digest), alerts in groups.items():
        # A monitor removed since its alert fired still gets its alert delivered (to MAIL_TO).
        monitor = monitors.get(name) or Monitor(name=name, query="")
        emails, uris = _channels_of(monitor)
        base_targets = ([MAIL] if emails or policy.extra_to or not uris else []) + uris

        def targets_of(a: Alert, base: list[str] = base_targets) -> list[str]:
            extra = [str(r) for r in (a.details or {}).get("escalate_to", []) if str(r).strip()]
            return base + [r for r in extra if r not in base and not is_email(r)] + (
                [MAIL] if any(is_email(r) for r in extra) and MAIL not in base else [])

        targets = list(dict.fromkeys(t for a in alerts for t in targets_of(a)))
        ids = {t: (MAIL if t == MAIL else channel_id(t)) for t in targets}
        due = [a for a in alerts if any(_channel_due(a.deliveries.get(ids[t]), a, now, policy)
                                        for t in targets_of(a))]
        if _quiet(monitor, now, policy):
            waiting = [a for a in due if top_severity([a]) != "critical"]
            report.quiet += len(waiting)
            due = [a for a in due if a not in waiting]
        held = _claim(store, due, owner, now, policy, report)
        if not held:
            continue
        posts = (_safely("sample posts", posts_for, [], monitor, held)
                 if posts_for and not digest else [])
        for target in targets:
            cid = ids[target]
            batch = [a for a in held if target in targets_of(a)
                     and _channel_due(a.deliveries.get(cid), a, now, policy)]
            if not batch:
                continue
            extra_emails = [str(r) for a in batch
                            for r in (a.details or {}).get("escalate_to", []) if is_email(str(r))]
            error, wait = _send(target, batch, monitor, posts, [*emails, *extra_emails], mailer,
                                charts_for, now, policy, client, store)
            kind = cid.split(":", 1)[0]
            for i, a in enumerate(batch):
                before = a.deliveries.get(cid) or {"attempts": a.attempts}
                tries = int(before.get("attempts", 0)) + 1
                if error is None:
                    record = {"status": "sent", "attempts": tries, "sent_at": utc_text(now)}
                else:
                    delay = policy.wait(tries, wait)
                    record = {"status": "pending", "attempts": tries, "last_error": error[:300],
                              "next_at": utc_text(now + timedelta(seconds=delay))}
                held[held.index(a)] = updated = dataclasses.replace(
                    a, deliveries={**a.deliveries, cid: record},
                    attempts=max(a.attempts, tries), last_error=(
                        error[:500] if error is not None else a.last_error))
                batch[i] = updated
                _save(store, updated, owner, report)
            if error is None:
                report.messages += 1
                report.count(kind, "sent")
                log.info("sent %d alert(s) for monitor %r via %s", len(batch), name, kind)
            else:
                report.count(kind, "failed")
                report.errors.append(error)
                log.warning("alert message for monitor %r via %s not sent (will retry): %s",
                            name, kind, error)
        for a in held:
            complete = all((a.deliveries.get(ids[t]) or {}).get("status") == "sent"
                           for t in targets_of(a))
            final = dataclasses.replace(
                a, claimed_by=None, claimed_until=None,
                status="sent" if complete else "pending",
                sent_at=now if complete else a.sent_at,
                last_error=None if complete else a.last_error)
            if complete:
                report.sent += 1
            else:
                report.failed += 1
            _save(store, final, owner, report)
    if report.exhausted:
        log.error("%d alert(s) still unsent after MAIL_MAX_ATTEMPTS=%d tries (kept pending, "
                  "retried every MAIL_RETRY_MAX at most): %s; check the channel set-up "
                  "(MAIL_URL, robot keys and secrets)", len(report.exhausted), policy.limit,
                  ", ".join(report.exhausted[:10]))
    report.pending = len(pending) - report.sent
    return report


def _quiet(monitor: Monitor, now: datetime, policy: _Policy) -> bool:
    from scheduler.monitors import effective_settings, in_quiet_hours

    conf = effective_settings(policy.settings, monitor.thresholds)
    hours = str(conf.get("ALERT_QUIET_HOURS") or "")
    try:
        return in_quiet_hours(hours, now, str(conf.get("MONITOR_TIMEZONE") or "Asia/Shanghai"))
    except ConfigError as exc:  # refused when set; an old bad value must not hold alerts back
        log.error("monitor %r: %s; quiet hours ignored", monitor.name, exc)
        return False


def _claim(store: Store, alerts: Sequence[Alert], owner: str, now: datetime, policy: _Policy,
           report: DeliveryReport) -> list[Alert]:
    held = []
    for a in alerts:
        try:
            got = store.claim_alert(a.alert_id, owner, now=now, lease_seconds=policy.lease)
        except StoreError as exc:
            log.warning("store unavailable, alert %s postponed: %s", a.alert_id, exc)
            report.errors.append(f"store: {exc}")
            continue
        if got is None:
            report.claimed_elsewhere += 1
        else:
            held.append(got)
    return held


def _send(target: str, alerts: Sequence[Alert], monitor: Monitor, posts: Sequence[Post],
          emails: Sequence[str], mailer: Mailer | None,
          charts_for: Callable[..., Mapping[str, bytes]] | None, now: datetime,
          policy: _Policy, client: httpx.Client,
          store: Store | None = None) -> tuple[str | None, float | None]:
    """Send one message; (None, None) when confirmed, else (error, the wait asked for)."""
    from scheduler.i18n import wording_for
    from scheduler.notify.card import build_card

    try:
        words = wording_for(policy.settings)
        if target == MAIL and alerts[0].rule == DIGEST:
            if mailer is None:
                return "no mailer configured (set MAIL_URL)", None
            mailer.send(_digest_email(alerts[0], monitor, emails, policy, now, store))
            return None, None
        if target == MAIL:
            if mailer is None:
                return "no mailer configured (set MAIL_URL)", None
            charts = _safely("charts", _charts, {}, charts_for, monitor, alerts) if charts_for \
                else {}
            message = build_alert_message(alerts, monitor, charts=charts, sender=policy.sender,
                                          now=now, posts=posts, recipients=[*emails,
                                                                            *policy.extra_to],
                                          words=words, base_url=policy.base_url)
            mailer.send(message)
            return None, None
        card = build_card(alerts, monitor, now=now, posts=posts, base_url=policy.base_url,
                          words=words)
        open_channel(target, policy.settings, client).send(card)
        return None, None
    except ChannelError as exc:
        if exc.config:
            log.error("alert channel %s refused the message: %s; fix the robot set-up",
                      channel_id(target), exc)
        return str(exc), exc.retry_after
    except (MailError, ConfigError) as exc:
        return str(exc), None
    except Exception as exc:  # a channel or builder bug must not stop the other monitors
        log.exception("alert message for monitor %r failed unexpectedly", monitor.name)
        return f"{type(exc).__name__}: {exc}", None


def _digest_email(digest: Alert, monitor: Monitor, emails: Sequence[str], policy: _Policy,
                  now: datetime, store: Store | None) -> Any:
    from scheduler.notify.message import build_digest_message

    details = digest.details or {}
    start = digest.window_start or now - timedelta(days=1)
    day = [a for a in (store.alerts(monitor=monitor.name, since=start) if store else [])
           if a.rule != DIGEST]
    period = (digest.window_end or now) - start
    return build_digest_message(monitor, day, dict(details.get("metrics") or {}),
                                sender=policy.sender, now=digest.window_end or now,
                                recipients=[*emails, *policy.extra_to], period=period)


def _charts(charts_for: Callable[..., Mapping[str, bytes]], monitor: Monitor,
            alerts: Sequence[Alert]) -> Mapping[str, bytes]:
    import inspect

    try:
        takes_alerts = len(inspect.signature(charts_for).parameters) >= 2
    except (TypeError, ValueError):
        takes_alerts = False
    return charts_for(monitor, alerts) if takes_alerts else charts_for(monitor)


def _save(store: Store, alert: Alert, owner: str, report: DeliveryReport) -> None:
    try:
        if not store.update_alert(alert, owner=owner):
            log.warning("alert %s: delivery claim lost (another process took it over after "
                        "ALERT_CLAIM_SECONDS); its progress stays with the new holder",
                        alert.alert_id)
    except (StoreError, KeyError) as exc:
        note = "; it may be sent again" if alert.status == "sent" else ""
        log.error("could not record alert %s as %s: %s%s", alert.alert_id, alert.status, exc, note)
        report.errors.append(f"store: {exc}")
