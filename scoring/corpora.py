"""Labelled sentiment corpora: what each shared file is, its domain, the dev split, the
distant labels Weibo emoticons give (emoticon → polarity and NLPCC emotion), and the same
labels for any posts (``tingfeng sentiment adapt``: a user's store).

Pure standard library. Training (:mod:`scoring.training`), ``tingfeng sentiment eval|adapt``
and bench/bench_sentiment.py all read rows through here, so they split and label alike.
"""

from __future__ import annotations

import json
import re
import unicodedata
import zlib
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crawlers.errors import ConfigError

__all__ = [
    "CORPORA",
    "DOMAINS",
    "EMOTICON_EMOTION",
    "Corpus",
    "Row",
    "dedupe_key",
    "distant_label",
    "distant_rows",
    "is_dev",
    "load_corpus",
    "read_labelled",
    "sentences",
    "split",
]

# Text domains the polarity model mixes over (scoring.sentiment.TingfengModel's gate).
DOMAINS: tuple[str, ...] = ("weibo", "comment", "hotel", "product")

DEV_SEED = "tingfeng-dev-2"
DEV_FRACTION = 0.1

# Weibo emoticons that carry one NLPCC emotion (the frequent ones of weibo_senti_100k; the
# ambiguous ones — 汗, 晕, 围观, 呵呵, 思考 — are left out on purpose).
EMOTICON_EMOTION: dict[str, str] = {
    **dict.fromkeys(("哈哈", "嘻嘻", "偷笑", "太开心", "笑哈哈", "耶", "得意地笑", "挤眼", "偷乐",
                     "噢耶", "haha", "笑cry"), "happiness"),
    **dict.fromkeys(("爱你", "鼓掌", "可爱", "心", "赞", "good", "给力", "亲亲", "威武", "花心",
                     "抱抱", "好喜欢", "萌", "鲜花", "玫瑰", "爱心传递", "帅", "顶", "握手"),
                    "like"),
    **dict.fromkeys(("泪", "失望", "悲伤", "伤心", "可怜", "委屈", "蜡烛", "泪流满面", "衰"),
                    "sadness"),
    **dict.fromkeys(("抓狂", "怒", "怒骂", "愤怒"), "anger"),
    **dict.fromkeys(("鄙视", "吐", "弱", "黑线", "右哼哼", "左哼哼", "懒得理你", "白眼", "哼"),
                    "disgust"),
    **dict.fromkeys(("吃惊",), "surprise"),
    **dict.fromkeys(("害怕", "惊恐"), "fear"),
}
_POSITIVE_EMOTIONS = frozenset({"happiness", "like"})
_EMOTICON = re.compile(r"\[([^\[\]\s]{1,8})\]")
# The same emoji blocks scoring.features strips (pictographs, symbols, dingbats, flags, glue).
_EMOJI = re.compile(
    "[\U0001f000-\U0001faff\u2600-\u27bf\u2b00-\u2bff\u2300-\u23ff\ufe0f\u200d\U0001f1e6-\U0001f1ff]"
)
_MENTION = re.compile(r"@[\w\-·]{1,30}[:：]?|https?://\S+")
_NON_WORD = re.compile(r"[\W_]+")
_SENTENCE_END = re.compile(r"[。！？!?；;…~～\n\r]+")
MIN_SENTENCE = 8  # the shared files drop rows sharing a sentence this long with evaluation text


@dataclass(frozen=True)
class Row:
    """One labelled text: ``label`` is 1/0 for polarity corpora, an emotion name for emotion
    corpora, 1/0 (offensive/safe) for abuse. ``group`` is the row's category within its
    corpus where the file names one (the review file's ``cat``: 酒店, 手机…), else empty;
    training balances classes within each group (:func:`scoring.training.train`)."""

    text: str
    label: int | str
    domain: str
    corpus: str
    group: str = ""


@dataclass(frozen=True)
class Corpus:
    """A shared file: its task, the domain its texts come from and how rows are filtered."""

    file: str
    task: str  # "polarity" | "emotion" | "abuse"
    domain: str
    source: str | None = None  # keep only rows whose "source" field is this
    emotion_map: tuple[tuple[str, str], ...] | None = None  # file label → NLPCC emotion


