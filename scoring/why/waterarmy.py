"""Water-army (水军) suspicion: a 0–1 score per account with the reasons behind it, and the share
of suspicious accounts per cascade or any other group.

Each signal is a number in [0, 1]; the score is a logistic combination of them::

    score = 1 / (1 + exp(−(BIAS + Σ WEIGHTS[k] · signal_k)))        BIAS = −4

=============  ======  ========================================================================
signal         weight  what it measures
=============  ======  ========================================================================
copy           3.0     the account's non-trivial texts also posted by other accounts (same
                       cleaned text, or char-3-gram Jaccard ≥ 0.4): min(1, partners / 3),
                       × 1 when two or more of its posts are copies, × 0.3 for one (a meme
                       passed on once is what honest crowds do)
burst          2.5     share of its cascade posts made inside a burst: ≥ 3 posts within ±5 s
                       (or ±30 s, ±120 s) of each other, ≥ 3× and at Poisson p < 10⁻⁴ above
                       the cascade's rate just around them (a viral peak is busy, not a burst)
sync           3.0     accounts it shared a burst with in at least 2 different cascades:
                       min(1, partners / 3) (rings move together, again and again)
name           1.6     default-style name: 1.0 for "用户1234567890", "user_abc123", pure digits;
                       0.6 for a long digit tail or a random-looking string; 0.3 for 4–5 digits
repost_only    1.2     share of its posts that are bare reposts (no words of its own),
                       × min(1, posts / 5) so one repost is weak evidence
ratio          1.4     follows far more than it is followed: (log10 following − log10
                       followers − 0.5) / 1.5, clipped, when following ≥ 50
age            1.2     account younger than 30 days: 1, fading to 0 at one year (log scale);
                       read from ``Author.extra["created_at"]`` when a platform gives it
=============  ======  ========================================================================

A signal that cannot be measured (no profile, no time) is 0: unknown is not suspicious. One
signal alone stays below 0.5 (the strongest, copy: 0.27; copy with full weight and a default
name: 0.65), so an account is flagged for a combination, never for one habit. Trivial texts
never count as copies: "转发微博", "Repost", emoticons only, "//@chains" of other people's words,
"哈哈哈哈": honest fans reposting a hot post with the same empty text are not a ring.

The weights were set by hand from what each signal means and checked on
``bench/bench_waterarmy.py`` (real texts, names and cascade timing with injected rings); they
are parameters, not a fitted model.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import islice
from typing import Any

import numpy as np

from crawlers.items import Author, AuthorKey, Post
from scoring.baseline import poisson_sf

__all__ = [
    "BIAS",
    "WEIGHTS",
    "SuspiciousShare",
    "Suspicion",
    "copy_text",
    "name_score",
    "score_accounts",
    "suspicious_share",
]

WEIGHTS: dict[str, float] = {"copy": 3.0, "burst": 2.5, "sync": 3.0, "name": 1.6,
                             "repost_only": 1.2, "ratio": 1.4, "age": 1.2}
BIAS = -4.0

_CHAIN = re.compile(r"//\s*@.*", re.S)  # Weibo repost chain: the words after it are others'
_REPLY = re.compile(r"^\s*回复\s*@[^:：\s]{1,30}\s*[:：]")
_NOISE = re.compile(r"https?://\S+|@[^\s:：@]{1,30}|\[[^\[\]]{1,8}\]|#[^#]{1,40}#|查看图片|网页链接")
_KEEP = re.compile(r"[^0-9a-z\u3400-\u9fff]+")
_BOILERPLATE = frozenset({"转发微博", "轉發微博", "repost", "转发", "分享图片", "分享视频",
                          "图片评论", "评论配图", "转发理由", "轉發"})
_CAP = 12  # copy partners counted up to this
_MAX_TEXT = 4000  # characters of a post read for copies (a 100 KB text is cut, not scanned)


def copy_text(text: Any, *, min_chars: int = 6) -> str | None:
    """The words of a post that count for copying, or None if it has none worth comparing.

    Cut: the ``//@`` repost chain (other people's words), a ``回复@name:`` prefix, links,
    @mentions, [emoticons], #hashtags#, punctuation and spaces. What is left must be at least
    ``min_chars`` characters of more than two distinct characters and not boilerplate.

    >>> copy_text("这家公司太良心了，必须支持！！//@某某:转发"), copy_text("转发微博")
    ('这家公司太良心了必须支持', None)
    >>> copy_text("[笑cry][笑cry] //@A:哈哈"), copy_text("哈哈哈哈哈哈哈哈"), copy_text(None)
    (None, None, None)
    """
    if not isinstance(text, str):
        return None
    s = unicodedata.normalize("NFKC", text[:_MAX_TEXT]).lower()
    s = _CHAIN.sub("", _REPLY.sub("", s))
    s = _KEEP.sub("", _NOISE.sub("", s))
    if len(s) < min_chars or len(set(s)) <= 2 or s in _BOILERPLATE:
        return None
    return s[:1000]


_STRONG = re.compile(
    r"^(?:(?:手机|微博|新浪|知乎|匿名)?用户|网友|游客)[_-]?\d{4,}$"
    r"|^(?:user|u|weibo|wb|sina|zhihu|guest|yonghu)[_-]?(?=[0-9a-z]*\d)[0-9a-z]{4,}$"
    r"|^\d{6,}$|^[a-z]{1,2}\d{7,}$")
_MEDIUM = re.compile(r"^[a-z\u4e00-\u9fff]{1,10}[_-]?\d{6,}$")
_WEAK = re.compile(r"\D\d{4,5}$")


def name_score(name: Any) -> float:
    """How much a screen name looks like a platform default or a generated one, 0–1.

    >>> [name_score(n) for n in ("用户5273957384", "user_abc123", "大悲咒2705541404")]
    [1.0, 1.0, 0.6]
    >>> [name_score(n) for n in ("a8f3k2l9x", "随便99999", "相声演员张瀚文", None)]
    [0.6, 0.3, 0.0, 0.0]
    """
    if not isinstance(name, str):
        return 0.0
    n = unicodedata.normalize("NFKC", name.strip()[:60]).lower()
    if not n:
        return 0.0
    if _STRONG.match(n):
        return 1.0
    if _MEDIUM.match(n):
        return 0.6
    if re.fullmatch(r"[a-z0-9_]{8,}", n):
        switches = sum(a.isdigit() != b.isdigit() for a, b in zip(n, n[1:], strict=False))
        letters = [c for c in n if c.isalpha()]
        vowels = sum(c in "aeiou" for c in letters)
        if switches >= 3 or (len(letters) >= 8 and vowels / len(letters) < 0.15):
            return 0.6
    return 0.3 if _WEAK.search(n) else 0.0


@dataclass
class Suspicion:
    """One account's ``score`` (0–1), the ``reasons`` in words (strongest first) and the
    ``features`` (each signal, 0–1) they came from; ``posts`` is how many posts were read."""

    score: float
    reasons: list[str] = field(default_factory=list)
    features: dict[str, float] = field(default_factory=dict)
    posts: int = 0


def _aware(when: datetime) -> datetime:
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def _shingles(text: str) -> frozenset[str]:
    return frozenset(text[i:i + 3] for i in range(max(1, len(text) - 2)))


def _near_pairs(texts: list[str], threshold: float, max_neighbours: int = 50
                ) -> list[list[int]]:
    """Neighbours (char-3-gram Jaccard ≥ threshold) of each text: the AllPairs prefix-filter
    join: exact, and it only compares texts that share one of their rarest shingles."""
    sets = [_shingles(t) for t in texts]
    df: dict[str, int] = defaultdict(int)
    for s in sets:
        for g in s:
            df[g] += 1
    index: dict[str, list[int]] = defaultdict(list)
    neighbours: list[list[int]] = [[] for _ in texts]
    for i in sorted(range(len(texts)), key=lambda k: len(sets[k])):
        size = len(sets[i])
        ordered = sorted(sets[i], key=lambda g: (df[g], g))
        prefix = ordered[: size - math.ceil(threshold * size) + 1]
        seen: set[int] = set()
        for g in prefix:
            for j in index[g]:
                if len(neighbours[i]) >= max_neighbours:
                    break
                if j in seen:
                    continue
                seen.add(j)
                if len(sets[j]) < threshold * size:
                    continue
                inter = len(sets[i] & sets[j])
                if inter / (size + len(sets[j]) - inter) >= threshold:
                    neighbours[i].append(j)
                    neighbours[j].append(i)
            index[g].append(i)
    return neighbours


def _copy_signal(by_account: Mapping[AuthorKey, list[Post]], threshold: float, min_chars: int
                 ) -> dict[AuthorKey, tuple[float, int, int]]:
    """account → (signal, partners, copied posts)."""
    owners: dict[str, set[AuthorKey]] = defaultdict(set)
    texts_of: dict[AuthorKey, list[str]] = {}
    for key, posts in by_account.items():
        texts_of[key] = [t for p in posts if (t := copy_text(p.text, min_chars=min_chars))]
        for t in texts_of[key]:
            owners[t].add(key)
    distinct = list(owners)
    position = {t: i for i, t in enumerate(distinct)}
    near = _near_pairs(distinct, threshold)
    out: dict[AuthorKey, tuple[float, int, int]] = {}
    for key, texts in texts_of.items():
        partners: set[AuthorKey] = set()
        copied = 0
        for t in texts:  # partners are counted up to _CAP: a 5,000-account meme costs no more
            found = set(islice(owners[t], _CAP + 2))
            for j in near[position[t]]:
                if len(found) > _CAP:
                    break
                found |= set(islice(owners[distinct[j]], _CAP + 2))
            found.discard(key)
            copied += bool(found)
            if len(partners) <= _CAP:
                partners |= found
        # one copied post is a meme anyone may pass on (接力); rings copy again and again
        signal = min(1.0, len(partners) / 3) * (1.0 if copied >= 2 else 0.3 * copied)
        out[key] = (signal, len(partners), copied)
    return out


def _cascade(post: Post) -> str | None:
    return post.root_post_id or post.parent_post_id


def _timing_signals(
    by_account: Mapping[AuthorKey, list[Post]], windows: tuple[float, ...], context: float,
    p_burst: float, lift: float, sync_cascades: int,
) -> dict[AuthorKey, tuple[float, int, int]]:
    """account → (burst signal, burst posts, sync partners).

    A post is in a burst at half-width ``w`` when the other posts within ±w of it are
    improbable (Poisson p < ``p_burst``, Bonferroni over the windows) and at least ``lift``
    times what the cascade's rate just around it predicts: the posts within ±``context``·w
    but outside ±w, or the cascade's mean rate if higher. (The lift keeps a viral peak, busy
    but smooth, from being a burst.) Two accounts are in sync when they share a burst in
    ``sync_cascades`` cascades.
    """
    cascades: dict[str, list[tuple[float, AuthorKey]]] = defaultdict(list)
    for key, posts in by_account.items():
        for p in posts:
            c = _cascade(p)
            if c and isinstance(p.created_at, datetime):
                cascades[c].append((_aware(p.created_at).timestamp(), key))
    in_cascade: dict[AuthorKey, int] = defaultdict(int)
    bursts: dict[AuthorKey, int] = defaultdict(int)
    together: dict[tuple[AuthorKey, AuthorKey], set[str]] = defaultdict(set)
    for cid, rows in cascades.items():
        rows.sort(key=lambda r: r[0])
        t = np.array([r[0] for r in rows])
        keys = [r[1] for r in rows]
        for k in keys:
            in_cascade[k] += 1
        if len(rows) < 3:
            continue
        mean_rate = len(t) / max(t[-1] - t[0], 86400.0)
        flagged = np.zeros(len(t), dtype=bool)
        paired = np.zeros(len(t), dtype=bool)
        for w in windows:  # smallest first: a post pairs at the tightest window that flags it
            lo, hi = np.searchsorted(t, t - w, "left"), np.searchsorted(t, t + w, "right")
            around = (np.searchsorted(t, t + context * w, "right")
                      - np.searchsorted(t, t - context * w, "left"))
            inner = hi - lo - 1
            rate = np.maximum((around - inner - 1) / (2 * (context - 1) * w), mean_rate)
            expected = rate * 2 * w
            candidates = np.flatnonzero((inner >= 2) & (inner >= lift * expected)).tolist()
            hits = [i for i in candidates  # P(N >= inner) under the local rate
                    if poisson_sf(int(inner[i]), float(expected[i])) * len(windows) < p_burst]
            flagged[hits] = True
            for i in hits:  # accounts sharing this burst
                if paired[i]:
                    continue
                paired[i] = True
                near = range(max(int(lo[i]), i - 25), min(int(hi[i]), i + 26))
                members = {keys[j] for j in near} - {keys[i]}
                for other in members:
                    pair = (keys[i], other) if keys[i] < other else (other, keys[i])
                    together[pair].add(cid)
        for hit in np.flatnonzero(flagged).tolist():
            bursts[keys[hit]] += 1
    partners: dict[AuthorKey, int] = defaultdict(int)
    for (a, b), shared in together.items():
        if len(shared) >= sync_cascades:
            partners[a] += 1
            partners[b] += 1
    return {k: (bursts[k] / n if n else 0.0, bursts[k], partners[k])
            for k in by_account if (n := in_cascade[k]) or partners[k]}


def _created(author: Author | None) -> datetime | None:
    raw = (author.extra.get("created_at") or author.extra.get("account_created_at")
           if author is not None and isinstance(author.extra, dict) else None)
    try:
        if isinstance(raw, datetime):
            return _aware(raw)
        if isinstance(raw, str):
            return _aware(datetime.fromisoformat(raw.strip()))
        if isinstance(raw, (int, float)) and not isinstance(raw, bool) and raw > 0:
            return datetime.fromtimestamp(raw / 1000 if raw > 1e11 else raw, UTC)
    except (ValueError, OverflowError, OSError):
        return None
    return None


def _ratio_signal(author: Author | None) -> tuple[float, str]:
    if author is None or not isinstance(author.following, int) or author.following < 50:
        return 0.0, ""
    followers = max(0, author.followers) if isinstance(author.followers, int) else None
    if followers is None:
        return 0.0, ""
    gap = math.log10(author.following + 1) - math.log10(followers + 1)
    value = min(1.0, max(0.0, (gap - 0.5) / 1.5))
    return value, f"follows {author.following:,}, followed by {followers:,}"


def _age_signal(author: Author | None, now: datetime) -> tuple[float, str]:
    created = _created(author)
    if created is None:
        return 0.0, ""
    days = max(0.0, (now - created).total_seconds() / 86400)
    value = 1.0 if days <= 30 else max(0.0, 1 - math.log(days / 30) / math.log(365 / 30))
    return value, f"account {days:.0f} days old"


def _index(authors: Mapping[AuthorKey, Author] | Iterable[Author] | None
           ) -> dict[AuthorKey, Author]:
    if authors is None:
        return {}
    if isinstance(authors, Mapping):
        return {k: a for k, a in authors.items() if isinstance(a, Author)}
    return {a.key: a for a in authors if isinstance(a, Author)}


def score_accounts(
    posts: Iterable[Post],
    authors: Mapping[AuthorKey, Author] | Iterable[Author] | None = None,
    *,
    weights: Mapping[str, float] | None = None,
    bias: float = BIAS,
    now: datetime | None = None,
    near_threshold: float = 0.4,
    min_chars: int = 6,
    burst_windows: tuple[float, ...] = (5.0, 30.0, 120.0),  # smallest first
    burst_context: float = 6.0,
    burst_p: float = 1e-4,
    burst_lift: float = 3.0,
    sync_cascades: int = 2,
) -> dict[AuthorKey, Suspicion]:
    """A :class:`Suspicion` for every account that wrote one of ``posts``.

    Parameters
    ----------
    posts : iterable of Post
        The window's posts, reposts and comments; posts without ``author_id`` are skipped.
        Cascades are ``root_post_id`` (or ``parent_post_id``).
    authors : mapping of AuthorKey to Author, or iterable of Author, optional
        Profiles (names, followers, following, ``extra["created_at"]``); a post's
        ``author_name`` stands in for a missing profile name.
    weights, bias : the logistic combination (module docstring); a missing weight is 0.
    now : datetime, optional
        For account age; default the latest post time.
    near_threshold : float
        Char-3-gram Jaccard at or above which two texts are near-identical.
    min_chars : int
        Shorter cleaned texts never count as copies (see :func:`copy_text`).
    burst_windows, burst_context, burst_p, burst_lift : the burst test: half-widths in
        seconds, the surrounding span as a multiple of each, the p-value and the least ratio
        of observed to expected posts (see ``_timing_signals``).
    sync_cascades : accounts sharing bursts in this many cascades are in sync.

    Examples
    --------
    >>> from datetime import timedelta
    >>> t0 = datetime(2024, 5, 1, tzinfo=UTC)
    >>> ring = [Post("weibo", f"{c}{i}", text="良心企业，产品质量一流，支持国货！", kind="repost",
    ...              root_post_id=c, author_id=f"r{i}", author_name=f"用户{5_000_000_000 + i}",
    ...              created_at=t0 + timedelta(hours=len(c), seconds=i))
    ...         for c in ("a", "bb") for i in range(5)]
    >>> fan = Post("weibo", "f", text="转发微博", kind="repost", root_post_id="a",
    ...            author_id="fan", author_name="相声演员张瀚文", created_at=t0)
    >>> scores = score_accounts(ring + [fan])
    >>> round(scores[("weibo", "r0")].score, 2), round(scores[("weibo", "fan")].score, 2)
    (1.0, 0.02)
    >>> for reason in scores[("weibo", "r0")].reasons:
    ...     print(reason)
    posted alongside 4 accounts in 2+ cascades
    same or near-same text as 4 other accounts (2 of 2 posts)
    2 posts in bursts with other accounts within seconds
    default-style name '用户5000000000'
    """
    w = dict(WEIGHTS if weights is None else weights)
    index = _index(authors)
    by_account: dict[AuthorKey, list[Post]] = defaultdict(list)
    latest: datetime | None = None
    for p in posts:
        if not isinstance(p, Post) or not p.author_id:
            continue
        by_account[(p.platform, str(p.author_id))].append(p)
        if isinstance(p.created_at, datetime):
            when = _aware(p.created_at)
            latest = when if latest is None or when > latest else latest
    if not by_account:
        return {}
    now = _aware(now) if now is not None else (latest or datetime.now(UTC))
    copies = _copy_signal(by_account, near_threshold, min_chars)
    timing = _timing_signals(by_account, tuple(sorted(burst_windows)), burst_context, burst_p,
                             burst_lift, sync_cascades)
    out: dict[AuthorKey, Suspicion] = {}
    for key, mine in by_account.items():
        author = index.get(key)
        name = (author.name if author is not None and author.name else None) or next(
            (p.author_name for p in mine if p.author_name), None)
        copy, partners, copied = copies.get(key, (0.0, 0, 0))
        burst, burst_posts, sync_partners = timing.get(key, (0.0, 0, 0))
        bare = sum(p.kind == "repost" and copy_text(p.text, min_chars=min_chars) is None
                   for p in mine)
        ratio, ratio_text = _ratio_signal(author)
        age, age_text = _age_signal(author, now)
        features = {
            "copy": copy, "burst": burst, "sync": min(1.0, sync_partners / 3),
            "name": name_score(name), "repost_only": bare / len(mine) * min(1.0, len(mine) / 5),
            "ratio": ratio, "age": age,
        }
        texts = {
            "copy": f"same or near-same text as {min(partners, _CAP)}{'+' * (partners > _CAP)}"
                    f" other accounts ({copied} of {len(mine)} posts)",
            "burst": f"{burst_posts} posts in bursts with other accounts within seconds",
            "sync": f"posted alongside {sync_partners} accounts in {sync_cascades}+ cascades",
            "name": f"default-style name {name!r}",
            "repost_only": f"{bare} of {len(mine)} posts are bare reposts",
            "ratio": ratio_text, "age": age_text,
        }
        z = bias + sum(w.get(k, 0.0) * v for k, v in features.items())
        contributions = sorted(((w.get(k, 0.0) * v, k) for k, v in features.items()),
                               reverse=True)
        reasons = [texts[k] for c, k in contributions if c >= 0.3]
        out[key] = Suspicion(1 / (1 + math.exp(-z)), reasons, features, len(mine))
    return out


@dataclass(frozen=True)
class SuspiciousShare:
    """Suspicious accounts and their posts in one group (a cascade by default)."""

    posts: int
    suspicious_posts: int
    accounts: int
    suspicious_accounts: int
    unattributed: int = 0  # posts without an author, counted in ``posts`` only

    @property
    def share(self) -> float | None:
        """Share of posts written by suspicious accounts."""
        return self.suspicious_posts / self.posts if self.posts else None

    @property
    def account_share(self) -> float | None:
        return self.suspicious_accounts / self.accounts if self.accounts else None


def suspicious_share(
    posts: Iterable[Post],
    scores: Mapping[AuthorKey, Suspicion],
    threshold: float = 0.5,
    *,
    key: Callable[[Post], Any] | None = None,
) -> dict[Hashable, SuspiciousShare]:
    """Per group, how much of it comes from accounts scoring at least ``threshold``.

    ``key`` names a post's group; by default its cascade (``root_post_id``, else
    ``parent_post_id``, else the post itself). A key that fails or is unhashable puts the post
    under None, counted.

    >>> ps = [Post("weibo", "1", root_post_id="r", author_id="a"),
    ...       Post("weibo", "2", root_post_id="r", author_id="b"), Post("weibo", "r")]
    >>> s = suspicious_share(ps, {("weibo", "a"): Suspicion(0.9)})["r"]
    >>> s.share, s.account_share, s.unattributed
    (0.3333333333333333, 0.5, 1)
    """
    group = key or (lambda p: _cascade(p) or p.post_id)
    counts: dict[Hashable, list[int]] = {}
    accounts: dict[Hashable, dict[AuthorKey, bool]] = defaultdict(dict)
    for p in posts:
        if not isinstance(p, Post):
            continue
        try:
            g = group(p)
            row = counts.setdefault(g, [0, 0, 0])
        except Exception:  # a failing or unhashable key: the post is counted under None
            g = None
            row = counts.setdefault(g, [0, 0, 0])
        row[0] += 1
        if not p.author_id:
            row[2] += 1
            continue
        author = (p.platform, str(p.author_id))
        found = scores.get(author)
        flagged = found is not None and found.score >= threshold
        row[1] += flagged
        accounts[g][author] = flagged
    return {g: SuspiciousShare(n, bad, len(accounts[g]), sum(accounts[g].values()), anon)
            for g, (n, bad, anon) in counts.items()}
