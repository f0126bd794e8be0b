"""Share of voice: Wilson intervals, largest-remainder percents, overlap, KOLs, bad input, and
the same rows from a store's counts (``share_from_counts``)."""

from __future__ import annotations

import json
import random
from datetime import UTC, date, datetime, timedelta

import pytest

from crawlers.items import Author, Post
from scoring.measure.share import (
    largest_remainder,
    share_from_counts,
    share_of_voice,
    wilson,
)

T0 = datetime(2026, 5, 1, 4, tzinfo=UTC)


@pytest.mark.parametrize(("k", "n", "low", "high"), [
    (81, 263, 0.2553, 0.3662),  # the textbook example (Wilson 1927 as quoted by Newcombe 1998)
    (0, 10, 0.0, 0.2775),
    (10, 10, 0.7225, 1.0),
    (1, 2, 0.0945, 0.9055),
])
def test_wilson_known_values(k, n, low, high):
    lo, hi = wilson(k, n)
    assert (round(lo, 4), round(hi, 4)) == (low, high)


def test_wilson_edges():
    assert wilson(0, 0) is None
    wide, narrow = wilson(81, 263, confidence=0.99), wilson(81, 263, confidence=0.90)
    assert wide[0] < narrow[0] < narrow[1] < wide[1]
    with pytest.raises(ValueError):
        wilson(5, 3)


@pytest.mark.parametrize(("values", "decimals", "expected"), [
    ([1, 1, 1], 1, [33.4, 33.3, 33.3]),
    ([1, 1, 1], 0, [34.0, 33.0, 33.0]),
    ([2, 2, 2, 1], 1, [28.6, 28.6, 28.5, 14.3]),  # exact 28.571…, 14.285…: the top remainders
    ([0.5, 0.25, 0.25], 0, [50.0, 25.0, 25.0]),
    ([0, 0], 1, [0.0, 0.0]),
    ([], 1, []),
])
def test_largest_remainder(values, decimals, expected):
    assert largest_remainder(values, decimals=decimals) == expected


def test_largest_remainder_always_sums_to_100():
    rng = random.Random(7)
    for _ in range(500):
        values = [rng.random() * rng.choice([1, 10, 1000]) for _ in range(rng.randint(1, 9))]
        for decimals in (0, 1, 2):
            out = largest_remainder(values, decimals=decimals)
            assert round(sum(out), decimals) == 100
            assert all(abs(o - 100 * v / sum(values)) < 10 ** -decimals for o, v in
                       zip(out, values, strict=True))


def _post(pid, platform="weibo", likes=0, label=None, day=0, author=None, kind="original"):
    return Post(platform, pid, kind=kind, like_count=likes, sentiment_label=label,
                created_at=T0 + timedelta(days=day), author_id=author)


def test_share_of_voice_by_hand():
    p1 = _post("1", likes=10, label="positive")
    p2 = _post("2", likes=2, label="negative")
    p3 = _post("answer:3", platform="zhihu", likes=5, label="positive", kind="answer", day=1)
    p4 = _post("4", likes=3, label="neutral", day=1)
    p5 = _post("5")
    sov = share_of_voice({"A": [p1, p2, p3], "B": [p1, p4, p5, p5]})
    a, b = sov.overall["A"], sov.overall["B"]
    assert (a.mentions, b.mentions) == (3, 3)  # p1 in both; p5 listed twice under B counts once
    assert (a.share, a.share_pct, b.share_pct) == (0.5, 50.0, 50.0)
    assert a.share_ci == pytest.approx(wilson(3, 6))
    # engagement: A 10 + 2 + 5 = 17, B 10 + 3 + 0 = 13 of 30
    assert (a.engagement, b.engagement) == (17, 13)
    assert a.engagement_share == pytest.approx(17 / 30)
    assert (a.engagement_pct, b.engagement_pct) == (56.7, 43.3)
    # net: A 2 positive, 1 negative → 1/3, interval from Wilson(2, 3) mapped by 2p − 1
    lo, hi = wilson(2, 3)
    assert a.net == pytest.approx(1 / 3) and a.net_ci == pytest.approx((2 * lo - 1, 2 * hi - 1))
    assert (b.positive, b.neutral, b.unscored, b.net, b.net_ci[1]) == (1, 1, 1, 1.0, 1.0)
    weibo, zhihu = sov.platforms["weibo"], sov.platforms["zhihu"]
    assert (weibo["A"].mentions, weibo["B"].mentions) == (2, 3)
    assert (weibo["A"].share_pct, weibo["B"].share_pct) == (40.0, 60.0)
    assert (zhihu["A"].share_pct, zhihu["B"].share_pct, zhihu["B"].share) == (100.0, 0.0, 0.0)
    assert sov.overlap.as_dict() == {"posts": 5, "mentions": 6, "multi_brand_posts": 1,
                                     "pairs": {"A & B": 1}}
    assert any("1 of 5 posts mention several brands" in n for n in sov.notes)
    assert any("1 repeated listings" in n for n in sov.notes)
    d1, d2 = date(2026, 5, 1), date(2026, 5, 2)
    assert {d: {k: v.mentions for k, v in row.items()} for d, row in sov.daily.items()} == {
        d1: {"A": 2, "B": 2}, d2: {"A": 1, "B": 1}}
    assert sov.daily[d1]["A"].net == 0.0 and sov.daily[d2]["B"].net is None
    out = sov.as_dict()
    json.dumps(out, ensure_ascii=False)
    assert out["daily"]["2026-05-01"]["A"]["share_pct"] == 50.0


