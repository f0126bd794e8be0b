"""Training helpers: the shared held-out split, metrics, and a tiny end-to-end training run."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest

from crawlers.errors import ConfigError
from scoring.sentiment import EMOTIONS, load_model
from scoring.training import (
    DATA_FILES,
    format_table,
    is_heldout,
    load_corpora,
    macro_f1,
    no_emoticon_rows,
    train,
)


def test_split_is_a_function_of_the_text():
    texts = [f"第{i}条微博" for i in range(20_000)]
    held = [t for t in texts if is_heldout(t)]
    assert 0.09 < len(held) / len(texts) < 0.11
    assert held == [t for t in reversed(texts) if is_heldout(t)][::-1]  # order does not matter
    assert is_heldout("x", seed="a") is is_heldout("x", seed="a")


def test_macro_f1_by_hand():
    # class 0: P=1/1, R=1/2 → 2/3; class 1: P=2/3, R=2/2 → 4/5; class 2 absent → 0
    assert macro_f1([0, 0, 1, 1], [0, 1, 1, 1], 3) == pytest.approx((2 / 3 + 4 / 5 + 0) / 3)


def test_no_emoticon_view_drops_emptied_texts():
    assert no_emoticon_rows([("[哈哈]", 1), ("好[泪]", 0), ("😂", 1)]) == [("好", 0)]


def test_missing_data_names_the_fix(tmp_path):
    with pytest.raises(ConfigError, match="--data"):
        load_corpora(tmp_path)


def test_format_table_states_met_and_gap():
    table = format_table({"m": {"weibo": 0.96, "weibo_no_emoticons": 0.70, "reviews": None,
                                "emotion_macro_f1": 0.5, "texts_per_s": 9000.0}})
    lines = {line.split()[0]: line for line in table.splitlines()[1:]}
    assert lines["weibo"].endswith("met")
    assert "GAP -0.08" in lines["weibo_no_emoticons"]
    assert lines["reviews"].endswith("GAP")
    assert lines["emotion_macro_f1"].endswith("reported")


def _write_corpora(folder):
    rng = random.Random(0)
    good, bad = ["好", "棒", "喜欢", "赞", "开心"], ["差", "烂", "讨厌", "坑", "难过"]
    rows = {"weibo": [], "reviews": [], "emotion": []}
    for i in range(600):
        y = i % 2
        word = rng.choice(good if y else bad)
        rows["weibo"].append({"text": f"{word}{i}[{'哈哈' if y else '泪'}]", "label": y})
        rows["reviews"].append({"text": f"商品{word}{i}", "label": y})
        k = i % len(EMOTIONS)
        rows["emotion"].append({"text": f"{EMOTIONS[k]}{word}{i}", "label": k})
    for name, filename in DATA_FILES.items():
        (folder / filename).write_text(
            "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows[name]), encoding="utf-8")


def test_train_writes_loadable_weights_and_metadata(tmp_path):
    data, out = tmp_path / "data", tmp_path / "model"
    data.mkdir()
    _write_corpora(data)
    meta = train(data, out, bits=16, emotion_bits=12)
    files = sorted(p.name for p in out.iterdir())
    assert files == ["tingfeng-sentiment.json", "tingfeng-sentiment.npz"]
    with np.load(out / "tingfeng-sentiment.npz", allow_pickle=False) as z:
        assert z["polarity_w"].dtype == np.float16 and z["emotion_w"].shape == (2**12, 7)
    saved = json.loads((out / "tingfeng-sentiment.json").read_text(encoding="utf-8"))
    assert saved["version"] == meta["version"]
    assert saved["training"]["split"]["fraction"] == 0.1
    assert saved["heldout"]["weibo"] > 0.9  # the words are perfectly informative here
    model = load_model(str(out / "tingfeng-sentiment.json"))
    assert model.version == meta["version"]
    # retraining the same data gives the same weights, hence the same version
    assert train(data, tmp_path / "again", bits=16, emotion_bits=12)["version"] == meta["version"]
