"""Benchmark: cut 1M touchpoints into journeys and run every attribution model on them.

Synthetic data (fixed seed): 1,000,000 touchpoints over ~200k users and 8 channels with skewed
popularity, spread over 90 days; a user converts with odds that rise with the channels they
touched (search and mail most), shortly after one of their touches, and one converter in ten
converts again later; conversion values are lognormal.

    python bench/bench_attribution.py                          # 1M touches, 200k users
    python bench/bench_attribution.py --touches 100000 --users 20000
    python bench/bench_attribution.py --posts 1000000          # derivation on 1M posts

Timed: build_journeys, then each model on the journeys. Generating the records is reported
but not counted against the target. Peak memory is the process's max RSS (records included).
Then, apart: deriving touchpoints from --posts stored posts (default 100,000: Weibo cascades
of 20 channel accounts, reposts chained 1–6 deep, a third of the chains known only by
//@name, comments and replies), printed in ms.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from crawlers.items import Post  # noqa: E402
from scoring.attribution import (  # noqa: E402
    Conversion,
    Journey,
    Touchpoint,
    assist_report,
    build_journeys,
    first_touch,
    last_touch,
    linear,
    markov_attribution,
    shapley_from_journeys,
    time_decay,
    u_shaped,
    w_shaped,
)
from scoring.attribution.derive import ChannelMap, derive_touchpoints  # noqa: E402

CHANNELS = ["search", "ads", "social", "kol", "mail", "forum", "video", "news"]
POPULARITY = np.array([0.20, 0.22, 0.18, 0.12, 0.08, 0.08, 0.07, 0.05])
LIFT = np.array([0.12, 0.04, 0.02, 0.05, 0.10, 0.03, 0.02, 0.01])  # added conversion odds
START = datetime(2026, 1, 1, tzinfo=UTC).timestamp()
DAY = 86400.0
LABELS = {"first_touch": "first", "last_touch": "last", "linear": "linear", "u_shaped": "U",
          "w_shaped": "W", "time_decay": "decay", "markov_attribution": "markov",
          "shapley_from_journeys": "shapley"}
TARGET_SECONDS, TARGET_BYTES = 30.0, 2 * 1024**3


def synthetic(n_touches: int, n_users: int, seed: int = 0) -> tuple[list[Touchpoint],
                                                                       list[Conversion]]:
    rng = np.random.default_rng(seed)
    user = rng.integers(0, n_users, size=n_touches)
    channel = rng.choice(len(CHANNELS), size=n_touches, p=POPULARITY)
    at = START + rng.uniform(0, 90 * DAY, size=n_touches)

    names = [f"u{i:06d}" for i in range(n_users)]
    stamps = [datetime.fromtimestamp(t, UTC) for t in at.tolist()]
    touches = [Touchpoint(names[u], CHANNELS[c], s)
               for u, c, s in zip(user.tolist(), channel.tolist(), stamps, strict=True)]

    touched = np.zeros((n_users, len(CHANNELS)), dtype=bool)
    touched[user, channel] = True
    odds = np.clip(0.03 + touched @ LIFT, 0, 0.9)
    seen = np.bincount(user, minlength=n_users) > 0
    converts = seen & (rng.random(n_users) < odds)
    # convert a little after a random touch of the user: take the touch with the largest key
    order = np.lexsort((rng.random(n_touches), user))
    last_of_user = order[np.r_[np.nonzero(np.diff(user[order]))[0], n_touches - 1]]
    anchor = np.full(n_users, np.nan)
    anchor[user[last_of_user]] = at[last_of_user]
    when = anchor + rng.exponential(0.5 * DAY, size=n_users)
    again = converts & (rng.random(n_users) < 0.1)
    value = rng.lognormal(3.0, 1.0, size=n_users)
    conversions = [Conversion(names[u], datetime.fromtimestamp(when[u], UTC), float(value[u]))
                   for u in np.nonzero(converts)[0].tolist()]
    conversions += [Conversion(names[u], datetime.fromtimestamp(when[u] + 20 * DAY, UTC), 1.0)
                    for u in np.nonzero(again)[0].tolist()]
    return touches, conversions


def synthetic_posts(n_posts: int, seed: int = 0) -> tuple[list[Post], ChannelMap]:
    """Cascades under channel accounts' originals: each post reposts, comments on or replies
    to an earlier post of its cascade; one chained repost in three has no parent id (only
    its //@name chain), as Weibo pages often give them."""
    rng = np.random.default_rng(seed)
    accounts = {("weibo", f"ch{i}"): ("官方微博" if i < 2 else f"KOL-{i}") for i in range(20)}
    n_users = max(1, n_posts // 4)
    posts: list[Post] = []
    cascades: list[list[Post]] = []
    for i in range(n_posts):
        t = datetime.fromtimestamp(START + i * 30.0, UTC)
        if not cascades or rng.random() < 0.01:
            author = f"ch{int(rng.integers(0, 20))}"
            root = Post("weibo", f"p{i}", author_id=author, author_name=f"名{author}",
                        created_at=t, text="品牌A")
            posts.append(root)
            cascades.append([root])
            continue
        cascade = cascades[-1 - int(rng.integers(0, min(len(cascades), 20)))]
        parent = cascade[int(rng.integers(0, len(cascade)))]
        author = (f"ch{int(rng.integers(2, 20))}" if rng.random() < 0.02
                  else f"u{int(rng.integers(0, n_users))}")
        kind = "repost" if rng.random() < 0.7 else ("comment" if rng.random() < 0.7 else "reply")
        chain = ([parent.author_name or "", *parent.repost_path]
                 if parent.kind == "repost" else [])
        linked = not chain or rng.random() < 0.67
        post = Post("weibo", f"p{i}", kind=kind, author_id=author, author_name=f"名{author}",
                    created_at=t, root_post_id=cascade[0].post_id,
                    parent_post_id=parent.post_id if linked else None,
                    parent_author_id=parent.author_id if linked else None,
                    repost_path=chain[:6] if kind == "repost" else [])
        posts.append(post)
        if kind == "repost" and len(chain) < 6:
            cascade.append(post)
    return posts, ChannelMap(accounts)


def bench_derive(n_posts: int) -> None:
    began = time.perf_counter()
    posts, channels = synthetic_posts(n_posts)
    made = time.perf_counter() - began
    began = time.perf_counter()
    derived = derive_touchpoints(posts, channels)
    ms = (time.perf_counter() - began) * 1000
    print(f"\nderive_touchpoints: {n_posts:,} posts (made in {made:.1f} s, not counted) → "
          f"{len(derived.touchpoints):,} touchpoints, {derived.users:,} users, "
          f"{len(derived.channels)} channels in {ms:,.0f} ms "
          f"({n_posts / ms * 1000:,.0f} posts/s); skipped {dict(derived.skipped)}")


def peak_rss_bytes() -> int:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024  # macOS: bytes; Linux: KiB


def timed(label: str, fn: Callable[[], Any], seconds: dict[str, float]) -> Any:
    began = time.perf_counter()
    result = fn()
    seconds[label] = time.perf_counter() - began
    print(f"{label:<22} {seconds[label]:7.2f} s", flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--touches", type=int, default=1_000_000)
    parser.add_argument("--users", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--posts", type=int, default=100_000,
                        help="posts to derive touchpoints from (0: skip)")
    args = parser.parse_args()

    began = time.perf_counter()
    touches, conversions = synthetic(args.touches, args.users, args.seed)
    print(f"generated {len(touches):,} touchpoints, {len(conversions):,} conversions, "
          f"{args.users:,} users in {time.perf_counter() - began:.2f} s (not counted)")

    seconds: dict[str, float] = {}
    journeys: list[Journey] = timed("build_journeys", lambda: build_journeys(touches, conversions),
                                    seconds)
    converted = [j for j in journeys if j.converted]
    print(f"  {len(journeys):,} journeys, {len(converted):,} converting, "
          f"{sum(len(j.channels) for j in journeys) / len(journeys):.2f} touches per journey")
    models: dict[str, Callable[[list[Journey]], Any]] = {
        "first_touch": first_touch, "last_touch": last_touch, "linear": linear,
        "u_shaped": u_shaped, "w_shaped": w_shaped, "time_decay": time_decay,
        "markov_attribution": markov_attribution,
        "shapley_from_journeys": shapley_from_journeys, "assist_report": assist_report,
    }
    credits = {name: timed(name, lambda fn=fn: fn(journeys), seconds)
               for name, fn in models.items()}

    total = sum(seconds.values())
    peak = peak_rss_bytes()
    value = sum(j.value for j in converted)
    print(f"\nshare of {value:,.0f} conversion value per channel (%)")
    shown = [name for name in models if name != "assist_report"]
    print(f"{'channel':<8}" + "".join(f"{LABELS[name]:>9}" for name in shown))
    for channel in CHANNELS:
        print(f"{channel:<8}" + "".join(f"{100 * credits[n].get(channel, 0) / value:9.1f}"
                                        for n in shown))
    print(f"\ntotal (build + models) {total:7.2f} s   peak RSS {peak / 1024**2:,.0f} MiB")
    print(f"targets: <= {TARGET_SECONDS:.0f} s: {'met' if total <= TARGET_SECONDS else 'MISSED'}; "
          f"<= 2 GB peak RSS: {'met' if peak <= TARGET_BYTES else 'MISSED'}")
    if args.posts:
        bench_derive(args.posts)


if __name__ == "__main__":
    main()
