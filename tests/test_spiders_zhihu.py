"""Zhihu platform module: parsers on constructed fixtures (no successful Zhihu response was ever
recorded), the recorded 40362 risk-control bodies, reply trees, request signing, and an
end-to-end crawl against the fixture server."""

from __future__ import annotations

import hashlib
import json
import sys
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

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
from crawlers.spiders import zhihu
from crawlers.zhihu_sign import SignRequest, d_c0_from_cookie, load_signer, path_of, sign_headers
from tests.fixture_server import FIXTURES, fixture_bytes

DIR = FIXTURES / "zhihu"
UTC = UTC
C = "constructed-www.zhihu.com-api-v4-"
Q = "constructed-search-question.json"  # constructed: no recorded question result exists


def raw(name: str) -> bytes:
    return fixture_bytes("zhihu", name)


def load(name: str) -> dict:
    return json.loads(raw(name))


def by_id(items: list) -> dict[str, Post | Author]:
    return {(i.post_id if isinstance(i, Post) else i.author_id): i for i in items}


EXPECTED = {
    "error-40362_api-v4-search_v3.json": ("search", Blocked),
    "error-40362_api-v4-articles.json": ("article", Blocked),
    C + "search_v3.json": ("search", None),
    C + "search_v3-p2.json": ("search", None),
    Q: ("search", None),
    C + "questions-feeds.json": ("question_answers", None),
    C + "questions-answers.json": ("question_answers", None),
    C + "comment_v5-answers-root_comment.json": ("root_comments", None),
    C + "comment_v5-answers-root_comment-p2.json": ("root_comments", None),
    C + "comment_v5-articles-root_comment.json": ("root_comments", None),
    C + "comment_v5-comment-child_comment.json": ("child_comments", None),
    C + "members-alice.json": ("member", None),
    C + "members-bob.json": ("member", None),
    C + "articles.json": ("article", None),
}


def test_every_fixture_is_listed_and_served() -> None:
    files = {p.name for p in DIR.iterdir() if p.name != "manifest.json"}
    assert files == set(EXPECTED)
    manifest = json.loads((DIR / "manifest.json").read_text(encoding="utf-8"))
    assert {r["file"] for r in manifest["routes"]} == files
    for route in manifest["routes"]:
        assert route["origin"] == (
            "constructed" if route["file"].startswith("constructed-") else "recorded"
        )


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_detects_checks_and_parses(name: str, now: datetime) -> None:
    endpoint, error = EXPECTED[name]
    body = raw(name)
    assert zhihu.detect_endpoint(body, url=name) == endpoint
    if error is not None:
        for status in (200, 403):  # the recordings did not keep the status: both must block
            with pytest.raises(error, match="40362") as info:
                zhihu.check_response(status, body, url=name)
            assert info.value.platform == "zhihu"
        return
    zhihu.check_response(200, body, url=name)
    assert zhihu.ENDPOINTS[endpoint](body, now=now)


def test_error_bodies_need_the_url_to_name_their_endpoint() -> None:
    with pytest.raises(UnexpectedPayload, match="search, question_answers"):
        zhihu.detect_endpoint(raw("error-40362_api-v4-search_v3.json"))


