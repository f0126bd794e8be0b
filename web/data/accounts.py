"""One account under a monitor: its profile, its figures in the window, its posts newest first,
the cascades its originals started, and its sentiment over time.

Every read is the account's own: figures from ``Store.author_stats(authors=[key])``, posts from
``Store.newest_posts(author=key)``, buckets from ``Store.post_counts(author=key)``, each read
through the account's index. An account with no post tagged with the monitor is not this
monitor's to show (:func:`account_detail` returns None, the page answers 404), so another
monitor's account ids learn nothing. Without a monitor the account is shown over every post
the store holds (the post browser shows those to every reader too).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from scheduler.notify.wording import platform_name, tier_name
from scheduler.reports.markup import safe_url
from scoring.netsentiment import net_score
from web.data.kol import account_url
from web.data.posts import post_row
from web.data.series import (
    SENTIMENTS,
    Window,
    _aware,
    _axis,
    resolve_range,
    resolve_window,
    sentiment_name,
    tier_of,
)

if TYPE_CHECKING:
    from crawlers.items import Author, AuthorKey, Post
    from crawlers.storage import Store
    from scheduler.i18n import Wording

__all__ = ["MAX_SCANNED", "POSTS_PER_PAGE", "TOP_CASCADES", "account_detail", "account_series",
           "account_window", "influence_detail", "sentiment_series"]

POSTS_PER_PAGE = 20
MAX_SCANNED = 500  # newest posts of the window read for cascades and influence inputs
TOP_CASCADES = 20
EXCERPT = 80
_ORIGINAL_KINDS = frozenset({"original", "thread", "article", "answer"})  # scoring.influence


def _(message: str) -> str:  # marks a reader string; translated where it is shown
    return message


def _zero(key: AuthorKey) -> dict[str, Any]:
    return {"platform": key[0], "author_id": key[1], "posts": 0, "engagement": 0,
            "positive": 0, "negative": 0, "neutral": 0, "first_at": None, "last_at": None}


def _stats(store: Store, topic: str | None, key: AuthorKey, since: datetime | None = None,
           until: datetime | None = None) -> dict[str, Any] | None:
    rows = store.author_stats(topic=topic, since=since, until=until, authors=[key]).rows
    return rows[0] if rows else None


def account_window(store: Store, topic: str | None, key: AuthorKey, *, now: datetime,
                   choice: str, tz: str) -> Window:
    """The window ``choice`` names; "auto" is the last 30 days, or all time when the account
    posted nothing (under the monitor) in those."""
    choice = resolve_range(choice)
    if choice != "auto":
        return resolve_window(store, topic or "", now=now, choice=choice, tz=tz)
    recent = resolve_window(store, topic or "", now=now, choice="30d", tz=tz)
    if _stats(store, topic, key, recent.since, recent.until):
        return recent
    return resolve_window(store, topic or "", now=now, choice="all", tz=tz)


def sentiment_series(store: Store, topic: str | None, key: AuthorKey, win: Window, *,
                     w: Wording, tz: str) -> dict[str, Any]:
    """The account's posts per sentiment label per bucket (hours up to two days, else days, as
    the dashboard draws them), counted by the store, with the net sentiment of each bucket."""
    rows = [r for r in store.post_counts(topic=topic, since=win.since, until=win.until,
                                         bucket=win.bucket, by=("sentiment_label",), tz=tz,
                                         author=key)
            if r.get("bucket") is not None]
    counts: dict[str, dict[datetime, int]] = {s: {} for s in SENTIMENTS}
    for row in rows:
        label = row.get("sentiment_label") or "unscored"
        cells = counts[label if label in counts else "unscored"]
        when = _aware(row["bucket"])
        cells[when] = cells.get(when, 0) + int(row["posts"])
    buckets, axis = _axis(rows, win.bucket, tz, w)
    return {"bucket": win.bucket, **axis,
            "sentiment": [{"label": s, "name": sentiment_name(s, w),
                           "posts": [counts[s].get(b, 0) for b in buckets]} for s in SENTIMENTS],
            "net": [net_score(counts["positive"].get(b, 0), counts["negative"].get(b, 0))
                    for b in buckets]}


def _is_original(p: Post) -> bool:
    return p.kind != "repost" and p.root_post_id in (None, "", p.post_id)


def _excerpt(p: Post) -> str:
    text = " ".join((p.title or p.text or "").split())
    return text if len(text) <= EXCERPT else text[:EXCERPT] + "…"


def account_cascades(store: Store, topic: str | None, posts: list[Post], *,
                     w: Wording) -> list[dict[str, Any]]:
    """The account's originals among ``posts`` that stored reposts name as their root, largest
    first, counted by the store (``cascade_sizes``), each linked to the cascade explorer."""
    originals = [p for p in posts if _is_original(p)]
    if not originals:
        return []
    sizes = store.cascade_sizes(originals[0].platform, [p.post_id for p in originals])
    rows: list[dict[str, Any]] = []
    for p in originals:
        reposts = sizes.get(p.post_id, 0)
        if not reposts:
            continue
        rows.append({
            "post_id": p.post_id, "excerpt": _excerpt(p), "time": w.time(p.created_at),
            "size": reposts + 1, "reposts": reposts, "source": safe_url(p.url),
            "sentiment_name": sentiment_name(p.sentiment_label, w),
            "url": (f"/monitors/{quote(topic, safe='')}/cascades/{quote(p.platform, safe='')}/"
                    f"{quote(p.post_id, safe='')}") if topic else None})
    rows.sort(key=lambda r: (-r["size"], r["post_id"]))
    return rows[:TOP_CASCADES]


_INDEX_NAMES = {"weibo": _("BCI（清博微博传播指数）"), "wechat": _("WCI V14.2（清博微信传播指数）"),
                "zhihu": _("知乎影响力指数（听风）")}
_INPUT_NAMES = {
    "posts": _("发博数"), "originals": _("原创数"), "reposts": _("被转发"), "comments": _("被评论"),
    "original_reposts": _("原创被转发"), "original_comments": _("原创被评论"), "likes": _("点赞"),
    "n": _("文章数"), "days": _("天数"), "reads": _("阅读"), "wows": _("在看"),
    "shares": _("分享"), "head_reads": _("头条阅读"), "max_reads": _("最高阅读"),
    "followers": _("粉丝"), "voteups": _("赞同"),
}


def influence_detail(author: Author | None, posts: list[Post], *, days: float,
                     w: Wording) -> dict[str, Any] | None:
    """The stored influence index of ``author`` (None when scoring has given it none) and the
    inputs it is computed from, re-measured over ``posts`` (the window's newest, at most
    MAX_SCANNED), with the index those inputs give, so a reader can follow the number."""
    from scoring.influence import bci, bci_inputs, wci_inputs, wci_v14, zhihu_influence

    if author is None or author.influence is None:
        return None
    inputs: dict[str, float | int | None]
    if author.platform == "wechat":
        x = wci_inputs(posts, days=days)
        inputs = {k: getattr(x, k) for k in ("days", "n", "reads", "wows", "likes", "shares",
                                             "head_reads", "max_reads")}
        inputs["days"] = round(days, 1)
        value = wci_v14(x)
    elif author.platform == "zhihu":
        voteups = author.extra.get("voteup_count")
        if voteups is None:
            voteups = sum(p.like_count or 0 for p in posts)
        inputs = {"followers": author.followers, "voteups": voteups}
        value = zhihu_influence(author.followers, voteups)
    else:
        b = bci_inputs(posts)
        inputs = {k: getattr(b, k) for k in ("posts", "originals", "reposts", "comments",
                                             "original_reposts", "original_comments", "likes")}
        value = bci(b)
    name = _INDEX_NAMES.get(author.platform, _INDEX_NAMES["weibo"])
    return {"name": w(name), "stored": author.influence, "window_value": value,
            "inputs": [{"key": k, "name": w(_INPUT_NAMES[k]), "value": v}
                       for k, v in inputs.items()]}


def _profile(author: Author | None, key: AuthorKey, name: str, w: Wording) -> dict[str, Any]:
    tier = tier_of(author)
    a = author
    return {"platform": key[0], "platform_name": platform_name(key[0], w), "author_id": key[1],
            "name": name, "tier": tier, "tier_name": tier_name(tier, w),
            "followers": a.followers if a else None, "following": a.following if a else None,
            "verified": bool(a.verified) if a else False,
            "verified_reason": a.verified_reason if a else None,
            "location": a.region if a else None, "description": a.description if a else None,
            "url": safe_url(a.url) if a else None,
            "updated": w.time(a.updated_at) if a and a.updated_at else None}


def _figures(stats: dict[str, Any], w: Wording) -> dict[str, Any]:
    scored = stats["positive"] + stats["negative"] + stats["neutral"]
    return {**stats, "net": net_score(stats["positive"], stats["negative"]),
            "negative_share": stats["negative"] / scored if scored else None,
            "first_at": stats["first_at"].isoformat() if stats["first_at"] else None,
            "last_at": stats["last_at"].isoformat() if stats["last_at"] else None,
            "first": w.time(stats["first_at"]), "last": w.time(stats["last_at"])}


def account_detail(store: Store, topic: str | None, key: AuthorKey, *, now: datetime,
                   choice: str = "auto", page: int = 1, w: Wording,
                   tz: str = "Asia/Shanghai", size: int = POSTS_PER_PAGE,
                   series: bool = True) -> dict[str, Any] | None:
    """Everything the account page shows, or None when the account has no post under
    ``topic`` (any time; or in the whole store without a topic). ``series``: with the chart's
    counts (the page leaves them to its script, which asks :func:`account_series`)."""
    if _stats(store, topic, key) is None:
        return None
    win = account_window(store, topic, key, now=now, choice=choice, tz=tz)
    stats = _stats(store, topic, key, win.since, win.until) or _zero(key)
    author = store.authors([key]).get(key)
    page = max(1, page)
    found = store.newest_posts(topic=topic, since=win.since, until=win.until, author=key,
                               offset=(page - 1) * size, limit=size)
    scanned = found.posts if page == 1 and found.total <= size else store.newest_posts(
        topic=topic, since=win.since, until=win.until, author=key, limit=MAX_SCANNED).posts
    newest = store.newest_posts(topic=topic, author=key, limit=1).posts
    name = ((author.name if author else None) or (newest[0].author_name if newest else None)
            or key[1])
    start = win.since or stats["first_at"] or now
    days = max((((win.until or now) - start) / timedelta(days=1)), 1.0)
    return {
        "topic": topic, "range": win.used, "bucket": win.bucket,
        "since": win.since.isoformat() if win.since else None,
        "until": win.until.isoformat() if win.until else None,
        "profile": _profile(author, key, name, w), "figures": _figures(stats, w),
        "influence": influence_detail(author, scanned, days=days, w=w),
        "posts": {"total": found.total, "page": page, "size": size,
                  "pages": max(1, -(-found.total // size)),
                  "rows": [post_row(p, w) for p in found.posts]},
        "cascades": account_cascades(store, topic, scanned, w=w),
        "scanned": len(scanned), "scan_cap": MAX_SCANNED,
        "series": sentiment_series(store, topic, key, win, w=w, tz=tz) if series else None,
        "kol_url": f"/monitors/{quote(topic, safe='')}/kol" if topic else None,
        "self_url": account_url(key[0], key[1], topic, resolve_range(choice)),
    }


def account_series(store: Store, topic: str | None, key: AuthorKey, *, now: datetime,
                   choice: str = "auto", w: Wording,
                   tz: str = "Asia/Shanghai") -> dict[str, Any] | None:
    """The account page's chart alone (what the page's script asks for), or None as
    :func:`account_detail` decides."""
    if _stats(store, topic, key) is None:
        return None
    win = account_window(store, topic, key, now=now, choice=choice, tz=tz)
    return {"topic": topic, "range": win.used,
            **sentiment_series(store, topic, key, win, w=w, tz=tz)}
