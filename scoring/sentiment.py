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

from scoring.features import Normalized, featurize, normalize

__all__ = [
    "DEFAULT_MODEL_PATH",
    "EMOTIONS",
    "SentimentModel",
    "SentimentResult",
    "SnowNLPModel",
    "TingfengModel",
    "label_for",
    "load_model",
    "score_texts",
]

EMOTIONS: tuple[str, ...] = (
    "fear", "disgust", "optimism", "surprise", "gratitude", "sadness", "anger",
)
DEFAULT_MODEL_PATH = Path(__file__).with_name("models") / "tingfeng-sentiment.json"


@dataclass(frozen=True)
class SentimentResult:
    """One text's sentiment: ``score`` in [0, 1] (1 = positive), ``label`` positive, neutral or
    negative, ``emotion`` one of :data:`EMOTIONS` or None (no confident emotion, or no text)."""

    score: float
    label: str
    emotion: str | None = None


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

    Parameters
    ----------
    polarity_w, polarity_b : weights over ``2**bits`` features and the bias
    emotion_w, emotion_b : ``(2**emotion_bits, 7)`` weights and ``(7,)`` biases
    version : str
    bits, emotion_bits : hash space sizes (powers of two)
    neutral_band : label band, see :func:`label_for`
    emotion_threshold : the top one-vs-rest emotion probability below which ``emotion`` is None
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

    def __repr__(self) -> str:
        return f"<TingfengModel {self.version}>"

    def decision(self, texts: Sequence[str | Normalized]) -> tuple[np.ndarray, np.ndarray]:
        """Polarity probabilities ``(n,)`` and one-vs-rest emotion probabilities ``(n, 7)``.

        Each emotion column is that emotion against all others (they need not sum to 1), so a
        text with no clear emotion has every column low and gets no emotion.
        """
        n = len(texts)
        doc, idx, val = featurize(texts, bits=self.bits)
        z = np.bincount(doc, weights=self.polarity_w[idx] * val, minlength=n) + self.polarity_b
        pos = 1.0 / (1.0 + np.exp(-z))
        ew = self.emotion_w[idx >> (self.bits - self.emotion_bits)] * val[:, None]
        logits = np.empty((n, len(self.emotions)))
        for k in range(len(self.emotions)):
            logits[:, k] = np.bincount(doc, weights=ew[:, k], minlength=n)
        logits += self.emotion_b
        return pos, 1.0 / (1.0 + np.exp(-logits))

    def score(self, texts: Sequence[str]) -> list[SentimentResult]:
        """Score ``texts``; an empty text (nothing left after normalisation) scores 0.5, neutral."""
        norms = [normalize(t or "") for t in texts]
        if not norms:
            return []
        pos, probs = self.decision(norms)
        top = probs.argmax(axis=1)
        out = []
        for i, norm in enumerate(norms):
            if not norm.text and not norm.emoticons:
                out.append(SentimentResult(0.5, "neutral", None))
                continue
            s = float(pos[i])
            emo = self.emotions[top[i]] if probs[i, top[i]] >= self.emotion_threshold else None
            out.append(SentimentResult(s, label_for(s, self.neutral_band), emo))
        return out

    @classmethod
    def load(cls, path: str | Path, **kwargs: object) -> TingfengModel:
        """Load ``<name>.json`` (metadata) and the ``.npz`` weights it names (no pickle allowed)."""
        meta_path = Path(path)
        if meta_path.is_dir():
            meta_path = meta_path / DEFAULT_MODEL_PATH.name
        if meta_path.suffix == ".npz":
            meta_path = meta_path.with_suffix(".json")
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        with np.load(meta_path.with_name(meta["weights"]), allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
        return cls(
            arrays["polarity_w"], float(arrays["polarity_b"]), arrays["emotion_w"],
            arrays["emotion_b"], version=meta["version"], bits=meta["bits"],
            emotion_bits=meta["emotion_bits"], emotions=meta["emotions"], **kwargs,  # type: ignore[arg-type]
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
_CACHE: dict[tuple[str, tuple[float, ...], float], TingfengModel] = {}
_LOCK = threading.Lock()


def load_model(
    path: str | None = None,
    *,
    neutral_band: tuple[float, float] = (0.4, 0.6),
    emotion_threshold: float = 0.4,
) -> SentimentModel:
    """The model at ``path`` (a metadata ``.json``, its ``.npz`` or their folder); None loads the
    model shipped in scoring/models. Loaded once per process and argument set.

    Examples
    --------
    >>> load_model() is load_model()
    True
    """
    key = (str(Path(path).resolve()) if path else "", tuple(neutral_band), emotion_threshold)
    with _LOCK:
        if key not in _CACHE:
            _CACHE[key] = TingfengModel.load(
                path or DEFAULT_MODEL_PATH, neutral_band=tuple(neutral_band),
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
