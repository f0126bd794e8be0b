"""Offensive-language model for the risk radar: P(offensive) of a text, beside the word lists.

A linear model over hashed char 1-3-grams (the n-gram hashing of :mod:`scoring.features`, on
text only width-folded, lower-cased and stripped of URLs, @names and [emoticons]: 5× cheaper
than the sentiment features' full normalisation and cues, and no worse on dev), trained on
COLD (Zhihu and Weibo comments on race, gender and region, safe 0 / offensive 1) with
Naive-Bayes log-count-ratio weighting folded into the weights, Platt-calibrated on the dev
split (:func:`scoring.corpora.is_dev`) and thresholded at the dev split's best F1. Shipped as
``scoring/models/tingfeng-abuse.{npz,json}`` (numpy arrays, never a pickle); scoring is
hashing and a dot product. Training needs scikit-learn and
scipy (imported inside :func:`train_abuse`). No settings are read here.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from scoring.corpora import Row, load_corpus, split
from scoring.features import _ngram_hashes, close_gaps

__all__ = [
    "ABUSE_MODEL_PATH",
    "AbuseModel",
    "abuse_features",
    "best_threshold",
    "evaluate_abuse",
    "flag_figures",
    "load_abuse_model",
    "train_abuse",
    "wordlist_figures",
]

ABUSE_MODEL_PATH = Path(__file__).with_name("models") / "tingfeng-abuse.json"
# Applied after lower-casing (a case-sensitive pattern is twice as fast).
_NOISE = re.compile(r"https?://\S+|www\.\S+|@[\w\-·]{1,30}[:：]?|\[[^\[\]\s]{1,8}\]")
# Full-width letters and digits (ＳＢ, １２３) fold to ASCII; full-width punctuation is left as
# it is, alike in training and scoring (NFKC on every text would double the cost).
_WIDE = re.compile("[０-９Ａ-Ｚａ-ｚ]")
_NARROW = {c: c - 0xFEE0 for c in range(ord("０"), ord("ｚ") + 1)}


def _fold(text: str) -> str:
    return (text.translate(_NARROW) if _WIDE.search(text) else text).lower()


def abuse_features(texts: Sequence[str], *, bits: int) -> tuple[np.ndarray, np.ndarray,
                                                                 np.ndarray]:
    """Coordinates ``(doc, index, value)`` of the abuse features: char 1-3-gram hashes in
    ``[0, 2**bits)`` of each text with full-width letters and digits folded to ASCII,
    lower-cased, without URLs, @names and ``[emoticons]``, spacing collapsed, each worth
    ``1/sqrt(n_grams)`` (an l2-normalised bag).

    >>> doc, index, value = abuse_features(["ＳＢ", "@小明: 傻[怒]"], bits=16)
    >>> np.bincount(doc).tolist(), int(index.max()) < 2**16  # "sb": 4+3+2 grams, "傻": 3+2+1
    ([9, 6], True)
    """
    folded = [close_gaps(_NOISE.sub(" ", _fold(t or ""))) for t in texts]
    doc, idx, grams = _ngram_hashes(folded, bits)  # the n-gram hashing featurize uses
    return doc, idx, (1.0 / np.sqrt(np.maximum(grams, 1)))[doc]


class AbuseModel:
    """Calibrated offensive-language probabilities from a weight vector over hashed features.

    Parameters
    ----------
    w, b : weights over ``2**bits`` features (NB ratios already folded in) and the bias
    version : str
    bits : hash space size (power of two)
    calibration : ``(a, c)``: ``P = sigmoid(a·z + c)`` (Platt scaling fitted on dev)
    threshold : the probability at or above which :meth:`flags` says offensive

    Examples
    --------
    >>> m = AbuseModel(np.zeros(2**8), 0.0, version="zero", bits=8)
    >>> m.probabilities(["你好"]).tolist(), m.flags(["你好", ""])
    ([0.5], [True, False])
    """

    def __init__(self, w: np.ndarray, b: float, *, version: str, bits: int,
                 calibration: tuple[float, float] = (1.0, 0.0), threshold: float = 0.5) -> None:
        self.w = np.asarray(w, dtype=np.float32)
        self.b = float(b)
        self.version = version
        self.bits = bits
        self.calibration = (float(calibration[0]), float(calibration[1]))
        self.threshold = float(threshold)

    def __repr__(self) -> str:
        return f"<AbuseModel {self.version} threshold={self.threshold:g}>"

    def logits(self, texts: Sequence[str]) -> np.ndarray:
        """Uncalibrated logits ``(n,)``."""
        doc, idx, val = abuse_features(texts, bits=self.bits)
        z: np.ndarray = np.bincount(doc, weights=self.w[idx] * val, minlength=len(texts))
        return z + self.b

    def probabilities(self, texts: Sequence[str]) -> np.ndarray:
        """Calibrated P(offensive) of each text ``(n,)``."""
        if not texts:
            return np.zeros(0)
        a, c = self.calibration
        out: np.ndarray = 1.0 / (1.0 + np.exp(-np.clip(a * self.logits(texts) + c, -50, 50)))
        return out

    def flags(self, texts: Sequence[str]) -> list[bool]:
        """Whether each text is offensive (probability ≥ threshold); an empty text never is."""
        p = self.probabilities(texts)
        return [bool(t and t.strip()) and bool(q >= self.threshold)
                for t, q in zip(texts, p.tolist(), strict=True)]

    @classmethod
    def load(cls, path: str | Path, *, threshold: float | None = None) -> AbuseModel:
        """Load ``<name>.json`` (metadata) and the ``.npz`` it names (no pickle allowed); a
        folder means its ``tingfeng-abuse.json``. ``threshold`` wins over the model's own."""
        meta_path = Path(path)
        if meta_path.is_dir():
            meta_path = meta_path / ABUSE_MODEL_PATH.name
        if meta_path.suffix == ".npz":
            meta_path = meta_path.with_suffix(".json")
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        with np.load(meta_path.with_name(meta["weights"]), allow_pickle=False) as z:
            w, b = z["w"], float(z["b"])
        return cls(w, b, version=meta["version"], bits=int(meta["bits"]),
                   calibration=tuple(meta["calibration"]),
                   threshold=float(meta["threshold"] if threshold is None else threshold))


