"""Train and evaluate Tingfeng's sentiment model on the labelled corpora (see SOURCES.md there).

The held-out split is a pure function of each text (:func:`is_heldout`), so training, the CLI and
bench/bench_sentiment.py exclude and measure exactly the same rows. Training needs scikit-learn
and scipy (imported inside :func:`train`); scoring and evaluation need only numpy.
"""

from __future__ import annotations

import hashlib
import json
import time
import zlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from crawlers.errors import ConfigError
from scoring.features import featurize, strip_emoticons
from scoring.sentiment import EMOTIONS, SentimentModel, TingfengModel

__all__ = [
    "DATA_FILES",
    "SPLIT_SEED",
    "TARGETS",
    "evaluate",
    "format_table",
    "is_heldout",
    "load_corpora",
    "macro_f1",
    "throughput",
    "train",
]

SPLIT_SEED = "tingfeng-split-1"
HOLDOUT_FRACTION = 0.1
DATA_FILES = {
    "weibo": "weibo_polarity.train.jsonl",
    "reviews": "reviews_polarity.train.jsonl",
    "emotion": "weibo_emotion.train.jsonl",
}
TARGETS: dict[str, float | None] = {
    "weibo": 0.95, "weibo_no_emoticons": 0.78, "reviews": 0.88, "emotion_macro_f1": None,
    "texts_per_s": 5000.0,
}
# weibo_emotion labels folded to polarity, used as extra Weibo polarity data without emoticons.
_EMOTION_POLARITY = {
    "optimism": 1, "gratitude": 1, "fear": 0, "disgust": 0, "sadness": 0, "anger": 0,
}
Rows = list[tuple[str, int]]


def is_heldout(text: str, *, fraction: float = HOLDOUT_FRACTION, seed: str = SPLIT_SEED) -> bool:
    """Whether ``text`` belongs to the validation split: a stable hash of seed and text, so the
    split does not depend on file order and a duplicate text is always on the same side.

    >>> sum(is_heldout(f"微博{i}") for i in range(10_000)) / 10_000
    0.0993
    """
    return zlib.crc32(f"{seed}:{text}".encode()) % 10_000 < fraction * 10_000


def load_corpora(data_dir: str | Path) -> dict[str, tuple[Rows, Rows]]:
    """``{"weibo"|"reviews"|"emotion": (train_rows, heldout_rows)}`` of ``(text, label)`` pairs.

    :raises ConfigError: naming the missing file and how to point at the data.
    """
    base = Path(data_dir)
    out: dict[str, tuple[Rows, Rows]] = {}
    for name, filename in DATA_FILES.items():
        path = base / filename
        if not path.is_file():
            raise ConfigError(
                f"sentiment data file {path} not found: pass --data DIR, the folder holding "
                f"{', '.join(DATA_FILES.values())} (e.g. ../shared/datasets/sentiment)"
            )
        train_rows: Rows = []
        held: Rows = []
        with path.open(encoding="utf-8") as fh:
            for line in fh:
                if line.strip():
                    row = json.loads(line)
                    (held if is_heldout(row["text"]) else train_rows).append(
                        (row["text"], int(row["label"]))
                    )
        out[name] = (train_rows, held)
    return out


def macro_f1(y_true: Sequence[int], y_pred: Sequence[int], n_classes: int) -> float:
    """Unweighted mean of per-class F1 (a class absent from both sides scores 0).

    >>> macro_f1([0, 0, 1, 1], [0, 1, 1, 1], 2)
    0.7333333333333334
    """
    t, p = np.asarray(y_true), np.asarray(y_pred)
    scores = []
    for k in range(n_classes):
        tp = np.sum((t == k) & (p == k))
        denom = np.sum(t == k) + np.sum(p == k)
        scores.append(2 * tp / denom if denom else 0.0)
    return float(np.mean(scores))