def test_search_results(now: datetime) -> None:
    items = zhihu.parse_search(load(C + "search_v3.json"), now=now)
    found = by_id(items)
    answer = found["answer:1000000001"]
    assert answer.kind == "answer" and answer.author_name == "演示用户甲"
    assert (answer.parent_post_id, answer.root_post_id) == (
        "question:200000001",
        "question:200000001",
    )
    assert (
        answer.text
        == "我家楼下就是夜间施工路段。\n投诉了三次，12345 热线最后协调了限时施工，效果还不错。"
    )
    assert (answer.like_count, answer.comment_count) == (120, 5)
    assert answer.created_at == datetime.fromtimestamp(1763200000, UTC)
    assert answer.url == "https://www.zhihu.com/question/200000001/answer/1000000001"
    thread = found["question:200000001"]
    assert thread.kind == "thread" and thread.title == "演示话题：城市夜间噪音该如何治理？"
    article = found["article:300000001"]
    assert article.kind == "article" and article.url == "https://zhuanlan.zhihu.com/p/300000001"
    assert "最大的噪音来源" in article.text  # <b> inside a paragraph joins the line
    anonymous = found["answer:1000000002"]
    assert anonymous.author_id is None and anonymous.author_name == "匿名用户"
    assert "0" not in found  # no Author record for the anonymous id
    assert sum(isinstance(i, Post) and i.post_id == "question:200000001" for i in items) == 1
    assert zhihu.next_page(load(C + "search_v3.json")).endswith(
        "offset=20&limit=20&filter_fields=&lc_idx=20&show_all_topics=0&search_source=Normal"
    )
    assert zhihu.next_page(load(C + "search_v3-p2.json")) is None


def test_search_question_zvideo_and_skipped_types(now: datetime) -> None:
    skipped: Counter[str] = Counter()
    items = zhihu.parse_search(load(Q), now=now, skipped=skipped)
    found = by_id(items)
    question = found["question:200000003"]
    assert question.kind == "thread" and question.url == "https://www.zhihu.com/question/200000003"
    assert question.title == "演示问题：小区加装电梯，低层住户该不该出钱？"  # <em> highlight gone
    assert question.text.splitlines()[1].startswith("老小区加装电梯要全体业主出资")
    assert question.comment_count == 86  # its answers are its replies
    assert (question.extra["answer_count"], question.extra["follower_count"]) == (86, 1203)
    assert question.extra["text_source"] == "excerpt"
    assert question.created_at == datetime.fromtimestamp(1763000000, UTC)
    # the answer's stub of the same question came first: one record, the question result's
    assert sum(isinstance(i, Post) and i.post_id == "question:200000003" for i in items) == 1
    assert found["answer:1000000006"].parent_post_id == "question:200000003"
    video = found["zvideo:1500000001"]
    assert video.kind == "original" and video.url == "https://www.zhihu.com/zvideo/1500000001"
    assert (video.title, video.like_count) == ("演示问题：加装电梯施工全过程", 64)
    assert video.text == "从打地基到验收，记录了 45 天（演示视频）。"
    assert video.author_name == "演示用户丙" and "9f8e7d6c5b4a39281706f5e4d3c2b1a0" in found
    assert skipped == {
        "skipped_result_type/people": 1,
        "skipped_result_type/topic": 1,
        "skipped_result_type/column": 1,
        "skipped_item_type/relevant_query": 1,
        "skipped_item_type/knowledge_ad": 1,
        "skipped_item_type/search_club": 1,
        "skipped_item_type/koc_box": 1,
        "skipped_item_type/hot_timing": 1,
        "skipped_item_type/wiki_box": 1,
        "skipped_item_type/one_box": 1,
    }
    assert {type(i).__name__ for i in items} == {"Post", "Author"}
    assert zhihu.next_page(load(Q)) is None


def test_search_counts_unknown_types_and_keeps_the_rest(now: datetime) -> None:
    payload = load(Q)
    payload["data"] += [
        {"type": "brand_new_box", "object": {"id": 1}},
        {"type": "search_result", "object": {"id": "e1", "type": "ebook", "title": "新类型"}},
        "not an item",
    ]
    skipped: Counter[str] = Counter()
    items = zhihu.parse_search(payload, now=now, skipped=skipped)
    assert skipped["unknown_item_type/brand_new_box"] == 1
    assert skipped["unknown_result_type/ebook"] == 1
    assert skipped["unknown_item_type/str"] == 1
    assert {"answer:1000000006", "question:200000003", "zvideo:1500000001"} <= set(by_id(items))


