"""Forum platform: Tieba parsers on the recorded pages, Discuz!/feeds on constructed ones, soft
failures, reply trees, sites as data, and one end-to-end crawl through the fixture server."""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from crawlers.errors import (
    Blocked,
    ConfigError,
    ContentUnavailable,
    LoginRequired,
    RateLimited,
    UnexpectedPayload,
)
from crawlers.items import Author, Post
from crawlers.spiders.forum import (
    DEMO_ARGS,
    ENDPOINTS,
    ForumSpider,
    check_response,
    detect_endpoint,
    discuz,
    discuz_api,
    feeds,
    resolve_site,
    tieba,
    tieba_thread,
)
from crawlers.spiders.forum.common import decode_html, forum_time, html_text
from crawlers.spiders.forum.sites import SITES
from tests.fixture_server import FIXTURES, fixture_bytes

CST = timezone(timedelta(hours=8))
# The Tieba pages were recorded on 2024-08-07 (China time): "02:38" in the list means that day.
NOW = datetime(2024, 8, 7, 12, 0, tzinfo=CST)
LIST = "tieba.baidu.com-f-kw_thread-list.html"
THREAD = "tieba.baidu.com-p-tid_thread-detail_browser-dom.html"
LZL = "tieba.baidu.com-p-comment_lzl-sub-comments_fragment.html"
SEARCH = "tieba.baidu.com-f-search-res_s_post_list-excerpt.html"
DZ = "https://bbs.example.com/"
SITE = "bbs.example.com"
FD = "constructed-bbs.example.com-forumdisplay.html"
VT = "constructed-bbs.example.com-viewthread.html"
API_FD = "constructed-bbs.example.com-api-mobile-forumdisplay.json"
API_VT = "constructed-bbs.example.com-api-mobile-viewthread.json"
API_GONE = "constructed-bbs.example.com-api-mobile-viewthread-nonexistence.json"
ATOM = "constructed-news.example.org-atom.xml"
MANIFEST = json.loads((FIXTURES / "forum" / "manifest.json").read_text(encoding="utf-8"))


def text_of(name: str) -> str:
    return decode_html(fixture_bytes("forum", name))


def posts_of(items: list[Post | Author]) -> dict[str, Post]:
    return {p.post_id: p for p in items if isinstance(p, Post)}


def cst(*args: int) -> datetime:
    return datetime(*args, tzinfo=CST)


# -- Tieba: thread list ---------------------------------------------------------------------------
def test_thread_list_reads_the_commented_out_block() -> None:
    items = tieba.parse_thread_list(text_of(LIST), now=NOW)
    posts = posts_of(items)
    # 48 <li class="j_thread_list"> in the pagelet comment (the other 2 mentions are in scripts).
    assert len(posts) == 48
    first = posts["tieba:t9079949995"]
    assert first.kind == "thread"
    assert first.title == "盗墓笔记全集+txt小说，已整理"
    assert first.comment_count == 18
    assert first.author_name == "公子伯仲"
    assert first.author_id == "tieba:tb.1.9115cccc.su4IfywmJ43rT4i5q38OeQ"
    assert first.url == "https://tieba.baidu.com/p/9079949995"
    assert first.created_at == cst(2024, 7, 6)  # "7-6": day precision
    assert first.extra["last_reply_at"] == cst(2024, 8, 7, 11, 24).astimezone(UTC).isoformat()
    assert first.extra["forum"] == "盗墓笔记" and first.extra["first_post_id"] == "150544122828"
    old = posts["tieba:t2540926878"]  # "2014-03": threads older than a year show the month only
    assert old.comment_count == 17067 and old.created_at == cst(2014, 3, 1)
    assert old.author_name == "南派三叔"  # the nickname, not the account name 南派的三叔
    assert posts["tieba:t9121294238"].created_at == cst(2024, 8, 7, 2, 38)  # "02:38": today
    authors = {a.author_id: a for a in items if isinstance(a, Author)}
    assert authors["tieba:tb.1.9115cccc.su4IfywmJ43rT4i5q38OeQ"].extra["user_id"] == 2121563791


def test_thread_list_also_parses_when_the_list_is_not_commented_out() -> None:
    block = r'thread_list" style="display:none;"><!--(.*?)--></code>'
    inner = re.search(block, text_of(LIST), re.S)
    assert inner is not None
    assert len(posts_of(tieba.parse_thread_list(inner.group(1), now=NOW))) == 48


