"""Helpers shared by the forum engines (Tieba, Discuz!, feeds): ids, HTML → text, charset
decoding, forum timestamps and the "selector found nothing" error. Pure: no Scrapy, no I/O."""

from __future__ import annotations

import copy
import functools
import json
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import lxml.html
import parsel
from parsel.csstranslator import HTMLTranslator
from w3lib.encoding import html_to_unicode

from crawlers.errors import UnexpectedPayload
from crawlers.timeparse import CHINA_TZ, parse_time

__all__ = [
    "PLATFORM",
    "author_key",
    "decode_html",
    "element_text",
    "forum_time",
    "html_text",
    "join_title",
    "load_data_field",
    "merged",
    "nothing_found",
    "page_css",
    "post_key",
    "site_and_base",
    "to_int",
]

PLATFORM = "forum"

# Block elements end a line when a fragment becomes text; <br> too (handled separately).
_BLOCKS = {
    "p",
    "div",
    "li",
    "blockquote",
    "tr",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "table",
    "ul",
    "ol",
}
_HALF_HOUR = re.compile(r"^半\s*小时前$")
_CLOCK_ONLY = re.compile(r"^\d{1,2}:\d{2}$")
_YEAR_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")


def post_key(site: str, kind: str, raw_id: object) -> str:
    """A forum post id namespaced by site and id space: ``tieba:t9117905169`` (a thread),
    ``tieba:p150719088158`` (a floor or 楼中楼), ``bbs.example.com:p30002``.

    The letter matters: Discuz! numbers threads and posts with separate counters, so tid 100
    and pid 100 both exist; Tieba's ranges overlap for old threads too.

    >>> post_key("tieba", "t", 9117905169)
    'tieba:t9117905169'
    """
    return f"{site}:{kind}{raw_id}"


def author_key(site: str, raw_id: object) -> str:
    """An author id namespaced by site: ``tieba:<portrait>``, ``bbs.example.com:10086``."""
    return f"{site}:{raw_id}"


def site_and_base(site: str | None, base: str | None) -> tuple[str | None, str | None]:
    """(site, forum root) from what a caller says: ``site`` may be a SITES name (``s1``), a host
    or the forum root URL itself (``--context site=https://bbs.example.com``, as the warnings
    suggest); the site of a root URL is its host, the root always ends in "/". None for what
    is still unknown.

    >>> site_and_base("https://bbs.example.com", None)
    ('bbs.example.com', 'https://bbs.example.com/')
    >>> site_and_base(None, "https://bbs.saraba1st.com/2b")
    ('bbs.saraba1st.com', 'https://bbs.saraba1st.com/2b/')
    >>> site_and_base("s1", None)
    ('s1', None)
    """
    if site and "://" in site:
        base = base or site
        site = urlsplit(site).hostname
    if base and not base.endswith("/"):
        base += "/"
    if not site and base:
        site = urlsplit(base).hostname
    return site or None, base or None


def merged(defaults: Mapping[str, str], overrides: Mapping[str, str] | None) -> dict[str, str]:
    """A site's selectors: the engine defaults with the SITES row's overrides applied."""
    return {**defaults, **(overrides or {})}


_TRANSLATOR = HTMLTranslator()


@functools.lru_cache(maxsize=256)
def _document_xpath(css: str) -> str:
    return _TRANSLATOR.css_to_xpath(css, prefix="//")


def page_css(page: parsel.Selector, css: str) -> parsel.SelectorList[parsel.Selector]:
    """``page.css(css)`` over the whole document. Tieba's Bigpipe pages hold a second ``<html>``
    element beside the first; parsel's ``.css()`` only searches below the first one."""
    return page.xpath(_document_xpath(css))


def nothing_found(selector: str, page: str) -> UnexpectedPayload:
    """The layout-change error: ``selector`` found nothing on a ``page`` that should have items."""
    return UnexpectedPayload(
        f"selector {selector!r} matched nothing on a {page} (layout changed?)", platform=PLATFORM
    )


def decode_html(body: bytes | str, content_type: str | None = None) -> str:
    """Bytes → text using the HTTP header, BOM or ``<meta charset>`` (GBK and UTF-8 forums both
    exist); undeclared bytes are tried as UTF-8 and then GB18030 (a superset of GBK)."""
    if isinstance(body, str):
        return body
    encoding, text = html_to_unicode(content_type, body, auto_detect_fun=_guess_encoding)
    return _redecode(body, encoding, text)


