"""Training: corpora and their dev split, distant labels, metrics, a tiny end-to-end run, and
adapting to a store of real Weibo posts (sampled from the shared datasets at run time)."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest

from crawlers.errors import ConfigError
from scoring.corpora import (
    CORPORA,
    distant_label,
    distant_rows,
    is_dev,
    load_corpus,
    read_labelled,
    sentences,
)
from scoring.sentiment import NLPCC_EMOTIONS, load_model
from scoring.training import (
    ADAPT_CURVE,
    EMOTION_POWERS,
    EMOTION_WEIGHT_GAIN,
    adapt,
    calibration_error,
    dev_sets,
    format_table,
    macro_f1,
    train,
)


def test_split_is_a_function_of_the_text():
    texts = [f"第{i}条微博" for i in range(20_000)]
    dev = [t for t in texts if is_dev(t)]
    assert 0.09 < len(dev) / len(texts) < 0.11
    assert dev == [t for t in reversed(texts) if is_dev(t)][::-1]  # order does not matter
    assert is_dev("x", seed="a") is is_dev("x", seed="a")


def test_macro_f1_by_hand():
    # class 0: P=1/1, R=1/2 → 2/3; class 1: P=2/3, R=2/2 → 4/5; class 2 absent → 0
    assert macro_f1([0, 0, 1, 1], [0, 1, 1, 1], 3) == pytest.approx((2 / 3 + 4 / 5 + 0) / 3)


def test_emotion_temperature_is_one_for_honest_probabilities_and_above_for_overconfident():
    from scoring.training import _emotion_temperature

    rng = np.random.default_rng(1)
    logits = rng.normal(scale=2.0, size=(20_000, 7))
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    truth = [int(rng.choice(7, p=p)) for p in probs]  # outcomes drawn at the stated rates
    assert _emotion_temperature(probs, truth) == pytest.approx(1.0, abs=0.05)
    sharp = np.exp(3 * logits) / np.exp(3 * logits).sum(axis=1, keepdims=True)
    assert _emotion_temperature(sharp, truth) == pytest.approx(3.0, rel=0.1)
    names = [NLPCC_EMOTIONS[t] for t in truth]  # emotion names work as well as indices
    assert _emotion_temperature(probs, names) == _emotion_temperature(probs, truth)


def test_calibration_error_of_a_perfectly_calibrated_and_an_overconfident_model():
    rng = np.random.default_rng(0)
    p = rng.uniform(size=20_000)
    y = (rng.uniform(size=p.size) < p).astype(int)  # outcomes drawn at the stated rate
    assert calibration_error(p, y)[0] < 0.02
    sure = np.where(p > 0.5, 0.99, 0.01)  # same ranking, overconfident
    assert calibration_error(sure, y)[0] > 0.2


@pytest.mark.parametrize(("text", "expected"), [
    ("[哈哈][太开心]", (1, "happiness")),
    ("[爱你]", (1, "like")),
    ("[鄙视]", (0, "disgust")),
    ("[哈哈][爱你]", (1, None)),           # both positive: polarity, no single emotion
    ("[泪][怒]", (0, None)),
    ("[哈哈][泪]", (None, None)),          # contradictory: no label at all
    ("[汗]", (None, None)),                # ambiguous emoticons teach nothing
])
def test_distant_labels_from_emoticons(text, expected):
    assert distant_label(text) == expected


def test_missing_data_names_the_fix(tmp_path):
    with pytest.raises(ConfigError, match="--data"):
        load_corpus(tmp_path, "weibo")


def test_read_labelled_accepts_words_and_numbers_and_names_a_bad_line(tmp_path):
    path = tmp_path / "x.jsonl"
    path.write_text('{"text": "好", "label": "positive"}\n{"text": "差", "label": 0}\n'
                    '{"text": "惊", "label": "surprise"}\n', encoding="utf-8")
    assert [r.label for r in read_labelled(path)] == [1, 0, "surprise"]
    path.write_text('{"text": "好", "label": 1}\nnot json\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="line 2"):
        list(read_labelled(path))


def test_format_table_states_met_and_gap():
    table = format_table({"m": {"weibo": 0.96, "weibo_stripped": 0.70, "comments": None,
                                "emotion_macro_f1": 0.6, "texts_per_s": 9000.0}})
    lines = {line.split()[0]: line for line in table.splitlines()[1:]}
    assert lines["weibo"].endswith("met")
    assert "GAP -0.08" in lines["weibo_stripped"]
    assert lines["comments"].endswith("not measured")  # no figure is not a measured gap
    assert lines["ece"].endswith("reported")


def _write_corpora(folder):
    """Every shared file, tiny and with perfectly informative words."""
    rng = random.Random(0)
    good, bad = ["好", "棒", "喜欢", "赞", "开心"], ["差", "烂", "讨厌", "坑", "难过"]
    files: dict[str, list[dict]] = {c.file: [] for c in CORPORA.values()}
    covid = ["fear", "disgust", "optimism", "surprise", "gratitude", "sadness", "anger"]
    for i in range(700):
        y = i % 2
        word = rng.choice(good if y else bad)
        files["weibo_polarity.train.jsonl"].append(
            {"text": f"{word}{i}[{'哈哈' if y else '怒'}]", "label": y})
        files["weibo_comments_polarity.train.jsonl"].append({"text": f"评论{word}{i}", "label": y})
        files["reviews_polarity.train.jsonl"].append({"text": f"商品{word}{i}", "label": y})
        files["reviews_polarity_extra.train.jsonl"].append(
            {"text": f"酒店{word}{i}", "label": y, "source": "ChnSentiCorp"})
        files["reviews_polarity_extra.train.jsonl"].append(
            {"text": f"手机{word}{i}", "label": y, "source": "nlpcc2014_sc"})
        emo = NLPCC_EMOTIONS[i % 7]
        files["weibo_emotion_nlpcc.train.jsonl"].append({"text": f"{emo}{i}", "label": emo})
        files["weibo_emotion.train.jsonl"].append(
            {"text": f"{covid[i % 7]}{i}", "label": i % 7, "label_name": covid[i % 7]})
        files["offensive.train.jsonl"].append({"text": f"骂{i}" if y else f"谢{i}", "label": y})
    for name, rows in files.items():
        (folder / name).write_text(
            "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


def test_dev_sets_keep_a_stripped_copy_on_the_side_of_its_original(tmp_path):
    _write_corpora(tmp_path)
    sets = dev_sets(tmp_path)
    from scoring.features import strip_emoticons

    dev_originals = {strip_emoticons(r.text) for r in sets["weibo"][1]}
    assert {r.text for r in sets["weibo_stripped"][1]} <= dev_originals
    assert not {r.text for r in sets["weibo_stripped"][0]} & dev_originals
    assert {r.label for r in sets["covid_emotion"][0]} <= set(NLPCC_EMOTIONS)
    assert sets["distant"][0] and {r.label for r in sets["distant"][0]} == {"happiness", "anger"}


def test_a_covid_copy_of_an_nlpcc_post_leaves_the_covid_sets(tmp_path):
    # The COVID corpus mixes in NLPCC posts: a copy would carry an NLPCC dev text into training.
    _write_corpora(tmp_path)
    shared = "这条微博两边的语料里都有一份"
    nlpcc = tmp_path / "weibo_emotion_nlpcc.train.jsonl"
    covid = tmp_path / "weibo_emotion.train.jsonl"
    with nlpcc.open("a", encoding="utf-8") as f:
        f.write(json.dumps({"text": f"{shared}！真让人开心", "label": "happiness"}) + "\n")
    with covid.open("a", encoding="utf-8") as f:
        f.write(json.dumps({"text": f"前面一句不同。{shared}", "label": 2}) + "\n")
    sets = dev_sets(tmp_path)
    assert any(shared in r.text for part in sets["nlpcc_emotion"] for r in part)
    for name in ("covid_emotion", "covid_folded"):
        assert not any(shared in r.text for part in sets[name] for r in part)
    assert sum(len(p) for p in sets["covid_emotion"]) == 700  # the 700 others all stay


def test_train_writes_a_loadable_calibrated_mixture(tmp_path):
    data, out = tmp_path / "data", tmp_path / "model"
    data.mkdir()
    _write_corpora(data)
    meta = train(data, out, bits=16, emotion_bits=12, domain_bits=12, gate_bits=10)
    files = sorted(p.name for p in out.iterdir())
    assert files == ["tingfeng-sentiment.json", "tingfeng-sentiment.npz"]
    with np.load(out / "tingfeng-sentiment.npz", allow_pickle=False) as z:
        assert z["polarity_w"].dtype == np.float16 and z["emotion_w"].shape == (2**12, 7)
        assert z["domain_w"].shape == (4, 2**12) and z["gate_w"].shape == (2**10, 4)
    saved = json.loads((out / "tingfeng-sentiment.json").read_text(encoding="utf-8"))
    assert saved["version"] == meta["version"] and saved["emotions"] == list(NLPCC_EMOTIONS)
    assert meta["dev"]["comments"] > 0.9 and meta["dev"]["chnsenticorp"] > 0.9
    model = load_model(str(out / "tingfeng-sentiment.json"))
    assert model.version == meta["version"]
    assert model.domain_probabilities(["酒店好1"]).argmax() == 2  # the hotel domain
    # a neutral band per domain, each costing at most NEUTRAL_COST of its dev label accuracy
    assert set(saved["domain_bands"]) == {"weibo", "comment", "hotel", "product"}
    assert model.domain_bands == {k: tuple(v) for k, v in saved["domain_bands"].items()}
    for name in ("comments", "chnsenticorp"):
        assert meta["dev"][f"{name}/neutral_share"] <= 0.05
    tuning = saved["training"]["emotion"]["tuning"]
    assert tuning["power"] in EMOTION_POWERS and len(tuning["bias"]) == 7
    assert model.emotion_polarity_power == tuning["power"]
    assert model.emotion_threshold == tuning["threshold"]
    assert model.emotion_temperature == tuning["temperature"] == saved["emotion_temperature"]
    assert 0.25 <= tuning["temperature"] <= 10
    assert "emotion_ece" in meta["dev"] and "emotion_ece_covid" in meta["dev"]
    # emotions only for texts with a cue of their own (lexicon word, emoticon, emoji)
    assert saved["emotion_evidence"] is True and model.emotion_evidence
    vote = saved["training"]["polarity"]["emotion_weight"]
    assert vote["chosen"] == model.emotion_polarity_weight
    # the smallest weight with most of the best weight's gain (the vote only as far as it pays)
    means = {float(w): m for w, m in vote["dev_mean"].items() if m is not None}
    top, none = max(means.values()), means[0.0]
    assert vote["chosen"] == min(w for w, m in means.items()
                                 if m - none >= EMOTION_WEIGHT_GAIN * (top - none) - 1e-12)
    # retraining the same data gives the same weights, hence the same version
    again = train(data, tmp_path / "again", bits=16, emotion_bits=12, domain_bits=12,
                  gate_bits=10)
    assert again["version"] == meta["version"]


# -- adapt: retrain on a store's own posts --------------------------------------------------------
SMALL = {"bits": 16, "emotion_bits": 12, "domain_bits": 12, "gate_bits": 10}


def _store_posts() -> list[tuple[str, str]]:
    """The fixture's 2,000 real Weibo posts, emoticons and all, as a store would hold them."""
    from tests.datasets import adapt_posts

    return [(row["text"], "weibo") for row in adapt_posts()]


