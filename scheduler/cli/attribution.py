"""``tingfeng attribution import|derive|report``: which channels earn a conversion (first, last,
linear, U, W, time decay, Markov removal effect, Shapley) and which only assist. Touchpoints
are imported, or derived from the store where a channel map links accounts to channels."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from scheduler.cli.common import platforms_arg, settings_for

__all__ = ["register"]

FILES = """\
Files are CSV (with a header) or JSON lines. Touchpoints: user, channel, time[, value];
conversions: user, time[, value] (value 1 when missing). user is any id you have for a person
or cookie; time is ISO 8601 (no offset = MONITOR_TIMEZONE). Bad rows are counted and skipped,
never fatal. Imports merge into the campaign (a row seen before is not counted twice)."""

EPILOG = f"""\
examples:
  tingfeng attribution import --campaign 双11 --touchpoints touches.csv --conversions orders.csv
  tingfeng attribution derive --monitor 品牌A --channels channels.csv --since 30d
  tingfeng attribution report --campaign 双11 --lookback 30d

{FILES}"""

IMPORT_EPILOG = f"""\
examples:
  tingfeng attribution import --campaign 双11 --touchpoints touches.csv --conversions orders.csv
  tingfeng attribution import --campaign 品牌A --conversions orders.jsonl
  tingfeng attribution report --campaign 双11

{FILES}"""

DERIVE_EPILOG = """\
examples:
  tingfeng attribution derive --monitor 品牌A --channels channels.csv --since 30d
  tingfeng attribution derive --monitor 品牌A --since 7d --conversion-query '已购 OR 下单'
  tingfeng attribution import --campaign 品牌A --conversions orders.csv
  tingfeng attribution report --campaign 品牌A