CORPORA: dict[str, Corpus] = {
    "weibo": Corpus("weibo_polarity.train.jsonl", "polarity", "weibo"),
    "comments": Corpus("weibo_comments_polarity.train.jsonl", "polarity", "comment"),
    "reviews": Corpus("reviews_polarity.train.jsonl", "polarity", "product"),
    "chnsenticorp": Corpus("reviews_polarity_extra.train.jsonl", "polarity", "hotel",
                           source="ChnSentiCorp"),
    "nlpcc_sc": Corpus("reviews_polarity_extra.train.jsonl", "polarity", "product",
                       source="nlpcc2014_sc"),
    "nlpcc_emotion": Corpus("weibo_emotion_nlpcc.train.jsonl", "emotion", "weibo"),
    # COVID-era Weibo with a neighbouring scheme: optimism reads as happiness, gratitude as like.
    "covid_emotion": Corpus("weibo_emotion.train.jsonl", "emotion", "weibo", emotion_map=(
        ("fear", "fear"), ("disgust", "disgust"), ("optimism", "happiness"),
        ("surprise", "surprise"), ("gratitude", "like"), ("sadness", "sadness"),
        ("anger", "anger"))),
    "offensive": Corpus("offensive.train.jsonl", "abuse", "comment"),
}


def is_dev(text: str, *, fraction: float = DEV_FRACTION, seed: str = DEV_SEED) -> bool:
    """Whether ``text`` is in the dev split: a stable hash of seed and text, so the split does
    not depend on file order and a duplicate text is always on the same side.

    >>> sum(is_dev(f"微博{i}") for i in range(10_000)) / 10_000
    0.099
    """
    return zlib.crc32(f"{seed}:{text}".encode()) % 10_000 < fraction * 10_000


def split(rows: Iterable[Row]) -> tuple[list[Row], list[Row]]:
    """``(train, dev)`` by :func:`is_dev`."""
    train: list[Row] = []
    dev: list[Row] = []
    for row in rows:
        (dev if is_dev(row.text) else train).append(row)
    return train, dev


def load_corpus(data_dir: str | Path, name: str) -> list[Row]:
    """Every row of corpus ``name`` (a key of :data:`CORPORA`) from ``data_dir``.

    :raises ConfigError: naming the missing file and how to point at the data.
    """
    corpus = CORPORA[name]
    path = Path(data_dir) / corpus.file
    if not path.is_file():
        raise ConfigError(
            f"sentiment data file {path} not found: pass --data DIR, the folder holding "
            f"{corpus.file} (e.g. ../shared/datasets/sentiment)")
    mapping = dict(corpus.emotion_map) if corpus.emotion_map else None
    out = []
    for raw in _json_lines(path):
        if corpus.source and raw.get("source") != corpus.source:
            continue
        label: int | str
        if corpus.task == "emotion":
            name_ = str(raw.get("label_name") or raw["label"])
            label = mapping.get(name_, "") if mapping else name_
            if not label or label == "none":
                continue
        else:
            label = int(str(raw["label"]))
        out.append(Row(str(raw["text"]), label, corpus.domain, name, str(raw.get("cat") or "")))
    return out


def distant_label(text: str) -> tuple[int | None, str | None]:
    """Polarity and NLPCC emotion that a post's own emoticons give, or None where they give
    none or disagree (a post with [哈哈] and [泪] teaches nothing).

    Examples
    --------
    >>> distant_label("终于放假了[哈哈][太开心]")
    (1, 'happiness')
    >>> distant_label("又堵车[怒]")
    (0, 'anger')
    >>> distant_label("笑死[哈哈]又气死[怒]"), distant_label("没有表情")
    ((None, None), (None, None))
    """
    emotions = {EMOTICON_EMOTION[e] for e in _EMOTICON.findall(text) if e in EMOTICON_EMOTION}
    if not emotions:
        return None, None
    polarity = {e in _POSITIVE_EMOTIONS for e in emotions}
    if len(polarity) > 1:
        return None, None
    return int(polarity.pop()), (emotions.pop() if len(emotions) == 1 else None)


def dedupe_key(text: str) -> str:
    """What near-duplicates share: the text without emoticons, emoji, @names, URLs,
    punctuation and spacing, width-folded and lower case.

    >>> dedupe_key("真的 太差了！！[怒] @小明: http://t.cn/x") == dedupe_key("真的太差了。")
    True
    """
    text = unicodedata.normalize("NFKC", text or "").lower()
    return _NON_WORD.sub("", _MENTION.sub("", _EMOJI.sub("", _EMOTICON.sub("", text))))


