"""Sentiment of social posts: score in [0, 1], label, emotion; Tingfeng's model and snownlp's.

``TingfengModel`` is hashed char n-grams plus emoticon/emoji/negation/"!" cues (scoring.features)
and linear weights shipped as numpy arrays (scoring/models/*.npz + JSON, never pickles), so
scoring is hashing and a dot product. ``SnowNLPModel`` is the documented baseline; snownlp is
imported lazily inside its methods (the import costs ~1.8 s). No settings are read here.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np
import scipy.sparse as sp

from scoring.features import Normalized, featurize, featurize_counted, normalize

__all__ = [
    "DEFAULT_MODEL_PATH",
    "EMOTIONS",
    "EMOTION_POLARITY",
    "LEGACY_EMOTION",
    "NLPCC_EMOTIONS",
    "SentimentModel",
    "SentimentResult",
    "SnowNLPModel",
    "TingfengModel",
    "emotion_signs",
    "fuse_emotions",
    "label_for",
    "load_model",
    "score_texts",
    "temper",
]

# The emotion scheme of the first model (weibo_emotion's seven); kept for models trained on it.
EMOTIONS: tuple[str, ...] = (
    "fear", "disgust", "optimism", "surprise", "gratitude", "sadness", "anger",
)
# The NLPCC 2014 Weibo scheme the shipped model predicts (the scheme Chinese evaluations use).
NLPCC_EMOTIONS: tuple[str, ...] = (
    "like", "happiness", "disgust", "sadness", "surprise", "anger", "fear",
)
# NLPCC emotion → the first scheme's, where a report still groups by the old seven.
LEGACY_EMOTION: dict[str, str] = {
    "like": "gratitude", "happiness": "optimism", "disgust": "disgust", "sadness": "sadness",
    "surprise": "surprise", "anger": "anger", "fear": "fear",
}
# The polarity an emotion implies (+1, -1; 0 for surprise, either way): what ties the emotion
# head to the far larger polarity model (TingfengModel ``emotion_polarity_power``).
EMOTION_POLARITY: dict[str, int] = {
    "like": 1, "happiness": 1, "optimism": 1, "gratitude": 1, "surprise": 0,
    "disgust": -1, "sadness": -1, "anger": -1, "fear": -1,
}
DEFAULT_MODEL_PATH = Path(__file__).with_name("models") / "tingfeng-sentiment.json"


def emotion_signs(emotions: Sequence[str]) -> np.ndarray:
    """:data:`EMOTION_POLARITY` of each of ``emotions`` (0 for one it does not know)."""
    return np.array([EMOTION_POLARITY.get(e, 0) for e in emotions])


def temper(probs: np.ndarray, temperature: float) -> np.ndarray:
    """Rows of ``probs`` raised to ``1/temperature`` and renormalised: temperature scaling,
    which keeps each row's order (the argmax) and only changes how sure it sounds.

    >>> [round(float(v), 3) for v in temper(np.array([[0.9, 0.1]]), 2.0)[0]]
    [0.75, 0.25]
    """
    if temperature == 1.0:
        return probs
    q = np.log(np.maximum(probs, 1e-300)) / temperature
    q = np.exp(q - q.max(axis=1, keepdims=True))
    out: np.ndarray = q / q.sum(axis=1, keepdims=True)
    return out


def fuse_emotions(probs: np.ndarray, positive: np.ndarray, emotions: Sequence[str],
                  power: float) -> np.ndarray:
    """Emotion probabilities ``(n, K)`` reweighted by the polarity model: each emotion's
    column times ``p**power`` (positive emotions), ``(1 - p)**power`` (negative) or
    ``0.5**power`` (surprise), rows renormalised. ``power`` 0 leaves them as they are.

    >>> out = fuse_emotions(np.array([[0.5, 0.5]]), np.array([0.9]), ["like", "anger"], 1.0)
    >>> [round(float(v), 2) for v in out[0]]
    [0.9, 0.1]
    """
    if not power:
        return probs
    sign = emotion_signs(emotions)
    pos = np.clip(positive, 1e-6, 1 - 1e-6)[:, None]
    factor = np.where(sign > 0, pos**power, np.where(sign < 0, (1 - pos)**power, 0.5**power))
    fused = probs * factor
    out: np.ndarray = fused / np.maximum(fused.sum(axis=1, keepdims=True), 1e-300)
    return out


@dataclass(frozen=True)
class SentimentResult:
    """One text's sentiment: ``score`` in [0, 1] (1 = positive), ``label`` positive, neutral or
    negative, ``emotion`` one of the model's emotions or None (no confident emotion, or no text),
    ``confidence`` the model's probability of that emotion (None when it has none), ``model``
    the version that scored this text when it differs from the scoring model's own (a remote
    model's fallback)."""

    score: float
    label: str
    emotion: str | None = None
    confidence: float | None = None
    model: str | None = None


