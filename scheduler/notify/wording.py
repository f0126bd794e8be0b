"""What an alert says, in the reader's words: one sentence of what happened, why, and what to do.

Built from the alert's rule, value, threshold and ``details`` (never its internal ``message``,
which is for logs): metric names and English rule ids never reach a reader. Every string goes
through :mod:`scheduler.i18n` (Chinese by default).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from scheduler.i18n import Wording, wording

if TYPE_CHECKING:
    from crawlers.items import Alert

__all__ = ["PLATFORM_NAMES", "SEVERITY_NAMES", "explain", "headline", "next_step",
           "platform_name", "rule_title", "severity_name"]


def _(message: str) -> str:  # marks a string for extraction; translated where it is shown
    return message


RULE_TITLES = {
    "negative_spike": _("负面舆情激增"),
    "negative_share": _("负面占比过高"),
    "volume_spike": _("声量激增"),
    "risk_words": _("风险词命中"),
    "head_tier_joined": _("头部账号参与"),
    "crawl_health": _("采集异常"),
    "divergence": _("短期与长期指标背离"),
    "digest": _("日报"),
    "regional_surge": _("地域声量突增"),
}
SEVERITY_NAMES = {"critical": _("红色预警"), "warning": _("橙色预警"), "info": _("提示")}
PLATFORM_NAMES = {"weibo": _("微博"), "wechat": _("微信公众号"), "zhihu": _("知乎"),
                  "forum": _("论坛"), "tieba": _("贴吧")}
TIER_NAMES = {"kol": _("大V"), "head": _("头部"), "waist": _("腰部"), "tail": _("尾部"),
              "amateur": _("素人"), "other": _("其他"), "unknown": _("未知")}
REPAIR_NAMES = {
    "missing_authors": _("作者未采集"), "missing_parents": _("上游帖子未采集"),
    "unresolved_names": _("转发链昵称未能对应账号"), "cycles_broken": _("转发环已切断"),
    "self_loops": _("自我转发"), "duplicate_edges": _("重复记录已合并"),
    "duplicate_posts": _("重复帖子已合并"), "missing_times": _("缺少时间"),
}
_REASONS = {
    "login_required": _("需要登录"),
    "rate_limited": _("被限流"),
    "blocked": _("被封禁"),
    "crashed": _("采集进程出错"),
    "failed": _("采集失败"),
}
_FIXES = {
    "login_required": _("在环境变量中更新该平台的 Cookie（如 WEIBO_COOKIE）后重新运行"),
    "rate_limited": _("降低监测频率或调大 DOWNLOAD_DELAY"),
    "blocked": _("平台拦截了采集：放慢速度或更换网络"),
    "crashed": _("查看该监测最近采集记录中的错误"),
    "failed": _("查看该监测最近采集记录中的错误"),
}
# Labels that renderers use inside f-strings, where the extractor cannot see a call: marked here.
LABELS = (_("听风日报"), _("无"), _("其他修复"), _("预警"), _("听风"), _("听风预警"), _("监测"),
          _("时段"),
          _("时间"), _("北京时间"), _("查询"),
          _("原因"), _("重点帖子"), _("下一步"), _("原文"),
          # scheduler.i18n.Wording.window and .label
          _("{start} – {end}（北京时间）"), _("{label}：{value}"),
          _("{name}（{platform}，粉丝 {followers}）"))
_NEXT_STEPS = {
    "": _("查看相关帖子，判断是否需要处理。"),
    "negative_spike": _("打开负面帖子列表，找出带头的账号和说法，评估是否需要回应或转人工审核。"),
    "negative_share": _("查看负面驱动词和代表帖子，确认是否有集中的投诉点，必要时准备回应口径。"),
    "volume_spike": _("查看声量突增来自哪个平台和哪些账号，判断是热点事件还是刷量。"),
    "risk_words": _("逐条核实命中风险词的帖子，涉及安全、法律或监管的立即转人工审核。"),
    "head_tier_joined": _("查看这些账号的帖子和转发路径，评估其影响范围，考虑主动沟通。"),
    "crawl_health": _("修复采集后，该监测才会重新看到新帖子。"),
    "divergence": _("短期数据达标但长期指标在下滑：复盘内容策略，关注口碑和回访作者。"),
    "digest": _("打开监测看板查看全天走势和重点帖子。"),
    "regional_surge": _("查看该地区的帖子和账号：是本地事件、地方媒体报道，还是集中刷量。"),
}


METRIC_LABELS = {
    "posts/count": _("帖子"),
    "posts/negative": _("负面帖子"),
    "posts/negative_ratio": _("负面占比"),
    "posts/net_sentiment": _("净情感"),
    "risk/hits": _("风险词命中"),
    "authors/active": _("活跃账号"),
    "authors/head": _("头部账号"),
}


def metric_label(name: str, w: Wording | None = None) -> str:
    """A figure's name for readers (``posts/platform/weibo`` → 微博帖子).

    >>> metric_label("posts/negative_ratio"), metric_label("posts/platform/zhihu")
    ('负面占比', '知乎帖子')
    """
    w = _w(w)
    if name.startswith("posts/platform/"):
        return w("{platform}帖子", platform=platform_name(name.rsplit("/", 1)[1], w))
    return w(METRIC_LABELS[name]) if name in METRIC_LABELS else w("其他指标")


def _w(w: Wording | None) -> Wording:
    return w or wording()


def tier_name(tier: str | None, w: Wording | None = None) -> str:
    """An influence tier for readers.

    >>> tier_name("amateur"), tier_name("head", wording("en"))
    ('素人', 'Head')
    """
    key = tier or "unknown"
    return _w(w)(TIER_NAMES.get(key, TIER_NAMES["other"]))


def repairs_note(repaired: Mapping[str, int], w: Wording | None = None) -> str:
    """The graph's repairs, said plainly: ``图数据修复：作者未采集 2 条、…``."""
    w = _w(w)
    parts = "、".join(f"{w(REPAIR_NAMES[k]) if k in REPAIR_NAMES else w('其他修复')} {n}"
                     for k, n in sorted(repaired.items()))
    return w("图数据修复：{parts}", parts=parts)


