"""A monitor's KOL table: one page of the accounts that posted in a window, sorted and filtered,
each with its profile, figures and net sentiment.

The store groups, sorts, filters by net sentiment class and pages (``Store.author_stats``);
only the page's profiles are read (``Store.authors``). Tier is the one filter the store cannot
apply: an account's tier is its stored ``tier`` or, for accounts scoring has not tiered yet, a
cut-off on its followers (``scheduler.reports.assemble.default_tier_of``), and both live in the
profile, not in the posts the store groups. With a tier chosen, the window's rows (one per
account, counted by the store: never the posts) and their profiles are read, and the tier
kept here. Sorting by followers is not offered for the same reason: it would cost that read on
every page, the unfiltered table included.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

from crawlers.storage.base import NET_CLASSES
from scheduler.notify.wording import platform_name, tier_name
from scheduler.reports.markup import safe_url
from scoring.netsentiment import net_score
from web.data.series import TIERS, tier_of, tiers_of

if TYPE_CHECKING:

    from crawlers.items import Author
    from crawlers.storage import Store
    from scheduler.i18n import Wording
    from web.data.series import Window

__all__ = ["EXPORT_CAP", "ORDERS", "PAGE_SIZE", "TIER_CHOICES", "KolQuery", "account_url",
           "kol_page", "kol_rows"]

PAGE_SIZE = 50
EXPORT_CAP = 10_000  # rows in a CSV/xlsx download; Excel stays quick and the file small
# Sortable columns (a subset of Store AUTHOR_ORDERS; "negative" sorts by the negative count).
ORDERS = ("posts", "engagement", "net", "negative", "positive", "neutral", "first_at", "last_at")
TIER_CHOICES = (*TIERS, "unknown")
SENTIMENT_CHOICES = NET_CLASSES


@dataclass(frozen=True)
class KolQuery:
    """What the reader asked for: sort column and direction, filters (None: all), page."""

    order: str = "posts"
    descending: bool = True
    platform: str | None = None
    tier: str | None = None
    sentiment: str | None = None
    page: int = 1
    size: int = PAGE_SIZE

    def params(self, **change: Any) -> str:
        """The query string of this table (``range`` aside) with ``change`` applied, for
        sort links and the pager: defaults left out, so addresses stay short."""
        values = {"order": self.order, "desc": "1" if self.descending else "0",
                  "platform": self.platform or "", "tier": self.tier or "",
                  "sentiment": self.sentiment or "", "page": str(self.page)}
        values.update({k: str(v) for k, v in change.items()})
        defaults = {"order": "posts", "desc": "1", "page": "1"}
        return urlencode({k: v for k, v in values.items() if v and defaults.get(k) != v})


def account_url(platform: str, author_id: str, topic: str | None, choice: str = "auto") -> str:
    """The account page of ``(platform, author_id)`` under monitor ``topic``."""
    query = {"monitor": topic or "", "range": choice if choice != "auto" else ""}
    tail = urlencode({k: v for k, v in query.items() if v})
    return (f"/accounts/{quote(platform, safe='')}/{quote(author_id, safe='')}"
            + (f"?{tail}" if tail else ""))


def _profiles(store: Store, rows: list[dict[str, Any]]) -> dict[tuple[str, str], Author]:
    return store.authors([(r["platform"], r["author_id"]) for r in rows]) if rows else {}


def _window_rows(store: Store, topic: str, win: Window, q: KolQuery, offset: int,
                 limit: int) -> tuple[list[dict[str, Any]], int, dict[tuple[str, str], Author]]:
    """(rows of the page, matching accounts in all, their profiles)."""
    args: dict[str, Any] = {"topic": topic, "since": win.since, "until": win.until,
                            "platform": q.platform, "sentiment": q.sentiment,
                            "order": q.order, "descending": q.descending}
    if q.tier is None:
        found = store.author_stats(**args, offset=offset, limit=limit)
        return found.rows, found.total, _profiles(store, found.rows)
    every = store.author_stats(**args).rows  # sorted by the store; one row per account
    tiers = tiers_of(store, [(r["platform"], r["author_id"]) for r in every])
    kept = [r for r in every if tiers.get((r["platform"], r["author_id"]), "unknown") == q.tier]
    page = kept[offset:offset + limit]
    return page, len(kept), _profiles(store, page)


def _posted_name(store: Store, topic: str, key: tuple[str, str]) -> str | None:
    """The name the account's newest post of ``topic`` carries (one row read by index), for
    accounts without a stored profile name."""
    found = store.newest_posts(topic=topic, author=key, limit=1)
    return found.posts[0].author_name if found.posts else None


def kol_row(store: Store, topic: str, stats: dict[str, Any], author: Author | None, *,
            w: Wording, choice: str) -> dict[str, Any]:
    """One account of the table, as the page, the API and the downloads show it."""
    key = (stats["platform"], stats["author_id"])
    name = (author.name if author else None) or _posted_name(store, topic, key) or key[1]
    positive, negative, neutral = stats["positive"], stats["negative"], stats["neutral"]
    scored = positive + negative + neutral
    tier = tier_of(author)
    return {
        "platform": key[0], "platform_name": platform_name(key[0], w), "author_id": key[1],
        "name": name, "tier": tier, "tier_name": tier_name(tier, w),
        "followers": author.followers if author else None,
        "verified": bool(author.verified) if author else False,
        "posts": stats["posts"], "engagement": stats["engagement"],
        "positive": positive, "neutral": neutral, "negative": negative,
        "net": net_score(positive, negative),
        "negative_share": negative / scored if scored else None,
        "first_at": stats["first_at"], "last_at": stats["last_at"],
        "first": w.time(stats["first_at"]), "last": w.time(stats["last_at"]),
        "account_url": account_url(key[0], key[1], topic, choice),
        "profile_url": safe_url(author.url) if author else None,
    }


def kol_page(store: Store, topic: str, win: Window, q: KolQuery, *, w: Wording,
             choice: str = "auto") -> dict[str, Any]:
    """One page of the table and how many accounts match (for the pager)."""
    page = max(1, q.page)
    rows, total, profiles = _window_rows(store, topic, win, q, (page - 1) * q.size, q.size)
    return {
        "topic": topic, "range": win.used,
        "since": win.since.isoformat() if win.since else None,
        "until": win.until.isoformat() if win.until else None,
        "order": q.order, "descending": q.descending, "platform": q.platform,
        "tier": q.tier, "sentiment": q.sentiment,
        "total": total, "page": page, "size": q.size, "pages": max(1, -(-total // q.size)),
        "rows": [kol_row(store, topic, r, profiles.get((r["platform"], r["author_id"])),
                         w=w, choice=choice) for r in rows],
    }


def kol_rows(store: Store, topic: str, win: Window, q: KolQuery, *, w: Wording,
             choice: str = "auto", cap: int = EXPORT_CAP) -> tuple[list[dict[str, Any]], int]:
    """The whole filtered table in its order, at most ``cap`` rows, and how many match
    (a download says so when it holds fewer)."""
    rows, total, profiles = _window_rows(store, topic, win, q, 0, cap)
    return [kol_row(store, topic, r, profiles.get((r["platform"], r["author_id"])), w=w,
                    choice=choice) for r in rows], total