_CACHE: dict[tuple[str, float | None], AbuseModel] = {}
_LOCK = threading.Lock()


def load_abuse_model(path: str | Path | None = None, *,
                     threshold: float | None = None) -> AbuseModel:
    """The abuse model at ``path`` (None: the shipped one), loaded once per process and
    argument set; ``threshold`` None keeps the model's own (best F1 on dev).

    Examples
    --------
    >>> load_abuse_model() is load_abuse_model()
    True
    """
    key = (str(Path(path).resolve()) if path else "", threshold)
    with _LOCK:
        if key not in _CACHE:
            _CACHE[key] = AbuseModel.load(path or ABUSE_MODEL_PATH, threshold=threshold)
        return _CACHE[key]


def flag_figures(flags: Sequence[bool], labels: Sequence[int]) -> dict[str, float]:
    """Precision, recall, F1, accuracy and flagged share of yes/no ``flags`` against 1/0
    ``labels`` (precision is 0 when nothing is flagged).

    >>> f = flag_figures([True, True, False, False], [1, 0, 1, 0])
    >>> f["precision"], f["recall"], f["f1"], f["accuracy"]
    (0.5, 0.5, 0.5, 0.5)
    """
    p, y = np.asarray(flags, bool), np.asarray(labels) == 1
    tp = float(np.sum(p & y))
    precision = tp / p.sum() if p.sum() else 0.0
    recall = tp / y.sum() if y.sum() else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": float(precision), "recall": float(recall), "f1": float(f1),
            "accuracy": float(np.mean(p == y)) if len(y) else 0.0,
            "flagged_share": float(p.mean()) if len(p) else 0.0}


def best_threshold(probs: Sequence[float] | np.ndarray, labels: Sequence[int]) -> float:
    """The threshold in 0.05…0.95 (steps of 0.01) with the best F1 (the lowest on a tie).

    >>> best_threshold([0.1, 0.3, 0.6, 0.9], [0, 1, 1, 1])
    0.11
    """
    p, y = np.asarray(probs, float), list(labels)
    best, best_f1 = 0.5, -1.0
    for t in np.round(np.arange(0.05, 0.951, 0.01), 2):
        f1 = flag_figures((p >= t).tolist(), y)["f1"]
        if f1 > best_f1 + 1e-12:
            best, best_f1 = float(t), f1
    return best


def evaluate_abuse(model: AbuseModel, rows: Sequence[Row]) -> dict[str, float]:
    """:func:`flag_figures` of ``model`` on 1/0 ``rows`` at its threshold, with texts/s."""
    texts = [r.text for r in rows]
    start = time.perf_counter()
    flags = model.flags(texts)
    speed = len(texts) / max(time.perf_counter() - start, 1e-9)
    return {**flag_figures(flags, [int(r.label) for r in rows]), "texts_per_s": speed,
            "rows": float(len(rows))}


