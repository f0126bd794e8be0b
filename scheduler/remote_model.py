"""A sentiment model served over HTTP (an enterprise's own BERT-class service), behind the same
``SentimentModel`` interface as the shipped one, with the shipped model as its fallback.

Protocol (documented in the README): ``POST SENTIMENT_REMOTE_URL`` with
``{"texts": ["…", …]}``; the answer is ``{"results": [{"score": 0.93, "label": "positive",
"emotion": "like"}, …]}`` in the same order (``label`` and ``emotion`` optional; ``score`` in
[0, 1], 1 = positive), or ``{"scores": [0.93, …]}``. Batched, with a timeout and retries with
backoff; a batch the service cannot score is scored by the fallback model and tagged with the
fallback's version, so ``sentiment rescore`` picks those posts up again once the service is
back. The URL may carry credentials; they never reach a log line.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

import httpx

from crawlers.errors import ConfigError
from scoring.sentiment import SentimentModel, SentimentResult, label_for

__all__ = ["RemoteModel"]

log = logging.getLogger(__name__)


class RemoteModel:
    """Scores texts through an HTTP model service.

    Settings (read by ``scheduler.rescore.model_from_settings``): SENTIMENT_REMOTE_URL,
    SENTIMENT_REMOTE_BATCH, SENTIMENT_REMOTE_TIMEOUT, SENTIMENT_REMOTE_RETRIES,
    SENTIMENT_REMOTE_VERSION.
    """

    def __init__(
        self,
        url: str,
        *,
        fallback: SentimentModel,
        version: str = "remote",
        batch: int = 64,
        timeout: float = 10.0,
        retries: int = 2,
        neutral_band: tuple[float, float] = (0.45, 0.55),
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not url.startswith(("http://", "https://")):
            raise ConfigError(f"SENTIMENT_REMOTE_URL must be an http(s) URL, not {url[:40]!r}")
        self.url = url
        self.fallback = fallback
        self.version = f"remote:{version}"
        self.batch = max(int(batch), 1)
        self.retries = max(int(retries), 0)
        self.neutral_band = neutral_band
        self.fallbacks = 0  # texts the fallback scored
        self._sleep = sleep
        self._client = httpx.Client(timeout=timeout, transport=transport)

    def __repr__(self) -> str:
        return f"<RemoteModel {self.version}>"

    def close(self) -> None:
        self._client.close()

    def score(self, texts: Sequence[str]) -> list[SentimentResult]:
        out: list[SentimentResult] = []
        for i in range(0, len(texts), self.batch):
            chunk = list(texts[i:i + self.batch])
            try:
                out.extend(self._remote(chunk))
            except _Unavailable as exc:
                self.fallbacks += len(chunk)
                log.warning("sentiment service unavailable (%s): %d texts scored by %s",
                            exc, len(chunk), self.fallback.version)
                out.extend(r if r.model else SentimentResult(
                    r.score, r.label, r.emotion, r.confidence, self.fallback.version)
                    for r in self.fallback.score(chunk))
        return out

    def _remote(self, texts: list[str]) -> list[SentimentResult]:
        last = "no attempt"
        for attempt in range(self.retries + 1):
            if attempt:
                self._sleep(min(0.5 * 2 ** (attempt - 1), 5.0))
            try:
                response = self._client.post(self.url, json={"texts": texts})
            except httpx.HTTPError as exc:
                last = type(exc).__name__
                continue
            if response.status_code >= 500 or response.status_code == 429:
                last = f"HTTP {response.status_code}"
                continue
            if response.status_code != 200:
                raise _Unavailable(f"HTTP {response.status_code}")
            try:
                return self._parse(response.json(), len(texts))
            except (ValueError, KeyError, TypeError) as exc:
                raise _Unavailable(f"unreadable answer: {exc}") from None
        raise _Unavailable(last)

    def _parse(self, payload: Any, n: int) -> list[SentimentResult]:
        items = payload.get("results", payload.get("scores"))
        if not isinstance(items, list) or len(items) != n:
            raise ValueError(f"expected {n} results")
        out = []
        for item in items:
            if isinstance(item, int | float):
                item = {"score": item}
            score = float(item["score"])
            if not 0.0 <= score <= 1.0:
                raise ValueError(f"score {score} outside [0, 1]")
            label = item.get("label") or label_for(score, self.neutral_band)
            if label not in ("positive", "neutral", "negative"):
                raise ValueError(f"label {label!r}")
            emotion = item.get("emotion") or None
            out.append(SentimentResult(score, label, emotion,
                                       float(item["confidence"]) if "confidence" in item else None))
        return out


class _Unavailable(Exception):
    pass
