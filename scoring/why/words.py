"""Chinese (and mixed Chinese/English) post text → cleaned text → terms: unigrams and 2–4-word
phrases, for hot words and negative drivers. Pure functions; jieba is imported lazily.

Segmentation is jieba's: its dictionary (a private ``jieba.Tokenizer``) and its most probable
route without the HMM, i.e. ``Tokenizer.cut(text, HMM=False)``. The HMM only guesses
out-of-vocabulary words, and the 2–4-grams put those back together from their characters
("鼓" + "包" → "鼓包"). The route is computed by :class:`_Segmenter`, a tighter loop over the
same dictionary that gives jieba's exact output about twice as fast (the tests compare the two
on 2,000 real posts): segmentation is most of the drivers' time. Traditional characters are
not converted (that needs OpenCC, which Tingfeng does not depend on): 電池 and 电池 are two
terms, so convert upstream when a monitor mixes both scripts.
"""

from __future__ import annotations

import logging
import math
import re
import threading
import unicodedata
import warnings
from collections.abc import Callable, Iterable
from functools import lru_cache
from itertools import repeat
from pathlib import Path
from typing import Any

from scoring.features import NEGATORS

__all__ = ["MAX_CHARS", "MAX_TOKENS", "STOPWORDS", "clean", "term_set", "terms"]

MAX_CHARS = 20_000
"""Cleaned characters of one post that are segmented (a 100 KB article costs what 20 KB does)."""
CACHE_CHARS = 500
"""Longest cleaned text whose segmentation is cached (longer ones are rare and segmented anew)."""
MAX_TOKENS = 2_000
"""Tokens of one post that make terms: the first 2,000 (a long post's opening says what it is
about; the cap keeps one article from outweighing the cost of a thousand posts)."""


def _load_stopwords() -> frozenset[str]:
    path = Path(__file__).with_name("data") / "stopwords.txt"
    lines = path.read_text(encoding="utf-8").splitlines()
    return frozenset(w.strip() for w in lines if w.strip() and not w.startswith("#"))


STOPWORDS: frozenset[str] = _load_stopwords()
"""Words that never stand alone as a term and never start or end a phrase."""
_NEGATORS = frozenset(NEGATORS)  # may start a phrase ("不发货"), never end one or stand alone

# Latin, Greek and Cyrillic words are separated by spaces; a space between two of their
# letters joins a phrase ("battery swelling"), any other space breaks it like a comma.
_SPACED = "0-9a-z\u00c0-\u024f\u0370-\u03ff\u0400-\u04ff"
_URL = re.compile(r"(?:https?|ftp)://[\x21-\x7e]*|www\.[\x21-\x7e]+")
# Weibo repost chains: the reposter's words come first, then //@name: the chain of earlier
# reposters' words (their own posts, counted where they were posted).
_CHAIN = re.compile(r"//\s*@.*", re.DOTALL)
_MENTION = re.compile(r"@[\w\-·]{1,30}")
_EMOTICON = re.compile(r"\[[^\[\]\s]{1,8}\]")  # Weibo renders emoticons as [哈哈], [good]
_BOILERPLATE = re.compile(
    "转发微博|轉發微博|网页链接|展开全文|收起全文|显示地图|的微博视频|秒拍视频"
)
# Punctuation, symbols, emoji (with their ZWJ and variation selectors), tabs and newlines.
_BREAK = re.compile(r"[^\w ]+|_+")
_SPACES = re.compile(r" {2,}")
_HARD_SPACE = re.compile(f"(?<![{_SPACED}]) | (?![{_SPACED}])")
# Full-width punctuation and "…", in nearly every Chinese post, are what keeps most posts from
# being NFKC-normal already; they would fold to ASCII punctuation and then break a segment, so
# they break it at once and is_normalized() spares most posts the cost of normalize(). "＠" and
# "／" are kept for the //@ chain and mentions.
_WIDE_PUNCT = re.compile("[\uff01-\uff0e\uff1a-\uff1f\uff3b-\uff40\uff5b-\uff65\u2026]+")
_DIGIT = re.compile(r"\d")

_TOK, _RUN = "\x00", "\x01"  # separators of the cached token runs (clean() leaves neither)
_START, _END, _UNI = 1, 2, 4  # token flags: may start / end a phrase, stand alone
_FLAGS: dict[str, int] = {}  # token → flags, shared by all calls (bounded, see _flags)

