"""The KOL table as a download: CSV (UTF-8 with a BOM, so Excel reads the Chinese) and xlsx.

Crawled names are cleaned and never become formulas: CSV cells go through the KOL report's
``_csv_cell`` (a leading ``= + - @`` is quoted with ``'``), xlsx cells through the report
workbook's sheet writer (a string openpyxl took for a formula is typed back to text). A table
cut at the cap says so in its last row, in both formats.
"""

from __future__ import annotations

import csv
import io
from typing import TYPE_CHECKING, Any

from scheduler.reports.render_table import _csv_cell
from web.exports.xlsx import _Sheet

if TYPE_CHECKING:
    from scheduler.i18n import Wording

__all__ = ["kol_csv", "kol_xlsx"]


def _headers(w: Wording) -> list[str]:
    return ["#", w("平台"), w("账号"), w("账号 ID"), w("层级"), w("粉丝"), w("认证"), w("帖子"),
            w("互动"), w("正面"), w("中性"), w("负面"), w("净情感"), w("负面占比"),
            w("首次发帖"), w("最近发帖"), w("主页")]


def _cells(i: int, r: dict[str, Any], w: Wording, *, times: bool) -> list[Any]:
    """One row; ``times``: real datetimes (xlsx) rather than text in the reader's zone."""
    share = None if r["negative_share"] is None else round(r["negative_share"], 3)
    return [i, r["platform_name"], r["name"], r["author_id"], r["tier_name"], r["followers"],
            w("是") if r["verified"] else w("否"), r["posts"], r["engagement"], r["positive"],
            r["neutral"], r["negative"], None if r["net"] is None else round(r["net"], 3), share,
            r["first_at"] if times else r["first"], r["last_at"] if times else r["last"],
            r["profile_url"]]


def _cut_note(shown: int, total: int, w: Wording) -> str | None:
    if shown >= total:
        return None
    return w("仅导出前 {n} 个账号（共 {m} 个），请缩小筛选范围", n=shown, m=total)


def kol_csv(rows: list[dict[str, Any]], total: int, w: Wording) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(_headers(w))
    for i, r in enumerate(rows, 1):
        writer.writerow([_csv_cell(v) for v in _cells(i, r, w, times=False)])
    note = _cut_note(len(rows), total, w)
    if note:
        writer.writerow([_csv_cell(note)])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def kol_xlsx(rows: list[dict[str, Any]], total: int, w: Wording, *, title: str) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    sheet = _Sheet(book.active, w)
    sheet.ws.title = title[:31]  # Excel's limit for a sheet name
    sheet.table(_headers(w), (_cells(i, r, w, times=True) for i, r in enumerate(rows, 1)))
    note = _cut_note(len(rows), total, w)
    if note:
        sheet.write([note])
    sheet.finish()
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
