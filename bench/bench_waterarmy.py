"""Benchmark: how well scoring.why.waterarmy finds coordinated rings hidden among real posts.

Background (honest accounts), from real material:
* texts: real Weibo posts and comments (``weibo_polarity`` and ``weibo_comments_polarity`` train
  sets in /work/shared/datasets/sentiment, see SOURCES.md there);
* names: real Weibo screen names, taken from the ``//@name:`` chains inside those posts (some
  real users keep digit-tailed names such as "大悲咒2705541404": hard negatives);
* real cascades as recorded: the weibo.com repost list, the m.weibo.cn hot comments (with real
  follower/following counts) and the legacy comment list in /work/shared/fixtures/weibo.
Modelled (stated, not measured): repost delays after a root are lognormal (median 30 min,
σ 1.6), a third of reposts hang under an earlier repost (sub-cascades: lognormal, median
10 min, so honest reposts cluster), cascade popularity is Pareto (a few viral cascades with
dense peaks); 35% of reposts carry the default "转发微博", 15% only copy the parent's ``//@``
chain; 15% of honest accounts are fans who only repost; 4% keep a default "用户1234567890"
name; 5% are younger than 90 days; two copy-paste memes (接力) are each repeated verbatim by
15–25 honest accounts over hours.

Rings (positives), injected at four stealth levels; each ring amplifies 2–3 popular cascades
and has a little history of its own:

======  ====  ==========================  ===============  ============  =======================
level   size  text                        timing           names         profile, history
======  ====  ==========================  ===============  ============  =======================
easy    30    one identical text          within 8 s       all default   0–15 fans, follows
                                                                         300–1500, 3–25 days
                                                                         old; bare reposts
medium  20    light edits (6% of chars)   exp(90 s)        30% default   ~60 fans, follows ~400,
                                                                         2–26 months; mixed
hard    12    edits (8%) of one text      over 10 min      real names    like honest accounts
expert  12    3 texts, heavy edits (12%)  over 30 min      real names    like honest accounts
======  ====  ==========================  ===============  ============  =======================

Printed per level: the precision–recall curve (seed 0), then over seeds the mean and range of
precision at recall 0.6, average precision, recall at the 0.5 threshold and honest accounts at
or above 0.5; ``--ablation`` adds the first two with each signal switched off.

    python bench/bench_waterarmy.py                      # 4,000 honest accounts, 5 seeds
    python bench/bench_waterarmy.py --accounts 800 --seeds 1 --ablation
    python bench/bench_waterarmy.py --export tests/fixtures/why_waterarmy   # rebuild the test pool
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from crawlers.items import Author, AuthorKey, Post, from_dict, to_dict  # noqa: E402
from scoring.why.waterarmy import WEIGHTS, Suspicion, score_accounts  # noqa: E402

SHARED = Path("/work/shared")
LEVELS = ("easy", "medium", "hard", "expert")
START = datetime(2024, 3, 1, tzinfo=UTC)
_CHAIN_NAME = re.compile(r"//@([^:：\s/@]{2,30})[:：]")
_FILLERS = list("啊呀呢吧嘛哦！!，。~…") + ["[doge]", "[赞]", "[允悲]", "真的", "确实", "了"]
_BARE = ("转发微博", "转发微博", "转发微博", "Repost", "轉發微博", "")


@dataclass
class Pool:
    """Real material the world is built from."""

    texts: list[str]
    names: list[str]
    posts: list[Post] = field(default_factory=list)  # real recorded cascades
    authors: list[Author] = field(default_factory=list)


def load_shared(shared: Path = SHARED) -> Pool:
    """The full pool from /work/shared (datasets and recorded fixtures)."""
    from crawlers.spiders.weibo.comments import parse_hotflow
    from crawlers.spiders.weibo.legacy import parse_legacy_comments, parse_legacy_reposts

    texts: list[str] = []
    names: dict[str, None] = {}
    for name in ("weibo_polarity.train.jsonl", "weibo_comments_polarity.train.jsonl"):
        for line in (shared / "datasets/sentiment" / name).read_text("utf-8").splitlines():
            text = json.loads(line)["text"]
            names.update(dict.fromkeys(_CHAIN_NAME.findall(text)))
            own = text.split("//@")[0].strip()
            if 4 <= len(own) <= 140:
                texts.append(own)
    now = datetime(2024, 1, 1, tzinfo=UTC)
    pool = Pool(texts, [n for n in names if "?" not in n])
    fixtures = shared / "fixtures/weibo"
    for file, parse in (("legacy-weibo.com-aj-v6-mblog-info-big_repost.json", parse_legacy_reposts),
                        ("m.weibo.cn-comments-hotflow.json", parse_hotflow),
                        ("legacy-weibo.com-aj-v6-comment-big.json", parse_legacy_comments)):
        for item in parse(json.loads((fixtures / file).read_text("utf-8")), now=now):
            if isinstance(item, Post):
                item.root_post_id = item.root_post_id or item.parent_post_id or file
                pool.posts.append(item)
            elif isinstance(item, Author):
                pool.authors.append(item)
    return pool


def sample_pool(pool: Pool, *, texts: int = 3000, names: int = 2000, seed: int = 0) -> Pool:
    """A small sample of the pool, the same for the same seed (what the tests use: the
    datasets stay outside the repository, so the tests sample them at run time)."""
    rng = np.random.default_rng(seed)
    pick = sorted(rng.choice(len(pool.texts), size=min(texts, len(pool.texts)), replace=False))
    chosen = sorted(rng.choice(len(pool.names), size=min(names, len(pool.names)), replace=False))
    return Pool([pool.texts[i] for i in pick], [pool.names[i] for i in chosen],
                list(pool.posts), list(pool.authors))


def export_pool(pool: Pool, folder: Path, *, texts: int, names: int, seed: int = 0) -> None:
    """Write the recorded cascades (parsed from the platform fixtures) for the tests."""
    folder.mkdir(parents=True, exist_ok=True)
    cascades = {"posts": [to_dict(p) for p in pool.posts],
                "authors": [to_dict(a) for a in pool.authors]}
    (folder / "cascades.json").write_text(json.dumps(cascades, ensure_ascii=False, indent=0),
                                          "utf-8")


def load_fixture(folder: Path, shared: Path = SHARED) -> Pool:
    """The test pool: the recorded cascades in ``folder`` and a seeded sample of the shared
    datasets' texts and names (read where they live)."""
    full = load_shared(shared)
    data = json.loads((folder / "cascades.json").read_text("utf-8"))
    sample = sample_pool(full)
    return Pool(sample.texts, sample.names, [from_dict(Post, d) for d in data["posts"]],
                [from_dict(Author, d) for d in data["authors"]])


