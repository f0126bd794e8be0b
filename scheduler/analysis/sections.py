"""A report as sections, and the renderers every analysis report shares.

Crawled text is untrusted everywhere: cells are cleaned of controls for terminals, quoted
against formula injection in CSV and escaped in HTML.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from scheduler.reports.markup import Markup, tag
from scheduler.reports.render_html import CSS as CSS_BASE
from scheduler.reports.render_table import _grid, clean

__all__ = ["Report", "Section", "render"]


@dataclass
class Section:
    """One table: ``columns`` headers, ``rows`` of cells (str or numbers), ``right`` the
    numeric column indexes, ``notes`` plain sentences under it."""

    title: str
    columns: list[str]
    rows: list[list[Any]] = field(default_factory=list)
    right: set[int] = field(default_factory=set)
    notes: list[str] = field(default_factory=list)


@dataclass
class Report:
    title: str
    subtitle: str
    sections: list[Section]
    data: dict[str, Any]
    notes: list[str] = field(default_factory=list)


def _cell(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:,.3g}" if abs(value) < 1000 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return clean(str(value))


def render_table(report: Report) -> str:
    out = [report.title, report.subtitle]
    for note in report.notes:
        out.append(f"注: {clean(note)}")
    for s in report.sections:
        out += ["", f"{s.title}:"]
        rows = [[_cell(v) for v in row] for row in s.rows]
        out += _grid(s.columns, rows, right=s.right) if rows else ["  (无数据)"]
        out += [f"  注: {clean(n)}" for n in s.notes]
    return "\n".join(out) + "\n"


def _csv_value(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, str):
        value = clean(value)
        if value[:1] in ("=", "+", "-", "@", "\t", "\r"):  # spreadsheets run these as formulas
            return "'" + value
    return value


def render_csv(report: Report) -> str:
    """Every section as one CSV: a ``section`` column first; UTF-8 with a BOM for Excel."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    for s in report.sections:
        writer.writerow(["section", *s.columns])
        for row in s.rows:
            writer.writerow([_csv_value(s.title), *(_csv_value(v) for v in row)])
    return "\ufeff" + buf.getvalue()


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_jsonable(v) for v in value]
    if hasattr(value, "as_dict"):
        return _jsonable(value.as_dict())
    return value


def render_json(report: Report) -> str:
    return json.dumps(_jsonable(report.data), ensure_ascii=False, indent=2) + "\n"


def html_section(s: Section) -> Markup:
    """One section as escaped HTML (a table with its notes)."""
    head = tag("tr", [tag("th", c) for c in s.columns])
    body = [tag("tr", [tag("td", _cell(v), class_="n" if i in s.right else None)
                       for i, v in enumerate(row)]) for row in s.rows]
    return tag("section", tag("h2", s.title),
               tag("table", head, body) if s.rows else tag("p", "（无数据）"),
               [tag("p", n, class_="meta") for n in s.notes])


def render_html(report: Report) -> str:
    table = html_section
    page = tag("html", tag("head", tag("meta", charset="utf-8"), tag("title", report.title),
                           tag("style", CSS_BASE)),
               tag("body", tag("h1", report.title), tag("p", report.subtitle, class_="meta"),
                   [tag("p", n, class_="meta") for n in report.notes],
                   [table(s) for s in report.sections]), lang="zh-CN")
    return "<!DOCTYPE html>\n" + page + "\n"


RENDERERS = {"table": render_table, "csv": render_csv, "json": render_json, "html": render_html}


def render(report: Report, fmt: str) -> str:
    return RENDERERS[fmt](report)
