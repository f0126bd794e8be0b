"""``tingfeng alert list|show|review|precision|test``: the alerts a monitor raised, where each
was delivered, a reviewer's verdict, each rule's precision, and a test message to a channel."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from scheduler.cli.common import open_cli_store, parse_since, settings_for

__all__ = ["register"]

EPILOG = """\
examples:
  tingfeng alert list --since 7d                       # newest last, with delivery state
  tingfeng alert list --monitor 品牌A --status pending
  tingfeng alert show '品牌A:risk_words:20261124T0300Z'
  tingfeng alert review '品牌A:risk_words:20261124T0300Z' --verdict false-alarm --note 同名品牌
  tingfeng alert precision --since 30d                 # per rule: reviewed, false alarms
  tingfeng alert test 'wecom://${WECOM_KEY}'           # send a test card to a robot"""

VERDICTS = {"confirmed": "confirmed", "false-alarm": "false_alarm", "false_alarm": "false_alarm"}


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "alert", help="alerts: list, show, review (false alarms), precision, test a channel",
        description="Alerts raised by monitors: their delivery on each channel, reviews and "
                    "each rule's precision.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    kinds = p.add_subparsers(dest="alert_action", metavar="ACTION", required=True)
    ls = kinds.add_parser("list", help="alerts in a window, oldest first",
                          description="Alerts in a window, oldest first, with delivery state.",
                          epilog="example:\n  tingfeng alert list --monitor 品牌A --since 24h",
                          formatter_class=argparse.RawDescriptionHelpFormatter)
    _filters(ls)
    ls.add_argument("--status", choices=("pending", "sent"), help="only pending or sent ones")
    ls.add_argument("--format", "-f", choices=("table", "json"), default="table",
                    help="output: table (default) or json")
    ls.set_defaults(func=run_list)
    sh = kinds.add_parser("show", help="one alert: what, why, next step, each channel's state",
                          description="One alert in full.",
                          epilog="example:\n"
                                 "  tingfeng alert show '品牌A:risk_words:20261124T0300Z'",
                          formatter_class=argparse.RawDescriptionHelpFormatter)
    sh.add_argument("alert_id", metavar="ID")
    sh.add_argument("--format", "-f", choices=("table", "json"), default="table",
                    help="output: table (default) or json")
    sh.set_defaults(func=run_show)
    rv = kinds.add_parser("review", help="record a reviewer's verdict on an alert",
                          description="Record whether an alert was right (confirmed) or a false "
                                      "alarm; `alert precision` reports each rule's record.",
                          epilog="example:\n  tingfeng alert review ID --verdict false-alarm "
                                 "--note '同名品牌'",
                          formatter_class=argparse.RawDescriptionHelpFormatter)
    rv.add_argument("alert_id", metavar="ID")
    rv.add_argument("--verdict", required=True, choices=("confirmed", "false-alarm"),
                    help="confirmed (the alert was right) or false-alarm")
    rv.add_argument("--note", default="", help="why (kept with the verdict)")
    rv.add_argument("--by", default="", help="reviewer's name (default: the login name)")
    rv.set_defaults(func=run_review)
    pr = kinds.add_parser("precision", help="per rule: alerts, reviewed, false alarms, precision",
                          description="Each rule's precision from reviewers' verdicts.",
                          epilog="example:\n  tingfeng alert precision --since 30d",
                          formatter_class=argparse.RawDescriptionHelpFormatter)
    _filters(pr, since="30d")
    pr.add_argument("--format", "-f", choices=("table", "json"), default="table",
                    help="output: table (default) or json")
    pr.set_defaults(func=run_precision)
    ts = kinds.add_parser("test", help="send a test message to a recipient (email or robot)",
                          description="Send a sample alert card to one recipient, to check a "
                                      "robot key, secret or mail set-up before a real alert.",
                          epilog="examples:\n  tingfeng alert test 'wecom://${WECOM_KEY}'\n"
                                 "  tingfeng alert test pr@example.com",
                          formatter_class=argparse.RawDescriptionHelpFormatter)
    ts.add_argument("recipient", metavar="RECIPIENT")
    ts.set_defaults(func=run_test)


def _filters(p: argparse.ArgumentParser, since: str = "7d") -> None:
    p.add_argument("--monitor", "-m", metavar="NAME", help="only this monitor's alerts")
    p.add_argument("--since", default=since,
                   help=f"window start: a duration (24h, 7d) or a date; 'all' (default {since})")


def _since(text: str) -> Any:
    return None if text in ("", "all") else parse_since(text)


def _find(store: Any, alert_id: str) -> Any:
    from crawlers.errors import ConfigError

    for alert in store.alerts():
        if alert.alert_id == alert_id:
            return alert
    raise ConfigError(f"no alert {alert_id!r}: `tingfeng alert list --since all` lists them")


def _deliveries(alert: Any, w: Any) -> str:
    if not alert.deliveries:
        return str(w("未发送") if alert.status == "pending" else w("已发送"))
    parts = []
    for cid, rec in sorted(alert.deliveries.items()):
        state = "✓" if rec.get("status") == "sent" else f"✗×{rec.get('attempts', 0)}"
        parts.append(f"{cid.split(':', 1)[0]} {state}")
    return ", ".join(parts)


