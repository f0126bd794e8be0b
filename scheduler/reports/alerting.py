"""What alert emails borrow from reports: a monitor's recent timeline charts and sample posts,
shaped as ``deliver_pending``'s ``charts_for`` / ``posts_for`` callbacks.

matplotlib is imported only when a chart is drawn.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from scheduler.reports.assemble import sentiment_label, timelines

if TYPE_CHECKING:
    from crawlers.items import Alert, Monitor, Post
    from crawlers.storage import Store

__all__ = ["alert_callbacks", "monitor_charts", "monitor_posts", "sample_posts"]


def monitor_posts(store: Store, monitor: Monitor, *, since: datetime | None,
                  until: datetime) -> list[Post]:
    """The monitor's topic posts in ``[since, until)`` that its query matches."""
    from scheduler.query import parse_query

    query = parse_query(monitor.query) if monitor.query else None
    return [p for p in store.posts(topic=monitor.name, since=since, until=until)
            if query is None or query.matches(f"{p.title or ''}\n{p.text}")]


def monitor_charts(store: Store, monitor: Monitor, *, now: datetime,
                   window: timedelta = timedelta(days=2)) -> dict[str, bytes]:
    """Hourly sentiment and volume charts of the last ``window`` (PNG bytes by name)."""
    from scheduler.charts.timeline import plot_sentiment, plot_volume

    posts = monitor_posts(store, monitor, since=now - window, until=now)
    volume, sentiment = timelines(posts, "hour")
    return {"sentiment": plot_sentiment(sentiment, title=f"{monitor.name} 情感走势"),
            "volume": plot_volume(volume, title=f"{monitor.name} 声量")}


def sample_posts(posts: Sequence[Post], k: int = 5) -> list[Post]:
    """Up to ``k`` posts to quote: negative ones first, then by engagement, then newest."""
    def order(p: Post) -> tuple[int, int, float]:
        engagement = (p.repost_count or 0) + (p.comment_count or 0) + (p.like_count or 0)
        stamp = p.created_at.timestamp() if p.created_at else 0.0
        return (sentiment_label(p) != "negative", -engagement, -stamp)
    return sorted(posts, key=order)[:k]


def alert_callbacks(store: Store, *, now: datetime, window: timedelta = timedelta(days=2),
                    k: int = 5) -> tuple[Callable[[Monitor], dict[str, bytes]],
                                         Callable[[Monitor, Sequence[Alert]], list[Post]]]:
    """``(charts_for, posts_for)`` for :func:`scheduler.notify.deliver_pending`."""
    def charts_for(monitor: Monitor) -> dict[str, bytes]:
        return monitor_charts(store, monitor, now=now, window=window)

    def posts_for(monitor: Monitor, alerts: Sequence[Alert]) -> list[Post]:
        starts = [a.window_start for a in alerts if a.window_start]
        since = min(starts) if starts else now - window
        return sample_posts(monitor_posts(store, monitor, since=since, until=now), k)

    return charts_for, posts_for