def test_changed_thread_list_layout_names_the_selector() -> None:
    changed = text_of(LIST).replace("j_thread_list", "x_thread_row")
    with pytest.raises(UnexpectedPayload, match=r"li\.j_thread_list"):
        tieba.parse_thread_list(changed, now=NOW)


# -- Tieba: thread page and 楼中楼 ----------------------------------------------------------------
def test_thread_page_floor_one_is_the_thread() -> None:
    posts = posts_of(tieba_thread.parse_thread_page(text_of(THREAD), now=NOW))
    thread = posts["tieba:t9117905169"]
    assert thread.kind == "thread"
    assert thread.title == "对于一个父亲来说，这个女儿14岁就死了"
    # Floor 1 is a single picture: the image viewer's "点击展开" chrome is not text.
    assert thread.text == thread.title
    assert thread.comment_count == 786  # "786回复贴，共13页"
    assert thread.extra["pages"] == 13 and thread.extra["first_post_id"] == "150719031818"
    assert thread.created_at == cst(2024, 8, 5, 16, 56)
    assert thread.author_name == "章景轩"  # the name the page shows (p_author_name)
    assert thread.author_id == "tieba:tb.1.6ae447d1.1kSMO_ldLGD7OUTJ7rd_Bw"  # "?t=…" dropped
    assert thread.region == "广东" and thread.extra["forum"] == "以太比特"


def test_thread_page_floors_are_comments_on_the_thread() -> None:
    items = tieba_thread.parse_thread_page(text_of(THREAD), now=NOW)
    posts = posts_of(items)
    kinds = Counter(p.kind for p in posts.values())
    # 31 div.l_post: 30 floors and one ad slot without data-field.
    assert kinds == {"thread": 1, "comment": 29, "reply": 10}
    floor2 = posts["tieba:p150719088158"]
    assert floor2.text.startswith("本来觉得就凭14岁的这点叛逆父亲不再理她")
    assert floor2.comment_count == 123 and floor2.extra["floor"] == 2
    assert floor2.created_at == cst(2024, 8, 5, 17, 7)
    assert floor2.parent_post_id == floor2.root_post_id == "tieba:t9117905169"
    levels = {a.name: a.extra.get("level") for a in items if isinstance(a, Author)}
    assert levels["章景轩"] == 12 and levels["杜草莓"] == 7


def test_inline_sub_comments_hang_under_their_floor() -> None:
    posts = posts_of(tieba_thread.parse_thread_page(text_of(THREAD), now=NOW))
    replies = [p for p in posts.values() if p.kind == "reply"]
    assert {p.parent_post_id for p in replies} == {"tieba:p150719088158"}
    assert {p.root_post_id for p in replies} == {"tieba:t9117905169"}
    first = posts["tieba:p150721163086"]
    assert first.text == "号废了重练一个而已，只是她妈后来才明白这一点"
    assert first.author_name == "铭寒◆" and first.created_at == cst(2024, 8, 5, 23, 48)


def test_sub_comment_fragment_takes_its_parents_from_the_request() -> None:
    items = tieba_thread.parse_sub_comments(text_of(LZL), now=NOW, tid=9117905169, pid=150719088158)
    replies = [p for p in items if isinstance(p, Post)]
    assert len(replies) == 10
    assert {p.parent_post_id for p in replies} == {"tieba:p150719088158"}
    assert {p.root_post_id for p in replies} == {"tieba:t9117905169"}
    first, last = replies[0], replies[-1]
    assert first.post_id == "tieba:p150726504693" and first.author_name == "heinzfrentzen"
    assert first.created_at == cst(2024, 8, 6, 22, 11)
    assert first.text == ""  # two emoticon images only
    # "回复 美味蟹黄堡💞 :你不会…" names the user answered; the text keeps only the answer.
    assert last.text == "你不会看起跳高度和空中姿态？"
    assert last.parent_author_name == "美味蟹黄堡💞"
    assert tieba_thread.sub_comment_pages(text_of(LZL)) == 2  # total_num 16, 10 a page