_LOCK = threading.Lock()
_SEGMENTER: _Segmenter | None = None


def clean(text: str) -> str:
    r"""Post text reduced to the words people wrote, one phrase-bounded segment a line.

    NFKC width folding and lower case; URLs, ``@names``, the ``//@name:`` repost chain, Weibo
    ``[emoticons]``, emoji, ``#`` of hashtags (the topic words stay), punctuation and Weibo
    boilerplate ("转发微博", "网页链接") are removed. Every removal is a segment break, so no
    term spans it. Idempotent: ``clean(clean(t)) == clean(t)``.

    Parameters
    ----------
    text : str
        A post's text, any length.

    Returns
    -------
    str
        Segments joined by ``"\n"``; spaces remain only between Latin (Greek, Cyrillic) words.
        Empty when nothing is left (an emoji-only or URL-only post).

    Examples
    --------
    >>> clean("#小米SU7# 电池鼓包了[怒]😡 @小米客服 http://t.cn/A6x //@路人: 转发微博")
    '小米su7\n电池鼓包了'
    >>> clean("Battery swelling, 客服推诿!")
    'battery swelling\n客服推诿'
    >>> clean("[哈哈]😂 https://weibo.com/1")
    ''
    """
    text = _WIDE_PUNCT.sub("\n", text)
    if not unicodedata.is_normalized("NFKC", text):
        text = unicodedata.normalize("NFKC", text)
    # Each pattern runs only where its mark is (most posts have no URL, chain, @ or [): the
    # checks are what the patterns need to match, so the result is the same, in less time.
    text = text.casefold()
    if "://" in text or "www." in text:
        text = _URL.sub("\n", text)
    if "//" in text:
        text = _CHAIN.sub("", text)
    if "@" in text:
        text = _MENTION.sub("\n", text)
    if "[" in text:
        text = _EMOTICON.sub("\n", text)
    text = _BOILERPLATE.sub("\n", text)
    text = _BREAK.sub("\n", text)
    if " " not in text:
        return "\n".join(filter(None, text.split("\n")))
    text = _HARD_SPACE.sub("\n", _SPACES.sub(" ", text))
    return "\n".join(filter(None, [seg.strip(" ") for seg in text.split("\n")]))


def terms(
    text: str, *, user_words: Iterable[str] = (), max_n: int = 4, cleaned: bool = False
) -> list[str]:
    """Unigrams and 2…``max_n``-word phrases of adjacent tokens, in text order.

    A phrase never crosses a segment break of :func:`clean` or a digits-only token; it is
    joined without spaces in Chinese and with one between Latin words ("iphone电池",
    "battery swelling"). Stopwords (:data:`STOPWORDS`), negators, digits-only tokens and
    single Latin letters are never terms alone, and no phrase starts or ends with a stopword
    (a negator may start one). Only the first :data:`MAX_TOKENS` tokens count.

    Parameters
    ----------
    text : str
        Raw post text, or the output of :func:`clean` with ``cleaned=True``.
    user_words : iterable of str
        Brand and product names kept as one token ("小米su7", "iPhone 15 Pro"), cleaned like
        the text. They apply to this call only; the shared tokenizer is never changed.
    max_n : int
        Longest phrase, in tokens (1 gives unigrams only).
    cleaned : bool
        ``text`` is already ``clean(...)`` output (skips cleaning it again).

    Returns
    -------
    list of str
        With repeats: a word used twice appears twice.

    Raises
    ------
    ValueError
        If ``max_n < 1``.

    Examples
    --------
    >>> terms("客服推诿，退款难", max_n=2)
    ['客服', '客服推诿', '推诿', '退款', '退款难', '难']
    >>> terms("我的小米SU7电池鼓包", user_words=["小米SU7"], max_n=2)
    ['小米su7', '小米su7电池', '电池', '电池鼓包', '鼓包']

    See Also
    --------
    clean
    """
    if max_n < 1:
        raise ValueError(f"max_n must be at least 1, got {max_n}")
    if not cleaned:
        text = clean(text)
    if not text:
        return []
    words = _user_words(tuple(user_words))
    out: list[str] = []
    _ngrams(_runs(text, words), max_n, frozenset(words), out.append)
    return out