channels.csv says which accounts stand for a channel (account = the id as stored: Weibo uid,
WeChat __biz, Zhihu member id; name = screen name, optional, to follow //@name chains):
  platform,account,channel,name
  weibo,1234567,官方微博,品牌A官方
  weibo,9876543,KOL-某某,某某
  zhihu,brand-a,知乎机构号,
(or JSON: {"weibo:1234567": "官方微博", ...}). The campaign (default: the monitor's name)
keeps the map, so later runs may leave --channels out.

A user touches channel C when they repost, comment on, reply under or answer a post of C's
accounts; the nearest channel account up the repost chain is credited (a repost of a KOL's
repost of the official post touches the KOL; a repost of a fan's repost touches the official
account). The channel accounts' own posts are not touches. Every post stored under the topic
in the window is read (the monitor's query is not applied again: a repost saying 转发微博 does
not repeat the brand). Touches of one user and channel within 30 minutes count once.

--conversion-query makes a user's own original post (not a repost or comment) that matches it
a conversion worth 1, once per user per 24 hours. It is only as good as the query: 已购 also
matches 还没已购; add NOT terms, and prefer imported orders where you have them.

Users are per platform: weibo:123 and zhihu:123 are two people (no platform says who someone
is elsewhere). Imported conversions must use the same user id, platform:account, e.g.
weibo:5566778899. Deriving a window again replaces that window's derived rows; imported rows
and earlier windows stay."""

REPORT_EPILOG = """\
examples:
  tingfeng attribution report --campaign 双11
  tingfeng attribution report --touchpoints t.csv --conversions c.csv --half-life 3d -f csv

Models (each splits the total conversion value over channels):
  first / last   all credit to the journey's first / last touch
  linear         equal shares per touch
  u_shaped       40% first, 40% last, 20% spread over the middle
  w_shaped       30% first, 30% lead (middle) touch, 30% last, 10% over the rest
  time_decay     halves for every --half-life before the conversion (default 7d)
  markov         first-order Markov chain, removal effect solved exactly
  shapley        Shapley value of the journey game (a journey's value split over its channels)
assists: journeys a channel was in without closing them; ratio = assists / last clicks."""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("attribution", help="multi-touch attribution of conversions to channels",
                       description="Assist attribution: which channels a converting user met "
                                   "first, in between and last, credited by eight models.",
                       epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    kinds = p.add_subparsers(dest="attribution_action", metavar="ACTION", required=True)
    im = kinds.add_parser("import", help="check and merge touchpoint / conversion files",
                          description="Check and merge files into a campaign.",
                          epilog=IMPORT_EPILOG,
                          formatter_class=argparse.RawDescriptionHelpFormatter)
    im.add_argument("--campaign", required=True, metavar="NAME",
                    help="attribution campaign to merge into, or to report on")
    im.add_argument("--touchpoints", metavar="FILE",
                    help="CSV or JSON lines of user, channel, time[, value]")
    im.add_argument("--conversions", metavar="FILE",
                    help="CSV or JSON lines of user, time[, value]")
    im.set_defaults(func=run_import)
    dv = kinds.add_parser("derive", help="touchpoints from the store: users who engaged with "
                                         "the channel accounts' posts",
                          description="Derive touchpoints from a monitor's posts, where a "
                                      "channel map links accounts to channels.",
                          epilog=DERIVE_EPILOG,
                          formatter_class=argparse.RawDescriptionHelpFormatter)
    which = dv.add_mutually_exclusive_group(required=True)
    which.add_argument("--monitor", metavar="NAME",
                       help="a monitor: every post stored under its topic (query not re-applied)")
    which.add_argument("--topic", metavar="T", help="a topic as stored by crawls (-a topic=T)")
    dv.add_argument("--since", default="7d",
                    help="window start: a duration back from now (7d, 12h) or a date; 'all' for "
                         "no bound (default 7d; derive 30d the first time)")
    dv.add_argument("--until", help="window end (ISO date or time, default now)")
    dv.add_argument("--platform", action="extend", default=[], metavar="SLUGS",
                    type=platforms_arg,
                    help="only these platforms, comma-separated or repeated: weibo, wechat, "
                         "zhihu, forum")
    dv.add_argument("--channels", metavar="FILE",
                    help="CSV or JSON of platform, account, channel[, name]: the accounts that "
                         "stand for each channel (kept with the campaign)")
    dv.add_argument("--campaign", metavar="NAME",
                    help="campaign to write into (default: the monitor's or topic's name)")
    dv.add_argument("--conversion-query", metavar="QUERY",
                    help="also count a user's own post matching this query as a conversion, "
                         "e.g. '已购 OR 下单'")
    dv.add_argument("--format", "-f", choices=("table", "json", "csv"), default="table",
                    help="output: table (default), json or csv")
    dv.set_defaults(func=run_derive)
    rp = kinds.add_parser("report", help="credits per channel under every model, and assists",
                          description="Credits per channel under every model.",
                          epilog=REPORT_EPILOG,
                          formatter_class=argparse.RawDescriptionHelpFormatter)
    rp.add_argument("--campaign", metavar="NAME",
                    help="attribution campaign to merge into, or to report on")
    rp.add_argument("--touchpoints", metavar="FILE",
                    help="CSV or JSON lines of user, channel, time[, value]")
    rp.add_argument("--conversions", metavar="FILE",
                    help="CSV or JSON lines of user, time[, value]")
    rp.add_argument("--lookback", default="30d", help="journey window before a conversion, "
                                                      "1–90 days (default 30d)")
    rp.add_argument("--half-life", default="7d", help="time-decay half-life (default 7d)")
    rp.add_argument("--format", "-f", choices=("table", "json", "csv"), default="table",
                    help="output: table (default), json or csv")
    rp.set_defaults(func=run_report)


def _root(args: argparse.Namespace) -> str:
    return str(settings_for(args).get("ATTRIBUTION_DIR"))


def _tz(args: argparse.Namespace) -> str:
    return str(settings_for(args).get("MONITOR_TIMEZONE") or "Asia/Shanghai")


def run_import(args: argparse.Namespace) -> int:
    from crawlers.errors import ConfigError
    from scheduler.attribution import import_files

    if not (args.touchpoints or args.conversions):
        raise ConfigError("give --touchpoints FILE, --conversions FILE or both")
    for path in (args.touchpoints, args.conversions):
        if path:
            _readable(path)
    counts = import_files(_root(args), args.campaign, touchpoints=args.touchpoints,
                          conversions=args.conversions, tz=_tz(args))
    for kind, c in counts.items():
        skipped = ", ".join(f"{k} {v}" for k, v in sorted(c["skipped"].items())) or "none"
        print(f"{kind}: read {c['read']}, new {c['added']}, campaign total {c['total']}; "
              f"skipped: {skipped}", file=sys.stderr)
    return 0


def _readable(path: str) -> None:
    from pathlib import Path

    from crawlers.errors import ConfigError

    if not Path(path).is_file():
        raise ConfigError(f"cannot read {path}: no such file")


# ------------------------------------------------------------------------------------ derive


def run_derive(args: argparse.Namespace) -> int:
    from crawlers.errors import ConfigError
    from scheduler.attribution import (
        campaign_dir,
        derive_from_store,
        load_channels,
        save_channels,
        store_derived,
    )
    from scheduler.cli.common import PLATFORMS, find_monitor, open_cli_store, window_bounds
    from scheduler.i18n import wording_for
    from scoring.attribution.derive import read_channels

    root, w = _root(args), wording_for(settings_for(args))
    since, until = window_bounds(args)
    campaign = args.campaign or args.monitor or args.topic
    try:
        campaign_dir(root, campaign)
    except ConfigError as exc:
        if args.campaign:
            raise
        raise ConfigError(f"{exc}; give --campaign NAME") from None
    if args.channels:
        _readable(args.channels)
        try:
            channels = read_channels(args.channels, platforms=PLATFORMS)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ConfigError(f"--channels {exc}") from None
    else:
        kept = load_channels(root, campaign)
        if kept is None:
            raise ConfigError(f"campaign {campaign!r} has no channel map yet: give --channels "
                              "FILE (CSV header platform,account,channel)")
        channels = kept
    accept = _conversion_matcher(args.conversion_query)
    with open_cli_store(args) as store:
        topic = find_monitor(store, args.monitor).name if args.monitor else args.topic
        print(f"tingfeng: deriving touchpoints of {topic!r}…", file=sys.stderr, flush=True)
        derived = derive_from_store(store, topic, channels, since=since, until=until,
                                    platforms=args.platform, is_conversion=accept)
    if args.channels:
        save_channels(root, campaign, channels)
    written = store_derived(root, campaign, derived, source=f"derive:{topic}", since=since,
                            until=until, conversions=accept is not None)
    from scheduler.analysis.sections import render

    report = _derive_report(derived, channels, written, w=w, campaign=campaign, since=since,
                            until=until, query=args.conversion_query)
    sys.stdout.write(render(report, args.format))
    return 0


def _conversion_matcher(query: str | None) -> Any:
    if not query:
        return None
    from crawlers.errors import ConfigError
    from scheduler.query import QuerySyntaxError, parse_query

    try:
        return parse_query(query).matches_post
    except QuerySyntaxError as exc:
        raise ConfigError(f"--conversion-query {query!r}: {exc.message} at character "
                          f"{exc.position + 1}; fix it or quote the query") from None


def _derive_report(derived: Any, channels: Any, written: dict[str, dict[str, int]], *, w: Any,
                   campaign: str, since: Any, until: Any, query: str | None) -> Any:
    from scheduler.analysis.sections import Report, Section

    rows, notes = [], []
    platforms = {ch: {p for (p, _), c in channels.accounts.items() if c == ch}
                 for ch in channels.channels()}
    for ch, s in derived.channels.items():
        rows.append([ch, s.accounts, s.accounts_seen, s.touchpoints, s.users, s.reposts,
                     s.comments, s.answers])
        if platforms[ch] == {"wechat"}:
            notes.append(w("「{channel}」是微信公众号：文章没有可采集的转发和评论，触点为 0 属正常",
                           channel=ch))
        elif s.accounts_seen == 0:
            notes.append(w("「{channel}」的账号在库中没有帖子：检查账号 ID（微博 uid、公众号 "
                           "__biz、知乎用户 id），或放宽 --since", channel=ch))
    per_channel = Section(w("各渠道触点"), [
        w("渠道"), w("账号"), w("有帖子的账号"), w("触点"), w("用户"), w("转发"),
        w("评论与回复"), w("回答")], rows, right=set(range(1, 8)), notes=notes)
    reasons = {"by_channel_account": w("渠道账号自己的互动"),
               "no_channel": w("上游没有渠道账号"),
               "same_session": w("30 分钟内重复接触同一渠道"),
               "no_author": w("缺作者"), "no_time": w("缺发布时间")}
    left_out = Section(w("未计入的互动"), [w("原因"), w("帖子")],
                       [[reasons.get(k, k), n] for k, n in sorted(derived.skipped.items())],
                       right={1})
    names = {"touchpoints": w("触点"), "conversions": w("转化次数")}
    files = Section(w("写入活动 {campaign}", campaign=campaign),
                    [w("数据"), w("替换此前同窗口"), w("本次写入"), w("活动现有")],
                    [[names[k], c["removed"], c["added"], c["total"]]
                     for k, c in written.items()], right={1, 2, 3})
    summary = [w("用户 {n} 人，触点 {touches} 条", n=w.number(derived.users),
                 touches=w.number(len(derived.touchpoints))),
               w("用户按平台区分：weibo:123 与 zhihu:123 算两个人，不跨平台合并身份；导入转化时 "
                 "user 写成 平台:账号ID（如 weibo:1234567）")]
    if query:
        summary.append(w("转化：用户本人发帖匹配「{query}」记 1 次（24 小时内只算一次），共 {n} 次",
                         query=query, n=w.number(len(derived.conversions))))
    summary.append(w("下一步：tingfeng attribution report --campaign {campaign}",
                     campaign=campaign))
    subtitle = w.label(w("时段"), w.window(since, until)) + " · " + w(
        "帖子 {n} 条", n=w.number(derived.posts))
    data = {"campaign": campaign, "since": since, "until": until, "user_id": "platform:account",
            "users_per_platform": True, **derived.as_dict(), "written": written}
    return Report(w("归因触点") + " · " + campaign, subtitle, [per_channel, left_out, files],
                  data, notes=summary)


# ------------------------------------------------------------------------------------ report

def run_report(args: argparse.Namespace) -> int:
    from collections import Counter
    from pathlib import Path

    from crawlers.errors import ConfigError
    from crawlers.timeparse import parse_duration
    from scheduler.attribution import attribution_report, campaign_dir
    from scoring.attribution import read_conversions, read_touchpoints

    derived = False
    if args.campaign:
        folder = campaign_dir(_root(args), args.campaign)
        tp_path, cv_path = folder / "touchpoints.jsonl", folder / "conversions.jsonl"
        derived = (folder / "channels.jsonl").exists()
        if not tp_path.exists():
            raise ConfigError(f"campaign {args.campaign!r} has no touchpoints: import them with "
                              f"`tingfeng attribution import --campaign {args.campaign} "
                              "--touchpoints FILE`")
    elif args.touchpoints and args.conversions:
        tp_path, cv_path = Path(args.touchpoints), Path(args.conversions)
        _readable(str(tp_path))
        _readable(str(cv_path))
    else:
        raise ConfigError("give --campaign NAME, or --touchpoints FILE and --conversions FILE")
    touches, skipped_t = read_touchpoints(tp_path, tz=_tz(args))
    conversions, skipped_c = (read_conversions(cv_path, tz=_tz(args)) if cv_path.exists()
                              else ([], Counter[str]()))
    report = attribution_report(touches, conversions, lookback=parse_duration(args.lookback),
                                half_life=parse_duration(args.half_life),
                                skipped=skipped_t + skipped_c)
    if args.format == "json":
        json.dump(report.as_dict(), sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
        return 0
    channels = sorted({c for credits in report.credits.values() for c in credits})
    if args.format == "csv":
        _csv(report, channels)
        return 0
    sys.stdout.write(_table(report, channels, derived=derived, args=args))
    return 0


def _table(report: Any, channels: list[str], *, derived: bool, args: argparse.Namespace) -> str:
    from scheduler.analysis.sections import Report, Section, render_table
    from scheduler.i18n import wording_for

    w = wording_for(settings_for(args))
    names = {"first": w("首次触点"), "last": w("末次触点"), "linear": w("线性"),
             "u_shaped": w("U 型"), "w_shaped": w("W 型"), "time_decay": w("时间衰减"),
             "markov": w("马尔可夫"), "shapley": w("Shapley 值")}
    models = list(report.credits)
    rows = []
    for ch in channels:
        a = report.assists.get(ch, {})
        rows.append([ch, *(w.number(report.credits[m].get(ch, 0.0), 2) for m in models),
                     a.get("assists", 0), a.get("last_clicks", 0),
                     w.number(a["ratio"], 2) if a.get("ratio") is not None else "—"])
    section = Section(w("各渠道功劳"), [w("渠道"), *(names[m] for m in models),
                                      w("助攻"), w("末次触点数"), w("助攻比")],
                      rows, right=set(range(1, len(models) + 4)))
    notes = []
    if report.skipped:
        notes.append(w("跳过的行：{reasons}", reasons=", ".join(
            f"{k} {v}" for k, v in sorted(report.skipped.items()))))
    if derived:
        notes.append(w("含从库中推导的触点：用户按平台区分，不跨平台合并身份"))
    subtitle = w("{n} 次转化（价值 {value}），{journeys} 条路径；回看 {lookback} 天，半衰期 "
                 "{half} 天", n=w.number(report.converting), value=w.number(report.total_value, 2),
                 journeys=w.number(report.journeys), lookback=w.number(report.lookback_days),
                 half=w.number(report.half_life_days, 2))
    title = w("归因报告") + (f" · {args.campaign}" if args.campaign else "")
    return render_table(Report(title, subtitle, [section], report.as_dict(), notes=notes))


def _csv(report: Any, channels: list[str]) -> None:
    import csv

    writer = csv.writer(sys.stdout, lineterminator="\r\n")
    models = list(report.credits)
    writer.writerow(["channel", *models, "assists", "last_clicks", "ratio"])
    for ch in channels:
        a = report.assists.get(ch, {})
        cell = "'" + ch if ch[:1] in ("=", "+", "-", "@", "\t", "\r") else ch  # CSV injection
        writer.writerow([cell, *(round(report.credits[m].get(ch, 0.0), 6) for m in models),
                         a.get("assists", 0), a.get("last_clicks", 0), a.get("ratio")])
