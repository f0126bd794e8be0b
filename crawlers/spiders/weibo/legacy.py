"""Weibo v6 (2017) pages: the aj/v6 repost and comment lists (JSON wrapping an HTML fragment in
``data.html``) and the old s.weibo.com search page. Kept for robustness: old ``//@`` chains and
markup Weibo still serves to some clients. Pure; parsel selectors only."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from parsel import Selector

from crawlers.errors import UnexpectedPayload
from crawlers.items import Author, Post

from .parsers import Item, compact, dedupe, item_time, payload_data
from .reposts import link_parents, mark_repost
from .text import clean_html, hashtags, parse_count, reply_target
from .urls import PLATFORM, detail_url, user_url

__all__ = ["parse_legacy_comments", "parse_legacy_reposts", "parse_legacy_search"]

_USERCARD_ID = re.compile(r"(?:^|&)id=(\d+)")
_STATUS_HREF = re.compile(r"weibo\.com/(\d+)/(\w+)|^/(\d+)/(\w+)")


def _fragment(payload: Any, what: str) -> tuple[Selector, dict[str, Any]] | None:
    data = payload_data(payload, what)
    if data is None:
        return None
    html = data.get("html")
    if not isinstance(html, str):
        raise UnexpectedPayload(f"{what}: data.html missing", platform=PLATFORM)
    return Selector(text=html or "<div></div>"), data


def _uid(usercard: str | None) -> str | None:
    m = _USERCARD_ID.search(usercard or "")
    return m.group(1) if m else None


def _author(uid: str | None, name: str | None, now: datetime) -> Author | None:
    if not uid:
        return None
    return Author(platform=PLATFORM, author_id=uid, name=(name or "").strip() or None,
                  url=user_url(uid), updated_at=now)


def _date(node: Selector, now: datetime, extra: dict[str, Any]) -> datetime | None:
    # The date link carries exact epoch milliseconds; its title and text are rounded or relative.
    link = node.xpath('.//a[@node-type="feed_list_item_date"]')
    for query in ("@date", "@title", "string()"):
        raw = link.xpath(query).get()
        if raw and raw.strip():
            return item_time(raw.strip(), now, extra)
    return None


def parse_legacy_reposts(payload: Any, *, now: datetime, root_id: str | None = None,
                         root_author_id: str | None = None,
                         root_author_name: str | None = None) -> list[Item]:
    """weibo.com aj/v6/mblog/info/big: ``div.list_li[mid]`` reposts of ``root_id``.

    The text's ``//@name:`` chain gives ``repost_path`` and the parent's name (see
    :func:`crawlers.spiders.weibo.parsers.mark_repost`).
    """
    found = _fragment(payload, "legacy reposts")
    if found is None:
        return []
    sel, _ = found
    items: list[Item] = []
    for node in sel.xpath('//div[contains(@class, "list_li") and @mid]'):
        mid = node.attrib["mid"]
        name_link = node.xpath('.//div[@class="WB_text"]/a[@node-type="name"]')
        uid = _uid(name_link.xpath("@usercard").get())
        name = name_link.xpath("string()").get()
        extra: dict[str, Any] = {}
        text = clean_html(node.xpath('.//span[@node-type="text"]').get())
        author = _author(uid, name, now)
        post = Post(platform=PLATFORM, post_id=mid, text=text, created_at=_date(node, now, extra),
                    url=detail_url(mid), author_id=uid, author_name=author.name if author else None,
                    extra=compact({**extra, "hashtags": hashtags(text) or None}))
        mark_repost(post, root_id, root_author_id, root_author_name)
        items += [post, *([author] if author else [])]
    link_parents(p for p in items if isinstance(p, Post))
    return dedupe(items)


def parse_legacy_comments(payload: Any, *, now: datetime, post_id: str | None = None) -> list[Item]:
    """weibo.com aj/v6/comment/big: ``div[comment_id]`` comments on ``post_id``.

    This flat list shows answers to other comments as "回复@name:" without their id, so they
    stay comments on the weibo, with ``extra["reply_to"]`` naming whom they answer.
    """
    found = _fragment(payload, "legacy comments")
    if found is None:
        return []
    sel, _ = found
    owner = sel.xpath('//a[@action-type="reply"]/@action-data').re_first(r"status_owner_user=(\d+)")
    items: list[Item] = []
    for node in sel.xpath("//div[@comment_id]"):
        cid = node.attrib["comment_id"]
        body = node.xpath('./div[@class="list_con"]/div[@class="WB_text"]')
        first = body.xpath("./a[1]")
        uid = _uid(first.xpath("@usercard").get())
        name = (first.xpath("string()").get() or "").strip()
        text = clean_html(body.get())
        if name and text.startswith(name):
            text = text[len(name):].lstrip("：:").strip()
        extra: dict[str, Any] = {}
        if target := reply_target(text):
            extra["reply_to"] = target
        when = node.xpath('.//div[contains(@class, "WB_from")]/text()').get()
        created_at = item_time(when.strip(), now, extra) if when and when.strip() else None
        author = _author(uid, name, now)
        items += [Post(platform=PLATFORM, post_id=cid, text=text, created_at=created_at,
                       kind="comment", author_id=uid, author_name=name or None,
                       parent_post_id=post_id, root_post_id=post_id, parent_author_id=owner,
                       extra=extra), *([author] if author else [])]
    return dedupe(items)


def _count(node: Selector, action: str) -> int | None:
    link = node.xpath(f'.//a[@action-type="{action}"]')
    if not link:
        return None
    # A bare label ("转发", "评论") is how this layout shows zero.
    return parse_count("".join(link.xpath(".//em/text()").getall())) or 0


def parse_legacy_search(payload: str | bytes, *, now: datetime) -> list[Item]:
    """s.weibo.com/weibo/{q} (2017 layout): ``div[mid][action-type=feed_list_item]`` results."""
    text = payload.decode("utf-8") if isinstance(payload, bytes) else payload
    sel = Selector(text=text)
    nodes = sel.xpath('//div[@mid and @action-type="feed_list_item"]')
    if not nodes and "feed_list" not in text:
        raise UnexpectedPayload("legacy search: no feed_list in the page", platform=PLATFORM)
    return dedupe(_search_items(nodes, now))


def _search_items(nodes: Iterable[Selector], now: datetime) -> Iterable[Item]:
    for node in nodes:
        mid = node.attrib["mid"]
        content = node.xpath('.//p[@node-type="feed_list_content"]')
        href = node.xpath('.//a[@node-type="feed_list_item_date"]/@href').get() or ""
        m = _STATUS_HREF.search(href)
        uid = (m.group(1) or m.group(3)) if m else _uid(node.xpath(".//img/@usercard").get())
        bid = (m.group(2) or m.group(4)) if m else None
        name = content.xpath("@nick-name").get()
        extra: dict[str, Any] = {"bid": bid}
        body = clean_html(content.get())
        author = _author(uid, name, now)
        yield Post(platform=PLATFORM, post_id=mid, text=body, created_at=_date(node, now, extra),
                   url=detail_url(mid), author_id=uid, author_name=author.name if author else None,
                   repost_count=_count(node, "feed_list_forward"),
                   comment_count=_count(node, "feed_list_comment"),
                   like_count=_count(node, "feed_list_like"),
                   extra=compact({**extra, "hashtags": hashtags(body) or None}))
        if author:
            yield author
