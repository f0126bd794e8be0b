"""WeChat helpers shared by the Sogou and mp.weixin.qq.com parsers: body decoding, JS variables
of article pages, article keys (__biz, mid, idx), HTML → text, unix times.

Pure functions on strings and bytes; no Scrapy, no I/O, nothing from other platforms.
"""

from __future__ import annotations

import base64
import html
import json
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

from crawlers.errors import UnexpectedPayload

__all__ = [
    "MP",
    "PLATFORM",
    "SOGOU",
    "article_key",
    "article_post_id",
    "biz_from_fakeid",
    "clean_url",
    "copyright_label",
    "decode_body",
    "element_text",
    "js_var",
    "load_json",
    "sogou_image",
    "to_int",
    "unix_time",
]

PLATFORM = "wechat"
MP = "https://mp.weixin.qq.com"
SOGOU = "https://weixin.sogou.com"

_CHARSET = re.compile(rb"""charset\s*=\s*["']?([A-Za-z0-9_.:-]+)""", re.I)
# `var msg_title = "" || "标题";` → the string literals joined by ||; JS takes the first truthy one.
_JS_STRING = r"""(?:"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')"""
_JS_ESCAPE = re.compile(r"""\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|.)""")
_SIMPLE_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f", "v": "\v", "0": "\0"}
_BLOCK_TAGS = frozenset(
    (
        "p div section br li ul ol h1 h2 h3 h4 h5 h6 blockquote tr table figure figcaption pre hr"
    ).split()
)
_SKIP_TAGS = frozenset(("script", "style", "noscript", "template"))
# Sogou's 2017 copyright codes in history lists (community consensus, see module mp): 11 original,
# 100 not declared, 101/201 reprint. The back office's copyright_type: 1 original, 2 reprint.
_COPYRIGHT_STAT = {11: "original", 100: "none", 101: "reprint", 201: "reprint"}
_COPYRIGHT_TYPE = {0: "none", 1: "original", 2: "reprint"}


def decode_body(body: bytes, url: str | None = None) -> str:
    """Text of a body: UTF-8, else its declared charset, else GB18030 (Sogou's legacy pages).

    :raises UnexpectedPayload: when nothing decodes the bytes.
    """
    if body.startswith(b"\xef\xbb\xbf"):
        body = body[3:]
    candidates = ["utf-8"]
    declared = _CHARSET.search(body[:2048])
    if declared:
        candidates.append(declared.group(1).decode("ascii", "replace").lower())
    candidates.append("gb18030")
    for encoding in dict.fromkeys(candidates):
        try:
            return body.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            continue
    raise UnexpectedPayload(
        f"cannot decode the body ({len(body)} bytes) as UTF-8 or GBK", platform=PLATFORM, url=url
    )


def load_json(body: bytes | str, url: str | None = None) -> Any:
    """The JSON document in ``body``.

    :raises UnexpectedPayload: for an empty, truncated or non-JSON body (with its first bytes).
    """
    text = decode_body(body, url) if isinstance(body, bytes) else body
    try:
        return json.loads(text)
    except ValueError as exc:
        head = text[:60].replace("\n", " ")
        raise UnexpectedPayload(
            f"expected JSON, got {len(text)} characters starting {head!r} ({exc})",
            platform=PLATFORM,
            url=url,
        ) from None


def _unescape_js(literal: str) -> str:
    def one(m: re.Match[str]) -> str:
        code = m.group(1)
        if code[0] in "xu" and len(code) > 1:
            return chr(int(code[1:], 16))
        return _SIMPLE_ESCAPES.get(code, code)

    return _JS_ESCAPE.sub(one, literal[1:-1])


def js_var(page: str, name: str) -> str | None:
    """The value of ``var <name> = "a" || "b";`` on an article page: the first non-empty literal,
    JS escapes decoded, HTML entities unescaped (WeChat HTML-escapes titles inside the strings).

    >>> js_var('var ct = "" || "1522968980";', "ct")
    '1522968980'
    >>> js_var('var msg_desc = "a\\\\x0ab &amp; c";', "msg_desc")
    'a\\nb & c'
    """
    m = re.search(rf"\bvar\s+{re.escape(name)}\s*=\s*((?:{_JS_STRING}\s*(?:\|\|\s*)?)+)", page)
    if m is None:
        return None
    literals = re.findall(_JS_STRING, m.group(1))
    values = [_unescape_js(lit) for lit in literals]
    for value in values:
        if value:
            return html.unescape(value)
    return "" if values else None