def term_set(text: str, *, user_words: Iterable[str] = (), max_n: int = 4) -> set[str]:
    """The distinct :func:`terms` of an already cleaned text (what document counts need).

    >>> sorted(term_set(clean("退款难，退款难！"), max_n=2))
    ['退款', '退款难', '难']
    """
    out: set[str] = set()
    if text:
        words = _user_words(tuple(user_words))
        _ngrams(_runs(text, words), max_n, frozenset(words), out.add)
    return out


@lru_cache(maxsize=256)
def _user_words(raw: tuple[str, ...]) -> tuple[str, ...]:
    """User words cleaned like the text ("iPhone 15 Pro" → "iphone 15 pro"), longest first so
    the regex prefers them; a word that cleaning breaks apart ("A/B") is dropped."""
    words = {w for w in (clean(r) for r in raw) if w and "\n" not in w}
    return tuple(sorted(words, key=lambda w: (-len(w), w)))


@lru_cache(maxsize=256)
def _user_pattern(words: tuple[str, ...]) -> re.Pattern[str]:
    # A Latin edge must sit on a word boundary: "mate" is not protected inside "mates".
    alts = [
        (f"(?<![{_SPACED}])" if re.match(f"[{_SPACED}]", w) else "")
        + re.escape(w)
        + (f"(?![{_SPACED}])" if re.search(f"[{_SPACED}]$", w) else "")
        for w in words
    ]
    return re.compile("(" + "|".join(alts) + ")")


class _Segmenter:
    """``jieba.Tokenizer.cut(text, HMM=False)`` for cleaned text, from the same dictionary.

    jieba builds a DAG of dictionary words per block, then picks the most probable route
    right to left (ties to the longer word) and glues runs of single ASCII letters and digits;
    this does the same in one loop, over one table of log-probabilities computed up front.
    """

    _BLOCK = re.compile("([\u4E00-\u9FD5a-zA-Z0-9+#&\\._%\\-]+)")  # jieba's re_han_default
    _ASCII = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
    _PREFIX, _ABSENT = 1.0, 2.0  # table values that no log-probability (≤ 0) can take

    def __init__(self, tokenizer: Any) -> None:
        freq: dict[str, int] = tokenizer.FREQ  # words, and their prefixes with frequency 0
        log_total = math.log(tokenizer.total)
        self.table = {w: math.log(f) - log_total if f else self._PREFIX for w, f in freq.items()}
        self.unknown = -log_total  # jieba scores a character it does not know as frequency 1

    def cut(self, text: str) -> list[str]:
        out: list[str] = []
        for block in self._BLOCK.split(text):
            if not block:
                continue
            if self._BLOCK.match(block):
                self._route(block, out)
            else:
                out.extend(block)  # jieba yields other characters (and spaces) one by one
        return out

    def _route(self, s: str, out: list[str]) -> None:
        n = len(s)
        best = [0.0] * (n + 1)
        nxt = list(range(1, n + 2))
        get, absent, prefix, unknown = self.table.get, self._ABSENT, self._PREFIX, self.unknown
        for i in range(n - 1, -1, -1):
            score, end = -math.inf, 0
            j = i + 1
            value = get(s[i], absent)
            while value != absent:
                if value != prefix and value + best[j] >= score:
                    score, end = value + best[j], j
                if j == n:
                    break
                j += 1
                value = get(s[i:j], absent)
            if not end:  # no dictionary word starts here: the character alone
                score, end = unknown + best[i + 1], i + 1
            best[i], nxt[i] = score, end
        i, buf, ascii_ = 0, "", self._ASCII
        while i < n:
            j = nxt[i]
            if j == i + 1 and s[i] in ascii_:
                buf += s[i]
            else:
                if buf:
                    out.append(buf)
                    buf = ""
                out.append(s[i:j])
            i = j
        if buf:
            out.append(buf)