def test_displayed_percents_add_up():
    posts = {b: [_post(f"{b}{i}", day=i % 2) for i in range(n)]
             for b, n in (("A", 1), ("B", 1), ("C", 1))}
    sov = share_of_voice(posts)
    assert [s.share_pct for s in sov.overall.values()] == [33.4, 33.3, 33.3]
    for row in sov.daily.values():
        assert round(sum(s.share_pct for s in row.values()), 1) == 100.0


def test_kols_shared_exclusive_and_zhihu_by_upvotes():
    authors = {
        ("weibo", "w1"): Author("weibo", "w1", name="大号", followers=1_000_000),
        ("weibo", "w2"): Author("weibo", "w2", followers=10, tier="head"),
        ("weibo", "w3"): Author("weibo", "w3", followers=500),
        ("zhihu", "z1"): Author("zhihu", "z1", followers=900_000, extra={"voteup_count": 100}),
        ("zhihu", "z2"): Author("zhihu", "z2", followers=10, extra={"voteup_count": 50_000}),
    }
    posts = {
        "A": [_post("a1", author="w1"), _post("a2", author="w2"),
              _post("answer:1", "zhihu", author="z2", kind="answer")],
        "B": [_post("b1", author="w1"), _post("b2", author="w3"),
              _post("answer:2", "zhihu", author="z1", kind="answer")],
    }
    sov = share_of_voice(posts, authors, kol_top=1)
    assert [(k.platform, k.author_id) for k in sov.kols] == [
        ("weibo", "w1"), ("weibo", "w2"), ("zhihu", "z2")]
    w1 = sov.kols[0]
    assert (w1.name, w1.measure, w1.measure_name, w1.brands) == ("大号", 1e6, "followers",
                                                                ("A", "B"))
    assert sov.kols[2].measure_name == "upvotes" and sov.kols[2].measure == 50_000
    assert [k.author_id for k in sov.shared_kols] == ["w1"]
    assert {b: [k.author_id for k in ks] for b, ks in sov.exclusive_kols.items()} == {
        "A": ["w2", "z2"], "B": []}


def test_kols_from_posts_alone():
    arts = [Post("wechat", f"{i}", kind="article", author_id=f"gh{i % 3}", read_count=100 * i)
            for i in range(6)]
    sov = share_of_voice({"A": arts}, kol_top=2)
    assert [(k.author_id, k.measure) for k in sov.kols] == [("gh2", 350.0), ("gh1", 250.0)]
    assert any("no authors given" in n for n in sov.notes)


@pytest.mark.parametrize("posts_by_brand", [{}, {"A": []}, {"A": [], "B": [Post("forum", "1")]}])
def test_bad_input(posts_by_brand):
    sov = share_of_voice(posts_by_brand)
    json.dumps(sov.as_dict(), ensure_ascii=False)
    for s in sov.overall.values():
        assert s.share_pct in (0.0, 100.0)
    if not any(posts_by_brand.values()):
        assert "no posts: every share is None" in sov.notes
        assert all(s.share is None for s in sov.overall.values())


