"""Per-platform sheets, topic totals, platform measures and the influence indices' inputs."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta

import pytest

from crawlers.items import Author, Post
from scoring.influence import Tier, bci, bci_inputs, wci_inputs, wci_v14, zhihu_influence
from scoring.measure.sheets import measured_tier, metric_sheets, platform_measure

T0 = datetime(2026, 5, 1, tzinfo=UTC)


def test_platform_measures():
    assert platform_measure(Author("weibo", "u", followers=7), []).value == 7
    assert platform_measure(Author("forum", "u"), []).value is None
    arts = [Post("wechat", "1", author_id="gh", read_count="10万+"),  # type: ignore[arg-type]
            Post("wechat", "2", author_id="gh", read_count=99),
            Post("wechat", "3", author_id="gh"),  # no reads shown: not in the average
            Post("wechat", "4", author_id="other", read_count=1)]  # someone else's
    m = platform_measure(Author("wechat", "gh"), arts)
    assert (m.name, m.value) == ("reads", (100_001 + 99) / 2)
    answers = [Post("zhihu", "answer:1", kind="answer", author_id="z", like_count=30),
               Post("zhihu", "article:2", kind="article", author_id="z", like_count=12),
               Post("zhihu", "c", kind="comment", author_id="z", like_count=1000)]
    m = platform_measure(Author("zhihu", "z", followers=10**6), answers)
    assert (m.name, m.value, m.source) == ("upvotes", 42, "Σ like_count of the author's "
                                                          "answers and articles")
    lifetime = Author("zhihu", "z", extra={"voteup_count": 2_000_000})
    assert platform_measure(lifetime, answers).value == 2_000_000


@pytest.mark.parametrize(("author", "posts", "expected"), [
    (Author("weibo", "a", followers=150_000), [], Tier.WAIST),
    # Zhihu judged by upvotes: 900k followers but 20k upvotes is a tail account
    (Author("zhihu", "z", followers=900_000, extra={"voteup_count": 20_000}), [], Tier.TAIL),
    (Author("zhihu", "z", followers=10, extra={"voteup_count": 1_500_000}), [], Tier.HEAD),
    (Author("wechat", "gh"), [Post("wechat", "1", author_id="gh", read_count=12_000)],
     Tier.WAIST),
    (Author("forum", "f"), [], Tier.AMATEUR),
])
def test_measured_tier(author, posts, expected):
    assert measured_tier(author, posts)[0] is expected


def test_weibo_sheet():
    ps = [Post("weibo", "1", kind="original", author_id="a", read_count=1_000, like_count=5,
               comment_count=2, repost_count=3),
          Post("weibo", "2", kind="original", author_id="a", like_count=1),
          Post("weibo", "3", kind="repost", author_id="b", repost_count=9),
          Post("weibo", "4", kind="repost", author_id="c"),
          Post("weibo", "5", kind="repost", author_id="c"),
          Post("weibo", "6", kind="comment", author_id="d")]
    authors = {("weibo", "a"): Author("weibo", "a", followers=100),
               ("weibo", "b"): Author("weibo", "b", followers=20)}
    w = metric_sheets(ps, authors).weibo
    assert (w.posts, w.originals, w.reposts, w.comments_collected) == (6, 2, 3, 1)
    assert w.original_repost_ratio == pytest.approx(2 / 3)
    assert (w.readers, w.posts_with_reads, w.potential_readers, w.authors) == (1_000, 1, 120, 4)
    # reposts: max(3 counted on non-reposts, 3 collected); comments max(2, 1)
    assert (w.likes, w.comments, w.repost_count) == (6, 2, 3)


def test_wechat_sheet_and_wci_inputs():
    arts = [Post("wechat", "1", kind="article", author_id="gh", read_count=100_001,
                 like_count=12, repost_count=4, extra={"idx": 1, "old_like_num": 30},
                 created_at=T0),
            Post("wechat", "2", kind="article", author_id="gh", read_count=500, like_count=5,
                 extra={"idx": 2, "wow_count": 3}, created_at=T0 + timedelta(days=6)),
            Post("wechat", "3", kind="article", author_id="gh2", created_at=T0)]
    s = metric_sheets(arts)
    w = s.wechat
    assert (w.articles, w.accounts, w.reads, w.articles_with_reads) == (3, 2, 100_501, 2)
    assert (w.reads_per_article, w.articles_100k, w.headlines) == (100_501 / 2, 1, 1)
    # 在看: like_count of the getappmsgext layout (12) + wow_count (3); 赞: 30 + 5
    assert (w.wows, w.articles_with_wows, w.likes, w.shares) == (15, 2, 35, 4)
    row = next(r for r in s.influence["wechat"] if r.author_id == "gh")
    # the same articles in wci_inputs' own layout give the same WCI (the span is 6 days)
    same = [dataclasses.replace(arts[0], like_count=30, extra={"idx": 1, "wow_count": 12}),
            arts[1]]
    x = wci_inputs(same, days=6)
    assert row.index == "WCI" and row.value == pytest.approx(wci_v14(x))
    assert row.inputs == dataclasses.asdict(x) and row.inputs["wows"] == 15
    assert row.measure.name == "reads" and row.tier == "waist"


def test_zhihu_sheet():
    ps = [Post("zhihu", "answer:1", kind="answer", author_id="z", like_count=10,
               comment_count=2, extra={"question_id": "7", "thanks_count": 3}),
          Post("zhihu", "question:7", kind="thread"),
          Post("zhihu", "answer:2", kind="answer", author_id="y", like_count=5,
               extra={"question_id": "8"}),
          Post("zhihu", "article:3", kind="article", author_id="z", like_count=1)]
    s = metric_sheets(ps)
    z = s.zhihu
    assert (z.answers, z.articles, z.questions, z.upvotes, z.thanks) == (2, 1, 2, 16, 3)
    assert (z.comments, z.question_followers, z.authors) == (2, None, 2)
    assert any("question followers" in n for n in s.notes)
    followed = metric_sheets([*ps, Post("zhihu", "question:8", kind="thread",
                                        extra={"follower_count": 250})]).zhihu
    assert (followed.question_followers, followed.questions_with_followers) == (250, 1)
    top = s.influence["zhihu"][0]
    assert (top.author_id, top.value) == ("z", pytest.approx(zhihu_influence(None, 11)))


def test_forum_sheet():
    ps = [Post("forum", "t1", kind="thread", comment_count=40, read_count=900,
               extra={"site": "tieba"}),
          Post("forum", "t2", kind="thread", extra={"site": "bbs.example.com"}),
          *[Post("forum", f"r{i}", kind="reply", author_id=f"u{i}") for i in range(3)]]
    s = metric_sheets(ps)
    f = s.forum
    assert (f.threads, f.replies, f.replies_collected, f.views, f.threads_with_views) == (
        2, 40, 3, 900, 1)
    assert f.sites == {"tieba": 1, "bbs.example.com": 1} and f.authors == 3
    assert "forum" not in s.influence


def test_topic_totals_and_bci():
    ps = [Post("weibo", "1", kind="original", author_id="media", repost_count=4, like_count=2,
               comment_count=1),
          Post("weibo", "2", kind="repost", author_id="fan"),
          Post("wechat", "3", kind="article", author_id="gh", read_count=800, like_count=9,
               extra={"old_like_num": 20}),
          Post("zhihu", "answer:4", kind="answer", author_id="org", like_count=7),
          Post("forum", "5", kind="thread", comment_count=6)]
    authors = {("weibo", "media"): Author("weibo", "media", verified_type="3"),
               ("weibo", "fan"): Author("weibo", "fan", verified_type="0", verified=False),
               ("zhihu", "org"): Author("zhihu", "org", extra={"is_org": True})}
    s = metric_sheets(ps, authors)
    t = s.totals
    assert (t.posts, t.articles, t.authors, t.media_outlets) == (5, 4, 4, 2)
    # comments 1 + 6; reads 800; reposts max(4, 1 collected); likes 2 + 20 (赞, not 在看) + 7
    assert (t.comments, t.reads, t.reposts, t.likes) == (7, 800, 4, 29)
    assert t.platforms == {"weibo": 2, "wechat": 1, "zhihu": 1, "forum": 1}
    media = s.influence["weibo"][0]
    x = bci_inputs([ps[0]])
    assert media.author_id == "media" and media.value == pytest.approx(bci(x))
    assert media.inputs == dataclasses.asdict(x) and media.index == "BCI"


@pytest.mark.parametrize("posts", [[], [Post("weibo", "1")], [Post("unknown", "1", kind="x")]])
def test_bad_input(posts):
    s = metric_sheets(posts)
    json.dumps(s.as_dict(), ensure_ascii=False)
    assert s.notes
    assert s.totals.posts == len(posts)