def wordlist_figures(rows: Sequence[Row], lexicon: Any = None) -> dict[str, float]:
    """:func:`flag_figures` of the risk radar's abuse words on 1/0 ``rows`` (each read as a
    comment: a text is flagged when an abuse word matches). ``lexicon``: a
    :class:`scoring.risk.Lexicon` (default: the built-in lists)."""
    from scoring.risk import Lexicon

    lex = lexicon if lexicon is not None else Lexicon.default(abuse_model=None)
    flags = [bool(lex.find(r.text, categories=("abuse",))) for r in rows]
    return flag_figures(flags, [int(r.label) for r in rows])


def train_abuse(
    data_dir: str | Path,
    out_dir: str | Path,
    *,
    bits: int = 20,
    c: float = 3.0,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Train on COLD (``offensive.train.jsonl``), write ``tingfeng-abuse.{npz,json}`` into
    ``out_dir`` and return the metadata with the dev figures (at the chosen threshold).

    NB weighting: each feature's log ratio ``r`` of its (smoothed) document frequency among
    offensive vs safe training texts scales the features before a logistic regression
    (``C = c``, liblinear); the saved weights are ``r · w``, so scoring is unchanged.
    """
    import scipy.sparse as sp
    from sklearn.linear_model import LogisticRegression

    say = progress or (lambda _msg: None)
    train_rows, dev_rows = split(load_corpus(data_dir, "offensive"))

    def matrix(rows: Sequence[Row]) -> Any:
        doc, idx, val = abuse_features([r.text for r in rows], bits=bits)
        x = sp.csr_matrix((val, (doc, idx)), shape=(len(rows), 2**bits))
        x.sum_duplicates()
        return x

    say(f"abuse: {len(train_rows):,} training texts, {len(dev_rows):,} dev")
    x, y = matrix(train_rows), np.array([int(r.label) for r in train_rows])
    present = x.copy()
    present.data[:] = 1.0
    pos = np.asarray(present[y == 1].sum(axis=0)).ravel() + 1.0
    neg = np.asarray(present[y == 0].sum(axis=0)).ravel() + 1.0
    ratio = np.log((pos / pos.sum()) / (neg / neg.sum()))
    clf = LogisticRegression(C=c, solver="liblinear", max_iter=1000)
    clf.fit(x @ sp.diags(ratio), y)
    arrays = {"w": (clf.coef_[0] * ratio).astype(np.float16),
              "b": np.float32(clf.intercept_[0])}
    digest = hashlib.sha1(b"".join(np.ascontiguousarray(a).tobytes() for a in arrays.values()))
    model = AbuseModel(arrays["w"], float(arrays["b"]),
                       version=f"tingfeng-abuse-1.{digest.hexdigest()[:8]}", bits=bits)
    say("abuse: Platt calibration and threshold on dev")
    z, dev_y = model.logits([r.text for r in dev_rows]), [int(r.label) for r in dev_rows]
    platt = LogisticRegression(C=1e4).fit(z.reshape(-1, 1), dev_y)
    model.calibration = (float(platt.coef_[0, 0]), float(platt.intercept_[0]))
    model.threshold = best_threshold(model.probabilities([r.text for r in dev_rows]), dev_y)
    figures = evaluate_abuse(model, dev_rows)
    meta: dict[str, Any] = {
        "version": model.version,
        "format": 1,
        "weights": "tingfeng-abuse.npz",
        "bits": bits,
        "calibration": list(model.calibration),
        "threshold": model.threshold,
        "features": "scoring.abuse.abuse_features: full-width letters/digits folded, "
                    "lowercase, URLs/@names/[emoticons] removed; char 1-3-gram hashes "
                    "(l2-normalised)",
        "training": {
            "data": {"offensive": {"train": len(train_rows), "dev": len(dev_rows)}},
            "model": f"NB log-count-ratio weighting + LogisticRegression(C={c:g}, liblinear); "
                     "Platt on dev; threshold = best F1 on dev",
        },
        "dev": {k: v for k, v in figures.items() if k != "texts_per_s"},
    }
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out / meta["weights"], **arrays)
    (out / ABUSE_MODEL_PATH.name).write_text(
        json.dumps(meta, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return meta
