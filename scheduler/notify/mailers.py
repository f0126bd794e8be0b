"""Mail transports chosen by MAIL_URL scheme: SMTP (plain, STARTTLS, implicit TLS), an .eml outbox
folder (the default) and an in-memory list for tests. Sending only: messages are built elsewhere.

Passwords never reach a repr, a log line or an exception message: URLs are printed masked.
"""

from __future__ import annotations

import logging
import os
import smtplib
import ssl
import threading
import time
from collections.abc import Callable, Mapping
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Protocol, runtime_checkable
from urllib.parse import parse_qs, unquote, urlsplit, urlunsplit

from crawlers.errors import ConfigError, MailError

__all__ = [
    "MAILERS",
    "Mailer",
    "MemoryMailer",
    "OutboxMailer",
    "SmtpMailer",
    "mask_url",
    "open_mailer",
]

log = logging.getLogger(__name__)

_TRUE = {"1", "true", "yes", "on"}


@runtime_checkable
class Mailer(Protocol):
    """Anything that can send one built message; raises MailError on failure."""

    def send(self, message: EmailMessage) -> None: ...


def mask_url(url: str) -> str:
    """``url`` with any password replaced by ``***`` (safe to log).

    >>> mask_url("smtp://bot:s3cret@mail.example.com:587?starttls=1")
    'smtp://bot:***@mail.example.com:587?starttls=1'
    """
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit(parts._replace(netloc=f"{parts.username or ''}:***@{host}"))


def _get(settings: Mapping[str, Any] | None, name: str, default: Any) -> Any:
    if settings is None:
        return default
    value = settings.get(name)
    return default if value is None or value == "" else value


def _flag(value: Any) -> bool:
    return value if isinstance(value, bool) else str(value).strip().lower() in _TRUE


class SmtpMailer:
    """Send through an SMTP server, one connection per message.

    Settings: MAIL_USERNAME, MAIL_PASSWORD (used when the URL has none), MAIL_STARTTLS,
    MAIL_TIMEOUT. ``tls="implicit"`` is smtps:// (port 465), ``"starttls"`` upgrades a plain
    connection and refuses to go on in clear text if the server cannot.
    """

    def __init__(
        self, host: str, port: int, *, tls: str = "none", username: str | None = None,
        password: str | None = None, timeout: float = 30.0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        if tls not in ("none", "starttls", "implicit"):
            raise ConfigError(f"SmtpMailer tls must be none, starttls or implicit, not {tls!r}")
        self.host, self.port, self.tls, self.timeout = host, port, tls, timeout
        self.username = username
        self._password = password
        self._ssl_context = ssl_context

    def __repr__(self) -> str:
        user = f"{self.username}@" if self.username else ""
        return f"SmtpMailer('{user}{self.host}:{self.port}', tls={self.tls!r})"

    def _connect(self) -> smtplib.SMTP:
        context = self._ssl_context or ssl.create_default_context()
        if self.tls == "implicit":
            return smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=context)
        client = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        if self.tls == "starttls":
            try:
                client.starttls(context=context)
            except BaseException:
                client.close()
                raise
        return client

    def send(self, message: EmailMessage) -> None:
        if not any(message.get_all(h) for h in ("To", "Cc", "Bcc")):
            raise MailError(
                "message has no recipients: give the monitor --alert-to addresses or set MAIL_TO"
            )
        where = f"{self.host}:{self.port}"
        try:
            with self._connect() as client:
                if self.username:
                    client.login(self.username, self._password or "")
                client.send_message(message)
        except smtplib.SMTPAuthenticationError as exc:
            raise MailError(
                f"SMTP {where} refused the login of {self.username!r} ({exc.smtp_code}): "
                "check MAIL_USERNAME / MAIL_PASSWORD"
            ) from None
        except UnicodeEncodeError:
            # smtplib encodes AUTH exchanges as ASCII (Python 3.11-3.13).
            raise MailError(
                f"SMTP {where}: MAIL_USERNAME / MAIL_PASSWORD must be ASCII for SMTP AUTH"
            ) from None
        except smtplib.SMTPNotSupportedError as exc:
            raise MailError(f"SMTP {where}: {exc} (STARTTLS or AUTH unsupported?)") from None
        except smtplib.SMTPException as exc:
            raise MailError(f"SMTP {where} failed: {self._scrub(exc)}") from None
        except (OSError, ssl.SSLError) as exc:  # refused, unreachable, timeout, TLS handshake
            raise MailError(f"cannot reach SMTP server {where}: {self._scrub(exc)}") from None

    def _scrub(self, exc: BaseException) -> str:
        # Chaining is cut (`from None`) and the text scrubbed because a server may echo what
        # it was sent; the password must not survive into logs or Alert.last_error.
        text = f"{type(exc).__name__}: {exc}"
        return text.replace(self._password, "***") if self._password else text


