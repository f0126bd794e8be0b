"""The store-facing edge of scoring: rescore stored posts (sentiment, emotion, risk hits) and
recompute author tiers and influence. Scoring itself stays in the pure ``scoring`` package;
settings are turned into its parameters here (``*_from_settings``).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from crawlers.items import Author, AuthorKey, Post, PostKey, PostScore, ScoreInput

if TYPE_CHECKING:
    from crawlers.storage import Store
    from scoring.risk import Lexicon
    from scoring.sentiment import SentimentModel

__all__ = [
    "author_scores",
    "lexicon_from_settings",
    "model_from_settings",
    "rescore_store",
    "score_authors",
    "tiers_from_settings",
]

Progress = Callable[[int, int | None], None]  # (done, total or None when not counted)
# Scores per write: 200,000 first scorings in 20,000-post writes took 11.3 s, in 2,000-post
# writes 16.5 s (SQLite). A write holds the store's write lock for about a second.
WRITE_SIZE = 20_000


def model_from_settings(settings: Any, path: str | None = None) -> SentimentModel:
    """The model named by ``path`` or SENTIMENT_MODEL_PATH (shipped model when empty), with the
    SENTIMENT_NEUTRAL_LOW/HIGH band and SENTIMENT_EMOTION_THRESHOLD where they are set (empty:
    the model's own, chosen on dev data when it was trained). With SENTIMENT_REMOTE_URL (and no
    explicit ``path``), the remote service, that model as its fallback."""
    from scoring.sentiment import load_model

    low, high = settings.get("SENTIMENT_NEUTRAL_LOW"), settings.get("SENTIMENT_NEUTRAL_HIGH")
    threshold = settings.get("SENTIMENT_EMOTION_THRESHOLD")
    local = load_model(
        path or settings.get("SENTIMENT_MODEL_PATH") or None,
        neutral_band=(float(low), float(high)) if low not in (None, "") and high not in (None, "")
        else None,
        emotion_threshold=float(threshold) if threshold not in (None, "") else None,
    )
    remote = settings.get("SENTIMENT_REMOTE_URL")
    if not remote or path:
        return local
    from scheduler.remote_model import RemoteModel

    return RemoteModel(
        remote, fallback=local,
        version=str(settings.get("SENTIMENT_REMOTE_VERSION") or "remote"),
        batch=int(settings.get("SENTIMENT_REMOTE_BATCH") or 64),
        timeout=float(settings.get("SENTIMENT_REMOTE_TIMEOUT") or 10),
        retries=int(settings.get("SENTIMENT_REMOTE_RETRIES") or 2),
    )


def lexicon_from_settings(settings: Any) -> Lexicon:
    """RISK_COMPLAINT_WORDS / RISK_SENSITIVE_WORDS / RISK_ABUSE_WORDS (empty: built-in lists),
    and the abuse model (RISK_ABUSE_MODEL_ENABLED, RISK_ABUSE_MODEL_PATH, RISK_ABUSE_THRESHOLD)."""
    from scoring.abuse import load_abuse_model
    from scoring.risk import Lexicon

    model = None
    if settings.getbool("RISK_ABUSE_MODEL_ENABLED", True):
        raw = settings.get("RISK_ABUSE_THRESHOLD", "")
        model = load_abuse_model(settings.get("RISK_ABUSE_MODEL_PATH", "") or None,
                                 threshold=float(raw) if raw not in (None, "") else None)
    return Lexicon.default(
        complaint=settings.getlist("RISK_COMPLAINT_WORDS"),
        sensitive=settings.getlist("RISK_SENSITIVE_WORDS"),
        abuse=settings.getlist("RISK_ABUSE_WORDS"),
        abuse_model=model,
    )


def tiers_from_settings(settings: Any) -> dict[str, dict[str, Any]]:
    """scoring.influence.DEFAULT_TIERS with INFLUENCE_TIERS merged in, platform by platform."""
    from scoring.influence import DEFAULT_TIERS

    tiers = {p: dict(v) for p, v in DEFAULT_TIERS.items()}
    for platform, cut in (settings.getdict("INFLUENCE_TIERS") or {}).items():
        tiers.setdefault(platform, {}).update(cut)
    return tiers


def rescore_store(
    store: Store,
    model: SentimentModel | None = None,
    *,
    topic: str | None = None,
    batch_size: int = 1000,
    write_size: int = WRITE_SIZE,
    progress: Progress | None = None,
    lexicon: Lexicon | None = None,
    force: bool = False,
) -> int:
    """Score every stored post whose ``sentiment_model`` is not ``model.version`` (all posts with
    ``force``), writing sentiment, label, emotion, version and risk hits.

    Posts are read once, in pages, as key, text and kind only (``Store.score_inputs``), scored
    ``batch_size`` at a time and written ``write_size`` at a time: a write's cost is mostly
    per transaction and per index page touched, so few big writes cost less. No backend
    cursor stays open while ``set_scores`` writes; a killed rescore loses at most the last
    unwritten scores, which the next run scores again. ``progress(done, total)`` is called
    after each write (total is None: posts are scored as they are read, in one pass).
    Returns how many posts were updated.
    """
    from scoring.risk import posts_risk_hits
    from scoring.sentiment import load_model

    model = model or load_model()
    # One pass: batches are scored as they are read. Every backend reads in pages (SQLite
    # keyset pages, fully fetched; MongoDB a server cursor whose sort key scoring never
    # changes), so writing between batches neither holds a lock open nor skips a post.
    source = store.score_inputs(None if force else model.version, topic=topic)
    total: int | None = None  # counting first would cost a second read of every post
    done = written = 0
    batch: list[ScoreInput] = []
    pending: dict[PostKey, PostScore] = {}

    def score() -> None:
        results = model.score([p.text for p in batch])
        hits = posts_risk_hits(batch, lexicon)  # the abuse model scores the batch at once
        for p, r, h in zip(batch, results, hits, strict=True):
            pending[p.key] = PostScore(sentiment=r.score, label=r.label,
                                       model=r.model or model.version, emotion=r.emotion,
                                       risk_hits=h)
        batch.clear()

    def write() -> None:
        nonlocal done, written
        written += store.set_scores(pending)
        done += len(pending)
        pending.clear()
        if progress:
            progress(done, total)

    for post in source:
        batch.append(post)
        if len(batch) >= max(batch_size, 1):
            score()
            if len(pending) >= max(write_size, 1):
                write()
    if batch:
        score()
    if pending:
        write()
    return written


def author_scores(
    author: Author,
    posts: list[Post],
    *,
    days: float,
    tiers: Mapping[str, Mapping[str, Any]] | None = None,
) -> tuple[str, float | None]:
    """(tier, influence) of one author from its posts in a ``days``-long window.

    Influence: BCI for Weibo and forums (threads count as originals), WCI V14.2 for WeChat,
    the Zhihu index (followers, voteups: ``extra["voteup_count"]`` or the summed likes of the
    posts) for Zhihu; None when the author has no post in the window. WeChat tiers read the
    average reads per article.
    """
    from scoring.influence import author_tier, bci, bci_inputs, wci_inputs, wci_v14, zhihu_influence

    reads = None
    voteups = None
    influence: float | None = None
    if author.platform == "wechat":
        x = wci_inputs(posts, days=days)
        reads = x.reads / x.n if x.n else None
        influence = wci_v14(x) if x.n else None
    elif author.platform == "zhihu":
        voteups = author.extra.get("voteup_count")
        if voteups is None and posts:
            voteups = sum(p.like_count or 0 for p in posts)
        if posts or voteups is not None:
            influence = zhihu_influence(author.followers, voteups)
    elif posts:
        influence = bci(bci_inputs(posts))
    tier, _big_v = author_tier(author, tiers=tiers, reads=reads, upvotes=voteups)
    return tier.value, influence


def score_authors(
    store: Store,
    *,
    topic: str | None = None,
    since: datetime | None = None,
    now: datetime,
    tiers: Mapping[str, Mapping[str, Any]] | None = None,
) -> int:
    """Recompute tier and influence of the authors of ``topic``'s posts in ``[since, now)``
    and write them with ``set_author_scores``. Without topic and since, every stored author
    is tiered (those without collected posts get influence None).

    The window length for daily averages is ``now - since``, or without ``since`` the span
    from the oldest post to ``now`` (at least one day). Returns how many authors were updated.
    """
    if since is None:
        posts = list(store.posts(topic=topic))
    else:
        posts = list(store.posts(topic=topic, since=since, until=now))
    by_author: dict[AuthorKey, list[Post]] = defaultdict(list)
    for p in posts:
        if p.author_id:
            by_author[(p.platform, p.author_id)].append(p)
    oldest = min((p.created_at for p in posts if p.created_at), default=None)
    start = since or oldest or now
    days = max((now - start) / timedelta(days=1), 1.0)
    everyone = topic is None and since is None
    authors = store.authors(None if everyone else list(by_author))
    scores: dict[AuthorKey, tuple[str | None, float | None]] = {}
    for key, author in authors.items():
        tier, influence = author_scores(author, by_author.get(key, []), days=days, tiers=tiers)
        if influence is not None and not math.isfinite(influence):
            influence = None
        scores[key] = (tier, influence)
    return store.set_author_scores(scores) if scores else 0
