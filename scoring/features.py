"""Text normalisation and hashed features for sentiment: Weibo emoticons, emoji, negation, "!!!".

Pure numpy and the standard library (no scikit-learn, no snownlp): the same ``featurize`` feeds
training and inference, so a shipped model is only its weight arrays.
"""

from __future__ import annotations

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
    text = _MENTION.sub("", _URL.sub(" ", text))
    emoticons = _EMOTICON.findall(text)
    text = _EMOTICON.sub(" ", text)
    for ch in _EMOJI.findall(text):
        if ch not in "\ufe0f\u200d":
            emoticons.append(EMOJI_ALIASES.get(ch, ch))
    text = _EMOJI.sub(" ", text)
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


def _ngram_hashes(texts: Sequence[str], bits: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Char 1-3-gram hash indices of every text at once: (doc, index, count of grams per doc)."""
    joined = _SEP.join(f"{_BOS}{t}{_EOS}" for t in texts)
    cp = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    is_sep = cp == 0
    doc_at = np.cumsum(is_sep)
    docs, idxs = [], []
    shift = np.uint64(64 - bits)
    for n in _NGRAMS:
        m = cp.size - n + 1
        if m <= 0:
            continue
        valid = ~is_sep[:m]
        h = cp[:m] * _PRIMES[0]
        for k in range(1, n):
            valid &= ~is_sep[k:m + k]
            h = (h ^ cp[k:m + k]) * _PRIMES[k]
        h = h ^ np.uint64(n)
        # splitmix64 finaliser: spreads the bits so the top ``bits`` are usable as an index.
        h = (h ^ (h >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        h = (h ^ (h >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        h = h ^ (h >> np.uint64(31))
        docs.append(doc_at[:m][valid])
        idxs.append((h[valid] >> shift).astype(np.int64))
    doc = np.concatenate(docs) if docs else np.zeros(0, np.int64)
    idx = np.concatenate(idxs) if idxs else np.zeros(0, np.int64)
    return doc, idx, np.bincount(doc, minlength=len(texts))


def featurize(
    texts: Sequence[str | Normalized], *, bits: int = 20, cues: bool = True
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

    Returns
    -------
    doc, index, value : numpy arrays of equal length

    Examples
    --------
    >>> doc, index, value = featurize(["好", "不好!"], bits=16)
    >>> sorted(set(doc.tolist())), int(index.max()) < 2**16
    ([0, 1], True)
    """
    norm = [t if isinstance(t, Normalized) else normalize(t) for t in texts]
    doc, idx, grams = _ngram_hashes([n.text for n in norm], bits)
    val = (1.0 / np.sqrt(np.maximum(grams, 1)))[doc]
    if cues:
        cue_doc, cue_idx = [], []
        shift = 32 - bits
        for i, n in enumerate(norm):
            for tok in _cue_tokens(n):
                cue_doc.append(i)
                h = zlib.crc32(tok.encode("utf-8"))
                cue_idx.append(h >> shift if shift >= 0 else h << -shift)
        if cue_doc:
            doc = np.concatenate([doc, np.asarray(cue_doc, np.int64)])
            idx = np.concatenate([idx, np.asarray(cue_idx, np.int64)])
            val = np.concatenate([val, np.ones(len(cue_doc))])
    return doc, idx, val