class OutboxMailer:
    """Write each message as an .eml file into ``directory`` (created on first send).

    The default transport (MAIL_URL ``file://./outbox``): works on a laptop with no mail server,
    and any mail client opens the files.
    """

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)
        self._lock = threading.Lock()
        self._count = 0

    def __repr__(self) -> str:
        return f"OutboxMailer({str(self.directory)!r})"

    def send(self, message: EmailMessage) -> None:
        with self._lock:
            self._count += 1
            stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
            name = f"{stamp}-{os.getpid()}-{self._count:04d}.eml"
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            tmp = self.directory / f".{name}.tmp"
            tmp.write_bytes(message.as_bytes(policy=policy.SMTP))
            tmp.replace(self.directory / name)  # atomic: a reader never sees half a message
        except OSError as exc:
            raise MailError(f"cannot write to outbox {self.directory}: {exc.strerror}") from None
        log.info("mail written to %s", self.directory / name)


class MemoryMailer:
    """Keep sent messages in ``self.outbox`` (tests and dry runs)."""

    def __init__(self) -> None:
        self.outbox: list[EmailMessage] = []

    def __repr__(self) -> str:
        return f"MemoryMailer({len(self.outbox)} sent)"

    def send(self, message: EmailMessage) -> None:
        self.outbox.append(message)


def _smtp(url: str, settings: Mapping[str, Any] | None, implicit: bool) -> SmtpMailer:
    parts = urlsplit(url)
    if not parts.hostname:
        raise ConfigError(f"MAIL_URL {mask_url(url)!r} has no host: use smtp://host:587")
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    starttls = _flag(query.get("starttls", _get(settings, "MAIL_STARTTLS", False)))
    tls = "implicit" if implicit else ("starttls" if starttls else "none")
    try:
        port = parts.port or (465 if implicit else 25)
    except ValueError:
        raise ConfigError(f"MAIL_URL {mask_url(url)!r} has a bad port") from None
    # The URL's credentials win; otherwise the environment's (MAIL_USERNAME / MAIL_PASSWORD).
    username = unquote(parts.username) if parts.username else _get(settings, "MAIL_USERNAME", None)
    password = unquote(parts.password) if parts.password else _get(settings, "MAIL_PASSWORD", None)
    timeout = float(query.get("timeout", _get(settings, "MAIL_TIMEOUT", 30.0)))
    return SmtpMailer(
        parts.hostname, port, tls=tls, username=username or None, password=password or None,
        timeout=timeout,
    )


def _outbox(url: str, settings: Mapping[str, Any] | None) -> OutboxMailer:
    parts = urlsplit(url)
    # file:///abs/outbox → "/abs/outbox"; file://./outbox (relative) puts "." in the netloc.
    if parts.netloc in ("", "localhost"):
        path = unquote(parts.path)
    else:
        path = unquote(parts.netloc + parts.path)
    if not path:
        raise ConfigError(f"MAIL_URL {url!r} names no folder: use file:///path/outbox")
    return OutboxMailer(Path(path).expanduser())


MAILERS: dict[str, Callable[[str, Mapping[str, Any] | None], Mailer]] = {
    "smtp": lambda url, settings: _smtp(url, settings, implicit=False),
    "smtps": lambda url, settings: _smtp(url, settings, implicit=True),
    "file": _outbox,
    "memory": lambda url, settings: MemoryMailer(),
}


def open_mailer(url: str, settings: Mapping[str, Any] | None = None) -> Mailer:
    """The mailer MAIL_URL names: ``smtp://user@host:587?starttls=1``, ``smtps://host:465``,
    ``file:///path/outbox``, ``file://./outbox`` or ``memory://``.

    ``settings`` (Scrapy Settings or a dict) supplies MAIL_USERNAME, MAIL_PASSWORD,
    MAIL_STARTTLS and MAIL_TIMEOUT.

    :raises ConfigError: for an unknown scheme or a URL missing its host or folder.

    >>> open_mailer("file://./outbox")
    OutboxMailer('outbox')
    """
    scheme = urlsplit(url).scheme.lower()
    factory = MAILERS.get(scheme)
    if factory is None:
        known = ", ".join(f"{s}://" for s in MAILERS)
        raise ConfigError(
            f"Unknown mail scheme {scheme!r} in MAIL_URL {mask_url(url)!r}; known: {known}"
        )
    return factory(url, settings)