def test_one_broken_result_does_not_cost_the_page(now: datetime) -> None:
    payload = load(C + "search_v3.json")
    payload["data"][0]["object"]["question"] = {}  # answer 1000000001 loses its question
    payload["data"].append({"type": "search_result", "object": {"type": "question"}})  # no id
    payload["data"].append({"type": "search_result", "object": None})
    skipped: Counter[str] = Counter()
    found = by_id(zhihu.parse_search(payload, now=now, skipped=skipped))
    assert "answer:1000000001" not in found
    assert {"answer:1000000002", "article:300000001", "question:200000001"} <= set(found)
    assert skipped["broken_item/answer"] == 1
    assert skipped["broken_item/question"] == 1
    assert skipped["broken_item/search_result"] == 1
    # the same on a question's answer list
    feeds = load(C + "questions-feeds.json")
    feeds["data"][0]["target"]["question"] = {}
    skipped.clear()
    answers = by_id(zhihu.parse_answers(feeds, now=now, skipped=skipped))
    assert "answer:1000000004" in answers and skipped == {"broken_item/answer": 1}
    # a page where every result is broken is a changed shape, not an empty page
    only_broken = {"data": [payload["data"][0]]}
    with pytest.raises(UnexpectedPayload, match="without question.id"):
        zhihu.parse_search(only_broken, now=now)


def test_question_detail_and_bare_zvideo_items(now: datetime) -> None:
    payload = {
        "data": [
            {
                "type": "search_result",
                "object": {
                    "id": 7,
                    "type": "question",
                    "title": "演示问题？",
                    "detail": "<p>补充说明第一段。</p><p>第二段。</p>",
                    "excerpt": "补充说明……",
                    "created_time": 1763000000,
                    "answer_count": 0,
                },
            },
            {"type": "zvideo", "id": 9, "title": "演示视频", "published_at": 1763000100},
        ]
    }
    found = by_id(zhihu.parse_search(payload, now=now))
    assert found["question:7"].text == "演示问题？\n补充说明第一段。\n第二段。"
    assert found["question:7"].extra["text_source"] == "detail"
    assert found["question:7"].created_at == datetime.fromtimestamp(1763000000, UTC)
    assert found["zvideo:9"].text == "演示视频" and found["zvideo:9"].created_at is not None


def test_question_answers_both_shapes(now: datetime) -> None:
    feeds = by_id(zhihu.parse_answers(load(C + "questions-feeds.json"), now=now))
    assert {"answer:1000000001", "answer:1000000004", "question:200000001"} <= set(feeds)
    assert feeds["answer:1000000001"].like_count == 121
    answers = by_id(zhihu.parse_answers(load(C + "questions-answers.json"), now=now))
    assert answers["answer:1000000003"].root_post_id == "question:200000002"
    assert answers["answer:1000000005"].author_id is None


def test_reply_tree_keeps_parent_and_root(now: datetime) -> None:
    roots = by_id(
        zhihu.parse_root_comments(load(C + "comment_v5-answers-root_comment.json"), now=now)
    )
    head = roots["comment:4000000001"]
    assert head.kind == "comment"
    # parent/root read from the paging links when the caller does not say which answer it asked for
    assert (head.parent_post_id, head.root_post_id) == ("answer:1000000001", "answer:1000000001")
    assert (head.region, head.comment_count, head.like_count) == ("浙江", 3, 8)
    inline = roots["comment:4000000011"]
    assert inline.kind == "reply" and inline.parent_post_id == "comment:4000000001"

    children = by_id(
        zhihu.parse_child_comments(
            load(C + "comment_v5-comment-child_comment.json"), now=now, root="answer:1000000001"
        )
    )
    second, third = children["comment:4000000012"], children["comment:4000000013"]
    assert second.parent_post_id == "comment:4000000011"  # a reply to a reply
    assert third.parent_post_id == "comment:4000000012"
    assert {p.root_post_id for p in children.values() if isinstance(p, Post)} == {
        "answer:1000000001"
    }
    assert {p.extra["root_comment_id"] for p in children.values() if isinstance(p, Post)} == {
        "4000000001"
    }
    assert (second.parent_author_id, second.parent_author_name) == (
        "5f3c1a2b9d8e7f60a1b2c3d4e5f60718",
        "演示用户甲",
    )
    # Walking parents from any reply reaches the answer.
    tree = {**roots, **children}
    node, path = third, []
    while node.parent_post_id in tree:
        path.append(node.parent_post_id)
        node = tree[node.parent_post_id]
    assert path == ["comment:4000000012", "comment:4000000011", "comment:4000000001"]
    assert node.parent_post_id == "answer:1000000001"


