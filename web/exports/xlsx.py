"""The report as an Excel workbook (openpyxl): 概览, 账号 KOL, 传播链, 声量与情感 and the 为什么
tables, Chinese headers, frozen header rows, widths fitted to the text.

No cell is ever a formula: openpyxl stores any string that starts with ``=`` as one, so each
such string is typed back to text (``t="inlineStr"``): crawled text like ``=HYPERLINK(…)``
shows as what it says and runs nothing. Controls and bidi overrides are cleaned from text (an
XML file cannot hold most of them anyway). Times are Beijing time, real Excel dates.
"""

from __future__ import annotations

import io
import unicodedata
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from scheduler.notify.wording import platform_name, tier_name
from scheduler.reports.markup import safe_url
from scheduler.reports.render_table import clean

if TYPE_CHECKING:
    from openpyxl.worksheet.worksheet import Worksheet

    from scheduler.i18n import Wording
    from web.exports.report import ReportData

__all__ = ["render_xlsx"]

_MAX_WIDTH = 60
_MAX_TEXT = 32000  # Excel's cell limit is 32,767 characters


def _value(value: Any, w: Wording) -> Any:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.astimezone(w.zone).replace(tzinfo=None)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    return clean(value)[:_MAX_TEXT]


def _width(value: Any) -> int:
    if isinstance(value, datetime):
        return 16
    text = f"{value:,.2f}" if isinstance(value, float) else str(value if value is not None else "")
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


class _Sheet:
    """Rows written one at a time, as text or numbers; widths tracked per column."""

    def __init__(self, ws: Worksheet, w: Wording) -> None:
        self.ws, self.w, self.row = ws, w, 0
        self.widths: dict[int, int] = {}

    def write(self, values: Iterable[Any], *, bold: bool = False) -> None:
        from openpyxl.styles import Font

        self.row += 1
        for col, raw in enumerate(values, 1):
            value = _value(raw, self.w)
            cell = self.ws.cell(self.row, col)
            cell.value = value
            if cell.data_type == "f":  # a string openpyxl took for a formula: it is text
                cell.data_type = "s"
            if isinstance(value, datetime):
                cell.number_format = "yyyy-mm-dd hh:mm"
            if bold:
                cell.font = Font(bold=True)
            self.widths[col] = max(self.widths.get(col, 0), _width(value))

    def table(self, headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
        self.write(headers, bold=True)
        for row in rows:
            self.write(row)

    def finish(self, freeze: str | None = "A2") -> None:
        from openpyxl.utils import get_column_letter

        for col, width in self.widths.items():
            self.ws.column_dimensions[get_column_letter(col)].width = min(_MAX_WIDTH, width + 2)
        if freeze:
            self.ws.freeze_panes = freeze


def render_xlsx(data: ReportData, w: Wording) -> bytes:
    """The workbook as bytes (``.xlsx``)."""
    from openpyxl import Workbook

    r = data.report
    book = Workbook()
    overview = _Sheet(book.active, w)
    overview.ws.title = w("概览")
    overview.table([w("项目"), w("值")], [
        [w("监测"), data.monitor], [w("报告"), r.title],
        [w("时间范围"), w.window(r.since, r.until) if r.since else
         w("全部 – {end}", end=w.time(r.until))],
        [w("生成于"), r.generated_at], [w("帖子"), r.post_count], [w("账号"), r.author_count],
        [w("净情感"), None if r.net_sentiment is None else round(r.net_sentiment, 3)],
        *[[w("平台：{name}", name=platform_name(p, w)), n] for p, n in sorted(r.platforms.items())],
        *[[w("层级：{name}", name=tier_name(t, w)), n] for t, n in sorted(r.tiers.items())],
        *[[w("注"), note] for note in r.notes]])
    overview.finish()

    accounts = _Sheet(book.create_sheet(w("账号 KOL")), w)
    accounts.table(
        ["#", w("平台"), w("账号"), w("账号 ID"), w("层级"), w("粉丝"), w("帖子"), w("互动"),
         w("下游触达"), w("关键节点"), w("净情感"), w("首次出现"), w("主页")],
        [[i, platform_name(a.platform, w), a.name, a.author_id, tier_name(a.tier, w),
          a.followers, a.posts, a.engagement, a.reach, a.key_rank,
          None if a.net_sentiment is None else round(a.net_sentiment, 3), a.first_seen,
          safe_url(a.url)] for i, a in enumerate(r.accounts, 1)])
    accounts.finish()

    cascades = _Sheet(book.create_sheet(w("传播链")), w)
    cascades.table(
        [w("平台"), w("作者"), w("内容"), w("时间"), w("规模"), w("深度"), w("最大宽度"),
         w("结构病毒性"), w("原文")],
        [[platform_name(c.platform, w), c.author, c.text, c.created_at, c.size, c.depth,
          c.max_breadth, None if c.structural_virality is None else
          round(c.structural_virality, 3), safe_url(c.url)] for c in r.cascades])
    cascades.finish()

    timeline = _Sheet(book.create_sheet(w("声量与情感")), w)
    timeline.table(
        [w("时段开始"), w("帖子"), w("正面"), w("中性"), w("负面"), w("净情感")],
        [[start, count, s.positive, s.neutral, s.negative,
          None if s.net is None else round(s.net, 3)]
         for (start, count), s in zip(r.volume, r.sentiment, strict=True)])
    timeline.finish()

    for name, sections in ((w("为什么"), data.why), (w("影响力指数"), data.influence)):
        if not sections:
            continue
        sheet = _Sheet(book.create_sheet(name), w)
        for section in sections:
            sheet.write([section.title], bold=True)
            sheet.table(section.columns, section.rows)
            for note in section.notes:
                sheet.write([note])
            sheet.row += 1  # a blank row between tables
        sheet.finish(freeze=None)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
