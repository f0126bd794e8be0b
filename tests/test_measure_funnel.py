"""The four-layer funnel: layer definitions per platform, step rates, caps, days, bad input."""

from __future__ import annotations

import json
import math
from datetime import UTC, date, datetime, timedelta

import pytest

from crawlers.items import Author, Post
from scoring.measure.funnel import (
    CHINA_TZ,
    cap_counters,
    counter_table,
    funnel_report,
    post_counters,
    wechat_likes,
)

T0 = datetime(2026, 5, 1, 4, 0, tzinfo=UTC)  # 12:00 in China


def test_wechat_likes_reads_both_layouts():
    # getappmsgext: like_num (在看) in like_count, the thumbs-up in old_like_num
    assert wechat_likes(Post("wechat", "a", like_count=12, extra={"old_like_num": 30})) == (30, 12)
    # scoring.influence.wci_inputs' layout: 在看 in extra["wow_count"]
    assert wechat_likes(Post("wechat", "b", like_count=5, extra={"wow_count": "2"})) == (5, 2)
    assert wechat_likes(Post("wechat", "c", like_count=5)) == (5, None)


def test_counters_are_normalised_and_bad_ones_counted():
    posts = [
        Post("wechat", "1", read_count="10万+"),  # type: ignore[arg-type]
        Post("weibo", "2", like_count=-3, comment_count=float("nan")),  # type: ignore[arg-type]
        Post("weibo", "3", repost_count="很多", like_count=True),  # type: ignore[arg-type]
        Post("weibo", "4"),
    ]
    t = counter_table(posts)
    assert t.reads[0] == 100_001
    assert t.invalid == 4 and t.missing == 3  # 2, 3 (all their counters invalid) and 4
    assert all(math.isnan(x) for x in (t.likes[1], t.comments[1], t.shares[2], t.likes[2]))


def test_weibo_layers_by_hand():
    root = Post("weibo", "r", kind="original", text="新品发布", author_id="a", created_at=T0,
                like_count=10, comment_count=4, repost_count=6)
    bare = Post("weibo", "s1", kind="repost", text="转发微博", author_id="b", created_at=T0)
    worded = Post("weibo", "s2", kind="repost", text="支持！//@a: 新品发布", author_id="c",
                  created_at=T0, repost_count=2)
    comment = Post("weibo", "c1", kind="comment", text="好看", author_id="d", created_at=T0,
                   like_count=2)
    authors = {("weibo", k): Author("weibo", k, followers=f)
               for k, f in (("a", 5_000), ("b", 300), ("c", 200), ("d", 10_000))}
    r = funnel_report([root, bare, worded, comment], authors=authors, reach_rate=0.1).total
    # exposure: no reads, so followers × 0.1 of the original and the two reposts (not the comment)
    assert r.exposure == pytest.approx(500 + 30 + 20)
    assert r.exposure_estimated == pytest.approx(r.exposure) and r.exposure_known == 3
    # likes 10 + 2; comments max(4, 1 collected); shares max(6 of non-reposts, 2 collected):
    # the repost's own repost_count is inside the root's
    assert (r.likes, r.comments, r.shares) == (12, 4, 6)
    assert r.interaction == 22
    assert r.creation == 3  # the original, the repost with words, the comment
    assert r.sharing == 6
    # the first step uses the interaction of posts with known exposure: 10+4+6 of the root
    assert r.interaction_reached == 20
    assert r.steps[0].rate == pytest.approx(20 / 550)
    assert r.steps[1].rate == pytest.approx(3 / 22)
    assert r.steps[2].rate == pytest.approx(2.0) and not r.steps[2].monotone
    assert r.steps[2].drop_off == pytest.approx(-1.0)
    assert "sharing (6) exceeds creation (3)" in r.steps[2].note


