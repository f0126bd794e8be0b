"""Browser-facing defences: response headers (a CSP that allows no inline script), cookie
attributes, CSRF tokens, and the redirect target after login.

CSRF: a signed-in browser sends its session's token with every unsafe request, as the
``csrf_token`` form field or the ``X-CSRF-Token`` header (the page's script reads it from
``<meta name="csrf-token">``); before login the same check runs against a double-submit cookie.
A request that carries an ``Origin`` of another site is refused outright. Bearer-token API calls
carry no ambient credential, so they need no CSRF token.
"""

from __future__ import annotations

import hmac
import secrets
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["CSRF_FIELD", "CSRF_HEADER", "LOGIN_CSRF_COOKIE", "SAFE_METHODS", "SecurityHeaders",
           "csrf_matches", "is_https", "login_csrf", "origin_allowed", "safe_next",
           "session_cookie_name", "set_cookie"]

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
LOGIN_CSRF_COOKIE = "tingfeng_login_csrf"

# No inline script anywhere: pages load /static/*.js only, data comes from the JSON API or
# data-* attributes. Inline *styles* stay allowed because ECharts' tooltip writes style
# attributes into its HTML (styles cannot run code).
CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
       "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; object-src 'none'; "
       "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")


def is_https(scope_or_request: Scope | Request, force: bool = False) -> bool:
    """Whether the request came over HTTPS (uvicorn applies X-Forwarded-Proto from trusted
    proxies to the scheme), or ``force`` (WEB_BASE_URL is https)."""
    scope = scope_or_request.scope if hasattr(scope_or_request, "scope") else scope_or_request
    return force or scope.get("scheme") in ("https", "wss")


def session_cookie_name(https: bool) -> str:
    """``__Host-`` cookies are refused by browsers unless Secure, path ``/`` and host-only:
    over HTTPS no subdomain or plain-HTTP page can plant or overwrite the session cookie."""
    return "__Host-tingfeng_session" if https else "tingfeng_session"


def set_cookie(response: Response, name: str, value: str, *, https: bool, max_age: int,
               samesite: str = "lax") -> None:
    response.set_cookie(name, value, max_age=max_age, path="/", httponly=True, secure=https,
                        samesite=samesite)  # type: ignore[arg-type]


def csrf_matches(expected: str, given: str | None) -> bool:
    return bool(expected) and bool(given) and hmac.compare_digest(expected, given or "")


def login_csrf(request: Request) -> tuple[str, bool]:
    """The pre-login CSRF value (from its cookie, or a new one) and whether it is new."""
    current = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if len(current) >= 32:
        return current, False
    return secrets.token_urlsafe(32), True


def origin_allowed(scope: Scope, base_url: str = "") -> bool:
    """False only when the browser names another site in ``Origin`` (or sends ``null``): this
    site is the request's ``Host``, or ``base_url``'s (WEB_BASE_URL, for a reverse proxy that
    does not pass the Host header on).

    >>> scope = {"headers": [(b"host", b"127.0.0.1:8600"), (b"origin", b"https://tf.example")]}
    >>> origin_allowed(scope), origin_allowed(scope, "https://tf.example/")
    (False, True)
    """
    headers = dict(scope.get("headers") or [])
    origin = headers.get(b"origin")
    if origin is None:
        return True
    ours = {headers.get(b"host", b"").decode("latin-1").lower()}
    if base_url:
        ours.add(urlsplit(base_url.lower()).netloc)
    netloc = urlsplit(origin.decode("latin-1").lower()).netloc
    return bool(netloc) and netloc in ours


def safe_next(target: str | None, default: str = "/monitors") -> str:
    """A same-site path to go to after login: never another host (``//evil``, ``/\\evil``,
    ``https://…``), never a scheme.

    >>> safe_next("/alerts?x=1"), safe_next("//evil.com"), safe_next("https://e.com/")
    ('/alerts?x=1', '/monitors', '/monitors')
    """
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return default
    if any(c in target for c in "\r\n\t\\") or urlsplit(target).netloc:
        return default
    return target


class SecurityHeaders:
    """ASGI middleware adding the CSP and friends to every response; authenticated responses
    are never cached (a shared computer's back button shows nothing after logout).

    Settings:
        WEB_BASE_URL: when it is an https address, HSTS is sent as well.
    """

    def __init__(self, app: ASGIApp, *, force_https: bool = False) -> None:
        self.app = app
        self.force_https = force_https

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        https = is_https(scope, self.force_https)
        static = str(scope.get("path", "")).startswith("/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                extra = [(b"content-security-policy", CSP), (b"x-content-type-options", "nosniff"),
                         (b"x-frame-options", "DENY"), (b"referrer-policy", "same-origin"),
                         (b"cross-origin-opener-policy", "same-origin"),
                         (b"permissions-policy", "camera=(), microphone=(), geolocation=()")]
                if not static:
                    extra.append((b"cache-control", "no-store"))
                if https:
                    extra.append((b"strict-transport-security", "max-age=31536000"))
                present = {k.lower() for k, _ in headers}
                headers += [(k, v.encode("latin-1")) for k, v in extra if k not in present]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)
