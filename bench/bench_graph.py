"""Benchmark: build the propagation graphs and the full key-node and shape report at scale.

Synthetic topics: a forest of cascades with heavy-tailed sizes (Zipf), trees grown by
preferential attachment (a repost picks its parent with probability ∝ 1 + reposts it already
has), authors reused with Zipf popularity, lognormal repost delays, 2% of reposts never
collected (their children keep only the //@ name chain). Each size runs in its own process so
the peak memory (max RSS, input posts included) is that size's alone.

    python bench/bench_graph.py                       # 10k, 100k, 1M reposts
    python bench/bench_graph.py --sizes 10000,100000  # fewer

Timed: build = repost_graph + cascade forest (parent resolution once); report = every key-node
method (betweenness sampled above graph.centrality.BETWEENNESS_EXACT_MAX nodes), the 引爆点
list and every cascade's shape. Shown beside it: PageRank alone vs igraph's (pip install igraph;
the column is skipped without it), nx.DiGraph cascades and Louvain circles (not in the total).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from crawlers.items import Author, Post  # noqa: E402

LABELS = np.array(["positive", "neutral", "negative", None], dtype=object)


def synthetic(n_reposts: int, seed: int = 0) -> tuple[list[Post], list[Author]]:
    rng = np.random.default_rng(seed)
    n_authors = max(50, n_reposts // 2)
    pop = 1.0 / np.arange(1, n_authors + 1) ** 0.9
    pop /= pop.sum()
    sizes = []
    left = n_reposts
    while left > 0:
        m = int(min(rng.zipf(1.8), max(10, n_reposts // 20), left))
        sizes.append(m)
        left -= m
    total = n_reposts + len(sizes)
    who = rng.choice(n_authors, size=total, p=pop)
    label = LABELS[rng.choice(4, size=total, p=[0.3, 0.4, 0.2, 0.1])]
    delay = rng.lognormal(7.0, 1.5, size=total)
    dropped = rng.random(total) < 0.02
    start = datetime(2026, 1, 1, tzinfo=UTC)
    posts: list[Post] = []
    row = 0
    for c, m in enumerate(sizes):
        base = row
        root_id = f"{c}-0"
        t0 = start + timedelta(seconds=int(rng.integers(0, 7 * 86400)))
        times = [t0]
        parent = [-1]
        urn = [0]
        picks = rng.random(m)
        for j in range(1, m + 1):
            p = urn[int(picks[j - 1] * len(urn))]
            parent.append(p)
            urn.append(j)
            urn.append(p)
            times.append(times[p] + timedelta(seconds=float(delay[base + j])))
        for j in range(m + 1):
            r = base + j
            if j and dropped[r]:
                continue
            a = int(who[r])
            post = Post("weibo", f"{c}-{j}", created_at=times[j], author_id=str(a),
                        author_name=f"用户{a}", sentiment_label=label[r], topics=["bench"])
            if j:
                p = parent[j]
                post.kind, post.root_post_id = "repost", root_id
                if p and dropped[base + p]:
                    chain, q = [], p
                    while q and len(chain) < 3:
                        chain.append(f"用户{int(who[base + q])}")
                        q = parent[q]
                    post.parent_author_name, post.repost_path = chain[0], chain
                else:
                    post.parent_post_id = f"{c}-{p}"
            posts.append(post)
        row += m + 1
    authors = [Author("weibo", str(a), name=f"用户{a}", followers=int(1e6 * pop[a] / pop[0]) + 10)
               for a in range(n_authors)]
    return posts, authors


def peak_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6  # KiB on Linux


def run_one(n: int) -> dict:
    from graph import cascade_shapes, propagation_graphs, rank_key_nodes, tipping_points
    from graph.centrality import _Arrays, _pagerank

    t = time.perf_counter()
    posts, authors = synthetic(n)
    out = {"reposts": n, "posts": len(posts), "generate_s": time.perf_counter() - t}
    t, c = time.perf_counter(), time.process_time()
    G, F = propagation_graphs(posts, authors)
    out["build_s"], out["build_cpu"] = time.perf_counter() - t, time.process_time() - c
    t, c = time.perf_counter(), time.process_time()
    keys = rank_key_nodes(G, F, k=20)
    out["keynodes_s"], out["keynodes_cpu"] = time.perf_counter() - t, time.process_time() - c
    t, c = time.perf_counter(), time.process_time()
    tipping_points(F, 10, G=G)
    shapes = cascade_shapes(F)
    out["shape_s"], out["shape_cpu"] = time.perf_counter() - t, time.process_time() - c
    out["total_s"] = out["build_s"] + out["keynodes_s"] + out["shape_s"]
    out["total_cpu"] = out["build_cpu"] + out["keynodes_cpu"] + out["shape_cpu"]
    out["peak_gb"] = peak_gb()
    out.update(authors=G.number_of_nodes(), flows=G.number_of_edges(), cascades=len(F),
               largest=max(s["size"] for s in shapes.values()), top=keys[0].reason)
    A = _Arrays(G)
    best = float("inf")
    for _ in range(3):
        t = time.perf_counter()
        _pagerank(A)
        best = min(best, time.perf_counter() - t)
    out["pagerank_s"] = best
    try:
        import igraph
    except ImportError:
        out["igraph_s"] = None
    else:
        ig = igraph.Graph(n=A.n, edges=np.c_[A.dst, A.src].tolist(), directed=True)
        w = A.w.tolist()
        best = float("inf")
        for _ in range(3):  # the first call pays one-off set-up; keep the best of three
            t = time.perf_counter()
            ig.pagerank(weights=w, damping=0.85)
            best = min(best, time.perf_counter() - t)
        out["igraph_s"] = best
    t = time.perf_counter()
    F.graphs()
    out["nx_cascades_s"] = time.perf_counter() - t
    if n <= 100_000:
        from graph import circles
        t = time.perf_counter()
        out["n_circles"] = len(circles(G))
        out["circles_s"] = time.perf_counter() - t
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="10000,100000,1000000",
                    help="comma-separated repost counts (default: 10000,100000,1000000)")
    ap.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        if hasattr(os, "sched_setaffinity"):
            os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core, as the target says
        print(json.dumps(run_one(args.one), ensure_ascii=False))
        return 0
    try:
        import igraph  # noqa: F401
    except ImportError:
        print("igraph not installed: the igraph PageRank column is skipped (pip install igraph)")
    print("seconds: wall (cpu) on one pinned core; peak = max RSS of the run, input posts included")
    print(f"{'reposts':>9} {'posts':>9} {'authors':>8} {'cascades':>8} {'build':>13} "
          f"{'key nodes':>13} {'shape':>11} {'TOTAL':>13} {'peak GB':>7} {'PR':>5} "
          f"{'igraph PR':>9} {'ratio':>5} {'nx casc':>7} {'louvain':>7}")
    for n in [int(x) for x in args.sizes.split(",")]:
        env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
        proc = subprocess.run([sys.executable, __file__, "--one", str(n)], capture_output=True,
                              text=True, check=False, env=env)
        if proc.returncode:
            print(f"{n:>9} failed:\n{proc.stderr}")
            continue
        r = json.loads(proc.stdout)
        ig = r["igraph_s"]
        ig_s = "n/a" if ig is None else f"{ig:.3f}"
        ratio = "n/a" if not ig else f"{r['pagerank_s'] / ig:.1f}"
        louvain = f"{r['circles_s']:.2f}" if "circles_s" in r else "-"

        def cell(k: str, r: dict = r) -> str:
            return f"{r[k + '_s']:.2f} ({r[k + '_cpu']:.2f})"

        print(f"{n:>9,} {r['posts']:>9,} {r['authors']:>8,} {r['cascades']:>8,} "
              f"{cell('build'):>13} {cell('keynodes'):>13} {cell('shape'):>11} "
              f"{cell('total'):>13} {r['peak_gb']:>7.2f} {r['pagerank_s']:>5.3f} {ig_s:>9} "
              f"{ratio:>5} {r['nx_cascades_s']:>7.2f} {louvain:>7}")
        print(f"{'':>9} largest cascade {r['largest']:,}; top key node: {r['top']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