def test_wechat_zhihu_forum_layers_by_hand():
    art = Post("wechat", "w", kind="article", read_count=2_000, like_count=8, comment_count=3,
               repost_count=20, created_at=T0, extra={"old_like_num": 40})
    ans = Post("zhihu", "answer:1", kind="answer", like_count=100, comment_count=10,
               created_at=T0, author_id="z", extra={"thanks_count": 5})
    thread = Post("forum", "t", kind="thread", read_count=1_000, comment_count=30, created_at=T0)
    reply = Post("forum", "t-2", kind="reply", text="顶一下，说得对", comment_count=1,
                 created_at=T0)
    rep = funnel_report([art, ans, thread, reply],
                        authors={("zhihu", "z"): Author("zhihu", "z", followers=1_000)})
    w, z, f = rep.platforms["wechat"], rep.platforms["zhihu"], rep.platforms["forum"]
    # WeChat: thumbs-up 40; shares = 分享 20 + 在看 8; comments 3
    assert (w.exposure, w.likes, w.shares, w.comments, w.interaction) == (2_000, 40, 28, 3, 71)
    assert (w.creation, w.sharing) == (1, 28)
    # Zhihu: 赞同 100 + 感谢 5; no share count, and that is noted; exposure from followers
    assert (z.likes, z.comments, z.sharing, z.exposure) == (105, 10, 0, 1_000)
    assert any("Zhihu shows no share count" in n for n in z.notes)
    # forum: views; comments = Σ comment_count (30 + 1 楼中楼) ≥ the 1 reply collected
    assert (f.exposure, f.comments, f.interaction, f.creation) == (1_000, 31, 31, 2)
    assert rep.total.interaction == 71 + 115 + 31


def test_water_thread_is_capped_and_reported():
    threads = [Post("forum", f"t{i}", kind="thread", read_count=1_000, created_at=T0,
                    comment_count=20 if i < 10 else 30) for i in range(20)]
    water = Post("forum", "water", kind="thread", read_count=1_000, created_at=T0,
                 comment_count=5_000_000)
    raw = funnel_report([*threads, water], cap_k=None).total
    assert raw.interaction > raw.exposure  # uncapped, one thread swamps the funnel
    assert not raw.steps[0].monotone and "exceeds exposure" in raw.steps[0].note

    rep = funnel_report([*threads, water])
    # median of log1p = ln 31 (the 11th of 21 values); MAD = |ln 21 − ln 31|, × 1.4826 > 0.5
    spread = 1.4826 * abs(math.log(21) - math.log(31))
    cap = math.floor(math.expm1(math.log(31) + 5 * spread))
    c = next(c for c in rep.capping if c.platform == "forum" and c.counter == "comments")
    assert (c.cap, c.capped, c.positive) == (cap, 1, 21)
    assert c.median == pytest.approx(30) and c.spread == pytest.approx(spread)
    assert c.removed == 5_000_000 - cap and c.largest == (("water", 5_000_000.0),)
    t = rep.total
    assert t.interaction == 10 * 20 + 10 * 30 + cap
    assert t.interaction < 0.1 * t.exposure and t.steps[0].monotone
    assert any(n.startswith("outliers capped: forum comments: 1 capped") for n in rep.notes)


def test_caps_need_enough_posts_and_spare_followers():
    few = [Post("weibo", str(i), like_count=10 ** i) for i in range(5)]
    t = counter_table(few)
    reports = cap_counters(t, min_posts=10)
    likes = next(r for r in reports if r.counter == "likes")
    assert likes.cap is None and "fewer than min_posts=10" in (likes.note or "")
    assert t.likes.max() == 10_000  # untouched
    # follower-estimated exposure is not a counter: a head account keeps its audience
    posts = [Post("weibo", str(i), author_id=f"u{i}", kind="original") for i in range(12)]
    authors = {("weibo", f"u{i}"): Author("weibo", f"u{i}", followers=100) for i in range(11)}
    authors[("weibo", "u11")] = Author("weibo", "u11", followers=100_000_000)
    assert funnel_report(posts, authors=authors).total.exposure == 11 * 100 + 100_000_000


def test_days_are_china_calendar_days():
    late = datetime(2026, 5, 1, 17, 0, tzinfo=UTC)  # 01:00 on 2 May in China
    posts = [Post("wechat", "a", kind="article", read_count=10, created_at=T0),
             Post("wechat", "b", kind="article", read_count=20, created_at=late),
             Post("wechat", "c", kind="article", read_count=40, created_at=late.replace(
                 tzinfo=None))]  # naive: read as UTC
    days = funnel_report(posts).daily["wechat"]
    assert [(d.day, d.exposure) for d in days] == [(date(2026, 5, 1), 10),
                                                   (date(2026, 5, 2), 60)]
    utc_days = funnel_report(posts, tz=UTC).daily["wechat"]
    assert [d.day for d in utc_days] == [date(2026, 5, 1)]


