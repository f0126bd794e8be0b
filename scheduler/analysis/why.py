"""Regions, emotions and water-army reports over a window of posts (``scoring.why``)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from crawlers.items import Author, AuthorKey, Post
from scheduler.analysis.sections import Report, Section
from scheduler.i18n import Wording
from scheduler.notify.wording import platform_name

if TYPE_CHECKING:
    from scoring.why.events import Event

__all__ = ["emotions_report", "regions_report", "waterarmy_report"]

def _(message: str) -> str:  # marks a string for the catalogue; translated where shown
    return message


_EMOTION_NAMES = {"like": _("喜爱"), "happiness": _("快乐"), "sadness": _("悲伤"),
                  "anger": _("愤怒"), "disgust": _("厌恶"), "fear": _("恐惧"),
                  "surprise": _("惊讶")}
_SIGNALS = {"copy": _("与他人雷同文本"), "burst": _("秒级扎堆发帖"),
            "sync": _("多条传播链同步出现"), "name": _("默认样式昵称"),
            "repost_only": _("几乎只转发"), "ratio": _("关注/粉丝比异常"), "age": _("新注册账号")}
_SPLITS = {"gender": _("性别"), "verified": _("认证类型"), "followers": _("粉丝量级"),
           "tier": _("层级")}


def _emotion(name: str, w: Wording) -> str:
    return w(_EMOTION_NAMES[name]) if name in _EMOTION_NAMES else name


def _net(value: float | None) -> str:
    return "—" if value is None else f"{value:+.2f}"


def regions_report(posts: Sequence[Post], authors: Mapping[AuthorKey, Author], *,
                   title: str, subtitle: str, w: Wording, top: int = 34) -> Report:
    from scoring.why.regions import region_breakdown

    rb = region_breakdown(posts, authors)
    rows = [[region, s.posts, w.percent(s.posts / rb.total) if rb.total else "—", _net(s.net)]
            for region, s in rb.top(top, include_unknown=True)]
    coverage = (w("地域已知的帖子占 {share}（{known}/{total}）", share=w.percent(rb.coverage),
                  known=w.number(rb.known), total=w.number(rb.total))
                if rb.total else w("窗口内没有帖子"))
    sections = [Section(w("地域分布"), [w("地区"), w("帖子"), w("占比"), w("净情感")], rows,
                        right={1, 2, 3}, notes=[coverage])]
    for dim, label in _SPLITS.items():
        by_value: dict[str, int] = {}
        for per_region in rb.splits.get(dim, {}).values():
            for value, stats in per_region.items():
                by_value[value] = by_value.get(value, 0) + stats.posts
        if by_value:
            sections.append(Section(w(label), [w(label), w("帖子")],
                                    [[v, n] for v, n in sorted(by_value.items(),
                                                               key=lambda kv: -kv[1])],
                                    right={1}))
    data = {"total": rb.total, "known": rb.known, "coverage": rb.coverage,
            "regions": {r: {"posts": s.posts, "positive": s.positive, "neutral": s.neutral,
                            "negative": s.negative, "net": s.net} for r, s in rb.regions.items()},
            "sources": rb.sources}
    return Report(title, subtitle, sections, data)


def emotions_report(posts: Sequence[Post], *, title: str, subtitle: str, w: Wording,
                    since: datetime | None, until: datetime, bucket: timedelta) -> Report:
    from scoring.why.emotions import emotion_curve, emotion_mix, emotion_mix_by

    mix = emotion_mix(posts)
    rows = [[_emotion(e, w), n, w.percent(mix.share(e))] for e, n in mix.counts.items()]
    notes = [w("有情绪标注的帖子 {n} 条，未标注 {m} 条", n=w.number(mix.labelled),
               m=w.number(mix.unlabelled))]
    overall = Section(w("情绪构成"), [w("情绪"), w("帖子"), w("占比")], rows, right={1, 2},
                      notes=notes)
    start = since or min((p.created_at for p in posts if p.created_at), default=until - bucket)
    curve = emotion_curve(posts, bucket=bucket, start=start, end=until,
                          origin=datetime(2026, 1, 1, tzinfo=until.tzinfo) - timedelta(hours=8))
    emotions = list(mix.counts)
    curve_rows = [[w.time(b.start), b.mix.total, *(w.percent(b.mix.share(e)) for e in emotions)]
                  for b in curve.buckets if b.mix.total]
    curve_section = Section(w("情绪曲线"), [w("时间"), w("帖子"),
                                           *(_emotion(e, w) for e in emotions)],
                            curve_rows, right=set(range(1, 2 + len(emotions))))
    by_platform = emotion_mix_by(posts, lambda p: p.platform)
    platform_rows = [[platform_name(str(k), w), m.total, _net(_net_of(m)), _pol(m),
                      *(w.percent(m.share(e)) for e in emotions)]
                     for k, m in sorted(by_platform.items(), key=lambda kv: -kv[1].total)]
    platform_section = Section(
        w("各平台情绪与两极分化"),
        [w("平台"), w("帖子"), w("净情感"), w("两极分化"),
         *(_emotion(e, w) for e in emotions)],
        platform_rows, right=set(range(1, 4 + len(emotions))),
        notes=[w("两极分化 = 2·min(正面, 负面) / 有标注帖子：0 为一边倒或平静，1 为正负各半")])
    data = {"mix": {"counts": mix.counts, "unlabelled": mix.unlabelled},
            "curve": [{"start": b.start, "total": b.mix.total, "counts": b.mix.counts}
                      for b in curve.buckets],
            "undated": curve.undated, "out_of_range": curve.out_of_range}
    return Report(title, subtitle, [overall, curve_section, platform_section], data)


def _net_of(mix: Any) -> float | None:
    polar = mix.positive + mix.negative
    return (mix.positive - mix.negative) / polar if polar else None


def _pol(mix: Any) -> str:
    from scoring.why.emotions import polarisation

    value = polarisation(mix.positive, mix.negative, mix.neutral)
    return "—" if value is None else f"{value:.2f}"


def waterarmy_report(posts: Sequence[Post], authors: Mapping[AuthorKey, Author], *,
                     title: str, subtitle: str, w: Wording, now: datetime,
                     threshold: float = 0.5, top: int = 30) -> Report:
    from scoring.why.waterarmy import score_accounts, suspicious_share

    scores = score_accounts(posts, authors, now=now)
    flagged = sorted(((k, s) for k, s in scores.items() if s.score >= threshold),
                     key=lambda kv: -kv[1].score)
    names = {(p.platform, p.author_id): p.author_name for p in posts if p.author_id}
    rows = []
    for key, s in flagged[:top]:
        author = authors.get(key)
        name = (author.name if author else None) or names.get(key) or key[1]
        why = "、".join(f"{w(_SIGNALS[k])}" for k, v in sorted(
            s.features.items(), key=lambda kv: -kv[1]) if v >= 0.5 and k in _SIGNALS)
        rows.append([platform_name(key[0], w), name, f"{s.score:.2f}", s.posts, why or "—"])
    shares = suspicious_share(posts, scores, threshold)
    cascade_rows = [[str(k), v.posts, v.suspicious_posts, w.percent(v.share)]
                    for k, v in sorted(shares.items(), key=lambda kv: -(kv[1].share or 0))
                    if v.posts >= 5 and v.suspicious_posts][:top]
    total_posts = len(posts)
    flagged_posts = sum(s.posts for _, s in flagged)
    note = w("可疑账号 {n} 个（阈值 {t}），占帖子 {share}；仅供复核，不是定论",
             n=w.number(len(flagged)), t=f"{threshold:.2f}",
             share=w.percent(flagged_posts / total_posts) if total_posts else "—")
    sections = [
        Section(w("可疑账号（水军）"), [w("平台"), w("账号"), w("分数"), w("帖子"), w("原因")],
                rows, right={2, 3}, notes=[note]),
        Section(w("传播链中的可疑占比"), [w("传播链"), w("帖子"), w("可疑帖子"), w("占比")],
                cascade_rows, right={1, 2, 3}),
    ]
    data = {"threshold": threshold,
            "accounts": [{"platform": k[0], "author_id": k[1], "score": s.score,
                          "features": s.features, "posts": s.posts} for k, s in flagged],
            "cascades": {str(k): {"posts": v.posts, "suspicious_posts": v.suspicious_posts,
                                  "share": v.share} for k, v in shares.items()}}
    return Report(title, subtitle, sections, data)


def drivers_report(posts: Sequence[Post], previous: Sequence[Post], *, title: str,
                   subtitle: str, w: Wording, user_words: Sequence[str]) -> Report:
    from scoring.why.drivers import hot_terms, negative_drivers

    result = negative_drivers(posts, k=15, user_words=user_words, previous_posts=previous)
    rows = [[d.term, d.count, d.other_count, f"{d.z:.1f}",
             " / ".join((e.text or "")[:40] for e in d.examples[:2])] for d in result.drivers]
    notes = [w("负面帖子 {n} 条，其他帖子 {m} 条", n=w.number(result.negative_posts),
               m=w.number(result.other_posts))]
    if result.note:
        notes.append(result.note)
    drivers = Section(w("负面驱动词"), [w("词"), w("负面帖子"), w("其他帖子"), "z",
                                        w("例子")], rows, right={1, 2, 3}, notes=notes)
    emerging = Section(
        w("新增负面驱动（与上一时段的负面帖子相比）"),
        [w("词"), w("负面帖子"), w("上一时段负面帖子"), "z", w("例子")],
        [[d.term, d.count, d.other_count, f"{d.z:.1f}",
          " / ".join((e.text or "")[:40] for e in d.examples[:2])] for d in result.emerging],
        right={1, 2, 3}, notes=[w("上一时段负面帖子 {n} 条", n=w.number(
            result.previous_negative_posts))])
    hot = hot_terms(posts, previous, k=20, user_words=user_words)
    hot_section = Section(w("热词（与上一时段相比）"), [w("词"), w("帖子"), w("上一时段"), "z"],
                          [[h.term, h.count, h.previous_count, f"{h.z:.1f}"] for h in hot],
                          right={1, 2, 3})
    data = {"drivers": [{"term": d.term, "count": d.count, "other_count": d.other_count,
                         "z": d.z, "examples": [e._asdict() for e in d.examples]}
                        for d in result.drivers],
            "hot_terms": [{"term": h.term, "count": h.count, "previous_count": h.previous_count,
                           "z": h.z} for h in hot],
            "emerging": [{"term": d.term, "count": d.count, "previous_count": d.other_count,
                          "z": d.z, "examples": [e._asdict() for e in d.examples]}
                         for d in result.emerging],
            "note": result.note, "skipped": dict(result.skipped)}
    return Report(title, subtitle, [drivers, hot_section, emerging], data)


def events_report(posts: Sequence[Post], *, title: str, subtitle: str, w: Wording,
                  top: int = 20, stored: Sequence[Event] | None = None) -> Report:
    """The window's stories. With ``stored`` (a monitor's events kept by its runs,
    ``scheduler.analysis.eventstore.stored_events``) the window's posts join them, so each
    story shows the id and the whole size the monitor's runs gave it (stable from run to run);
    only stories with a post in the window are listed."""
    from scoring.why.events import assign_events, find_events

    if stored is None:
        found = find_events(posts)
    else:
        keys = {p.key for p in posts}
        found = [e for e in assign_events(posts, stored) if not keys.isdisjoint(e.members)]
    events = sorted(found, key=lambda e: -e.size)[:top]
    rows = []
    for e in events:
        net = (e.positive - e.negative) / e.labelled if e.labelled else None
        lead = e.representatives[0].text[:40] if e.representatives else ""
        rows.append(["、".join(e.label_terms[:4]), e.size, len(e.accounts),
                     w.time(e.peak_hour), "、".join(platform_name(p, w) for p in e.platforms),
                     _net(net), lead] + ([e.event_id] if stored is not None else []))
    notes = [w("近似重复的帖子合并为一条计数，最早的一条为代表")]
    if stored is not None:
        notes.append(w("事件编号跨监测运行保持不变；帖子数含此前运行计入的帖子"))
    section = Section(w("事件"), [w("关键词"), w("帖子"), w("账号"), w("高峰"), w("平台"),
                                  w("净情感"), w("代表帖子")]
                      + ([w("编号")] if stored is not None else []), rows, right={1, 2, 5},
                      notes=notes)
    data = {"events": [{"event_id": e.event_id, "label_terms": list(e.label_terms),
                        "size": e.size, "accounts": len(e.accounts),
                        "first_hour": e.first_hour, "last_hour": e.last_hour,
                        "peak_hour": e.peak_hour, "platforms": dict(e.platforms),
                        "positive": e.positive, "negative": e.negative,
                        "representatives": [dataclasses.asdict(r) for r in e.representatives]}
                       for e in events]}
    return Report(title, subtitle, [section], data)
