"""Weibo URL builders. They return REAL platform URLs; rebasing onto a test server is the base
spider's job (PLATFORM_BASE_URLS), never done here."""

from __future__ import annotations

from urllib.parse import quote, urlencode

__all__ = [
    "PLATFORM",
    "ajax_longtext_url",
    "ajax_profile_url",
    "ajax_timeline_url",
    "comments_show_url",
    "detail_url",
    "extend_url",
    "hotflow_url",
    "legacy_comments_url",
    "legacy_reposts_url",
    "profile_url",
    "repost_timeline_url",
    "search_url",
    "status_url",
    "timeline_url",
    "user_url",
]

PLATFORM = "weibo"
M = "https://m.weibo.cn"
PC = "https://weibo.com"


def _q(params: dict[str, object]) -> str:
    # quote (not quote_plus): m.weibo.cn writes spaces in containerids as %20.
    return urlencode(params, quote_via=quote)


def search_url(keyword: str, page: int = 1) -> str:
    """m.weibo.cn keyword search ("综合", type=1).

    >>> search_url("听风 演示", 2)
    'https://m.weibo.cn/api/container/getIndex?containerid=100103type%3D1%26q%3D%E5%90%AC%E9%A3%8E%20%E6%BC%94%E7%A4%BA&page_type=searchall&page=2'
    """
    params = {"containerid": f"100103type=1&q={keyword}", "page_type": "searchall", "page": page}
    return f"{M}/api/container/getIndex?{_q(params)}"


def profile_url(uid: str) -> str:
    """m.weibo.cn profile (``data.userInfo``)."""
    return f"{M}/api/container/getIndex?{_q({'type': 'uid', 'value': uid})}"


def timeline_url(uid: str, page: int = 1) -> str:
    """m.weibo.cn user timeline (containerid 107603 + uid)."""
    params = {"type": "uid", "value": uid, "containerid": f"107603{uid}", "page": page}
    return f"{M}/api/container/getIndex?{_q(params)}"


def status_url(bid_or_id: str) -> str:
    """m.weibo.cn one post (``data`` is the status); takes the base62 bid or the numeric id."""
    return f"{M}/statuses/show?{_q({'id': bid_or_id})}"


def extend_url(post_id: str) -> str:
    """m.weibo.cn long text of a truncated post (``data.longTextContent``)."""
    return f"{M}/statuses/extend?{_q({'id': post_id})}"


def hotflow_url(post_id: str, max_id: int | None = None, max_id_type: int = 0) -> str:
    """m.weibo.cn comments with inline sub-replies; page on with the previous page's ``max_id``.

    >>> hotflow_url("42", 314345666829623)
    'https://m.weibo.cn/comments/hotflow?id=42&mid=42&max_id=314345666829623&max_id_type=0'
    """
    params: dict[str, object] = {"id": post_id, "mid": post_id}
    if max_id:
        params["max_id"] = max_id
    params["max_id_type"] = max_id_type
    return f"{M}/comments/hotflow?{_q(params)}"


def comments_show_url(post_id: str, page: int = 1) -> str:
    """m.weibo.cn old comment API (``data.data`` + ``data.hot_data``, ``data.max`` pages)."""
    return f"{M}/api/comments/show?{_q({'id': post_id, 'page': page})}"


def repost_timeline_url(post_id: str, page: int = 1) -> str:
    """m.weibo.cn reposts of a post (``data.data``, ``data.max`` pages)."""
    return f"{M}/api/statuses/repostTimeline?{_q({'id': post_id, 'page': page})}"


def ajax_profile_url(uid: str) -> str:
    """weibo.com profile (``data.user``; carries ``location``)."""
    return f"{PC}/ajax/profile/info?{_q({'uid': uid})}"


def ajax_longtext_url(bid: str) -> str:
    """weibo.com long text (``data.longTextContent``); takes the base62 mblogid."""
    return f"{PC}/ajax/statuses/longtext?{_q({'id': bid})}"


def ajax_timeline_url(uid: str, page: int = 1) -> str:
    """weibo.com user timeline (``data.list``)."""
    return f"{PC}/ajax/statuses/mymblog?{_q({'uid': uid, 'page': page, 'feature': 0})}"


def legacy_reposts_url(post_id: str, page: int = 1) -> str:
    """weibo.com v6 (2017) repost list: JSON wrapping an HTML fragment."""
    return f"{PC}/aj/v6/mblog/info/big?{_q({'ajwvr': 6, 'id': post_id, 'page': page})}"


def legacy_comments_url(post_id: str, page: int = 1) -> str:
    """weibo.com v6 (2017) comment list: JSON wrapping an HTML fragment."""
    return f"{PC}/aj/v6/comment/big?{_q({'ajwvr': 6, 'id': post_id, 'page': page})}"


def detail_url(post_id: str) -> str:
    """The human-readable page of a post (works with the numeric id)."""
    return f"{M}/detail/{post_id}"


def user_url(uid: str) -> str:
    """The human-readable page of an account."""
    return f"{PC}/u/{uid}"