def test_sub_comments_of_floor_one_point_at_the_thread() -> None:
    items = tieba_thread.parse_sub_comments(
        text_of(LZL), now=NOW, tid=9117905169, pid=150719031818, parent_id="tieba:t9117905169"
    )
    assert {p.parent_post_id for p in items if isinstance(p, Post)} == {"tieba:t9117905169"}


def test_sub_comments_parsed_alone_have_no_parent() -> None:
    items = ENDPOINTS["tieba-comments"](fixture_bytes("forum", LZL), now=NOW)
    assert {p.parent_post_id for p in items if isinstance(p, Post)} == {None}


# -- Tieba: search --------------------------------------------------------------------------------
def test_search_hits_are_threads_named_by_author_name() -> None:
    posts = list(posts_of(tieba.parse_search(text_of(SEARCH), now=NOW)).values())
    assert len(posts) == 10 and {p.kind for p in posts} == {"thread"}
    first = posts[0]
    assert first.post_id == "tieba:t9117888152"
    assert first.title == "武汉交互空间科技：富士康10亿加码中国大陆，印度为何逐渐“失宠"
    assert first.extra["forum"] == "武汉交互空间" and first.extra["first_post_id"] == "150718967291"
    assert first.author_name == "VR虚拟达人" and first.author_id is None
    assert first.created_at == cst(2024, 8, 5, 16, 45)
    assert posts[-1].text == "东南亚，园区【 工 价 低 】"  # empty p_content: title only


def test_search_hit_titled_reply_is_a_floor_of_its_thread() -> None:
    html = text_of(SEARCH).replace(">请各位急用玛尼的小心，骗子最多<", ">回复：请各位小心<")
    post = posts_of(tieba.parse_search(html, now=NOW))["tieba:p150705176739"]
    assert post.kind == "comment" and post.parent_post_id == "tieba:t9114743782"


# -- Discuz! HTML, API and GBK --------------------------------------------------------------------
def test_forumdisplay_rows() -> None:
    items = discuz.parse_forumdisplay(text_of(FD), now=NOW, site=SITE, base=DZ)
    posts = posts_of(items)
    assert list(posts) == [f"bbs.example.com:t{t}" for t in (1001, 2051, 2050, 2047)]
    water = posts["bbs.example.com:t2051"]
    assert water.title == "小区停水三天了，物业一直没说法"
    assert water.comment_count == 12 and water.read_count == 345
    assert water.author_id == "bbs.example.com:10086" and water.author_name == "楼下老王"
    assert water.created_at == cst(2024, 8, 5)  # "2 天前" read from its title="2024-8-5"
    assert water.extra["forum"] == "灌水区" and water.extra["fid"] == "2"
    assert posts["bbs.example.com:t1001"].extra["sticky"] is True
    # A rewritten link (thread-2050-1-1.html, space-uid-20001.html) gives the same ids.
    assert posts["bbs.example.com:t2050"].author_id == "bbs.example.com:20001"
    assert posts["bbs.example.com:t2047"].author_id is None  # anonymous: no uid link
    html = text_of(FD)
    assert discuz.next_page_url(html, base=DZ) == DZ + "forum.php?mod=forumdisplay&fid=2&page=2"


def test_a_site_with_other_markup_is_a_selectors_override() -> None:
    html = text_of(FD).replace('class="s xst"', 'class="tl-title"')
    with pytest.raises(UnexpectedPayload, match=r"a\.s\.xst"):
        discuz.parse_forumdisplay(html, now=NOW, site="bbs.example.com", base=DZ)
    items = discuz.parse_forumdisplay(
        html, now=NOW, site="bbs.example.com", base=DZ, selectors={"thread_title": "a.tl-title"}
    )
    assert len(posts_of(items)) == 4


def test_empty_board_is_not_a_layout_change() -> None:
    html = (
        '<table id="threadlisttableid"><tbody><tr><th>'
        '<p class="emp">本版块或指定的范围内尚无主题</p></th></tr></tbody></table>'
    )
    assert discuz.parse_forumdisplay(html, now=NOW, site="x", base=DZ) == []


