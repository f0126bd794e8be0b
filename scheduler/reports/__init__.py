"""KOL and topic reports: assembled from the store, graph and scoring (``kol_report``), rendered
as an aligned table, JSON, CSV or one self-contained HTML file.

Cheap to import: matplotlib and networkx load only when charts or cascade pictures are drawn.
"""

from scheduler.reports.assemble import (
    CascadeRow,
    KolReport,
    KolRow,
    SentimentBucket,
    kol_report,
    sentiment_label,
)
from scheduler.reports.render_html import render_html, report_charts
from scheduler.reports.render_table import render_csv, render_json, render_table

RENDERERS = {"table": render_table, "json": render_json, "csv": render_csv, "html": render_html}

__all__ = [
    "RENDERERS",
    "CascadeRow",
    "KolReport",
    "KolRow",
    "SentimentBucket",
    "kol_report",
    "render_csv",
    "render_html",
    "render_json",
    "render_table",
    "report_charts",
    "sentiment_label",
]
