"""KOL report: assembly on a hand-built cascade with answers worked out on paper, the four
renderers (CJK-aligned table, JSON, CSV for Excel, self-contained HTML), hostile post text, the
`tingfeng report` command, and a headless-Chromium render of the HTML."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser

import pytest

from crawlers.items import Author, Monitor, Post
from crawlers.storage.memory import MemoryStore
from scheduler.cli import main
from scheduler.reports import (
    kol_report,
    render_csv,
    render_html,
    render_json,
    render_table,
)
from scheduler.reports.graphfacts import graph_facts, local_graph_facts
from scheduler.reports.render_table import display_width

NOW = datetime(2026, 11, 24, 4, 0, tzinfo=UTC)  # 12:00 Beijing time
T0 = datetime(2026, 11, 20, 16, 30, tzinfo=UTC)  # 2026-11-21 00:30 Beijing time
SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16


def _post(pid: str, author: str, hours: float, parent: str | None = None, **kw) -> Post:
    kw.setdefault("author_name", f"用户{author}")
    return Post("weibo", pid, text=kw.pop("text", f"品牌A 帖子 {pid}"), author_id=author,
                created_at=T0 + timedelta(hours=hours), parent_post_id=parent,
                root_post_id="r" if parent else None, kind="repost" if parent else "original",
                topics=["品牌A"], **kw)


def _cascade_posts() -> list[Post]:
    """r (A) ← b1 (B) ← e1 (E); r ← c1 (C); r ← d1 (D); plus an unrelated zhihu answer.

    On paper: size 5, depth 2, max breadth 3, pairwise distances sum to 18 over 10 pairs, so
    structural virality 1.8; reach A = 4, B = 1, others 0.
    """
    return [
        _post("r", "A", 0, text=f"品牌A 退款难 {SCRIPT}\r\n第二行 😡", sentiment_label="negative",
              repost_count=3, comment_count=1, like_count=10, url="https://m.weibo.cn/detail/r",
              author_name=IMG),
        _post("b1", "B", 1, parent="r", sentiment_label="negative"),
        _post("c1", "C", 2, parent="r", sentiment_label="positive"),
        _post("d1", "D", 26, parent="r", sentiment_label="neutral"),
        _post("e1", "E", 27, parent="b1", sentiment_label="negative", text="<b><i>未闭合"),
        Post("zhihu", "z1", text="品牌A 招聘", author_id="K", author_name="知乎答主",
             created_at=T0 + timedelta(hours=3), kind="answer", topics=["品牌A"],
             sentiment_label="positive", like_count=300, url="javascript:alert(1)"),
    ]


@pytest.fixture
def store() -> MemoryStore:
    s = MemoryStore()
    s.upsert_posts(_cascade_posts())
    s.upsert_authors([
        Author("weibo", "A", name=IMG, followers=1_200_000, tier="head",
               url="https://weibo.com/A"),
        Author("weibo", "B", name="乙\x1b[31m红色", followers=20_000, tier="tail"),
        Author("weibo", "C", name="<b><i>丙"),
        Author("weibo", "D", name="丁", followers=150_000),  # not tiered by scoring yet
        Author("zhihu", "K", name="=HYPERLINK(\"http://x\")", followers=50_000, tier="waist"),
    ])
    return s


def _report(store, **kw):
    kw.setdefault("since", NOW - timedelta(days=7))
    return kol_report(store, topic="品牌A", now=NOW, **kw)


# -- assembly ------------------------------------------------------------------------------

@pytest.mark.parametrize(("facts", "ranked"), [
    # The graph package fuses six rankings, so leaf reposters get a rank too (PageRank);
    # the local stand-in ranks by reach alone.
    (graph_facts, {"A": 1, "B": 2}),
    (lambda posts, authors: local_graph_facts(posts), {"A": 1, "B": 2, "C": None}),
], ids=["graph", "local"])
def test_cascade_shape_reach_and_rank_match_the_paper_answers(store, facts, ranked):
    report = _report(store, facts=facts)
    [c] = report.cascades
    assert (c.root_post_id, c.size, c.depth, c.max_breadth) == ("r", 5, 2, 3)
    assert c.structural_virality == pytest.approx(1.8)
    rows = {r.author_id: r for r in report.accounts}
    assert (rows["A"].reach, rows["B"].reach, rows["C"].reach) == (4, 1, 0)
    assert {a: rows[a].key_rank for a in ranked} == ranked
    assert [r.author_id for r in report.accounts[:2]] == ["A", "B"]


@pytest.mark.parametrize(("n", "shape", "expected"), [
    (6, "star", 2 * 5 / 6),      # Goel et al.: a star of n nodes has 2(n-1)/n
    (6, "path", (6 + 1) / 3),    # and a path (n+1)/3
])
def test_local_structural_virality_on_stars_and_paths(n, shape, expected):
    posts = [Post("weibo", "0", author_id="a0")]
    for i in range(1, n):
        parent = "0" if shape == "star" else str(i - 1)
        posts.append(Post("weibo", str(i), author_id=f"a{i}", parent_post_id=parent))
    [c] = local_graph_facts(posts).cascades
    assert c.structural_virality == pytest.approx(expected)


def test_parent_cycles_are_counted_not_crashed():
    posts = [Post("weibo", "x", parent_post_id="y"), Post("weibo", "y", parent_post_id="x"),
             Post("weibo", "r"), Post("weibo", "s", parent_post_id="r")]
    facts = local_graph_facts(posts)
    assert [c.size for c in facts.cascades] == [2]
    assert facts.notes == ["2 post(s) in repost cycles left out of cascades"]


def test_account_columns_timelines_and_splits(store):
    report = _report(store)
    rows = {r.author_id: r for r in report.accounts}
    a = rows["A"]
    assert (a.platform, a.name, a.tier, a.followers, a.posts, a.engagement) == (
        "weibo", IMG, "head", 1_200_000, 1, 14)
    assert a.net_sentiment == -1.0 and a.first_seen == T0
    assert rows["E"].tier == "unknown" and rows["E"].name == "用户E"  # no Author record
    assert rows["C"].name == "<b><i>丙" and rows["C"].tier == "unknown"  # Author without tier
    assert rows["D"].tier == "waist"  # scoring.influence's Weibo cut-off: 100,000 followers
    assert (report.post_count, report.author_count) == (6, 6)
    assert report.platforms == {"weibo": 5, "zhihu": 1}
    assert report.tiers == {"head": 1, "tail": 1, "waist": 2, "unknown": 2}
    # 7-day window → daily buckets on Beijing days: r, b1, c1, z1 fall on 11-21, d1, e1 on 11-22.
    assert report.bucket == "day"
    day1 = datetime(2026, 11, 20, 16, 0, tzinfo=UTC)  # 2026-11-21 00:00 +08:00
    assert report.volume == [(day1, 4), (day1 + timedelta(days=1), 2)]
    s1, s2 = report.sentiment
    assert (s1.positive, s1.neutral, s1.negative, s2.neutral, s2.negative) == (2, 0, 2, 1, 1)
    assert s1.net == 0.0 and s2.net == -1.0
    # Posts: 2 positive, 3 negative → (2 - 3) / 5.
    assert report.net_sentiment == pytest.approx(-0.2)


def test_filters_by_platform_tier_query_and_k(store):
    assert {r.platform for r in _report(store, platform="zhihu").accounts} == {"zhihu"}
    assert [r.author_id for r in _report(store, tier=["head", "waist"]).accounts] == ["A", "D", "K"]
    report = _report(store, post_filter=lambda ps: [p for p in ps if "招聘" not in p.text], k=2)
    assert report.post_count == 5 and len(report.accounts) == 2
    assert _report(store, since=NOW - timedelta(hours=1)).post_count == 0


def test_cascade_pictures_come_from_the_injected_drawer(store):
    drawn = []
    report = _report(store, pictures=True, draw=lambda g: drawn.append(g) or PNG)
    assert report.cascades[0].picture == PNG
    assert len(drawn) == 1 and len(drawn[0]) == 5


# -- renderers -----------------------------------------------------------------------------

def test_table_aligns_cjk_columns_and_drops_terminal_escapes(store):
    text = render_table(_report(store))
    assert "\x1b" not in text and "\r" not in text
    lines = text.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("#"))
    rows = lines[header + 2: header + 2 + 6]
    # The tier column starts at the same terminal column on every row, CJK names or not.
    starts = set()
    for line in rows:
        tier = next(t for t in (" 头部 ", " 尾部 ", " 腰部 ", " 未知 ") if t in line)
        starts.add(display_width(line[: line.index(tier)]))
    assert len(starts) == 1
    assert display_width("品牌A😡") == 7


def test_json_round_trips(store):
    data = json.loads(render_json(_report(store)))
    assert data["topic"] == "品牌A" and data["accounts"][0]["name"] == IMG
    assert data["sentiment"][1] == {"start": "2026-11-21T16:00:00+00:00", "positive": 0,
                                    "neutral": 1, "negative": 1, "net": -1.0}
    assert data["cascades"][0]["structural_virality"] == pytest.approx(1.8)
    assert "picture" not in data["cascades"][0]


def test_csv_opens_in_excel_and_cannot_run_formulas(store):
    text = render_csv(_report(store))
    assert text.encode("utf-8").startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))
    by_id = {r["author_id"]: r for r in rows}
    assert by_id["K"]["name"] == "'=HYPERLINK(\"http://x\")"
    assert by_id["A"]["followers"] == "1200000"
    assert by_id["A"]["first_seen"] == "2026-11-21 00:30:00"


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def test_html_is_self_contained_and_inert_on_hostile_text(store):
    page = render_html(_report(store, pictures=True, draw=lambda g: PNG),
                       charts={"volume": PNG, "sentiment": PNG})
    assert page.startswith("<!DOCTYPE html>") and '<html lang="zh-CN">' in page
    assert '<meta charset="utf-8">' in page and "Noto Sans CJK SC" in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "&lt;b&gt;&lt;i&gt;" in page
    assert "😡" in page
    parser = _Tags()
    parser.feed(page)
    names = {t for t, _ in parser.tags}
    assert not names & {"script", "iframe", "object", "embed", "link", "i", "svg"}
    assert "<b><i>" not in page and "<img src=x" not in page
    imgs = [a for t, a in parser.tags if t == "img"]
    assert len(imgs) == 3 and all(a["src"].startswith("data:image/png;base64,") for a in imgs)
    for tag, attrs in parser.tags:
        assert not [a for a in attrs if a.startswith("on")], (tag, attrs)
        if tag == "a":
            assert attrs["href"].startswith("https://")
    assert "javascript:" not in page


def test_html_draws_real_charts_by_default(store):
    page = render_html(_report(store))
    assert page.count("data:image/png;base64,iVBORw0KGgo") == 4  # base64 of the PNG signature


# -- command -------------------------------------------------------------------------------

@pytest.fixture
def cli_store(store, monkeypatch):
    store.save_monitor(Monitor("品牌A", "品牌A NOT 招聘", platforms=["weibo", "zhihu"]))
    monkeypatch.setattr("scheduler.cli.report.open_cli_store", lambda args: store)
    return store


def test_report_kol_for_a_monitor_applies_its_query(cli_store, capsys):
    assert main(["report", "kol", "--monitor", "品牌A", "--since", "30d", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    # The 招聘 answer is excluded by NOT; e1 does not name 品牌A but replies to b1, which does,
    # so it belongs to the conversation (Query.select keeps threads of matching posts).
    assert data["post_count"] == 5
    assert {a["author_id"] for a in data["accounts"]} == {"A", "B", "C", "D", "E"}


def test_report_writes_html_and_csv_files(cli_store, tmp_path, capsys):
    out = tmp_path / "r" / "kol.html"
    assert main(["report", "kol", "--topic", "品牌A", "--since", "all", "--format", "html",
                 "--no-pictures", "-o", str(out)]) == 0
    assert "关键账号" in out.read_text(encoding="utf-8")
    assert "wrote" in capsys.readouterr().err
    csv_out = tmp_path / "kol.csv"
    assert main(["report", "topic", "--topic", "品牌A", "--since", "all", "--format", "csv",
                 "-o", str(csv_out)]) == 0
    assert csv_out.read_bytes().startswith(b"\xef\xbb\xbfrank,")
    topic_html = tmp_path / "topic.html"
    assert main(["report", "topic", "--topic", "品牌A", "--since", "all", "--format", "html",
                 "--no-pictures", "-o", str(topic_html)]) == 0
    page = topic_html.read_text(encoding="utf-8")
    assert "<title>话题报告 · 品牌A</title>" in page and "KOL 报告" not in page
    assert "<title>KOL 报告 · 品牌A</title>" in out.read_text(encoding="utf-8")


def test_report_errors_name_the_fix(cli_store, capsys):
    assert main(["report", "kol", "--monitor", "nope"]) == 2
    assert "tingfeng monitor list" in capsys.readouterr().err
    assert main(["report", "kol", "--topic", "品牌A", "--since", "1d", "--until", "2d"]) == 2
    assert "--since" in capsys.readouterr().err


# -- rendering in a real browser -----------------------------------------------------------

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.mark.slow
@pytest.mark.skipif(not shutil.which("chromium"),
                    reason="headless check needs Debian's chromium (apt-get install chromium)")
def test_html_renders_in_headless_chromium(store, tmp_path):
    from matplotlib import image

    page = tmp_path / "report.html"
    page.write_text(render_html(_report(store)), encoding="utf-8")
    shot = tmp_path / "shot.png"
    subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={shot}",
         "--window-size=1280,1600", page.as_uri()],
        check=True, capture_output=True, timeout=120,
    )
    pixels = image.imread(shot)
    assert pixels.shape[:2] == (1600, 1280)
    gray = pixels[..., :3].mean(axis=2)
    # Not blank: a white page with dark text and coloured charts on it.
    assert (gray < 0.3).mean() > 0.002 and (gray > 0.9).mean() > 0.5


def test_a_failing_key_node_ranking_falls_back_to_reach(store):
    import graph
    from scheduler.reports.graphfacts import _forest_facts

    def boom(*args, **kwargs):
        raise ArithmeticError("did not converge")

    posts = list(store.posts(topic="品牌A"))
    facts = _forest_facts(posts, {}, graph.propagation_graphs, graph.cascade_shapes, boom)
    assert facts.rank == {("weibo", "A"): 1, ("weibo", "B"): 2}
    assert "key-node ranking failed (ArithmeticError)" in facts.notes[0]
    assert [c.size for c in facts.cascades] == [5]


def _width_lookups(monkeypatch, call) -> int:
    """How many characters ``call()`` measures (east_asian_width lookups)."""
    import unicodedata

    calls = [0]
    real = unicodedata.east_asian_width

    def counting(ch: str) -> str:
        calls[0] += 1
        return real(ch)

    monkeypatch.setattr(unicodedata, "east_asian_width", counting)
    call()
    monkeypatch.setattr(unicodedata, "east_asian_width", real)
    return calls[0]


@pytest.mark.parametrize("where", ["report", "graph"])
def test_cutting_a_huge_cell_is_linear(monkeypatch, where) -> None:
    # A 40,000-character account name took 190 s in `tingfeng graph`: the cell was shortened
    # one character at a time, measuring the whole rest each time.
    from scheduler.cli.graph import _cell
    from scheduler.reports.render_table import fit

    cut = (lambda s: fit(s, 20)) if where == "report" else (lambda s: _cell(s, 20))
    name = "名" * 40_000 + "\x1b[31m"
    assert display_width(cut(name)) == 20 and cut(name).rstrip().endswith("…")
    assert "\x1b" not in cut("\x1b[2J" + name)  # terminal escapes never reach the screen
    small = _width_lookups(monkeypatch, lambda: cut("名" * 4_000))
    huge = _width_lookups(monkeypatch, lambda: cut(name))
    assert small <= 2 * 4_000 and huge <= 2 * 40_000
    assert cut("品牌A") == "品牌A" + " " * 15 and cut("x" * 20) == "x" * 20
