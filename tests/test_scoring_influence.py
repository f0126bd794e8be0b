"""Influence tiers and the 清博 indices, checked against the published formulas by hand."""

from __future__ import annotations

import math

import pytest

from crawlers.items import Author, Post
from scoring.influence import (
    BciInputs,
    Tier,
    WciInputs,
    author_tier,
    bci,
    bci_inputs,
    is_big_v,
    parse_reads,
    tier,
    wci_inputs,
    wci_v2,
    wci_v14,
    zhihu_influence,
)

ln = math.log


def test_bci_matches_the_published_formula():
    x = BciInputs(posts=30, originals=12, reposts=400, comments=250, original_reposts=300,
                  original_comments=200, likes=1500)
    w1 = 0.3 * ln(31) + 0.7 * ln(13)
    w2 = 0.2 * ln(401) + 0.2 * ln(251) + 0.25 * ln(301) + 0.25 * ln(201) + 0.1 * ln(1501)
    assert bci(x) == pytest.approx((0.2 * w1 + 0.8 * w2) * 160)


def test_wci_v14_matches_the_published_formula():
    # A week, 5 articles, 2 of them headlines.
    x = WciInputs(days=7, n=5, reads=35_000, wows=140, likes=210, shares=700,
                  head_reads=21_000, head_wows=70, head_likes=140, head_shares=350,
                  max_reads=100_001, max_wows=60, max_likes=90, max_shares=300)

    def block(r, z, lk, re_):
        return (0.70 * ln(r + 1) + 0.09 * ln(10 * z + 1) + 0.06 * ln(10 * lk + 1)
                + 0.15 * ln(10 * re_ + 1))

    o = block(35_000 / 7, 140 / 7, 210 / 7, 700 / 7)
    a = block(35_000 / 5, 140 / 5, 210 / 5, 700 / 5)
    h = block(21_000 / 7, 70 / 7, 140 / 7, 350 / 7)
    p = block(100_001, 60, 90, 300)
    assert wci_v14(x) == pytest.approx((0.6 * o + 0.2 * a + 0.1 * h + 0.1 * p) ** 2 * 1.2 * 10)


def test_wci_v2_published_example():
    # 清博's worked example for WCI V2.0: R=10000, R/n=100, Rmax=300, Z=4000, Z/n=40, Zmax=60.
    value = wci_v2(reads=10_000, n=100, max_reads=300, likes=4_000, max_likes=60)
    assert value == pytest.approx(411.4875, abs=5e-5)


def test_indices_of_an_empty_window_are_zero():
    assert bci(BciInputs()) == 0.0
    assert wci_v14(WciInputs(days=7, n=0)) == 0.0
    assert wci_v2(reads=0, n=0, max_reads=0, likes=0, max_likes=0) == 0.0
    assert zhihu_influence(None, None) == 0.0


@pytest.mark.parametrize(("followers", "expected"), [
    (1_000_000, Tier.HEAD), (999_999, Tier.WAIST), (100_000, Tier.WAIST),
    (99_999, Tier.TAIL), (10_000, Tier.TAIL), (9_999, Tier.AMATEUR), (None, Tier.AMATEUR),
])
def test_weibo_tier_boundaries_are_inclusive(followers, expected):
    assert tier(followers) is expected


def test_custom_thresholds_and_big_v():
    assert tier(50, thresholds={"head": 100, "waist": 50, "tail": 10}) is Tier.WAIST
    assert is_big_v(500_000, True) and not is_big_v(500_000, None)
    assert author_tier(Author("weibo", "x", followers=700_000, verified=True)) == (Tier.WAIST, True)
    custom = {"weibo": {"measure": "followers", "head": 500_000, "waist": 1, "tail": 0}}
    assert author_tier(Author("weibo", "x", followers=700_000), tiers=custom)[0] is Tier.HEAD


def test_wechat_tier_reads_average_reads_not_followers():
    account = Author("wechat", "gh_1", followers=10_000_000)
    assert author_tier(account)[0] is Tier.AMATEUR  # no reads known
    assert author_tier(account, reads=150_000)[0] is Tier.HEAD


def test_parse_reads_follows_the_100001_convention():
    assert parse_reads("10万+") == 100_001
    assert parse_reads("3.5万") == 35_000
    assert parse_reads("999") == 999
    assert parse_reads("n/a") is None


def test_bci_inputs_aggregates_originals_and_reposts_only():
    posts = [
        Post("weibo", "1", kind="original", repost_count=10, comment_count=4, like_count=7),
        Post("weibo", "2", kind="repost", repost_count=2, comment_count=1),
        Post("weibo", "3", kind="comment", repost_count=99, comment_count=99, like_count=99),
        Post("forum", "4", kind="thread", comment_count=5),
    ]
    assert bci_inputs(posts) == BciInputs(posts=3, originals=2, reposts=12, comments=10,
                                          original_reposts=10, original_comments=9, likes=7)


def test_wci_inputs_headlines_maxima_and_100001():
    arts = [
        Post("wechat", "a", kind="article", read_count=100_001, like_count=50, repost_count=30,
             extra={"idx": 1, "wow_count": "20"}),
        Post("wechat", "b", kind="article", read_count=2_000, like_count=5, extra={"idx": 2}),
    ]
    x = wci_inputs(arts, days=30)
    assert (x.n, x.days, x.reads, x.likes, x.shares, x.wows) == (2, 30, 102_001, 55, 30, 20)
    assert (x.head_reads, x.max_reads, x.max_likes) == (100_001, 100_001, 50)


def test_zhihu_influence_formula():
    assert zhihu_influence(999, 9_999) == pytest.approx((0.4 * ln(1000) + 0.6 * ln(10_000)) * 100)
    assert zhihu_influence(10, 100_000) > zhihu_influence(100_000, 10)  # voteups weigh more


def test_parse_reads_plus_and_separators_in_plain_digits():
    # "100000+" is the same "more than 100,000" display as "10万+", so by 清博's rule 100001;
    # "3,456" is 3456 reads, not an unreadable value (which wci_inputs would count as 0).
    assert parse_reads("100000+") == 100_001
    assert parse_reads("3,456") == 3456
    assert parse_reads(True) is None  # a flag, not a count
