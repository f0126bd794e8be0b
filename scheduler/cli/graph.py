"""``tingfeng graph`` (key nodes and cascades of a topic), ``tingfeng graph export`` (Gephi/JSON)
and ``tingfeng cascade stats`` (shape of cascades from an edge file)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from scheduler.cli.common import open_cli_store, parse_since, platforms_arg

__all__ = ["register"]

GRAPH_EPILOG = """\
examples:
  tingfeng graph --topic 品牌A --since all           # every stored post of the topic
  tingfeng graph --topic 品牌A --since 7d --platform weibo --k 30
  tingfeng graph --topic 品牌A --format json > graph.json
  tingfeng graph --topic 品牌A --picture cascade.png  # the largest cascade, drawn
  tingfeng graph export --topic 品牌A --format gexf -o 品牌A.gexf   (open in Gephi)

Key nodes fuse six rankings (reach, direct reposts, PageRank, LeaderRank, k-shell, betweenness);
"why" says where each account ranks. 引爆点 are accounts whose reposts were reposted most."""

EXPORT_EPILOG = """\
examples:
  tingfeng graph export --topic 品牌A --format gexf -o 品牌A.gexf
  tingfeng graph export --topic 品牌A --format graphml --level post -o cascades.graphml
  tingfeng graph export --topic 品牌A --format json | jq '.nodes | length'

--level author (default): accounts, edge u → v when v reposted or replied to u (weight = how
often). --level post: every cascade tree, post by post."""

CASCADE_EPILOG = """\
examples:
  tingfeng cascade stats reposts.tsv
  zcat reposts.tsv.gz | tingfeng cascade stats -

