"""A monitor's KOL or topic report for a window, assembled as ``tingfeng report kol|topic
--monitor NAME`` assembles it: ``scheduler.reports.kol_report`` over the monitor's topic
filtered by its query, plus the 为什么 part (drivers, events, regions, emotion mix) that the CLI
appends; every format (HTML, PDF, xlsx) renders this one object."""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from scheduler.analysis.appendix import Appendix

if TYPE_CHECKING:
    from crawlers.items import Monitor
    from crawlers.storage import Store
    from scheduler.analysis.sections import Section
    from scheduler.i18n import Wording
    from scheduler.reports import KolReport

__all__ = ["DEFAULT_RANGE", "KINDS", "RANGES", "ReportData", "build_report", "render_html",
           "window"]

log = logging.getLogger(__name__)


def _(message: str) -> str:  # marks a reader string; translated where it is shown
    return message


# Window choices: days back from now (None: everything stored). Same keys as the dashboard.
RANGES: dict[str, int | None] = {"1d": 1, "7d": 7, "30d": 30, "90d": 90, "365d": 365,
                                 "all": None}
DEFAULT_RANGE = "7d"  # as `tingfeng report kol --since 7d`
KINDS = {"kol": (_("KOL 报告"), 50), "topic": (_("话题报告"), 10)}  # title, accounts listed


@dataclass
class ReportData:
    """What every format renders. ``why`` (and ``influence``) is empty when its step failed
    (the report stands without it, as on the command line)."""

    monitor: str
    kind: str
    choice: str
    report: KolReport
    why: list[Section] = field(default_factory=list)
    why_data: dict[str, Any] = field(default_factory=dict)
    charts: dict[str, bytes] = field(default_factory=dict)
    influence: list[Section] = field(default_factory=list)
    influence_data: dict[str, Any] = field(default_factory=dict)


def window(choice: str, now: datetime) -> tuple[datetime | None, datetime]:
    days = RANGES[choice]
    return (now - timedelta(days=days) if days else None), now


def _why(store: Store, monitor: Monitor, since: datetime | None, until: datetime,
         w: Wording) -> Appendix:
    from scheduler.analysis.appendix import report_appendix
    from scheduler.query import parse_query

    posts = parse_query(monitor.query).select(
        list(store.posts(topic=monitor.name, since=since, until=until)))
    authors = store.authors({(p.platform, p.author_id) for p in posts if p.author_id})
    return report_appendix(posts, authors, since=since, until=until, w=w)


def build_report(store: Store, monitor: Monitor, *, kind: str, choice: str, now: datetime,
                 w: Wording, charts: bool = True, why: bool = True,
                 k: int | None = None) -> ReportData:
    """The report of ``monitor`` over the window ``choice`` (a RANGES key). ``charts`` draws
    the timeline charts and cascade pictures (HTML and PDF show them; xlsx does not);
    ``why=False`` leaves out the 为什么 part, most of the time on a long window (its drivers
    and events cost about 1.2 ms a post: bench/bench_web_export.py)."""
    from scheduler.query import parse_query
    from scheduler.reports import kol_report, report_charts

    title, top = KINDS[kind]
    since, until = window(choice, now)
    report = kol_report(store, topic=monitor.name, since=since, until=until, now=now,
                        k=k or top, post_filter=parse_query(monitor.query).select,
                        pictures=charts)
    report = dataclasses.replace(report, title=w(title))
    appendix = _why(store, monitor, since, until, w) if why else Appendix()
    drawn = report_charts(report) if charts else {}
    return ReportData(monitor.name, kind, choice, report, appendix.why,
                      appendix.data.get("why", {}), drawn, appendix.influence,
                      appendix.data.get("influence", {}))


def render_html(data: ReportData, w: Wording) -> str:
    """The self-contained HTML file ``tingfeng report kol --format html`` writes: charts as
    data: URIs, every crawled string escaped, the 为什么 part before ``</body>``."""
    from scheduler.analysis.appendix import appendix_html
    from scheduler.reports import render_html as report_html

    text = report_html(data.report, charts=data.charts)
    head = appendix_html(Appendix(data.why, data.influence), w)
    return text.replace("</body>", head + "</body>", 1) if head else text
