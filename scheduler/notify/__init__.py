"""Alert email: transports chosen by MAIL_URL (``open_mailer``), message builders kept apart from
sending, and ``deliver_pending`` (retry with backoff; a failing mailer never raises to the job).

No matplotlib here: charts arrive as PNG bytes from the caller.
"""

from scheduler.notify.delivery import DeliveryReport, deliver_pending, next_attempt_at
from scheduler.notify.mailers import (
    MAILERS,
    Mailer,
    MemoryMailer,
    OutboxMailer,
    SmtpMailer,
    mask_url,
    open_mailer,
)
from scheduler.notify.message import build_alert_message, build_digest_message, header_text

__all__ = [
    "MAILERS",
    "DeliveryReport",
    "Mailer",
    "MemoryMailer",
    "OutboxMailer",
    "SmtpMailer",
    "build_alert_message",
    "build_digest_message",
    "deliver_pending",
    "header_text",
    "mask_url",
    "next_attempt_at",
    "open_mailer",
]