EDGES.tsv: tab-separated `cascade_id, parent, child[, unix_time]`, one repost per line; a root's
own row has an empty parent. Prints one JSON line per cascade: cascade_id, size, depth,
max_breadth, structural_virality, velocity (when times are given) and repairs (cycles cut,
duplicate or conflicting edges, orphans hung from the root) when there were any."""


def _window(p: argparse.ArgumentParser, required: bool = True) -> None:
    # `graph` itself cannot require --topic: `graph export --topic T` must parse without it.
    p.add_argument("--topic", required=required, metavar="T",
                   help="a topic as stored by crawls (required)")
    p.add_argument("--since", default="7d",
                   help="window start: a duration back from now (7d, 12h) or a date; 'all' for "
                        "every stored post (default 7d, as in `report`)")
    p.add_argument("--until", help="window end (ISO date or time; default: no bound)")
    p.add_argument("--platform", action="extend", default=[], metavar="SLUGS",
                   type=platforms_arg,
                   help="only these platforms, comma-separated or repeated: weibo, wechat, "
                        "zhihu, forum (as in `report`)")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "graph", help="key nodes, 引爆点, cascades and circles of a topic",
        description="Propagation analysis of a topic from the store: who spreads it (key nodes "
                    "with reasons), whose reposts set it off (引爆点), how its cascades are "
                    "shaped and which circles carry it.",
        epilog=GRAPH_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _window(p, required=False)
    p.add_argument("--format", "-f", choices=("table", "json"), default="table",
                   help="text tables (default) or the whole report as JSON")
    p.add_argument("--k", type=int, default=20, help="key nodes listed (default 20)")
    p.add_argument("--cascades", type=int, default=10, help="cascades listed (default 10)")
    p.add_argument("--picture", type=Path, metavar="PNG", help="draw the largest cascade here")
    p.set_defaults(func=run_graph)
    kinds = p.add_subparsers(dest="graph_action", metavar="ACTION")
    e = kinds.add_parser(
        "export", help="write the topic's graph as GEXF, GraphML or JSON",
        description="Export a topic's propagation graph for Gephi (GEXF, GraphML) or the web "
                    "(node-link JSON).",
        epilog=EXPORT_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _window(e)
    e.add_argument("--format", "-f", choices=("gexf", "graphml", "json"), required=True,
                   help="GEXF 1.2 or GraphML for Gephi, node-link JSON for the web")
    e.add_argument("--level", choices=("author", "post"), default="author",
                   help="accounts (default) or every cascade post by post")
    e.add_argument("-o", "--output", type=Path, metavar="FILE", help="write here, not stdout")
    e.set_defaults(func=run_export)
    c = sub.add_parser(
        "cascade", help="cascade shape from an edge file",
        description="Cascade statistics for repost data from elsewhere.",
        epilog=CASCADE_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ck = c.add_subparsers(dest="cascade_action", metavar="ACTION", required=True)
    s = ck.add_parser("stats", help="one JSON line of shape per cascade of EDGES.tsv",
                      description=CASCADE_EPILOG.split("\n\n", 1)[1],
                      epilog=CASCADE_EPILOG.split("\n\n", 1)[0],
                      formatter_class=argparse.RawDescriptionHelpFormatter)
    s.add_argument("edges", metavar="EDGES.tsv", help="edge file, or - for standard input")
    s.set_defaults(func=run_cascade_stats)


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _bounds(args: argparse.Namespace) -> tuple[Any, Any]:
    since = None if args.since in (None, "", "all") else parse_since(args.since)
    return since, parse_since(args.until) if args.until else None


def _no_posts(args: argparse.Namespace) -> int:
    where = ",".join(args.platform)
    _say(f"tingfeng: no posts for topic {args.topic!r}"
         f"{'' if args.since == 'all' else f' since {args.since}'}"
         f"{f' on {where}' if args.platform else ''}: check the topic name (as given to "
         "`tingfeng crawl --topic`), widen --since, or run `tingfeng demo` for sample data")
    return 1


def run_graph(args: argparse.Namespace) -> int:
    from crawlers.errors import ConfigError
    from scheduler.graphing import analyse, topic_graphs

    if not args.topic:
        raise ConfigError("--topic is required: tingfeng graph --topic T (see --help)")
    since, until = _bounds(args)
    _say(f"loading topic {args.topic!r}")
    with open_cli_store(args) as store:
        tg = topic_graphs(store, args.topic, since=since, until=until, platform=args.platform)
    if not tg.posts:
        return _no_posts(args)
    report = analyse(tg, k=args.k, cascades=args.cascades, progress=_say)
    if args.picture:
        from scheduler.charts.cascade import draw_cascade

        args.picture.write_bytes(draw_cascade(tg.forest))
        _say(f"largest cascade drawn to {args.picture}")
    if args.format == "json":
        print(json.dumps(report, ensure_ascii=False, indent=1, default=str))
    else:
        print(format_report(report))
    return 0


def _cell(value: Any, width: int, right: bool = False) -> str:
    from scheduler.reports.render_table import fit

    return fit("-" if value is None else str(value), width, ">" if right else "<")


def _num(x: float | None, fmt: str = ",.0f") -> str | None:
    return None if x is None else format(x, fmt)


def _table(rows: list[list[Any]], widths: list[int], head: list[str]) -> list[str]:
    right = [w < 0 for w in widths]
    widths = [abs(w) for w in widths]
    out = ["  ".join(_cell(h, w, r) for h, w, r in zip(head, widths, right, strict=True)).rstrip()]
    out += ["  ".join(_cell(v, w, r) for v, w, r in zip(row, widths, right, strict=True)).rstrip()
            for row in rows]
    return out


def _who(row: dict[str, Any], key: str, multi: bool) -> str:
    name = row.get("name") or str(row[key])
    plat = row.get("platform") or row.get("extra", {}).get("platform")
    return f"{name} ({plat})" if multi and plat else name


def format_report(r: dict[str, Any]) -> str:
    """The graph report as text tables (CJK-width aware)."""
    multi = len({c["platform"] for c in r["cascades"]}) > 1
    window = f"{r['since'] or 'all time'} → {r['until'] or 'now'}"
    lines = [f"Topic {r['topic']} ({r['platform'] or 'all platforms'}, {window}): "
             f"{r['posts']:,} posts (+{r['context_posts']:,} from their cascades), "
             f"{r['accounts']:,} accounts, {r['flows']:,} flows, {r['cascade_count']:,} cascades"]
    repairs = {k: v for k, v in r["stats"].items() if v}
    lines.append("Repairs: " + (", ".join(f"{k} {v:,}" for k, v in sorted(repairs.items()))
                                or "none"))
    lines += ["", "Key nodes"]
    lines += _table(
        [[kn["rank"], _who(kn, "node", multi), kn["tier"], _num(kn["followers"]),
          _num(kn["values"].get("reach")), _num(kn["net_sentiment"], "+.2f"), kn["reason"]]
         for kn in r["key_nodes"]],
        [-3, 26, 6, -11, -8, -6, 999], ["#", "account", "tier", "followers", "reach", "net", "why"])
    lines += ["", "引爆点 (accounts whose reposts were reposted most)"]
    lines += _table(
        [[i, _who(t, "author", multi), t["second_level"], t["reposts"], t["reach"], t["cascades"]]
         for i, t in enumerate(r["tipping_points"], 1)],
        [-3, 26, -12, -8, -8, -8], ["#", "account", "2nd-level", "reposts", "reach", "cascades"])
    lines += ["", f"Cascades (largest {len(r['cascades'])} of {r['cascade_count']:,})"]
    rows = []
    for c in r["cascades"]:
        v = c["velocity"] or {}
        rows.append([c["cascade_id"], c["root_author"], c["size"], c["depth"], c["max_breadth"],
                     _num(c["structural_virality"], ".2f"), _num(v.get("reposts_per_hour"), ".1f"),
                     _num(v.get("hours_to_50pct"), ".1f"), _num(v.get("hours_to_90pct"), ".1f"),
                     c["root_text"]])
    lines += _table(rows, [26, 14, -7, -5, -7, -8, -9, -6, -6, 30],
                    ["cascade", "root author", "size", "depth", "breadth", "virality",
                     "reposts/h", "t50 h", "t90 h", "root text"])
    lines += ["", "Circles (Louvain communities)"]
    lines += _table(
        [[c["id"] + 1, c["size"], _num(c["net_sentiment"], "+.2f"),
          ", ".join(str(a["name"] or a["node"]) for a in c["top"])] for c in r["circles"]],
        [-3, -6, -6, 80], ["#", "size", "net", "top accounts"])
    return "\n".join(lines)


def run_export(args: argparse.Namespace) -> int:
    import networkx as nx

    from graph import export_graph
    from scheduler.graphing import topic_graphs

    since, until = _bounds(args)
    with open_cli_store(args) as store:
        tg = topic_graphs(store, args.topic, since=since, until=until, platform=args.platform)
    if not tg.posts:
        return _no_posts(args)
    if args.level == "author":
        G = tg.G
    else:
        multi = len(set(tg.forest.platforms)) > 1
        G = nx.DiGraph(level="post", stats=tg.forest.stats)
        for c in range(len(tg.forest)):
            T = tg.forest.graph(c)
            if multi:
                T = nx.relabel_nodes(T, {v: f"{T.graph['platform']}:{v}" for v in T})
            G.update(T)
    data = export_graph(G, args.format)
    if args.output:
        args.output.write_bytes(data)
        _say(f"{G.number_of_nodes():,} nodes, {G.number_of_edges():,} edges → {args.output}")
    else:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    return 0


def run_cascade_stats(args: argparse.Namespace) -> int:
    from crawlers.errors import ConfigError
    from graph import edge_cascade_stats, read_edges

    def progress(n: int) -> None:
        _say(f"read {n:,} lines…")

    if args.edges == "-":
        forest = read_edges(sys.stdin, progress=progress)
    else:
        path = Path(args.edges)
        if not path.is_file():
            raise ConfigError(f"edge file {path} not found: give a path to a tab-separated "
                              "`cascade_id, parent, child[, unix_time]` file, or - for stdin")
        with path.open(encoding="utf-8", errors="replace", newline="") as fh:
            forest = read_edges(fh, progress=progress)
    out = sys.stdout
    for rec in edge_cascade_stats(forest):
        out.write(json.dumps(rec, ensure_ascii=False) + "\n")
    st = forest.stats
    repairs = {k: v for k, v in st.items() if k not in ("timed", "bad_line_numbers") and v}
    if repairs or len(forest.nodes) > 100_000:
        _say(f"{len(forest):,} cascades, {len(forest.nodes):,} nodes; repairs: "
             + (", ".join(f"{k} {v:,}" for k, v in sorted(repairs.items())) or "none"))
    if st.get("bad_lines"):
        _say(f"skipped {st['bad_lines']:,} malformed lines (first at line "
             f"{', '.join(map(str, st['bad_line_numbers']))}): each line needs 3 or 4 "
             "tab-separated fields")
    if not len(forest):
        _say("no cascades found: is the file tab-separated `cascade_id, parent, child[, time]`?")
        return 1
    return 0
