"""Alert and digest emails, built apart from sending (spidermon style): a text part and an HTML
part with the charts inline (multipart/alternative → multipart/related), UTF-8 headers.

Crawled text is escaped in HTML (scheduler.reports.markup) and never reaches a header raw: CR/LF
and other controls are stripped so a post cannot inject headers.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from typing import TYPE_CHECKING, Any

from scheduler.i18n import Wording
from scheduler.notify.card import CardPost, build_card
from scheduler.notify.channels import is_email
from scheduler.notify.wording import platform_name, severity_name
from scheduler.reports.markup import Markup, multiline, safe_url, tag

if TYPE_CHECKING:
    from crawlers.items import Alert, Monitor, Post

__all__ = [
    "build_alert_message",
    "build_digest_message",
    "header_text",
]

_HEADER_JUNK = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
_TEXT_JUNK = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
CSS = Markup(
    "body{font-family:'Noto Sans CJK SC','PingFang SC','Microsoft YaHei',sans-serif;color:#222}"
    "table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:4px 8px;text-align:left}"
    ".sev-critical,.sev-high{color:#b00020;font-weight:bold}.sev-warning,.sev-medium{color:#b26a00}"
    "blockquote{border-left:3px solid #ccc;margin:8px 0;padding:4px 10px;color:#444}"
    ".meta{color:#777;font-size:90%}"
)


def header_text(value: Any, limit: int = 160) -> str:
    """``value`` made safe for a header: no CR/LF or controls, whitespace collapsed, truncated.

    >>> header_text("品牌A\\r\\nBcc: x@evil.com")
    '品牌A Bcc: x@evil.com'
    """
    text = " ".join(_HEADER_JUNK.sub(" ", str(value)).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _plain(value: Any) -> str:
    return _TEXT_JUNK.sub("", str(value))


def _recipients(monitor: Monitor | None, fallback: Sequence[str]) -> list[str]:
    out = []
    for raw in [*(monitor.recipients if monitor else []), *fallback]:
        if _HEADER_JUNK.search(raw) or not is_email(raw):
            continue
        raw = raw.removeprefix("mailto:")
        _, addr = parseaddr(raw)
        if "@" in addr and addr not in out:
            out.append(addr)
    return out


def _new_message(subject: str, sender: str, recipients: Sequence[str], now: datetime,
                 monitor_name: str) -> tuple[EmailMessage, str]:
    msg = EmailMessage()
    _, from_addr = parseaddr(header_text(sender))
    domain = from_addr.rpartition("@")[2] or "tingfeng.local"
    msg["Subject"] = header_text(subject, limit=200)
    msg["From"] = (Address("听风 Tingfeng", addr_spec=from_addr) if from_addr
                   else header_text(sender))
    if recipients:
        msg["To"] = ", ".join(recipients)
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = make_msgid(idstring="tingfeng", domain=domain)
    msg["X-Tingfeng-Monitor"] = header_text(monitor_name)
    return msg, domain


def _attach(msg: EmailMessage, text: str, html_body: Markup, charts: Mapping[str, bytes],
            cids: Mapping[str, str]) -> EmailMessage:
    msg.set_content(text, charset="utf-8")
    msg.add_alternative("<!DOCTYPE html>\n" + html_body, subtype="html", charset="utf-8")
    if charts:
        html_part = list(msg.iter_parts())[1]  # multipart/alternative: [text, html]
        for name, png in charts.items():
            html_part.add_related(png, maintype="image", subtype="png", cid=cids[name],
                                  filename=f"{name}.png", disposition="inline")
    return msg


def _chart_cids(charts: Mapping[str, bytes], domain: str) -> dict[str, str]:
    # Sentiment first: the email's main picture.
    return {name: make_msgid(idstring=f"chart-{name}", domain=domain) for name in charts}


def _chart_imgs(charts: Mapping[str, bytes], cids: Mapping[str, str]) -> list[Markup]:
    order = sorted(charts, key=lambda n: (n != "sentiment", n))
    return [tag("p", tag("img", src=f"cid:{cids[n][1:-1]}", alt=n, width="640")) for n in order]


def build_alert_message(
    alerts: Sequence[Alert], monitor: Monitor, *, charts: Mapping[str, bytes] | None = None,
    sender: str, now: datetime, posts: Sequence[Post] | None = None,
    recipients: Sequence[str] = (), max_samples: int = 5, words: Wording | None = None,
    base_url: str | None = None,
) -> EmailMessage:
    """One email for a monitor's alerts: subject like ``[听风][红色预警] 品牌A 负面舆情激增``.

    The body is the alert card (:func:`scheduler.notify.card.build_card`): what happened in a
    sentence per alert, why, the posts that matter (``posts``, in the order given, quoted with
    links), the next step and links into the web app when ``base_url`` is set; ``charts``
    (name → PNG) are shown inline, ``"sentiment"`` first. ``recipients`` are added to the
    monitor's own email addresses.
    """
    if not alerts:
        raise ValueError("build_alert_message needs at least one alert")
    charts = dict(charts or {})
    card = build_card(alerts, monitor, now=now, posts=list(posts or [])[:max_samples],
                      base_url=base_url, words=words)
    w = card.words
    level = severity_name(card.severity, w)
    subject = (f"[{w('听风')}][{level}] {header_text(monitor.name, 60)} "
               f"{header_text(card.title, 80)}")
    msg, domain = _new_message(subject, sender, _recipients(monitor, recipients), now, monitor.name)
    msg["X-Tingfeng-Alerts"] = header_text(" ".join(card.alert_ids), 900)
    msg["X-Tingfeng-Severity"] = card.severity
    cids = _chart_cids(charts, domain)
    window = w.window(card.window_start, card.window_end)

    lines = [f"{w('听风预警')} · {w('监测')}: {_plain(monitor.name)}"]
    lines += [f"{w('时段')}: {window}", ""] if card.window_end else [""]
    lines += [f"[{level}] " + _plain(s) for s in card.summary]
    if card.reasons:
        lines += ["", w("原因") + ":"] + [f"  - {_plain(r)}" for r in card.reasons]
    if card.posts:
        lines += ["", w("重点帖子") + ":"] + [_card_post_text(p, w) for p in card.posts]
    lines += ["", w("下一步") + ":"] + [f"  {_plain(s)}" for s in card.next_steps]
    lines += [f"{label}: {url}" for label, url in card.links.items()]
    lines += ["", f"{w('查询')}: {_plain(monitor.query)}"]

    colour = card.colours[0]
    body = tag("html", tag("head", tag("meta", charset="utf-8"), tag("style", CSS)), tag(
        "body",
        tag("h2", tag("span", f"【{level}】", style=f"color:{colour}"), monitor.name, " · ",
            card.title),
        tag("p", f"{w('时段')}: {window}", class_="meta") if card.window_end else None,
        [tag("p", tag("strong", s)) for s in card.summary],
        [tag("h3", w("原因")), tag("ul", [tag("li", r) for r in card.reasons])]
        if card.reasons else None,
        _chart_imgs(charts, cids),
        [tag("h3", w("重点帖子")), [_card_post_html(p, w) for p in card.posts]]
        if card.posts else None,
        tag("h3", w("下一步")), [tag("p", s) for s in card.next_steps],
        tag("p", [[tag("a", label, href=url), " "] for label, url in card.links.items()])
        if card.links else None,
        tag("p", f"{w('查询')}: ", tag("code", monitor.query), class_="meta"),
    ), lang="zh-CN" if w.lang == "zh_CN" else "en")
    return _attach(msg, "\n".join(lines) + "\n", body, charts, cids)


def _card_post_html(post: CardPost, w: Wording) -> Markup:
    link = safe_url(post.url)
    meta = [f"{platform_name(post.platform, w)} · ", post.author,
            f" · {w.time(post.created_at)}"]
    if link:
        meta += [" · ", tag("a", w("原文"), href=link)]
    return tag("blockquote", multiline(post.text), tag("div", meta, class_="meta"))


def _card_post_text(post: CardPost, w: Wording) -> str:
    link = safe_url(post.url)
    return (f"> {_plain(post.text)}\n  — {_plain(post.author)}, "
            f"{platform_name(post.platform, w)}, {w.time(post.created_at)}"
            + (f"\n  {link}" if link else ""))


def build_digest_message(
    monitor: Monitor, alerts: Sequence[Alert], metrics: Mapping[str, float], *, sender: str,
    now: datetime, charts: Mapping[str, bytes] | None = None, recipients: Sequence[str] = (),
    period: timedelta = timedelta(days=1), words: Wording | None = None,
) -> EmailMessage:
    """The daily digest: the period's figures, each under its reader's name (never a metric
    id), and every alert raised in it, in one sentence each."""
    from scheduler.i18n import wording
    from scheduler.notify.wording import headline, metric_label, rule_title

    w = words or wording()
    charts = dict(charts or {})
    start = now - period
    subject = (f"[{w('听风')}][{w('日报')}] {header_text(monitor.name, 60)} "
               f"{w.time(now, '%Y-%m-%d')}")
    msg, domain = _new_message(subject, sender, _recipients(monitor, recipients), now, monitor.name)
    cids = _chart_cids(charts, domain)
    rows = [(metric_label(n, w), _figure(n, metrics[n], w)) for n in sorted(metrics)]
    alerts = [a for a in alerts if a.rule != "digest"]
    window = w.window(start, now)
    lines = [f"{w('听风日报')} · {w.label(w('监测'), _plain(monitor.name))}",
             w.label(w("时段"), window), ""]
    lines += [f"  {w.label(label, value)}" for label, value in rows]
    lines += ["", w.label(w("预警"), str(len(alerts)))]
    lines += [f"  [{severity_name(a.severity, w)}] {w.time(a.created_at, '%H:%M')} "
              f"{_plain(headline(a, w))}" for a in alerts] or [f"  {w('无')}"]
    body = tag("html", tag("head", tag("meta", charset="utf-8"), tag("style", CSS)), tag(
        "body",
        tag("h2", w("听风日报"), " · ", monitor.name),
        tag("p", window, class_="meta"),
        tag("table", [tag("tr", tag("td", label), tag("td", value)) for label, value in rows]),
        _chart_imgs(charts, cids),
        tag("h3", w.label(w("预警"), str(len(alerts)))),
        tag("ul", [tag("li", f"[{severity_name(a.severity, w)}] ",
                       w.time(a.created_at, "%H:%M"), " ", rule_title(a.rule, w), " — ",
                       headline(a, w))
                   for a in alerts]) if alerts else tag("p", w("无")),
    ), lang="zh-CN" if w.lang == "zh_CN" else "en")
    return _attach(msg, "\n".join(lines) + "\n", body, charts, cids)


def _figure(name: str, value: float, w: Wording) -> str:
    return w.percent(value) if "ratio" in name and abs(value) <= 1 else (
        w.number(value, 2) if name.endswith("net_sentiment") else w.number(value))
