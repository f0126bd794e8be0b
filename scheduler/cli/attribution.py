"""``tingfeng attribution import|report``: which channels earn a conversion (first, last,
linear, U, W, time decay, Markov removal effect, Shapley) and which only assist."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from scheduler.cli.common import settings_for

__all__ = ["register"]

EPILOG = """\
examples:
  tingfeng attribution import --campaign 双11 --touchpoints touches.csv --conversions orders.csv
  tingfeng attribution report --campaign 双11 --lookback 30d
  tingfeng attribution report --touchpoints touches.csv --conversions orders.csv --format json

Files are CSV (with a header) or JSON lines. Touchpoints: user, channel, time[, value];
conversions: user, time[, value] (value 1 when missing). user is any id you have for a person
or cookie; time is ISO 8601 (no offset = MONITOR_TIMEZONE). Bad rows are counted and skipped,
never fatal. Imports merge into the campaign (a row seen before is not counted twice)."""

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
                          description="Check and merge files into a campaign.", epilog=EPILOG,
                          formatter_class=argparse.RawDescriptionHelpFormatter)
    im.add_argument("--campaign", required=True, metavar="NAME",
                    help="attribution campaign to merge into, or to report on")
    im.add_argument("--touchpoints", metavar="FILE",
                    help="CSV or JSON lines of user, channel, time[, value]")
    im.add_argument("--conversions", metavar="FILE",
                    help="CSV or JSON lines of user, time[, value]")
    im.set_defaults(func=run_import)
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


def run_report(args: argparse.Namespace) -> int:
    from collections import Counter
    from pathlib import Path

    from crawlers.errors import ConfigError
    from crawlers.timeparse import parse_duration
    from scheduler.attribution import attribution_report, campaign_dir
    from scoring.attribution import read_conversions, read_touchpoints

    if args.campaign:
        folder = campaign_dir(_root(args), args.campaign)
        tp_path, cv_path = folder / "touchpoints.jsonl", folder / "conversions.jsonl"
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
    print(f"{report.converting} conversions (value {report.total_value:,.2f}) in "
          f"{report.journeys} journeys; lookback {report.lookback_days:.0f} d, half-life "
          f"{report.half_life_days:g} d" + (f"; skipped rows: {dict(report.skipped)}"
                                            if report.skipped else ""))
    models = list(report.credits)
    width = max([len(c) for c in channels] + [8])
    print("channel".ljust(width) + "".join(m.rjust(11) for m in models)
          + "   assists  last  ratio")
    for ch in channels:
        a = report.assists.get(ch, {})
        ratio = f"{a['ratio']:.2f}" if a.get("ratio") is not None else "—"
        print(_clean(ch).ljust(width) + "".join(
            f"{report.credits[m].get(ch, 0.0):11.2f}" for m in models)
            + f"   {a.get('assists', 0):7d} {a.get('last_clicks', 0):5d} {ratio:>6}")
    return 0


def _clean(text: str) -> str:
    return "".join(ch for ch in text if ch.isprintable())[:40]


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