def test_viewthread_builds_the_reply_tree() -> None:
    posts = posts_of(
        discuz.parse_viewthread(
            text_of("constructed-bbs.example.com-viewthread.html"),
            now=NOW,
            site="bbs.example.com",
            base=DZ,
        )
    )
    thread = posts["bbs.example.com:t2051"]
    assert thread.kind == "thread" and thread.extra["first_post_id"] == "30001"
    assert thread.text == (
        "小区停水三天了，物业一直没说法\n从周一开始停水，到今天已经第三天了。\n物业电话一直打不通，有没有邻居知道是怎么回事？"
    )
    assert thread.created_at == cst(2024, 8, 5, 9, 12, 33) and thread.comment_count == 12
    sofa = posts["bbs.example.com:p30002"]
    assert sofa.kind == "comment" and sofa.parent_post_id == "bbs.example.com:t2051"
    quote = posts["bbs.example.com:p30005"]  # quotes 30002: a reply to it, quote text dropped
    assert quote.kind == "reply" and quote.parent_post_id == "bbs.example.com:p30002"
    assert quote.root_post_id == "bbs.example.com:t2051"
    assert quote.text == "主管道爆了也该发个通知吧，太不负责了。"
    assert quote.created_at == cst(2024, 8, 6, 21, 40)  # "昨天 21:40" against NOW
    # "半小时前" with title="2024-8-7 11:20:05": the title wins.
    assert posts["bbs.example.com:p30009"].created_at == cst(2024, 8, 7, 11, 20, 5)
    assert posts["bbs.example.com:p30009"].extra["floor"] == 4  # 地板


def test_quote_of_floor_one_on_a_later_page_points_at_the_thread() -> None:
    html = text_of(VT).replace("pid=30002&amp;ptid", "pid=29999&amp;ptid")
    posts = posts_of(discuz.parse_viewthread(html, now=NOW, site="s", base=DZ, first_pid="29999"))
    assert posts["s:p30005"].parent_post_id == "s:t2051"


def test_gbk_page_decodes() -> None:
    raw = fixture_bytes("forum", "constructed-bbs.example.net-viewthread-gbk.html")
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    check_response(200, raw, "https://bbs.example.net/forum.php?mod=viewthread&tid=88")
    posts = posts_of(ENDPOINTS["discuz-viewthread"](raw, now=NOW))
    thread = posts["bbs.example.net:t88"]  # site from the page's <base href>
    assert thread.title == "老城区改造方案公示，大家怎么看？"
    assert "拆迁补偿标准还没公布" in thread.text
    assert posts["bbs.example.net:p907"].author_name == "老街坊"


def test_mobile_api_gives_the_same_ids_and_tree_as_html() -> None:
    api_items = discuz_api.parse_api_viewthread(
        json.loads(fixture_bytes("forum", API_VT)),
        now=NOW,
        site="bbs.example.com",
        base=DZ,
    )
    html_items = discuz.parse_viewthread(text_of(VT), now=NOW, site=SITE, base=DZ)
    api, html = posts_of(api_items), posts_of(html_items)
    assert set(api) == set(html)
    for key in api:
        assert (api[key].kind, api[key].parent_post_id, api[key].created_at, api[key].text) == (
            html[key].kind,
            html[key].parent_post_id,
            html[key].created_at,
            html[key].text,
        )


def test_mobile_api_forumdisplay_and_paging() -> None:
    payload = json.loads(fixture_bytes("forum", API_FD))
    posts = posts_of(discuz_api.parse_api_forumdisplay(payload, now=NOW, site=SITE, base=DZ))
    assert list(posts) == [f"{SITE}:t2051", f"{SITE}:t2050", f"{SITE}:t2047"]
    assert posts["bbs.example.com:t2051"].created_at == cst(2024, 8, 5, 9, 12, 33)  # dbdateline
    assert posts["bbs.example.com:t2047"].author_id is None  # authorid "0": anonymous
    assert discuz_api.api_has_more_threads(payload) is False  # 3 threads < tpp 20
    thread = json.loads(fixture_bytes("forum", API_VT))
    assert discuz_api.api_thread_pages(thread) == 2  # 12 replies + floor 1 at ppp 10
    del thread["Variables"]["postlist"]
    with pytest.raises(UnexpectedPayload, match="Variables.postlist"):
        discuz_api.parse_api_viewthread(thread, now=NOW, site="s", base=DZ)


API_SITEURL = "constructed-bbs.example.org-api-mobile-viewthread-siteurl.json"
ORG = "bbs.example.org"


