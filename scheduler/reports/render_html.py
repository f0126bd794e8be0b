"""The KOL report as ONE self-contained HTML file: inline CSS, charts as data: URIs, a CJK font
stack, every crawled string escaped (scheduler.reports.markup builds all markup).

Charts are drawn with scheduler.charts (imported when rendering, so importing this is cheap).
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

from scheduler.reports.markup import Markup, multiline, safe_url, tag

if TYPE_CHECKING:
    from scheduler.reports.assemble import CascadeRow, KolReport, KolRow

__all__ = ["CSS", "report_charts", "render_html"]

CHINA = timezone(timedelta(hours=8))
CSS = Markup("""
body{font-family:"Noto Sans CJK SC","Source Han Sans SC","PingFang SC","Hiragino Sans GB",
"Microsoft YaHei","WenQuanYi Micro Hei",sans-serif;color:#1f2328;margin:24px auto;max-width:1180px;
padding:0 16px;line-height:1.5}
h1{font-size:1.6em;margin:0 0 4px}h2{font-size:1.2em;border-bottom:1px solid #d0d7de;
padding-bottom:4px;margin-top:28px}
.meta{color:#656d76}.cards{display:flex;gap:12px;flex-wrap:wrap;margin:16px 0}
.card{border:1px solid #d0d7de;border-radius:6px;padding:8px 14px;min-width:110px}
.card b{display:block;font-size:1.4em}
table{border-collapse:collapse;width:100%;font-size:0.92em}
th,td{border-bottom:1px solid #eaeef2;padding:5px 8px;text-align:left;vertical-align:top}
th{background:#f6f8fa}td.n{text-align:right;font-variant-numeric:tabular-nums}
.neg{color:#c62828}.pos{color:#2e7d32}
.charts{display:grid;grid-template-columns:1fr 1fr;gap:12px}.charts img{width:100%}
.cascade{display:flex;gap:16px;border:1px solid #d0d7de;border-radius:6px;padding:10px;
margin:10px 0}
.cascade img{width:420px;max-width:50%}blockquote{margin:0;color:#424a53;word-break:break-all}
""")


def _platform(slug: str) -> str:
    from scheduler.notify.wording import platform_name

    return platform_name(slug)


def _when(moment: datetime | None) -> str:
    return moment.astimezone(CHINA).strftime("%Y-%m-%d %H:%M") if moment else "—"


def _img(png: bytes | None, alt: str) -> Markup | None:
    if not png:
        return None
    return tag("img", src="data:image/png;base64," + base64.b64encode(png).decode("ascii"), alt=alt)


def _num(value: int | None) -> str:
    return "—" if value is None else f"{value:,}"


def _net(value: float | None) -> Markup:
    if value is None:
        return tag("span", "—")
    return tag("span", f"{value:+.2f}", class_="neg" if value < 0 else "pos" if value > 0 else None)


def report_charts(report: KolReport) -> dict[str, bytes]:
    """The topic charts of ``report`` as PNG bytes (volume, sentiment, tiers, platforms)."""
    from scheduler.charts.timeline import plot_platforms, plot_sentiment, plot_tiers, plot_volume

    return {
        "volume": plot_volume(report.volume, title="声量"),
        "sentiment": plot_sentiment(report.sentiment, title="情感走势"),
        "tiers": plot_tiers(report.tiers),
        "platforms": plot_platforms(report.platforms),
    }


def _account_row(rank: int, row: KolRow) -> Markup:
    link = safe_url(row.url)
    name = tag("a", row.name, href=link, rel="noopener noreferrer") if link else row.name
    from scheduler.notify.wording import platform_name, tier_name

    return tag("tr", tag("td", str(rank), class_="n"), tag("td", platform_name(row.platform)),
               tag("td", name), tag("td", tier_name(row.tier)),
               tag("td", _num(row.followers), class_="n"),
               tag("td", _num(row.posts), class_="n"), tag("td", _num(row.engagement), class_="n"),
               tag("td", _num(row.reach), class_="n"), tag("td", _num(row.key_rank), class_="n"),
               tag("td", _net(row.net_sentiment), class_="n"), tag("td", _when(row.first_seen)))


def _cascade(row: CascadeRow) -> Markup:
    link = safe_url(row.url)
    text = row.text if len(row.text) <= 300 else row.text[:299] + "…"
    sv = "—" if row.structural_virality is None else f"{row.structural_virality:.2f}"
    facts = tag("table",
                tag("tr", tag("th", "规模"), tag("td", _num(row.size), class_="n")),
                tag("tr", tag("th", "深度"), tag("td", _num(row.depth), class_="n")),
                tag("tr", tag("th", "最大宽度"), tag("td", _num(row.max_breadth), class_="n")),
                tag("tr", tag("th", "结构病毒性"), tag("td", sv, class_="n")))
    return tag("div", _img(row.picture, f"传播图 {row.root_post_id}"), tag(
        "div",
        tag("p", tag("b", row.author), f" · {_platform(row.platform)} · {_when(row.created_at)}",
            [" · ", tag("a", "原文", href=link, rel="noopener noreferrer")] if link else None,
            class_="meta"),
        tag("blockquote", multiline(text)), facts), class_="cascade")


def render_html(report: KolReport, charts: Mapping[str, bytes] | None = None) -> str:
    """A complete HTML document (UTF-8, lang zh-CN) with the charts embedded as data: URIs.

    ``charts`` defaults to :func:`report_charts`; pass ``{}`` for a chart-free page.
    """
    charts = report_charts(report) if charts is None else charts
    filters = [f"平台: {', '.join(report.platforms_filter)}"] if report.platforms_filter else []
    filters += [f"层级: {', '.join(report.tiers_filter)}"] if report.tiers_filter else []
    cards = [("帖子", _num(report.post_count)), ("账号", _num(report.author_count)),
             ("净情感", _net(report.net_sentiment)), ("传播链", _num(len(report.cascades)))]
    headers = ["#", "平台", "账号", "层级", "粉丝", "帖子", "互动", "下游触达", "关键节点",
               "净情感", "首次出现"]
    body = tag(
        "body",
        tag("h1", report.title, " · ", report.topic),
        tag("p", f"{_when(report.since)} – {_when(report.until)} (北京时间) · 生成于 "
                 f"{_when(report.generated_at)}", [" · ", " · ".join(filters)] if filters else None,
            class_="meta"),
        tag("div", [tag("div", tag("b", value), label, class_="card") for label, value in cards],
            class_="cards"),
        tag("h2", "话题走势"),
        tag("div", [_img(charts.get(name), alt) for name, alt in
                    (("volume", "声量"), ("sentiment", "情感走势"), ("tiers", "层级分布"),
                     ("platforms", "平台分布"))], class_="charts"),
        tag("h2", f"关键账号 (前 {len(report.accounts)})"),
        tag("table", tag("tr", [tag("th", h) for h in headers]),
            [_account_row(i, r) for i, r in enumerate(report.accounts, 1)])
        if report.accounts else tag("p", "没有账号", class_="meta"),
        tag("h2", "主要传播链"),
        [_cascade(c) for c in report.cascades] or tag("p", "没有传播链", class_="meta"),
        [tag("p", "注: ", note, class_="meta") for note in report.notes],
    )
    head = tag("head", tag("meta", charset="utf-8"),
               tag("meta", name="viewport", content="width=device-width, initial-scale=1"),
               tag("title", report.title, " · ", report.topic), tag("style", CSS))
    return "<!DOCTYPE html>\n" + tag("html", head, body, lang="zh-CN") + "\n"