@dataclass
class World:
    posts: list[Post]
    authors: dict[AuthorKey, Author]
    rings: set[AuthorKey]


class _Builder:
    def __init__(self, pool: Pool, rng: np.random.Generator) -> None:
        self.pool, self.rng = pool, rng
        self.posts: list[Post] = []
        self.authors: dict[AuthorKey, Author] = {}
        self.names = iter(rng.permutation(len(pool.names)).tolist())
        self.real_pairs = [(a.followers, a.following) for a in pool.authors
                           if a.followers is not None and a.following is not None]
        self.serial = 0
        self.order: list[int] = []

    def text(self) -> str:
        """A real text, without replacement until the pool runs out (two honest accounts
        drawing the same long text would be a copy no real crowd makes)."""
        if not self.order:
            self.order = self.rng.permutation(len(self.pool.texts)).tolist()
        return self.pool.texts[self.order.pop()]

    def real_name(self) -> str:
        try:
            return str(self.pool.names[next(self.names)])
        except StopIteration:
            return f"路人{self.serial}"

    def default_name(self) -> str:
        r = self.rng
        kind = int(r.integers(4))
        if kind == 0:
            return f"用户{int(r.integers(5_000_000_000, 7_999_999_999))}"
        if kind == 1:
            tail = "".join(r.choice(list("abcdefghijklmnopqrstuvwxyz0123456789"), 6))
            return "user_" + tail + str(int(r.integers(10)))
        if kind == 2:
            head = "".join(r.choice(list("小大阿老明丽华强伟芳静"), 2))
            return head + str(int(r.integers(10**7, 10**8)))
        head = "".join(r.choice(list("bcdfghjklmnpqrstvwxz"), 4))
        return head + str(int(r.integers(10**5, 10**6)))

    def account(self, name: str, followers: int, following: int, age_days: float) -> AuthorKey:
        self.serial += 1
        uid = str(3_000_000_000 + self.serial)
        author = Author("weibo", uid, name=name, followers=followers, following=following,
                        extra={"created_at": START - timedelta(days=age_days)})
        self.authors[author.key] = author
        return author.key

    def honest_profile(self) -> tuple[int, int, float]:
        r = self.rng
        if self.real_pairs and r.random() < 0.2:
            f, g = self.real_pairs[int(r.integers(len(self.real_pairs)))]
            f, g = int(f * r.lognormal(0, 0.3)), int(g * r.lognormal(0, 0.3))
        else:
            f = int(r.lognormal(math.log(120), 1.7))
            g = min(5000, int(r.lognormal(math.log(180), 0.9)))
        age = r.uniform(5, 90) if r.random() < 0.05 else r.uniform(365, 12 * 365)
        return f, g, age

    def post(self, key: AuthorKey, text: str, when: datetime, kind: str,
             root: Post | None) -> Post:
        self.serial += 1
        post = Post("weibo", str(4_800_000_000_000_000 + self.serial), text=text, created_at=when,
                    kind=kind, author_id=key[1], author_name=self.authors[key].name,
                    root_post_id=root.post_id if root else None,
                    parent_post_id=root.post_id if root else None)
        self.posts.append(post)
        return post