def test_mobile_api_takes_the_site_from_the_answer() -> None:
    body = fixture_bytes("forum", API_SITEURL)  # constructed: Variables.siteurl, no recording
    posts = posts_of(ENDPOINTS["discuz-api-viewthread"](body, now=NOW))  # no --context
    assert set(posts) == {f"{ORG}:t3100", f"{ORG}:p41002", f"{ORG}:p41004"}
    thread = posts["bbs.example.org:t3100"]
    assert thread.url == "https://bbs.example.org/bbs/forum.php?mod=viewthread&tid=3100"
    assert thread.extra["site"] == "bbs.example.org" and thread.author_id == "bbs.example.org:501"
    assert posts["bbs.example.org:p41004"].parent_post_id == "bbs.example.org:p41002"
    assert posts["bbs.example.org:p41002"].url.startswith("https://bbs.example.org/bbs/forum.php?")
    # ids and URLs are exactly what the spider gives when it is told the site
    told = ENDPOINTS["discuz-api-viewthread"](
        body, now=NOW, site="bbs.example.org", base="https://bbs.example.org/bbs/"
    )
    assert posts_of(told) == posts
    # what the caller says wins over the answer
    other = posts_of(ENDPOINTS["discuz-api-viewthread"](body, now=NOW, site="mirror"))
    assert "mirror:t3100" in other
    assert other["mirror:t3100"].url.startswith("https://bbs.example.org/bbs/")


def test_mobile_api_without_a_site_warns_once_names_the_fix_and_still_parses(
    caplog: pytest.LogCaptureFixture,
) -> None:
    body = fixture_bytes("forum", API_VT)  # names no site
    with caplog.at_level("WARNING", logger="crawlers.spiders.forum.discuz_api"):
        posts = posts_of(ENDPOINTS["discuz-api-viewthread"](body, now=NOW))
    [warning] = [r for r in caplog.records if r.levelname == "WARNING"]
    assert "--context site=https://bbs.example.com" in warning.getMessage()
    assert {"discuz:t2051", "discuz:p30002", "discuz:p30005"} <= set(posts)  # as before
    assert posts["discuz:t2051"].url.startswith("https://discuz/forum.php?mod=viewthread")
    skipped: Counter[str] = Counter()
    discuz_api.parse_api_forumdisplay(
        json.loads(fixture_bytes("forum", API_FD)), now=NOW, skipped=skipped
    )
    assert skipped == {"discuz_api/site_missing": 1}


def test_context_site_may_be_the_forum_root_url(caplog: pytest.LogCaptureFixture) -> None:
    body = fixture_bytes("forum", API_VT)
    with caplog.at_level("WARNING"):
        by_url = ENDPOINTS["discuz-api-viewthread"](body, now=NOW, site="https://bbs.example.com")
    assert not [r for r in caplog.records if r.levelname == "WARNING"]
    by_host = discuz_api.parse_api_viewthread(json.loads(body), now=NOW, site=SITE, base=DZ)
    assert posts_of(by_url) == posts_of(by_host)
    assert "bbs.example.com:t2051" in posts_of(by_url)
    html = ENDPOINTS["discuz-viewthread"](fixture_bytes("forum", VT), now=NOW, site=DZ)
    assert set(posts_of(html)) == set(posts_of(by_host))


def test_mobile_api_broken_rows_are_counted_and_the_rest_kept() -> None:
    payload = json.loads(fixture_bytes("forum", API_FD))
    rows = payload["Variables"]["forum_threadlist"]
    rows[1]["subject"] = {"not": "text"}  # unreadable
    rows.append({"author": "no tid"})
    rows.append("not a row")
    skipped: Counter[str] = Counter()
    posts = posts_of(
        discuz_api.parse_api_forumdisplay(payload, now=NOW, site=SITE, base=DZ, skipped=skipped)
    )
    assert list(posts) == [f"{SITE}:t2051", f"{SITE}:t2047"]
    assert skipped == {"discuz_api/broken_row": 3}
    thread = json.loads(fixture_bytes("forum", API_VT))
    del thread["Variables"]["postlist"][1]["pid"]
    skipped.clear()
    posts = posts_of(
        discuz_api.parse_api_viewthread(thread, now=NOW, site=SITE, base=DZ, skipped=skipped)
    )
    assert f"{SITE}:p30002" not in posts and f"{SITE}:p30009" in posts
    assert skipped == {"discuz_api/broken_row": 1}
    payload["Variables"]["forum_threadlist"] = [{"author": "no tid"}]
    with pytest.raises(UnexpectedPayload, match="tid"):
        discuz_api.parse_api_forumdisplay(payload, now=NOW, site=SITE, base=DZ)


