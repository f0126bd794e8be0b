"""scoring.why.waterarmy: rings injected among real posts are found; honest crowds are not flagged.

The evaluation world is the bench's (bench/bench_waterarmy.py) built from the small real pool in
tests/fixtures/why_waterarmy (real texts, real names, recorded cascades); see its README.
"""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bench.bench_waterarmy import Pool, build_world, evaluate, load_fixture
from crawlers.items import Author, Post
from scoring.why.waterarmy import (
    BIAS,
    WEIGHTS,
    Suspicion,
    copy_text,
    name_score,
    score_accounts,
    suspicious_share,
)

FIXTURES = Path(__file__).parent / "fixtures" / "why_waterarmy"
T0 = datetime(2024, 3, 1, 12, tzinfo=UTC)
WORLD: dict[str, Any] = {"accounts": 800, "cascades": 40, "rings": 3}


@pytest.fixture(scope="module")
def pool() -> Pool:
    from tests.datasets import SHARED, dataset_rows

    dataset_rows("weibo_polarity.train.jsonl")  # skips, saying where, when the data is absent
    return load_fixture(FIXTURES, SHARED)


# Seed 0 on the fixture pool gives precision 1.00 at recall 0.6 for both levels, and recall at
# the 0.5 threshold of 1.00 (easy) and 0.93 (medium); seeds 0–7 never went below 1.00 / 0.78.
@pytest.mark.parametrize(("level", "min_precision", "min_recall_at_half"), [
    ("easy", 0.95, 0.95),
    ("medium", 0.90, 0.70),
])
def test_precision_at_recall_06(pool: Pool, level: str, min_precision: float,
                                min_recall_at_half: float) -> None:
    result = evaluate(pool, level, seed=0, **WORLD)
    assert result["rings"] >= 36
    assert result["p@r0.6"] >= min_precision
    assert result["recall@0.5"] >= min_recall_at_half
    assert result["honest>=0.5"] <= 0.01 * result["accounts"]


def test_background_alone_is_mostly_clean(pool: Pool) -> None:
    world = build_world(pool, None, seed=1, **WORLD)
    scores = score_accounts(world.posts, world.authors)
    assert not world.rings
    flagged = [k for k, s in scores.items() if s.score >= 0.5]
    assert len(flagged) <= 0.01 * len(scores)


def _crowd(pool: Pool, n: int, text: str, *, root: str = "viral") -> tuple[list[Post],
                                                                           list[Author]]:
    """``n`` honest accounts with real names reposting one viral post with the same text."""
    rng = np.random.default_rng(7)
    authors = [Author("weibo", f"h{i}", name=pool.names[i], followers=int(rng.lognormal(5, 1.5)),
                      following=int(rng.lognormal(5, 0.8))) for i in range(n)]
    posts = []
    for i, a in enumerate(authors):
        delay = min(rng.lognormal(math.log(600), 1.2), 86400)
        posts.append(Post("weibo", f"{root}-{i}", text=text, kind="repost", root_post_id=root,
                          author_id=a.author_id, created_at=T0 + timedelta(seconds=delay)))
        posts.append(Post("weibo", f"own-{root}-{i}", text=pool.texts[i], kind="original",
                          author_id=a.author_id, created_at=T0 - timedelta(days=1, minutes=i)))
    return posts, authors


@pytest.mark.parametrize("text", [
    "转发微博", "Repost", "", "//@人民日报:【好消息】今天起全面降价//@某某:", "[赞][赞][赞]",
    "哈哈哈哈哈哈哈哈哈", "#热搜话题# 转发微博",
])
def test_popular_identical_reposts_are_not_copies(pool: Pool, text: str) -> None:
    posts, authors = _crowd(pool, 300, text)
    scores = score_accounts(posts, authors)
    assert len(scores) == 300
    assert all(s.features["copy"] == 0 for s in scores.values())
    assert max(s.score for s in scores.values()) < 0.5