def _edit(text: str, rate: float, rng: np.random.Generator) -> str:
    out: list[str] = []
    for ch in text:
        roll = rng.random()
        if roll < rate:
            continue
        out.append(ch)
        if roll > 1 - rate:
            out.append(str(rng.choice(_FILLERS)))
    return "".join(out) + (str(rng.choice(_FILLERS)) if rng.random() < 0.5 else "")


def build_world(pool: Pool, level: str | None, *, seed: int = 0, accounts: int = 4000,
                cascades: int = 120, rings: int = 4) -> World:
    """Honest background plus ``rings`` rings of one stealth level (None: no rings)."""
    rng = np.random.default_rng(seed)
    b = _Builder(pool, rng)
    honest = []
    for _ in range(accounts):
        name = b.default_name() if rng.random() < 0.04 else b.real_name()
        honest.append(b.account(name, *b.honest_profile()))
    roots = [b.post(honest[int(rng.integers(accounts))], b.text(),
                    START + timedelta(seconds=float(rng.uniform(0, 2 * 86400))), "original", None)
             for _ in range(cascades)]
    weight = rng.pareto(1.1, cascades) + 0.05
    weight /= weight.sum()

    def delay() -> timedelta:
        return timedelta(seconds=float(min(rng.lognormal(math.log(1800), 1.6), 3 * 86400)))

    seen: dict[str, list[Post]] = {r.post_id: [r] for r in roots}
    for key in honest:
        fan = rng.random() < 0.15
        for _ in range(int(rng.integers(3, 11)) if fan else 1 + int(rng.geometric(0.4))):
            root = roots[int(rng.choice(cascades, p=weight))]
            # a third repost a repost (a sub-cascade under a busy account: honest clustering)
            via = seen[root.post_id][int(rng.integers(len(seen[root.post_id])))] \
                if rng.random() < 0.33 else root
            assert via.created_at is not None
            when = via.created_at + (delay() if via is root else timedelta(
                seconds=float(rng.lognormal(math.log(600), 1.5))))
            roll = rng.random()
            if fan or roll < 0.35:
                seen[root.post_id].append(b.post(key, str(rng.choice(_BARE)), when, "repost", root))
            elif roll < 0.50:
                chain = f"//@{via.author_name}:{via.text}"
                seen[root.post_id].append(b.post(key, chain, when, "repost", root))
            elif roll < 0.80:
                b.post(key, b.text(), when, "repost", root)
            else:
                b.post(key, b.text(), when, "comment", root)
    for _ in range(2):  # copy-paste memes: honest 接力
        meme, root = b.text() + "转发这条锦鲤好运来", roots[int(rng.choice(cascades, p=weight))]
        for i in rng.choice(len(honest), int(rng.integers(15, 26)), replace=False).tolist():
            assert root.created_at is not None
            b.post(honest[i], meme, root.created_at + delay() * 4, "repost", root)
    b.posts.extend(pool.posts)
    for author in pool.authors:
        b.authors.setdefault(author.key, author)
    ring_keys: set[AuthorKey] = set()
    for _ in range(rings if level else 0):
        ring_keys |= _inject_ring(b, level or "easy", roots, weight, rng)
    return World(b.posts, b.authors, ring_keys)