def _accuracy(model: SentimentModel, rows: Rows) -> float:
    results = model.score([t for t, _ in rows])
    hits = [(r.score > 0.5) == bool(y) for r, (_, y) in zip(results, rows, strict=True)]
    return float(np.mean(hits))


def no_emoticon_rows(rows: Rows) -> Rows:
    """The "without emoticons" view: ``[xx]`` and emoji removed, texts left empty dropped
    (nothing is left to read in them)."""
    stripped = [(strip_emoticons(t), y) for t, y in rows]
    return [(t, y) for t, y in stripped if t]


def evaluate(
    model: SentimentModel,
    corpora: dict[str, tuple[Rows, Rows]],
    *,
    sample: int | None = None,
) -> dict[str, float | None]:
    """Held-out figures: polarity accuracy (score > 0.5 means positive) on Weibo, Weibo without
    emoticons and reviews, emotion macro-F1 (None for a model without emotions), and texts/s
    of the full score over the Weibo split (a rough figure: bench/ measures it properly).

    ``sample`` limits each split to its first ``sample`` rows (for slow baselines).
    """
    def held(name: str) -> Rows:
        rows = corpora[name][1]
        return rows[:sample] if sample else rows

    start = time.perf_counter()
    weibo = _accuracy(model, held("weibo"))
    speed = len(held("weibo")) / max(time.perf_counter() - start, 1e-9)
    figures: dict[str, float | None] = {
        "weibo": weibo,
        "weibo_no_emoticons": _accuracy(model, no_emoticon_rows(held("weibo"))),
        "reviews": _accuracy(model, held("reviews")),
        "emotion_macro_f1": None,
        "texts_per_s": speed,
    }
    if isinstance(model, TingfengModel):
        rows = held("emotion")
        _, probs = model.decision([t for t, _ in rows])
        figures["emotion_macro_f1"] = macro_f1(
            [y for _, y in rows], probs.argmax(axis=1).tolist(), len(model.emotions)
        )
    return figures


def throughput(model: SentimentModel, texts: Sequence[str], *, batch: int = 1000) -> float:
    """Texts per second for the full score (score, label, emotion), in batches of ``batch``."""
    start = time.perf_counter()
    for i in range(0, len(texts), batch):
        model.score(texts[i:i + batch])
    return len(texts) / max(time.perf_counter() - start, 1e-9)


def format_table(rows: dict[str, dict[str, float | None]]) -> str:
    """A plain-text table: one row per metric, one column per model, then target and met/GAP
    (judged on the first model)."""
    names = list(rows)
    lines = [f"{'metric':<22}" + "".join(f"{n:>22}" for n in names) + f"{'target':>10}  status"]
    for metric, target in TARGETS.items():
        cells = []
        for n in names:
            v = rows[n].get(metric)
            cells.append(f"{'n/a' if v is None else (f'{v:,.0f}' if v > 1.5 else f'{v:.4f}'):>22}")
        first = rows[names[0]].get(metric)
        if target is None:
            status, tgt = "reported", "-"
        else:
            tgt = f"{target:,.0f}" if target > 1.5 else f"{target:.2f}"
            status = "met" if first is not None and first >= target else (
                "GAP" if first is None else f"GAP {first - target:+.4g}")
        lines.append(f"{metric:<22}" + "".join(cells) + f"{tgt:>10}  {status}")
    return "\n".join(lines)