def sentences(text: str, *, min_chars: int = MIN_SENTENCE) -> set[str]:
    """The sentences of ``text`` (split at 。！？；… and line ends, each as :func:`dedupe_key`)
    with at least ``min_chars`` characters: what "shares a sentence" compares.

    >>> sorted(sentences("今天天气真的非常好啊！出去玩。我们一起去公园散步吧"))
    ['今天天气真的非常好啊', '我们一起去公园散步吧']
    """
    keys = (dedupe_key(s) for s in _SENTENCE_END.split(text or ""))
    return {k for k in keys if len(k) >= min_chars}


def distant_rows(
    items: Iterable[tuple[str, str]],
    *,
    exclude: Collection[str] = (),
    corpus: str = "store",
) -> tuple[list[Row], list[Row], dict[str, int]]:
    """Polarity rows that posts' own emoticons label (:func:`distant_label`), for training on
    a user's posts: ``items`` are ``(text, domain)``; a row's text is the post without its
    emoticons and emoji (so a model learns the words, not the cue), label 1/0.

    Near-duplicates (same :func:`dedupe_key`) are kept once; a row whose text or any sentence
    is in ``exclude`` (keys and sentences of evaluation texts, see :func:`sentences`) is
    dropped. Returns ``(train, dev, counts)``, split by :func:`is_dev` of the *original* post
    text (the convention of the shared Weibo corpus, whose stripped copies follow their
    originals); ``counts`` has ``posts``, ``labelled``, ``duplicates``, ``excluded`` and
    ``empty`` (nothing left once the emoticons are gone).

    Examples
    --------
    >>> posts = [("终于放假了[哈哈]", "weibo"), ("终于放假了！[嘻嘻]", "weibo"),
    ...          ("又堵车[怒]", "comment"), ("[泪]", "weibo"), ("无表情", "weibo")]
    >>> train, dev, counts = distant_rows(posts)
    >>> sorted((r.text, r.label, r.domain) for r in train + dev)
    [('又堵车', 0, 'comment'), ('终于放假了', 1, 'weibo')]
    >>> counts
    {'posts': 5, 'labelled': 4, 'duplicates': 1, 'excluded': 0, 'empty': 1}
    """
    seen: set[str] = set()
    train: list[Row] = []
    dev: list[Row] = []
    counts = dict.fromkeys(("posts", "labelled", "duplicates", "excluded", "empty"), 0)
    for text, domain in items:
        counts["posts"] += 1
        polarity, _ = distant_label(text)
        if polarity is None:
            continue
        counts["labelled"] += 1
        stripped = _EMOJI.sub("", _EMOTICON.sub("", text)).strip()
        key = dedupe_key(stripped)
        if not key:
            counts["empty"] += 1
            continue
        if key in seen:
            counts["duplicates"] += 1
            continue
        seen.add(key)
        if key in exclude or not sentences(stripped).isdisjoint(exclude):
            counts["excluded"] += 1
            continue
        (dev if is_dev(text) else train).append(Row(stripped, polarity, domain, corpus))
    return train, dev, counts


def read_labelled(path: str | Path, *, domain: str = "weibo") -> Iterator[Row]:
    """Rows of any labelled JSON-lines file (``{"text": …, "label": …}``) for ``sentiment
    eval``: ``label`` 1/0 or positive/negative for polarity, an emotion name otherwise.

    :raises ConfigError: with the line number of a line that is not such an object.
    """
    words = {"positive": 1, "pos": 1, "negative": 0, "neg": 0}
    for lineno, raw in enumerate(_json_lines(Path(path)), 1):
        if not isinstance(raw, dict) or not isinstance(raw.get("text"), str) or "label" not in raw:
            raise ConfigError(f"{path}: line {lineno} is not an object with \"text\" and "
                              "\"label\"")
        value = raw["label"]
        label: int | str
        if isinstance(value, str):
            label = words.get(value.lower(), value)
        elif isinstance(value, bool | int | float):
            label = int(value)
        else:
            raise ConfigError(f"{path}: line {lineno}: label must be 1/0, positive/negative or "
                              "an emotion name")
        yield Row(str(raw["text"]), label, str(raw.get("domain") or domain), Path(path).stem)


def _json_lines(path: Path) -> Iterator[dict[str, Any]]:
    with path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                yield json.loads(line)
            except json.JSONDecodeError as exc:
                raise ConfigError(f"{path}: line {lineno} is not JSON ({exc.msg})") from None