def _inject_ring(b: _Builder, level: str, roots: list[Post], weight: np.ndarray,
                 rng: np.random.Generator) -> set[AuthorKey]:
    size = {"easy": 30, "medium": 20, "hard": 12, "expert": 12}[level]
    members: list[AuthorKey] = []
    for _ in range(size):
        if level == "easy":
            members.append(b.account(b.default_name(), int(rng.integers(0, 16)),
                                     int(rng.integers(300, 1500)), rng.uniform(3, 25)))
        elif level == "medium":
            name = b.default_name() if rng.random() < 0.3 else b.real_name()
            members.append(b.account(name, int(rng.lognormal(math.log(60), 1.2)),
                                     int(rng.lognormal(math.log(400), 0.7)),
                                     rng.uniform(60, 800)))
        else:
            members.append(b.account(b.real_name(), *b.honest_profile()))
    targets = rng.choice(len(roots), size=2 if level == "expert" else 3, replace=False, p=weight)
    for c in targets.tolist():
        root = roots[c]
        assert root.created_at is not None
        trigger = root.created_at + timedelta(seconds=float(rng.lognormal(math.log(1200), 1.0)))
        templates = [b.text() + b.text() for _ in range(3)]
        for key in members:
            if level == "easy":
                text, lag = templates[0], rng.uniform(0, 8)
            elif level == "medium":
                text, lag = _edit(templates[0], 0.06, rng), rng.exponential(90)
            elif level == "hard":
                text, lag = _edit(templates[0], 0.08, rng), rng.uniform(0, 600)
            else:
                text, lag = _edit(str(rng.choice(templates)), 0.12, rng), rng.uniform(0, 1800)
            b.post(key, text, trigger + timedelta(seconds=float(lag)), "repost", root)
    for key in members:  # history around the campaign
        extra = {"easy": 3, "medium": 2}.get(level, 3)
        for _ in range(int(rng.integers(1, extra + 1))):
            root = roots[int(rng.integers(len(roots)))]
            assert root.created_at is not None
            when = root.created_at + timedelta(seconds=float(rng.lognormal(math.log(1800), 1.6)))
            if level == "easy" or rng.random() < 0.5:
                b.post(key, str(rng.choice(_BARE)), when, "repost", root)
            else:
                honest_like = level in ("hard", "expert")
                b.post(key, b.text(), when, "comment" if honest_like else "original",
                       root if honest_like else None)
    return set(members)


