"""Text renderings of a KolReport: an aligned terminal table (CJK width-aware), JSON and CSV.

Crawled strings are cleaned for each medium: control characters (terminal escapes, CR/LF) are
dropped from table cells, and CSV cells that a spreadsheet would run as a formula are quoted.
"""

from __future__ import annotations

import csv
import io
import json
import re
import unicodedata
from dataclasses import asdict
from datetime import UTC, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from scheduler.reports.assemble import KolReport, KolRow

__all__ = ["display_width", "fit", "render_csv", "render_json", "render_table"]

CHINA = timezone(timedelta(hours=8))
_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u200b-\u200f\u202a-\u202e\u2066-\u2069]")
COLUMNS = ["rank", "platform", "author_id", "name", "tier", "followers", "posts", "engagement",
           "reach", "key_rank", "net_sentiment", "first_seen", "url"]
HEADERS = {"rank": "#", "platform": "平台", "name": "账号", "tier": "层级", "followers": "粉丝",
           "posts": "帖子", "engagement": "互动", "reach": "下游触达", "key_rank": "关键节点",
           "net_sentiment": "净情感", "first_seen": "首次出现"}


def _char_width(ch: str) -> int:
    if unicodedata.combining(ch) or unicodedata.category(ch) in ("Mn", "Me", "Cf"):
        return 0
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def display_width(text: str) -> int:
    """Terminal columns ``text`` takes: CJK and emoji count 2, combining marks 0.

    >>> display_width("品牌A"), display_width("e\\u0301")
    (5, 1)
    """
    return sum(_char_width(ch) for ch in text)


def clean(text: Any) -> str:
    """One line of printable text: controls, bidi overrides and line breaks become spaces."""
    return " ".join(_CONTROLS.sub(" ", str(text)).split())


def fit(text: str, width: int, align: str = "<") -> str:
    """``text`` cut (with …) or padded to exactly ``width`` columns, in time linear in
    ``len(text)`` (each character is measured once; a cut stops at ``width`` columns).

    >>> fit("品牌A投诉", 6), fit("ab", 4, ">")
    ('品牌A…', '  ab')
    """
    text = clean(text)
    kept: list[int] = []  # column width of each kept character
    used = 0
    for ch in text:
        w = _char_width(ch)
        if used + w > width:
            break
        kept.append(w)
        used += w
    else:
        return " " * (width - used) + text if align == ">" else text + " " * (width - used)
    while kept and used > width - 1:  # make room for the ellipsis (one column)
        used -= kept.pop()
    text = text[: len(kept)] + "…"
    used += 1
    pad = " " * max(width - used, 0)
    return pad + text if align == ">" else text + pad


def _when(moment: datetime | None) -> str:
    return moment.astimezone(CHINA).strftime("%Y-%m-%d %H:%M") if moment else "—"


def _net(value: float | None) -> str:
    return "—" if value is None else f"{value:+.2f}"


def _num(value: int | None) -> str:
    return "—" if value is None else f"{value:,}"


def _cells(rank: int, row: KolRow) -> dict[str, str]:
    from scheduler.notify.wording import platform_name, tier_name

    return {"rank": str(rank), "platform": platform_name(row.platform), "name": row.name,
            "tier": tier_name(row.tier),
            "followers": _num(row.followers), "posts": _num(row.posts),
            "engagement": _num(row.engagement), "reach": _num(row.reach),
            "key_rank": _num(row.key_rank), "net_sentiment": _net(row.net_sentiment),
            "first_seen": _when(row.first_seen)}


def _grid(headers: list[str], rows: list[list[str]], right: set[int], cap: int = 28) -> list[str]:
    widths = [min(cap, max([display_width(clean(h))] + [display_width(clean(r[i])) for r in rows]))
              for i, h in enumerate(headers)]
    def line(cells: list[str]) -> str:
        return "  ".join(fit(c, w, ">" if i in right else "<")
                         for i, (c, w) in enumerate(zip(cells, widths, strict=True))).rstrip()
    return [line(headers), "  ".join("─" * w for w in widths)] + [line(r) for r in rows]


def render_table(report: KolReport) -> str:
    """The report as aligned text for a terminal."""
    from scheduler.notify.wording import platform_name, tier_name

    window = f"{_when(report.since)} – {_when(report.until)} (北京时间)"
    out = [f"{report.title} · 话题: {clean(report.topic)}", f"时段: {window}",
           f"帖子 {report.post_count:,} · 账号 {report.author_count:,} · 净情感 "
           f"{_net(report.net_sentiment)}",
           "平台: " + (", ".join(f"{platform_name(k)} {v:,}"
                                for k, v in sorted(report.platforms.items())) or "—"),
           "层级: " + (", ".join(f"{tier_name(k)} {v:,}"
                                for k, v in sorted(report.tiers.items())) or "—"), ""]
    keys = [c for c in HEADERS]
    rows = [[_cells(i, r)[c] for c in keys] for i, r in enumerate(report.accounts, 1)]
    out += _grid([HEADERS[c] for c in keys], rows, right={0, 5, 6, 7, 8, 9, 10}) if rows else [
        "(没有账号)"]
    if report.cascades:
        out += ["", "主要传播链:"]
        crow = [[platform_name(c.platform), c.author, c.text, _num(c.size), _num(c.depth),
                 _num(c.max_breadth),
                 "—" if c.structural_virality is None else f"{c.structural_virality:.2f}"]
                for c in report.cascades]
        out += _grid(["平台", "发起人", "内容", "规模", "深度", "最大宽度", "结构病毒性"], crow,
                     right={3, 4, 5, 6})
    out += [f"注: {clean(n)}" for n in report.notes]
    return "\n".join(out) + "\n"


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, bytes):
        return None  # pictures belong to the HTML report
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def render_json(report: KolReport) -> str:
    """The whole report as JSON (times in UTC ISO-8601; cascade pictures left out)."""
    data = asdict(report)
    data["sentiment"] = [{"start": b.start, "positive": b.positive, "neutral": b.neutral,
                          "negative": b.negative, "net": b.net} for b in report.sentiment]
    data["volume"] = [{"start": t, "count": c} for t, c in report.volume]
    for cascade in data["cascades"]:
        cascade.pop("picture", None)
    return json.dumps(_jsonable(data), ensure_ascii=False, indent=2) + "\n"


def _csv_cell(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(CHINA).strftime("%Y-%m-%d %H:%M:%S")
    if value is None:
        return ""
    if isinstance(value, str):
        value = clean(value)
        # Spreadsheets run cells starting with these as formulas (CSV injection).
        if value[:1] in ("=", "+", "-", "@"):
            return "'" + value
    return value


def render_csv(report: KolReport) -> str:
    """The account table as CSV with a UTF-8 BOM (Excel then reads the Chinese correctly);
    times in Beijing time."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for i, row in enumerate(report.accounts, 1):
        values = asdict(row)
        values["rank"] = i
        writer.writerow([_csv_cell(values[c]) for c in COLUMNS])
    return "\ufeff" + buf.getvalue()