def test_reply_without_target_hangs_under_its_root_comment(now: datetime) -> None:
    payload = {
        "data": [
            {
                "id": "9",
                "type": "comment",
                "content": "嗯",
                "reply_comment_id": "0",
                "reply_root_comment_id": "7",
                "author": {"member": {"id": "m1", "name": "旧接口"}},
            }
        ],
        "paging": {"is_end": True},
    }
    [reply, author] = zhihu.parse_child_comments(payload, now=now, root="article:5")
    assert (reply.kind, reply.parent_post_id, reply.root_post_id) == (
        "reply",
        "comment:7",
        "article:5",
    )
    assert (author.author_id, author.name) == ("m1", "旧接口")  # the older {"member": …} wrapper


def test_member_profile(now: datetime) -> None:
    [bob] = zhihu.parse_member(load(C + "members-bob.json"), now=now)
    assert (bob.author_id, bob.name, bob.followers, bob.following) == (
        "0a1b2c3d4e5f60718293a4b5c6d7e8f9",
        "演示用户乙",
        30567,
        210,
    )
    assert bob.posts == 410 + 58 and bob.extra["voteup_count"] == 154000
    assert (bob.region, bob.gender, bob.url) == (
        "北京",
        "m",
        "https://www.zhihu.com/people/tingfeng-demo-bob",
    )
    assert bob.verified is True and bob.verified_reason == "某大学 声学 博士（演示）"
    [alice] = zhihu.parse_member(load(C + "members-alice.json"), now=now)
    assert alice.verified is False and alice.gender == "f"


def test_article(now: datetime) -> None:
    post, author = zhihu.parse_article(load(C + "articles.json"), now=now)
    assert (
        post.post_id == "article:300000001" and post.extra["column"] == "城市声音观察（演示专栏）"
    )
    assert (
        post.created_at == datetime.fromtimestamp(1763100000, UTC) and author.name == "演示用户乙"
    )
    assert post.text.splitlines()[-1] == "各时段噪音分布（演示数据）"


@pytest.mark.parametrize(
    ("endpoint", "body"),
    [
        ("search", raw(C + "search_v3.json")[:700]),
        ("search", b'{"items": []}'),
        (
            "question_answers",
            b'{"data": [{"target": {"id": 1, "type": "answer", "question": {}}}]}',
        ),
        ("root_comments", b'{"data": [{"type": "comment", "content": "no id"}]}'),
        ("member", b'{"name": "no id"}'),
        ("article", b'{"id": 1, "type": "answer"}'),
        ("child_comments", "<html>登录</html>".encode()),
    ],
)
def test_malformed_bodies_raise_unexpected_payload(
    endpoint: str, body: bytes, now: datetime
) -> None:
    with pytest.raises(UnexpectedPayload):
        zhihu.ENDPOINTS[endpoint](body, now=now)


def test_check_response_statuses() -> None:
    with pytest.raises(LoginRequired):
        zhihu.check_response(401, '{"error": {"code": 100, "message": "请登录"}}'.encode(), "u")
    with pytest.raises(RateLimited):
        zhihu.check_response(429, b"", "u")
    with pytest.raises(ContentUnavailable):
        zhihu.check_response(404, '{"error": {"code": 0, "message": "资源不存在"}}'.encode(), "u")
    with pytest.raises(Blocked):
        zhihu.check_response(200, "<html>安全验证</html>".encode(), "u")
    with pytest.raises(UnexpectedPayload, match="expected JSON"):
        zhihu.check_response(200, raw(C + "articles.json")[:100], "u")
    with pytest.raises(UnexpectedPayload, match="12345"):
        zhihu.check_response(200, b'{"error": {"code": 12345, "message": "new"}}', "u")
    assert zhihu.check_response(503, b"", "u") is None