def rule_title(rule: str, w: Wording | None = None) -> str:
    """The rule's name for a reader (an unknown rule keeps its id).

    >>> rule_title("risk_words"), rule_title("risk_words", wording("en"))
    ('风险词命中', 'Risk words found')
    """
    return _w(w)(RULE_TITLES[rule]) if rule in RULE_TITLES else rule


def severity_name(severity: str, w: Wording | None = None) -> str:
    key = {"high": "critical", "medium": "warning", "low": "info"}.get(severity, severity)
    return _w(w)(SEVERITY_NAMES.get(key, SEVERITY_NAMES["warning"]))


def platform_name(platform: str, w: Wording | None = None) -> str:
    return _w(w)(PLATFORM_NAMES[platform]) if platform in PLATFORM_NAMES else platform


def headline(alert: Alert, w: Wording | None = None) -> str:
    """One sentence of what happened, in plain words.

    >>> from crawlers.items import Alert
    >>> a = Alert("x", "品牌", "negative_share", "warning", "internal", value=0.42, threshold=0.3)
    >>> headline(a)
    '「品牌」的负面帖子占比达到 42.0%，超过设定的 30.0%。'
    """
    w = _w(w)
    d: Mapping[str, Any] = alert.details or {}
    if d.get("escalated"):
        plain = dataclasses.replace(alert, details={k: v for k, v in d.items()
                                                    if k != "escalated"})
        return w("已连续 {runs} 次运行未解除，升级为红色预警：{what}", runs=d.get("runs", "?"),
                 what=headline(plain, w))
    name = alert.monitor
    if alert.rule == "digest":
        m = d.get("metrics") or {}
        return w("「{name}」过去 24 小时：帖子 {posts} 条，负面占比 {negative}，风险词 {risk} 次，"
                 "预警 {alerts} 条。", name=name, posts=w.number(m.get("posts/count", 0)),
                 negative=w.percent(m.get("posts/negative_ratio")),
                 risk=w.number(m.get("risk/hits", 0)), alerts=w.number(len(d.get("alerts", []))))
    if alert.rule == "negative_share":
        return w("「{name}」的负面帖子占比达到 {value}，超过设定的 {threshold}。", name=name,
                 value=w.percent(alert.value), threshold=w.percent(alert.threshold))
    if alert.rule in ("negative_spike", "volume_spike"):
        noun = w("负面帖子") if alert.rule == "negative_spike" else w("帖子")
        if d.get("expected"):
            return w("「{name}」本时段出现 {value} 条{noun}，"
                     "是平常（约 {expected} 条）的 {ratio} 倍。", name=name,
                     value=w.number(alert.value), noun=noun,
                     expected=w.number(d["expected"]), ratio=w.number(d.get("ratio"), 1))
        return w("「{name}」本时段出现 {value} 条{noun}，明显多于平常。", name=name,
                 value=w.number(alert.value), noun=noun)
    if alert.rule == "risk_words":
        return w("「{name}」的帖子中风险词出现 {value} 次，达到设定的 {threshold} 次。", name=name,
                 value=w.number(alert.value), threshold=w.number(alert.threshold))
    if alert.rule == "head_tier_joined":
        return w("{value} 个头部账号或大V首次参与了「{name}」的讨论。", name=name,
                 value=w.number(alert.value))
    if alert.rule == "crawl_health":
        platforms = "、".join(platform_name(p, w) for p in sorted(d.get("platforms") or {}))
        return w("「{name}」在{platforms}上连续 {value} 次采集失败，监测暂时看不到新帖子。",
                 name=name, platforms=platforms or w("某平台"), value=w.number(alert.value))
    if alert.rule == "regional_surge" and d.get("regions"):
        top = d["regions"][0]
        return w("「{name}」在{region}的讨论量突增：{count} 条，是平常（约 {expected} 条）的 "
                 "{ratio} 倍。", name=name, region=str(top.get("region")),
                 count=w.number(top.get("count")), expected=w.number(top.get("baseline"), 1),
                 ratio=w.number(top.get("ratio"), 1))
    if alert.rule == "divergence":
        return w("「{name}」短期指标上升，长期指标却在下滑。", name=name)
    return w("「{name}」触发了预警：{title}。", name=name, title=rule_title(alert.rule, w))