def test_zoneinfo_days_match_the_fixed_offset():
    zoneinfo = pytest.importorskip("zoneinfo")
    try:
        shanghai = zoneinfo.ZoneInfo("Asia/Shanghai")
    except zoneinfo.ZoneInfoNotFoundError:
        pytest.skip("no tz database")
    posts = [Post("weibo", str(i), created_at=T0 + timedelta(hours=7 * i)) for i in range(8)]
    a = [d.day for d in funnel_report(posts, tz=shanghai).daily["weibo"]]
    b = [d.day for d in funnel_report(posts, tz=CHINA_TZ).daily["weibo"]]
    assert a == b


@pytest.mark.parametrize("posts", [[], [Post("forum", "1")], [Post("weibo", "x", kind="repost")]])
def test_bad_input_gives_notes_not_errors(posts):
    rep = funnel_report(posts)
    json.dumps(rep.as_dict(), ensure_ascii=False)
    assert rep.notes
    for step in rep.total.steps:
        assert step.rate is None or step.rate >= 0


def test_empty_and_undated():
    rep = funnel_report([])
    assert rep.total.posts == 0 and rep.platforms == {} and rep.daily == {}
    assert rep.notes == ("no posts: every layer is 0",)
    one = funnel_report([Post("weibo", "1", like_count=3)])
    assert one.daily == {"weibo": ()}
    assert any("without created_at" in n for n in one.notes)
    assert any("no post shows reads" in n for n in one.total.notes)
    assert one.total.steps[0].note == "3 interaction with no exposure measured"


def test_counter_table_input_and_as_dict():
    t = counter_table([Post("wechat", "a", kind="article", read_count=100, like_count=1,
                            created_at=T0)])
    rep = funnel_report(t)
    d = rep.as_dict()
    assert d["total"]["exposure"] == 100 and d["daily"]["wechat"][0]["day"] == "2026-05-01"
    assert d["capping"][0]["largest"] == []
    with pytest.raises(ValueError, match="authors= is read by counter_table"):
        funnel_report(t, authors={})


def test_vectorised_quirks_match_the_per_post_reading():
    posts = [
        Post("wechat", "1", read_count=10, like_count=3, repost_count=2,
             extra={"old_like_num": 7}),
        Post("wechat", "2", like_count=5, extra={"wow_count": "2"}),
        Post("wechat", "3", like_count=5, repost_count=1),
        Post("wechat", "4", repost_count=-1, extra={"old_like_num": 4}),
        Post("wechat", "5", extra={"wow_count": None, "old_like_num": 1}),
        Post("zhihu", "6", like_count=9, extra={"thanks_count": 2}),
        Post("zhihu", "7", extra={"thanks_count": "x"}),
        Post("zhihu", "8", like_count=1),
    ]
    t = counter_table(posts)
    for i, p in enumerate(posts):
        want = [math.nan if v is None or v < 0 else float(v) for v in post_counters(p)]
        got = [t.reads[i], t.likes[i], t.comments[i], t.shares[i]]
        assert got == pytest.approx(want, nan_ok=True), p.post_id
    assert t.invalid == 2  # post 4's shares (-1 + 在看 1) and post 7's likes ("x" thanks)


def test_reach_rate_must_be_a_share():
    with pytest.raises(ValueError, match="reach_rate"):
        funnel_report([], reach_rate=-1)


def test_days_add_up_to_platforms_and_platforms_to_the_total():
    # day 1: a thread counting 2 replies while 5 were collected; day 2: 9 counted, 1 collected
    posts = [Post("forum", "t1", kind="thread", comment_count=2, created_at=T0),
             *[Post("forum", f"r{i}", kind="reply", text="同意", created_at=T0)
               for i in range(5)],
             Post("forum", "t2", kind="thread", comment_count=9, created_at=T0 + timedelta(1)),
             Post("forum", "r9", kind="reply", text="同意", created_at=T0 + timedelta(1)),
             Post("forum", "undated", kind="thread", comment_count=4),
             Post("weibo", "w", like_count=1, created_at=T0)]
    rep = funnel_report(posts)
    forum = rep.platforms["forum"]
    assert [d.comments for d in rep.daily["forum"]] == [5, 9]
    assert forum.comments == 5 + 9 + 4  # the undated thread counts in the period, not a day
    assert rep.total.comments == forum.comments + rep.platforms["weibo"].comments
    for name in ("posts", "interaction", "creation", "sharing"):
        assert getattr(rep.total, name) == sum(getattr(r, name) for r in rep.platforms.values())
