"""The cascade explorer's pages and JSON: the largest cascades of a monitor measured as graph/
measures them, the repost tree with parents resolved (``parent_post_id`` and ``//@`` names),
the 500-node cap, another monitor's cascade answering 404, hostile crawled text escaped."""

from __future__ import annotations

from datetime import datetime, timedelta
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from crawlers.items import Post, utcnow
from crawlers.storage import Store
from graph.build import cascade
from graph.shape import cascade_shape
from tests.web_support import HOSTILE_MONITOR, HOSTILE_TEXT, MONITOR, login, make_app
from web.data.cascades import cascade_detail

# child -> parent in the first cascade; "r21" names its parent only by //@ screen name.
TREE = {"r1": "c0", "r2": "c0", "r3": "c0", "r11": "r1", "r12": "r1", "r111": "r11",
        "r21": "r2", "r4": "c0"}


def fill_cascades(store: Store, now: datetime) -> None:
    """Weibo-like cascades: ``c0`` (this monitor; reposts of reposts, one known only by its
    ``//@`` chain, one with hostile text), ``c9`` and ``h0`` (two posts each; ``h0`` all
    hostile text), ``x0`` (the other monitor's)."""
    t0 = now - timedelta(hours=6)
    posts = [Post("weibo", "c0", text="品牌A 退款难 原帖", created_at=t0, author_id="a0",
                  author_name="博主", topics=[MONITOR], url="https://weibo.com/a0/c0",
                  repost_count=8, like_count=50, sentiment_label="negative")]
    labels = ("negative", "neutral", "positive", None)
    for i, (child, parent) in enumerate(TREE.items()):
        by_name = child == "r21"
        posts.append(Post(
            "weibo", child, kind="repost", created_at=t0 + timedelta(minutes=5 * (i + 1)),
            text=(HOSTILE_TEXT if child == "r4" else f"//@用户{parent}: 转发 {child}"),
            author_id=f"u{child}", author_name=f"用户{child}", root_post_id="c0",
            parent_post_id=None if by_name else parent,
            parent_author_name=f"用户{parent}" if by_name else None,
            repost_path=[f"用户{parent}", "博主"] if by_name else [],
            url=HOSTILE_URL_OR(child), like_count=i, repost_count=1 if parent == "c0" else 0,
            topics=[MONITOR] if i % 2 == 0 else [], sentiment_label=labels[i % 4]))
    posts += [Post("weibo", "c9", text="品牌A 小事", created_at=t0, author_id="b0",
                   topics=[MONITOR]),
              Post("weibo", "c9r", kind="repost", created_at=t0 + timedelta(minutes=1),
                   author_id="b1", root_post_id="c9", parent_post_id="c9", topics=[MONITOR])]
    posts += [Post("weibo", "x0", text="品牌B 秘密", created_at=t0, author_id="x",
                   topics=[HOSTILE_MONITOR])]
    posts += [Post("weibo", f"x{i}", kind="repost", created_at=t0 + timedelta(minutes=i),
                   author_id=f"x{i}", root_post_id="x0", parent_post_id="x0",
                   topics=[HOSTILE_MONITOR]) for i in range(1, 6)]
    posts += [Post("weibo", "h0", text=HOSTILE_TEXT, author_name=HOSTILE_TEXT, author_id="h",
                   created_at=t0, topics=[MONITOR], url="javascript:window.__pwned=8"),
              Post("weibo", "h1", kind="repost", root_post_id="h0", parent_post_id="h0",
                   author_id="h1", author_name=HOSTILE_TEXT, text=HOSTILE_TEXT,
                   topics=[MONITOR], created_at=t0 + timedelta(minutes=3))]
    store.upsert_posts(posts)


def HOSTILE_URL_OR(child: str) -> str:  # noqa: N802 - reads like the constant it returns
    return "javascript:window.__pwned=9" if child == "r4" else f"https://weibo.com/{child}"


@pytest.fixture
def app(tmp_path):
    app = make_app(tmp_path)
    fill_cascades(app.state.ctx.store, utcnow())
    return app


@pytest.fixture
def viewer(app):
    with TestClient(app) as client:
        assert login(client, "vic").status_code == 303
        yield client


def _api(name: str, *rest: str) -> str:
    return "/api/monitors/" + "/".join(quote(x, safe="") for x in (name, "cascades", *rest))


def test_list_measures_cascades_as_graph_does(app, viewer):
    body = viewer.get(_api(MONITOR)).json()
    rows = body["cascades"]
    assert [r["root_post_id"] for r in rows] == ["c0", "c9", "h0"]  # x0 is the other monitor's
    store = app.state.ctx.store
    for r in rows:
        shape = cascade_shape(cascade(store.cascade("weibo", r["root_post_id"]),
                                      r["root_post_id"]))
        assert (r["size"], r["depth"], r["max_breadth"]) == (
            shape["size"], shape["depth"], shape["max_breadth"])
        assert r["structural_virality"] == pytest.approx(shape["structural_virality"])
    c0 = rows[0]
    assert (c0["size"], c0["depth"], c0["max_breadth"]) == (9, 3, 4)
    assert c0["author"] == "博主" and c0["excerpt"].startswith("品牌A 退款难")
    # c0: negative c0, r1 (i=0), r111 (i=4); scored: c0 + 6 of the 8 reposts
    assert c0["negative_share"] == pytest.approx(3 / 7)
    assert c0["url"] == f"/monitors/{quote(MONITOR, safe='')}/cascades/weibo/c0"


