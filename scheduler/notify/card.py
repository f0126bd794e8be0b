"""An alert group as one channel-neutral card: what happened, why, the posts that matter, the
next step and links. Each channel (email, WeCom, DingTalk, Feishu, webhook) renders the card in
its own native format; the words come from :mod:`scheduler.notify.wording`.

Crawled text stays raw here (control characters stripped, length capped); each renderer escapes
it for its own format.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from scheduler.i18n import Wording, wording
from scheduler.notify.wording import explain, headline, next_step, rule_title, severity_name

if TYPE_CHECKING:
    from crawlers.items import Alert, Monitor, Post

__all__ = ["SEVERITY_COLOURS", "AlertCard", "CardPost", "build_card", "top_severity"]

_RANK = {"critical": 0, "high": 0, "warning": 1, "medium": 1, "info": 2, "low": 2}
# (hex for email/DingTalk/webhooks, WeCom's named colour, Feishu's header template)
SEVERITY_COLOURS = {"critical": ("#d93026", "warning", "red"),
                    "warning": ("#e37400", "warning", "orange"),
                    "info": ("#1a73e8", "info", "blue")}
_JUNK = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")
POST_CHARS = 140


def top_severity(alerts: Sequence[Alert]) -> str:
    """The most severe level among ``alerts``, normalised to critical / warning / info."""
    rank = min((_RANK.get(a.severity, 1) for a in alerts), default=1)
    return ("critical", "warning", "info")[rank]


@dataclass(frozen=True)
class CardPost:
    platform: str
    author: str
    created_at: datetime | None
    text: str
    url: str | None


@dataclass(frozen=True)
class AlertCard:
    """Everything a message says. ``summary`` has one sentence per alert, most severe first."""

    monitor: str
    severity: str
    title: str
    summary: list[str]
    reasons: list[str]
    posts: list[CardPost]
    next_steps: list[str]
    window_start: datetime | None
    window_end: datetime | None
    created_at: datetime
    alert_ids: list[str]
    links: dict[str, str] = field(default_factory=dict)
    words: Wording = field(default_factory=wording, compare=False, repr=False)

    @property
    def colours(self) -> tuple[str, str, str]:
        return SEVERITY_COLOURS[self.severity]

    def as_json(self) -> dict[str, Any]:
        """The documented webhook body (schema ``tingfeng.alert/1``)."""
        def iso(moment: datetime | None) -> str | None:
            return moment.isoformat() if moment else None
        return {
            "schema": "tingfeng.alert/1",
            "monitor": self.monitor,
            "severity": self.severity,
            "severity_label": severity_name(self.severity, self.words),
            "colour": self.colours[0],
            "title": self.title,
            "summary": self.summary,
            "reasons": self.reasons,
            "next_steps": self.next_steps,
            "window": {"start": iso(self.window_start), "end": iso(self.window_end)},
            "posts": [{"platform": p.platform, "author": p.author, "created_at": iso(p.created_at),
                       "text": p.text, "url": p.url} for p in self.posts],
            "links": self.links,
            "alert_ids": self.alert_ids,
            "created_at": iso(self.created_at),
        }


def _clean(text: str | None, limit: int) -> str:
    flat = " ".join(_JUNK.sub(" ", text or "").split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _safe_url(url: str | None) -> str | None:
    from scheduler.reports.markup import safe_url

    return safe_url(url) or None


def build_card(alerts: Sequence[Alert], monitor: Monitor, *, now: datetime,
               posts: Sequence[Post] = (), base_url: str | None = None,
               words: Wording | None = None, max_posts: int = 5) -> AlertCard:
    """The card for one monitor's alerts. ``posts`` are the ones that matter, best first
    (the caller picks: negative, engaged, recent); ``base_url`` is the web app's address, for
    links to the monitor's dashboard and each alert's page."""
    if not alerts:
        raise ValueError("build_card needs at least one alert")
    w = words or wording()
    ordered = sorted(alerts, key=lambda a: (_RANK.get(a.severity, 1), a.alert_id))
    severity = top_severity(ordered)
    title = rule_title(ordered[0].rule, w)
    if len(ordered) > 1:
        title = w("{title} 等 {n} 条预警", title=title, n=len(ordered))
    reasons: list[str] = []
    steps: list[str] = []
    for a in ordered:
        reasons += [r for r in explain(a, w) if r not in reasons]
        step = next_step(a, w)
        if step not in steps:
            steps.append(step)
    starts = [a.window_start for a in ordered if a.window_start]
    ends = [a.window_end for a in ordered if a.window_end]
    links: dict[str, str] = {}
    if base_url:
        root = base_url.rstrip("/")
        links[w("监测看板")] = f"{root}/monitors/{quote(monitor.name, safe='')}"
        for a in ordered[:3]:
            links[w("预警详情：{title}", title=rule_title(a.rule, w))] = (
                f"{root}/alerts/{quote(a.alert_id, safe='')}")
    return AlertCard(
        monitor=_clean(monitor.name, 60), severity=severity, title=title,
        summary=[headline(a, w) for a in ordered], reasons=reasons,
        posts=[CardPost(p.platform, _clean(p.author_name or p.author_id or "?", 40),
                        p.created_at, _clean(p.text or p.title, POST_CHARS), _safe_url(p.url))
               for p in list(posts)[:max_posts]],
        next_steps=steps, window_start=min(starts) if starts else None,
        window_end=max(ends) if ends else None, created_at=now,
        alert_ids=[a.alert_id for a in ordered], links=links, words=w,
    )
