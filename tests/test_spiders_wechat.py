"""WeChat platform module: parsers on recorded Sogou/mp.weixin.qq.com fixtures, soft-failure
checks, endpoint detection, and end-to-end crawls against the fixture server."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from crawlers.errors import (
    Blocked,
    ContentUnavailable,
    LoginRequired,
    RateLimited,
    UnexpectedPayload,
)
from crawlers.items import Author, Post
from crawlers.spiders import wechat
from crawlers.spiders.wechat import article as mp_article
from crawlers.spiders.wechat import history, sogou
from crawlers.spiders.wechat.spider import redact
from crawlers.spiders.wechat.text import biz_from_fakeid, js_var
from tests.fixture_server import FIXTURES, fixture_bytes

DIR = FIXTURES / "wechat"
UTC = UTC


def raw(name: str) -> bytes:
    return fixture_bytes("wechat", name)


def text(name: str) -> str:
    return raw(name).decode("utf-8")


def posts(items: list) -> list[Post]:
    return [i for i in items if isinstance(i, Post)]


def authors(items: list) -> list[Author]:
    return [i for i in items if isinstance(i, Author)]


# file → (endpoint, error raised by check_response or None). Every fixture must be listed.
EXPECTED = {
    "error-mp-profile_ext-getmsg_no-session.json": ("profile_ext", LoginRequired),
    "mp-article-s_background-image.html": ("article", None),
    "mp-article-s_expired-link.html": ("article", ContentUnavailable),
    "mp-article-s_mpvoice.html": ("article", None),
    "mp-cgi-bin-appmsg-list_ex_app_msg_list-items.json": ("appmsg_list_items", None),
    "mp-profile-history_msgList.html": ("msglist", None),
    "mp-profile_ext-getmsg_general_msg_list-items.json": ("profile_ext_items", None),
    "sogou-antispider-captcha.html": ("search", Blocked),
    "sogou-wapindex-hot.html": ("hot", None),
    "sogou-weixin-search-article_type2.html": ("search", None),
    "sogou-weixin-search-gzh_type1.html": ("accounts", None),
    "sogou-weixin-wap-search-article.json": ("wap_search", None),
    "constructed-mp.weixin.qq.com-mp-profile_ext-getmsg.json": ("profile_ext", None),
    "constructed-mp.weixin.qq.com-mp-profile_ext-getmsg-p2.json": ("profile_ext", None),
    "constructed-mp.weixin.qq.com-cgi-bin-appmsg-list_ex.json": ("appmsg_list", None),
    "constructed-mp.weixin.qq.com-cgi-bin-appmsg-list_ex-p2.json": ("appmsg_list", None),
    "constructed-mp.weixin.qq.com-cgi-bin-appmsg-freq-control.json": (
        "appmsg_list",
        RateLimited,
    ),
    "constructed-mp.weixin.qq.com-cgi-bin-appmsg-invalid-session.json": (
        "appmsg_list",
        LoginRequired,
    ),
    "constructed-mp.weixin.qq.com-mp-getappmsgext.json": ("appmsgext", None),
}


def test_every_fixture_is_listed_and_in_the_manifest() -> None:
    files = {p.name for p in DIR.iterdir() if p.name != "manifest.json"}
    assert files == set(EXPECTED)
    manifest = json.loads((DIR / "manifest.json").read_text(encoding="utf-8"))
    served = {r["file"] for r in manifest["routes"]}
    assert served <= files
    for route in manifest["routes"]:
        assert route["origin"] == (
            "constructed" if route["file"].startswith("constructed-") else "recorded"
        )
        assert route["note"]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_detects_checks_and_parses(name: str, now: datetime) -> None:
    endpoint, error = EXPECTED[name]
    body = raw(name)
    assert wechat.detect_endpoint(body) == endpoint
    if error is not None:
        with pytest.raises(error) as info:
            wechat.check_response(200, body, url=name)
        assert info.value.platform == "wechat" and info.value.url == name
        return
    wechat.check_response(200, body, url=name)
    items = wechat.ENDPOINTS[endpoint](body, now=now)
    assert items and all(i.platform == "wechat" for i in items)
    assert all(p.kind == "article" and p.post_id for p in posts(items))


def test_sogou_article_search(now: datetime) -> None:
    page = text("sogou-weixin-search-article_type2.html")
    items = sogou.parse_search(page, now=now)
    found = posts(items)
    assert len(found) == 10
    first = found[0]
    assert first.title == "高考有多重要,为什么要重视高考?丨微观点"
    assert first.author_name == "占豪" and first.author_id == "sogou:oIWsFt8nKJlpLQbQ5H9NMPBjxup8"
    assert (
        first.post_id == "sogou:ab735a258a90e8e1-6bee54fcbd896b2a-83cfcd22fbb11285d4fbcc20fbf0e3aa"
    )
    assert first.created_at == datetime.fromtimestamp(1498908951, UTC)  # div.s-p t="1498908951"
    assert first.url.startswith(
        "http://mp.weixin.qq.com/s?src=3&timestamp=1500052504"
    )  # &amp; decoded
    assert first.extra["cover"].startswith(
        "http://mmbiz.qpic.cn/mmbiz_jpg/EBb5pGJYmrx"
    )  # unwrapped from Sogou's proxy
    assert "<" not in found[1].title and "“满分”" in found[3].title  # <em> and &ldquo; handled
    # 龙招港 has two results: the account appears twice, with one id.
    assert sum(a.name == "龙招港" for a in authors(items)) == 2
    assert len({a.author_id for a in authors(items)}) == 9
    assert sogou.has_next_page(page)


def test_sogou_account_search(now: datetime) -> None:
    accounts = authors(sogou.parse_accounts(text("sogou-weixin-search-gzh_type1.html"), now=now))
    assert len(accounts) == 10
    first = accounts[0]
    assert (first.name, first.extra["wechat_id"]) == ("山东高考指南", "sdgkzn")
    assert first.verified is True and first.verified_reason == "《山东商报》社"
    assert first.description.startswith("这里是山东最权威最专业的高考交流平台")
    assert (
        first.extra["recent_article"]["published"] == "2017-07-23T01:38:56+00:00"
    )  # timeConvert('1500773936')


def test_sogou_wap_search_json(now: datetime) -> None:
    payload = json.loads(raw("sogou-weixin-wap-search-article.json"))
    items = sogou.parse_wap_search(payload, now=now)
    first = posts(items)[0]
    # The wap JSON has the permanent link, so the id is the canonical one and the author is __biz.
    assert first.post_id == "MzA5OTA0NDIyMQ==:2653887745:2"
    assert first.title == "高考有多重要,为什么要重视高考?丨微观点"  # highlight markers removed
    assert (first.read_count, first.repost_count) == (100000, 5065)
    assert first.extra["sogou_docid"].endswith(
        "83cfcd22fbb11285d4fbcc20fbf0e3aa"
    )  # same docid as the HTML search
    account = authors(items)[0]
    assert (account.author_id, account.followers, account.extra["wechat_id"]) == (
        "MzA5OTA0NDIyMQ==",
        2458689,
        "zhanhao668",
    )
    assert sogou.wap_total_pages(payload) == 10


def test_wap_items_are_parsed_without_expanding_entities(now: datetime) -> None:
    hostile = (
        '<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/hostname">'
        '<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>'
        "<DOCUMENT><item><display><docid>d1</docid><title>&x;</title><content168>&b;</content168>"
        "</display></item></DOCUMENT>"
    )
    [post] = sogou.parse_wap_search({"items": [hostile]}, now=now)
    assert post.post_id == "sogou:d1" and post.title is None and "aaaa" not in post.text


def test_sogou_hot_list(now: datetime) -> None:
    items = sogou.parse_hot(text("sogou-wapindex-hot.html"), now=now)
    found = posts(items)
    assert len(found) == 15
    assert found[0].title == "不做这个动作，你的轮胎3个月就要换!"
    assert found[0].author_name == "全球汽车精选"
    assert found[0].created_at == datetime.fromtimestamp(1501328135, UTC)  # data-lastModified


def test_article_page_with_background_images(now: datetime) -> None:
    post, account = mp_article.parse_article(text("mp-article-s_background-image.html"), now=now)
    assert post.post_id == "ODUzMjkwMzYx:2654593305:1"
    assert post.title == "4月6日周五【新闻速览一分钟】" and post.author_name == "华商报"
    assert post.created_at == datetime.fromtimestamp(1522968980, UTC)  # var ct
    assert post.extra["byline"] == "🌏华商君" and post.extra["copyright"] == "none"
    assert post.extra["digest"] == "🍀昨日今晨，最新最快最有价值的讯息简报"
    # 29 <img> plus one section with a background-image, and one <qqmusic> inside #js_content.
    assert (post.extra["images"], post.extra["videos"], post.extra["audios"]) == (30, 0, 1)
    assert post.text.startswith("早上好~\n") and "戊戌年清明公祭轩辕黄帝文" in post.text
    assert "function" not in post.text  # scripts are not text
    assert account.author_id == "ODUzMjkwMzYx" and account.extra["wechat_id"] == "hsb88880000"
    assert biz_from_fakeid("853290361") == "ODUzMjkwMzYx"  # __biz is the base64 of the numeric id


def test_article_page_with_audio(now: datetime) -> None:
    post, account = mp_article.parse_article(text("mp-article-s_mpvoice.html"), now=now)
    assert post.post_id == "MjM5ODAyNTcwMA==:2651788393:1"
    assert post.title == "语音 | 早安武汉〔2018.3.19 周一〕"
    assert (
        post.extra["digest"].split("\n")[0] == "◇“老赖”将被限制不动产交易"
    )  # \x0a escapes decoded
    assert (post.extra["images"], post.extra["videos"], post.extra["audios"]) == (
        9,
        0,
        1,
    )  # a vote iframe is no video
    assert account.extra["user_name"] == "gh_09f57d9c1048"


def test_expired_link_is_content_unavailable_and_not_an_article(now: datetime) -> None:
    with pytest.raises(ContentUnavailable, match="链接已过期"):
        wechat.check_response(
            200, raw("mp-article-s_expired-link.html"), "https://mp.weixin.qq.com/s?src=3"
        )
    with pytest.raises(UnexpectedPayload, match="#js_content"):
        mp_article.parse_article(text("mp-article-s_expired-link.html"), now=now)


def test_profile_ext_items_and_envelope(now: datetime) -> None:
    items = json.loads(raw("mp-profile_ext-getmsg_general_msg_list-items.json"))
    found = posts(history.parse_profile_ext_items(items, now=now))
    assert len(found) == 10  # five pushes with their multi-article slots
    first = found[0]
    assert first.post_id == "MjM5MjAyNDUyMA==:2650528981:1"
    assert "\\/" not in first.url and "&amp;" not in first.url
    assert first.created_at == datetime.fromtimestamp(1569578220, UTC)
    assert (first.extra["byline"], first.extra["copyright"]) == (
        "李晨",
        "original",
    )  # copyright_stat 11
    assert [p.post_id.rsplit(":", 1)[1] for p in found[:3]] == ["1", "2", "3"]
    assert found[3].extra["copyright_stat"] == 101 and found[3].extra["copyright"] == "reprint"
    # Recorded consistency: each push's fakeid is the account's numeric id, base64 = __biz.
    assert biz_from_fakeid(items[0]["comm_msg_info"]["fakeid"]) == "MjM5MjAyNDUyMA=="

    page1 = json.loads(raw("constructed-mp.weixin.qq.com-mp-profile_ext-getmsg.json"))
    page2 = json.loads(raw("constructed-mp.weixin.qq.com-mp-profile_ext-getmsg-p2.json"))
    ids = [
        p.post_id
        for p in posts(
            history.parse_profile_ext(page1, now=now) + history.parse_profile_ext(page2, now=now)
        )
    ]
    assert ids == [p.post_id for p in found]
    assert (history.profile_ext_next(page1), history.profile_ext_next(page2)) == (13, None)


def test_back_office_list(now: datetime) -> None:
    found = posts(
        history.parse_appmsg_items(
            json.loads(raw("mp-cgi-bin-appmsg-list_ex_app_msg_list-items.json")), now=now
        )
    )
    assert [p.post_id for p in found[:2]] == [
        "MjM5MDQ4MzU5NQ==:2659017567:1",
        "MjM5MDQ4MzU5NQ==:2659017567:2",
    ]
    assert found[0].title == "iPhone 12 mini/Pro Max预约破百万 A14X性能曝光 多核大提升"
    assert found[0].created_at == datetime.fromtimestamp(1604670946, UTC)
    assert found[0].extra["aid"] == "2659017567_1" and found[0].extra["copyright"] == "none"
    envelope = json.loads(raw("constructed-mp.weixin.qq.com-cgi-bin-appmsg-list_ex.json"))
    assert [p.post_id for p in posts(history.parse_appmsg_list(envelope, now=now))] == [
        p.post_id for p in found[:5]
    ]


def test_legacy_profile_page(now: datetime) -> None:
    items = history.parse_msglist(text("mp-profile-history_msgList.html"), now=now)
    [account] = authors(items)
    assert (account.author_id, account.name, account.extra["wechat_id"]) == (
        "MjM5MjAzODU2MA==",
        "槽边往事",
        "bitsea",
    )
    assert (
        account.verified is True
        and account.verified_reason == "和菜头的微信Blog，用于分享各种新鲜资讯"
    )
    found = posts(items)
    assert found[0].title == "帝都深处好修行" and found[0].extra["byline"] == "和菜头"
    # Temporary links carry no mid: the push id and slot number stand in.
    assert found[0].post_id == "MjM5MjAzODU2MA==:msg1000000727:1"
    assert found[0].url.startswith("https://mp.weixin.qq.com/s?timestamp=1500903767&src=3")
    assert found[2].extra["copyright"] == "none"  # copyright_stat 100, "【广告】…"


def test_read_and_like_counts(now: datetime) -> None:
    payload = json.loads(raw("constructed-mp.weixin.qq.com-mp-getappmsgext.json"))
    article = Post("wechat", "B:1:1", kind="article", text="full text", extra={"mid": "1"})
    [merged] = mp_article.parse_appmsgext(payload, now=now, article=article)
    # like_num is 在看 since 2018, old_like_num the thumbs-up: likes and 在看 where WCI reads them
    assert (merged.read_count, merged.like_count, merged.text) == (2345, 30, "full text")
    assert merged.extra["wow_count"] == 12 and merged.extra["old_like_num"] == 30
    assert merged.extra["mid"] == "1"
    older = {"appmsgstat": {"read_num": 100, "like_num": 7}}  # before 在看: like_num is likes
    [old] = mp_article.parse_appmsgext(older, now=now, article=article)
    assert old.like_count == 7 and "wow_count" not in old.extra
    [keyed] = mp_article.parse_appmsgext(
        payload, now=now, url="https://mp.weixin.qq.com/mp/getappmsgext?__biz=B&mid=7&idx=2"
    )
    assert keyed.post_id == "B:7:2"
    with pytest.raises(UnexpectedPayload, match="appmsgstat"):
        mp_article.parse_appmsgext({"base_resp": {"ret": 0}}, now=now)


@pytest.mark.parametrize(
    ("endpoint", "body"),
    [
        ("wap_search", raw("sogou-weixin-wap-search-article.json")[:5000]),
        ("profile_ext_items", raw("mp-profile_ext-getmsg_general_msg_list-items.json")[:-40]),
        (
            "search",
            text("sogou-weixin-search-article_type2.html")
            .replace("news-list", "result-list")
            .encode(),
        ),
        ("accounts", b"<html><body>new layout</body></html>"),
        ("hot", b"<html><ul><li>no docid</li></ul></html>"),
        ("article", b"<html><body><div id='js_content'>body but no metadata</div></body></html>"),
        ("msglist", b'<html>var biz = "QQ=="; var msgList = {broken</html>'),
        (
            "profile_ext",
            json.dumps({"ret": 0, "general_msg_list": ["not", "a", "string"]}).encode(),
        ),
        ("appmsg_list", b'{"app_msg_list": [{"title": "no link"}]}'),
        ("wap_search", json.dumps({"items": ["<DOCUMENT><item>"]}).encode()),
    ],
)
def test_malformed_bodies_raise_unexpected_payload(
    endpoint: str, body: bytes, now: datetime
) -> None:
    with pytest.raises(UnexpectedPayload):
        wechat.ENDPOINTS[endpoint](body, now=now)


def test_check_response_edges() -> None:
    with pytest.raises(UnexpectedPayload, match="expected JSON"):
        wechat.check_response(200, raw("sogou-weixin-wap-search-article.json")[:300], "u")
    with pytest.raises(UnexpectedPayload, match="empty"):
        wechat.check_response(200, b"  ", "u")
    with pytest.raises(Blocked):  # the captcha page served GBK-encoded is still recognised
        wechat.check_response(200, text("sogou-antispider-captcha.html").encode("gbk"), "u")
    with pytest.raises(RateLimited):
        wechat.check_response(429, b"", "u")
    with pytest.raises(ContentUnavailable):
        wechat.check_response(404, b'{"error": "no fixture"}', "u")
    with pytest.raises(UnexpectedPayload, match="-6"):
        wechat.check_response(200, b'{"ret": -6, "errmsg": "unknown error"}', "u")
    assert wechat.check_response(502, b"bad gateway", "u") is None  # left to Scrapy's retries
    # An article that mentions 违规 in its text is still an article.
    assert wechat.check_response(200, raw("mp-article-s_mpvoice.html"), "u") is None


def test_gbk_pages_parse(now: datetime) -> None:
    body = (
        text("sogou-weixin-search-gzh_type1.html")
        .replace("charset=utf-8", "charset=gbk")
        .encode("gbk", "replace")
    )
    accounts = wechat.ENDPOINTS["accounts"](body, now=now)
    assert accounts[0].name == "山东高考指南"


def test_detect_endpoint_falls_back_to_url_and_names_the_choices() -> None:
    assert (
        wechat.detect_endpoint(b"{}", url="https://weixin.sogou.com/weixinwap?query=a")
        == "wap_search"
    )
    with pytest.raises(UnexpectedPayload, match="search, accounts"):
        wechat.detect_endpoint(b"<html>nothing known</html>")


def test_js_var_takes_the_first_non_empty_literal() -> None:
    page = (
        'var a = "" || "" || "2654";\nvar b = "x\\"y" || "";\n'
        "var c = '' || 'z';\nvar d = \"1\" * 1;"
    )
    assert [js_var(page, n) for n in "abcd"] == ["2654", 'x"y', "z", "1"]
    assert js_var(page, "missing") is None


def test_secrets_are_masked_in_urls() -> None:
    url = history.profile_ext_url("QQ==", 0, "uin=MTIz&key=SECRET&pass_ticket=PT&appmsg_token=AT")
    masked = redact(url)
    assert (
        "SECRET" not in masked
        and "PT" not in masked
        and "AT" not in masked.split("appmsg_token")[1]
    )
    assert "__biz=QQ==" in masked and "offset=0" in masked


def test_wechat_cookie_goes_to_weixin_only() -> None:
    from scrapy.utils.test import get_crawler

    crawler = get_crawler(
        wechat.WechatSpider,
        {
            "WECHAT_COOKIE": "wxuin=1; pass_ticket=secret",
            "WECHAT_PROFILE_QUERY": "__biz=QQ==&uin=1&key=k",
        },
    )
    spider = wechat.WechatSpider.from_crawler(crawler, keyword="高考")
    to_sogou = spider._request(sogou.search_url("高考"), spider.parse_search_page)
    to_mp = spider._request(mp_article.article_url("QQ==", 1), spider.parse_article_page)
    # The base spider passes the cookie as a header or, with COOKIES_ENABLED, as request cookies.
    assert b"Cookie" not in to_sogou.headers and not to_sogou.cookies
    sent = to_mp.cookies or dict(
        part.split("=", 1) for part in to_mp.headers[b"Cookie"].decode().split("; ")
    )
    assert sent == {"wxuin": "1", "pass_ticket": "secret"}
    assert spider.session_query == "uin=1&key=k"  # __biz comes from -a biz, not the copied query


def _crawl(fixture_server, tmp_path: Path, args: dict[str, str], **settings: str):
    from crawlers.storage import open_store
    from tests.crawl import run_crawl_subprocess

    proc, uri = run_crawl_subprocess(
        "wechat",
        {"now": "2026-11-20T12:00:00+00:00", **args},
        tmp_path,
        fixture_server.base_url,
        **settings,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    store = open_store(uri)
    topic = args.get("keyword") or args.get("topic")
    try:
        found = {
            p.post_id: p for p in store.posts(topic=topic, since=datetime(2000, 1, 1, tzinfo=UTC))
        }
        runs = store.runs(topic=topic, since=datetime(2000, 1, 1, tzinfo=UTC))
    finally:
        store.close()
    return proc, found, runs


@pytest.mark.slow
def test_demo_crawl_end_to_end(fixture_server, tmp_path: Path) -> None:
    _, found, runs = _crawl(fixture_server, tmp_path, wechat.DEMO_ARGS)
    # Two search links lead to recorded article pages: stored with full text from the page.
    article = found["ODUzMjkwMzYx:2654593305:1"]
    assert article.extra["text_source"] == "page" and "戊戌年清明公祭轩辕黄帝文" in article.text
    assert found["MjM5ODAyNTcwMA==:2651788393:1"].extra["audios"] == 1
    # The other links answer 链接已过期: their list entries are kept instead.
    assert (
        found["sogou:ab735a258a90e8e1-6bee54fcbd896b2a-41a93e503c15e2973027c4d4ff54c174"].extra[
            "text_source"
        ]
        == "digest"
    )
    wap = found["MzA5OTA0NDIyMQ==:2653887745:2"]
    assert (wap.read_count, wap.extra["source"]) == (100000, "sogou_wap")
    assert any(p.extra.get("source") == "sogou_hot" for p in found.values())
    assert any(p.extra.get("source") == "msglist" for p in found.values())
    assert all(p.topics == ["高考"] for p in found.values())
    [run] = runs
    assert run.finish_reason == "finished"
    assert run.stats.get("platform/wechat/content_unavailable", 0) > 0
    assert run.stats.get("platform/wechat/article_fallback", 0) > 0


@pytest.mark.slow
def test_history_crawl_with_a_session(fixture_server, tmp_path: Path) -> None:
    proc, found, runs = _crawl(
        fixture_server,
        tmp_path,
        {
            "keyword": "高考",
            "biz": "MjM5MjAyNDUyMA==",
            "fakeid": "MjM5MDQ4MzU5NQ==",
            "max_pages": "2",
        },
        WECHAT_PROFILE_QUERY="uin=MTIz&key=SECRETKEY42&pass_ticket=PT&appmsg_token=AT",
        WECHAT_TOKEN="987654321",
        WECHAT_COOKIE="wxuin=123; slave_sid=SECRETSID",
    )
    history = [p for p in found.values() if p.extra.get("source") == "profile_ext"]
    back_office = [p for p in found.values() if p.extra.get("source") == "appmsg_list"]
    assert (
        len(history) == 10 and len(back_office) == 6
    )  # both pages of each list, paging stopped at the end
    # With a session, article pages get read and like counts from getappmsgext.
    assert found["ODUzMjkwMzYx:2654593305:1"].read_count == 2345
    assert (
        "SECRETKEY42" not in proc.stderr
        and "SECRETSID" not in proc.stderr
        and "987654321" not in proc.stderr
    )
    assert runs[0].finish_reason == "finished"


@pytest.mark.slow
def test_invalid_session_stops_the_crawl(fixture_server, tmp_path: Path) -> None:
    _, _, runs = _crawl(
        fixture_server,
        tmp_path,
        {"topic": "会话", "fakeid": "MzAwMDAwMDAwMg==", "articles": "0"},
        WECHAT_TOKEN="1",
        WECHAT_COOKIE="a=b",
    )
    assert runs[0].finish_reason == "login_required"
    assert runs[0].stats["platform/wechat/login_required"] == 1
