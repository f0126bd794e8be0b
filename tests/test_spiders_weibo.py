"""Weibo: parsers on every fixture, soft failures, endpoint detection, and one end-to-end crawl.

Expected values are read from the fixture files (ids, names, counts, dates); times are the
files' China times converted to UTC by hand. ``NOW`` is when the 2019 recordings were made.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from crawlers.errors import (
    Blocked,
    ContentUnavailable,
    LoginRequired,
    PlatformError,
    RateLimited,
    UnexpectedPayload,
)
from crawlers.items import Author, Post
from crawlers.spiders.weibo import ENDPOINTS, WeiboSpider, check_response, detect_endpoint
from crawlers.spiders.weibo.checks import decode_body
from crawlers.spiders.weibo.comments import comments_show_pages, hotflow_cursor
from crawlers.spiders.weibo.reposts import link_parents, merge_long_text
from crawlers.spiders.weibo.text import clean_html, own_text, parse_count, repost_chain
from crawlers.spiders.weibo.urls import hotflow_url, search_url
from tests.fixture_server import FIXTURES

DIR = FIXTURES / "weibo"
SHARED = Path("/work/shared/fixtures/weibo")
MANIFEST = json.loads((DIR / "manifest.json").read_text(encoding="utf-8"))
NOW = datetime(2019, 6, 16, 12, 0, tzinfo=UTC)  # 2019-06-16 20:00 in Beijing


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def body(name: str) -> bytes:
    return (DIR / name).read_bytes()


def parse(endpoint: str, name: str, **context: object) -> tuple[dict[str, Post], dict[str, Author]]:
    items = ENDPOINTS[endpoint](body(name), now=NOW, **context)
    posts = {i.post_id: i for i in items if isinstance(i, Post)}
    authors = {i.author_id: i for i in items if isinstance(i, Author)}
    assert len(posts) + len(authors) == len(items), "a parser returned a duplicate"
    return posts, authors


# -- fixtures and manifest ------------------------------------------------------------------------
def test_every_file_is_routed_and_every_route_is_consistent() -> None:
    routed = {r["file"] for r in MANIFEST["routes"]}
    on_disk = {p.name for p in DIR.iterdir() if p.name != "manifest.json"}
    assert routed == on_disk
    for route in MANIFEST["routes"]:
        assert route["origin"] == (
            "constructed" if route["file"].startswith("constructed-") else "recorded"
        )
        assert route["note"] and route["url"].startswith("https://")


@pytest.mark.skipif(not SHARED.is_dir(), reason="the shared recordings are not on this machine")
def test_recorded_files_are_byte_identical_copies() -> None:
    for route in MANIFEST["routes"]:
        if route["origin"] == "recorded":
            assert body(route["file"]) == (SHARED / route["file"]).read_bytes(), route["file"]


# -- m.weibo.cn statuses --------------------------------------------------------------------------
def test_timeline_posts_counts_and_month_day_times() -> None:
    posts, authors = parse(
        "timeline", "m.weibo.cn-api-container-getIndex_user-timeline-107603.json"
    )
    assert len(posts) == 11  # 10 cards + the original inside the one repost
    first = posts["4383183661430868"]
    assert first.text == "搬完这块砖，就可以吃好吃的了[偷笑][偷笑][偷笑]"
    assert first.created_at == utc(2019, 6, 13, 16, 0)  # "06-14" in Beijing
    assert (first.repost_count, first.comment_count, first.like_count) == (240492, 95535, 348872)
    assert first.author_id == "1669879400" and first.author_name == "Dear-迪丽热巴"
    assert first.extra["bid"] == "HyTZc60ew" and first.kind == "original"
    assert posts["4381207217392722"].repost_count == 1_000_000  # "100万+"
    repost = posts["4383180406740606"]
    assert repost.kind == "repost" and repost.text == "大家一起电影院约起来啊～～～"
    assert repost.root_post_id == repost.parent_post_id == "4383031864995274"
    assert (repost.parent_author_id, repost.parent_author_name) == ("2007341923", "代斯daisy")
    assert posts["4383031864995274"].extra["hashtags"] == ["614致敬法医", "首部法医秦明大电影"]
    assert set(authors) == {"1669879400", "2007341923"}
    assert authors["2007341923"].followers == 2277075


def test_status_repost_with_retweeted_status() -> None:
    posts, authors = parse("status", "m.weibo.cn-statuses-show_repost-with-retweeted_status.json")
    repost, original = posts["4383411844046171"], posts["4383404751066167"]
    assert repost.text == "转发微博" and repost.created_at == utc(2019, 6, 15, 3, 44, 46)
    assert repost.root_post_id == repost.parent_post_id == original.post_id
    assert repost.parent_author_name == "upupming" and repost.extra["source"] == "微博手机版"
    assert original.created_at == utc(2019, 6, 15, 3, 16, 35)
    # Its full text is inlined (longText): no extend call; the emoji ZWJ (U+200D) survives.
    assert original.extra.get("truncated") is None and "全文" not in original.text
    assert len(original.text) > 1000 and "9️\u200d⃣" in original.text
    assert authors["5973737418"].name == "九月九的晴天" and authors["5973737418"].followers == 48


def test_long_text_keeps_emoji_joiners_and_line_breaks() -> None:
    posts, _ = parse("longtext", "m.weibo.cn-statuses-extend_longtext.json", post_id="42")
    long = posts["42"]
    assert long.text.startswith("😄😆😊😃☺️") and "\nNature \n" in long.text
    assert "#️⃣" in long.text  # keycap sequences (U+FE0F U+20E3) survive the clean-up
    assert (long.repost_count, long.comment_count, long.like_count) == (0, 0, 0)
    short = Post(
        "weibo", "42", text="😄😆 ...", repost_count=5, extra={"truncated": True, "bid": "b"}
    )
    merged = merge_long_text(short, long)
    assert merged.text == long.text and merged.extra == {"truncated": False, "bid": "b"}
    assert short.text == "😄😆 ..."  # the original is left alone


def test_constructed_search_page_cards_and_groups() -> None:
    posts, authors = parse("search", "constructed-m.weibo.cn-getIndex-search-p1.json")
    # 2 card_type 9 posts + the repost in the card_type 11 group + its embedded original (…101).
    assert set(posts) == {"4900000000000101", "4900000000000102", "4900000000000203"}
    root, chained = posts["4900000000000101"], posts["4900000000000203"]
    assert root.text.startswith("#听风演示#【虚构新闻】")
    assert "[赞]" in root.text and "网页链接" in root.text
    assert root.region == "北京" and root.created_at == NOW - timedelta(hours=3)
    assert chained.repost_path == ["演示用户乙", "演示用户甲"]
    assert chained.parent_author_name == "演示用户乙"
    assert chained.root_post_id == root.post_id and chained.parent_post_id is None
    assert chained.extra["own_text"] == "哈哈，终于等到了[哈哈]"
    assert posts["4900000000000102"].created_at == utc(2019, 6, 15, 12, 30)  # 昨天 20:30
    assert posts["4900000000000102"].extra["truncated"] is True
    assert authors["7100000001"].followers == 1_521_000  # "152.1万" in the listing
    assert "7100000003" not in authors  # the group's user card is not a post author


def test_repost_timeline_links_parents_within_and_across_pages() -> None:
    ctx = {
        "root_id": "4900000000000101",
        "root_author_id": "7100000001",
        "root_author_name": "听风演示新闻台",
    }
    p1, _ = parse("reposts", "constructed-m.weibo.cn-repostTimeline-p1.json", **ctx)
    p2, _ = parse("reposts", "constructed-m.weibo.cn-repostTimeline-p2.json", **ctx)
    assert p2["4900000000000201"].parent_post_id == "4900000000000101"  # direct: empty chain
    assert p2["4900000000000201"].parent_author_name == "听风演示新闻台"
    assert p2["4900000000000202"].parent_post_id == "4900000000000201"  # same page
    assert p1["4900000000000203"].parent_post_id is None  # its parent is on page 2
    link_parents([*p1.values(), *p2.values()])  # what the spider does as pages arrive
    assert p1["4900000000000203"].parent_post_id == "4900000000000202"
    assert p1["4900000000000205"].parent_post_id == "4900000000000204"
    never = p1["4900000000000206"]
    assert never.parent_post_id is None and never.parent_author_name == "未抓取用户辛"
    assert all(
        p.root_post_id == "4900000000000101" and p.kind == "repost"
        for p in [*p1.values(), *p2.values()]
    )
    assert p2["4900000000000204"].region == "广东"


# -- comments -------------------------------------------------------------------------------------
def test_hotflow_comments_and_inline_sub_replies() -> None:
    posts, authors = parse(
        "comments",
        "m.weibo.cn-comments-hotflow.json",
        post_id="4383183661430868",
        post_author_id="1669879400",
    )
    comments = [p for p in posts.values() if p.kind == "comment"]
    replies = [p for p in posts.values() if p.kind == "reply"]
    assert (len(comments), len(replies)) == (20, 1)
    top = posts["4383183984547669"]
    assert top.text == "宝宝陪你一起搬陪你一起吃[羞嗒嗒]"
    assert top.created_at == utc(2019, 6, 14, 12, 39, 20)
    assert (top.like_count, top.comment_count) == (6183, 143)
    assert top.parent_post_id == top.root_post_id == "4383183661430868"
    assert top.parent_author_id == "1669879400"
    reply = replies[0]
    assert reply.post_id == "4383191449773449" and reply.parent_post_id == "4383183984547669"
    assert reply.root_post_id == "4383183661430868" and reply.extra["reply_to"] == "热爱CP"
    assert reply.text == "回复@热爱CP:那阿丝们一起搬叭[doge]"
    assert authors["1787569845"].verified_type == "2" and authors["1787569845"].rank == 4
    cursor = hotflow_cursor(json.loads(body("m.weibo.cn-comments-hotflow.json")))
    assert cursor == (314345666829623, 0)


def test_constructed_hotflow_last_page() -> None:
    posts, _ = parse("comments", "constructed-m.weibo.cn-comments-hotflow-p2.json", post_id="P")
    assert posts["4900000000001002"].parent_post_id == "4900000000001001"
    assert posts["4900000000001003"].region == "上海"  # source "来自上海"
    last = json.loads(body("constructed-m.weibo.cn-comments-hotflow-p2.json"))
    assert hotflow_cursor(last) is None  # max_id 0


def test_old_comment_api_with_reply_ids() -> None:
    posts, _ = parse(
        "comments-show", "m.weibo.cn-api-comments-show.json", post_id="4383183661430868"
    )
    assert len(posts) == 12  # 2 newest + 10 hot
    fresh = posts["4383932071637949"]
    assert fresh.created_at == NOW  # 刚刚
    assert fresh.text == "吃的完吗？要不我帮你解决一点儿[太开心]"
    answer = posts["4383185208814242"]
    assert answer.kind == "reply" and answer.parent_post_id == "4383184256927204"
    assert answer.extra["reply_to"] == "世间本空" and answer.like_count == 1553
    assert posts["4383931988671914"].extra["reply_to_text"] == "爱你哟 网页链接"
    assert comments_show_pages(json.loads(body("m.weibo.cn-api-comments-show.json"))) == 12502


# -- profiles -------------------------------------------------------------------------------------
def test_profile_user_info() -> None:
    _, authors = parse("profile", "m.weibo.cn-api-container-getIndex_profile-type-uid.json")
    a = authors["1669879400"]
    assert (a.name, a.followers, a.following, a.posts) == ("Dear-迪丽热巴", 63357736, 240, 1008)
    assert (a.verified, a.verified_type, a.rank, a.gender) == (True, "0", 7, "f")
    assert a.verified_reason == "嘉行传媒签约演员"  # the trailing U+3000 is gone
    assert a.extra["urank"] == 43 and a.updated_at == NOW


def test_ajax_profile_adds_location() -> None:
    _, authors = parse("ajax-profile", "weibo.com-ajax-profile-info.json")
    a = authors["1959830294"]
    assert (a.name, a.followers, a.following, a.posts, a.rank) == ("汪有", 1520885, 834, 16538, 3)
    assert a.region == "广东 广州" and a.verified_reason == "2025微博年度新知博主 科学科普博主"


# -- weibo.com ajax statuses ----------------------------------------------------------------------
def test_ajax_longtext() -> None:
    posts, _ = parse(
        "ajax-longtext", "weibo.com-ajax-statuses-longtext.json", post_id="4069372986738497"
    )
    text = posts["4069372986738497"].text
    assert text.startswith("中国再发野生动物园老虎伤人事件")
    assert text.endswith("http://t.cn/RxlaENw")


def test_ajax_timeline_statuses_reposts_and_hidden_originals() -> None:
    raw = json.loads(body("weibo.com-ajax-statuses-mymblog.json"))["data"]["list"]
    expected = {s["idstr"] for s in raw} | {
        s["retweeted_status"]["idstr"] for s in raw if s.get("retweeted_status")
    }
    posts, authors = parse("ajax-timeline", "weibo.com-ajax-statuses-mymblog.json")
    assert set(posts) == expected
    assert posts["4070071237823567"].text == "景甜演电视剧挺好看的……怎么不早演"  # U+200B×3 dropped
    assert posts["4070389468396025"].created_at == utc(2017, 2, 1, 9, 5, 36)
    assert posts["4069962480187635"].author_id is None  # "user": null (hidden original)
    assert posts["4069372986738497"].extra["truncated"] is True
    # paingod reposted his own repost: the //@paingod hop resolves to it on the same page.
    again = posts["4069366167846861"]
    assert again.repost_path == ["paingod"] and again.parent_post_id == "4069359917567349"
    assert again.root_post_id == "4069358034275891"
    assert authors["1433680664"].name == "paingod"


# -- legacy pages ---------------------------------------------------------------------------------
def test_legacy_repost_chains_hold_97_hops() -> None:
    raw_html = json.loads(body("legacy-weibo.com-aj-v6-mblog-info-big_repost.json"))["data"]["html"]
    posts, authors = parse(
        "legacy-reposts", "legacy-weibo.com-aj-v6-mblog-info-big_repost.json", root_id="R"
    )
    assert len(posts) == 20 and len(authors) == 20
    assert sum(len(p.repost_path) for p in posts.values()) == 97
    assert len(re.findall(r"//<a[^>]*>@", raw_html)) == 97  # the same hops, counted in the raw HTML
    first = posts["4107950002427181"]
    assert first.repost_path == ["扒皮王", "黄磊子", "八哥专用", "WS求投食"]
    assert first.parent_author_name == "扒皮王" and first.root_post_id == "R"
    assert first.extra["own_text"] == "哈哈哈哈哈" and first.author_id == "1796500312"
    assert first.created_at == utc(2017, 5, 16, 0, 37, 45)  # date="1494895065000"
    assert "查看图片" in first.text and "¡" not in first.text
    assert posts["4107949930510210"].repost_path == ["WS求投食"]


def test_legacy_comments() -> None:
    posts, authors = parse(
        "legacy-comments", "legacy-weibo.com-aj-v6-comment-big.json", post_id="P"
    )
    assert len(posts) == 19
    first = posts["4107673492051317"]
    assert first.text == "回复@厦丶:热评第一智障[微笑]不要乱传播伪科学好么"
    assert first.extra["reply_to"] == "厦丶" and first.kind == "comment"
    assert first.created_at == NOW - timedelta(minutes=10)  # "10分钟前"
    assert first.parent_post_id == "P" and first.parent_author_id == "2549228714"
    assert authors["2477026804"].name == "查無此人啊o0"


def test_legacy_search_page() -> None:
    posts, authors = parse("legacy-search", "legacy-s.weibo.com-weibo-search_2017.html")
    assert len(posts) == 20
    first = posts["4106162368327071"]
    assert first.author_id == "2878821573" and first.author_name == "明星娱乐小马甲"
    assert first.created_at == utc(2017, 5, 11, 2, 14, 20)
    assert (first.repost_count, first.comment_count, first.like_count) == (1, 0, 2)
    assert first.text.startswith("陈羽凡公司发文\n一是为陈羽凡的行为道歉")
    assert first.extra["bid"] == "F2AjiyWfB"
    assert posts["4106161864859651"].extra["hashtags"] == ["陈羽凡公司发文"]


# -- soft failures --------------------------------------------------------------------------------
ROUTES = {r["file"]: r for r in MANIFEST["routes"]}
FAILURES = [
    ("error-m.weibo.cn-api_ok0-errno100005-rate-limited.json", 403, RateLimited),
    ("error-m.weibo.cn-api_ok0-errno100005-rate-limited.json", 200, RateLimited),
    ("error-legacy-login.sina.com.cn-sso-retcode101_gbk.html", 200, LoginRequired),
    ("error-legacy-weibo.com-account-abnormal-20003_gbk.html", 200, Blocked),
    ("error-legacy-weibo.com-busy_gbk.html", 200, RateLimited),
    ("error-legacy-weibo.com-content-accessdeny.html", 200, Blocked),
    ("constructed-empty-body.txt", 432, Blocked),
    ("constructed-empty-body.txt", 418, Blocked),
    ("constructed-empty-body.txt", 302, LoginRequired),
    ("constructed-passport.weibo.com-visitor.html", 200, LoginRequired),
    ("constructed-m.weibo.cn-api-ok-100-login.json", 200, LoginRequired),
    ("constructed-m.weibo.cn-statuses-extend-deleted.json", 200, ContentUnavailable),
    ("constructed-m.weibo.cn-comments-hotflow-truncated.json", 200, UnexpectedPayload),
]


@pytest.mark.parametrize(
    ("name", "status", "error"), FAILURES, ids=[f"{f[0]}-{f[1]}" for f in FAILURES]
)
def test_check_response_on_error_fixtures(
    name: str, status: int, error: type[PlatformError]
) -> None:
    url = (
        "https://m.weibo.cn/api/container/getIndex?type=uid&value=1"
        if status != 200
        else ROUTES[name]["url"]
    )
    with pytest.raises(error) as info:
        check_response(status, body(name), url)
    assert info.value.platform == "weibo" and info.value.url == url
    assert type(info.value) is error


@pytest.mark.parametrize(
    ("status", "payload", "error"),
    [
        (200, '{"ok":0,"msg":"请先登录"}'.encode(), LoginRequired),
        (200, '{"ok":0,"msg":"微博不存在"}'.encode(), ContentUnavailable),
        (200, '{"ok":0,"msg":"该微博已被删除"}'.encode(), ContentUnavailable),
        (200, '{"ok":0,"msg":"出错了"}'.encode(), UnexpectedPayload),
        (200, b"[1, 2]", UnexpectedPayload),
        (200, b"", UnexpectedPayload),
        (
            200,
            b"<html><head><title>\xe5\xbe\xae\xe5\x8d\x9a</title></head></html>",
            UnexpectedPayload,
        ),
        (200, b"\xff\xfe\xff\xfe garbage", UnexpectedPayload),
        (403, b"<html>Forbidden</html>", Blocked),
        (404, b'{"error": "no fixture"}', ContentUnavailable),
        (429, b"", RateLimited),
    ],
)
def test_check_response_on_constructed_bodies(
    status: int, payload: bytes, error: type[PlatformError]
) -> None:
    with pytest.raises(error):
        check_response(
            status, payload, "https://m.weibo.cn/api/container/getIndex?type=uid&value=1"
        )


def test_check_response_messages_say_what_was_expected() -> None:
    url = "https://m.weibo.cn/comments/hotflow?id=1"
    with pytest.raises(
        UnexpectedPayload,
        match=r"expected a JSON object from m\.weibo\.cn/comments/hotflow, "
        r"got truncated or malformed JSON",
    ):
        check_response(200, body("constructed-m.weibo.cn-comments-hotflow-truncated.json"), url)
    with pytest.raises(
        UnexpectedPayload, match=r"expected JSON from .* an HTML page titled '微博'"
    ):
        check_response(200, "<html><title>微博</title></html>".encode(), url)
    with pytest.raises(UnexpectedPayload, match="cannot decode"):
        check_response(200, b"\xff\xfe\xff\xfe", url)
    with pytest.raises(LoginRequired, match="WEIBO_COOKIE"):
        check_response(200, b"{}", "https://passport.weibo.com/visitor/visitor?a=enter")


def test_gbk_pages_are_decoded() -> None:
    assert "帐号存在异常" in decode_body(
        body("error-legacy-weibo.com-account-abnormal-20003_gbk.html")
    )
    assert "新浪通行证" in decode_body(
        body("error-legacy-login.sina.com.cn-sso-retcode101_gbk.html")
    )


# Every other routed 200 body is usable (the ok:0 "这里还没有内容" one included).
GOOD = sorted(
    {r["file"] for r in MANIFEST["routes"] if r["status"] == 200} - {f[0] for f in FAILURES}
)


@pytest.mark.parametrize("name", GOOD)
def test_good_fixtures_pass_check_response(name: str) -> None:
    assert check_response(200, body(name), ROUTES[name]["url"]) is None


def test_end_of_data_is_not_an_error() -> None:
    empty = body("error-m.weibo.cn-getIndex_ok0-empty.json")
    url = ROUTES["error-m.weibo.cn-getIndex_ok0-empty.json"]["url"]
    assert check_response(200, empty, url) is None
    assert ENDPOINTS["search"](empty, now=NOW) == [] and ENDPOINTS["timeline"](empty, now=NOW) == []


# -- bad input ------------------------------------------------------------------------------------
JSON_ENDPOINTS = [
    ("search", "constructed-m.weibo.cn-getIndex-search-p1.json"),
    ("timeline", "m.weibo.cn-api-container-getIndex_user-timeline-107603.json"),
    ("profile", "m.weibo.cn-api-container-getIndex_profile-type-uid.json"),
    ("status", "m.weibo.cn-statuses-show_repost-with-retweeted_status.json"),
    ("longtext", "m.weibo.cn-statuses-extend_longtext.json"),
    ("reposts", "constructed-m.weibo.cn-repostTimeline-p1.json"),
    ("comments", "m.weibo.cn-comments-hotflow.json"),
    ("comments-show", "m.weibo.cn-api-comments-show.json"),
    ("ajax-profile", "weibo.com-ajax-profile-info.json"),
    ("ajax-longtext", "weibo.com-ajax-statuses-longtext.json"),
    ("ajax-timeline", "weibo.com-ajax-statuses-mymblog.json"),
    ("legacy-reposts", "legacy-weibo.com-aj-v6-mblog-info-big_repost.json"),
    ("legacy-comments", "legacy-weibo.com-aj-v6-comment-big.json"),
]


@pytest.mark.parametrize(("endpoint", "name"), JSON_ENDPOINTS)
def test_truncated_bodies_raise_unexpected_payload(endpoint: str, name: str) -> None:
    raw = body(name)
    with pytest.raises(UnexpectedPayload, match="truncated or malformed JSON"):
        ENDPOINTS[endpoint](raw[: len(raw) // 2], now=NOW)


@pytest.mark.parametrize(("endpoint", "name"), JSON_ENDPOINTS)
def test_wrong_shapes_raise_unexpected_payload(endpoint: str, name: str) -> None:
    if endpoint == "ajax-longtext":  # {} is its "no long text" answer
        assert ENDPOINTS[endpoint](b'{"ok": 1, "data": {}}', now=NOW) == []
        return
    with pytest.raises(UnexpectedPayload):
        ENDPOINTS[endpoint](b'{"ok": 1, "data": {"unexpected": []}}', now=NOW)
    with pytest.raises(UnexpectedPayload):
        ENDPOINTS[endpoint](b'{"ok": 1, "data": "text"}', now=NOW)


def test_one_odd_timestamp_keeps_the_post() -> None:
    page = json.loads(body("constructed-m.weibo.cn-getIndex-search-p1.json"))
    page["data"]["cards"][0]["mblog"]["created_at"] = "很久以前"
    items = ENDPOINTS["search"](json.dumps(page).encode(), now=NOW)
    odd = next(i for i in items if isinstance(i, Post) and i.post_id == "4900000000000101")
    assert odd.created_at is None and odd.extra["created_at_raw"] == "很久以前"


# -- endpoint detection ---------------------------------------------------------------------------
DETECT = {
    "constructed-m.weibo.cn-getIndex-search-p1.json": "search",
    "constructed-m.weibo.cn-getIndex-search-p2.json": "search",
    "m.weibo.cn-api-container-getIndex_user-timeline-107603.json": "timeline",
    "constructed-m.weibo.cn-getIndex-timeline-230413.json": "timeline",
    "m.weibo.cn-api-container-getIndex_profile-type-uid.json": "profile",
    "constructed-m.weibo.cn-getIndex-profile-7100000001.json": "profile",
    "m.weibo.cn-statuses-show_repost-with-retweeted_status.json": "status",
    "m.weibo.cn-statuses-extend_longtext.json": "longtext",
    "constructed-m.weibo.cn-repostTimeline-p1.json": "reposts",
    "m.weibo.cn-comments-hotflow.json": "comments",
    "constructed-m.weibo.cn-comments-hotflow-p2.json": "comments",
    "m.weibo.cn-api-comments-show.json": "comments-show",
    "weibo.com-ajax-profile-info.json": "ajax-profile",
    "weibo.com-ajax-statuses-longtext.json": "ajax-longtext",
    "weibo.com-ajax-statuses-mymblog.json": "ajax-timeline",
    "legacy-weibo.com-aj-v6-mblog-info-big_repost.json": "legacy-reposts",
    "legacy-weibo.com-aj-v6-comment-big.json": "legacy-comments",
    "legacy-s.weibo.com-weibo-search_2017.html": "legacy-search",
}


@pytest.mark.parametrize(("name", "endpoint"), sorted(DETECT.items()))
def test_detect_endpoint_from_the_body_and_from_the_url(name: str, endpoint: str) -> None:
    assert detect_endpoint(body(name)) == endpoint
    for route in MANIFEST["routes"]:
        if route["file"] == name:
            assert detect_endpoint(body(name), route["url"]) == endpoint


def test_detect_endpoint_uses_the_url_for_ambiguous_bodies_and_lists_the_known_ones() -> None:
    empty = body("error-m.weibo.cn-getIndex_ok0-empty.json")
    assert detect_endpoint(empty) == "search"
    url = ROUTES["error-m.weibo.cn-getIndex_ok0-empty.json"]["url"]
    assert detect_endpoint(empty, url) == "timeline"  # containerid 107603…
    for name in (
        "error-legacy-weibo.com-busy_gbk.html",
        "constructed-m.weibo.cn-api-ok-100-login.json",
    ):
        with pytest.raises(UnexpectedPayload, match="legacy-search"):
            detect_endpoint(body(name))


def test_every_fixture_parses_or_fails_with_a_typed_error() -> None:
    """What `tingfeng parse weibo FILE` does for each file: check, detect, parse."""
    for route in MANIFEST["routes"]:
        raw = body(route["file"])
        try:
            check_response(route["status"], raw, route["url"])
            items = ENDPOINTS[detect_endpoint(raw, route["url"])](raw, now=NOW)
        except PlatformError:
            continue
        assert all(isinstance(i, (Post, Author)) for i in items)


# -- text helpers ---------------------------------------------------------------------------------
def test_text_helpers() -> None:
    html = '<span class="url-icon"><img alt=[哈哈] src="x"></span>好<br/>的 \u200b\u200b\u200b'
    assert clean_html(html) == "[哈哈]好\n的"
    assert clean_html("a &amp; b") == "a & b"
    assert repost_chain("no chain // @ here") == [] and own_text("只有自己的话") == "只有自己的话"
    assert repost_chain("转发//@甲 :一//@乙：二//@丙:三") == ["甲", "乙", "丙"]
    assert parse_count("3亿") == 300_000_000 and parse_count(True) is None


def test_urls_are_real_platform_urls() -> None:
    assert search_url("听风", 1).startswith(
        "https://m.weibo.cn/api/container/getIndex?containerid=100103type%3D1%26q%3D"
    )
    assert hotflow_url("7") == "https://m.weibo.cn/comments/hotflow?id=7&mid=7&max_id_type=0"


# -- the spider -----------------------------------------------------------------------------------
def test_spider_arguments() -> None:
    spider = WeiboSpider(keyword="听风演示", comments="0", reposts="5", profiles="no")
    assert (spider.keywords, spider.comment_pages, spider.repost_pages, spider.fetch_profiles) == (
        ["听风演示"],
        0,
        5,
        False,
    )
    assert WeiboSpider(topic="#话题#").keywords == ["#话题#"]
    assert WeiboSpider(user="1,2").users == ["1", "2"]
    for bad in ({"keyword": "x", "comments": "-1"}, {"keyword": "x", "profiles": "maybe"}, {}):
        with pytest.raises(Exception, match="weibo: "):
            WeiboSpider(**bad)
    settings = WeiboSpider.custom_settings
    assert settings["DOWNLOAD_DELAY"] >= 3 and settings["CONCURRENT_REQUESTS_PER_DOMAIN"] == 1
    assert settings["DEFAULT_REQUEST_HEADERS"]["MWeibo-Pwa"] == "1"
    assert settings["COOKIES_ENABLED"] is False  # else CookiesMiddleware drops WEIBO_COOKIE


def test_cookie_comes_from_the_setting_and_stays_out_of_the_url() -> None:
    from scrapy.utils.test import get_crawler

    crawler = get_crawler(WeiboSpider, {"WEIBO_COOKIE": "SUB=secret"})
    spider = WeiboSpider.from_crawler(crawler, keyword="听风演示")

    async def start_requests() -> list[object]:
        return [r async for r in spider.start()]

    (request,) = asyncio.run(start_requests())
    assert request.headers["Cookie"] == b"SUB=secret" and "secret" not in request.url
    assert request.meta["real_url"] == search_url("听风演示", 1)


# -- API functions (httpx, outside a crawl) -------------------------------------------------------
def test_api_functions_through_the_fixture_server(fixture_server: object) -> None:
    from crawlers.spiders.weibo.api import fetch_profile, fetch_status, make_client

    base = {"PLATFORM_BASE_URLS": {"weibo": fixture_server.base_url}}  # type: ignore[attr-defined]
    with make_client(base) as client:
        author = fetch_profile(client, "1669879400", now=NOW)
        assert (author.name, author.followers) == ("Dear-迪丽热巴", 63357736)
        items = fetch_status(client, "HyZVegYAP", now=NOW)
        assert {i.post_id for i in items if isinstance(i, Post)} == {
            "4383411844046171",
            "4383404751066167",
        }
        with pytest.raises(Blocked):
            fetch_profile(client, "7199999432", now=NOW)
        with pytest.raises(LoginRequired):  # the client does not follow the 302
            fetch_profile(client, "7199999302", now=NOW)


# -- end to end -----------------------------------------------------------------------------------
P101, P102, P104, P105 = (
    "4900000000000101",
    "4900000000000102",
    "4900000000000104",
    "4900000000000105",
)
R1, R2, R3, R4, R5, R6 = (f"49000000000002{i:02d}" for i in range(1, 7))
DEMO = {"keyword": "听风演示", "max_pages": "3", "now": NOW.isoformat()}


def crawl(fixture_server: object, tmp_path: Path, args: dict[str, str], **settings: object) -> str:
    from tests.crawl import run_crawl_subprocess

    proc, uri = run_crawl_subprocess(
        "weibo",
        args,
        tmp_path,
        fixture_server.base_url,  # type: ignore[attr-defined]
        store_uri=f"sqlite:///{tmp_path / 'crawl.db'}",
        **settings,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    return uri


@pytest.mark.slow
def test_demo_crawl_end_to_end_and_idempotent(fixture_server: object, tmp_path: Path) -> None:
    from crawlers.spiders.weibo import DEMO_ARGS
    from crawlers.storage import open_store

    assert {k: v for k, v in DEMO.items() if k != "now"} == DEMO_ARGS
    # A crawl cut short (after 5 responses), then the full crawl into the same store: what the
    # first one stored stays, and the second completes it without duplicates.
    uri = crawl(fixture_server, tmp_path, DEMO, CLOSESPIDER_PAGECOUNT=5)
    with open_store(uri) as store:
        partial = {p.post_id for p in store.posts()}
    assert P101 in partial and len(partial) < 30
    crawl(fixture_server, tmp_path, DEMO)
    with open_store(uri) as store:
        first = store.counts()
        posts = {p.post_id: p for p in store.posts()}
        authors = store.authors()
        run = store.runs(platform="weibo")[-1]
    assert partial <= set(posts)
    assert (first["posts/original"], first["posts/repost"]) == (4, 6)
    assert (first["posts/comment"], first["posts/reply"]) == (22, 2)
    # Repost edges: direct, same page, linked across pages, and one to a never-crawled parent.
    parents = {pid: posts[pid].parent_post_id for pid in (R1, R2, R3, R4, R5, R6)}
    assert parents == {R1: P101, R2: R1, R3: R2, R4: P101, R5: R4, R6: None}
    assert posts[R6].parent_author_name == "未抓取用户辛"
    assert all(posts[r].root_post_id == P101 and posts[r].topics == ["听风演示"] for r in parents)
    long = posts[P102].text  # merged from statuses/extend
    assert long.startswith("😄😆😊") and "Nature" in long
    # …104's long text answered "deleted": its truncated text stays.
    assert posts[P104].text.startswith("路过#听风演示#")
    assert posts["4383191449773449"].parent_post_id == "4383183984547669"  # recorded sub-reply
    assert posts["4900000000001002"].parent_post_id == "4900000000001001"  # page-2 sub-reply
    assert posts["4383183984547669"].root_post_id == P101
    assert authors[("weibo", "7100000001")].followers == 1521034  # the profile's, not "152.1万"
    assert authors[("weibo", "1787569845")].name == "护舒宝"  # a commenter
    assert run.finish_reason == "finished"
    stats = run.stats
    assert stats["platform/weibo/content_unavailable"] == 1  # …104's long text: deleted
    assert stats["platform/weibo/unexpected_payload"] == 1  # …105's comments: truncated
    assert stats["platform/weibo/repost_parent_linked_late"] == 2
    assert stats["platform/weibo/long_text"] == 1

    crawl(fixture_server, tmp_path, DEMO)  # again, into the same store
    with open_store(uri) as store:
        again = store.counts()
    assert again["runs"] == first["runs"] + 1
    assert {k: v for k, v in again.items() if k != "runs"} == {
        k: v for k, v in first.items() if k != "runs"
    }


@pytest.mark.slow
def test_since_stops_at_a_page_older_than_since(fixture_server: object, tmp_path: Path) -> None:
    from crawlers.storage import open_store

    uri = crawl(
        fixture_server, tmp_path, {**DEMO, "since": "12h", "comments": "0", "profiles": "no"}
    )
    with open_store(uri) as store:
        posts = {p.post_id: p for p in store.posts()}
        (run,) = store.runs(platform="weibo")
    assert P101 in posts and R3 in posts
    assert not {P102, P104, P105} & set(posts)  # 昨天 20:30, 06-14, Jun 15: before since
    assert run.stats["platform/weibo/since_reached"] == 1  # page 2 was all older: no page 3
    assert "posts/comment" not in {f"posts/{p.kind}" for p in posts.values()}


@pytest.mark.slow
@pytest.mark.parametrize(
    ("uid", "reason"), [("7199999432", "blocked"), ("7199999302", "login_required")]
)
def test_walls_stop_the_crawl(
    fixture_server: object, tmp_path: Path, uid: str, reason: str
) -> None:
    from crawlers.storage import open_store

    uri = crawl(fixture_server, tmp_path, {"user": uid, "now": NOW.isoformat()})
    with open_store(uri) as store:
        (run,) = store.runs(platform="weibo")
    assert run.finish_reason == reason
    assert run.stats[f"platform/weibo/{reason}"] == 1


# -- §6: other timeline containers, unknown card types -------------------------------------------
TL230413 = "constructed-m.weibo.cn-getIndex-timeline-230413.json"


def test_a_230413_timeline_is_a_timeline_and_its_grouped_posts_are_parsed() -> None:
    assert detect_endpoint(body(TL230413)) == "timeline"
    no_prefix = json.loads(body(TL230413))
    no_prefix["data"]["cardlistInfo"]["containerid"] = "2310930026_1_"  # unknown prefix
    # one author and since_id paging: still a timeline by its shape
    assert detect_endpoint(json.dumps(no_prefix).encode()) == "timeline"
    posts, authors = parse("timeline", TL230413)
    assert sorted(posts) == ["4900000000000901", "4900000000000902", "4900000000000903"]
    assert posts["4900000000000903"].text == "【置顶】演示账号的置顶微博。"
    assert set(authors) == {"7100000009"}


def test_unknown_card_types_are_counted_and_skipped_never_the_page() -> None:
    skipped: Counter[str] = Counter()
    items = ENDPOINTS["timeline"](body(TL230413), now=NOW, skipped=skipped)
    assert len([i for i in items if isinstance(i, Post)]) == 3
    assert skipped == {"unknown_card_type/58": 1, "unknown_card_type/31": 1}


def test_the_spider_turns_skipped_cards_into_parse_stats() -> None:
    from scrapy.http import HtmlResponse, Request
    from scrapy.utils.test import get_crawler

    crawler = get_crawler(WeiboSpider)
    spider = WeiboSpider.from_crawler(crawler, user="7100000009")
    crawler.stats.open_spider()
    url = "https://m.weibo.cn/api/container/getIndex?containerid=2304137100000009"
    response = HtmlResponse(url, body=body(TL230413), request=Request(url))
    out = list(spider.parse_timeline_page(response, uid="7100000009", page=1))
    assert len([i for i in out if isinstance(i, Post)]) == 3
    assert crawler.stats.get_value("parse/weibo/unknown_card_type/58") == 1
    assert crawler.stats.get_value("parse/weibo/unknown_card_type/31") == 1
