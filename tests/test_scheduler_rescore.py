"""Rescoring stored posts and authors (MemoryStore, SQLite for the CLI), and the sentiment CLI."""

from __future__ import annotations

import io
import json
import math
from datetime import UTC, datetime, timedelta

import pytest

from crawlers.items import Author, Post
from crawlers.storage.memory import MemoryStore
from scheduler.cli import main
from scheduler.cli.sentiment import run_score
from scheduler.rescore import rescore_store, score_authors
from scoring.influence import BciInputs, WciInputs, bci, wci_v14
from scoring.sentiment import SentimentResult

NOW = datetime(2026, 5, 8, tzinfo=UTC)


class FakeModel:
    """Positive when the text contains 好, with a fixed emotion; counts its calls."""

    def __init__(self, version: str = "fake-1") -> None:
        self.version = version
        self.batches: list[int] = []

    def score(self, texts):
        self.batches.append(len(texts))
        return [SentimentResult(0.9, "positive", "optimism") if "好" in t
                else SentimentResult(0.1, "negative", None) for t in texts]


def _store() -> MemoryStore:
    store = MemoryStore()
    t = NOW - timedelta(days=1)
    store.upsert_posts([
        Post("weibo", "1", text="很好", created_at=t, topics=["A"], author_id="big",
             repost_count=100, comment_count=40, like_count=900),
        Post("weibo", "2", text="要求退款", created_at=t, topics=["A"], author_id="fan",
             kind="repost", repost_count=1),
        Post("weibo", "3", text="你个脑残", created_at=t, topics=["B"], author_id="fan",
             kind="comment"),
        Post("wechat", "4", text="好文", created_at=t, topics=["A"], author_id="gh",
             kind="article", read_count=20_000, like_count=100, extra={"idx": 1}),
    ])
    store.upsert_authors([
        Author("weibo", "big", followers=2_000_000, verified=True),
        Author("weibo", "fan", followers=50),
        Author("wechat", "gh"),
        Author("weibo", "silent", followers=20_000),
    ])
    return store


def test_rescore_writes_scores_versions_and_risk_hits_in_batches():
    store, model = _store(), FakeModel()
    calls = []
    written = rescore_store(store, model, batch_size=3, write_size=3,
                            progress=lambda done, total: calls.append((done, total)))
    assert written == 4
    assert model.batches == [3, 1] and calls == [(3, None), (4, None)]
    posts = {p.post_id: p for p in store.posts()}
    assert (posts["1"].sentiment, posts["1"].sentiment_label, posts["1"].emotion) == (
        0.9, "positive", "optimism")
    assert {p.sentiment_model for p in posts.values()} == {"fake-1"}
    assert posts["2"].risk_hits == ["complaint:退款"]
    assert posts["3"].risk_hits == ["abuse:脑残"]  # a comment: abuse counts
    assert posts["1"].risk_hits == []


def test_rescore_scores_in_small_batches_and_writes_in_big_ones():
    store, model = _store(), FakeModel()
    writes: list[int] = []
    set_scores = store.set_scores
    store.set_scores = lambda scores: writes.append(len(scores)) or set_scores(scores)
    calls = []
    assert rescore_store(store, model, batch_size=1, write_size=3,
                         progress=lambda done, total: calls.append(done)) == 4
    assert model.batches == [1, 1, 1, 1] and writes == [3, 1] and calls == [3, 4]
    assert [p.sentiment_model for p in store.posts()] == ["fake-1"] * 4


def test_rescore_only_touches_posts_of_other_versions_and_topics():
    store = _store()
    assert rescore_store(store, FakeModel(), topic="B") == 1
    assert rescore_store(store, FakeModel()) == 3  # the B post is already scored by fake-1
    assert rescore_store(store, FakeModel()) == 0
    assert rescore_store(store, FakeModel("fake-2")) == 4  # a new model version rescored all
    assert rescore_store(store, FakeModel("fake-2"), force=True) == 4


def test_score_authors_writes_tiers_and_indices():
    store = _store()
    since = NOW - timedelta(days=7)
    assert score_authors(store, topic="A", since=since, now=NOW) == 3
    authors = store.authors()
    big = authors[("weibo", "big")]
    assert big.tier == "head"
    assert big.influence == pytest.approx(bci(BciInputs(posts=1, originals=1, reposts=100,
        comments=40, original_reposts=100, original_comments=40, likes=900)))
    fan = authors[("weibo", "fan")]
    assert fan.tier == "amateur"
    # one repost reposted once: W1 = 0.3 ln 2, W2 = 0.2 ln 2
    assert fan.influence == pytest.approx((0.2 * 0.3 * math.log(2) + 0.8 * 0.2 * math.log(2)) * 160)
    gh = authors[("wechat", "gh")]
    assert gh.tier == "waist"  # 20,000 average reads
    assert gh.influence == pytest.approx(wci_v14(WciInputs(days=7, n=1, reads=20_000, likes=100,
        head_reads=20_000, head_likes=100, max_reads=20_000, max_likes=100)))
    assert authors[("weibo", "silent")].tier is None  # not in topic A


