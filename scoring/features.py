"""Text normalisation and hashed features for sentiment: Weibo emoticons, emoji, negation, "!!!",
and the lexicon categories of a text's words (:mod:`scoring.emolex`).

Pure numpy and the standard library (no scikit-learn, no snownlp): the same ``featurize`` feeds
training and inference, so a shipped model is only its weight arrays (and the word lists).
"""

from __future__ import annotations

import functools
import html
import re
import unicodedata
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "EMOJI_ALIASES",
    "NEGATORS",
    "Normalized",
    "close_gaps",
    "featurize",
    "featurize_counted",
    "lexicon_counts",
    "normalize",
    "strip_emoticons",
]

# Weibo renders emoticons as bracketed names in the text: "[怒]", "[哈哈]", "[good]" ("[ 怒 ]"
# in a word-segmented corpus).
_EMOTICON = re.compile(r"\[ ?([^\[\]\s]{1,8}) ?\]")
# Emoji blocks (pictographs, symbols, dingbats, flags) plus the variation selector and ZWJ glue.
_EMOJI = re.compile(
    "[\U0001f000-\U0001faff\u2600-\u27bf\u2b00-\u2bff\u2300-\u23ff\ufe0f\u200d\U0001f1e6-\U0001f1ff]"
)
_URL = re.compile(r"https?://\S+|www\.\S+", re.IGNORECASE)
# @name mentions and the //@name: repost chain: names say nothing about sentiment.
_MENTION = re.compile(r"@[\w\-·]{1,30}[:：]?")
_REPEAT = re.compile(r"(.)\1{3,}")
_SPACE = re.compile(r"\s+")
# A space only separates words between two Latin letters or digits ("iphone 15", "good job");
# between Chinese characters it is word segmentation (corpora published segmented, "不 好 看"
# typed for effect), which would otherwise break every n-gram across it.
_GAP = re.compile(r"\s+(?![a-z0-9])|(?<![a-z0-9])\s+")

EMOJI_ALIASES: dict[str, str] = {
    # Emoji mapped onto the Weibo emoticon of the same feeling, so weights learnt on emoticons
    # carry over to modern posts (the training corpus predates emoji on Weibo).
    "😀": "哈哈", "😃": "哈哈", "😄": "哈哈", "😁": "嘻嘻", "😆": "哈哈", "😂": "笑cry",
    "🤣": "笑cry", "😊": "可爱", "🙂": "微笑", "😍": "花心", "🥰": "爱你", "😘": "亲亲",
    "❤": "心", "💕": "心", "💖": "心", "👍": "赞", "👏": "鼓掌", "🎉": "太开心", "💪": "给力",
    "🙏": "握手", "😢": "泪", "😭": "泪", "😿": "泪", "😞": "失望", "😔": "失望", "😟": "悲伤",
    "💔": "伤心", "😡": "怒", "😠": "怒", "🤬": "怒骂", "👎": "弱", "🤮": "吐", "🤢": "吐",
    "😓": "汗", "😅": "汗", "😰": "汗", "😱": "吃惊", "😮": "吃惊", "😲": "吃惊", "🙄": "白眼",
    "😒": "哼", "😤": "哼", "😷": "生病", "🤒": "生病", "😵": "晕", "🤔": "思考", "🕯": "蜡烛",
}

NEGATORS: tuple[str, ...] = (
    "没有", "不是", "不要", "不会", "不太", "并不", "从不", "毫无",
    "不", "没", "别", "未", "无", "非",
)
_NEGATION = re.compile("|".join(NEGATORS))
_CLAUSE_END = re.compile(r"[,.;!?，。；！？、\s]")
_NEG_SCOPE = 4  # characters after a negator that it flips ("不是很好" → 是很好)

_BOS, _EOS, _SEP = "\x02", "\x03", "\x00"
_NGRAMS = (1, 2, 3)
# value of a lexicon cue per log(1 + matches): 5-fold CV macro-F1 of the NLPCC emotion head
# (scoring.training's folds) 0.483 without cues, 0.513 at 1.0, 0.492 at 2.0
LEXICON_WEIGHT = 1.0
_MASK64 = np.uint64(0xFFFFFFFFFFFFFFFF)
_PRIMES = (
    np.uint64(0x9E3779B185EBCA87), np.uint64(0xC2B2AE3D27D4EB4F),
    np.uint64(0x165667B19E3779F9), np.uint64(0x27D4EB2F165667C5),
)


