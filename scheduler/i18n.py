"""Reader-facing wording: one gettext catalogue, Chinese by default, English by setting.

Message ids are the Chinese text itself (the readers' language, and what a developer greps for);
``scheduler/locale/en/LC_MESSAGES/tingfeng.po`` holds the English. The catalogue is read with
Babel and served through the standard :mod:`gettext` machinery, so no compiled ``.mo`` file is
kept in the repository: the ``.po`` is the single source. Times are shown in 北京时间 (the
``MONITOR_TIMEZONE``, Asia/Shanghai by default) and numbers in the reader's locale.

Settings: ``LANGUAGE`` (``zh_CN``, the default, or ``en``; env ``TINGFENG_LANGUAGE``).
"""

from __future__ import annotations

import functools
import gettext
import io
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal, format_percent

from crawlers.errors import ConfigError

__all__ = ["DOMAIN", "LANGUAGES", "Wording", "check_language", "wording", "wording_for"]

DOMAIN = "tingfeng"
LANGUAGES = ("zh_CN", "en")
LOCALE_DIR = Path(__file__).with_name("locale")
_BABEL_LOCALE = {"zh_CN": "zh_Hans_CN", "en": "en"}


def check_language(value: Any) -> str:
    """The language code for a ``LANGUAGE`` setting, or a ConfigError naming the choices.

    >>> check_language("zh-CN"), check_language("EN"), check_language("")
    ('zh_CN', 'en', 'zh_CN')
    """
    text = str(value or "zh_CN").strip().replace("-", "_")
    for lang in LANGUAGES:
        if text.lower() == lang.lower() or text.lower() in {"zh", "cn"} and lang == "zh_CN":
            return lang
    raise ConfigError(f"LANGUAGE={value!r} is not supported; use one of: {', '.join(LANGUAGES)}")


@functools.cache
def _translations(lang: str) -> gettext.NullTranslations:
    if lang == "zh_CN":
        return gettext.NullTranslations()  # the ids are the Chinese text
    po = LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
    with po.open("rb") as fh:
        catalog = read_po(fh, locale=lang, domain=DOMAIN)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


class Wording:
    """Translate and format for one language: ``w("监测")``, ``w.time(dt)``, ``w.number(3.5)``.

    >>> en = wording("en")
    >>> en("北京时间"), wording("zh_CN")("北京时间")
    ('Beijing time', '北京时间')
    >>> en.percent(0.456), wording().number(12345)
    ('45.6%', '12,345')
    """

    def __init__(self, lang: str = "zh_CN", timezone: str = "Asia/Shanghai") -> None:
        self.lang = check_language(lang)
        self.zone = ZoneInfo(timezone or "Asia/Shanghai")
        self._t = _translations(self.lang)
        self._locale = _BABEL_LOCALE[self.lang]

    def __call__(self, message: str, **values: Any) -> str:
        text = self._t.gettext(message)
        return text.format(**values) if values else text

    def plural(self, singular: str, plural: str, n: int, **values: Any) -> str:
        return self._t.ngettext(singular, plural, n).format(n=n, **values)

    def time(self, moment: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
        """``moment`` in the reader's zone (北京时间 by default); ``—`` for none."""
        return moment.astimezone(self.zone).strftime(fmt) if moment else "—"

    def window(self, start: datetime | None, end: datetime | None) -> str:
        """A time range with its zone named: ``2026-11-24 10:00 – 11:00（北京时间）``."""
        return self("{start} – {end}（北京时间）", start=self.time(start), end=self.time(end))

    def label(self, label: str, value: str) -> str:
        """``label：value`` with the language's colon (``label: value`` in English)."""
        return self("{label}：{value}", label=label, value=value)

    def number(self, value: float | None, digits: int = 0) -> str:
        if value is None:
            return "—"
        pattern = "#,##0" + ("." + "#" * digits if digits else "")
        return format_decimal(value, format=pattern, locale=self._locale)

    def percent(self, value: float | None) -> str:
        if value is None:
            return "—"
        return format_percent(value, format="#,##0.0%", locale=self._locale)


@functools.cache
def wording(lang: str = "zh_CN", timezone: str = "Asia/Shanghai") -> Wording:
    """The shared :class:`Wording` for ``lang`` (cached)."""
    return Wording(lang, timezone)


def wording_for(settings: Mapping[str, Any] | None) -> Wording:
    """The wording a settings mapping asks for (``LANGUAGE``, ``MONITOR_TIMEZONE``)."""
    settings = settings or {}
    return wording(check_language(settings.get("LANGUAGE")),
                   str(settings.get("MONITOR_TIMEZONE") or "Asia/Shanghai"))
