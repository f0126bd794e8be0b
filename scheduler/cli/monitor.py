"""``tingfeng monitor …``: create, inspect, change, run and version topic monitors."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from crawlers.items import Monitor

__all__ = ["register"]

EPILOG = """\
examples:
  tingfeng monitor add 品牌A --query '品牌A AND (投诉 OR 退款) NOT 招聘' \\
      --platforms weibo,wechat,zhihu,forum --every 30m --alert-to pr@example.com
  tingfeng monitor add 新品 --query '"新品 发布会" OR 新品X' --platforms weibo \\
      --cron '0 */2 * * *' --alert-to a@example.com,b@example.com \\
      --threshold ALERT_NEGATIVE_RATIO=0.5
  tingfeng monitor list
  tingfeng monitor show 品牌A
  tingfeng monitor edit 品牌A --every 1h --threshold ALERT_RISK_HITS=off
  tingfeng monitor pause 品牌A ; tingfeng monitor resume 品牌A
  tingfeng monitor run 品牌A                 (now, in the foreground)
  tingfeng monitor export -o monitors.toml ; tingfeng monitor import monitors.toml

Query language: AND, OR, NOT (a NOT b = a AND NOT b), parentheses, "exact phrase"; terms next
to each other are ANDed; a term matches anywhere in a post (Chinese needs no spaces), Latin
letters in any case. The positive part becomes each platform's searches (品牌A 投诉, 品牌A 退款);
NOT terms filter the collected posts.