@dataclass
class Normalized:
    """A text split into what the features read: plain text and the explicit cues."""

    text: str
    emoticons: list[str] = field(default_factory=list)
    exclamations: int = 0
    questions: int = 0


def close_gaps(text: str) -> str:
    """Drop whitespace except a single space between two Latin letters or digits (``text``
    lower-cased): word segmentation between Chinese characters is no word boundary to keep.

    >>> close_gaps("不 好 看  ， 真的 bad movie  2 星")
    '不好看，真的bad movie 2星'
    """
    return _GAP.sub("", _SPACE.sub(" ", text).strip())


def strip_emoticons(text: str) -> str:
    """Remove Weibo ``[xx]`` emoticons and emoji (the "without emoticons" evaluation view).

    >>> strip_emoticons("太好了[哈哈]😂!")
    '太好了!'
    """
    return _EMOJI.sub("", _EMOTICON.sub("", text)).strip()


def normalize(text: str) -> Normalized:
    """Normalise one post: NFKC width folding, lower case, no URLs or @names, emoticons apart.

    Emoji become the emoticon of the same feeling (:data:`EMOJI_ALIASES`), other emoji are kept
    as themselves; runs of one character are cut to three ("哈哈哈哈哈" reads like "哈哈哈");
    whitespace is kept only between two Latin letters or digits, so a word-segmented text
    ("服务 很 好") reads like the same text unsegmented; HTML entities are decoded.

    Examples
    --------
    >>> n = normalize("转发微博 //@小明: 真的太差了！！[怒]😭 http://t.cn/x")
    >>> n.text, n.emoticons, n.exclamations
    ('转发微博//真的太差了!!', ['怒', '泪'], 2)
    >>> normalize("服务 很 好 ， good job").text
    '服务很好,good job'
    """
    text = text or ""
    if "&" in text:  # HTML entities left by a page or an export (&quot; &gt; &#183;)
        text = html.unescape(text)
    text = unicodedata.normalize("NFKC", text).replace(_SEP, " ").lower()
    # Each substitution only where it can match: most posts hold no URL, mention or emoji,
    # and a substitution copies the text even when it changes nothing.
    if "http" in text or "www." in text:
        text = _URL.sub(" ", text)
    if "@" in text:
        text = _MENTION.sub("", text)
    emoticons = _EMOTICON.findall(text)
    if emoticons:
        text = _EMOTICON.sub(" ", text)
    emoji = _EMOJI.findall(text)
    if emoji:
        emoticons += [EMOJI_ALIASES.get(ch, ch) for ch in emoji if ch not in "\ufe0f\u200d"]
        text = _EMOJI.sub(" ", text)
    if _SPACE.search(text):
        text = close_gaps(text)
    text = _REPEAT.sub(r"\1\1\1", text)
    return Normalized(text, emoticons, text.count("!"), text.count("?"))


def _cue_tokens(n: Normalized) -> list[str]:
    tokens = [f"E:{e}" for e in n.emoticons]
    if n.exclamations:
        tokens.append(f"X:!{min(n.exclamations, 3)}")
    if n.questions:
        tokens.append(f"X:?{min(n.questions, 3)}")
    for m in _NEGATION.finditer(n.text):
        scope = _CLAUSE_END.split(n.text[m.end(): m.end() + _NEG_SCOPE], maxsplit=1)[0]
        tokens.extend(f"N:{scope[i:i + 2]}" for i in range(max(len(scope) - 1, 1)) if scope)
    return tokens


