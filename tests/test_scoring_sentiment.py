"""Sentiment API: labels, hand-built weights with known answers, the shipped model and snownlp."""

from __future__ import annotations

import json
import math
import zlib

import numpy as np
import pytest

from scoring.sentiment import (
    DEFAULT_MODEL_PATH,
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


def _gated_toy(**kwargs) -> TingfengModel:
    """Two domains, told apart by the [赞] cue: texts with it go to "review" (gate logit +20),
    the rest to "weibo"; no domain offsets. NLPCC emotions with equal weights."""
    gate = np.zeros((2**BITS, 2), np.float32)
    gate[_cue_index("E:赞"), 1] = 20.0
    pw = np.zeros(2**BITS, np.float32)
    pw[_cue_index("E:哈哈")] = 3.0
    pw[_cue_index("E:怒")] = -3.0
    return TingfengModel(pw, 0.0, np.zeros((2**EBITS, 7), np.float32), np.zeros(7),
                         version="toy-gated", bits=BITS, emotion_bits=EBITS,
                         emotions=NLPCC_EMOTIONS, emotion_softmax=True,
                         domains=("weibo", "review"), domain_w=np.zeros((2, 2**BITS)),
                         domain_b=np.zeros(2), gate_w=gate, gate_b=np.zeros(2),
                         domain_bits=BITS, gate_bits=BITS, **kwargs)


def test_each_domain_labels_with_its_own_neutral_band():
    model = _gated_toy(neutral_band=(0.45, 0.55),
                       domain_bands={"weibo": (0.5, 0.5), "review": (0.01, 0.99)})
    # the same score (sigmoid(3) ≈ 0.95) is positive on Weibo, neutral in a review's wide band
    weibo, review = model.score(["[哈哈]", "[哈哈][赞]"])
    assert weibo.score == pytest.approx(review.score)
    assert (weibo.label, review.label) == ("positive", "neutral")
    # without per-domain bands the model's one band holds everywhere
    plain = _gated_toy(neutral_band=(0.45, 0.55))
    assert [r.label for r in plain.score(["[哈哈]", "[哈哈][赞]"])] == ["positive", "positive"]


def test_domain_bands_load_from_metadata_unless_the_user_sets_a_band(tmp_path):
    toy = _gated_toy()
    np.savez_compressed(
        tmp_path / "g.npz", polarity_w=toy.polarity_w, polarity_b=np.float32(0),
        emotion_w=toy.emotion_w, emotion_b=toy.emotion_b, domain_w=toy.domain_w,
        domain_b=toy.domain_b, gate_w=toy.gate_w, gate_b=toy.gate_b)
    (tmp_path / "g.json").write_text(json.dumps({
        "version": "toy-gated", "weights": "g.npz", "bits": BITS, "emotion_bits": EBITS,
        "domain_bits": BITS, "gate_bits": BITS, "domains": ["weibo", "review"],
        "emotions": list(NLPCC_EMOTIONS), "emotion_softmax": True, "neutral_band": [0.45, 0.55],
        "domain_bands": {"weibo": [0.5, 0.5], "review": [0.01, 0.99]},
        "emotion_polarity_power": 2.0}), encoding="utf-8")
    loaded = TingfengModel.load(tmp_path / "g.json")
    assert loaded.domain_bands == {"weibo": (0.5, 0.5), "review": (0.01, 0.99)}
    assert loaded.emotion_polarity_power == 2.0
    assert loaded.score(["[哈哈][赞]"])[0].label == "neutral"
    mine = TingfengModel.load(tmp_path / "g.json", neutral_band=(0.4, 0.6))
    assert mine.domain_bands == {} and mine.score(["[哈哈][赞]"])[0].label == "positive"


def test_polarity_reweights_emotions_by_the_power_chosen_at_training():
    flat = _gated_toy(emotion_threshold=0.0)
    tied = _gated_toy(emotion_threshold=0.0, emotion_polarity_power=1.0)
    # equal emotion logits: the head alone ties (argmax takes the first, like), polarity decides
    assert flat.score(["[怒]"])[0].emotion == "like"
    angry = tied.score(["[怒]"])[0]
    assert angry.emotion in {"disgust", "sadness", "anger", "fear"}
    # four negative emotions share (1 - p) ≈ 0.95, two positive share p ≈ 0.05, surprise 0.5
    p = 1 / (1 + math.exp(3))
    total = 2 * p + 4 * (1 - p) + 0.5
    assert angry.confidence == pytest.approx((1 - p) / total, abs=1e-4)
    assert tied.score(["[哈哈]"])[0].emotion in {"like", "happiness"}


def test_the_emotion_head_votes_on_polarity_only_where_no_emoticon_speaks():
    angry = np.zeros(7)
    angry[NLPCC_EMOTIONS.index("anger")] = 3.0  # every text reads as anger to the head
    plain_model = _gated_toy()
    voting = _gated_toy(emotion_polarity_weight=1.0)
    voting.emotion_b = plain_model.emotion_b = angry.astype(np.float32)
    calm, happy = voting.score(["平常的一天", "平常的一天[哈哈]"])
    assert plain_model.score(["平常的一天"])[0].score == pytest.approx(0.5)
    # p(weibo) = 0.5 without [赞]; vote = 0.5 · log(Σ like, happiness / Σ negative)
    e = np.exp(angry) / np.exp(angry).sum()
    vote = 0.5 * math.log(e[:2].sum() / e[[2, 3, 5, 6]].sum())
    assert calm.score == pytest.approx(1 / (1 + math.exp(-vote)), rel=1e-4) and calm.score < 0.5
    # the author's [哈哈] decides: its score is the cue's alone, as without the vote
    assert happy.score == pytest.approx(plain_model.score(["平常的一天[哈哈]"])[0].score)
    # a review (the [赞] gate) gets no vote either
    assert voting.score(["平常[赞]"])[0].score == pytest.approx(0.5, abs=1e-6)


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


def test_shipped_model_names_no_emotion_for_a_text_without_an_emotional_cue():
    model = load_model()
    assert model.emotion_evidence  # chosen at training: EMOTION_EVIDENCE
    plain, laughing, scared, flat = model.score(
        ["今天开会", "今天开会[哈哈]", "好害怕，晚上一个人不敢出门", "公司发布了第三季度财报"])
    # no lexicon word, no emoticon: the head (trained on emotional texts only) is not asked
    assert plain.emotion is None and plain.confidence is None and flat.emotion is None
    assert laughing.emotion in {"like", "happiness"}  # the emoticon is a cue
    assert scared.emotion == "fear"  # 害怕 is a DUTIR fear word
    # the polarity score does not depend on the rule
    import copy

    always = copy.copy(model)
    always.emotion_evidence = False
    assert always.score(["今天开会"])[0].emotion is not None
    assert always.score(["今天开会"])[0].score == plain.score


def test_heads_are_the_dot_products_of_the_hashed_features():
    # the shared sparse design matrix gives each head what a per-feature sum gives
    from scoring.features import featurize

    rng = np.random.default_rng(3)
    k = len(EMOTIONS)
    model = TingfengModel(rng.normal(size=2**BITS).astype(np.float32), 0.25,
                          rng.normal(size=(2**EBITS, k)).astype(np.float32), np.zeros(k),
                          version="random", bits=BITS, emotion_bits=EBITS, emotion_softmax=True)
    texts = ["质量很好[赞]", "", "不喜欢，太差了!!", "今天天气不错"]
    z, probs = model.logits(texts)
    doc, idx, val = featurize(texts, bits=BITS)
    for i in range(len(texts)):
        mine = doc == i
        assert z[i] == pytest.approx(float((model.polarity_w[idx[mine]] * val[mine]).sum())
                                     + 0.25, abs=1e-5)
        e = (model.emotion_w[idx[mine] >> (BITS - EBITS)] * val[mine, None]).sum(axis=0)
        expected = np.exp(e - e.max()) / np.exp(e - e.max()).sum()
        assert np.allclose(probs[i], expected, atol=1e-5)


def test_emotion_temperature_changes_the_confidence_not_the_emotion(tmp_path):
    import copy

    model = load_model()
    texts = ["好害怕，晚上一个人不敢出门", "气死我了，太过分了！！[怒]", "谢谢你们，真的非常感谢！"]
    sharp = copy.copy(model)
    sharp.emotion_temperature = 1.0
    soft = copy.copy(model)
    soft.emotion_temperature = 3.0
    a, b = sharp.score(texts), soft.score(texts)
    assert [r.emotion for r in a] == [r.emotion for r in b]
    assert all(x.confidence > y.confidence for x, y in zip(a, b, strict=True))
    assert [r.score for r in a] == [r.score for r in b]  # polarity is untouched
    # the temperature travels in the metadata
    meta = json.loads(DEFAULT_MODEL_PATH.read_text(encoding="utf-8"))
    assert model.emotion_temperature == meta["emotion_temperature"] > 0


# -- snownlp baseline ----------------------------------------------------------------------------
def test_snownlp_baseline_sanity():
    model = SnowNLPModel()
    assert model.version == "snownlp-0.12.3"
    good, bad, empty = model.score(
        ["质量很好，非常满意，推荐购买", "质量太差了，非常失望，退货", ""])
    assert good.score > bad.score
    assert empty == SentimentResult(0.5, "neutral", None)
    assert good.emotion is None


def test_training_can_vote_with_emotions_from_another_head():
    # sentiment train measures the emotion vote on NLPCC rows with out-of-fold heads: the
    # probabilities passed in replace the head's own, and move polarity by their sign
    import copy

    model = copy.copy(load_model())
    model.emotion_polarity_weight = 1.0
    texts = ["今天去了一趟市中心"]
    k = len(model.emotions)
    happy = np.eye(k)[[model.emotions.index("happiness")]] * 0.94 + 0.01
    angry = np.eye(k)[[model.emotions.index("anger")]] * 0.94 + 0.01
    up, _, _, _ = model._decide(texts, emotion_probs=happy)
    down, _, _, _ = model._decide(texts, emotion_probs=angry)
    assert up[0] - down[0] > 0.2
    model.emotion_polarity_weight = 0.0  # no vote: the probabilities change nothing
    a, _, _, _ = model._decide(texts, emotion_probs=happy)
    b, _, _, _ = model._decide(texts, emotion_probs=angry)
    assert a[0] == b[0]
