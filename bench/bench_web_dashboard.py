"""The monitor dashboard's API on a big window: server time of each endpoint, cold and warm.

    python bench/bench_web_dashboard.py [--posts 50000] [--uri sqlite:///path/dash.db]
                                        [--warm 3] [--seed 0]

Builds a fresh SQLite store (or reuses ``--uri`` when it already holds posts) in which one
monitor, 品牌A, has ``--posts`` posts in the last 7 days, plus two competitor monitors with a
tenth as many each (share of voice reads them too). Texts are real: rows of the shared
datasets (``tests/datasets.py``'s ``sample_rows``: weibo_polarity with its sentiment labels,
weibo_emotion_nlpcc with its emotions), each prefixed with the brand and, past the first pass
over the rows, given a clause of another row, so texts stay distinct; a fallback generator
writes Chinese sentences when the datasets are absent. Posts get platforms, regions in the
platforms' forms, counters, reposts of earlier posts and authors with followers (tiers).

Timed around the ASGI app (routing, handler, serialisation; no network), for the 7-day range,
in the order the page asks: ``series``, ``emotions`` and ``tiers`` (counted by the store), then
each analysis panel (``panels/drivers`` … ``panels/share``), which read the window's posts in
Python, then ``why`` and ``measure`` (three panels each, for scripts; served from the cache
the panels filled). *Cold* is the first request after the app starts: the first panel reads
the window (and jieba loads its dictionary), the next ones share that read; *warm* is the
median of ``--warm`` repeats while the store is unchanged. Then one new post arrives and
``why`` is timed twice: the cache notices and recomputes, then serves. Peak memory (max RSS)
is printed at the end.
"""

from __future__ import annotations

import argparse
import random
import resource
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
BENCH = REPO / "bench"
for folder in (REPO, BENCH):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

from crawlers.items import Author, Monitor, Post, utcnow  # noqa: E402
from crawlers.storage import open_store  # noqa: E402

BRANDS = ("品牌A", "品牌B", "品牌C")
PLATFORMS = ("weibo", "weibo", "weibo", "zhihu", "wechat", "forum")
REGIONS = ("IP属地：广东", "发布于 北京", "上海", "IP 属地浙江", "四川 成都", "海外 美国",
           "江苏省南京市", "其他", None, None)
LABELS = {0: "negative", 1: "positive"}
ENDPOINTS = ("series", "emotions", "tiers", "panels/drivers", "panels/events", "panels/regions",
             "panels/funnel", "panels/health", "panels/share", "why", "measure")
PASSWORD = "bench password 42"


def real_rows(seed: int) -> tuple[list[tuple[str, str | None]], list[str | None]]:
    """(text, sentiment label) rows and emotions from the shared datasets; generated text when
    they are absent."""
    try:
        from tests.datasets import sample_rows

        polarity = sample_rows("weibo_polarity.train.jsonl", 50_000, seed)
        emotion = sample_rows("weibo_emotion_nlpcc.train.jsonl", 1_000, seed)
        rows = [(str(r["text"]), LABELS.get(int(r["label"]))) for r in polarity]
        emotions = [str(r["label"]) for r in emotion] + [None] * len(emotion)
        print(f"texts: {len(rows):,} real Weibo posts, {len(emotion):,} emotion labels",
              file=sys.stderr)
        return rows, emotions
    except Exception as exc:  # pytest's Skipped when the datasets are absent
        print(f"texts: generated ({exc})", file=sys.stderr)
        rnd = random.Random(seed)
        subjects = ("客服", "物流", "电池", "屏幕", "价格", "新品", "售后", "门店")
        verbs = ("太慢了", "很满意", "出问题了", "让人失望", "值得推荐", "一直没人管")
        rows = [(f"{rnd.choice(subjects)}{rnd.choice(verbs)}，{rnd.choice(subjects)}"
                 f"{rnd.choice(verbs)}{i}", rnd.choice(("negative", "positive", "neutral")))
                for i in range(5_000)]
        return rows, ["anger", "like", "sadness", "happiness", None, None]


