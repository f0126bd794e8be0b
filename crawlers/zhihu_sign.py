"""Zhihu request signing (``x-zse-93`` / ``x-zse-96``), kept apart from the spider because it
changes whenever Zhihu ships a new web client. Imports nothing from Scrapy.

What Zhihu's web client sends with every ``/api/v4`` request (community reverse engineering of
``main.app.js``, 2021–2025; readers: MediaCrawler ``media_platform/zhihu/help.py::sign`` and the
ports it credits):

1. ``x-zse-93 = "101_3_3.0"``: the version of the scheme (it was ``101_3_2.0`` before).
2. ``source = x-zse-93 + "+" + path?query + "+" + d_c0`` (``+ "+" + x-zst-81`` when that header is
   sent): ``path?query`` exactly as requested (``/api/v4/search_v3?t=general&q=…``), ``d_c0`` the
   value of the ``d_c0`` cookie, unquoted.
3. ``md5(source)`` as 32 lowercase hex digits.
4. ``x-zse-96 = "2.0_" + E(md5)``. ``E`` runs inside a JS virtual machine (JSVMP) in Zhihu's
   obfuscated client. Ports describe it as an SM4-like block cipher in CBC mode with built-in
   round keys, a random first byte and a custom base64 alphabet. Its constants change with the
   client.

What is real here: steps 1–3 and assembling the headers. They are plain string building, tested
in tests/test_spiders_zhihu.py. What is pluggable: step 4. We do not ship ``E``. Its constants
come from Zhihu's obfuscated code, no public test vector lets us check a port offline, and it
would break silently on Zhihu's next release. The ``ZHIHU_SIGNER`` setting supplies it:

* ``cmd:<program and arguments>``: run once per request (no shell). It gets one JSON object on
  stdin, ``{"x_zse_93", "path", "d_c0", "x_zst_81", "source", "md5"}``, and prints the x-zse-96
  value (``2.0_…``, or only the part after ``2.0_``) on stdout. Example: a node script that
  loads Zhihu's own client code.
* ``python:<module>:<function>``: called with a :class:`SignRequest`, returns the same string.

Without a signer, requests carry only ``x-zse-93``, and Zhihu usually answers 40362 or 403. The
spider warns about this when it starts. The d_c0 cookie is a secret: it appears in no repr,
message or log.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import re
import shlex
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

from crawlers.errors import ConfigError

__all__ = [
    "X_ZSE_93",
    "CommandSigner",
    "SignRequest",
    "Signer",
    "d_c0_from_cookie",
    "load_signer",
    "path_of",
    "sign_headers",
]

X_ZSE_93 = "101_3_3.0"
_SIGNATURE = re.compile(r"^[A-Za-z0-9+/=_.\-]{8,512}$")


@dataclass(frozen=True)
class SignRequest:
    """Everything a signer may need for one request. ``d_c0`` never shows in its repr."""

    path: str
    d_c0: str = field(repr=False)
    x_zse_93: str = X_ZSE_93
    x_zst_81: str = ""

    @property
    def source(self) -> str:
        """The string Zhihu hashes: ``x-zse-93+path?query+d_c0[+x-zst-81]``."""
        parts = [self.x_zse_93, self.path, self.d_c0]
        if self.x_zst_81:
            parts.append(self.x_zst_81)
        return "+".join(parts)

    @property
    def md5(self) -> str:
        """md5 of :attr:`source`, 32 lowercase hex digits."""
        return hashlib.md5(self.source.encode("utf-8")).hexdigest()

    def to_json(self) -> str:
        """What a ``cmd:`` signer reads on stdin."""
        return json.dumps(
            {
                "x_zse_93": self.x_zse_93,
                "path": self.path,
                "d_c0": self.d_c0,
                "x_zst_81": self.x_zst_81,
                "source": self.source,
                "md5": self.md5,
            },
            ensure_ascii=False,
        )


Signer = Callable[[SignRequest], str]


def path_of(url: str) -> str:
    """``/path?query`` of a URL, as signed (the query string exactly as sent).

    >>> path_of("https://www.zhihu.com/api/v4/search_v3?t=general&q=%E6%B5%8B")
    '/api/v4/search_v3?t=general&q=%E6%B5%8B'
    """
    parts = urlsplit(url)
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


def d_c0_from_cookie(cookie: str) -> str | None:
    """The ``d_c0`` value of a Cookie header, unquoted (browsers store it as ``"AB…=|1677…"``).

    >>> d_c0_from_cookie('z_c0=x; d_c0="AMAW7Hf1ahY=|1677915009"')
    'AMAW7Hf1ahY=|1677915009'
    """
    # Split by hand: SimpleCookie stops at the first value it dislikes and loses the rest.
    for part in (cookie or "").split(";"):
        name, _, value = part.strip().partition("=")
        if name == "d_c0" and value:
            return unquote(value).strip('"') or None
    return None


class CommandSigner:
    """A signer that runs an external program per request (see the module docstring)."""

    def __init__(self, argv: list[str], timeout: float = 10.0) -> None:
        if not argv:
            raise ConfigError("ZHIHU_SIGNER=cmd: needs a program, e.g. cmd:node sign.js")
        self.argv = argv
        self.timeout = timeout

    def __repr__(self) -> str:
        return f"CommandSigner({self.argv[0]!r})"

    def __call__(self, request: SignRequest) -> str:
        try:
            done = subprocess.run(
                self.argv,
                input=request.to_json(),
                capture_output=True,
                text=True,
                timeout=self.timeout,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise ConfigError(
                f"ZHIHU_SIGNER program {self.argv[0]!r} could not run: {type(exc).__name__}"
            ) from None
        if done.returncode != 0:
            raise ConfigError(
                f"ZHIHU_SIGNER program {self.argv[0]!r} exited with {done.returncode}; run it by "
                "hand with a request JSON on stdin to see why"
            )
        return done.stdout.strip()


def _import_signer(ref: str) -> Signer:
    module_name, _, attr = ref.partition(":")
    if not module_name or not attr:
        raise ConfigError(f"ZHIHU_SIGNER=python:{ref}: use python:package.module:function")
    try:
        fn = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"ZHIHU_SIGNER=python:{ref} cannot be imported: {exc}") from None
    if not callable(fn):
        raise ConfigError(f"ZHIHU_SIGNER=python:{ref} is not callable")
    return fn  # type: ignore[no-any-return]


def load_signer(spec: str | None) -> Signer | None:
    """The signer a ZHIHU_SIGNER value names; None when it is empty.

    :raises ConfigError: for an unknown form (the message lists the two known ones).
    """
    spec = (spec or "").strip()
    if not spec:
        return None
    kind, _, rest = spec.partition(":")
    if kind == "cmd":
        return CommandSigner(shlex.split(rest))
    if kind == "python":
        return _import_signer(rest.strip())
    raise ConfigError(
        f"ZHIHU_SIGNER={spec!r}: use cmd:<program args> or python:<module>:<function>"
    )


def sign_headers(
    url: str, cookie: str, signer: Signer | None, *, x_zst_81: str = ""
) -> dict[str, str]:
    """The signing headers for a request to ``url`` (the real zhihu.com URL, not a rebased one).

    Always ``x-zse-93``; ``x-zse-96`` when there is a signer and the cookie holds ``d_c0``.

    :raises ConfigError: when the signer fails or returns something that is not a signature.
    """
    headers = {"x-zse-93": X_ZSE_93}
    if x_zst_81:
        headers["x-zst-81"] = x_zst_81
    d_c0 = d_c0_from_cookie(cookie)
    if signer is None or not d_c0:
        return headers
    value = str(signer(SignRequest(path_of(url), d_c0, X_ZSE_93, x_zst_81)) or "").strip()
    if not value.startswith("2.0_"):
        value = "2.0_" + value
    if not _SIGNATURE.match(value):
        raise ConfigError(
            "ZHIHU_SIGNER returned something that is not an x-zse-96 value "
            "(expected 2.0_ followed by base64-like characters on one line)"
        )
    headers["x-zse-96"] = value
    return headers