def test_spider_counts_skipped_rows_in_stats() -> None:
    from scrapy.http import Request, TextResponse
    from scrapy.utils.test import get_crawler

    crawler = get_crawler(ForumSpider, {})
    spider = ForumSpider.from_crawler(crawler, discuz=DZ, api="1", fid="2")
    thread = json.loads(fixture_bytes("forum", API_VT))
    del thread["Variables"]["postlist"][1]["pid"]
    url = DZ + "api/mobile/index.php?version=1&module=viewthread&tid=2051&page=1"
    response = TextResponse(
        url, body=json.dumps(thread).encode(), encoding="utf-8", request=Request(url)
    )
    items = list(spider.parse_discuz_thread(response, tid="2051", page=1, first_pid=None))
    assert f"{SITE}:t2051" in {i.post_id for i in items if isinstance(i, Post)}
    assert crawler.stats is not None
    assert crawler.stats.get_value("parse/forum/discuz_api/broken_row") == 1
    assert crawler.stats.get_value("parse/forum/discuz_api/site_missing") is None


# -- feeds -----------------------------------------------------------------------------------------
def test_discuz_rss_entries_are_the_board_threads() -> None:
    posts = feeds.parse_feed(
        fixture_bytes("forum", "constructed-bbs.example.com-forum-rss.xml"),
        now=NOW,
        feed_url="https://bbs.example.com/forum.php?mod=rss&fid=2",
    )
    assert [p.post_id for p in posts] == ["bbs.example.com:t2051", "bbs.example.com:t2050"]
    assert {p.kind for p in posts} == {"thread"}
    assert posts[0].author_name == "楼下老王"
    assert posts[0].created_at == datetime(2024, 8, 5, 1, 12, 33, tzinfo=UTC)
    # HTML (<b>) stripped from the CDATA description; title first.
    assert posts[1].text.splitlines() == [
        "周末去哪儿玩？求推荐几个地方",
        "天气转凉了，想带孩子出去走走，一小时车程以内最好。",  # <b> stripped from the CDATA
    ]


def test_atom_entries_are_articles_with_sanitised_text() -> None:
    posts = feeds.parse_feed(fixture_bytes("forum", ATOM), now=NOW)
    entry_id = "tag:news.example.org,2024:local/20240806-renewal"
    expected = "news.example.org:a" + hashlib.sha1(entry_id.encode()).hexdigest()[:16]
    assert posts[0].post_id == expected and posts[0].kind == "article"
    assert "track(" not in posts[0].text and "公示期为 30 天" in posts[0].text  # <script> removed
    assert posts[0].created_at == cst(2024, 8, 6, 9, 30)  # published, not updated
    assert posts[1].created_at == cst(2024, 8, 7, 8, 15)  # no published: updated
    assert posts[1].author_name == "样例日报记者 李华"


def test_feed_parser_never_fetches_or_opens_what_a_body_names(tmp_path) -> None:
    secret = tmp_path / "feed.xml"
    secret.write_bytes(fixture_bytes("forum", "constructed-news.example.org-atom.xml"))
    # feedparser.parse(str) would read a local path (or fetch a URL); a crawled body must not.
    with pytest.raises(UnexpectedPayload):
        feeds.parse_feed(str(secret), now=NOW)
    with pytest.raises(UnexpectedPayload, match="not an RSS/Atom feed"):
        feeds.parse_feed(b"<html><body>hello</body></html>", now=NOW)


# -- soft failures --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("status", "name", "error"),
    [
        (403, "constructed-tieba.baidu.com-security-verify.html", Blocked),
        (200, "constructed-tieba.baidu.com-security-verify.html", Blocked),
        (200, "constructed-bbs.example.com-viewthread-deleted.html", ContentUnavailable),
        (200, "constructed-bbs.example.com-forumdisplay-nopermission.html", LoginRequired),
        (200, API_GONE, ContentUnavailable),
        (404, LIST, ContentUnavailable),
        (429, LIST, RateLimited),
    ],
)
def test_soft_failures_raise_typed_errors(status: int, name: str, error: type[Exception]) -> None:
    with pytest.raises(error) as info:
        check_response(status, fixture_bytes("forum", name), "https://example.invalid/x")
    assert info.value.platform == "forum" and info.value.url == "https://example.invalid/x"