Thresholds (--threshold NAME=VALUE, repeatable, 'off' disables the rule for this monitor):
ALERT_NEGATIVE_RATIO, ALERT_SPIKE_PVALUE, ALERT_MIN_VOLUME, ALERT_MIN_RATIO, ALERT_VOLUME_GROWTH,
ALERT_RISK_HITS, ALERT_HEAD_JOINED, ALERT_CRAWL_FAILURES, ALERT_COOLDOWN, MONITOR_WINDOW.
A running `tingfeng scheduler run` picks up every change within MONITOR_SYNC_INTERVAL seconds."""


QUERY_HELP = EPILOG.split("\n\n", 1)[1]
# Each sub-command's own examples, then what the definition options mean.
EXAMPLES = {
    "add": """\
  tingfeng monitor add 品牌A --query '品牌A AND (投诉 OR 退款) NOT 招聘' \\
      --platforms weibo,wechat,zhihu,forum --every 30m --alert-to pr@example.com
  tingfeng monitor add 新品 --query '"新品 发布会" OR 新品X' --platforms weibo \\
      --cron '0 */2 * * *' --alert-to 'wecom://${WECOM_KEY}' --quiet-hours 22:00-08:00
  tingfeng monitor add 论坛 --query 品牌A --every 1h \\
      --source 'discuz:https://bbs.example.com/?fid=2' --source 'feed:https://x.com/rss'""",
    "edit": """\
  tingfeng monitor edit 品牌A --every 1h --threshold ALERT_RISK_HITS=off
  tingfeng monitor edit 品牌A --clear-alert-to --alert-to 'dingtalk://${DING_TOKEN}?secret=${DING_SECRET}'""",
    "list": "  tingfeng monitor list",
    "show": "  tingfeng monitor show 品牌A",
    "pause": "  tingfeng monitor pause 品牌A",
    "resume": "  tingfeng monitor resume 品牌A",
    "remove": "  tingfeng monitor remove 品牌A       (its posts and alerts stay in the store)",
    "run": "  tingfeng monitor run 品牌A          (now, in the foreground)\n"
           "  tingfeng monitor run 品牌A -q       (no progress lines)",
    "export": "  tingfeng monitor export -o monitors.toml",
    "import": "  tingfeng monitor import monitors.toml",
}


def _definition_options(p: argparse.ArgumentParser, *, required: bool) -> None:
    p.add_argument("--query", required=required,
                   help="boolean query, e.g. '品牌A (投诉 OR 退款)'")
    p.add_argument("--platforms", "-p",
                   help="comma-separated: weibo,wechat,zhihu,forum (a monitor needs platforms, "
                        "--source or both)")
    when = p.add_mutually_exclusive_group(required=required)
    when.add_argument("--every", help="run interval: 30m, 2h, 1d (at least 1m)")
    when.add_argument("--cron", help="crontab schedule in MONITOR_TIMEZONE, e.g. '0 */2 * * *'")
    p.add_argument("--alert-to", action="append", default=[], metavar="RECIPIENTS",
                   help="recipients, comma-separated or repeated: emails, 'wecom://${KEY_VAR}', "
                        "'dingtalk://${TOKEN_VAR}?secret=${SECRET_VAR}', 'feishu://${HOOK_VAR}', "
                        "'https://host/path#secret=${VAR}' (keys stay in the environment)")
    p.add_argument("--source", action="append", default=[], metavar="SOURCE",
                   help="a forum board or feed to crawl too (repeatable): feed:https://…/rss, "
                        "discuz:https://bbs.example.com/?fid=2, discuz-api:…, site:NAME; the "
                        "query's keywords filter what they give")
    p.add_argument("--quiet-hours", metavar="HH:MM-HH:MM",
                   help="only red alerts are sent in these hours (MONITOR_TIMEZONE); the rest "
                        "wait and go out together after, e.g. 22:00-08:00; 'off' clears")
    p.add_argument("--escalate-to", metavar="RECIPIENTS",
                   help="who else gets a warning that keeps firing (ALERT_ESCALATE_RUNS runs) "
                        "once it turns red; same forms as --alert-to")
    p.add_argument("--threshold", action="append", default=[], metavar="NAME=VALUE",
                   help="per-monitor alert setting (repeatable); VALUE 'off' disables the rule")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    top = sub.add_parser(
        "monitor", help="manage topic monitors (add, list, show, edit, pause, run, export…)",
        description="Topic monitors: a query over platforms, on a schedule, alerting by email.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    msub = top.add_subparsers(dest="monitor_command", metavar="ACTION", required=True)

    def action(name: str, helptext: str, func: Any, *,
               with_name: bool = True) -> argparse.ArgumentParser:
        own = f"examples:\n{EXAMPLES[name]}"
        if name in ("add", "edit"):
            own += "\n\n" + QUERY_HELP
        p = msub.add_parser(name, help=helptext, description=helptext[0].upper() + helptext[1:],
                            epilog=own, formatter_class=argparse.RawDescriptionHelpFormatter)
        if with_name:
            p.add_argument("name", help="monitor name")
        p.set_defaults(func=func)
        return p

    p = action("add", "create a monitor", cmd_add)
    _definition_options(p, required=True)
    p.add_argument("--paused", action="store_true", help="create it paused")
    p = action("edit", "change a monitor (only the options given)", cmd_edit)
    _definition_options(p, required=False)
    p.add_argument("--clear-thresholds", action="store_true",
                   help="drop every per-monitor threshold first")
    p.add_argument("--clear-alert-to", action="store_true", help="drop every recipient first")
    p.add_argument("--clear-sources", action="store_true", help="drop every source first")
    p = action("list", "list monitors", cmd_list, with_name=False)
    action("show", "show a monitor, its searches, next run and recent alerts", cmd_show)
    action("pause", "stop scheduling a monitor (kept in the store)", cmd_pause)
    action("resume", "schedule a paused monitor again", cmd_resume)
    action("remove", "delete a monitor (its posts and alerts stay)", cmd_remove)
    p = action("run", "run a monitor now, in the foreground", cmd_run)
    p.add_argument("--quiet", "-q", action="store_true", help="no progress lines")
    p = action("export", "write monitors as TOML", cmd_export, with_name=False)
    p.add_argument("-o", "--output", help="file to write (default: stdout)")
    p = action("import", "create or replace monitors from a TOML file", cmd_import, with_name=False)
    p.add_argument("file", help="TOML written by `monitor export` (or by hand)")


# -- helpers ---------------------------------------------------------------------------------
def _limits(args: argparse.Namespace) -> dict[str, Any]:
    from scheduler.cli.common import settings_for

    settings = settings_for(args)
    return {"max_keywords": settings.getint("MONITOR_MAX_KEYWORDS", 16),
            "timezone": settings.get("MONITOR_TIMEZONE") or "Asia/Shanghai"}


def _emails(values: list[str]) -> list[str]:
    """Recipients from ``--alert-to`` values: email addresses and channel URIs, each checked
    (a literal robot key or secret is refused: they belong in the environment)."""
    from scheduler.notify.channels import check_recipient

    return [check_recipient(e) for value in values for e in value.split(",") if e.strip()]


def _apply(monitor: Monitor, args: argparse.Namespace) -> Monitor:
    from dataclasses import replace

    from scheduler.monitors import parse_every, parse_threshold

    changes: dict[str, Any] = {}
    if args.query is not None:
        changes["query"] = args.query
    if args.platforms is not None:
        changes["platforms"] = [p for p in args.platforms.split(",") if p.strip()]
    if args.every is not None:
        changes.update(every=parse_every(args.every), cron=None)
    if args.cron is not None:
        changes.update(cron=" ".join(args.cron.split()), every=None)
    recipients = [] if getattr(args, "clear_alert_to", False) else list(monitor.recipients)
    changes["recipients"] = recipients + _emails(args.alert_to)
    if getattr(args, "clear_sources", False):
        changes["sources"] = []
    if args.source:
        changes["sources"] = list(changes.get("sources", monitor.sources)) + list(args.source)
    thresholds = {} if getattr(args, "clear_thresholds", False) else dict(monitor.thresholds)
    thresholds.update(parse_threshold(t) for t in args.threshold)
    for option, name in (("quiet_hours", "ALERT_QUIET_HOURS"),
                         ("escalate_to", "ALERT_ESCALATE_TO")):
        value = getattr(args, option, None)
        if value is not None:
            thresholds.update([parse_threshold(f"{name}={value}")])
    changes["thresholds"] = thresholds
    return replace(monitor, **changes)


def _describe(m: Monitor) -> str:
    from scheduler.i18n import wording
    from scheduler.monitors import schedule_text

    state = "paused" if m.paused else "active"
    last = f"{wording().time(m.last_run_at)} (北京时间)" if m.last_run_at else "never"
    where = ",".join([*m.platforms, *(f"+{len(m.sources)} sources" for _ in [0] if m.sources)])
    return f"{m.name}  [{state}]  {schedule_text(m)}  {where}  last run: {last}"


def _say(args: argparse.Namespace, text: str) -> None:
    if not getattr(args, "quiet", False):
        print(text, file=sys.stderr, flush=True)


# -- commands --------------------------------------------------------------------------------
def cmd_add(args: argparse.Namespace) -> int:
    from crawlers.items import Monitor, utcnow
    from scheduler.cli.common import open_cli_store
    from scheduler.monitors import add_monitor

    draft = _apply(Monitor(name=args.name, query="", paused=args.paused), args)
    with open_cli_store(args) as store:
        monitor = add_monitor(store, draft, now=utcnow(), **_limits(args))
    print(f"added {_describe(monitor)}")
    return 0


def cmd_edit(args: argparse.Namespace) -> int:
    from crawlers.items import utcnow
    from scheduler.cli.common import open_cli_store
    from scheduler.monitors import add_monitor, require_monitor

    with open_cli_store(args) as store:
        edited = _apply(require_monitor(store, args.name), args)
        monitor = add_monitor(store, edited, now=utcnow(), replace=True, **_limits(args))
    print(f"updated {_describe(monitor)}")
    return 0


def _set_paused(args: argparse.Namespace, paused: bool) -> int:
    from crawlers.items import utcnow
    from scheduler.cli.common import open_cli_store
    from scheduler.monitors import require_monitor

    with open_cli_store(args) as store:
        monitor = require_monitor(store, args.name)
        monitor.paused, monitor.updated_at = paused, utcnow()
        store.save_monitor(monitor)
    print(f"{'paused' if paused else 'resumed'} {_describe(monitor)}")
    return 0


def cmd_pause(args: argparse.Namespace) -> int:
    return _set_paused(args, True)


def cmd_resume(args: argparse.Namespace) -> int:
    return _set_paused(args, False)


def cmd_remove(args: argparse.Namespace) -> int:
    from scheduler.cli.common import open_cli_store
    from scheduler.monitors import require_monitor

    with open_cli_store(args) as store:
        require_monitor(store, args.name)
        store.delete_monitor(args.name)
    print(f"removed monitor {args.name!r} (its posts, runs and alerts stay in the store)")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    from scheduler.cli.common import open_cli_store

    with open_cli_store(args) as store:
        monitors = store.monitors()
    if not monitors:
        print("no monitors yet: tingfeng monitor add NAME --query … --platforms … --every 30m",
              file=sys.stderr)
    for m in monitors:
        print(_describe(m))
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from datetime import timedelta

    from crawlers.items import utcnow
    from scheduler.cli.common import open_cli_store, settings_for
    from scheduler.i18n import wording_for
    from scheduler.monitors import make_trigger, require_monitor, source_label
    from scheduler.notify.wording import headline, severity_name
    from scheduler.query import parse_query

    limits = _limits(args)
    now = utcnow()
    w = wording_for(settings_for(args))
    with open_cli_store(args) as store:
        m = require_monitor(store, args.name)
        alerts = store.alerts(monitor=m.name, since=now - timedelta(days=7))
    query = parse_query(m.query)
    if m.paused:
        when = "— (paused)"
    elif m.last_run_at is None:
        when = "as soon as `tingfeng scheduler run` picks it up"
    else:
        nxt = make_trigger(m, limits["timezone"]).get_next_fire_time(m.last_run_at, now)
        when = f"{w.time(nxt)} (北京时间)"
    thresholds = ", ".join(f"{k}={v}" for k, v in m.thresholds.items())
    sources = ", ".join(f"{source_label(s)} ({s})" for s in m.sources)
    lines = [_describe(m), f"  query:      {m.query}", f"  parsed:     {query}",
             f"  searches:   {' | '.join(query.keywords(limits['max_keywords']))}",
             f"  sources:    {sources or '(platform searches only)'}",
             f"  alert to:   {', '.join(m.recipients) or '(MAIL_TO only)'}",
             f"  thresholds: {thresholds or '(defaults)'}",
             f"  next run:   {when}",
             f"  alerts (7 days): {len(alerts)}"]
    lines += [f"    {w.time(a.created_at, '%m-%d %H:%M')} [{severity_name(a.severity, w)}] "
              f"{headline(a, w)} ({a.status})" for a in alerts[-10:]]
    print("\n".join(lines))
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from functools import partial

    from scheduler.cli.common import open_cli_store, settings_for
    from scheduler.jobs import monitor_topic
    from scheduler.runner import run_crawl

    settings = settings_for(args)

    def crawl_line(line: str) -> None:
        if "INFO: Crawled" in line or "WARNING" in line or "ERROR" in line:
            _say(args, "    " + line)

    with open_cli_store(args) as store:
        run = monitor_topic(args.name, store=store, settings=settings, force=True,
                            run_crawl=partial(run_crawl, on_line=crawl_line),
                            progress=lambda text: _say(args, text))
    assert run is not None  # force=True runs paused monitors too
    for crawl in run.crawls:
        print(f"{crawl['platform']}: {crawl['finish_reason']} ({crawl['items']} items)")
    m = run.metrics
    print(f"window {run.window}: {m.get('posts/count', 0):.0f} posts, "
          f"{m.get('posts/negative', 0):.0f} negative ({m.get('posts/negative_ratio', 0):.0%}), "
          f"{m.get('risk/hits', 0):.0f} risk-word hits")
    for r in run.results:
        if r.status in ("fired", "disabled", "error"):
            print(f"  {r.status:<8} {r.rule} [{r.severity}]: {r.message}")
    print(f"alerts: {len(run.new_alerts)} new, {len(run.suppressed)} held back by the cooldown")
    if run.delivery is not None:
        print(f"mail: {run.delivery.sent} sent, {run.delivery.failed} failed, "
              f"{run.delivery.pending} pending")
    for error in run.errors:
        print(f"  problem: {error}", file=sys.stderr)
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from pathlib import Path

    from scheduler.cli.common import open_cli_store
    from scheduler.monitors import export_toml

    with open_cli_store(args) as store:
        monitors = store.monitors()
        text = export_toml(monitors)
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
        print(f"wrote {len(monitors)} monitor(s) to {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from pathlib import Path

    from crawlers.errors import ConfigError
    from crawlers.items import utcnow
    from scheduler.cli.common import open_cli_store
    from scheduler.monitors import add_monitor, import_toml

    try:
        text = Path(args.file).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read {args.file}: {exc.strerror}") from None
    limits = _limits(args)
    monitors = import_toml(text, **limits)  # all validated before any is saved
    now = utcnow()
    with open_cli_store(args) as store:
        existing = {m.name for m in store.monitors()}
        for monitor in monitors:
            add_monitor(store, monitor, now=now, replace=True, **limits)
    new = [m.name for m in monitors if m.name not in existing]
    replaced = len(monitors) - len(new)
    print(f"imported {len(monitors)} monitor(s): {len(new)} new, {replaced} replaced")
    return 0
