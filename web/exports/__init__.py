"""Report export from the web app: a monitor's KOL or topic report for a window as the HTML file
the command line writes, a PDF, or an Excel workbook.

``report.py`` assembles (the CLI's functions), ``xlsx.py`` and ``pdf.py`` render; this module
names the download. Heavy imports (matplotlib, openpyxl, fpdf2) load on first export.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import quote

from web.exports.report import DEFAULT_RANGE, KINDS, RANGES, ReportData, build_report

if TYPE_CHECKING:
    from datetime import datetime

    from crawlers.items import Monitor
    from crawlers.storage import Store
    from scheduler.i18n import Wording

__all__ = ["DEFAULT_RANGE", "FORMATS", "KINDS", "RANGES", "Export", "ReportData",
           "build_report", "content_disposition", "export_report", "filename"]

FORMATS = {"html": "text/html; charset=utf-8", "pdf": "application/pdf",
           "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
_UNSAFE = re.compile(r'[\x00-\x1f\x7f"\\/:*?<>|]+')


@dataclass(frozen=True)
class Export:
    filename: str
    fallback: str  # the ASCII file name, for clients without RFC 5987
    media_type: str
    body: bytes


def filename(monitor: str, kind: str, now: datetime, fmt: str, w: Wording) -> tuple[str, str]:
    """(name, ASCII fallback): ``品牌A-KOL报告-20261124.xlsx`` names the monitor, the report
    and the day (Beijing time), characters no file system takes replaced; the fallback, for
    clients without RFC 5987, is ``tingfeng-kol-20261124.xlsx`` (with an ASCII monitor name
    in front when it has one)."""
    name = _UNSAFE.sub("_", monitor).strip(" .") or "monitor"
    day = w.time(now, "%Y%m%d")
    label = w(KINDS[kind][0])
    label = label.replace(" ", "_" if label.isascii() else "")  # KOL报告, KOL_report
    ascii_monitor = name if re.fullmatch(r"[A-Za-z0-9._-]+", name) else ""
    fallback = "-".join(filter(None, ["tingfeng", ascii_monitor[:60], kind, day])) + f".{fmt}"
    return f"{name[:80]}-{label}-{day}.{fmt}", fallback


def content_disposition(name: str, fallback: str) -> str:
    """An attachment header: the ASCII ``filename`` and the real name as ``filename*``
    (RFC 6266 with RFC 5987 encoding), which every current browser prefers."""
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


def export_report(store: Store, monitor: Monitor, *, fmt: str, kind: str, choice: str,
                  now: datetime, w: Wording, why: bool = True) -> Export:
    """The download. :raises web.exports.pdf.PdfUnavailable: for PDF without fpdf2."""
    data = build_report(store, monitor, kind=kind, choice=choice, now=now, w=w,
                        charts=fmt != "xlsx", why=why)
    if fmt == "html":
        from web.exports.report import render_html

        body = render_html(data, w).encode("utf-8")
    elif fmt == "pdf":
        from web.exports.pdf import render_pdf

        body = render_pdf(data, w)
    else:
        from web.exports.xlsx import render_xlsx

        body = render_xlsx(data, w)
    name, fallback = filename(monitor.name, kind, now, fmt, w)
    return Export(name, fallback, FORMATS[fmt], body)
