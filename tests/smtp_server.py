"""A real SMTP server on 127.0.0.1 for mail tests (aiosmtpd in a thread), collecting messages.

``with LoopbackSmtpServer() as server: … server.url … server.messages`` — messages come back
parsed with ``email.policy.default``. ``port=`` reuses a known port (to bring a "down" server up);
``auth=("user", "secret")`` makes the server require AUTH LOGIN/PLAIN with those credentials.
"""

from __future__ import annotations

import socket
import threading
import warnings
from email import message_from_bytes, policy
from email.message import EmailMessage
from types import TracebackType
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

__all__ = ["LoopbackSmtpServer", "free_port"]


def free_port() -> int:
    """A loopback port nothing listens on (bound then released, so connecting is refused)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _Collector:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        raw = envelope.original_content or envelope.content
        msg = message_from_bytes(raw, policy=policy.default)
        with self.lock:
            self.messages.append(msg)  # type: ignore[arg-type]
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 Message accepted for delivery"


class _Authenticator:
    def __init__(self, username: str, password: str) -> None:
        self.username, self.password = username.encode(), password.encode()
        self.failures = 0

    def __call__(self, server: Any, session: Any, envelope: Any, mechanism: str,
                 data: Any) -> AuthResult:
        if isinstance(data, LoginPassword) and (data.login, data.password) == (
            self.username, self.password,
        ):
            return AuthResult(success=True)
        self.failures += 1
        return AuthResult(success=False, handled=False)


class _BoundController(Controller):
    """aiosmtpd's Controller connects to ``self.port`` to check it is up, so port 0 cannot be
    passed through; bind the socket first and hand it to the event loop instead."""

    def __init__(self, handler: Any, sock: socket.socket, **kwargs: Any) -> None:
        super().__init__(handler, hostname="127.0.0.1", port=sock.getsockname()[1], **kwargs)
        self._sock = sock

    def _create_server(self) -> Any:
        return self.loop.create_server(self._factory_invoker, sock=self._sock)

    def factory(self) -> Any:
        # One SMTP protocol object per connection; each would warn that AUTH without TLS is
        # unsafe, which is deliberate here (loopback) and fatal under filterwarnings=error.
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "Requiring AUTH while not requiring TLS", UserWarning)
            return super().factory()


class LoopbackSmtpServer:
    """Context manager running an SMTP server on 127.0.0.1 until exit."""

    def __init__(self, port: int = 0, auth: tuple[str, str] | None = None) -> None:
        self.handler = _Collector()
        self.auth = _Authenticator(*auth) if auth else None
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))
        self.port: int = sock.getsockname()[1]
        kwargs: dict[str, Any] = {"ready_timeout": 10.0}
        if self.auth:
            # No TLS on loopback in tests; aiosmtpd refuses AUTH in clear text unless told.
            kwargs.update(authenticator=self.auth, auth_required=True, auth_require_tls=False)
        self.controller = _BoundController(self.handler, sock, **kwargs)

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    @property
    def messages(self) -> list[EmailMessage]:
        with self.handler.lock:
            return list(self.handler.messages)

    @property
    def envelopes(self) -> list[tuple[str, list[str]]]:
        with self.handler.lock:
            return list(self.handler.envelopes)

    def __enter__(self) -> LoopbackSmtpServer:
        self.controller.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.controller.stop()
