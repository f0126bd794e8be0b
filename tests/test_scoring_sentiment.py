"""Sentiment API: labels, hand-built weights with known answers, the shipped model and snownlp."""

from __future__ import annotations

import json
import math
import zlib

import numpy as np
import pytest

from scoring.sentiment import (
    EMOTIONS,
    LEGACY_EMOTION,
    NLPCC_EMOTIONS,
    SentimentModel,
    SentimentResult,
    SnowNLPModel,
    TingfengModel,
    label_for,
    load_model,
    score_texts,
)

BITS, EBITS = 16, 12


def _cue_index(token: str, bits: int = BITS) -> int:
    return zlib.crc32(token.encode()) >> (32 - bits)


def _toy_model(**kwargs) -> TingfengModel:
    """Weights only on two cue tokens: [哈哈] → +3 logit, [怒] → -3 and +10 for "anger";
    every emotion has bias -2."""
    pw = np.zeros(2**BITS, np.float32)
    pw[_cue_index("E:哈哈")] = 3.0
    pw[_cue_index("E:怒")] = -3.0
    ew = np.zeros((2**EBITS, len(EMOTIONS)), np.float32)
    ew[_cue_index("E:怒", EBITS), EMOTIONS.index("anger")] = 10.0
    return TingfengModel(pw, 0.0, ew, np.full(len(EMOTIONS), -2.0), version="toy-1", bits=BITS,
                         emotion_bits=EBITS, **kwargs)


@pytest.mark.parametrize(("score", "band", "label"), [
    (0.61, (0.4, 0.6), "positive"), (0.6, (0.4, 0.6), "neutral"), (0.4, (0.4, 0.6), "neutral"),
    (0.39, (0.4, 0.6), "negative"), (0.65, (0.3, 0.7), "neutral"), (0.5, (0.5, 0.5), "neutral"),
])
def test_label_for_band_is_configurable_and_inclusive(score, band, label):
    assert label_for(score, band) == label


def test_toy_weights_give_the_logistic_of_the_cue_weight():
    model = _toy_model()
    happy, angry, plain = model.score(["[哈哈]", "[怒]", "平常的一天"])
    assert happy.score == pytest.approx(1 / (1 + math.exp(-3)), rel=1e-5)
    assert angry.score == pytest.approx(1 / (1 + math.exp(3)), rel=1e-5)
    assert plain.score == pytest.approx(0.5) and plain.label == "neutral"
    # anger's one-vs-rest probability is sigmoid(10 - 2) ≈ 0.9997, above the 0.4 threshold
    assert angry.emotion == "anger"
    # elsewhere every emotion is sigmoid(-2) ≈ 0.12: below the threshold, so no emotion
    assert plain.emotion is None and happy.emotion is None


def test_emotion_threshold_and_empty_text():
    always = _toy_model(emotion_threshold=0.0)
    assert always.score(["平常的一天"])[0].emotion is not None
    assert always.score([""])[0] == SentimentResult(0.5, "neutral", None)
    assert always.score(["  http://t.cn/x "])[0].emotion is None  # nothing left to read
    assert _toy_model().score([]) == []


def test_neutral_band_reaches_the_labels():
    model = _toy_model(neutral_band=(0.01, 0.99))
    assert [r.label for r in model.score(["[哈哈]", "[怒]"])] == ["neutral", "neutral"]


def test_saved_model_round_trips_without_pickle(tmp_path):
    toy = _toy_model()
    np.savez_compressed(tmp_path / "m.npz", polarity_w=toy.polarity_w.astype(np.float16),
                        polarity_b=np.float32(0), emotion_w=toy.emotion_w.astype(np.float16),
                        emotion_b=toy.emotion_b)
    (tmp_path / "m.json").write_text(json.dumps({
        "version": "toy-1", "weights": "m.npz", "bits": BITS, "emotion_bits": EBITS,
        "emotions": list(EMOTIONS)}), encoding="utf-8")
    loaded = load_model(str(tmp_path / "m.json"))
    assert loaded.version == "toy-1" and isinstance(loaded, SentimentModel)
    assert loaded.score(["[怒]"])[0].emotion == "anger"
    assert load_model(str(tmp_path / "m.json")) is loaded  # cached


def test_object_arrays_are_refused(tmp_path):
    np.savez(tmp_path / "evil.npz", polarity_w=np.array([object()], dtype=object),
             polarity_b=0, emotion_w=np.zeros((1, 7)), emotion_b=np.zeros(7))
    (tmp_path / "evil.json").write_text(json.dumps({
        "version": "x", "weights": "evil.npz", "bits": 1, "emotion_bits": 1,
        "emotions": list(EMOTIONS)}), encoding="utf-8")
    with pytest.raises(ValueError, match="pickle"):
        TingfengModel.load(tmp_path / "evil.json")


class _Fake:
    version = "fake-1"

    def score(self, texts):
        return [SentimentResult(len(t) / 10, "neutral") for t in texts]


def test_score_texts_uses_the_given_model():
    assert score_texts(["ab", "abcde"], model=_Fake()) == [0.2, 0.5]


# -- the shipped model ---------------------------------------------------------------------------
def test_shipped_model_sanity():
    model = load_model()
    assert model.version.startswith("tingfeng-sent-")
    good, bad = model.score(["这家店服务太好了，下次还来！", "太失望了，质量差得要命，再也不买了"])
    assert good.score > 0.6 > 0.4 > bad.score
    assert (good.label, bad.label) == ("positive", "negative")


def test_shipped_model_reads_emoticons_and_emoji():
    model = load_model()
    plain, happy, angry, emoji_sad = (r.score for r in model.score(
        ["今天开会", "今天开会[哈哈]", "今天开会[怒]", "今天开会😭"]))
    assert happy > plain > angry
    assert emoji_sad < plain  # 😭 is read as the [泪] emoticon


def test_shipped_model_reads_negation():
    model = load_model()
    liked, not_liked = (r.score for r in model.score(["我很喜欢这个手机", "我不喜欢这个手机"]))
    assert liked > 0.5 > not_liked


def test_shipped_model_emotions_use_the_nlpcc_scheme_with_a_confidence():
    model = load_model()
    assert model.emotions == NLPCC_EMOTIONS
    results = model.score(
        ["谢谢你们，真的非常感谢！", "好害怕，晚上一个人不敢出门", "气死我了，太过分了！！[怒]"])
    assert [r.emotion for r in results[:2]] == ["like", "fear"]
    assert results[2].emotion in {"anger", "disgust"}
    assert all(0 < r.confidence <= 1 for r in results)
    assert {LEGACY_EMOTION[e] for e in NLPCC_EMOTIONS} <= set(EMOTIONS)


def test_shipped_model_is_calibrated_and_balanced_across_domains():
    model = load_model()
    # the gate reads the domain from the text: a hotel review is not a Weibo post
    hotel, weibo = model.domain_probabilities(
        ["房间很干净，前台服务热情，下次出差还住这家酒店", "今天下班路上看到彩虹了[哈哈]"])
    assert model.domains[hotel.argmax()] in {"hotel", "product"}  # a review
    assert model.domains[weibo.argmax()] == "weibo"
    assert model.calibration != (1.0, 0.0)


# -- snownlp baseline ----------------------------------------------------------------------------
def test_snownlp_baseline_sanity():
    model = SnowNLPModel()
    assert model.version == "snownlp-0.12.3"
    good, bad, empty = model.score(
        ["质量很好，非常满意，推荐购买", "质量太差了，非常失望，退货", ""])
    assert good.score > bad.score
    assert empty == SentimentResult(0.5, "neutral", None)
    assert good.emotion is None
