"""The part the KOL and topic reports end with, in one place for the command line
(``tingfeng report kol|topic``) and the web app's export: 为什么 (negative drivers, events,
regions, the emotion mix with each platform's polarisation) and the accounts' influence indices
with the inputs of their formulas (BCI, WCI, the Zhihu index)."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from crawlers.items import Author, AuthorKey, Post
    from scheduler.analysis.sections import Section
    from scheduler.i18n import Wording

__all__ = ["Appendix", "appendix_html", "appendix_table", "report_appendix"]

log = logging.getLogger(__name__)

# The sections of each why report kept: drivers, events, regions, and the emotion mix with
# each platform's polarisation (the rest is in `tingfeng report drivers|events|…`).
_WHY_KEEP = {0: [0], 1: [0], 2: [0], 3: [0, 2]}
INFLUENCE_TOP = 20  # accounts per platform in the influence tables


@dataclass
class Appendix:
    """``why`` and ``influence`` are empty when their step failed: the report stands without
    them. ``data`` holds their JSON (keys "why" and "influence")."""

    why: list[Section] = field(default_factory=list)
    influence: list[Section] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)

    def parts(self, w: Wording) -> list[tuple[str, list[Section]]]:
        """(heading, sections) of each part that has sections, in reading order."""
        return [(title, sections) for title, sections in (
            (w("为什么"), self.why), (w("影响力指数（含公式输入）"), self.influence)) if sections]


def report_appendix(posts: Sequence[Post], authors: Mapping[AuthorKey, Author], *,
                    since: datetime | None, until: datetime | None, w: Wording) -> Appendix:
    """The appendix over the report's own posts (already filtered by the monitor's query)."""
    from scheduler.analysis import why
    from scheduler.analysis.measure import influence_sections
    from scoring.measure.sheets import metric_sheets

    out = Appendix()
    try:
        parts = [why.drivers_report(posts, [], title="", subtitle="", w=w, user_words=[]),
                 why.events_report(posts, title="", subtitle="", w=w, top=10),
                 why.regions_report(posts, authors, title="", subtitle="", w=w, top=12),
                 why.emotions_report(posts, title="", subtitle="", w=w, since=since,
                                     until=until or datetime.now(UTC),
                                     bucket=timedelta(days=1))]
        out.why = [r.sections[i] for n, r in enumerate(parts) for i in _WHY_KEEP[n]
                   if i < len(r.sections)]
        out.data["why"] = {"drivers": parts[0].data, "events": parts[1].data,
                           "regions": parts[2].data, "emotions": parts[3].data}
    except Exception:  # noqa: BLE001 - the report stands without its why sections
        log.exception("why sections failed; report without them")
    try:
        days = None
        if since is not None:
            days = max(1.0, ((until or datetime.now(UTC)) - since).total_seconds() / 86400)
        sheets = metric_sheets(posts, authors, days=days)
        out.influence = influence_sections(sheets, w, top=INFLUENCE_TOP)
        out.data["influence"] = sheets.as_dict()["influence"]
    except Exception:  # noqa: BLE001 - likewise
        log.exception("influence indices failed; report without them")
    return out


def appendix_html(appendix: Appendix, w: Wording) -> str:
    """The appendix as HTML blocks (crawled text escaped by ``html_section``)."""
    from scheduler.analysis.sections import html_section

    return "".join(f"<h2 style='margin-top:36px'>{title}</h2>"
                   + "".join(str(html_section(s)) for s in sections)
                   for title, sections in appendix.parts(w))


def appendix_table(appendix: Appendix, w: Wording) -> str:
    """The appendix as plain-text tables, for the terminal."""
    from scheduler.analysis.sections import Report
    from scheduler.analysis.sections import render_table as sections_table

    return "".join("\n" + sections_table(Report(title, "", sections, {}))
                   for title, sections in appendix.parts(w))