def test_fans_reposting_together_within_seconds_once(pool: Pool) -> None:
    # A big V reposts and 40 of its fans repost it within 10 s with "转发微博": a burst, but
    # nothing else about them is odd, so none is flagged just for that.
    posts, authors = _crowd(pool, 200, "转发微博")
    for i in range(40):
        posts[2 * i].created_at = T0 + timedelta(hours=3, seconds=i / 4)
    scores = score_accounts(posts, authors)
    assert max(s.features["burst"] for s in scores.values()) > 0
    assert max(s.score for s in scores.values()) < 0.5


def test_one_copied_meme_is_not_enough(pool: Pool) -> None:
    posts, authors = _crowd(pool, 50, "转发这条锦鲤，接下来三个月都会有好运气")
    scores = score_accounts(posts, authors)
    assert all(s.features["copy"] == pytest.approx(0.3) for s in scores.values())
    assert max(s.score for s in scores.values()) < 0.2


def _ring(n: int = 8, cascades: int = 2) -> tuple[list[Post], list[Author]]:
    authors = [Author("weibo", f"r{i}", name=f"用户{6_100_000_000 + i}", followers=3,
                      following=900, extra={"created_at": (T0 - timedelta(days=5)).isoformat()})
               for i in range(n)]
    posts = [Post("weibo", f"c{c}-{i}", text=f"这个品牌太良心了，质量一流，大家快去买！{c}",
                  kind="repost", root_post_id=f"c{c}", author_id=a.author_id,
                  created_at=T0 + timedelta(hours=c, seconds=i))
             for c in range(cascades) for i, a in enumerate(authors)]
    return posts, authors


def test_a_ring_is_flagged_with_reasons() -> None:
    posts, authors = _ring()
    scores = score_accounts(posts, authors)
    suspicion = scores[("weibo", "r0")]
    assert suspicion.score > 0.99 and suspicion.posts == 2
    assert set(suspicion.features) == set(WEIGHTS)
    assert all(0.0 <= v <= 1.0 for v in suspicion.features.values())
    text = " | ".join(suspicion.reasons)
    for part in ("near-same text as 7 other accounts", "bursts", "alongside 7 accounts",
                 "default-style name", "follows 900, followed by 3", "account 5 days old"):
        assert part in text


def test_suspicious_share_per_cascade() -> None:
    posts, authors = _ring(n=6, cascades=1)
    posts += [Post("weibo", f"x{i}", text="转发微博", kind="repost", root_post_id="c0",
                   author_id=f"h{i}", created_at=T0 + timedelta(minutes=10 + i))
              for i in range(4)]
    posts += [Post("weibo", "anon", root_post_id="c0"), Post("weibo", "solo", author_id="h0")]
    scores = {k: Suspicion(1.0 if k[1].startswith("r") else 0.1) for k in
              {("weibo", p.author_id) for p in posts if p.author_id}}
    shares = suspicious_share(posts, scores)
    c0 = shares["c0"]
    assert (c0.posts, c0.suspicious_posts, c0.accounts, c0.suspicious_accounts) == (11, 6, 10, 6)
    assert c0.unattributed == 1 and c0.share == 6 / 11 and c0.account_share == 0.6
    assert shares["solo"].share == 0
    by_kind = suspicious_share(posts, scores, 0.05, key=lambda p: p.kind)
    assert by_kind["repost"].share == 1.0
    odd = suspicious_share(posts, scores, key=lambda p: {"unhashable": p})
    assert sum(s.posts for s in odd.values()) == len(posts)
    assert suspicious_share([], scores) == {}


@pytest.mark.parametrize(("name", "expected"), [
    ("用户5273957384", 1.0), ("手机用户3175167210", 1.0), ("user_abc123", 1.0), ("user123456", 1.0),
    ("12345678", 1.0), ("wb12345678", 1.0), ("大悲咒2705541404", 0.6), ("Tina3301274824", 0.6),
    ("a8f3k2l9x", 0.6), ("qpzmwxkt", 0.6), ("随便99999", 0.3), ("大军1969", 0.3),
    ("相声演员张瀚文", 0.0), ("WiWide迈外迪张程", 0.0), ("Moshantulang", 0.0), ("蔷薇620", 0.0),
    ("", 0.0), (None, 0.0), (12345, 0.0), ("用户" + "9" * 100_000, 1.0),
])
def test_name_score(name: Any, expected: float) -> None:
    assert name_score(name) == expected


