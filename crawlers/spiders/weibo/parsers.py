"""Weibo JSON payloads → Post/Author items: statuses (search, timelines, detail, long text,
reposts) and accounts (profiles). Pure: decoded JSON in, dataclasses out, no I/O.

Comment payloads live in ``comments.py``, the 2017 HTML-in-JSON pages in ``legacy.py``, and
the ``//@`` chain logic in ``reposts.py``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, TypeAlias

from crawlers.errors import UnexpectedPayload
from crawlers.items import Author, Post
from crawlers.timeparse import parse_time

from .checks import is_end_of_data
from .reposts import link_parents, mark_repost
from .text import clean_html, hashtags, parse_count, region_of, tidy
from .urls import PLATFORM, detail_url, user_url

__all__ = [
    "author_from_user",
    "card_mblogs",
    "compact",
    "dedupe",
    "first_id",
    "item_time",
    "parse_ajax_longtext",
    "parse_ajax_profile",
    "parse_ajax_timeline",
    "parse_longtext",
    "parse_profile",
    "parse_repost_timeline",
    "parse_search",
    "parse_status",
    "parse_timeline",
    "payload_data",
    "status_items",
]

Item: TypeAlias = Post | Author



def payload_data(payload: Any, what: str, key: str = "data") -> dict[str, Any] | None:
    """``payload[key]`` as a dict, None for an end-of-data ``ok: 0`` body.

    :raises UnexpectedPayload: naming ``what`` and the missing key.
    """
    if is_end_of_data(payload):
        return None
    if not isinstance(payload, dict):
        raise UnexpectedPayload(f"{what}: expected a JSON object, got {type(payload).__name__}",
                                platform=PLATFORM)
    if payload.get("ok") not in (1, "1", None):
        raise UnexpectedPayload(f"{what}: ok={payload.get('ok')!r} msg={payload.get('msg')!r}",
                                platform=PLATFORM)
    data = payload.get(key)
    if not isinstance(data, dict):
        raise UnexpectedPayload(
            f"{what}: expected an object at {key!r}, found {type(data).__name__}",
            platform=PLATFORM)
    return data


def compact(mapping: Mapping[str, Any]) -> dict[str, Any]:
    """``mapping`` without None values: the store merges ``extra`` key by key, so a None would
    erase what an earlier, richer response stored."""
    return {k: v for k, v in mapping.items() if v is not None}


def first_id(obj: Mapping[str, Any], *keys: str) -> str | None:
    for key in keys:
        value = obj.get(key)
        if value not in (None, "", 0):
            return str(value)
    return None


def item_time(raw: Any, now: datetime, extra: dict[str, Any]) -> datetime | None:
    """Parsed time; an unknown form keeps the item (created_at None, counted by validation)
    and records the raw text, so one odd post never costs the whole page."""
    if raw in (None, ""):
        return None
    try:
        return parse_time(raw, now=now)
    except ValueError:
        extra["created_at_raw"] = raw
        return None


def author_from_user(user: Mapping[str, Any] | None, *, now: datetime) -> Author | None:
    """An Author from any Weibo ``user`` object (m.weibo.cn userInfo, weibo.com ajax, embedded).

    Fields a given endpoint lacks stay None, so the store keeps what a richer one found.
    """
    if not isinstance(user, Mapping):
        return None
    uid = first_id(user, "idstr", "id")
    if uid is None:
        return None
    vtype = user.get("verified_type")
    reason = user.get("verified_reason")
    ip = user.get("ip_location")  # weibo.com profile/detail: "IP属地：广东"
    location = user.get("location") or (ip.split("：")[-1].strip() if isinstance(ip, str) else None)
    keep = ("urank", "mbtype", "verified_type_ext", "svip", "domain", "avatar_hd",
            "profile_image_url")
    extra = {k: user[k] for k in keep if user.get(k) not in (None, "")}
    return Author(
        platform=PLATFORM,
        author_id=uid,
        name=user.get("screen_name") or None,
        url=user_url(uid),
        followers=parse_count(user.get("followers_count", user.get("followers_count_str"))),
        following=parse_count(user.get("follow_count", user.get("friends_count"))),
        posts=parse_count(user.get("statuses_count")),
        verified=bool(user["verified"]) if "verified" in user else None,
        verified_type=str(vtype) if vtype is not None else None,
        verified_reason=(tidy(reason) or None) if isinstance(reason, str) else None,
        rank=parse_count(user.get("mbrank")),
        description=tidy(user.get("description") or "") or None,
        region=location or None,
        gender=user.get("gender") or None,
        updated_at=now,
        extra=extra,
    )


def status_items(mblog: Mapping[str, Any], *, now: datetime) -> tuple[Post, list[Item]]:
    """One status (m.weibo.cn ``mblog`` or weibo.com ajax status) → (its Post, related items).

    Related items are the authors and, for a repost, the embedded original (``retweeted_status``)
    which becomes the repost's root; the repost's parent is the first ``//@`` name of its text,
    or the original itself when the chain is empty.
    """
    pid = first_id(mblog, "idstr", "mid", "id")
    if pid is None:
        raise UnexpectedPayload("status without id/mid/idstr", platform=PLATFORM)
    extra: dict[str, Any] = {}
    # weibo.com ajax has a plain ``text_raw``; m.weibo.cn only the HTML ``text``.
    raw = mblog.get("text_raw")
    text = tidy(raw) if isinstance(raw, str) else clean_html(mblog.get("text"))
    # statuses/show inlines the full text of a long post: no statuses/extend call needed.
    inline = mblog.get("longText")
    long_text = inline.get("longTextContent") if isinstance(inline, Mapping) else None
    if isinstance(long_text, str):
        text = clean_html(long_text)
    user = author_from_user(mblog.get("user"), now=now)
    bid = mblog.get("bid") or mblog.get("mblogid")
    pics = mblog.get("pics") or mblog.get("pic_ids") or []
    extra.update({
        "bid": bid, "source": mblog.get("source") or None,
        "pics": len(pics) if isinstance(pics, list) else None,
        "hashtags": hashtags(text) or None,
        "truncated": (bool(mblog.get("isLongText")) and long_text is None) or None,
    })
    post = Post(
        platform=PLATFORM, post_id=pid, text=text,
        created_at=item_time(mblog.get("created_at"), now, extra),
        url=detail_url(pid),
        author_id=user.author_id if user else None,
        author_name=user.name if user else None,
        repost_count=parse_count(mblog.get("reposts_count")),
        comment_count=parse_count(mblog.get("comments_count")),
        like_count=parse_count(mblog.get("attitudes_count")),
        read_count=parse_count(mblog.get("reads_count")),
        region=region_of(mblog.get("region_name")) or region_of(mblog.get("status_province")),
        deleted=True if str(mblog.get("deleted", "")) == "1" else None,
        extra=compact(extra),
    )
    related: list[Item] = [user] if user else []
    rt = mblog.get("retweeted_status")
    if isinstance(rt, Mapping):
        original, more = status_items(rt, now=now)
        related = [original, *more, *related]
        mark_repost(post, original.post_id, original.author_id, original.author_name)
    return post, related


def dedupe(items: Iterable[Item]) -> list[Item]:
    seen: dict[tuple[str, str, str], Item] = {}
    for item in items:
        key = (type(item).__name__, *item.key)
        seen.setdefault(key, item)
    return list(seen.values())


def _statuses(mblogs: Iterable[Any], now: datetime) -> list[Item]:
    posts: list[Item] = []
    related: list[Item] = []
    for mblog in mblogs:
        if isinstance(mblog, Mapping):
            post, more = status_items(mblog, now=now)
            posts.append(post)
            related.extend(more)
    link_parents(p for p in posts if isinstance(p, Post))
    return dedupe([*posts, *related])


def card_mblogs(cards: Iterable[Any], skipped: Counter[str] | None) -> list[Any]:
    """Posts of a card list: ``card_type`` 9 carries an ``mblog``, 11 is a group of cards (hot
    posts, a timeline's pinned block, "相关用户"…) walked the same way. Any other type is counted
    in ``skipped`` as ``unknown_card_type/<n>`` and skipped: one new card never costs the page."""
    mblogs: list[Any] = []
    for card in cards:
        if not isinstance(card, Mapping):
            continue
        kind = card.get("card_type")
        if kind == 9 and isinstance(card.get("mblog"), Mapping):
            mblogs.append(card["mblog"])
        elif kind == 11 and isinstance(card.get("card_group"), list):
            mblogs.extend(card_mblogs(card["card_group"], skipped))
        elif skipped is not None and kind != 9:
            skipped[f"unknown_card_type/{kind}"] += 1
    return mblogs


def _cards(payload: Any, now: datetime, what: str, skipped: Counter[str] | None) -> list[Item]:
    data = payload_data(payload, what)
    if data is None:
        return []
    cards = data.get("cards")
    if not isinstance(cards, list):
        raise UnexpectedPayload(f"{what}: data.cards missing", platform=PLATFORM)
    return _statuses(card_mblogs(cards, skipped), now)


def parse_search(payload: Any, *, now: datetime,
                 skipped: Counter[str] | None = None) -> list[Item]:
    """m.weibo.cn keyword search (getIndex, containerid 100103…): posts, originals, authors.

    Cards other than posts and groups of posts are counted in ``skipped`` (when given).
    """
    return _cards(payload, now, "search", skipped)


def parse_timeline(payload: Any, *, now: datetime,
                   skipped: Counter[str] | None = None) -> list[Item]:
    """m.weibo.cn user timeline (getIndex, containerid 107603{uid} or
    230413{uid}_-_WEIBO_SECOND_PROFILE_WEIBO, whose posts come in card_type 11 groups)."""
    return _cards(payload, now, "timeline", skipped)


def parse_status(payload: Any, *, now: datetime) -> list[Item]:
    """m.weibo.cn statuses/show: one post (``data``), its original if a repost, authors."""
    data = payload_data(payload, "status")
    return [] if data is None else _statuses([data], now)


def parse_ajax_timeline(payload: Any, *, now: datetime) -> list[Item]:
    """weibo.com ajax/statuses/mymblog: ``data.list``."""
    data = payload_data(payload, "ajax timeline")
    if data is None:
        return []
    if not isinstance(data.get("list"), list):
        raise UnexpectedPayload("ajax timeline: data.list missing", platform=PLATFORM)
    return _statuses(data["list"], now)


def parse_longtext(payload: Any, *, now: datetime, post_id: str = "") -> list[Item]:
    """m.weibo.cn statuses/extend: the full text (HTML) and fresh counts of ``post_id``.

    The body does not name its post: the caller passes ``post_id`` and merges the result.
    """
    data = payload_data(payload, "long text")
    if data is None or not isinstance(data.get("longTextContent"), str):
        raise UnexpectedPayload("long text: data.longTextContent missing", platform=PLATFORM)
    text = clean_html(data["longTextContent"])
    return [Post(platform=PLATFORM, post_id=post_id, text=text,
                 repost_count=parse_count(data.get("reposts_count")),
                 comment_count=parse_count(data.get("comments_count")),
                 like_count=parse_count(data.get("attitudes_count")),
                 extra=compact({"hashtags": hashtags(text) or None, "truncated": False}))]


def parse_ajax_longtext(payload: Any, *, now: datetime, post_id: str = "") -> list[Item]:
    """weibo.com ajax/statuses/longtext: plain ``longTextContent``; ``data`` is {} when the post
    has no long text."""
    data = payload_data(payload, "ajax long text")
    if not data:
        return []
    text = data.get("longTextContent_raw", data.get("longTextContent"))
    if not isinstance(text, str):
        raise UnexpectedPayload("ajax long text: data.longTextContent missing", platform=PLATFORM)
    text = tidy(text)
    return [Post(platform=PLATFORM, post_id=post_id, text=text,
                 extra=compact({"hashtags": hashtags(text) or None, "truncated": False}))]


def parse_repost_timeline(
    payload: Any,
    *,
    now: datetime,
    root_id: str | None = None,
    root_author_id: str | None = None,
    root_author_name: str | None = None,
) -> list[Item]:
    """m.weibo.cn api/statuses/repostTimeline: reposts of ``root_id`` (``data.data``).

    Each item is a repost of the root: a repost with an empty chain answers the root itself;
    otherwise its parent is the first ``//@`` name, linked to that repost's id when it is on
    the same page (the spider links across pages with :func:`link_parents`).
    """
    data = payload_data(payload, "repost timeline")
    if data is None:
        return []
    statuses = data.get("data")
    if not isinstance(statuses, list):
        raise UnexpectedPayload("repost timeline: data.data missing", platform=PLATFORM)
    items: list[Item] = []
    for st in statuses:
        if not isinstance(st, Mapping):
            continue
        post, related = status_items(st, now=now)
        if post.kind != "repost":  # items usually omit retweeted_status: the root is the request's
            mark_repost(post, root_id, root_author_id, root_author_name)
        items += [post, *related]
    link_parents(p for p in items if isinstance(p, Post))
    return dedupe(items)


def parse_profile(payload: Any, *, now: datetime) -> list[Item]:
    """m.weibo.cn getIndex?type=uid&value=…: ``data.userInfo``."""
    data = payload_data(payload, "profile")
    if data is None:
        return []
    author = author_from_user(data.get("userInfo"), now=now)
    if author is None:
        raise UnexpectedPayload("profile: data.userInfo.id missing", platform=PLATFORM)
    return [author]


def parse_ajax_profile(payload: Any, *, now: datetime) -> list[Item]:
    """weibo.com ajax/profile/info: ``data.user`` (adds ``location`` as the region)."""
    data = payload_data(payload, "ajax profile")
    if data is None:
        return []
    author = author_from_user(data.get("user"), now=now)
    if author is None:
        raise UnexpectedPayload("ajax profile: data.user.id missing", platform=PLATFORM)
    return [author]