def train(
    data_dir: str | Path,
    out_dir: str | Path,
    *,
    bits: int = 20,
    emotion_bits: int = 18,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Train polarity and emotion models, write ``tingfeng-sentiment.{npz,json}`` into
    ``out_dir`` and return the metadata (with held-out figures).

    Polarity: logistic regression (SGD) on Weibo posts, the same posts with emoticons stripped
    (weight 4, so the text is learnt and not only the emoticons), reviews, and weibo_emotion
    folded to polarity. Weights and ``alpha`` were chosen on a dev split carved out of the
    training rows (seed ``tingfeng-dev-1``), never on the held-out split. Emotion: one-vs-rest
    logistic regression (SGD) on weibo_emotion, read as seven one-vs-rest probabilities.
    """
    import scipy.sparse as sp
    from sklearn.linear_model import SGDClassifier

    say = progress or (lambda _msg: None)
    corpora = load_corpora(data_dir)
    weibo, reviews, emotion = (corpora[k][0] for k in ("weibo", "reviews", "emotion"))
    folded = [(t, _EMOTION_POLARITY[EMOTIONS[y]]) for t, y in emotion
              if EMOTIONS[y] in _EMOTION_POLARITY]
    parts: list[tuple[Rows, float]] = [
        (weibo, 1.0), (no_emoticon_rows(weibo), 4.0), (reviews, 1.0), (folded, 2.0),
    ]
    texts = [t for rows, _ in parts for t, _ in rows]
    y = np.array([lb for rows, _ in parts for _, lb in rows])
    weight = np.concatenate([np.full(len(rows), w) for rows, w in parts])

    def matrix(txts: Sequence[str], b: int) -> Any:
        doc, idx, val = featurize(txts, bits=bits)
        return sp.csr_matrix((val, (doc, idx >> (bits - b))), shape=(len(txts), 2**b))

    say(f"polarity: {len(texts):,} texts")
    clf = SGDClassifier(loss="log_loss", alpha=1e-5, max_iter=50, tol=1e-4, random_state=0)
    clf.fit(matrix(texts, bits), y, sample_weight=weight)
    say(f"emotion: {len(emotion):,} texts")
    emo = SGDClassifier(loss="log_loss", alpha=1e-5, max_iter=50, tol=1e-4, random_state=0)
    emo.fit(matrix([t for t, _ in emotion], emotion_bits), [lb for _, lb in emotion])

    arrays = {
        "polarity_w": clf.coef_[0].astype(np.float16),
        "polarity_b": np.float32(clf.intercept_[0]),
        "emotion_w": emo.coef_.T.astype(np.float16),
        "emotion_b": emo.intercept_.astype(np.float32),
    }
    digest = hashlib.sha1(b"".join(np.ascontiguousarray(a).tobytes() for a in arrays.values()))
    version = f"tingfeng-sent-1.{digest.hexdigest()[:8]}"
    model = TingfengModel(
        arrays["polarity_w"], float(arrays["polarity_b"]), arrays["emotion_w"],
        arrays["emotion_b"], version=version, bits=bits, emotion_bits=emotion_bits,
    )
    say("evaluating on the held-out split")
    meta: dict[str, Any] = {
        "version": version,
        "format": 1,
        "weights": "tingfeng-sentiment.npz",
        "bits": bits,
        "emotion_bits": emotion_bits,
        "emotions": list(EMOTIONS),
        "features": "NFKC+lowercase, URLs/@names removed; char 1-3-gram hashes (l2-normalised) + "
                    "cue tokens: Weibo emoticons and emoji, '!'/'?' counts, negation scope",
        "training": {
            "data": {k: {"file": DATA_FILES[k], "train": len(v[0]), "heldout": len(v[1])}
                     for k, v in corpora.items()},
            "description": "weibo_senti_100k subset (Weibo, emoticon-derived labels) + the same "
                           "posts emoticon-stripped (weight 4) + ChineseNlpCorpus shopping/waimai "
                           "reviews + weibo_emotion folded to polarity; emotion: weibo_emotion",
            "split": {"seed": SPLIT_SEED, "fraction": HOLDOUT_FRACTION},
            "polarity": "SGDClassifier(log_loss, alpha=1e-5), scikit-learn",
            "emotion": "SGDClassifier(log_loss, alpha=1e-5, one-vs-rest), scikit-learn",
        },
        "heldout": evaluate(model, corpora),
    }
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out / meta["weights"], **arrays)
    (out / "tingfeng-sentiment.json").write_text(
        json.dumps(meta, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    return meta