def _redecode(body: bytes, declared: str, text: str) -> str:
    """The bytes, not the declaration, where they disagree. Forums declare charsets they do not
    use: GBK pages marked UTF-8 decode to U+FFFD, UTF-8 pages marked GBK decode to mojibake
    without an error. Valid multi-byte UTF-8 almost never occurs by chance in GBK text, so bytes
    that decode as UTF-8 are UTF-8; otherwise charset-normalizer judges a text full of U+FFFD.
    """
    if declared.lower().replace("-", "") in ("utf8", "ascii"):
        if "\ufffd" not in text:
            return text
    elif body.isascii():
        return text
    try:
        utf8 = body.decode("utf-8")
    except UnicodeDecodeError:
        utf8 = None
    if utf8 is not None:
        return utf8.removeprefix("\ufeff")
    if "\ufffd" not in text:
        return text
    from charset_normalizer import from_bytes

    best = from_bytes(body).best()
    guess = str(best) if best is not None else body.decode("gb18030", errors="replace")
    return guess if guess.count("\ufffd") < text.count("\ufffd") else text


def _guess_encoding(body: bytes) -> str:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return "gb18030"
    return "utf-8"


def load_data_field(raw: str | None) -> dict[str, Any] | None:
    """A ``data-field`` attribute as a dict, or None when absent or not an object.

    Tieba writes JSON, except that browser-rendered 楼中楼 items carry a JS literal with single
    quotes (``{'pid':'1','spid':'2'}``); neither form is ever evaluated as code.
    """
    if not raw or not raw.strip().startswith("{"):
        return None
    try:
        value = json.loads(raw)
    except ValueError:
        try:
            value = json.loads(_single_to_double_quotes(raw))
        except ValueError:
            return None
    return value if isinstance(value, dict) else None


def _single_to_double_quotes(raw: str) -> str:
    # Only the JS-literal form reaches here: keys and values are quoted with ', values hold no '.
    return re.sub(r"'((?:[^'\\]|\\.)*)'", lambda m: json.dumps(m.group(1)), raw)


def element_text(element: Any, *, drop: str | None = None) -> str:
    """The readable text of an lxml element: lines kept at ``<br>`` and block ends, runs of
    whitespace collapsed, scripts/styles (and elements matching the XPath ``drop``) removed."""
    el = copy.deepcopy(element)
    for bad in el.xpath(".//script|.//style" + (f"|{drop}" if drop else "")):
        bad.drop_tree()
    for node in el.iter():
        if not isinstance(node.tag, str):
            continue
        if node.tag == "br":
            node.tail = "\n" + (node.tail or "")
        elif node.tag in _BLOCKS and node is not el:
            # A block starts and ends a line; empty lines are dropped below.
            node.text = "\n" + (node.text or "")
            node.tail = "\n" + (node.tail or "")
    lines = (" ".join(line.split()) for line in el.text_content().splitlines())
    return "\n".join(line for line in lines if line)


def html_text(fragment: str | None, *, drop: str | None = None) -> str:
    """:func:`element_text` of an HTML fragment string.

    >>> html_text("第一行<br/>第二行 <b>加粗</b><script>x()</script>")
    '第一行\\n第二行 加粗'
    """
    if not fragment or not fragment.strip():
        return ""
    root = lxml.html.fragment_fromstring(fragment, create_parent="div")
    return element_text(root, drop=drop)


def join_title(title: str | None, body: str) -> str:
    """Thread text = title + first-post text: on forums the title often carries the whole point."""
    return "\n".join(part for part in (title or "", body) if part).strip()


def forum_time(text: str | None, *, now: datetime) -> datetime | None:
    """A forum timestamp (China time) → aware UTC, or None when absent or unreadable.

    Adds the forms crawlers.timeparse leaves to platforms: Tieba's bare ``HH:MM`` (today) and
    ``YYYY-MM`` (threads older than a year; month precision), Discuz's ``发表于`` prefix and
    ``半小时前``. An unreadable time becomes None, which the pipeline counts
    (``validate/missing_created_at``) rather than losing the post.
    """
    if not text:
        return None
    text = " ".join(text.replace("发表于", " ").split())
    if not text:
        return None
    if _HALF_HOUR.match(text):
        text = "30分钟前"
    elif _CLOCK_ONLY.match(text):
        text = f"今天 {text}"
    elif m := _YEAR_MONTH.match(text):
        text = f"{m.group(1)}-{m.group(2)}-01"
    try:
        return parse_time(text, now=now, tz=CHINA_TZ)
    except ValueError:
        return None


def to_int(value: object) -> int | None:
    """'1,204' / '12' / 12 → int; None for anything else."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value
    digits = re.sub(r"[,\s]", "", str(value))
    return int(digits) if digits.isdigit() else None