def test_real_names_rarely_look_default(pool: Pool) -> None:
    strong = [n for n in pool.names if name_score(n) == 1.0]
    assert len(strong) <= 0.01 * len(pool.names)


@pytest.mark.parametrize(("text", "expected"), [
    ("转发微博", None), ("轉發微博", None), ("Repost", None), ("", None), ("  \n ", None),
    ("//@A:说得好//@B:对", None), ("回复@某人:好的", None), ("[doge][doge]", None),
    ("http://t.cn/abc 转发", None), ("#话题# @某人 转发微博", None),
    ("支持！//@A:原文", None),  # too short after cleaning
    ("这家公司太良心了必须支持//@A:原文", "这家公司太良心了必须支持"),
    ("ＡＢＣ 全角也能读 123", "abc全角也能读123"),
])
def test_copy_text(text: str, expected: str | None) -> None:
    assert copy_text(text) == expected


def test_bad_input() -> None:
    assert score_accounts([]) == {}
    assert score_accounts([Post("weibo", "1")]) == {}  # no author: nothing to score
    nothing: Any = None
    junk: list[Any] = [None, "post", 3, Post("weibo", "2", author_id="a", text=nothing)]
    one = score_accounts(junk)
    assert list(one) == [("weibo", "a")] and 0 < one[("weibo", "a")].score < 0.05
    weird = [Author("weibo", "a", followers=-5, following=10**9,
                    extra={"created_at": "not a date"}),
             Author("weibo", "b", extra={"created_at": 10**30}), None]
    posts = [Post("weibo", "3", author_id="a", created_at=T0),
             Post("weibo", "4", author_id="b", kind="repost", root_post_id="r",
                  created_at=datetime(2024, 3, 1, 12))]  # naive time
    scores = score_accounts(posts, weird)  # type: ignore[arg-type]
    assert all(0 <= s.score <= 1 for s in scores.values())
    holes: Any = {("weibo", "a"): None}
    assert score_accounts(posts, holes)


def test_huge_texts_are_quick() -> None:
    big = "这是一段很长的文字，" * 10_000  # 100 KB
    posts = [Post("weibo", str(i), text=big + str(i), author_id=f"a{i}", kind="repost",
                  root_post_id="r", created_at=T0 + timedelta(seconds=i)) for i in range(30)]
    began = time.perf_counter()
    scores = score_accounts(posts)
    assert time.perf_counter() - began < 5
    assert scores[("weibo", "a0")].features["copy"] > 0  # same long text: still a copy


def test_weights_are_parameters() -> None:
    posts, authors = _ring()
    none = score_accounts(posts, authors, weights={})
    expected = 1 / (1 + math.exp(-BIAS))
    assert all(s.score == pytest.approx(expected) and s.reasons == [] for s in none.values())
    names_only = score_accounts(posts, authors, weights={"name": 10.0}, bias=0)
    assert names_only[("weibo", "r0")].reasons == ["default-style name '用户6100000000'"]


def test_account_age_forms() -> None:
    now = T0
    made = {"iso": (now - timedelta(days=10)).isoformat(), "dt": now - timedelta(days=3000),
            "epoch_ms": (now - timedelta(days=100)).timestamp() * 1000}
    authors = [Author("weibo", k, extra={"created_at": v}) for k, v in made.items()]
    posts = [Post("weibo", k, author_id=k, created_at=now) for k in made]
    scores = score_accounts(posts, authors, now=now)
    assert scores[("weibo", "iso")].features["age"] == 1.0
    assert scores[("weibo", "dt")].features["age"] == 0.0
    assert 0 < scores[("weibo", "epoch_ms")].features["age"] < 1