def _codepoints(texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The texts as one array of code points, each framed by BOS/EOS and separated by a 0:
    (code points as uint64, separator mask, text index of each position)."""
    joined = _SEP.join(f"{_BOS}{t}{_EOS}" for t in texts)
    cp = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    is_sep = cp == 0
    return cp, is_sep, np.cumsum(is_sep)


def _window_hash(cp: np.ndarray, n: int) -> np.ndarray:
    """A 64-bit hash of the ``n`` code points starting at every position that has ``n``."""
    m = cp.size - n + 1
    h = cp[:m] * _PRIMES[0]
    for k in range(1, n):
        h = (h ^ cp[k:m + k]) * _PRIMES[k]
    return h ^ np.uint64(n)


def _windows_valid(is_sep: np.ndarray, doc_at: np.ndarray, n: int,
                   at: np.ndarray | None = None) -> np.ndarray:
    """Which windows of ``n`` code points (starting at ``at``, else at every position that
    has ``n``) hold no separator: ``doc_at``, the running count of separators, is flat over
    them and their first point is not one."""
    if at is None:
        m = is_sep.size - n + 1
        valid: np.ndarray = (doc_at[n - 1:] == doc_at[:m]) & ~is_sep[:m]
    else:
        valid = (doc_at[at + n - 1] == doc_at[at]) & ~is_sep[at]
    return valid


def _ngram_hashes(texts: Sequence[str], bits: int,
                  points: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Char 1-3-gram hash indices of every text at once: (doc, index, count of grams per doc).
    ``points`` is ``_codepoints(texts)`` where the caller already has it."""
    cp, is_sep, doc_at = points or _codepoints(texts)
    docs, idxs = [], []
    shift = np.uint64(64 - bits)
    for n in _NGRAMS:
        if cp.size - n + 1 <= 0:
            continue
        valid = _windows_valid(is_sep, doc_at, n)
        h = _window_hash(cp, n)
        # splitmix64 finaliser: spreads the bits so the top ``bits`` are usable as an index.
        h = (h ^ (h >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        h = (h ^ (h >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        h = h ^ (h >> np.uint64(31))
        docs.append(doc_at[:h.size][valid])
        idxs.append((h[valid] >> shift).astype(np.int64))
    doc = np.concatenate(docs) if docs else np.zeros(0, np.int64)
    idx = np.concatenate(idxs) if idxs else np.zeros(0, np.int64)
    return doc, idx, np.bincount(doc, minlength=len(texts))


# The lexicon lookup first tests each window against a bitmap of the words' hashes (a one-hash
# Bloom filter: ~1% of a text's windows pass it), and binary-searches only those.
_FILTER_BITS = 22


def _filter_slot(h: np.ndarray) -> np.ndarray:
    return (h * np.uint64(0x9E3779B97F4A7C15)) >> np.uint64(64 - _FILTER_BITS)


@functools.cache
def _lexicon_filter() -> np.ndarray:
    """The bitmap of :func:`_lexicon_table`'s hashes (``2**_FILTER_BITS`` booleans)."""
    present = np.zeros(1 << _FILTER_BITS, dtype=bool)
    present[_filter_slot(_lexicon_table()[0])] = True
    return present


@functools.cache
def _lexicon_table() -> tuple[np.ndarray, np.ndarray]:
    """The lexicon's words (scoring.emolex) as sorted window hashes and their category masks."""
    from scoring.emolex import words

    keys, masks = [], []
    by_len: dict[int, list[tuple[str, int]]] = {}
    for word, bits in words().items():
        by_len.setdefault(len(word), []).append((word, bits))
    for n, entries in by_len.items():
        cp = np.frombuffer("".join(w for w, _ in entries).encode("utf-32-le"),
                           dtype=np.uint32).astype(np.uint64)
        keys.append(_window_hash(cp, n)[::n])
        masks.append(np.array([b for _, b in entries], dtype=np.int64))
    key, mask = np.concatenate(keys), np.concatenate(masks)
    order = np.argsort(key, kind="stable")
    return key[order], mask[order]


def lexicon_counts(texts: Sequence[str],
                   points: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """``(len(texts), len(CATEGORIES))`` counts of lexicon words (scoring.emolex) in each
    (normalised) text; overlapping words all count ("很可怕" holds 可怕).

    >>> from scoring.emolex import CATEGORIES
    >>> c = lexicon_counts(["太可怕了", "下午三点"])
    >>> int(c[0, list(CATEGORIES).index("fear")]) >= 1, int(c[1].sum())
    (True, 0)
    """
    from scoring.emolex import CATEGORIES, MAX_LEN, MIN_LEN

    key, mask = _lexicon_table()
    present = _lexicon_filter()
    out = np.zeros((len(texts), len(CATEGORIES)), dtype=np.int64)
    cp, is_sep, doc_at = points or _codepoints(texts)
    for n in range(MIN_LEN, MAX_LEN + 1):
        if cp.size - n + 1 <= 0:
            continue
        h = _window_hash(cp, n)
        at = np.flatnonzero(present[_filter_slot(h)])
        at = at[_windows_valid(is_sep, doc_at, n, at)]
        h = h[at]
        pos = np.minimum(np.searchsorted(key, h), key.size - 1)
        hit = key[pos] == h
        docs, hits = doc_at[at[hit]], mask[pos[hit]]
        for bit in range(len(CATEGORIES)):
            sel = (hits >> bit) & 1 == 1
            out[:, bit] += np.bincount(docs[sel], minlength=len(texts))
    return out


def featurize(
    texts: Sequence[str | Normalized], *, bits: int = 20, cues: bool = True,
    lexicon: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sparse hashed features of ``texts`` as coordinate arrays ``(doc, index, value)``.

    Char 1-3-grams of the normalised text, each worth ``1/sqrt(n_grams)`` (an l2-normalised bag),
    plus cue tokens worth 1: each emoticon/emoji (``E:泪``), binned "!"/"?" counts (``X:!2``) and
    the bigrams in a negator's scope (``N:好``). Feature indices are in ``[0, 2**bits)``; taking
    the top ``b`` bits of an index (``index >> (bits - b)``) gives the same features hashed into
    ``2**b`` slots, which is how a smaller model shares this output.

    Parameters
    ----------
    texts : sequence of str or Normalized
        Raw posts, or posts already through :func:`normalize`.
    bits : int
        Hash space size as a power of two.
    cues : bool
        Include the explicit cue tokens.
    lexicon : bool
        Also one cue per lexicon category present (``L:disgust``, :mod:`scoring.emolex`), worth
        ``LEXICON_WEIGHT·log(1 + words of it in the text)``.

    Returns
    -------
    doc, index, value : numpy arrays of equal length

    Examples
    --------
    >>> doc, index, value = featurize(["好", "不好!"], bits=16)
    >>> sorted(set(doc.tolist())), int(index.max()) < 2**16
    ([0, 1], True)
    """
    doc, idx, val, _ = featurize_counted(texts, bits=bits, cues=cues, lexicon=lexicon)
    return doc, idx, val


def featurize_counted(
    texts: Sequence[str | Normalized], *, bits: int = 20, cues: bool = True,
    lexicon: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """:func:`featurize`, plus the :func:`lexicon_counts` it read (``(n, 0)`` without
    ``lexicon``): the model's emotion needs to know which texts hold a lexicon word.

    >>> counts = featurize_counted(["太可怕了", "下午三点"], lexicon=True)[3]
    >>> (counts.sum(axis=1) > 0).tolist()
    [True, False]
    """
    norm = [t if isinstance(t, Normalized) else normalize(t) for t in texts]
    plain = [n.text for n in norm]
    points = _codepoints(plain)
    doc, idx, grams = _ngram_hashes(plain, bits, points)
    val = (1.0 / np.sqrt(np.maximum(grams, 1)))[doc]
    if cues:
        cue_doc, cue_idx = [], []
        for i, n in enumerate(norm):
            for tok in _cue_tokens(n):
                cue_doc.append(i)
                cue_idx.append(_cue_index(tok, bits))
        if cue_doc:
            doc = np.concatenate([doc, np.asarray(cue_doc, np.int64)])
            idx = np.concatenate([idx, np.asarray(cue_idx, np.int64)])
            val = np.concatenate([val, np.ones(len(cue_doc))])
    counts = np.zeros((len(norm), 0), dtype=np.int64)
    if lexicon:
        counts = lexicon_counts(plain, points)
        lex_doc, lex_cat = np.nonzero(counts)
        doc = np.concatenate([doc, lex_doc.astype(np.int64)])
        idx = np.concatenate([idx, _lexicon_slots(bits)[lex_cat]])
        val = np.concatenate([val, LEXICON_WEIGHT * np.log1p(counts[lex_doc, lex_cat])])
    return doc, idx, val, counts


def _cue_index(token: str, bits: int) -> int:
    h = zlib.crc32(token.encode("utf-8"))
    shift = 32 - bits
    return h >> shift if shift >= 0 else h << -shift


@functools.cache
def _lexicon_slots(bits: int) -> np.ndarray:
    """Feature index of each lexicon category's cue (``L:<category>``), in category order."""
    from scoring.emolex import CATEGORIES

    return np.array([_cue_index(f"L:{c}", bits) for c in CATEGORIES], dtype=np.int64)
