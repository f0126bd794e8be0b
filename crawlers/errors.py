"""Tingfeng's exception tree. Platform modules raise these; one middleware decides what to do.

* TingfengError
  * CrawlerError
    x PlatformError(platform, url, message)  detected by a platform module's check_response()
      + RateLimited(retry_after)             → retry with backoff; repeated → close "rate_limited"
      + LoginRequired                        → close the crawl "login_required" (crawl-health alert)
      + Blocked                              → anti-bot wall (418/432, captcha): close "blocked"
      + ContentUnavailable                   → skip the request; post marked deleted
      + UnexpectedPayload                    → counted and logged with the URL; the crawl goes on
  * StoreError
    x BackendUnavailable                     the database cannot be reached; callers retry later
    x UnknownScheme                          STORE_URI names a scheme nobody implements
    x IntegrityError                         the backend refused a write as inconsistent
  * ConfigError                              a setting or argument is wrong; names the fix
  * MailError                                the mail server refused or could not be reached

Inside Scrapy, ``scrapy.exceptions.NotConfigured`` plays ConfigError's part for components.
"""

from __future__ import annotations

__all__ = [
    "BackendUnavailable",
    "Blocked",
    "ConfigError",
    "ContentUnavailable",
    "CrawlerError",
    "IntegrityError",
    "LoginRequired",
    "MailError",
    "PlatformError",
    "RateLimited",
    "StoreError",
    "TingfengError",
    "UnexpectedPayload",
    "UnknownScheme",
]


class TingfengError(Exception):
    """Base of every error Tingfeng raises on purpose."""


class CrawlerError(TingfengError):
    """Something went wrong while collecting."""


class PlatformError(CrawlerError):
    """A platform answered with something other than the content asked for.

    ``reason`` is the short slug used in stats (``platform/<slug>/<reason>``).
    """

    reason = "platform_error"

    def __init__(self, message: str, *, platform: str = "", url: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.platform = platform
        self.url = url

    def __str__(self) -> str:
        where = f" ({self.url})" if self.url else ""
        return f"{self.platform or 'platform'}: {self.message}{where}"


class RateLimited(PlatformError):
    """The platform asks us to slow down (Weibo errno 100005, HTTP 429…)."""

    reason = "rate_limited"

    def __init__(
        self,
        message: str,
        *,
        platform: str = "",
        url: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, platform=platform, url=url)
        self.retry_after = retry_after


class LoginRequired(PlatformError):
    """The content needs a logged-in session (or the session expired)."""

    reason = "login_required"


class Blocked(PlatformError):
    """An anti-bot wall: HTTP 418/432, a captcha page, a frozen account."""

    reason = "blocked"


class ContentUnavailable(PlatformError):
    """The content is gone: deleted, expired link, access denied for this item only."""

    reason = "content_unavailable"


class UnexpectedPayload(PlatformError):
    """The body is not the shape the parser knows: layout change, truncation, bad encoding."""

    reason = "unexpected_payload"


class StoreError(TingfengError):
    """Base of the store family; backends translate driver errors into these."""


class BackendUnavailable(StoreError):
    """The database cannot be reached or is locked; the work should be retried later."""


class UnknownScheme(StoreError):
    """STORE_URI names a scheme no backend implements."""


class IntegrityError(StoreError):
    """The backend refused a write as inconsistent."""


class ConfigError(TingfengError):
    """A setting or argument is wrong. The message says which and how to fix it."""


class MailError(TingfengError):
    """Sending mail failed; the alert stays pending and is retried."""