def test_gbk_error_page_is_recognised() -> None:
    html = text_of("constructed-bbs.example.com-viewthread-deleted.html")
    html = html.replace("charset=utf-8", "charset=gbk")
    with pytest.raises(ContentUnavailable, match="主题不存在"):
        check_response(200, html.encode("gbk"), "u")


def test_a_post_quoting_an_error_message_is_content() -> None:
    html = text_of("constructed-bbs.example.com-viewthread.html").replace(
        "我们楼也停了", "抱歉，指定的主题不存在或已被删除或正在被审核 百度安全验证"
    )
    check_response(200, html.encode("utf-8"), "u")


@pytest.mark.parametrize("body", [b"", b"   \n", b'{"Version":"1","Variables":{"postlist":[{"pid'])
def test_empty_and_truncated_bodies_are_unexpected(body: bytes) -> None:
    with pytest.raises(UnexpectedPayload):
        check_response(200, body, "u")


def test_robots_txt_is_not_a_forum_answer() -> None:
    check_response(404, b"not found", "https://tieba.baidu.com/robots.txt")


@pytest.mark.parametrize("route", MANIFEST["routes"], ids=lambda r: r["url"][8:70])
def test_every_fixture_parses_or_raises_its_error(route: dict) -> None:
    body = fixture_bytes("forum", route["file"])
    try:
        check_response(route["status"], body, route["url"])
    except (Blocked, ContentUnavailable, LoginRequired) as exc:
        assert route["origin"] == "constructed" and exc.message
        return
    items = ENDPOINTS[detect_endpoint(body, route["url"])](body, now=NOW)
    assert any(isinstance(i, Post) for i in items)


@pytest.mark.parametrize(
    ("name", "endpoint"),
    [
        (LIST, "tieba-threads"),
        (THREAD, "tieba-thread"),
        (LZL, "tieba-comments"),
        (SEARCH, "tieba-search"),
    ],
)
def test_every_recorded_tieba_file_parses_through_tingfeng_parse(
    name: str, endpoint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from scheduler.cli import main

    assert main(["parse", "forum", str(FIXTURES / "forum" / name), "--now", NOW.isoformat()]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert lines and {line["type"] for line in lines} <= {"post", "author"}
    assert detect_endpoint(fixture_bytes("forum", name)) == endpoint


def test_unknown_body_lists_the_endpoints() -> None:
    with pytest.raises(UnexpectedPayload, match="tieba-threads, tieba-thread"):
        detect_endpoint(b"<html><body>nothing here</body></html>")


# -- small pieces ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("11:24", cst(2024, 8, 7, 11, 24)),
        ("7-6", cst(2024, 7, 6)),
        ("2020-05", cst(2020, 5, 1)),
        ("2024-8-6 22:11", cst(2024, 8, 6, 22, 11)),
        ("发表于 2024-8-5 10:03", cst(2024, 8, 5, 10, 3)),
        ("半小时前", NOW - timedelta(minutes=30)),
        ("昨天\xa021:40", cst(2024, 8, 6, 21, 40)),
        ("置顶", None),
        (None, None),
    ],
)
def test_forum_time(text: str | None, expected: datetime | None) -> None:
    assert forum_time(text, now=NOW) == expected


def test_html_text_keeps_lines_and_drops_scripts() -> None:
    assert html_text("a<br/>b <b>c</b><script>x()</script><p>d</p>e") == "a\nb c\nd\ne"


def test_sites_are_data() -> None:
    name, row = resolve_site(feed="https://bbs.example.com/forum.php?mod=rss&fid=2")
    assert (name, row["engine"]) == ("bbs.example.com", "feed")
    name, row = resolve_site(discuz="https://bbs.example.com", api=True)
    assert (name, row["engine"], row["base"]) == ("bbs.example.com", "discuz_api", DZ)
    assert resolve_site("s1")[1]["urls"]["api_viewthread"].startswith("{base}api/mobile/")
    with pytest.raises(ConfigError, match="known: tieba, s1"):
        resolve_site("nosuchforum")
    slots = ForumSpider.custom_settings["DOWNLOAD_SLOTS"]
    assert slots["tieba.baidu.com"] == {"delay": SITES["tieba"]["delay"], "concurrency": 1}


