"""Escape-by-default HTML building for reports and alert emails (no template engine).

Every value becomes text unless it is already ``Markup`` made by ``tag()``; tag and attribute
names are code constants. Crawled text therefore cannot inject markup, whatever it contains.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

__all__ = ["Markup", "esc", "join", "multiline", "safe_url", "tag"]

_NAME = re.compile(r"^[a-z][a-z0-9-]*$")
_VOID = frozenset({"br", "hr", "img", "meta", "link", "col", "input"})
# C0/C1 controls other than tab/newline have no business in a document (and NUL breaks parsers).
_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


class Markup(str):
    """A string of trusted HTML. Only ``tag``, ``join``, ``esc`` and constants make these."""

    __slots__ = ()


def esc(value: Any) -> Markup:
    """``value`` as HTML text: Markup passes through, anything else is escaped (quotes too).

    >>> esc('<script>alert("x")</script>')
    '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;'
    """
    if isinstance(value, Markup):
        return value
    return Markup(html.escape(_CONTROLS.sub("", str(value)), quote=True))


def _children(items: Iterable[Any]) -> Iterable[Markup]:
    for item in items:
        if item is None or item is False:
            continue
        if isinstance(item, (list, tuple)) or (
            not isinstance(item, str) and hasattr(item, "__iter__") and hasattr(item, "__next__")
        ):
            yield from _children(item)
        else:
            yield esc(item)


def join(items: Iterable[Any], sep: str | Markup = "") -> Markup:
    """Escape and concatenate ``items`` (nested lists and generators flattened)."""
    return Markup(esc(sep).join(_children(items)))


def tag(name: str, /, *children: Any, **attrs: Any) -> Markup:
    """One element. ``class_`` → ``class``, ``data_x`` → ``data-x``; None/False attrs are dropped,
    True gives a bare attribute; every attribute value and child is escaped unless Markup.

    >>> tag("a", "<b>", href="https://e.com/?a=1&b=2", class_="x")
    '<a href="https://e.com/?a=1&amp;b=2" class="x">&lt;b&gt;</a>'
    """
    if not _NAME.match(name):
        raise ValueError(f"bad tag name {name!r}")
    parts = [name]
    for key, value in attrs.items():
        attr = key.rstrip("_").replace("_", "-")
        if not _NAME.match(attr):
            raise ValueError(f"bad attribute name {key!r}")
        if value is None or value is False:
            continue
        parts.append(attr if value is True else f'{attr}="{esc(value)}"')
    opening = f"<{' '.join(parts)}>"
    if name in _VOID:
        return Markup(opening)
    return Markup(f"{opening}{join(children)}</{name}>")


def multiline(text: str) -> Markup:
    """Escaped text whose line breaks (CR, LF, CRLF) become ``<br>``."""
    lines = re.split(r"\r\n|\r|\n", text)
    return join(lines, sep=Markup("<br>"))


def safe_url(url: str | None, schemes: tuple[str, ...] = ("http", "https")) -> str | None:
    """``url`` if its scheme is allowed (``javascript:`` and friends are not), else None.

    >>> safe_url("javascript:alert(1)") is None, safe_url("https://weibo.com/1")
    (True, 'https://weibo.com/1')
    """
    if not url:
        return None
    url = _CONTROLS.sub("", url).strip()
    try:
        scheme = urlsplit(url).scheme.lower()
    except ValueError:
        return None
    return url if scheme in schemes and not any(c in url for c in "\r\n\t ") else None
