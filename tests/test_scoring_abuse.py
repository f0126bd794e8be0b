"""Abuse model: hand-built weights with known answers, the .npz/.json format, threshold and
figures by hand, a tiny training run, and the shipped model on clear cases."""

from __future__ import annotations

import json

import numpy as np
import pytest

from scoring.abuse import (
    ABUSE_MODEL_PATH,
    AbuseModel,
    best_threshold,
    flag_figures,
    load_abuse_model,
    train_abuse,
    wordlist_figures,
)
from scoring.corpora import Row
from scoring.features import featurize

BITS = 12


def _model_against(char: str, weight: float = 50.0) -> AbuseModel:
    """Offensive exactly when ``char`` is in the text (bias -2): weight on every n-gram of
    "x<char>y" that "xy" lacks, i.e. the n-grams holding the character."""
    def grams(text: str) -> set[int]:
        return set(featurize([text], bits=BITS, cues=False)[1].tolist())

    w = np.zeros(2**BITS)
    w[sorted(grams(f"x{char}y") - grams("xy"))] = weight
    return AbuseModel(w, -2.0, version="hand-1", bits=BITS, threshold=0.5)


def test_hand_built_weights_flag_the_word_and_nothing_else():
    model = _model_against("骂")
    p = model.probabilities(["你骂谁", "谢谢你", ""])
    assert p[0] > 0.99 and p[1] == pytest.approx(1 / (1 + np.exp(2.0)))
    assert model.flags(["你骂谁", "谢谢你", "", "   "]) == [True, False, False, False]
    assert model.probabilities([]).shape == (0,)


def test_calibration_and_threshold_apply_in_that_order():
    model = _model_against("骂")
    model.calibration = (0.0, 1.0)  # every text: sigmoid(1) ≈ 0.73
    assert model.probabilities(["谢谢"])[0] == pytest.approx(1 / (1 + np.exp(-1.0)))
    model.threshold = 0.8
    assert model.flags(["骂", "谢谢"]) == [False, False]


def test_save_format_is_numpy_and_json_and_the_threshold_can_be_overridden(tmp_path):
    w = np.arange(2**BITS, dtype=np.float16) / 2**BITS
    np.savez_compressed(tmp_path / "tingfeng-abuse.npz", w=w, b=np.float32(-0.5))
    (tmp_path / "tingfeng-abuse.json").write_text(json.dumps({
        "version": "t-1", "weights": "tingfeng-abuse.npz", "bits": BITS,
        "calibration": [2.0, 0.1], "threshold": 0.7}), encoding="utf-8")
    for path in (tmp_path, tmp_path / "tingfeng-abuse.json", tmp_path / "tingfeng-abuse.npz"):
        model = AbuseModel.load(path)
        assert (model.version, model.bits, model.threshold) == ("t-1", BITS, 0.7)
        assert model.calibration == (2.0, 0.1)
    assert AbuseModel.load(tmp_path, threshold=0.2).threshold == 0.2
    # an object array needs pickle, which loading refuses
    np.savez(tmp_path / "tingfeng-abuse.npz", w=np.array([object()]), b=np.float32(0))
    with pytest.raises(ValueError, match="pickle"):
        AbuseModel.load(tmp_path)


def test_figures_by_hand():
    # flags TTFF vs labels 1 0 1 1: tp=1, fp=1, fn=2 → P=1/2, R=1/3, F1=0.4
    f = flag_figures([True, True, False, False], [1, 0, 1, 1])
    assert (f["precision"], f["recall"]) == (0.5, pytest.approx(1 / 3))
    assert f["f1"] == pytest.approx(0.4) and f["flagged_share"] == 0.5
    assert flag_figures([False, False], [1, 0])["precision"] == 0.0
    # 0.35 and above is the only cut that keeps every offensive text and drops the safe one
    assert best_threshold([0.9, 0.6, 0.35, 0.3], [1, 1, 1, 0]) == 0.31


def test_word_list_figures_read_every_text_as_a_comment():
    rows = [Row("你个脑残", 1, "comment", "x"), Row("他说我脑残", 0, "comment", "x"),
            Row("滚回去", 1, "comment", "x"), Row("你好", 0, "comment", "x")]
    f = wordlist_figures(rows)
    assert (f["precision"], f["recall"]) == (0.5, 0.5)


def _write_offensive(folder, n=600):
    rows = [{"text": f"你这{['骂', '蠢', '滚'][i % 3]}人{i}" if i % 2 else f"谢谢分享{i}",
             "label": i % 2} for i in range(n)]
    (folder / "offensive.train.jsonl").write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


def test_train_writes_a_loadable_calibrated_model_with_its_threshold(tmp_path):
    data, out = tmp_path / "data", tmp_path / "model"
    data.mkdir()
    _write_offensive(data)
    meta = train_abuse(data, out, bits=BITS)
    assert sorted(p.name for p in out.iterdir()) == ["tingfeng-abuse.json", "tingfeng-abuse.npz"]
    with np.load(out / "tingfeng-abuse.npz", allow_pickle=False) as z:
        assert z["w"].dtype == np.float16 and z["w"].shape == (2**BITS,)
    model = AbuseModel.load(out)
    assert model.version == meta["version"] and model.version.startswith("tingfeng-abuse-1.")
    assert 0.05 <= meta["threshold"] <= 0.95 and model.threshold == meta["threshold"]
    assert meta["dev"]["f1"] > 0.95 and meta["dev"]["rows"] > 0
    assert model.flags(["你这骂人9999", "谢谢分享9999"]) == [True, False]
    assert train_abuse(data, tmp_path / "again", bits=BITS)["version"] == meta["version"]


def test_shipped_model_loads_once_and_tells_clear_cases_apart():
    model = load_abuse_model()
    assert model is load_abuse_model() and model.version.startswith("tingfeng-abuse-1.")
    meta = json.loads(ABUSE_MODEL_PATH.read_text(encoding="utf-8"))
    assert model.threshold == meta["threshold"] and meta["dev"]["f1"] > 0.85
    assert model.flags(["河南人都是小偷，离他们远点", "今天天气很好，我们去公园散步",
                        "谢谢你的分享，学到了"]) == [True, False, False]
    assert load_abuse_model(threshold=0.99).threshold == 0.99