def test_list_page_links_to_the_explorer(viewer):
    page = viewer.get(f"/monitors/{quote(MONITOR, safe='')}/cascades?range=7d")
    assert page.status_code == 200
    assert f'href="/monitors/{quote(MONITOR, safe="")}/cascades/weibo/c0"' in page.text
    assert 'data-cascade="weibo/c0"' in page.text and "weibo/x0" not in page.text


def test_tree_edges_follow_parent_ids_and_repost_names(viewer):
    body = viewer.get(_api(MONITOR, "weibo", "c0")).json()
    assert {(e["source"], e["target"]) for e in body["edges"]} == {
        (parent, child) for child, parent in TREE.items()}
    nodes = {n["id"]: n for n in body["nodes"]}
    assert nodes["r21"]["parent"] == "r2" and nodes["r111"]["depth"] == 3
    assert (body["shown"], body["total"]) == (9, 9)
    assert nodes["c0"]["account_url"] == f"/accounts/weibo/a0?monitor={quote(MONITOR, safe='')}"
    assert nodes["c0"]["url"] == "https://weibo.com/a0/c0"
    assert nodes["r4"]["url"] is None  # javascript: dropped
    assert nodes["r4"]["text"] == HOSTILE_TEXT  # raw in JSON; the page sets it as text


def test_cap_keeps_most_engaged_with_their_ancestors(app):
    posts = app.state.ctx.store.cascade("weibo", "c0")
    body = cascade_detail(posts, "c0", topic=MONITOR, w=app.state.ctx.words, cap=4)
    kept = {n["id"] for n in body["nodes"]}
    # by engagement: c0 (58), r4 (8), r21 (7), r111 (5) …; r21 brings r2, then r111 would need
    # r11 and r1 (two more): no room
    assert kept == {"c0", "r4", "r21", "r2"}
    assert (body["shown"], body["total"]) == (4, 9)
    for n in body["nodes"]:
        assert n["parent"] is None or n["parent"] in kept


def test_another_monitors_cascade_is_404(viewer):
    for path in (_api(MONITOR, "weibo", "x0"), _api(MONITOR, "weibo", "nope"),
                 _api("没有", "weibo", "c0")):
        r = viewer.get(path)
        assert r.status_code == 404, path
    page = viewer.get(f"/monitors/{quote(MONITOR, safe='')}/cascades/weibo/x0")
    assert page.status_code == 404 and "该监测下没有这条传播链" in page.text
    assert viewer.get(_api(HOSTILE_MONITOR, "weibo", "x0")).status_code == 200


def test_hostile_text_is_escaped_in_the_pages(viewer):
    for path in (f"/monitors/{quote(MONITOR, safe='')}/cascades",
                 f"/monitors/{quote(MONITOR, safe='')}/cascades/weibo/h0"):
        page = viewer.get(path)
        assert page.status_code == 200, path
        assert "<script>window.__pwned" not in page.text
        assert "<img src=x" not in page.text and 'href="javascript:' not in page.text
        assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in page.text, path


def test_explorer_page_says_how_many_nodes_it_shows(viewer):
    page = viewer.get(f"/monitors/{quote(MONITOR, safe='')}/cascades/weibo/c0")
    assert page.status_code == 200
    assert "显示 9 / 共 9" in page.text
    assert 'src="/static/cascade.js"' in page.text
    assert f'data-url="{_api(MONITOR, "weibo", "c0")}"' in page.text


def test_a_big_cascade_is_drawn_with_500_of_its_nodes(app, viewer):
    t0 = utcnow() - timedelta(hours=3)
    posts = [Post("weibo", "big", text="大链", created_at=t0, author_id="b", topics=[MONITOR])]
    posts += [Post("weibo", f"big{j}", kind="repost", root_post_id="big",
                   parent_post_id="big" if j < 20 else f"big{j % 20}", author_id=f"b{j}",
                   created_at=t0 + timedelta(seconds=j), like_count=j % 37)
              for j in range(700)]
    app.state.ctx.store.upsert_posts(posts)
    body = viewer.get(_api(MONITOR, "weibo", "big")).json()
    assert (body["shown"], body["total"], body["size"]) == (500, 701, 701)
    kept = {n["id"] for n in body["nodes"]}
    assert all(n["parent"] in kept for n in body["nodes"] if n["id"] != "big")
    assert len(body["edges"]) == 499
    least_kept = min(n["engagement"] for n in body["nodes"] if n["depth"] == 2)
    assert all(p.like_count <= least_kept for p in posts[21:] if p.post_id not in kept)
    page = viewer.get(f"/monitors/{quote(MONITOR, safe='')}/cascades/weibo/big")
    assert "显示 500 / 共 701" in page.text


def test_a_cascade_whose_root_was_never_collected_still_opens(app, viewer):
    # Only reposts were crawled: the root is a placeholder named from the reposts' chain.
    now = utcnow()
    app.state.ctx.store.upsert_posts([
        Post("weibo", f"o{i}", kind="repost", text=f"//@原作者: 转发 {i}", author_id=f"o{i}",
             root_post_id="gone", parent_post_id="gone", topics=[MONITOR],
             created_at=now - timedelta(hours=1, minutes=i)) for i in range(3)])
    page = viewer.get(f"/monitors/{quote(MONITOR, safe='')}/cascades/weibo/gone")
    assert page.status_code == 200, page.text[:300]
    body = viewer.get(_api(MONITOR, "weibo", "gone")).json()
    root = next(n for n in body["nodes"] if n["id"] == body["root"])
    assert root["placeholder"] and root["title"] is None and body["total"] == 4