def clean_url(url: str | None, base: str = MP) -> str | None:
    """A link as found in history JSON (``http:\\/\\/…&amp;…#wechat_redirect``) made usable."""
    if not url:
        return None
    url = html.unescape(url.replace("\\/", "/")).strip()
    return urljoin(base + "/", url) if url.startswith("/") else url


def article_key(url: str | None) -> tuple[str, str, str, str] | None:
    """(__biz, mid, idx, sn) of a permanent article link, or None for temporary (src=3) links.

    >>> article_key("http://mp.weixin.qq.com/s?__biz=MjM5MA==&mid=26&idx=2&sn=ab#rd")
    ('MjM5MA==', '26', '2', 'ab')
    """
    url = clean_url(url)
    if not url:
        return None
    q = parse_qs(urlsplit(url).query)
    biz, mid = q.get("__biz", [""])[0], (q.get("mid") or q.get("appmsgid") or [""])[0]
    if not biz or not mid:
        return None
    return biz, mid, (q.get("idx") or q.get("itemidx") or ["1"])[0], q.get("sn", [""])[0]


def article_post_id(biz: str, mid: str | int, idx: str | int) -> str:
    """The post id of an article: ``<__biz>:<mid>:<idx>`` (one push, ``mid``, carries up to eight
    articles, ``idx`` 1–8; ``__biz`` names the account, so the triple is unique)."""
    return f"{biz}:{mid}:{idx}"


def biz_from_fakeid(fakeid: str | int | None) -> str | None:
    """``__biz`` is the base64 of the account's numeric id (``fakeid`` in history JSON).

    >>> biz_from_fakeid("2392024520")
    'MjM5MjAyNDUyMA=='
    """
    if fakeid in (None, "", 0, "0"):
        return None
    return base64.b64encode(str(fakeid).encode("ascii")).decode("ascii")


def copyright_label(*, stat: Any = None, type_: Any = None) -> str:
    """'original' | 'reprint' | 'none' | 'unknown' from copyright_stat or copyright_type."""
    if stat not in (None, ""):
        return _COPYRIGHT_STAT.get(to_int(stat) or -1, "unknown")
    if type_ not in (None, ""):
        return _COPYRIGHT_TYPE.get(to_int(type_) or 0, "unknown")
    return "unknown"


def sogou_image(src: str | None) -> str | None:
    """The original image URL behind Sogou's image proxy (``…/link?appid=…&url=<original>``)."""
    if not src:
        return None
    src = html.unescape(src)
    if "sogoucdn.com" in src and "url=" in src:
        inner = parse_qs(urlsplit(src).query).get("url")
        if inner:
            return inner[0]
    return src


def to_count(value: Any) -> int | None:
    """A read/like count as WeChat and Sogou show it: 12, "12", "1,234", "3.5万", and "10万+"
    (shown for anything over 100,000) as 100001, the convention of 清博's WCI.

    >>> [to_count(v) for v in (12, "1,234", "3.5万", "10万+", "100000+", "n/a")]
    [12, 1234, 35000, 100001, 100001, None]
    """
    if isinstance(value, str):
        text = value.strip().replace(",", "")
        plus = text.endswith("+")
        text = text.rstrip("+")
        scale = 10000 if text.endswith("万") else 1
        try:
            number = round(float(text.rstrip("万")) * scale)
        except ValueError:
            return None
        return number + (1 if plus else 0)
    return to_int(value)


def to_int(value: Any) -> int | None:
    """An int from 12, "12" or "12.0"; None for anything else."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value
    try:
        return int(float(str(value).strip()))
    except ValueError:
        return None


def unix_time(value: Any) -> datetime | None:
    """Aware UTC datetime from unix seconds (int or digit string); None when absent or zero."""
    seconds = to_int(value)
    if not seconds:
        return None
    if seconds > 10**11:  # milliseconds
        seconds //= 1000
    return datetime.fromtimestamp(seconds, tz=UTC)


def element_text(root: Any) -> str:
    """Readable text of an lxml element: block elements become line breaks, scripts and styles
    are skipped, whitespace is tidied, empty lines are dropped."""
    parts: list[str] = []

    def walk(node: Any) -> None:
        tag = node.tag if isinstance(node.tag, str) else ""
        if tag.lower() not in _SKIP_TAGS and tag:
            block = tag.lower() in _BLOCK_TAGS
            if block:
                parts.append("\n")
            if node.text:
                parts.append(node.text)
            for child in node:
                walk(child)
            if block:
                parts.append("\n")
        if node is not root and node.tail:
            parts.append(node.tail)

    walk(root)
    lines = (" ".join(line.replace("\xa0", " ").split()) for line in "".join(parts).splitlines())
    return "\n".join(line for line in lines if line)
