"""Weibo text helpers: HTML post text → plain text, ``//@name:`` repost chains, "100万+" counts.

Pure functions on strings; no Scrapy, no I/O.
"""

from __future__ import annotations

import re
from typing import Any

from lxml import html as lxml_html

__all__ = [
    "clean_html",
    "hashtags",
    "own_text",
    "parse_count",
    "region_of",
    "reply_target",
    "repost_chain",
    "tidy",
]

# Weibo appends three ZERO WIDTH SPACEs (U+200B) to many posts and sprinkles BOMs; both are
# invisible noise. ZERO WIDTH JOINER (U+200D) is NOT removed: it glues emoji sequences (👨‍👩‍👧, 9️‍⃣).
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\ufeff"), None) | {0xA0: " "}
# "//@name:" and "//@name :" with ASCII or full-width colons (both seen in the fixtures).
# Nicknames are 2–30 characters of CJK, letters, digits, "_" and "-": no spaces, colons, "@" or "/".
_CHAIN = re.compile(r"//\s*@([^\s:：@/]+?)\s*[:：]")
_REPLY = re.compile(r"^\s*回复\s*@([^\s:：@/]+?)\s*[:：]")
_HASHTAG = re.compile(r"#([^#\n]{1,64})#")
# Link text that only expands or decorates, never content: m.weibo.cn "全文", weibo.com "展开".
_EXPANDERS = frozenset({"全文", "展开", "收起"})
# IP-location labels name a province, country or "海外": CJK words, maybe "省 市" with a space.
_PLACE = re.compile(r"^[\u4e00-\u9fff]{1,12}(?:\s+[\u4e00-\u9fff]{1,12})?$")
_UNITS = {"万": 10_000, "亿": 100_000_000, "w": 10_000, "W": 10_000, "k": 1_000, "K": 1_000}


def tidy(text: str) -> str:
    """Drop Weibo's invisible characters, turn no-break spaces into spaces, strip the ends."""
    return text.translate(_INVISIBLE).strip()


def clean_html(fragment: str | None) -> str:
    """Plain text of a Weibo HTML fragment (m.weibo.cn ``text``, legacy weibo.com markup).

    Emoticon images become their ``[alt]`` text, because sentiment scoring reads them; ``<br>``
    becomes a newline; links keep their visible text (``#话题#``, ``@name``, ``网页链接``); the
    "全文"/"展开" expanders, icon-font glyphs and alt-less images disappear.

    >>> clean_html('好吃<span class="url-icon"><img alt=[偷笑] src="//x.png" /></span><br />'
    ...            '<a href="/n/小明">@小明</a> ...<a href="/status/1">全文</a>\u200b\u200b')
    '好吃[偷笑]\\n@小明 ...'
    """
    if not fragment:
        return ""
    if "<" not in fragment and "&" not in fragment:
        return tidy(fragment)
    root = lxml_html.fragment_fromstring(fragment, create_parent="div")
    for el in list(root.iter("br", "img", "i", "a", "span")):
        if el.tag == "br":
            _replace(el, "\n")
        elif el.tag == "img":
            alt = (el.get("alt") or el.get("title") or "").strip()
            _replace(el, alt if alt.startswith("[") and alt.endswith("]") else "")
        elif el.tag == "i" and "W_ficon" in (el.get("class") or ""):
            _replace(el, "")  # icon-font glyphs ("¡", "ñ") render as pictures, not text
        elif el.tag in ("a", "span") and el.text_content().strip() in _EXPANDERS:
            _replace(el, "")
    return tidy(root.text_content())


def _replace(el: Any, text: str) -> None:
    """Remove ``el`` (and its children) from the tree, leaving ``text`` and its tail in place."""
    parent = el.getparent()
    if parent is None:
        return
    joined = text + (el.tail or "")
    prev = el.getprevious()
    if prev is not None:
        prev.tail = (prev.tail or "") + joined
    else:
        parent.text = (parent.text or "") + joined
    parent.remove(el)


def repost_chain(text: str) -> list[str]:
    """The ``//@name:`` chain of a repost's plain text: nearest parent first, root-most last.

    >>> repost_chain("哈哈//@扒皮王:科普了//@黄磊子：感谢//@WS求投食 :是时候")
    ['扒皮王', '黄磊子', 'WS求投食']
    """
    return _CHAIN.findall(text)


def own_text(text: str) -> str:
    """What the reposter wrote: the text before the first ``//@`` hop.

    >>> own_text("哈哈哈 //@扒皮王:科普了")
    '哈哈哈'
    """
    m = _CHAIN.search(text)
    return text[: m.start()].strip() if m else text


def reply_target(text: str) -> str | None:
    """The name a comment answers: ``回复@name:…`` → ``name``.

    >>> reply_target("回复@热爱CP:那阿丝们一起搬叭[doge]")
    '热爱CP'
    """
    m = _REPLY.match(text)
    return m.group(1) if m else None


def hashtags(text: str) -> list[str]:
    """``#话题#`` tags in order of appearance, without duplicates.

    >>> hashtags("#614致敬法医##首部法医秦明大电影# 看 #614致敬法医#")
    ['614致敬法医', '首部法医秦明大电影']
    """
    return list(dict.fromkeys(t.strip() for t in _HASHTAG.findall(text) if t.strip()))


def parse_count(value: Any) -> int | None:
    """A Weibo count as an int: 1520885, "1,566,726", "152.1万", "100万+" (a floor), "3亿".

    None for missing or non-numeric values (some pages show the label "转发" when the count is 0).

    >>> [parse_count(v) for v in (348872, "100万+", "152.1万", "1,566,726", "", None, "转发")]
    [348872, 1000000, 1521000, 1566726, None, None, None]
    """
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return int(value)
    s = str(value).strip().replace(",", "").rstrip("+").strip()
    factor = _UNITS.get(s[-1:], 1) if s else 1
    if factor != 1:
        s = s[:-1]
    try:
        return int(round(float(s) * factor))
    except ValueError:
        return None


def region_of(value: Any) -> str | None:
    """The place in Weibo's IP-location labels: "发布于 北京" (posts), "来自广东" (comments).

    Client names share the "来自" prefix on older pages ("来自iPhone客户端"), so only a CJK
    place name counts.

    >>> region_of("发布于 北京"), region_of("来自广东"), region_of("来自iPhone客户端")
    ('北京', '广东', None)
    """
    if not isinstance(value, str):
        return None
    value = value.strip()
    for prefix in ("发布于", "来自"):
        if value.startswith(prefix):
            place = value[len(prefix):].strip()
            return place if _PLACE.match(place) else None
    return None