def test_distant_rows_strip_cues_drop_duplicates_and_evaluation_sentences():
    posts = [("今天真开心啊[哈哈]", "weibo"), ("今天真开心啊！！[嘻嘻]", "weibo"),
             ("堵车堵了两个小时真是受够了[怒]", "comment"), ("[泪]", "weibo"),
             ("笑死[哈哈]又气死[怒]", "weibo"), ("没有表情", "weibo")]
    evaluation = sentences("别的话。堵车堵了两个小时真是受够了！")
    train_rows, dev_rows, counts = distant_rows(posts, exclude=evaluation)
    assert [(r.text, r.label) for r in train_rows + dev_rows] == [("今天真开心啊", 1)]
    assert counts == {"posts": 6, "labelled": 4, "duplicates": 1, "excluded": 1, "empty": 1}
    # the split follows the original post's text, as the shared Weibo corpus's does
    rows = distant_rows([(f"第{i}次去这家店[哈哈]", "weibo") for i in range(400)])
    assert {r.text for r in rows[1]} == {f"第{i}次去这家店" for i in range(400)
                                         if is_dev(f"第{i}次去这家店[哈哈]")}


def test_adapt_writes_a_new_loadable_model_with_a_four_point_curve(tmp_path):
    data, out = tmp_path / "data", tmp_path / "adapted"
    data.mkdir()
    _write_corpora(data)
    base = load_model()
    meta = adapt(data, out, _store_posts(), base, **SMALL)
    assert sorted(p.name for p in out.iterdir()) == ["tingfeng-sentiment.json",
                                                     "tingfeng-sentiment.npz"]
    model = load_model(str(out / "tingfeng-sentiment.json"))
    assert model.version == meta["version"] != base.version
    assert model.version.endswith("+adapted") and meta["adapt"]["base"] == base.version
    counts = meta["adapt"]["counts"]
    assert counts["posts"] == 2000 and counts["labelled"] == 1761
    assert counts["train"] > 1000 and counts["dev"] > 100 and counts["confident"] > 0
    curve = meta["adapt"]["curve"]
    assert [p["share"] for p in curve] == [0.1, 0.25, 0.5, 1.0]
    assert [p["rows"] for p in curve] == [round(s * counts["train"]) for s in ADAPT_CURVE]
    assert all(0 <= p["store"] <= 1 for p in curve)
    assert meta["dev"]["store"] == curve[-1]["store"]
    assert 0 <= meta["adapt"]["before"]["store"] <= 1
    saved = json.loads((out / "tingfeng-sentiment.json").read_text(encoding="utf-8"))
    assert saved["adapt"]["curve"] == curve
    assert model.score(["今天太开心了[哈哈]"])[0].score > 0.5


def test_adapt_names_the_fix_for_an_empty_store_and_posts_without_emoticons(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    _write_corpora(data)
    with pytest.raises(ConfigError, match=r"no stored posts.*crawl"):
        adapt(data, tmp_path / "out", [("", "weibo"), ("  ", "comment")], load_model(), **SMALL)
    plain = [(f"今天去了第{i}家店，人很多", "weibo") for i in range(300)]
    with pytest.raises(ConfigError, match=r"only 0 of 300 stored posts carry a polarity emoticon"):
        adapt(data, tmp_path / "out", plain, load_model(), **SMALL)
    assert not (tmp_path / "out").exists()