def make_posts(brand: str, n: int, now: Any, rows: list[tuple[str, str | None]],
               emotions: list[str | None], rnd: random.Random) -> list[Post]:
    posts: list[Post] = []
    for i in range(n):
        text, label = rows[i % len(rows)]
        if i >= len(rows):
            other = rows[rnd.randrange(len(rows))][0]
            text = f"{text}，{other[:20]}"
        platform = rnd.choice(PLATFORMS)
        parent = posts[rnd.randrange(len(posts))] if posts and rnd.random() < 0.2 else None
        if parent is not None:
            platform = parent.platform
        posts.append(Post(
            platform, f"{brand}-{i}", text=f"{brand} {text}", topics=[brand],
            created_at=now - timedelta(seconds=rnd.randrange(7 * 86400 - 60) + 1),
            kind="repost" if parent else ("article" if platform == "wechat" else "original"),
            parent_post_id=parent.post_id if parent else None,
            root_post_id=(parent.root_post_id or parent.post_id) if parent else None,
            author_id=f"u{rnd.randrange(max(1, n // 3))}", author_name=f"用户{i % 997}",
            url=f"https://m.weibo.cn/detail/{brand}{i}", region=rnd.choice(REGIONS),
            like_count=int(rnd.paretovariate(1.2)), comment_count=rnd.randrange(5),
            repost_count=rnd.randrange(3),
            read_count=rnd.randrange(100, 100_000) if platform == "wechat" else None,
            sentiment_label=label, sentiment={"negative": 0.2, "positive": 0.8}.get(label or "",
                                                                                  0.5),
            emotion=rnd.choice(emotions)))
    posts.sort(key=lambda p: p.created_at or now)
    return posts


def build(store: Any, n: int, seed: int, now: Any) -> None:
    rows, emotions = real_rows(seed)
    rnd = random.Random(seed)
    t = time.perf_counter()
    for k, brand in enumerate(BRANDS):
        posts = make_posts(brand, n if k == 0 else n // 10, now, rows, emotions, rnd)
        for start in range(0, len(posts), 5_000):
            store.upsert_posts(posts[start:start + 5_000])
        store.upsert_authors(Author(p, f"u{a}", name=f"用户{a}",
                                    followers=int(rnd.paretovariate(0.6) * 100),
                                    region=rnd.choice(REGIONS))
                             for p in set(PLATFORMS) for a in range(0, n // 3, 2))
        store.save_monitor(Monitor(brand, brand, ["weibo", "zhihu", "wechat", "forum"],
                                   every=1800, created_at=now - timedelta(days=30)))
    print(f"store: built in {time.perf_counter() - t:.1f} s", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=50_000)
    parser.add_argument("--uri", help="reuse this store when it holds posts")
    parser.add_argument("--warm", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    from bench_web import Timed, sign_in
    from fastapi.testclient import TestClient

    from crawlers.config import load_settings
    from web.accounts import Accounts
    from web.app import create_app

    folder = Path(tempfile.mkdtemp(prefix="bench-dash-"))
    uri = args.uri or f"sqlite:///{folder}/dash.db"
    now = utcnow()
    store = open_store(uri)
    if not store.counts()["posts"]:
        build(store, args.posts, args.seed, now)
    window = sum(r["posts"] for r in store.post_counts(
        topic=BRANDS[0], since=now - timedelta(days=7), until=now, bucket=None,
        by=("platform",)))
    print(f"store: {store.counts()['posts']:,} posts; {window:,} in {BRANDS[0]}'s 7-day window",
          file=sys.stderr)
    accounts = Accounts(folder / "web.db")
    accounts.add_user("bench0", "viewer", PASSWORD)
    timed = Timed(create_app(load_settings({}), store=store, accounts=accounts))
    base = f"/api/monitors/{BRANDS[0]}"
    cold: dict[str, float] = {}
    warm: dict[str, list[float]] = {e: [] for e in ENDPOINTS}
    with TestClient(timed) as client:
        sign_in(client, "bench0")

        def get(endpoint: str) -> float:
            timed.times.clear()
            reply = client.get(f"{base}/{endpoint}", params={"range": "7d"})
            assert reply.status_code == 200, (endpoint, reply.status_code, reply.text[:300])
            return next(iter(timed.times.values()))[0]

        for e in ENDPOINTS:
            cold[e] = get(e)
        for _ in range(args.warm):
            for e in ENDPOINTS:
                warm[e].append(get(e))
        store.upsert_posts([Post("weibo", "bench-new", text=f"{BRANDS[0]} 新帖子到了",
                                 topics=[BRANDS[0]], created_at=utcnow(),
                                 sentiment_label="negative")])
        after = get("why")
        again = get("why")
    print(f"\nserver time per endpoint, range=7d, {window:,} posts in the window (ms)")
    print(f"  {'endpoint':42} {'cold':>9} {'warm':>9}")
    for e in ENDPOINTS:
        print(f"  {base + '/' + e:42} {cold[e]:9.1f} {statistics.median(warm[e]):9.1f}")
    print(f"  {'why after one new post, then again':42} {after:9.1f} {again:9.1f}")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory (max RSS): {rss:,.0f} MB")
    store.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
