"""``tingfeng report regions|emotions|waterarmy`` (and the other analysis reports): why a topic
moves — where, with which emotions, and how much of it is coordinated. Same window options and
formats as ``report kol``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scheduler.cli.common import (
    find_monitor,
    open_cli_store,
    settings_for,
    window_bounds,
    window_options,
)

__all__ = ["register_kinds"]

FORMATS = ("table", "json", "csv", "html")
KINDS: dict[str, tuple[str, str, str]] = {
    "drivers": ("negative drivers and hot words: what people complain about, what is new",
                "The terms most over-represented in the window's negative posts (weighted "
                "log-odds with an informative Dirichlet prior, Monroe et al. 2008) with "
                "example posts, and the hot terms against the previous window of equal length.",
                "--monitor 品牌A --since 24h"),
    "events": ("the stories of a window: near-duplicates collapsed, then topical clusters",
               "Posts grouped into events: copies and reposts collapsed into one item "
               "(MinHash), then clusters of similar texts; per event its terms, size, "
               "accounts, peak, platforms, net sentiment and a representative post.",
               "--monitor 品牌A --since 3d"),
    # kind: (help, description, example arguments)
    "regions": ("where a topic is discussed: provinces, 海外, coverage, account kinds",
                "Volume and net sentiment per provincial-level region (IP 属地 and profile "
                "locations), with the share of posts whose region is known, and splits by "
                "gender, verification, follower band and tier.",
                "--monitor 品牌A --since 7d"),
    "emotions": ("the emotion mix and curve (情绪曲线), and polarisation per platform",
                 "Share of each NLPCC emotion overall and per time bucket, and each platform's "
                 "net sentiment beside its polarisation (a net 0 can be calm or 两极分化).",
                 "--monitor 品牌A --since 3d --bucket 6h"),
    "waterarmy": ("accounts that look coordinated (水军), with reasons, and per cascade",
                  "A suspicion score per account from copied texts, bursts within seconds, "
                  "synchronised cascades, default-style names, repost-only history, "
                  "follow ratios and account age; the suspicious share of each cascade.",
                  "--monitor 品牌A --since 7d --min-score 0.6"),
    "funnel": ("the engagement funnel: exposure → interaction → creation → sharing",
               "The four-layer depth funnel (看见与接触 → 互动与尝试 → 投入与创造 → 分享与传播) "
               "per platform (and per day with --daily), with step rates and drop-off, from "
               "each platform's counters; outlier counters are capped and reported.",
               "--monitor 品牌A --since 7d --daily"),
    "health": ("the health index: reach efficiency, engagement depth, value retention",
               "Three components 0–100 with their inputs (触达效率, 参与深度, 价值沉淀) and the "
               "overall index; short-term indicators beside long-term ones.",
               "--monitor 品牌A --since 90d --window 7d"),
    "sheets": ("per-platform metric sheets, topic totals and influence indices",
               "Weibo original/repost ratio and readers; WeChat reads, 在看 and articles; "
               "Zhihu answers and upvotes; forum threads and replies; topic totals (media "
               "outlets, articles, comments, reads, reposts); BCI/WCI with their inputs.",
               "--monitor 品牌A --since 30d"),
}


def register_kinds(kinds: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    for kind, (helptext, description, example) in KINDS.items():
        p = kinds.add_parser(kind, help=helptext, description=description,
                             epilog=f"examples:\n  tingfeng report {kind} {example}\n"
                                    f"  tingfeng report {kind} --topic 品牌A --format json",
                             formatter_class=argparse.RawDescriptionHelpFormatter)
        _window(p)
        if kind == "emotions":
            p.add_argument("--bucket", default="1d",
                           help="time bucket of the curve: 1h, 6h, 1d (default 1d)")
        if kind == "funnel":
            p.add_argument("--daily", action="store_true", help="also one row per day")
        if kind == "health":
            p.add_argument("--window", default="7d",
                           help="the short-term window inside --since (default 7d)")
        if kind == "waterarmy":
            p.add_argument("--min-score", type=float, default=0.5,
                           help="suspicion score from which an account is listed (0–1, "
                                "default 0.5)")
        p.set_defaults(func=run_analysis, analysis=kind)
    _compare(kinds)


def _compare(kinds: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = kinds.add_parser(
        "compare", help="share of voice of several monitors (brands), with confidence",
        description="Per brand and platform: share of mentions (plain and engagement-"
                    "weighted) and net sentiment with Wilson 95% intervals, daily lines, shared "
                    "and exclusive KOLs; posts matching several monitors are counted for each "
                    "and stated. Shares sum to 100%.",
        epilog="examples:\n  tingfeng report compare --monitor 品牌A --monitor 品牌B --since 30d\n"
               "  tingfeng report compare --monitor 品牌A --monitor 品牌B --format json",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--monitor", action="append", required=True, metavar="NAME",
                   help="a monitor (brand) to compare; give two or more")
    p.add_argument("--since", default="7d",
                   help="window start: a duration back from now (7d, 12h) or a date; 'all' for "
                        "no bound (default 7d)")
    p.add_argument("--until", help="window end (ISO date or time, default now)")
    p.add_argument("--format", "-f", choices=FORMATS, default="table", help="output format")
    p.add_argument("-o", "--output", type=Path, metavar="FILE", help="write to FILE, not stdout")
    p.set_defaults(func=run_compare, analysis="compare", platform=[], topic=None)


def _window(p: argparse.ArgumentParser) -> None:
    window_options(p)
    p.add_argument("--format", "-f", choices=FORMATS, default="table", help="output format")
    p.add_argument("-o", "--output", type=Path, metavar="FILE", help="write to FILE, not stdout")


@dataclass
class _Window:
    topic: str
    posts: list[Any]
    authors: dict[Any, Any]
    since: Any
    until: Any
    previous: list[Any]  # the window of equal length before (drivers only)
    user_words: list[str]  # the monitor's query terms, kept whole by segmentation


def _load(args: argparse.Namespace, store: Any) -> _Window:
    """The window's posts (a monitor's query applied) and authors, in one store session."""
    from crawlers.timeparse import parse_duration
    from scheduler.query import parse_query

    since, until = window_bounds(args)
    select: Callable[[list[Any]], list[Any]] = list
    topic, words = args.topic, []
    if args.monitor:
        monitor = find_monitor(store, args.monitor)
        topic = monitor.name
        query = parse_query(monitor.query)
        select = query.select
        words = sorted({t for kw in query.keywords(16) for t in kw.split()})

    def read(lo: Any, hi: Any) -> list[Any]:
        return [p for p in store.posts(topic=topic, since=lo, until=hi)
                if not args.platform or p.platform in args.platform]

    posts = select(read(since, until))
    previous: list[Any] = []
    if args.analysis == "drivers":
        span = until - (since or until - parse_duration("7d"))
        previous = read(until - 2 * span, until - span)
    authors = store.authors({(p.platform, p.author_id) for p in posts if p.author_id})
    return _Window(topic, posts, authors, since, until, previous, words)


def run_analysis(args: argparse.Namespace) -> int:
    from crawlers.errors import ConfigError
    from crawlers.timeparse import parse_duration
    from scheduler.analysis import why
    from scheduler.i18n import wording_for

    w = wording_for(settings_for(args))
    with open_cli_store(args) as store:
        print(f"tingfeng: reading the window for {args.monitor or args.topic!r}…",
              file=sys.stderr, flush=True)
        win = _load(args, store)
        stored = None
        if args.analysis == "events" and args.monitor:  # the ids monitor runs keep
            from scheduler.analysis.eventstore import ACTIVE_FOR, stored_events

            # a story stays open ACTIVE_FOR after its last post, as monitor runs keep it
            stored = stored_events(store, win.topic,
                                   win.since - ACTIVE_FOR if win.since else None)
    topic, posts, authors, since, until = win.topic, win.posts, win.authors, win.since, win.until
    titles = {"drivers": w("负面驱动与热词"), "events": w("事件"), "regions": w("地域报告"),
              "emotions": w("情绪报告"), "waterarmy": w("水军排查"),
              "funnel": w("互动漏斗"), "health": w("健康度"), "sheets": w("平台指标")}
    title = f"{titles[args.analysis]} · {topic}"
    subtitle = w.label(w("时段"), w.window(since, until)) + " · " + w(
        "帖子 {n} 条", n=w.number(len(posts)))
    if args.analysis == "drivers":
        report = why.drivers_report(posts, win.previous, title=title, subtitle=subtitle, w=w,
                                    user_words=win.user_words)
    elif args.analysis == "events":
        report = why.events_report(posts, title=title, subtitle=subtitle, w=w, stored=stored)
    elif args.analysis == "regions":
        report = why.regions_report(posts, authors, title=title, subtitle=subtitle, w=w)
    elif args.analysis in ("funnel", "health", "sheets"):
        from scheduler.analysis import measure

        if args.analysis == "funnel":
            report = measure.funnel_report(posts, authors, title=title, subtitle=subtitle, w=w,
                                           daily=args.daily)
        elif args.analysis == "health":
            report = measure.health_report(posts, authors, title=title, subtitle=subtitle, w=w,
                                           now=until, window=parse_duration(args.window))
        else:
            days = (until - since).total_seconds() / 86400 if since else None
            report = measure.sheets_report(posts, authors, title=title, subtitle=subtitle, w=w,
                                           days=days)
    elif args.analysis == "emotions":
        bucket = parse_duration(args.bucket)
        if bucket.total_seconds() < 3600:
            raise ConfigError(f"--bucket {args.bucket}: use at least 1h")
        report = why.emotions_report(posts, title=title, subtitle=subtitle, w=w, since=since,
                                     until=until, bucket=bucket)
    else:
        if not 0 < args.min_score <= 1:
            raise ConfigError(f"--min-score {args.min_score}: use a score above 0, at most 1")
        report = why.waterarmy_report(posts, authors, title=title, subtitle=subtitle, w=w,
                                      now=until, threshold=args.min_score)
    if not posts:
        report.notes.append(w("窗口内没有帖子：先采集，或放宽 --since"))
    return _emit(report, args)


def _emit(report: Any, args: argparse.Namespace) -> int:
    from scheduler.analysis.sections import render

    text = render(report, args.format)
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(text, encoding="utf-8", newline="")
        print(f"tingfeng: wrote {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def run_compare(args: argparse.Namespace) -> int:
    from crawlers.errors import ConfigError
    from scheduler.analysis.measure import compare_report
    from scheduler.i18n import wording_for
    from scheduler.query import parse_query

    names = list(dict.fromkeys(args.monitor))
    if len(names) < 2:
        raise ConfigError("give at least two --monitor NAME to compare")
    w = wording_for(settings_for(args))
    since, until = window_bounds(args)
    by_brand: dict[str, list[Any]] = {}
    keys: set[Any] = set()
    with open_cli_store(args) as store:
        for name in names:
            monitor = store.get_monitor(name)
            if monitor is None:
                known = ", ".join(m.name for m in store.monitors()) or "none yet"
                raise ConfigError(f"no monitor {name!r} (known: {known})")
            posts = parse_query(monitor.query).select(
                list(store.posts(topic=name, since=since, until=until)))
            by_brand[name] = posts
            keys |= {(p.platform, p.author_id) for p in posts if p.author_id}
        authors = store.authors(keys)
    title = w("声量对比") + " · " + " / ".join(names)
    subtitle = w.label(w("时段"), w.window(since, until))
    return _emit(compare_report(by_brand, authors, title=title, subtitle=subtitle, w=w), args)
