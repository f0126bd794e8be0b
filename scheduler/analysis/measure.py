"""Funnel, health index, share of voice and metric sheets as report sections
(``scoring.measure``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from crawlers.items import Author, AuthorKey, Post
from scheduler.analysis.sections import Report, Section
from scheduler.i18n import Wording
from scheduler.notify.wording import platform_name, tier_name

__all__ = ["compare_report", "funnel_report", "health_report", "influence_sections",
           "sheets_report"]


def _(message: str) -> str:  # marks a string for the catalogue; translated where shown
    return message


LAYERS = {"exposure": _("看见与接触"), "interaction": _("互动与尝试"),
          "creation": _("投入与创造"), "sharing": _("分享与传播")}


def _pct(w: Wording, value: float | None) -> str:
    return "—" if value is None else w.percent(value)


def _row_cells(w: Wording, row: Any) -> list[Any]:
    rates = {s.target: s for s in row.steps}
    return [row.posts, w.number(row.exposure), w.number(row.interaction),
            _pct(w, rates["interaction"].rate) if "interaction" in rates else "—",
            row.creation, _pct(w, rates["creation"].rate) if "creation" in rates else "—",
            row.sharing, _pct(w, rates["sharing"].rate) if "sharing" in rates else "—"]


def funnel_report(posts: Sequence[Post], authors: Mapping[AuthorKey, Author], *, title: str,
                  subtitle: str, w: Wording, daily: bool = False) -> Report:
    from scoring.measure.funnel import funnel_report as compute

    f = compute(posts, authors=authors)
    head = [w("帖子"), w(LAYERS["exposure"]), w(LAYERS["interaction"]), w("转化"),
            w(LAYERS["creation"]), w("转化"), w(LAYERS["sharing"]), w("转化")]
    steps = [Section(w("转化漏斗（全部平台）"), [w("环节"), w("数量"), w("转化率"), w("流失")],
                     [[w(LAYERS[s.target]), w.number(getattr(f.total, s.target)),
                       _pct(w, s.rate), _pct(w, s.drop_off)] for s in f.total.steps],
                     right={1, 2, 3}, notes=[n for s in f.total.steps if (n := s.note)])]
    steps.insert(0, Section(w("曝光"), [w("环节"), w("数量")],
                            [[w(LAYERS["exposure"]), w.number(f.total.exposure)]], right={1},
                            notes=[w("曝光中按粉丝估算 {n}",
                                     n=w.number(f.total.exposure_estimated))]
                            if f.total.exposure_estimated else []))
    per_platform = Section(w("各平台"), [w("平台"), *head],
                           [[platform_name(p, w), *_row_cells(w, r)]
                            for p, r in f.platforms.items()], right=set(range(1, 9)),
                           notes=[n for r in f.platforms.values() for n in r.notes])
    sections = [*steps, per_platform]
    if daily:
        sections.append(Section(w("每日"), [w("平台"), w("日期"), *head],
                                [[platform_name(p, w), str(r.day), *_row_cells(w, r)]
                                 for p, rows in f.daily.items() for r in rows],
                                right=set(range(2, 10))))
    capped = [c for c in f.capping if c.capped]
    if capped:
        sections.append(Section(w("异常计数已封顶"), [w("平台"), w("计数"), w("封顶值"),
                                                     w("帖子"), w("去除")],
                                [[platform_name(c.platform, w), c.counter, w.number(c.cap),
                                  c.capped, w.number(c.removed)] for c in capped],
                                right={2, 3, 4}))
    return Report(title, subtitle, sections, f.as_dict(), notes=list(f.notes))


def health_report(posts: Sequence[Post], authors: Mapping[AuthorKey, Author], *, title: str,
                  subtitle: str, w: Wording, now: datetime, window: timedelta) -> Report:
    from scoring.measure.health import health_index

    h = health_index(posts, now=now, authors=authors, window=window)
    overall = "—" if h.index is None else str(round(h.index))
    comps = Section(w("健康度"), [w("指标"), w("得分"), w("输入"), w("公式")],
                    [[c.label, "—" if c.score is None else f"{c.score:.0f}",
                      w("、").join(f"{k}={'—' if v is None else f'{v:.3g}'}"
                                for k, v in c.inputs.items()), c.formula]
                     for c in h.components], right={1},
                    notes=[w("综合指数 {index}（0–100）", index=overall)])
    inds = Section(w("短期与长期指标"), [w("指标"), w("类型"), w("数值"), w("变化")],
                   [[i.name, i.term, "—" if i.value is None else f"{i.value:.3g}{i.unit}",
                     _pct(w, i.change)] for i in h.indicators], right={2, 3})
    return Report(title, subtitle, [comps, inds], h.as_dict(), notes=list(h.notes))


def compare_report(posts_by_brand: Mapping[str, Sequence[Post]],
                   authors: Mapping[AuthorKey, Author], *, title: str, subtitle: str,
                   w: Wording) -> Report:
    from scoring.measure.share import share_of_voice

    s = share_of_voice(posts_by_brand, authors)

    def ci(value: Any) -> str:
        return "—" if value is None else f"{w.percent(value[0])}–{w.percent(value[1])}"

    def net_ci(value: Any) -> str:
        return "—" if value is None else f"{value[0]:+.2f}…{value[1]:+.2f}"

    head = [w("品牌"), w("提及"), w("声量份额"), w("95% 区间"), w("互动份额"), w("净情感"),
            w("95% 区间")]

    def rows(table: Mapping[str, Any]) -> list[list[Any]]:
        return [[b, x.mentions, f"{x.share_pct:.1f}%", ci(x.share_ci),
                 f"{x.engagement_pct:.1f}%", "—" if x.net is None else f"{x.net:+.2f}",
                 net_ci(x.net_ci)] for b, x in table.items()]

    sections = [Section(w("声量份额（合计 100%）"), head, rows(s.overall), right={1, 2, 4, 5},
                        notes=[w("同时提及多个品牌的帖子 {n} 条，每个品牌各计一次",
                                 n=w.number(s.overlap.multi_brand_posts))])]
    for platform, table in s.platforms.items():
        sections.append(Section(platform_name(platform, w), head, rows(table),
                                right={1, 2, 4, 5}))
    sections.append(Section(w("共同 KOL"), [w("平台"), w("账号"), w("品牌")],
                            [[platform_name(k.platform, w), k.name or k.author_id,
                              w("、").join(k.brands)] for k in s.shared_kols]))
    for brand, kols in s.exclusive_kols.items():
        sections.append(Section(w("独家 KOL：{brand}", brand=brand), [w("平台"), w("账号")],
                                [[platform_name(k.platform, w), k.name or k.author_id]
                                 for k in kols]))
    return Report(title, subtitle, sections, s.as_dict(), notes=list(s.notes))


def sheets_report(posts: Sequence[Post], authors: Mapping[AuthorKey, Author], *, title: str,
                  subtitle: str, w: Wording, days: float | None) -> Report:
    from scoring.measure.sheets import metric_sheets

    m = metric_sheets(posts, authors, days=days)
    t = m.totals
    totals = Section(w("话题总量"), [w("指标"), w("数值")], [
        [w("帖子"), t.posts], [w("文章（原创、文章、回答、主题帖）"), t.articles],
        [w("账号"), t.authors], [w("媒体数"), t.media_outlets], [w("评论数"), t.comments],
        [w("阅读数"), t.reads], [w("转发数"), t.reposts], [w("点赞数"), t.likes]], right={1})
    sections = [totals]
    for platform in ("weibo", "wechat", "zhihu", "forum"):
        sheet = getattr(m, platform)
        if sheet is None:
            continue
        values = sheet.as_dict()
        sections.append(Section(platform_name(platform, w), [w("指标"), w("数值")],
                                [[k, v] for k, v in values.items()
                                 if isinstance(v, (int, float, str)) or v is None],
                                right={1}))
    sections += influence_sections(m, w)
    return Report(title, subtitle, sections, m.as_dict(), notes=list(m.notes))


def influence_sections(m: Any, w: Wording, *, top: int | None = None) -> list[Section]:
    """One table per platform of ``m.influence`` (``scoring.measure.sheets.MetricSheets``):
    each account's index (BCI, WCI, the Zhihu index) with the inputs of its formula, and the
    measure its tier is judged by (Weibo followers, WeChat reads, Zhihu upvotes)."""
    sections = []
    for platform, rows in m.influence.items():
        if not rows:
            continue
        body = [[r.name or r.author_id, r.index, round(r.value, 1), tier_name(r.tier, w),
                 f"{_measure_name(r.measure.name, w)} "
                 f"{'—' if r.measure.value is None else round(r.measure.value)}",
                 ", ".join(f"{k} = {_short(v)}" for k, v in r.inputs.items())]
                for r in rows[:top]]
        sections.append(Section(
            w("{platform}影响力指数", platform=platform_name(platform, w)),
            [w("账号"), w("指数"), w("数值"), w("层级"), w("层级依据"), w("公式输入")], body,
            right={2}))
    return sections


def _measure_name(name: str, w: Wording) -> str:
    names = {"followers": w("粉丝"), "reads": w("篇均阅读"), "upvotes": w("获得赞同")}
    return names.get(name, name)


def _short(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)