# -- signing ------------------------------------------------------------------------------------
def test_signing_source_and_digest() -> None:
    url = zhihu.search_url("测试", 1)
    request = SignRequest(path_of(url), "AMAW7Hf1ahY=|1677915009")
    assert request.source == f"101_3_3.0+{path_of(url)}+AMAW7Hf1ahY=|1677915009"
    assert path_of(url).startswith(
        "/api/v4/search_v3?gk_version=gz-gaokao&t=general&q=%E6%B5%8B%E8%AF%95&"
    )
    assert request.md5 == hashlib.md5(request.source.encode()).hexdigest()
    assert "AMAW7" not in repr(request)  # the cookie value stays out of logs


def test_d_c0_from_cookie() -> None:
    assert (
        d_c0_from_cookie('_zap=a; d_c0="AMAW7Hf1ahY=|1677915009"; z_c0=x')
        == "AMAW7Hf1ahY=|1677915009"
    )
    assert d_c0_from_cookie("d_c0=AMAW7Hf1ahY%3D%7C1677915009") == "AMAW7Hf1ahY=|1677915009"
    assert d_c0_from_cookie("z_c0=x") is None


def test_command_signer_gets_the_request_and_its_answer_becomes_the_header(tmp_path: Path) -> None:
    script = tmp_path / "sign.py"
    script.write_text(
        "import json, sys\nr = json.load(sys.stdin)\nprint(r['md5'][::-1])\n", encoding="utf-8"
    )
    signer = load_signer(f"cmd:{sys.executable} {script}")
    url = "https://www.zhihu.com/api/v4/members/someone?include=follower_count"
    headers = sign_headers(url, 'd_c0="D0"', signer)
    expected = SignRequest("/api/v4/members/someone?include=follower_count", "D0").md5[::-1]
    assert headers == {"x-zse-93": "101_3_3.0", "x-zse-96": "2.0_" + expected}
    assert sign_headers(url, "no_d_c0=1", signer) == {
        "x-zse-93": "101_3_3.0"
    }  # nothing to sign with