def explain(alert: Alert, w: Wording | None = None) -> list[str]:
    """Why it fired: the words, accounts, baseline or failures behind the alert."""
    w = _w(w)
    d: Mapping[str, Any] = alert.details or {}
    out: list[str] = []
    if alert.rule == "risk_words" and d.get("words"):
        words = sorted(d["words"].items(), key=lambda kv: (-kv[1], kv[0]))[:8]
        out.append(w("命中的风险词：{words}", words="、".join(  # "complaint:投诉" → 投诉
            f"{str(word).split(':', 1)[-1]}×{w.number(n)}" for word, n in words)))
    if alert.rule == "head_tier_joined" and d.get("named"):
        out.append(w("参与的账号：{accounts}", accounts="、".join(
            w("{name}（{platform}，粉丝 {followers}）", name=str(a.get("name")),
              platform=platform_name(str(a.get("platform")), w),
              followers=w.number(a.get("followers"))) if a.get("followers") else
            f"{a.get('name')}（{platform_name(str(a.get('platform')), w)}）"
            for a in d["named"][:8])))
    elif alert.rule == "head_tier_joined" and d.get("accounts"):
        out.append(w("参与的账号：{accounts}", accounts="、".join(map(str, d["accounts"][:8]))))
    if alert.rule in ("negative_spike", "volume_spike") and d.get("baseline"):
        pvalue = f"{float(d.get('pvalue', 0)):.2g}"
        out.append(w("与过去几周同一时段相比（显著性 p={p}）", p=pvalue))
    if alert.rule == "crawl_health":
        for platform, failure in sorted((d.get("platforms") or {}).items()):
            reasons = [str(r) for r in failure.get("reasons", ["failed"])]
            out.append(w("{platform}：{reasons}，{fix}", platform=platform_name(platform, w),
                         reasons="、".join(w(_REASONS.get(r, _REASONS["failed"]))
                                           for r in reasons),
                         fix=w(_FIXES.get(reasons[0], _FIXES["failed"]))))
    if alert.rule == "regional_surge":
        for region in (d.get("regions") or [])[1:5]:
            out.append(w("同时突增：{region} {count} 条（{ratio} 倍）", region=str(region.get(
                "region")), count=w.number(region.get("count")),
                ratio=w.number(region.get("ratio"), 1)))
    if alert.rule == "digest":
        for item in (d.get("alerts") or [])[:10]:
            out.append(w("{time} {title}", time=str(item.get("time", "")),
                         title=rule_title(str(item.get("rule", "")), w)))
    if d.get("excluded_accounts"):
        out.append(w("已排除 {n} 个疑似水军账号的 {m} 条帖子", n=w.number(d["excluded_accounts"]),
                     m=w.number(d.get("excluded_posts", 0))))
    for driver in (d.get("drivers") or [])[:5]:  # negative drivers, when the analysis gave them
        if isinstance(driver, Mapping) and driver.get("new"):
            out.append(w("新增负面驱动：{term}（{count} 条负面帖子，此前 {before} 条）",
                         term=str(driver.get("term")), count=w.number(driver.get("count")),
                         before=w.number(driver.get("before", 0))))
        elif isinstance(driver, Mapping):
            out.append(w("负面驱动词：{term}（{count} 条负面帖子）", term=str(driver.get("term")),
                         count=w.number(driver.get("count"))))
        else:
            out.append(w("负面驱动：{driver}", driver=str(driver)))
    return out


def next_step(alert: Alert, w: Wording | None = None) -> str:
    """The suggested next step for the alert's rule."""
    w = _w(w)
    return w(_NEXT_STEPS.get(alert.rule, _NEXT_STEPS[""]))