def pr_curve(scores: Mapping[AuthorKey, Suspicion], positives: set[AuthorKey]
             ) -> list[tuple[float, float, float]]:
    """(threshold, precision, recall) for every distinct score, highest threshold first."""
    ranked = sorted(((s.score, k in positives) for k, s in scores.items()), reverse=True)
    total = sum(hit for _, hit in ranked) or 1
    curve: list[tuple[float, float, float]] = []
    tp = 0
    for i, (score, hit) in enumerate(ranked):
        tp += hit
        if i + 1 == len(ranked) or ranked[i + 1][0] != score:
            curve.append((score, tp / (i + 1), tp / total))
    return curve


def precision_at_recall(curve: list[tuple[float, float, float]], recall: float) -> float:
    """The best precision at any threshold reaching ``recall`` (0 if none does)."""
    return max((p for _, p, r in curve if r >= recall), default=0.0)


def average_precision(curve: list[tuple[float, float, float]]) -> float:
    ap, last = 0.0, 0.0
    for _, p, r in curve:
        ap += p * (r - last)
        last = r
    return ap


def evaluate(pool: Pool, level: str, *, seed: int, weights: Mapping[str, float] | None = None,
             **world: Any) -> dict[str, Any]:
    w = build_world(pool, level, seed=seed, **world)
    began = time.perf_counter()
    scores = score_accounts(w.posts, w.authors, weights=weights)
    seconds = time.perf_counter() - began
    curve = pr_curve(scores, w.rings)
    honest_flagged = sum(s.score >= 0.5 for k, s in scores.items() if k not in w.rings)
    return {"curve": curve, "p@r0.6": precision_at_recall(curve, 0.6),
            "ap": average_precision(curve), "posts": len(w.posts), "accounts": len(scores),
            "rings": len(w.rings), "seconds": seconds, "honest>=0.5": honest_flagged,
            "recall@0.5": max((r for t, _, r in curve if t >= 0.5), default=0.0)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=4000)
    parser.add_argument("--cascades", type=int, default=120)
    parser.add_argument("--rings", type=int, default=4)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--shared", type=Path, default=SHARED)
    parser.add_argument("--fixture", type=Path, help="read the pool from a fixture folder")
    parser.add_argument("--export", type=Path, help="write a small pool to this folder, exit")
    parser.add_argument("--ablation", action="store_true", help="also score without each signal")
    args = parser.parse_args()

    pool = load_fixture(args.fixture) if args.fixture else load_shared(args.shared)
    print(f"pool: {len(pool.texts):,} real texts, {len(pool.names):,} real names, "
          f"{len(pool.posts)} posts in recorded cascades")
    if args.export:
        export_pool(pool, args.export, texts=3000, names=2000)
        print(f"wrote {args.export}")
        return
    for level in LEVELS:
        runs = [evaluate(pool, level, seed=s, accounts=args.accounts, cascades=args.cascades,
                         rings=args.rings) for s in range(args.seeds)]
        first = runs[0]
        print(f"\n== {level}: {first['rings']} ring accounts among {first['accounts']:,} "
              f"accounts, {first['posts']:,} posts (seed 0; scoring {first['seconds']:.2f} s)")
        print("   threshold  precision  recall")
        shown = -1.0
        for t, p, r in first["curve"]:
            if r - shown >= 0.1 or r == 1.0:
                print(f"   {t:9.3f}  {p:9.3f}  {r:6.3f}")
                shown = r
                if r == 1.0:
                    break
        for metric in ("p@r0.6", "ap", "recall@0.5", "honest>=0.5"):
            values = [run[metric] for run in runs]
            print(f"   {metric:<12} mean {np.mean(values):7.3f}   min {min(values):7.3f}   "
                  f"max {max(values):7.3f}")
        if args.ablation:
            row = []
            for signal in WEIGHTS:
                weights = {k: (0.0 if k == signal else v) for k, v in WEIGHTS.items()}
                run = evaluate(pool, level, seed=0, weights=weights, accounts=args.accounts,
                               cascades=args.cascades, rings=args.rings)
                row.append(f"{signal} {run['p@r0.6']:.2f}/{run['recall@0.5']:.2f}")
            print("   without (p@r0.6/recall@0.5, seed 0): " + ", ".join(row))


if __name__ == "__main__":
    main()