def run_list(args: argparse.Namespace) -> int:
    from crawlers.items import to_dict
    from scheduler.i18n import wording_for
    from scheduler.notify.wording import headline, severity_name

    w = wording_for(settings_for(args))
    with open_cli_store(args) as store:
        alerts = store.alerts(monitor=args.monitor, since=_since(args.since), status=args.status)
    if args.format == "json":
        rows = [{k: v for k, v in to_dict(a).items() if k not in ("claimed_by",)} for a in alerts]
        json.dump(rows, sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
        return 0
    if not alerts:
        print(w("（无预警）"))
        return 0
    for a in alerts:
        review = {"confirmed": " ✔", "false_alarm": " ✘"}.get(a.review.get("verdict", ""), "")
        print(f"{w.time(a.created_at)}  [{severity_name(a.severity, w)}]  {a.alert_id}{review}")
        print(f"    {headline(a, w)}")
        print(f"    {_deliveries(a, w)}")
    return 0


def run_show(args: argparse.Namespace) -> int:
    from crawlers.items import to_dict
    from scheduler.i18n import wording_for
    from scheduler.notify.wording import explain, headline, next_step, rule_title, severity_name

    w = wording_for(settings_for(args))
    with open_cli_store(args) as store:
        a = _find(store, args.alert_id)
    if args.format == "json":
        json.dump(to_dict(a), sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
        return 0
    print(f"{a.alert_id}\n[{severity_name(a.severity, w)}] {rule_title(a.rule, w)} · {a.monitor}")
    print(w.window(a.window_start, a.window_end))
    print(headline(a, w))
    for reason in explain(a, w):
        print(f"  - {reason}")
    print(w.label(w("下一步"), next_step(a, w)))
    print(w.label(w("发送"), _deliveries(a, w)))
    for cid, rec in sorted(a.deliveries.items()):
        if rec.get("status") != "sent" and rec.get("last_error"):
            print(f"  {cid}: {rec['last_error']}")
    if a.review:
        verdict = {"confirmed": w("属实"), "false_alarm": w("误报")}.get(
            a.review.get("verdict", ""), "?")
        print(w.label(w("复核"), f"{verdict} {a.review.get('note', '')}".strip()))
    return 0


def run_review(args: argparse.Namespace) -> int:
    import dataclasses
    import getpass

    from crawlers.items import utcnow

    with open_cli_store(args) as store:
        alert = _find(store, args.alert_id)
        review = {"verdict": VERDICTS[args.verdict], "by": args.by or getpass.getuser(),
                  "at": utcnow().isoformat(), "note": args.note[:500]}
        store.update_alert(dataclasses.replace(alert, review=review))
    print(f"{args.alert_id}: {review['verdict']}", file=sys.stderr)
    return 0


def rule_precision(alerts: Any) -> list[dict[str, Any]]:
    """Per rule: alerts, reviewed, confirmed, false alarms and precision (None unreviewed).

    >>> from crawlers.items import Alert
    >>> rows = rule_precision([Alert("1", "m", "risk_words", "warning", "x",
    ...                              review={"verdict": "false_alarm"}),
    ...                        Alert("2", "m", "risk_words", "warning", "x",
    ...                              review={"verdict": "confirmed"}),
    ...                        Alert("3", "m", "risk_words", "warning", "x")])
    >>> rows[0]["precision"], rows[0]["reviewed"], rows[0]["alerts"]
    (0.5, 2, 3)
    """
    table: dict[str, dict[str, Any]] = {}
    for a in alerts:
        if a.rule == "digest":
            continue
        row = table.setdefault(a.rule, {"rule": a.rule, "alerts": 0, "reviewed": 0,
                                        "confirmed": 0, "false_alarms": 0})
        row["alerts"] += 1
        verdict = a.review.get("verdict")
        if verdict in ("confirmed", "false_alarm"):
            row["reviewed"] += 1
            row["confirmed" if verdict == "confirmed" else "false_alarms"] += 1
    for row in table.values():
        row["precision"] = row["confirmed"] / row["reviewed"] if row["reviewed"] else None
    return sorted(table.values(), key=lambda r: (-r["alerts"], r["rule"]))


def run_precision(args: argparse.Namespace) -> int:
    from scheduler.i18n import wording_for
    from scheduler.notify.wording import rule_title

    w = wording_for(settings_for(args))
    with open_cli_store(args) as store:
        rows = rule_precision(store.alerts(monitor=args.monitor, since=_since(args.since)))
    if args.format == "json":
        json.dump(rows, sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
        return 0
    print("  ".join([w("规则"), w("预警"), w("已复核"), w("误报"), w("准确率")]))
    for r in rows:
        share = w.percent(r["precision"]) if r["precision"] is not None else "—"
        print(f"{rule_title(r['rule'], w)}  {r['alerts']}  {r['reviewed']}  "
              f"{r['false_alarms']}  {share}")
    return 0


def run_test(args: argparse.Namespace) -> int:
    from crawlers.items import Alert, Monitor, utcnow
    from crawlers.storage.memory import MemoryStore
    from scheduler.cli.common import check_settings
    from scheduler.notify import deliver_pending
    from scheduler.notify.channels import check_recipient, is_email

    settings = settings_for(args)
    check_settings(settings)
    recipient = check_recipient(args.recipient)
    now = utcnow()
    store = MemoryStore()  # the test alert never reaches the real store
    store.save_alert(Alert("test:channel", "听风测试", "risk_words", "info",
                           "test", value=1, threshold=1, created_at=now, window_start=now,
                           window_end=now, details={"words": {"测试": 1}}))
    mailer = None
    if is_email(recipient):
        from scheduler.jobs import _open_mailer

        mailer = _open_mailer(settings)
    monitor = Monitor("听风测试", "测试", recipients=[recipient])
    report = deliver_pending(store, mailer, monitors={monitor.name: monitor}, now=now,
                             settings={**dict(settings), "MAIL_TO": []})
    if report.sent:
        print(f"sent a test message to {recipient}", file=sys.stderr)
        return 0
    print(f"tingfeng: error: the test message was not delivered: "
          f"{(report.errors or ['unknown'])[0]}", file=sys.stderr)
    return 1