def test_score_authors_without_a_window_tiers_everyone():
    store = _store()
    assert score_authors(store, now=NOW) == 4
    silent = store.authors()[("weibo", "silent")]
    assert (silent.tier, silent.influence) == ("tail", None)


def test_cli_score_round_trips_lines_and_reports_bad_ones(capsys):
    import argparse

    src = io.StringIO('{"text": "好评如潮[哈哈]", "id": 1}\n{broken\n\n[1, 2]\n{"text": ""}\n')
    out = io.StringIO()
    args = argparse.Namespace(model=None, baseline=None, batch_size=2, store=None)
    assert run_score(args, stdin=src, stdout=out) == 1  # bad lines fail the run
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [r.get("id") for r in rows] == [1, None]
    assert rows[0]["label"] == "positive" and rows[0]["model"].startswith("tingfeng-sent-")
    assert rows[0]["emotion"] == "happiness" and 0.5 < rows[0]["emotion_confidence"] <= 1.0
    assert rows[1]["score"] == 0.5 and rows[1]["emotion"] is None
    assert rows[1]["emotion_confidence"] is None  # no emotion, no confidence
    err = capsys.readouterr().err
    assert "line 2 skipped" in err and "line 4 skipped" in err and "2 bad line(s)" in err


def test_cli_rescore_on_sqlite(tmp_path, capsys):
    uri = f"sqlite:///{tmp_path / 't.db'}"
    from crawlers.storage import open_store

    with open_store(uri) as store:
        store.upsert_posts([Post("weibo", "1", text="太好了[哈哈]", created_at=NOW, topics=["A"],
                                 author_id="u")])
        store.upsert_authors([Author("weibo", "u", followers=150_000)])
    assert main(["--store", uri, "sentiment", "rescore", "--topic", "A"]) == 0
    assert "posts scored: 1" in capsys.readouterr().out
    with open_store(uri) as store:
        post = next(iter(store.posts()))
        assert post.sentiment_label == "positive" and post.sentiment_model.startswith("tingfeng")
        assert store.authors()[("weibo", "u")].tier == "waist"
    assert main(["--store", uri, "sentiment", "rescore"]) == 0
    assert "posts scored: 0" in capsys.readouterr().out


def test_cli_eval_names_the_missing_data(tmp_path, capsys):
    assert main(["sentiment", "eval", "--data", str(tmp_path / "nope")]) == 2
    assert "--data" in capsys.readouterr().err


def test_cli_eval_on_labelled_files_reports_polarity_and_emotion_figures(tmp_path, capsys):
    polar = tmp_path / "polar.jsonl"
    polar.write_text("".join(json.dumps({"text": t, "label": y}, ensure_ascii=False) + "\n"
                             for t, y in [("这家店服务太好了，下次还来！", 1),
                                          ("质量差得要命，再也不买了", 0),
                                          ("非常满意，推荐购买", 1), ("太失望了，退货", 0)]),
                     encoding="utf-8")
    assert main(["sentiment", "eval", "--file", str(polar)]) == 0
    out = capsys.readouterr().out
    figures = {line.split()[0]: line.split()[1] for line in out.splitlines()[1:]}
    assert figures["accuracy"] == "1.0000" and "ece" in figures
    emotions = tmp_path / "emotions.jsonl"
    emotions.write_text("".join(json.dumps({"text": t, "label": e}, ensure_ascii=False) + "\n"
                                for t, e in [("好害怕，晚上一个人不敢出门", "fear"),
                                             ("谢谢你们，真的非常感谢！", "like"),
                                             ("今天开会", "happiness")]), encoding="utf-8")
    assert main(["sentiment", "eval", "--file", str(emotions)]) == 0
    figures = {line.split()[0]: line.split()[1]
               for line in capsys.readouterr().out.splitlines()[1:]}
    # "今天开会" holds no emotional cue: no emotion, so a third of the rows have none
    assert figures["no_emotion_share"] == "0.3333"
    assert 0 <= float(figures["emotion_ece"]) <= 1 and float(figures["emotion_macro_f1"]) > 0
