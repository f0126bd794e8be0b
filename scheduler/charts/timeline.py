"""Topic charts for reports and alert emails: volume and sentiment over time, tier and platform
splits. Each takes plain data, draws on ``ax`` (or a new Figure) and returns the figure as PNG.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, cast

from matplotlib import dates as mdates

from scheduler.charts.base import figure_png, subplots

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from numpy.typing import ArrayLike

__all__ = ["COLORS", "plot_platforms", "plot_sentiment", "plot_tiers", "plot_volume"]

CHINA = timezone(timedelta(hours=8))
COLORS = {"positive": "#2e7d32", "neutral": "#9e9e9e", "negative": "#c62828",
          "net": "#1565c0", "volume": "#455a64"}
PLATFORM_LABELS = {"weibo": "微博", "wechat": "微信", "zhihu": "知乎", "forum": "论坛"}
# Display order of tiers: most influential first.
TIER_LABELS = {"kol": "大V", "head": "头部", "waist": "腰部", "tail": "尾部", "amateur": "素人",
               "other": "其他", "unknown": "未知"}


def _x(times: Sequence[datetime]) -> ArrayLike:
    # matplotlib plots datetimes through its units registry; its stubs only list numeric x.
    return cast("ArrayLike", times)


def _time_axis(ax: Axes, times: Sequence[datetime]) -> None:
    # Platform times are stored UTC; readers think in Beijing time.
    # matplotlib.dates is unannotated, hence the no-untyped-call ignores.
    locator = mdates.AutoDateLocator(tz=CHINA, maxticks=8)  # type: ignore[no-untyped-call]
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(  # type: ignore[no-untyped-call]
        locator, tz=CHINA, formats=["%Y", "%m月", "%m-%d", "%H:%M", "%H:%M", "%S"],
        zero_formats=["", "%Y", "%m月", "%m-%d", "%H:%M", "%H:%M"],
        offset_formats=["", "%Y", "%Y-%m", "%Y-%m-%d", "%Y-%m-%d", "%Y-%m-%d %H:%M"]))
    ax.set_xlabel("时间 (北京时间)")


def _bar_width(times: Sequence[datetime]) -> float:
    if len(times) < 2:
        return 1 / 24
    step = min((b - a).total_seconds() for a, b in zip(times, times[1:], strict=False))
    return max(step, 60.0) / 86400 * 0.8  # matplotlib date units are days


def _empty(ax: Axes, title: str) -> None:
    ax.set_title(title)
    ax.text(0.5, 0.5, "无数据", ha="center", va="center", transform=ax.transAxes, color="#777")
    ax.set_xticks([])
    ax.set_yticks([])


def plot_volume(data: Sequence[tuple[datetime, int]], *, ax: Axes | None = None,
                title: str = "声量") -> bytes:
    """Posts per time bucket: ``data`` is ``[(bucket_start, count), …]`` in time order."""
    fig, ax = subplots(ax)
    if not data:
        _empty(ax, title)
        return figure_png(fig)
    times = [t for t, _ in data]
    ax.bar(_x(times), [c for _, c in data], width=_bar_width(times), color=COLORS["volume"],
           align="edge", label="帖子数")
    _time_axis(ax, times)
    ax.set_ylabel("帖子数")
    ax.set_title(title)
    return figure_png(fig)


def plot_sentiment(data: Sequence[tuple[datetime, int, int, int]], *, ax: Axes | None = None,
                   title: str = "情感走势") -> bytes:
    """Stacked positive / neutral / negative counts per bucket, with net sentiment
    ``(pos − neg) / (pos + neg)`` on a second axis. ``data``: ``[(start, pos, neu, neg), …]``."""
    fig, ax = subplots(ax)
    if not data:
        _empty(ax, title)
        return figure_png(fig)
    times = [row[0] for row in data]
    pos = [row[1] for row in data]
    neu = [row[2] for row in data]
    neg = [row[3] for row in data]
    width, x = _bar_width(times), _x(times)
    ax.bar(x, neg, width=width, align="edge", color=COLORS["negative"], label="负面")
    ax.bar(x, neu, width=width, align="edge", bottom=neg, color=COLORS["neutral"], label="中性")
    ax.bar(x, pos, width=width, align="edge",
           bottom=[a + b for a, b in zip(neg, neu, strict=True)],
           color=COLORS["positive"], label="正面")
    ax.set_ylabel("帖子数")
    ax.set_ylim(0, max(max(a + b + c for a, b, c in zip(pos, neu, neg, strict=True)), 1) * 1.3)
    net_ax = ax.twinx()
    # A bucket with no polar posts has no net sentiment: leave a gap, not a misleading zero.
    net = [(p - n) / (p + n) if p + n else float("nan") for p, n in zip(pos, neg, strict=True)]
    centres = [t + timedelta(seconds=width * 86400 / 2) for t in times]
    net_ax.plot(_x(centres), net, color=COLORS["net"], marker="o", markersize=3, label="净情感")
    net_ax.axhline(0, color=COLORS["net"], linewidth=0.5, linestyle=":")
    net_ax.set_ylim(-1.05, 1.05)
    net_ax.set_ylabel("净情感")
    handles, labels = ax.get_legend_handles_labels()
    h2, l2 = net_ax.get_legend_handles_labels()
    ax.legend(handles + h2, labels + l2, loc="upper left", fontsize="small", ncols=4)
    _time_axis(ax, times)
    ax.set_title(title)
    return figure_png(fig)


def _bars(ax: Axes, data: Mapping[str, int], labels: Mapping[str, str], title: str,
          xlabel: str, by_label_order: bool = False) -> None:
    if not data:
        _empty(ax, title)
        return
    order = list(labels)
    names = sorted(data, key=lambda k: (order.index(k) if k in order else len(order), k)
                   ) if by_label_order else sorted(data, key=lambda k: -data[k])
    ax.barh([labels.get(n, n) for n in names][::-1], [data[n] for n in names][::-1],
            color=COLORS["volume"])
    for i, n in enumerate(names[::-1]):
        ax.annotate(f"{data[n]:,}", (data[n], i), xytext=(3, 0), textcoords="offset points",
                    va="center", fontsize="small")
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    ax.margins(x=0.15)


def plot_tiers(data: Mapping[str, int], *, ax: Axes | None = None,
               title: str = "账号层级分布") -> bytes:
    """Accounts per influence tier (``{"head": 3, "waist": 12, …}``) as horizontal bars."""
    fig, ax = subplots(ax, height=3.0)
    _bars(ax, data, TIER_LABELS, title, "账号数", by_label_order=True)
    return figure_png(fig)


def plot_platforms(data: Mapping[str, int], *, ax: Axes | None = None,
                   title: str = "平台分布") -> bytes:
    """Posts per platform (``{"weibo": 120, "zhihu": 8}``) as horizontal bars."""
    fig, ax = subplots(ax, height=3.0)
    _bars(ax, data, PLATFORM_LABELS, title, "帖子数")
    return figure_png(fig)
