"""Training: corpora and their dev split, distant labels, metrics, and a tiny end-to-end run."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest

from crawlers.errors import ConfigError
from scoring.corpora import CORPORA, distant_label, is_dev, load_corpus, read_labelled
from scoring.sentiment import NLPCC_EMOTIONS, load_model
from scoring.training import calibration_error, dev_sets, format_table, macro_f1, train


def test_split_is_a_function_of_the_text():
    texts = [f"第{i}条微博" for i in range(20_000)]
    dev = [t for t in texts if is_dev(t)]
    assert 0.09 < len(dev) / len(texts) < 0.11
    assert dev == [t for t in reversed(texts) if is_dev(t)][::-1]  # order does not matter
    assert is_dev("x", seed="a") is is_dev("x", seed="a")


def test_macro_f1_by_hand():
    # class 0: P=1/1, R=1/2 → 2/3; class 1: P=2/3, R=2/2 → 4/5; class 2 absent → 0
    assert macro_f1([0, 0, 1, 1], [0, 1, 1, 1], 3) == pytest.approx((2 / 3 + 4 / 5 + 0) / 3)


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
    assert lines["comments"].endswith("GAP")
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
    # retraining the same data gives the same weights, hence the same version
    again = train(data, tmp_path / "again", bits=16, emotion_bits=12, domain_bits=12,
                  gate_bits=10)
    assert again["version"] == meta["version"]
