"""``tingfeng demo``: the whole loop offline, on recorded platform responses.

Starts the recorded-response server, crawls a demo topic on every platform through the real
Scrapy stack into the store, then scores, builds the propagation graph, runs a monitor that
emails an alert into the outbox, and writes a KOL report.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

__all__ = ["register"]

EPILOG = """\
examples:
  tingfeng demo                               # into the default SQLite store
  tingfeng --store sqlite:///demo.db demo     # into a store of your choice
  tingfeng demo --platforms weibo,forum

Nothing is fetched from the internet: every response comes from tests/fixtures (recorded real
responses, plus constructed ones where no recording exists, marked as such in each manifest)."""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "demo",
        help="run the whole loop offline on recorded responses",
        description=__doc__,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--platforms",
        default="weibo,wechat,zhihu,forum",
        help="comma-separated platforms to crawl (default: all four)",
    )
    p.add_argument(
        "--topic",
        default="听风演示",
        help="name of the demo monitor, which is also the topic its posts are stored under",
    )
    p.set_defaults(func=run_demo)


# Each platform's demo keyword (its DEMO_ARGS) OR-ed: the query both names the searches and
# selects the conversation the report and the alert rules look at.
DEMO_QUERY = "听风演示 OR 高考 OR 演示话题 OR 盗墓笔记"
# The recordings span 2017–2026, so the demo monitor looks back far enough to see them all, and
# its guards are sized for a few dozen posts rather than a real topic's thousands.
DEMO_THRESHOLDS = {
    "MONITOR_WINDOW": 20 * 365 * 86400,
    "MONITOR_LOOKBACK": 20 * 365 * 86400,
    "ALERT_MIN_VOLUME": 10,
    "ALERT_RISK_HITS": 1,
}


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def run_demo(args: argparse.Namespace) -> int:
    from importlib import import_module
    from pathlib import Path

    from crawlers.errors import ConfigError
    from crawlers.items import Monitor, utcnow
    from crawlers.replay import ReplayServer, default_fixtures_dir
    from crawlers.storage import open_store
    from scheduler.cli import main as tingfeng
    from scheduler.cli.common import settings_for
    from scheduler.jobs import monitor_topic
    from scheduler.monitors import add_monitor
    from scheduler.runner import CrawlResult, run_crawl

    fixtures = default_fixtures_dir()
    if fixtures is None:
        raise ConfigError(
            "the demo replays tests/fixtures from a source checkout: clone the repository and "
            "install it with `pip install -e .`"
        )
    platforms = [p.strip() for p in args.platforms.split(",") if p.strip()]
    now = utcnow()
    results: list[CrawlResult] = []
    with ReplayServer(fixtures) as server:
        settings = settings_for(
            args,
            PLATFORM_BASE_URLS={p: server.base_url for p in platforms},
            DOWNLOAD_DELAY=0,
            AUTOTHROTTLE_ENABLED=False,
            CRAWL_BACKOFF_BASE=0,
            LOG_LEVEL="INFO",
        )
        store_uri, mail_url = settings.get("STORE_URI"), settings.get("MAIL_URL")
        _say(f"[1/5] recorded-response server at {server.base_url} ({len(server.routes)} routes)")
        _say(f"      store {store_uri}; mail {mail_url}")

        def demo_crawl(platform: str, **kwargs: Any) -> CrawlResult:
            # The replay server answers only the searches recorded for each platform, so the
            # demo crawls with those (DEMO_ARGS) instead of the query's keywords; since=None
            # because the recordings are historical.
            demo_args = dict(import_module(f"crawlers.spiders.{platform}").DEMO_ARGS)
            kwargs.update(keywords=None, since=None, extra_args=demo_args)
            result = run_crawl(platform, **kwargs)
            results.append(result)
            return result

        with open_store(store_uri) as store:
            monitor = add_monitor(
                store,
                Monitor(
                    name=args.topic,
                    query=DEMO_QUERY,
                    platforms=platforms,
                    every=3600,
                    recipients=["pr-team@example.com"],
                    thresholds=dict(DEMO_THRESHOLDS),
                ),
                now=now,
                replace=True,
            )
            _say(
                f"[2/5] monitor {monitor.name!r}: {monitor.query} on {', '.join(platforms)}, "
                "every hour, "
                f"alerts to {', '.join(monitor.recipients)}"
            )
            _say("[3/5] one monitor run: crawl every platform → score → graph → alert rules → mail")
            summary = monitor_topic(
                monitor.name,
                store=store,
                settings=settings,
                run_crawl=demo_crawl,
                now=now,
                progress=lambda m: _say(f"      {m}"),
                force=True,
            )
            print(summarize(store, args.topic, results))
            print(sentiment_summary(store, args.topic))
    assert summary is not None
    print(alert_summary(summary, mail_url))
    _say("[4/5] propagation: key accounts and cascades (tingfeng graph)")
    tingfeng(["--store", store_uri, "graph", "--topic", args.topic, "--since", "all", "--k", "5"])
    _say("[5/5] KOL report (tingfeng report kol)")
    report = Path(settings.get("STORE_SPOOL_DIR")).parent / "reports" / "demo-kol.html"
    kol = ["--store", store_uri, "report", "kol", "--monitor", args.topic, "--since", "all"]
    tingfeng([*kol, "--top", "8"])
    tingfeng([*kol, "--format", "html", "-o", str(report)])
    print(
        f"\nHTML report: {report}\nNext: tingfeng monitor list · tingfeng report kol --monitor "
        f"{args.topic} --since all --format html -o kol.html · tingfeng --help"
    )
    print(_web_login(settings, store_uri))
    return 0 if all(r.returncode == 0 for r in results) else 1


def _web_login(settings: Any, store_uri: str) -> str:
    """How to open the web app on the demo data, with a demo login made once (its password is
    printed this one time; later demos say how to reset it)."""
    import secrets

    try:
        from web.accounts import Accounts, web_db_path
    except ImportError as exc:  # the web extras are missing: the demo itself still worked
        return f"Web app: not available here ({exc.name} is not installed)"
    serve = "tingfeng serve" + ("" if store_uri == settings.get("STORE_URI") else
                                f" --store {store_uri}")
    accounts = Accounts(web_db_path(settings))
    try:
        if accounts.get_user("demo") is not None:
            login = "log in as demo (forgot the password? tingfeng user passwd demo)"
        else:
            password = secrets.token_urlsafe(12)
            accounts.add_user("demo", "admin", password)
            login = (f"log in as demo / {password}  (shown once; change it: "
                     "tingfeng user passwd demo)")
    finally:
        accounts.close()
    return f"Web app: {serve}  →  http://127.0.0.1:8600  ·  {login}"


def _outbox(mail_url: str) -> Any:
    """The folder of a file:// outbox, else None."""
    from pathlib import Path
    from urllib.parse import unquote, urlsplit

    parts = urlsplit(mail_url)
    if parts.scheme != "file":
        return None
    return Path(unquote(parts.netloc + parts.path))


