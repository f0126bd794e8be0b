"""The window snapshot: counts, shares, risk words, head accounts joining, crawl health and
cascade metrics, on hand-built posts and runs whose numbers can be counted by eye."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from crawlers.items import Author, CrawlRun, Post
from scoring.snapshot import crawl_failure, snapshot

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def post(pid: str, minutes_ago: float, label: str | None = None, *, platform: str = "weibo",
         author: str | None = None, risk: list[str] | None = None,
         score: float | None = None) -> Post:
    return Post(platform, pid, created_at=NOW - timedelta(minutes=minutes_ago), author_id=author,
                sentiment_label=label, sentiment=score, risk_hits=risk)


def test_window_counts_shares_and_bounds() -> None:
    posts = [
        post("1", 10, "negative"), post("2", 20, "negative", platform="zhihu"),
        post("3", 30, "positive"), post("4", 40, "neutral"), post("5", 50),        # unscored
        post("6", 55, score=0.1),      # label from the score
        post("7", 60, "negative"),      # exactly at the window start: inside [now - 1h, now)
        post("8", 61, "negative"),      # before the window
        post("9", 0, "negative"),       # at now: outside
    ]
    m = snapshot(posts, {}, None, [], now=NOW, window=HOUR)
    assert m["posts/count"] == 7 and m["posts/scored"] == 6
    assert (m["posts/negative"], m["posts/positive"], m["posts/neutral"]) == (4, 1, 1)
    assert m["posts/negative_ratio"] == pytest.approx(4 / 6)
    assert m["posts/net_sentiment"] == pytest.approx((1 - 4) / (1 + 4))
    assert (m["posts/platform/weibo"], m["posts/platform/zhihu"]) == (6, 1)
    assert m["posts/volume_by_hour"] == 7
    assert (m["window/end"], m["window/seconds"]) == (NOW.timestamp(), 3600)


def test_empty_window_is_all_zeros_not_an_error() -> None:
    m = snapshot([], {}, None, [], now=NOW, window=HOUR)
    assert m["posts/count"] == 0
    assert m["posts/negative_ratio"] == 0 and m["posts/net_sentiment"] == 0


def test_risk_words_are_counted_per_word_and_per_post() -> None:
    posts = [post("1", 5, risk=["维权", "曝光"]), post("2", 6, risk=["维权"]),
             post("3", 7, risk=[]), post("4", 90, risk=["骗"])]  # the last is outside the window
    m = snapshot(posts, {}, None, [], now=NOW, window=HOUR)
    assert (m["risk/hits"], m["risk/posts"]) == (3, 2)
    assert (m["risk/word/维权"], m["risk/word/曝光"]) == (2, 1) and "risk/word/骗" not in m


def test_head_accounts_joining_for_the_first_time() -> None:
    authors = {
        ("weibo", "head"): Author("weibo", "head", tier="head", followers=2_000_000),
        ("weibo", "bigv"): Author("weibo", "bigv", verified=True, followers=600_000),     # 大V
        ("weibo", "unverified"): Author("weibo", "unverified", verified=False, followers=900_000),
        ("weibo", "veteran"): Author("weibo", "veteran", tier="head", followers=3_000_000),
        # Zhihu's 大V cut-off is 100k upvotes (followers do not count there).
        ("zhihu", "zbigv"): Author("zhihu", "zbigv", verified=True, followers=10,
                                   extra={"voteup_count": 150_000}),
        ("zhihu", "zfans"): Author("zhihu", "zfans", verified=True, followers=900_000,
                                   extra={"voteup_count": 5_000}),
    }
    posts = [
        post("1", 10, author="head"), post("2", 20, author="bigv"),
        post("3", 30, author="unverified"),
        post("4", 30, author="veteran"), post("5", 600, author="veteran"),  # seen hours ago
        post("6", 40, author="zbigv", platform="zhihu"), post("7", 45, author="nobody"),
        post("8", 50, author="zfans", platform="zhihu"),
    ]
    m = snapshot(posts, authors, None, [], now=NOW, window=HOUR)
    assert m["authors/active"] == 7 and m["authors/head"] == 4
    assert m["authors/head_joined"] == 3
    joined = sorted(k for k in m if k.startswith("authors/head_joined/"))
    assert joined == ["authors/head_joined/weibo/bigv", "authors/head_joined/weibo/head",
                      "authors/head_joined/zhihu/zbigv"]
    assert m["authors/head_joined/weibo/head"] == 2_000_000


def run(n: int, reason: str | None, platform: str = "weibo", **stats) -> CrawlRun:
    return CrawlRun(f"r{n}-{platform}", platform, kind="crawl", finish_reason=reason, stats=stats,
                    started_at=NOW - timedelta(hours=10 - n))


@pytest.mark.parametrize(("crawl", "failure"), [
    (run(0, "finished", item_scraped_count=5), None),
    (run(0, "login_required"), "login_required"),
    (run(0, "finished", **{"platform/weibo/rate_limited": 3}), "rate_limited"),     # saw nothing
    (run(0, "finished", item_scraped_count=9, **{"platform/weibo/rate_limited": 3}), None),
    (run(0, "shutdown"), "crashed"),
    (run(0, "closespider_pagecount", item_scraped_count=1), None),
])
def test_crawl_failure_reasons(crawl, failure) -> None:
    assert crawl_failure(crawl) == failure


def test_consecutive_crawl_failures_reset_on_success() -> None:
    runs = [run(1, "login_required"), run(2, "finished", item_scraped_count=4),
            run(3, "login_required"), run(4, "rate_limited"), run(5, "login_required"),
            run(1, "finished", "zhihu", item_scraped_count=7),
            CrawlRun("monitor-run", "weibo", kind="monitor", started_at=NOW, finish_reason="x")]
    m = snapshot([], {}, None, reversed(runs), now=NOW, window=HOUR)  # order of input is irrelevant
    assert m["crawl/weibo/consecutive_failures"] == 3
    assert (m["crawl/weibo/login_required"], m["crawl/weibo/rate_limited"]) == (1, 0)
    assert m["crawl/zhihu/consecutive_failures"] == 0 and m["crawl/zhihu/items"] == 7
    assert m["crawl/max_consecutive_failures"] == 3


@pytest.mark.parametrize("cascades", [
    {"a": {"size": 10, "depth": 3, "max_breadth": 5, "structural_virality": 2.1},
     "b": {"size": 4, "depth": 4, "max_breadth": 1, "structural_virality": 2.5}},
    [SimpleNamespace(size=10, depth=3, max_breadth=5, structural_virality=2.1),
     SimpleNamespace(size=4, depth=4, max_breadth=1, structural_virality=2.5)],
])
def test_cascade_metrics_from_a_graph_report(cascades) -> None:
    m = snapshot([], {}, {"cascades": cascades}, [], now=NOW, window=HOUR)
    assert (m["cascade/count"], m["cascade/max_size"], m["cascade/max_depth"]) == (2, 10, 4)
    assert (m["cascade/max_breadth"], m["cascade/max_virality"]) == (5, 2.5)
    without = snapshot([], {}, None, [], now=NOW, window=HOUR)
    assert not any(k.startswith("cascade/") for k in without)
