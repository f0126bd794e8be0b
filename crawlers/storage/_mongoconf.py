"""MongoStore's connection settings (MONGO_*), checked before any work starts.

Pure: no pymongo import, so ``check_settings`` can refuse a bad value in a process that never
opens MongoDB, and the message names the setting and the fix in one line.

Precedence, per option: an option written in the store URI (``?w=1&readPreference=secondary``,
``journal``, ``wtimeoutMS``, ``maxPoolSize``) wins over the MONGO_* setting, which wins over the
built-in default. The URI is what an operator copies from the cluster's console, so it is the
more specific choice; the settings give every process the same defaults without editing URIs.

Two things no URI or setting weakens: alert claims, alert dedupe, monitor definitions and run
records (``MongoStore``'s coordination collections) are always read from the primary and written
with ``w="majority"``. A claim acknowledged by the primary alone can be rolled back by a
fail-over, and a second process would then deliver the same alert again; a secondary may not yet
hold the alert a claim is about.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from crawlers.errors import ConfigError

__all__ = ["READ_PREFERENCES", "MongoOptions", "mongo_options", "uri_option_names"]

# The read preference modes MongoDB drivers accept, by lower-case name.
READ_PREFERENCES = {name.lower(): name for name in (
    "primary", "primaryPreferred", "secondary", "secondaryPreferred", "nearest")}
_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off", "")


@dataclass(frozen=True)
class MongoOptions:
    """Checked MONGO_* values. ``w`` is "majority" or a number of members (≥ 1);
    ``wtimeout_ms`` 0 means wait without limit; ``read_preference`` is a canonical mode name."""

    w: int | str = "majority"
    journal: bool = True
    wtimeout_ms: int = 10000
    read_preference: str = "primary"
    max_pool_size: int = 100

    def write_concern(self) -> dict[str, Any]:
        """Keyword arguments of ``pymongo.write_concern.WriteConcern`` (journal False: the
        server's default, not j=False, which would forbid waiting for the journal)."""
        out: dict[str, Any] = {"w": self.w}
        if self.journal:
            out["j"] = True
        if self.wtimeout_ms:
            out["wtimeout"] = self.wtimeout_ms
        return out


def mongo_options(settings: Mapping[str, Any] | Any) -> MongoOptions:
    """The MONGO_* settings of ``settings`` (anything with ``.get``: Scrapy Settings, a dict, the
    settings module's namespace) checked; missing ones take the defaults.

    :raises ConfigError: one line naming the setting, its environment variable and the fix.
    """
    default = MongoOptions()

    def get(name: str, fallback: Any) -> Any:
        value = settings.get(name)
        return fallback if value is None or value == "" else value

    raw_w = get("MONGO_WRITE_CONCERN", default.w)
    w: int | str
    if str(raw_w).strip().lower() == "majority":
        w = "majority"
    else:
        w = _count(raw_w, "MONGO_WRITE_CONCERN", "TINGFENG_MONGO_WRITE_CONCERN", minimum=1,
                   fix='use "majority" (the default) or a number of members such as 1; w=0 '
                       "is refused: unacknowledged writes cannot report counts or duplicates")
    raw_j = get("MONGO_JOURNAL", default.journal)
    if isinstance(raw_j, bool):
        journal = raw_j
    elif str(raw_j).strip().lower() in _TRUE + _FALSE:
        journal = str(raw_j).strip().lower() in _TRUE
    else:
        raise ConfigError(f"MONGO_JOURNAL={raw_j!r} (TINGFENG_MONGO_JOURNAL): use true or false")
    wtimeout = _count(get("MONGO_WTIMEOUT_MS", default.wtimeout_ms), "MONGO_WTIMEOUT_MS",
                      "TINGFENG_MONGO_WTIMEOUT_MS", minimum=0,
                      fix="use milliseconds such as 10000 (0 = wait without limit)")
    raw_read = str(get("MONGO_READ_PREFERENCE", default.read_preference)).strip()
    read = READ_PREFERENCES.get(raw_read.lower())
    if read is None:
        raise ConfigError(f"MONGO_READ_PREFERENCE={raw_read!r} (TINGFENG_MONGO_READ_PREFERENCE): "
                          f"use one of {', '.join(READ_PREFERENCES.values())}")
    pool = _count(get("MONGO_MAX_POOL_SIZE", default.max_pool_size), "MONGO_MAX_POOL_SIZE",
                  "TINGFENG_MONGO_MAX_POOL_SIZE", minimum=1,
                  fix="use a number of connections per server such as 100")
    return MongoOptions(w=w, journal=journal, wtimeout_ms=wtimeout, read_preference=read,
                        max_pool_size=pool)


def _count(raw: Any, name: str, env: str, *, minimum: int, fix: str) -> int:
    if isinstance(raw, bool):
        value = None
    elif isinstance(raw, int):
        value = raw
    else:
        text = str(raw).strip()
        value = int(text) if text.isdigit() else None
    if value is None or value < minimum:
        raise ConfigError(f"{name}={raw!r} ({env}): {fix}")
    return value


def uri_option_names(uri: str) -> set[str]:
    """The lower-cased option names written in a ``mongodb://`` or ``mongodb+srv://`` URI's
    query (read without DNS: ``pymongo.uri_parser`` resolves ``+srv`` hosts)."""
    return {key.lower() for key, _ in parse_qsl(urlsplit(uri).query, keep_blank_values=True)}