def _counts(posts_by_brand):
    """What ``Store.post_counts(by=("sentiment_label",))`` gives per brand: posts per stored
    label and summed likes + comments + reposts."""
    labels, engagement = {}, {}
    for brand, posts in posts_by_brand.items():
        mine = labels.setdefault(brand, {})
        for p in posts:
            mine[p.sentiment_label] = mine.get(p.sentiment_label, 0) + 1
        engagement[brand] = sum((p.like_count or 0) + (p.comment_count or 0)
                                + (p.repost_count or 0) for p in posts)
    return labels, engagement


def test_share_from_counts_by_hand():
    rows = share_from_counts({"A": {"positive": 2, "negative": 1},
                              "B": {"neutral": 1, None: 1, "unknown label": 1}},
                             {"A": 17, "B": 13})
    a, b = rows["A"], rows["B"]
    assert list(rows) == ["A", "B"] and (a.platform, a.brand) == ("all", "A")
    assert (a.mentions, b.mentions, a.share, a.share_pct, b.share_pct) == (3, 3, 0.5, 50.0, 50.0)
    assert a.share_ci == pytest.approx(wilson(3, 6))
    assert (a.engagement, a.engagement_pct, b.engagement_pct) == (17, 56.7, 43.3)
    assert a.engagement_share == pytest.approx(17 / 30)
    lo, hi = wilson(2, 3)
    assert a.net == pytest.approx(1 / 3) and a.net_ci == pytest.approx((2 * lo - 1, 2 * hi - 1))
    assert (b.positive, b.negative, b.neutral, b.unscored, b.net, b.net_ci) == (
        0, 0, 1, 2, None, None)
    three = share_from_counts({"A": {None: 1}, "B": {None: 1}, "C": {None: 1}}, {})
    assert [s.share_pct for s in three.values()] == [33.4, 33.3, 33.3]  # always 100 in all
    assert [s.engagement_share for s in three.values()] == [None, None, None]


def test_share_from_counts_is_share_of_voice_for_single_brand_posts():
    """Posts each listed under one brand, labelled or not, with no outlying counters: the
    counts give share_of_voice's overall rows exactly (engagement too, as nothing is
    capped)."""
    rng = random.Random(11)
    labels = ("positive", "negative", "neutral", None)
    posts = {brand: [_post(f"{brand}{i}", likes=rng.randint(3, 6), label=rng.choice(labels),
                           day=i % 3)
                     for i in range(n)] for brand, n in (("A", 40), ("B", 25), ("C", 7))}
    sov = share_of_voice(posts)
    assert not any(c.capped for c in sov.capping)
    rows = share_from_counts(*_counts(posts))
    assert rows == sov.overall
    assert round(sum(r.share_pct for r in rows.values()), 1) == 100.0


def test_share_from_counts_does_not_cap_engagement():
    """The one difference the dashboard lives with: share_of_voice caps an outlying counter,
    counts arrive summed and are taken as they are; mentions, shares and nets still agree."""
    posts = {"A": [_post(f"a{i}", likes=5 + i % 3, label="positive") for i in range(20)],
             "B": [_post(f"b{i}", likes=5 + i % 3, label="negative") for i in range(20)]}
    posts["B"].append(_post("viral", likes=5_000_000, label="negative"))
    sov = share_of_voice(posts)
    assert any(c.capped for c in sov.capping)
    rows = share_from_counts(*_counts(posts))
    for brand in posts:
        ours, theirs = rows[brand], sov.overall[brand]
        assert (ours.mentions, ours.share_pct, ours.share_ci, ours.net, ours.net_ci) == (
            theirs.mentions, theirs.share_pct, theirs.share_ci, theirs.net, theirs.net_ci)
    assert rows["B"].engagement > sov.overall["B"].engagement
    assert rows["B"].engagement_pct > sov.overall["B"].engagement_pct


def test_share_from_counts_bad_input():
    assert share_from_counts({}, {}) == {}
    empty = share_from_counts({"A": {}, "B": {"positive": 0}}, {"A": 0})
    assert [(s.mentions, s.share, s.share_ci, s.share_pct) for s in empty.values()] == [
        (0, None, None, 0.0), (0, None, None, 0.0)]
    json.dumps({b: s.as_dict() for b, s in empty.items()})
    with pytest.raises(ValueError, match="negative count"):
        share_from_counts({"A": {"positive": -1}}, {})
    with pytest.raises(ValueError, match="negative engagement"):
        share_from_counts({"A": {"positive": 1}}, {"A": -3})