@runtime_checkable
class SentimentModel(Protocol):
    """What scoring needs from a model. ``version`` is stored beside every score."""

    version: str

    def score(self, texts: Sequence[str]) -> list[SentimentResult]: ...


def label_for(score: float, neutral_band: tuple[float, float] = (0.4, 0.6)) -> str:
    """Label of a score: negative below the band, positive above it, neutral inside (inclusive).

    Parameters
    ----------
    score : float
        In [0, 1].
    neutral_band : (low, high)
        Settings SENTIMENT_NEUTRAL_LOW / SENTIMENT_NEUTRAL_HIGH at the edges.

    Examples
    --------
    >>> label_for(0.9), label_for(0.5), label_for(0.1), label_for(0.35, (0.3, 0.7))
    ('positive', 'neutral', 'negative', 'neutral')
    """
    low, high = neutral_band
    if score < low:
        return "negative"
    return "positive" if score > high else "neutral"


class TingfengModel:
    """Linear polarity and emotion models over :func:`scoring.features.featurize`.

    Polarity is a shared weight vector plus, optionally, one offset vector per text domain
    (Weibo posts, comments, reviews…) mixed by a domain gate: ``z = w·x + Σ_d p(d|x) (w_d·x +
    b_d)``, where ``p(d|x)`` is a softmax over ``gate_w``. The domain need not be known: the
    gate reads it from the text. ``calibration`` ``(a, c)`` maps the logit to ``a·z + c``
    (Platt scaling fitted on dev data), so scores are probabilities.

    Parameters
    ----------
    polarity_w, polarity_b : weights over ``2**bits`` features and the bias
    emotion_w, emotion_b : ``(2**emotion_bits, K)`` weights and ``(K,)`` biases
    version : str
    bits, emotion_bits : hash space sizes (powers of two)
    neutral_band : label band, see :func:`label_for`
    emotion_threshold : the emotion probability below which ``emotion`` is None
    emotions : the K emotion names
    emotion_softmax : emotions are one softmax (probabilities sum to 1) instead of K
        one-vs-rest models
    domains, domain_w, domain_b, gate_w, gate_b, domain_bits, gate_bits : the domain mixture
        (``domain_w`` is ``(D, 2**domain_bits)``, ``gate_w`` ``(2**gate_bits, D)``)
    calibration : ``(a, c)``
    emotion_polarity_power : how much the polarity score reweights emotions
        (:func:`fuse_emotions`; chosen by cross-validation at training, 0 = not at all)
    emotion_polarity_weight : the other way round: how much the emotion head's positive
        against negative mass moves the polarity of Weibo-like texts without emoticons
        (chosen on dev at training, 0 = not at all)
    domain_bands : ``{domain: (low, high)}``, the neutral band of texts the gate reads as that
        domain (chosen per domain on dev data); ``neutral_band`` elsewhere
    lexicon : the features carry the lexicon cues (``featurize(lexicon=True)``,
        :mod:`scoring.emolex`): the model was trained with them
    emotion_temperature : temperature scaling of the final emotion probabilities
        (:func:`temper`, fitted on out-of-fold NLPCC predictions at training), so that an
        emotion's confidence is about how often an emotion that sure is right
    emotion_evidence : give an emotion only to a text with an emotional cue of its own: a
        lexicon word, an emoticon or an emoji (needs ``lexicon``). The head learnt from
        emotional texts only, so it names an emotion for "今天开会" too; 99% of the NLPCC
        emotion texts hold such a cue.
    """

    def __init__(
        self,
        polarity_w: np.ndarray,
        polarity_b: float,
        emotion_w: np.ndarray,
        emotion_b: np.ndarray,
        *,
        version: str,
        bits: int,
        emotion_bits: int,
        neutral_band: tuple[float, float] = (0.4, 0.6),
        emotion_threshold: float = 0.4,
        emotions: Sequence[str] = EMOTIONS,
        emotion_softmax: bool = False,
        domains: Sequence[str] = (),
        domain_w: np.ndarray | None = None,
        domain_b: np.ndarray | None = None,
        gate_w: np.ndarray | None = None,
        gate_b: np.ndarray | None = None,
        domain_bits: int | None = None,
        gate_bits: int | None = None,
        calibration: tuple[float, float] = (1.0, 0.0),
        domain_bands: dict[str, tuple[float, float]] | None = None,
        emotion_polarity_power: float = 0.0,
        emotion_polarity_weight: float = 0.0,
        lexicon: bool = False,
        emotion_evidence: bool = False,
        emotion_temperature: float = 1.0,
    ) -> None:
        self.polarity_w = np.asarray(polarity_w, dtype=np.float32)
        self.polarity_b = float(polarity_b)
        self.emotion_w = np.asarray(emotion_w, dtype=np.float32)
        self.emotion_b = np.asarray(emotion_b, dtype=np.float32)
        self.version = version
        self.bits = bits
        self.emotion_bits = emotion_bits
        self.neutral_band = neutral_band
        self.emotion_threshold = emotion_threshold
        self.emotions = tuple(emotions)
        self.emotion_softmax = emotion_softmax
        self.domains = tuple(domains)
        self.domain_w = None if domain_w is None else np.asarray(domain_w, dtype=np.float32)
        self.domain_b = None if domain_b is None else np.asarray(domain_b, dtype=np.float32)
        self.gate_w = None if gate_w is None else np.asarray(gate_w, dtype=np.float32)
        self.gate_b = None if gate_b is None else np.asarray(gate_b, dtype=np.float32)
        self.domain_bits = domain_bits or bits
        self.gate_bits = gate_bits or bits
        self.calibration = (float(calibration[0]), float(calibration[1]))
        self.domain_bands = {k: (float(v[0]), float(v[1])) for k, v in (domain_bands or {}).items()}
        self.emotion_polarity_power = float(emotion_polarity_power)
        self.emotion_polarity_weight = float(emotion_polarity_weight)
        self.lexicon = bool(lexicon)
        self.emotion_evidence = bool(emotion_evidence) and self.lexicon
        self.emotion_temperature = float(emotion_temperature)

    def __repr__(self) -> str:
        return f"<TingfengModel {self.version}>"

    def _design(self, doc: np.ndarray, idx: np.ndarray, val: np.ndarray, n: int
                ) -> sp.csr_matrix:
        """``featurize``'s coordinates as an ``(n, 2**bits)`` CSR matrix (float32, like the
        weights), built once and shared by every head: a sparse-dense product in scipy's C
        loop instead of one numpy pass per output column."""
        order = np.argsort(doc, kind="stable")  # a few sorted runs: timsort merges them
        indptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.bincount(doc, minlength=n), out=indptr[1:])
        return sp.csr_matrix((val[order].astype(np.float32), idx[order], indptr),
                             shape=(n, 1 << self.bits))

    def _sums(self, x: sp.csr_matrix, w: np.ndarray, b: int) -> np.ndarray:
        """``(n, k)`` dot products of each row of ``x`` (:meth:`_design`) with the columns of
        ``w`` (``2**b`` rows: a feature's slot is its index's top ``b`` bits)."""
        if b != self.bits:
            x = sp.csr_matrix((x.data, x.indices >> (self.bits - b), x.indptr),
                              shape=(x.shape[0], 1 << b))
        out: np.ndarray = np.asarray(x @ w, dtype=np.float64)
        return out

    def domain_probabilities(self, texts: Sequence[str | Normalized]) -> np.ndarray:
        """``(n, D)`` probabilities of each text's domain (empty without a domain mixture)."""
        if self.gate_w is None:
            return np.zeros((len(texts), 0))
        doc, idx, val = featurize(texts, bits=self.bits, lexicon=self.lexicon)
        return self._gate(self._design(doc, idx, val, len(texts)))

    def _gate(self, x: sp.csr_matrix) -> np.ndarray:
        assert self.gate_w is not None and self.gate_b is not None
        g = self._sums(x, self.gate_w, self.gate_bits) + self.gate_b
        g = np.exp(g - g.max(axis=1, keepdims=True))
        out: np.ndarray = g / g.sum(axis=1, keepdims=True)
        return out

    def logits(self, texts: Sequence[str | Normalized]) -> tuple[np.ndarray, np.ndarray]:
        """Uncalibrated polarity logits ``(n,)`` and emotion probabilities ``(n, K)``."""
        z, probs, _, _ = self._forward(texts)
        return z, probs

    def _forward(self, texts: Sequence[str | Normalized]
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray]:
        """Polarity logits, emotion probabilities, the domain gate ``(n, D)`` (None without
        a domain mixture) and which texts hold an emotional cue (``emotion_evidence``; all
        True without it), from one featurisation."""
        norms = [t if isinstance(t, Normalized) else normalize(t) for t in texts]
        doc, idx, val, counts = featurize_counted(norms, bits=self.bits, lexicon=self.lexicon)
        x = self._design(doc, idx, val, len(norms))
        evidence = np.ones(len(norms), dtype=bool)
        if self.emotion_evidence:
            evidence = (counts.sum(axis=1) > 0) | np.array([bool(n.emoticons) for n in norms],
                                                           dtype=bool)
        z = self._sums(x, self.polarity_w[:, None], self.bits)[:, 0] + self.polarity_b
        gate = None
        if self.domain_w is not None and self.gate_w is not None and self.domain_b is not None:
            gate = self._gate(x)
            offsets = self._sums(x, self.domain_w.T, self.domain_bits)
            z = z + ((offsets + self.domain_b) * gate).sum(axis=1)
        e = self._sums(x, self.emotion_w, self.emotion_bits) + self.emotion_b
        if self.emotion_softmax:
            e = np.exp(e - e.max(axis=1, keepdims=True))
            probs = e / e.sum(axis=1, keepdims=True)
        else:
            probs = 1.0 / (1.0 + np.exp(-e))
        return z, probs, gate, evidence

    def decision(self, texts: Sequence[str | Normalized]) -> tuple[np.ndarray, np.ndarray]:
        """Calibrated polarity probabilities ``(n,)`` and emotion probabilities ``(n, K)``.

        With one-vs-rest emotions each column is that emotion against all others (they need not
        sum to 1), so a text with no clear emotion has every column low and gets no emotion.
        These are the head's probabilities for every text; :meth:`score` also withholds the
        emotion of a text without an emotional cue (``emotion_evidence``).
        """
        pos, probs, _, _ = self._decide(texts)
        return pos, probs

    def _decide(self, texts: Sequence[str | Normalized], emotion_probs: np.ndarray | None = None
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray]:
        """Calibrated polarity, emotion probabilities, the gate and the emotional-cue mask
        (:meth:`_forward`); ``emotion_probs`` replaces the head's own (training measures the
        emotion vote with out-of-fold heads)."""
        norms = [t if isinstance(t, Normalized) else normalize(t) for t in texts]
        z, probs, gate, evidence = self._forward(norms)
        if emotion_probs is not None:
            probs = emotion_probs
        a, c = self.calibration
        z = a * z + c
        if self.emotion_softmax and self.emotion_polarity_weight and gate is not None:
            z = z + self._emotion_vote(norms, probs, gate)
        pos = 1.0 / (1.0 + np.exp(-np.clip(z, -50, 50)))
        if self.emotion_softmax and self.emotion_polarity_power:
            probs = fuse_emotions(probs, pos, self.emotions, self.emotion_polarity_power)
        if self.emotion_softmax:
            probs = temper(probs, self.emotion_temperature)
        return pos, probs, gate, evidence

    def _emotion_vote(self, norms: Sequence[Normalized], probs: np.ndarray,
                      gate: np.ndarray) -> np.ndarray:
        """The emotion head's say in polarity: ``weight · p(weibo|x) · log(Σ positive
        emotions / Σ negative)`` (:data:`EMOTION_POLARITY`), for texts without emoticons
        only: where the author's own emoticons speak, they decide. The head learnt from
        human-labelled Weibo emotions (NLPCC, COVID) what the polarity corpora teach least."""
        sign = emotion_signs(self.emotions)
        positive = probs[:, sign > 0].sum(axis=1)
        negative = probs[:, sign < 0].sum(axis=1)
        vote = np.log(positive + 1e-6) - np.log(negative + 1e-6)
        plain = np.array([0.0 if n.emoticons else 1.0 for n in norms])
        weibo = gate[:, self.domains.index("weibo")] if "weibo" in self.domains else 0.0
        out: np.ndarray = self.emotion_polarity_weight * weibo * plain * vote
        return out

    def bands(self, gate: np.ndarray | None, n: int) -> list[tuple[float, float]]:
        """The neutral band of each of ``n`` texts: its likeliest domain's band
        (``domain_bands``, chosen per domain on dev data at training) where the model has
        them, else ``neutral_band``."""
        if gate is None or not self.domain_bands:
            return [self.neutral_band] * n
        per = [self.domain_bands.get(d, self.neutral_band) for d in self.domains]
        return [per[k] for k in gate.argmax(axis=1)]

    def score(self, texts: Sequence[str]) -> list[SentimentResult]:
        """Score ``texts``; an empty text (nothing left after normalisation) scores 0.5, neutral."""
        norms = [normalize(t or "") for t in texts]
        if not norms:
            return []
        pos, probs, gate, evidence = self._decide(norms)
        bands = self.bands(gate, len(norms))
        top = probs.argmax(axis=1)
        out = []
        for i, norm in enumerate(norms):
            if not norm.text and not norm.emoticons:
                out.append(SentimentResult(0.5, "neutral", None))
                continue
            s = float(pos[i])
            p = float(probs[i, top[i]])
            emo = (self.emotions[top[i]] if p >= self.emotion_threshold and evidence[i]
                   else None)
            out.append(SentimentResult(s, label_for(s, bands[i]), emo,
                                       round(p, 4) if emo else None))
        return out

    @classmethod
    def load(cls, path: str | Path, **kwargs: object) -> TingfengModel:
        """Load ``<name>.json`` (metadata) and the ``.npz`` weights it names (no pickle allowed).

        Settings passed as ``kwargs`` (neutral band, emotion threshold) win over the metadata's
        defaults, which were chosen on dev data when the model was trained.
        """
        meta_path = Path(path)
        if meta_path.is_dir():
            meta_path = meta_path / DEFAULT_MODEL_PATH.name
        if meta_path.suffix == ".npz":
            meta_path = meta_path.with_suffix(".json")
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        with np.load(meta_path.with_name(meta["weights"]), allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
        options: dict[str, object] = {
            "emotions": meta["emotions"],
            "emotion_softmax": bool(meta.get("emotion_softmax", False)),
            "calibration": tuple(meta.get("calibration", (1.0, 0.0))),
        }
        if "emotion_threshold" in meta:
            options["emotion_threshold"] = float(meta["emotion_threshold"])
        if "neutral_band" in meta:
            options["neutral_band"] = tuple(meta["neutral_band"])
        for key in ("emotion_polarity_power", "emotion_polarity_weight", "emotion_temperature"):
            if meta.get(key):
                options[key] = float(meta[key])
        options["lexicon"] = bool(meta.get("lexicon", False))
        options["emotion_evidence"] = bool(meta.get("emotion_evidence", False))
        if meta.get("domain_bands") and kwargs.get("neutral_band") is None:
            # a band set by the user (SENTIMENT_NEUTRAL_LOW/HIGH) holds for every domain
            options["domain_bands"] = {k: tuple(v) for k, v in meta["domain_bands"].items()}
        if "gate_w" in arrays:
            options.update(domains=meta["domains"], domain_w=arrays["domain_w"],
                           domain_b=arrays["domain_b"], gate_w=arrays["gate_w"],
                           gate_b=arrays["gate_b"], domain_bits=meta["domain_bits"],
                           gate_bits=meta["gate_bits"])
        options.update({k: v for k, v in kwargs.items() if v is not None})
        return cls(
            arrays["polarity_w"], float(arrays["polarity_b"]), arrays["emotion_w"],
            arrays["emotion_b"], version=meta["version"], bits=meta["bits"],
            emotion_bits=meta["emotion_bits"], **options,  # type: ignore[arg-type]
        )


class SnowNLPModel:
    """snownlp's Bayes sentiment (stock model, or one retrained with ``snownlp.sentiment.train``
    and saved at ``path``). Baseline only: ~0.58 accuracy on Weibo, a few hundred texts/s.

    Examples
    --------
    >>> SnowNLPModel().version
    'snownlp-0.12.3'
    """

    def __init__(
        self, path: str | None = None, *, neutral_band: tuple[float, float] = (0.4, 0.6)
    ) -> None:
        self.path = path
        self.neutral_band = neutral_band
        self.version = "snownlp-0.12.3" + (f"+{Path(path).stem}" if path else "")
        self._loaded = False

    def __repr__(self) -> str:
        return f"<SnowNLPModel {self.version}>"

    def score(self, texts: Sequence[str]) -> list[SentimentResult]:
        from snownlp import SnowNLP, sentiment  # lazy: ~1.8 s import

        if self.path and not self._loaded:
            sentiment.load(self.path)
            self._loaded = True
        out = []
        for text in texts:
            s = float(SnowNLP(text).sentiments) if text and text.strip() else 0.5
            out.append(SentimentResult(s, label_for(s, self.neutral_band), None))
        return out


# Key: (resolved path, neutral band, emotion threshold); the band as given, tuple()-frozen.
_CACHE: dict[tuple[str, tuple[float, ...], float | None], TingfengModel] = {}
_LOCK = threading.Lock()


def load_model(
    path: str | None = None,
    *,
    neutral_band: tuple[float, float] | None = None,
    emotion_threshold: float | None = None,
) -> SentimentModel:
    """The model at ``path`` (a metadata ``.json``, its ``.npz`` or their folder); None loads the
    model shipped in scoring/models. Loaded once per process and argument set. ``neutral_band``
    and ``emotion_threshold`` default to the model's own, chosen on dev data at training.

    Examples
    --------
    >>> load_model() is load_model()
    True
    """
    key = (str(Path(path).resolve()) if path else "",
           tuple(neutral_band) if neutral_band else (), emotion_threshold)
    with _LOCK:
        if key not in _CACHE:
            _CACHE[key] = TingfengModel.load(
                path or DEFAULT_MODEL_PATH,
                neutral_band=tuple(neutral_band) if neutral_band else None,
                emotion_threshold=emotion_threshold,
            )
        return _CACHE[key]


def score_texts(texts: Sequence[str], model: SentimentModel | None = None) -> list[float]:
    """Sentiment scores in [0, 1] (1 = positive) of ``texts`` with ``model`` (default: shipped).

    Examples
    --------
    >>> a, b = score_texts(["太棒了，非常满意！[哈哈]", "太差了，气死我了[怒]"])
    >>> a > 0.5 > b
    True
    """
    return [r.score for r in (model or load_model()).score(texts)]
