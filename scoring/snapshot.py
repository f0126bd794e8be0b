"""One monitor window as a flat dict of slash-named numbers, the input of the alert rules.

Pure: records and a graph report in, numbers out. No store, no settings, no clock (``now`` is a
parameter). The same dict is kept as the monitor run's stats, so past snapshots are the history
the baseline rules compare with.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from scoring.netsentiment import net_score
from scoring.netsentiment import post_label as sentiment_label  # the public name kept here

if TYPE_CHECKING:
    from crawlers.items import Author, AuthorKey, CrawlRun, Post

__all__ = ["CRAWL_FAILURES", "HEAD_TIERS", "crawl_failure", "sentiment_label", "snapshot"]

HEAD_TIERS = ("head", "kol", "big_v", "大V")  # tier values that count as head accounts
# Finish reasons (and stats) that mean a crawl saw nothing because the platform shut it out.
CRAWL_FAILURES = ("login_required", "rate_limited", "blocked")


def crawl_failure(run: CrawlRun) -> str | None:
    """Why a crawl run saw nothing: a CRAWL_FAILURES reason, "crashed", or None when it worked.

    >>> from crawlers.items import CrawlRun
    >>> crawl_failure(CrawlRun("r", "weibo", finish_reason="login_required"))
    'login_required'
    >>> crawl_failure(CrawlRun("r", "weibo", finish_reason="finished"))
    """
    reason = run.finish_reason or ""
    if reason in CRAWL_FAILURES:
        return reason
    if not int(run.stats.get("item_scraped_count", 0) or 0):
        for failure in CRAWL_FAILURES:
            if run.stats.get(f"platform/{run.platform}/{failure}"):
                return failure
    if reason in ("", "finished", "closespider_pagecount", "closespider_itemcount"):
        return None
    return "crashed"


def _big_v_followers() -> dict[str, float]:
    from scoring.influence import DEFAULT_TIERS

    return {p: t["big_v"] for p, t in DEFAULT_TIERS.items()
            if t.get("measure") == "followers" and "big_v" in t}


def _is_head(author: Author | None, head_tiers: Sequence[str],
             big_v_followers: Mapping[str, float]) -> bool:
    if author is None:
        return False
    if author.tier in head_tiers:
        return True
    cut = big_v_followers.get(author.platform)
    if cut is not None:
        return bool(author.verified) and (author.followers or 0) >= cut
    return _big_v_by_upvotes(author)


def _big_v_by_upvotes(author: Author) -> bool:
    """大V where the platform measures upvotes (Zhihu): verified with the 大V upvote count."""
    from scoring.influence import DEFAULT_TIERS, author_tier

    if (DEFAULT_TIERS.get(author.platform) or {}).get("measure") != "upvotes":
        return False
    return author_tier(author)[1]


def _get(obj: Any, name: str) -> Any:
    return obj.get(name) if isinstance(obj, Mapping) else getattr(obj, name, None)


def _cascade_metrics(graph_report: Any) -> dict[str, float]:
    cascades = _get(graph_report, "cascades") if graph_report is not None else None
    if not cascades:
        return {}
    rows = list(cascades.values() if isinstance(cascades, Mapping) else cascades)
    out = {"cascade/count": float(len(rows))}
    for field, name in (("size", "max_size"), ("depth", "max_depth"),
                        ("max_breadth", "max_breadth"), ("structural_virality", "max_virality")):
        values = [float(v) for v in (_get(r, field) for r in rows) if isinstance(v, (int, float))]
        if values:
            out[f"cascade/{name}"] = max(values)
    return out


def _crawl_metrics(runs: Iterable[CrawlRun]) -> dict[str, float]:
    by_platform: dict[str, list[CrawlRun]] = {}
    for run in runs:
        if run.kind == "crawl":
            by_platform.setdefault(run.platform, []).append(run)
    out: dict[str, float] = {}
    worst = 0
    for platform, seq in sorted(by_platform.items()):
        seq.sort(key=lambda r: (r.started_at is None, r.started_at))
        latest, streak = seq[-1], 0
        for run in reversed(seq):
            if crawl_failure(run) is None:
                break
            streak += 1
        reason = crawl_failure(latest)
        out[f"crawl/{platform}/items"] = float(latest.stats.get("item_scraped_count", 0) or 0)
        for failure in (*CRAWL_FAILURES, "crashed"):
            out[f"crawl/{platform}/{failure}"] = float(reason == failure)
        out[f"crawl/{platform}/consecutive_failures"] = float(streak)
        worst = max(worst, streak)
    if by_platform:
        out["crawl/max_consecutive_failures"] = float(worst)
    return out


def _provinces(raw: Counter[str]) -> Counter[str]:
    """Region strings folded to provincial-level units (未知 left out), for the surge rule."""
    from scoring.why.regions import UNKNOWN, normalise_region

    out: Counter[str] = Counter()
    for text, n in raw.items():
        region = normalise_region(text)
        if region != UNKNOWN:
            out[region] += n
    return out


def snapshot(
    posts: Iterable[Post],
    authors: Mapping[AuthorKey, Author],
    graph_report: Any,
    runs: Iterable[CrawlRun],
    *,
    now: datetime,
    window: timedelta,
    head_tiers: Sequence[str] = HEAD_TIERS,
    big_v_followers: Mapping[str, float] | None = None,
) -> dict[str, float]:
    """Metrics of the window ``[now - window, now)``.

    Parameters
    ----------
    posts : the topic's matching posts; those before the window tell which authors are new
    authors : stored authors by (platform, author_id), for tiers and followers
    graph_report : mapping or object with ``cascades`` (each with size, depth, max_breadth,
        structural_virality), or None
    runs : the topic's crawl runs, oldest first, for crawl-health metrics
    head_tiers, big_v_followers : an author is "head" if its tier is in ``head_tiers`` or it is
        verified with at least ``big_v_followers[platform]`` followers (大V; default: the 大V
        cut-offs of :data:`scoring.influence.DEFAULT_TIERS` for follower-measured platforms;
        on Zhihu, measured by upvotes, verified with at least its 大V upvote count)

    Returns
    -------
    dict of str to float
        ``window/*``, ``posts/*`` (count, scored, negative, negative_ratio, net_sentiment,
        volume_by_hour, platform/<slug>), ``risk/*``, ``authors/*`` (active, head, head_joined
        and one ``authors/head_joined/<platform>/<id>`` key per new head account),
        ``crawl/<slug>/*`` and ``cascade/*``.

    Examples
    --------
    >>> from datetime import timezone
    >>> from crawlers.items import Post
    >>> now = datetime(2026, 11, 20, 12, tzinfo=timezone.utc)
    >>> posts = [Post("weibo", str(i), created_at=now - timedelta(minutes=10 * i),
    ...               sentiment_label="negative" if i % 2 else "positive") for i in range(1, 5)]
    >>> m = snapshot(posts, {}, None, [], now=now, window=timedelta(hours=1))
    >>> m["posts/count"], m["posts/negative"], m["posts/negative_ratio"]
    (4.0, 2.0, 0.5)
    """
    start = now - window
    labels: Counter[str] = Counter()
    platforms: Counter[str] = Counter()
    regions: Counter[str] = Counter()
    risk: Counter[str] = Counter()
    first_seen: dict[AuthorKey, datetime] = {}
    active: set[AuthorKey] = set()
    count = risky = 0
    for post in posts:
        when = post.created_at
        if when is None or when >= now:
            continue
        key = (post.platform, post.author_id) if post.author_id else None
        if key and (key not in first_seen or when < first_seen[key]):
            first_seen[key] = when
        if when < start:
            continue
        count += 1
        platforms[post.platform] += 1
        if post.region:
            regions[post.region] += 1
        labels[sentiment_label(post) or "unscored"] += 1
        if post.risk_hits:
            risky += 1
            risk.update(post.risk_hits)
        if key:
            active.add(key)

    scored = count - labels["unscored"]
    neg, pos = labels["negative"], labels["positive"]
    out: dict[str, float] = {
        "window/end": now.timestamp(),
        "window/seconds": window.total_seconds(),
        "posts/count": float(count),
        "posts/scored": float(scored),
        "posts/negative": float(neg),
        "posts/positive": float(pos),
        "posts/neutral": float(labels["neutral"]),
        "posts/negative_ratio": neg / scored if scored else 0.0,
        "posts/net_sentiment": net_score(pos, neg) or 0.0,  # no polar post: 0, not missing
        "posts/volume_by_hour": count / (window.total_seconds() / 3600) if window else 0.0,
        "risk/hits": float(sum(risk.values())),
        "risk/posts": float(risky),
        "authors/active": float(len(active)),
    }
    out.update({f"posts/platform/{p}": float(n) for p, n in platforms.items()})
    out.update({f"posts/region/{r}": float(n) for r, n in _provinces(regions).items()})
    out.update({f"risk/word/{w}": float(n) for w, n in risk.items()})
    cuts = _big_v_followers() if big_v_followers is None else big_v_followers
    heads = [k for k in active if _is_head(authors.get(k), head_tiers, cuts)]
    joined = sorted(k for k in heads if first_seen[k] >= start)
    out["authors/head"] = float(len(heads))
    out["authors/head_joined"] = float(len(joined))
    for platform, author_id in joined:
        out[f"authors/head_joined/{platform}/{author_id}"] = float(
            authors[(platform, author_id)].followers or 0)
    out.update(_crawl_metrics(runs))
    out.update(_cascade_metrics(graph_report))
    return out
