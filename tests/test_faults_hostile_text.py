"""Half an emoji, NUL and ESC from a crawl: cleaned once at the items boundary, so scoring, every
report format, the graph exports and alerts all work on them."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

import pytest

from crawlers.items import Author, Post, from_dict, to_dict
from crawlers.storage import open_store
from scheduler.cli import main

HOSTILE = "品牌A太差了\ud83d 退款\x00拖延\x1b[31m红字\x1b[0m \ud83d\ude21"
NOW = datetime.now(UTC)


def test_items_clean_hostile_code_points_and_keep_real_emoji():
    post = Post("weibo", "1", text=HOSTILE, author_name="坏\x00名\x1b", repost_path=["a\x00b"])
    assert "\x00" not in post.text and "\x1b" not in post.text and "😡" in post.text
    post.text.encode("utf-8")  # no lone surrogate left
    assert post.author_name == "坏名" and post.repost_path == ["ab"]
    assert from_dict(Post, to_dict(post)) == post
    assert Author("weibo", "u", name="\ud83d名字").name == "\ufffd名字"


@pytest.fixture
def hostile_store(tmp_path):
    uri = f"sqlite:///{tmp_path / 'h.db'}"
    with open_store(uri) as store:
        root = Post("weibo", "r", text=HOSTILE, created_at=NOW - timedelta(hours=2),
                    topics=["品牌A"], author_id="a", author_name="坏\x00号\x1b")
        reposts = [Post("weibo", f"c{i}", text=f"转发 {HOSTILE}", kind="repost",
                        parent_post_id="r", root_post_id="r", author_id=f"u{i}",
                        created_at=NOW - timedelta(hours=1), topics=["品牌A"]) for i in range(3)]
        store.upsert_posts([root, *reposts])
        store.upsert_authors([Author("weibo", "a", name="坏\x00号\x1b\ud83d", followers=3_000_000),
                              *[Author("weibo", f"u{i}", name=f"用户\x00{i}") for i in range(3)]])
    return uri


def test_every_output_path_takes_hostile_text(hostile_store, tmp_path, capsys):
    base = ["--store", hostile_store]
    assert main([*base, "sentiment", "rescore"]) == 0
    for fmt in ("gexf", "graphml"):
        out = tmp_path / f"g.{fmt}"
        assert main([*base, "graph", "export", "--topic", "品牌A", "--format", fmt,
                     "-o", str(out)]) == 0
        ET.parse(out)  # well-formed XML
    for fmt in ("json", "csv", "html", "table"):
        out = tmp_path / f"r.{fmt}"
        assert main([*base, "report", "kol", "--topic", "品牌A", "--format", fmt,
                     "--no-pictures", "-o", str(out)]) == 0
        text = out.read_text(encoding="utf-8")
        assert "\x00" not in text and "\x1b" not in text
    json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert main([*base, "graph", "--topic", "品牌A"]) == 0
    assert "\x1b" not in capsys.readouterr().out