def test_signer_failures_name_the_fix(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cmd:<program args> or python"):
        load_signer("node sign.js")
    failing = load_signer(f"cmd:{sys.executable} -c 'import sys; sys.exit(3)'")
    with pytest.raises(ConfigError, match="exited with 3"):
        sign_headers("https://www.zhihu.com/api/v4/x", "d_c0=D", failing)
    injecting = load_signer(f"cmd:{sys.executable} -c 'print(\"abc\\r\\nX-Evil: 1\")'")
    with pytest.raises(ConfigError, match="not an x-zse-96"):
        sign_headers("https://www.zhihu.com/api/v4/x", "d_c0=D", injecting)
    assert load_signer("python:hashlib:md5") is hashlib.md5
    with pytest.raises(ConfigError, match="cannot be imported"):
        load_signer("python:no_such_module_here:f")


@pytest.mark.slow
def test_crawl_end_to_end(fixture_server, tmp_path: Path) -> None:
    from crawlers.storage import open_store
    from tests.crawl import run_crawl_subprocess

    signer = tmp_path / "sign.py"
    signer.write_text(
        "import json, sys\nprint('TESTSIG' + json.load(sys.stdin)['md5'][:8])\n", encoding="utf-8"
    )
    proc, uri = run_crawl_subprocess(
        "zhihu",
        {**zhihu.DEMO_ARGS, "now": "2026-11-20T12:00:00+00:00"},
        tmp_path,
        fixture_server.base_url,
        ZHIHU_SIGNER=f"cmd:{sys.executable} {signer}",
        ZHIHU_COOKIE='d_c0="SECRETD0|1"',
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "SECRETD0" not in proc.stderr
    since = datetime(2000, 1, 1, tzinfo=UTC)
    with open_store(uri) as store:
        found = {p.post_id: p for p in store.posts(topic="演示话题", since=since)}
        people = store.authors(
            [
                ("zhihu", "0a1b2c3d4e5f60718293a4b5c6d7e8f9"),
                ("zhihu", "5f3c1a2b9d8e7f60a1b2c3d4e5f60718"),
            ]
        )
        [run] = store.runs(topic="演示话题", since=since)
    # search (both pages), the question's feed, the article, both comment pages and the child thread
    assert {
        "answer:1000000001",
        "answer:1000000003",
        "answer:1000000004",
        "article:300000001",
        "comment:4000000003",
        "comment:4000000013",
        "comment:4100000002",
    } <= set(found)
    assert found["comment:4000000013"].parent_post_id == "comment:4000000012"
    assert found["comment:4000000013"].root_post_id == "answer:1000000001"
    # Author profiles were fetched by url_token: followers come from /members.
    assert people[("zhihu", "0a1b2c3d4e5f60718293a4b5c6d7e8f9")].followers == 30567
    assert run.finish_reason == "finished"
    assert run.stats.get("platform/zhihu/unexpected_payload", 0) == 0


@pytest.mark.slow
def test_risk_control_closes_the_crawl_as_blocked(fixture_server, tmp_path: Path) -> None:
    from crawlers.storage import open_store
    from tests.crawl import run_crawl_subprocess

    proc, uri = run_crawl_subprocess(
        "zhihu", {"keyword": "风控"}, tmp_path, fixture_server.base_url
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "ZHIHU_SIGNER is not set" in proc.stderr
    with open_store(uri) as store:
        [run] = store.runs(topic="风控", since=datetime(2000, 1, 1, tzinfo=UTC))
    assert run.finish_reason == "blocked" and run.stats["platform/zhihu/blocked"] == 1


def test_the_single_answer_endpoint_is_detected_and_parsed() -> None:
    from crawlers.spiders.zhihu import ENDPOINTS as EP
    from crawlers.spiders.zhihu import detect_endpoint as detect

    answer = {"type": "answer", "id": 42, "content": "<p>演示回答</p>", "voteup_count": 3,
              "created_time": 1560650000, "author": {"id": "a1", "name": "演示用户"},
              "question": {"id": 7, "title": "演示问题？", "type": "question"}}
    raw = json.dumps(answer, ensure_ascii=False).encode()
    assert detect(raw) == "answer"
    items = EP["answer"](raw, now=datetime(2019, 6, 16, tzinfo=UTC))
    posts = {i.post_id: i for i in items if isinstance(i, Post)}
    assert posts["answer:42"].text == "演示回答"
    assert posts["answer:42"].parent_post_id == "question:7"
    assert posts["question:7"].kind == "thread"


@pytest.mark.slow
def test_search_crawl_counts_skipped_types_in_stats(fixture_server, tmp_path: Path) -> None:
    from crawlers.storage import open_store
    from tests.crawl import run_crawl_subprocess

    proc, uri = run_crawl_subprocess(
        "zhihu",
        {"keyword": "演示问题", "comments": "0", "authors": "0", "now": "2026-11-20T12:00:00Z"},
        tmp_path,
        fixture_server.base_url,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    since = datetime(2000, 1, 1, tzinfo=UTC)
    with open_store(uri) as store:
        found = {p.post_id: p for p in store.posts(topic="演示问题", since=since)}
        [run] = store.runs(topic="演示问题", since=since)
    assert {"question:200000003", "answer:1000000006", "zvideo:1500000001"} <= set(found)
    assert found["question:200000003"].extra["follower_count"] == 1203
    assert run.stats["parse/zhihu/skipped_result_type/people"] == 1
    assert run.stats["parse/zhihu/skipped_item_type/knowledge_ad"] == 1
    assert run.stats.get("platform/zhihu/unexpected_payload", 0) == 0
    assert run.stats.get("validate/unknown_kind", 0) == 0
