"""Record ↔ document helpers shared by the store backends, and the reference merge rules.

A *document* is a record as a dict without its None-valued fields; backends choose how datetimes
are written (fixed-width UTC text for JSON, aware datetimes for BSON). No driver imports here.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from typing import Any, TypeVar

from crawlers.errors import IntegrityError

__all__ = [
    "batched",
    "check_extra",
    "describe",
    "json_doc",
    "json_text",
    "keeps_stored_text",
    "merge_docs",
    "record_doc",
    "utc",
    "utc_text",
    "window_key",
]

T = TypeVar("T")

# Compact, UTF-8 (half the bytes of \u escapes for Chinese text) and strict: NaN is not JSON,
# and SQLite's JSON functions would reject it later with a less helpful message.
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)
_ASCII_ENCODER = json.JSONEncoder(ensure_ascii=True, separators=(",", ":"), allow_nan=False)


def json_text(value: Any, *, ascii_only: bool = False) -> str:
    """``value`` as compact JSON text. ``ascii_only`` escapes every non-ASCII character, which
    also carries lone surrogates (truncated emoji in crawled text) that UTF-8 cannot encode."""
    return (_ASCII_ENCODER if ascii_only else _ENCODER).encode(value)


def utc(value: datetime) -> datetime:
    """``value`` as an aware UTC datetime; a naive one is taken to be UTC already."""
    if value.tzinfo is UTC:
        return value
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def utc_text(value: datetime) -> str:
    """Fixed-width UTC ISO-8601 text, so that text order is time order.

    >>> from datetime import timedelta, timezone
    >>> utc_text(datetime(2024, 1, 2, 8, 30, tzinfo=timezone(timedelta(hours=8))))
    '2024-01-02T00:30:00.000000+00:00'
    """
    return utc(value).isoformat(timespec="microseconds")


def record_doc(record: Any, datetimes: Callable[[datetime], Any] = utc_text) -> dict[str, Any]:
    """The record's known fields; datetimes converted by ``datetimes``, topics deduplicated
    and sorted, None values dropped from ``extra``. Lists and dicts are not copied.

    None, ``""`` and ``[]`` all mean "not known here": a sparse record (a list entry with only a
    digest, a long-text body without its repost chain) never erases what a fuller one stored.

    >>> from crawlers.items import Post
    >>> sorted(record_doc(Post("weibo", "1", text="", repost_path=[], topics=["b", "a", "b"])))
    ['extra', 'kind', 'platform', 'post_id', 'topics']
    """
    doc = {name: value for name, value in vars(record).items()
           if value is not None and value != "" and value != []}
    for name in _datetime_fields(type(record)):
        value = doc.get(name)
        if value is not None:
            doc[name] = datetimes(value)
    topics = doc.get("topics")
    if topics:
        doc["topics"] = sorted(set(topics))
    extra = doc.get("extra")
    if extra:
        if None in extra.values():
            doc["extra"] = extra = {k: v for k, v in extra.items() if v is not None}
        check_extra(record, extra)
    return doc


_DATETIME_FIELDS: dict[type, tuple[str, ...]] = {}


def _datetime_fields(cls: type) -> tuple[str, ...]:
    names = _DATETIME_FIELDS.get(cls)
    if names is None:
        names = _DATETIME_FIELDS[cls] = tuple(
            f.name for f in dataclasses.fields(cls) if "datetime" in str(f.type)
        )
    return names


def check_extra(record: Any, extra: dict[str, Any]) -> None:
    """Refuse ``extra`` keys that MongoStore cannot merge key by key.

    MongoDB reads ``a.b`` as a path and ``$x`` as an operator. Every backend applies the same
    rule so that data collected into one store can move to another.
    """
    for key in extra:
        if not isinstance(key, str) or not key or "." in key or key[0] == "$":
            raise IntegrityError(
                f"{describe(record)}: extra key {key!r} is not a plain name; use a non-empty "
                "string without '.' or a leading '$' (nest such data under a plain key)"
            )


def json_doc(record: Any) -> dict[str, Any]:
    """``record_doc(record)``, refused with IntegrityError if it cannot be JSON."""
    doc = record_doc(record)
    try:
        json_text(doc)
    except (TypeError, ValueError) as exc:
        raise IntegrityError(f"{describe(record)} cannot be stored as JSON: {exc}") from exc
    return doc


def merge_docs(stored: dict[str, Any], incoming: dict[str, Any]) -> dict[str, Any]:
    """The upsert merge every backend implements: ``incoming`` (None fields already dropped)
    wins field by field, except a ``text`` that :func:`keeps_stored_text` refuses; ``topics``
    are unioned, ``extra`` is merged key by key.

    >>> merge_docs({"text": "a", "like_count": 1, "topics": ["x"], "extra": {"k": 1}},
    ...            {"like_count": 2, "topics": ["y"], "extra": {"j": 2}})
    {'text': 'a', 'like_count': 2, 'topics': ['x', 'y'], 'extra': {'k': 1, 'j': 2}}
    >>> merge_docs({"text": "完整的正文，一字不少"}, {"text": "完整的正文…全文"})["text"]
    '完整的正文，一字不少'
    """
    merged = {**stored, **incoming}
    if keeps_stored_text(stored.get("text"), incoming.get("text")):
        merged["text"] = stored["text"]
    if "topics" in stored and "topics" in incoming:
        merged["topics"] = sorted(set(stored["topics"]) | set(incoming["topics"]))
    if "extra" in stored and "extra" in incoming:
        merged["extra"] = {**stored["extra"], **incoming["extra"]}
    return merged


# What a platform appends to a cut text: ellipses (… ⋯ or two or more dots) and "read more"
# links, in any mix, with the whitespace around them.
_TRUNCATION_TAIL = re.compile(r"(?:\s|…|⋯|\.{2,}|展开全文|阅读全文|查看全文|显示全部|全文|展开)+\Z")
_REPLACEMENT = "\ufffd"  # U+FFFD: what a decoder writes for bytes it could not read


def _untruncated(text: str) -> str:
    """``text`` without a trailing truncation mark or whitespace."""
    return _TRUNCATION_TAIL.sub("", text)


def keeps_stored_text(stored: str | None, incoming: str | None) -> bool:
    """True when an upsert must keep the ``stored`` text rather than write ``incoming``:
    the store never overwrites text with worse text. One rule for every backend.

    Worse means, with both texts non-empty and different:

    1. *Truncated*: ``incoming`` without its trailing "…", "...", "全文", "展开全文"… (see
       ``_TRUNCATION_TAIL``) is a prefix of ``stored`` without its own, and either shorter, or
       as long but only ``incoming`` carried a mark (a search snippet over a detail page).
    2. *Mojibake*: ``incoming`` has more U+FFFD replacement characters than ``stored`` and is
       no longer than it (the brief's "shorter, with U+FFFD while the stored has none",
       widened to equal lengths, which is how one broken character per character looks).

    Anything else (a genuinely edited text, a longer text, a full text over a snippet) wins.
    An empty ``incoming`` never reaches a merge: "" means "not known here" and the stored text
    stays (see ``record_doc``); this function returns False for it, as there is nothing to
    refuse. A prefix rule cannot tell a truncation from an author deleting the end of their
    post; the stored, longer text wins that case.

    >>> keeps_stored_text("今天发布会的完整内容如下", "今天发布会的...全文")
    True
    >>> keeps_stored_text("今天发布会的…全文", "今天发布会的完整内容如下")
    False
    >>> keeps_stored_text("天气很好", "天气\ufffd\ufffd")
    True
    >>> keeps_stored_text("原来的说法", "更正后的说法")
    False
    """
    if not stored or not incoming or stored == incoming:
        return False
    cut, base = _untruncated(incoming), _untruncated(stored)
    if base.startswith(cut):
        if len(cut) < len(base):
            return True
        # Same words: keep the stored one only if it is the unmarked (full) one.
        return cut != incoming.rstrip() and base == stored.rstrip()
    return (incoming.count(_REPLACEMENT) > stored.count(_REPLACEMENT)
            and len(incoming) <= len(stored))


def window_key(when: Any, *tiebreak: str) -> tuple[Any, ...]:
    """Sort key for "oldest first, undated last, then by key"; ``when`` is a datetime, or
    fixed-width UTC text, or None."""
    return (when is None, when or "", *tiebreak)


def batched(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """Consecutive lists of at most ``size`` items (itertools.batched arrived in 3.12)."""
    batch: list[T] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def describe(record: Any) -> str:
    """'Post weibo/123' or "Alert 'a1'", for error messages."""
    name = type(record).__name__
    key = getattr(record, "key", None)
    if isinstance(key, tuple):
        return f"{name} {'/'.join(map(str, key))}"
    for attr in ("run_id", "alert_id", "name"):
        if hasattr(record, attr):
            return f"{name} {getattr(record, attr)!r}"
    return name