def test_spider_arguments_are_checked() -> None:
    with pytest.raises(ConfigError, match="keyword=<forum name>"):
        ForumSpider()
    with pytest.raises(ConfigError, match="fid="):
        ForumSpider(discuz="https://bbs.example.com/")
    with pytest.raises(ConfigError, match="mode"):
        ForumSpider(keyword="x", mode="browse")


def test_tieba_cookie_goes_to_tieba_only() -> None:
    from scrapy.downloadermiddlewares.cookies import CookiesMiddleware
    from scrapy.utils.test import get_crawler

    def sent(crawler: Any, request: Any) -> Any:
        # What goes on the wire: with COOKIES_ENABLED (the project's default) CookiesMiddleware
        # replaces a hand-set Cookie header with its jar.
        CookiesMiddleware.from_crawler(crawler).process_request(request)
        return request.headers.get("Cookie")

    crawler = get_crawler(ForumSpider, {"TIEBA_COOKIE": "BDUSS=secret", "COOKIES_ENABLED": True})
    tb = ForumSpider.from_crawler(crawler, keyword="盗墓笔记")
    url = tieba.thread_list_url("盗墓笔记")
    request = tb._request(url, tb.parse_tieba_list, kw="盗墓笔记", page=1)
    assert "secret" not in repr(request)
    assert sent(crawler, request) == b"BDUSS=secret"
    dz_crawler = get_crawler(ForumSpider, {"TIEBA_COOKIE": "BDUSS=secret"})
    dz = ForumSpider.from_crawler(dz_crawler, discuz=DZ, fid="2")
    assert sent(dz_crawler, dz._request(DZ, dz.parse_discuz_list, fid="2", page=1)) is None


def test_tieba_cookie_is_sent_as_a_header_when_the_jar_is_off() -> None:
    from scrapy.utils.test import get_crawler

    crawler = get_crawler(ForumSpider, {"TIEBA_COOKIE": "BDUSS=secret", "COOKIES_ENABLED": False})
    tb = ForumSpider.from_crawler(crawler, keyword="盗墓笔记")
    request = tb._request(tieba.thread_list_url("盗墓笔记"), tb.parse_tieba_list, kw="x", page=1)
    assert request.headers.get("Cookie") == b"BDUSS=secret"


# -- end to end -----------------------------------------------------------------------------------
@pytest.mark.slow
def test_demo_crawl_walks_list_thread_and_sub_comments(fixture_server, tmp_path) -> None:
    from crawlers.storage import open_store
    from tests.crawl import run_crawl_subprocess

    args = {**DEMO_ARGS, "topic": "forum-e2e", "now": NOW.isoformat()}
    proc, uri = run_crawl_subprocess("forum", args, tmp_path, fixture_server.base_url)
    assert proc.returncode == 0, proc.stderr[-3000:]
    hits = "\n".join(fixture_server.hits)
    assert "/tieba.baidu.com/p/comment?tid=9117905169&pid=150719088158&pn=1" in hits
    with open_store(uri) as store:
        posts = {p.post_id: p for p in store.posts(topic="forum-e2e")}
        run = store.runs(topic="forum-e2e", since=None)[-1]
        authors = store.authors([("forum", "tieba:tb.1.6ae447d1.1kSMO_ldLGD7OUTJ7rd_Bw")])
    assert Counter(p.kind for p in posts.values()) == {"thread": 49, "comment": 29, "reply": 20}
    replies = [p for p in posts.values() if p.kind == "reply"]
    assert {p.parent_post_id for p in replies} == {"tieba:p150719088158"}
    assert posts["tieba:p150719088158"].root_post_id == "tieba:t9117905169"
    assert all(p.platform == "forum" and p.extra["site"] == "tieba" for p in posts.values())
    assert run.finish_reason == "finished"
    assert not [k for k in run.stats if k.startswith("platform/forum/")]
    assert next(iter(authors.values())).name == "章景轩"