def _jieba_tokenizer() -> Any:
    """A new, private jieba Tokenizer with its dictionary loaded, and nothing printed.

    jieba logs "Building prefix dict…" at DEBUG to its own stderr handler, and on setuptools
    ≥ 67 its ``import pkg_resources`` warns (an error under ``-W error``): both are silenced for
    the import and the dictionary load only.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import jieba  # type: ignore[import-untyped, unused-ignore]

        logger = logging.getLogger("jieba")
        level = logger.level
        logger.setLevel(logging.WARNING)
        try:
            tokenizer = jieba.Tokenizer()
            tokenizer.initialize()
        finally:
            logger.setLevel(level)
    return tokenizer


def _segmenter() -> _Segmenter:
    """The shared segmenter, built on first use (about 1 s; the Tokenizer is then dropped)."""
    global _SEGMENTER
    with _LOCK:
        if _SEGMENTER is None:
            _SEGMENTER = _Segmenter(_jieba_tokenizer())
        return _SEGMENTER


def _runs(text: str, words: tuple[str, ...]) -> str:
    """Token runs of cleaned text, tokens joined by ``_TOK`` and runs by ``_RUN``: a run ends
    at a segment break or a digits-only token; a token after a space keeps one leading space,
    so a phrase is the plain concatenation of its tokens.

    Texts up to ``CACHE_CHARS`` long are cached (2^18 of them: ~50 MB for Weibo-length posts,
    600 MB at the very worst) because hot_terms and negative_drivers segment the same window.
    """
    text = text[:MAX_CHARS]
    return _cached_runs(text, words) if len(text) <= CACHE_CHARS else _segment(text, words)


def _segment(text: str, words: tuple[str, ...]) -> str:
    cut = _segmenter().cut
    pattern = _user_pattern(words) if words else None
    runs: list[str] = []
    budget = MAX_TOKENS
    for segment in text.split("\n"):
        if pattern is None and " " not in segment and not _DIGIT.search(segment):
            tokens = cut(segment)[:budget]  # no spaces, digits or user words: one run as cut
            runs.append(_TOK.join(tokens))
            budget -= len(tokens)
            if not budget:
                break
            continue
        run: list[str] = []
        space = False
        pieces = pattern.split(segment) if pattern else [segment]
        for i, piece in enumerate(pieces):
            if not piece:
                continue
            for token in [piece] if i % 2 else cut(piece):
                if token == " ":
                    space = True
                    continue
                if token.isdigit():
                    if run:
                        runs.append(_TOK.join(run))
                    run, space = [], False
                    continue
                run.append(" " + token if space and run else token)
                space = False
                budget -= 1
                if not budget:
                    break
            if not budget:
                break
        if run:
            runs.append(_TOK.join(run))
        if not budget:
            break
    return _RUN.join(runs)


_cached_runs = lru_cache(maxsize=2**18)(_segment)


def _is_stop(word: str) -> bool:
    # "哈哈哈哈", "啊啊啊": a run of one stopword character is that stopword.
    first = word[0]
    return word in STOPWORDS or (first in STOPWORDS and word.count(first) == len(word))


def _flags(token: str) -> int:
    word = token.lstrip(" ")
    flags = 0
    if not _is_stop(word):
        flags |= _START
        if word not in _NEGATORS:
            flags |= _END
            if len(word) > 1 or "\u4e00" <= word <= "\u9fff":
                flags |= _UNI
    if len(_FLAGS) > 1_000_000:  # a vocabulary that large is noise; start over
        _FLAGS.clear()
    _FLAGS[token] = flags
    return flags


def _ngrams(runs: str, max_n: int, keep: frozenset[str], add: Callable[[str], None]) -> None:
    if not runs:
        return
    get = _FLAGS.get
    for run in runs.split(_RUN):
        tokens = run.split(_TOK)
        flags = list(map(get, tokens, repeat(-1)))
        if -1 in flags:
            flags = [_flags(t) if f < 0 else f for t, f in zip(tokens, flags, strict=True)]
        bare = [t.lstrip(" ") for t in tokens] if " " in run else tokens
        if keep:
            flags = [_START | _END | _UNI if b in keep else f
                     for b, f in zip(bare, flags, strict=True)]
        n = len(tokens)
        for i, f in enumerate(flags):
            if f & _UNI:
                add(bare[i])
            if f & _START:
                phrase = bare[i]
                for j in range(i + 1, min(i + max_n, n)):
                    phrase += tokens[j]
                    if flags[j] & _END:
                        add(phrase)