def sentiment_summary(store: Any, topic: str) -> str:
    """Labels, emotions and risk-word hits of a topic's scored posts."""
    from collections import Counter

    posts = list(store.posts(topic=topic))
    labels = Counter(p.sentiment_label for p in posts if p.sentiment_label)
    emotions = Counter(p.emotion for p in posts if p.emotion)
    risks = Counter(h for p in posts for h in (p.risk_hits or []))
    model = next((p.sentiment_model for p in posts if p.sentiment_model), "none")
    lines = [f"sentiment ({model}): " + ", ".join(f"{k} {v}" for k, v in labels.most_common())]
    if emotions:
        lines.append("  emotions: " + ", ".join(f"{k} {v}" for k, v in emotions.most_common(7)))
    if risks:
        lines.append("  risk words: " + ", ".join(f"{k} ×{v}" for k, v in risks.most_common(8)))
    return "\n".join(lines)


def alert_summary(summary: Any, mail_url: str) -> str:
    """The run's alerts and where their email went."""
    lines = [
        f"alerts: {len(summary.new_alerts)} new"
        + (f", {len(summary.suppressed)} in cooldown" if summary.suppressed else "")
    ]
    from scheduler.notify.wording import explain, headline, severity_name

    for a in summary.new_alerts:  # as the alert's readers see it, never the internal message
        lines.append(f"  [{severity_name(a.severity)}] {headline(a)}")
        lines += [f"      {reason}" for reason in explain(a)[:3]]
    if not summary.new_alerts:
        lines.append("  (an alert sent by an earlier run is never sent twice: see the outbox)")
    delivery = summary.delivery
    if delivery is not None:
        lines.append(f"  mail: {delivery.sent} sent, {delivery.pending} pending → {mail_url}")
    outbox = _outbox(mail_url)
    if outbox is not None and delivery is not None and delivery.messages:
        newest = sorted(outbox.glob("*.eml"), key=lambda p: p.stat().st_mtime)[-delivery.messages :]
        lines += [f"  email: {p}" for p in newest]
    if summary.errors:
        lines.append("  steps that failed (the run went on): " + "; ".join(summary.errors))
    return "\n".join(lines)


def summarize(store: Any, topic: str, results: list[Any]) -> str:
    """A plain-text summary of what a topic holds: posts by platform and kind, authors,
    repost/reply edges, and crawl failures by kind."""
    from collections import Counter

    from scheduler.cli.crawl import FAILURE_REASONS

    posts = list(store.posts(topic=topic))
    by_kind = Counter((p.platform, p.kind) for p in posts)
    edges = sum(1 for p in posts if p.parent_post_id or p.parent_author_id or p.parent_author_name)
    authors = {(p.platform, p.author_id) for p in posts if p.author_id}
    known = store.authors(authors)
    lines = [
        f"topic {topic!r}: {len(posts)} posts, {len(known)} authors with profiles "
        f"({len(authors)} posting), {edges} repost/reply edges"
    ]
    for platform in sorted({p for p, _ in by_kind}):
        kinds = ", ".join(f"{k} {n}" for (pl, k), n in sorted(by_kind.items()) if pl == platform)
        lines.append(f"  {platform:<7} {kinds}")
    failures: Counter[str] = Counter()
    for r in results:
        for key, value in r.stats.items():
            if key.startswith("platform/") and key.rsplit("/", 1)[-1] in FAILURE_REASONS:
                failures[key] += int(value)
    if failures:
        lines.append(
            "crawl failures by kind (counted, the crawls went on or stopped with a reason):"
        )
        lines += [f"  {k}: {v}" for k, v in sorted(failures.items())]
    return "\n".join(lines)
