"""Sogou weixin search (weixin.sogou.com): article search (type=2 HTML), account search (type=1
HTML), the wap article search JSON (items are XML ``<DOCUMENT>`` strings) and the wapindex hot
lists. URL builders return real URLs; parsers are pure.

Sogou links to articles through temporary ``src=3&timestamp=…&signature=…`` URLs and knows
accounts by an ``openid`` (``oIWsFt…``), not by ``__biz``. Records that only Sogou identifies use
ids prefixed ``sogou:`` (docid for posts, openid for accounts); the wap JSON carries the permanent
link, so its posts get the canonical ``<__biz>:<mid>:<idx>`` id and its accounts their ``__biz``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import quote, urljoin

from lxml import etree
from parsel import Selector, SelectorList

from crawlers.errors import UnexpectedPayload
from crawlers.items import Author, Post

from .text import (
    PLATFORM,
    SOGOU,
    article_key,
    article_post_id,
    sogou_image,
    to_count,
    to_int,
    unix_time,
)

__all__ = [
    "account_search_url",
    "has_next_page",
    "hot_url",
    "parse_accounts",
    "parse_hot",
    "parse_search",
    "parse_wap_search",
    "search_url",
    "wap_search_url",
    "wap_total_pages",
]

# No entity expansion, no DTDs, no network: the items are strings from a remote server.
_XML = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
# The wap JSON brackets matched keywords with two private-use characters (highlighting).
_HIGHLIGHT = dict.fromkeys(map(ord, "\ue40a\ue40b"), None)
_NO_RESULT = ('id="noresult_part1_container"', "暂无与", "没有找到相关")


def search_url(keyword: str, page: int = 1) -> str:
    """Sogou article search, HTML (``type=2``)."""
    return f"{SOGOU}/weixin?type=2&query={quote(keyword)}&page={page}&ie=utf8"


def account_search_url(keyword: str, page: int = 1) -> str:
    """Sogou official-account search, HTML (``type=1``)."""
    return f"{SOGOU}/weixin?type=1&query={quote(keyword)}&page={page}&ie=utf8"


def wap_search_url(keyword: str, page: int = 1) -> str:
    """Sogou wap article search as JSON (``_rtype=json``)."""
    return f"{SOGOU}/weixinwap?query={quote(keyword)}&type=2&page={page}&_rtype=json&ie=utf8"


def hot_url(category: int | str, page: int = 1) -> str:
    """A wapindex hot-article list; categories 0–19 (8 is cars), files numbered from 0."""
    return f"{SOGOU}/wapindex/wap/0612/wap_{category}/{page - 1}.html"


def _sogou_id(value: str | None) -> str | None:
    return f"sogou:{value}" if value else None


def _text(sel: Selector | SelectorList[Selector], query: str) -> str:
    return " ".join(sel.xpath(f"string({query})").get("").split())


def _result_rows(payload: str, list_css: str, page: str) -> SelectorList[Selector]:
    """The ``list_css > li`` items of a Sogou search page; none on a "no result" page.

    :raises UnexpectedPayload: when the page has neither items nor a "no result" notice.
    """
    rows = Selector(text=payload).css(f"{list_css} > li")
    if not rows and not any(marker in payload for marker in _NO_RESULT):
        raise UnexpectedPayload(
            f"no {list_css} on a Sogou {page} page: the layout changed?", platform=PLATFORM
        )
    return rows


def has_next_page(page: str) -> bool:
    """True when a Sogou search page links a next page (``a#sogou_next``)."""
    return 'id="sogou_next"' in page


def parse_search(payload: str, *, now: datetime) -> list[Post | Author]:
    """Articles and their accounts from a Sogou article search page (``ul.news-list > li``).

    :raises UnexpectedPayload: when the page has neither results nor a "no result" notice.
    """
    out: list[Post | Author] = []
    for li in _result_rows(payload, "ul.news-list", "article search"):
        docid = li.attrib.get("d")
        href = li.css("h3 a::attr(href)").get()
        if not docid or not href:
            raise UnexpectedPayload(
                "a news-list item without li/@d or h3/a/@href", platform=PLATFORM
            )
        account = li.css("a.account")
        openid = account.attrib.get("i") or None
        name = _text(account, ".") if account else None
        stamp = li.css("div.s-p::attr(t)").get() or li.re_first(r"timeConvert\('(\d+)'\)")
        title = _text(li, ".//h3/a")
        summary = _text(li, ".//p[contains(@class, 'txt-info')]")
        out.append(
            Post(
                PLATFORM,
                f"sogou:{docid}",
                kind="article",
                title=title,
                text=summary or title,
                created_at=unix_time(stamp),
                url=urljoin(SOGOU + "/", href),
                author_id=_sogou_id(openid),
                author_name=name,
                extra={
                    "source": "sogou_search",
                    "sogou_docid": docid,
                    "text_source": "digest",
                    "cover": sogou_image(
                        li.css("div.img-box img::attr(src), div.img-d img::attr(src)").get()
                    ),
                },
            )
        )
        if openid:
            out.append(
                Author(
                    PLATFORM,
                    f"sogou:{openid}",
                    name=name,
                    verified=account.attrib.get("data-isv") == "1",
                    extra={
                        "sogou_openid": openid,
                        "head_image": account.attrib.get("data-headimage"),
                        "profile_url": account.attrib.get("href"),
                    },
                )
            )
    return out


def parse_accounts(payload: str, *, now: datetime) -> list[Post | Author]:
    """Accounts from a Sogou account search page (``ul.news-list2 > li``).

    :raises UnexpectedPayload: when the page has neither results nor a "no result" notice.
    """
    out: list[Post | Author] = []
    for li in _result_rows(payload, "ul.news-list2", "account search"):
        openid = li.attrib.get("d")
        if not openid:
            raise UnexpectedPayload(
                "a news-list2 item without li/@d (the account openid)", platform=PLATFORM
            )
        # dt text only: the 认证 label is preceded by a document.write(authname(…)) script.
        fields = {
            "".join(dl.xpath("dt/text()").getall()).strip().rstrip("：:"): dl for dl in li.css("dl")
        }
        verified_by = _text(fields["认证"], "dd") if "认证" in fields else None
        recent = fields.get("最近文章")
        extra: dict[str, Any] = {
            "sogou_openid": openid,
            "wechat_id": _text(li, ".//label[@name='em_weixinhao']") or None,
            "head_image": li.css("div.img-box img::attr(src)").get(),
            "profile_url": li.css("p.tit a::attr(href)").get(),
        }
        if recent is not None:
            extra["recent_article"] = {
                "title": _text(recent, "dd/a"),
                "url": recent.css("dd a::attr(href)").get(),
                "published": _iso(unix_time(recent.re_first(r"timeConvert\('(\d+)'\)"))),
            }
        out.append(
            Author(
                PLATFORM,
                f"sogou:{openid}",
                name=_text(li, ".//p[contains(@class, 'tit')]/a"),
                description=_text(fields["功能介绍"], "dd") if "功能介绍" in fields else None,
                verified=verified_by is not None,
                verified_reason=verified_by,
                extra=extra,
            )
        )
    return out


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def wap_total_pages(payload: dict[str, Any]) -> int:
    """``totalPages`` of a wap search answer (0 when absent)."""
    return to_int(payload.get("totalPages")) or 0


def parse_wap_search(payload: dict[str, Any], *, now: datetime) -> list[Post | Author]:
    """Articles (canonical ids) and accounts (``__biz``) from the wap search JSON.

    :raises UnexpectedPayload: when ``items`` is missing or an item is not the known XML.
    """
    items = payload.get("items") if isinstance(payload, dict) else None
    if not isinstance(items, list):
        raise UnexpectedPayload("wap search JSON without an items list", platform=PLATFORM)
    out: list[Post | Author] = []
    for raw in items:
        try:
            doc = etree.fromstring(str(raw).encode("utf-8"), parser=_XML)
        except etree.XMLSyntaxError as exc:
            raise UnexpectedPayload(
                f"a wap search item is not XML: {exc}", platform=PLATFORM
            ) from None
        display = doc.find("./item/display")
        if display is None:
            raise UnexpectedPayload("a wap search item without item/display", platform=PLATFORM)
        rank = doc.find("./rank")

        def field(name: str, node: Any = display) -> str | None:
            value = (node.findtext(name) or "").translate(_HIGHLIGHT).strip()
            return value or None

        url, docid = field("url"), field("docid")
        key = article_key(url)
        openid = field("openid")
        biz = key[0] if key else None
        post_id = article_post_id(*key[:3]) if key else _sogou_id(docid)
        author_id = biz or _sogou_id(openid)
        if not post_id:
            raise UnexpectedPayload(
                "a wap search item with neither url nor docid", platform=PLATFORM
            )
        stats = dict(rank.attrib) if rank is not None else {}
        out.append(
            Post(
                PLATFORM,
                post_id,
                kind="article",
                title=field("title"),
                text=field("content168") or field("content") or field("title") or "",
                created_at=unix_time(field("lastModified")),
                url=url,
                author_id=author_id,
                author_name=field("sourcename"),
                read_count=to_count(field("readnum")),
                repost_count=to_count(field("forwardnum")),
                extra={
                    "source": "sogou_wap",
                    "sogou_docid": docid,
                    "text_source": "digest",
                    "cover": field("imglink"),
                    "has_video": field("has_video") == "1",
                    **({"sn": key[3]} if key and key[3] else {}),
                },
            )
        )
        if author_id:
            out.append(
                Author(
                    PLATFORM,
                    author_id,
                    name=field("sourcename"),
                    followers=to_int(stats.get("fans")),
                    verified=field("isV") == "1",
                    extra={
                        "sogou_openid": openid,
                        "wechat_id": field("username"),
                        "head_image": field("headimage"),
                        "avg_read": to_int(stats.get("avgread")),
                        "avg_publish": to_int(stats.get("avgpublish")),
                    },
                )
            )
    return out


def parse_hot(payload: str, *, now: datetime) -> list[Post | Author]:
    """Articles and accounts from a wapindex hot list (bare ``<li d=…>`` fragments).

    :raises UnexpectedPayload: when a non-empty body holds no ``li[d]`` items.
    """
    if not payload.strip():
        return []
    rows = Selector(text=payload).xpath("//li[@d]")
    if not rows:
        raise UnexpectedPayload(
            "no li[@d] items in a Sogou hot list: the layout changed?", platform=PLATFORM
        )
    out: list[Post | Author] = []
    for li in rows:
        docid = li.attrib["d"]
        source = li.css("span.s2")
        openid = source.attrib.get("data-openid") or None
        name = source.attrib.get("data-sourcename") or _text(source, ".") or None
        title = _text(li, ".//h4/a")
        summary = _text(li, ".//p[@data-type='article_summary']")
        out.append(
            Post(
                PLATFORM,
                f"sogou:{docid}",
                kind="article",
                title=title,
                text=summary or title,
                created_at=unix_time(li.css("span.s3::attr(data-lastmodified)").get()),
                url=li.css("h4 a::attr(href)").get(),
                author_id=_sogou_id(openid),
                author_name=name,
                extra={
                    "source": "sogou_hot",
                    "sogou_docid": docid,
                    "text_source": "digest",
                    "cover": sogou_image(li.css("div.pic img::attr(src)").get()),
                },
            )
        )
        if openid:
            out.append(
                Author(
                    PLATFORM,
                    f"sogou:{openid}",
                    name=name,
                    extra={
                        "sogou_openid": openid,
                        "head_image": source.attrib.get("data-headimage"),
                    },
                )
            )
    return out
