"""Risk radar: complaint, sensitive and abusive words found in posts, by one compiled matcher,
and an offensive-language model (scoring.abuse) beside the abuse words.

Pure functions; word lists and the model are parameters (the edge reads RISK_COMPLAINT_WORDS,
RISK_SENSITIVE_WORDS and RISK_ABUSE_WORDS). Hits are tagged ``"<category>:<word>"``.

How abuse words and the model combine, on comments and replies only (:data:`ABUSE_KINDS`):
a post is abusive when an abuse word matches *or* the model's probability reaches its
threshold. Word hits are kept as they are (``abuse:脑残``); the model adds one
:data:`ABUSE_MODEL_HIT` (``abuse:model``) only to a post no abuse word matched, so every
abusive post counts once per word or once for the model, the alert keeps naming the words, and
``risk/word/abuse:model`` counts exactly the posts the model finds beyond the word lists.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, Protocol

from crawlers.items import Post

if TYPE_CHECKING:
    from scoring.abuse import AbuseModel

__all__ = [
    "ABUSE_KINDS",
    "ABUSE_MODEL_HIT",
    "AbuseFlagger",
    "DEFAULT_ABUSE_WORDS",
    "DEFAULT_COMPLAINT_WORDS",
    "DEFAULT_SENSITIVE_WORDS",
    "Lexicon",
    "Scorable",
    "is_abusive_reply",
    "post_risk_hits",
    "posts_risk_hits",
    "risk_hits",
]

DEFAULT_COMPLAINT_WORDS: tuple[str, ...] = (
    "投诉", "退款", "退货", "维权", "曝光", "骗", "假货", "欺诈", "差评", "举报", "索赔", "赔偿",
    "虚假宣传", "霸王条款", "质量问题", "消协", "12315", "黑心", "被坑", "坑人", "售后",
    "不退", "拒不", "误导消费者", "山寨", "以次充好",
)
DEFAULT_SENSITIVE_WORDS: tuple[str, ...] = (
    "爆炸", "死亡", "身亡", "猝死", "中毒", "致癌", "泄露", "召回", "事故", "起火", "火灾",
    "罢工", "集体诉讼", "食品安全", "造假", "跑路", "暴雷", "欠薪", "裁员", "塌方", "立案",
    "约谈", "处罚", "罚款", "下架", "停产",
)
# Multi-character forms only: single characters such as 滚 or 贱 hit ordinary words (滚动, 低贱).
DEFAULT_ABUSE_WORDS: tuple[str, ...] = (
    "傻逼", "傻b", "煞笔", "沙雕", "脑残", "智障", "弱智", "去死", "滚蛋", "滚出去", "废物",
    "狗东西", "贱人", "畜生", "他妈的", "你妈", "操你", "草泥马", "cnm", "nmsl", "sb",
)
ABUSE_KINDS: frozenset[str] = frozenset({"comment", "reply"})
"""Only replies and comments are judged abusive: abuse is aimed at someone in a thread; an
original post using the same words is usually reporting or quoting."""
ABUSE_MODEL_HIT = "abuse:model"
"""The hit the abuse model adds to a comment or reply that no abuse word matched."""


class Scorable(Protocol):
    """What the risk radar reads of a post: a :class:`~crawlers.items.Post`, or the
    :class:`~crawlers.items.ScoreInput` a rescore reads from the store."""

    @property
    def text(self) -> str: ...

    @property
    def kind(self) -> str: ...


class AbuseFlagger(Protocol):
    """What the risk radar needs from an abuse model (:class:`scoring.abuse.AbuseModel`)."""

    def flags(self, texts: Sequence[str]) -> list[bool]: ...


# The model's best-F1 point on COLD (0.41) flags ~21% of ordinary comments on public events:
# too many for alerts. 0.8 keeps recall 0.78 (bench/bench_abuse.py prints the table).
ALERT_ABUSE_THRESHOLD = 0.8


class _ShippedAbuseModel:
    """The shipped abuse model, loaded at its first use (Lexicon.default() stays cheap)."""

    _model: AbuseModel | None = None

    def flags(self, texts: Sequence[str]) -> list[bool]:
        if self._model is None:
            from scoring.abuse import load_abuse_model

            self._model = load_abuse_model(threshold=ALERT_ABUSE_THRESHOLD)
        return self._model.flags(texts)

    def __repr__(self) -> str:
        return "<shipped abuse model>"


def _fold(text: str) -> str:
    # Full-width letters and digits (ＳＢ, １２３１５) fold to ASCII, and case is ignored.
    return unicodedata.normalize("NFKC", text or "").lower()


@dataclass(frozen=True)
class Lexicon:
    """Word lists by category, matched all at once by a single compiled alternation.

    Longer words are tried first, so "虚假宣传" wins over any shorter word inside it; words that
    only partly overlap (不退 and 退款 in "不退款") are both hits. ASCII words
    (``sb``, ``cnm``) only match as whole tokens, so "sbi" or "usb" do not fire.

    Examples
    --------
    >>> lex = Lexicon({"complaint": ["退款", "投诉"], "abuse": ["sb"]})
    >>> lex.find("申请退款三次都被拒，我要投诉！usb 线也坏了")
    ['complaint:退款', 'complaint:投诉']
    """

    categories: Mapping[str, Iterable[str]]
    abuse_model: AbuseFlagger | None = field(default=None, compare=False)
    _index: dict[str, str] = field(init=False, repr=False, compare=False)
    _pattern: re.Pattern[str] | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        index: dict[str, str] = {}
        for category, words in self.categories.items():
            for w in words:
                w = _fold(w).strip()
                if w:
                    index.setdefault(w, category)
        parts = []
        for w in sorted(index, key=len, reverse=True):
            esc = re.escape(w)
            parts.append(rf"(?<![a-z0-9]){esc}(?![a-z0-9])" if w.isascii() else esc)
        object.__setattr__(self, "_index", index)
        # A lookahead matches at every position, so words that only partly overlap (不退 and 退款
        # in 不退款) are both found; find() then drops words nested inside a longer hit. The
        # class of first characters in front spares the alternation at every other position:
        # the same hits on 108,372 real comments and reviews, in a fifth of the time.
        firsts = "".join(re.escape(c) for c in sorted({w[0] for w in index}))
        pattern = (re.compile(f"(?=[{firsts}])(?=(" + "|".join(parts) + "))") if parts
                   else None)
        object.__setattr__(self, "_pattern", pattern)

    @classmethod
    def default(
        cls,
        complaint: Iterable[str] | None = None,
        sensitive: Iterable[str] | None = None,
        abuse: Iterable[str] | None = None,
        *,
        abuse_model: AbuseFlagger | Literal["shipped"] | None = "shipped",
    ) -> Lexicon:
        """The three standard categories; a list given (non-empty) replaces the built-in one.
        ``abuse_model``: ``"shipped"`` (scoring/models/tingfeng-abuse, loaded at first use),
        another model, or None for words only."""
        return cls({
            "complaint": list(complaint or DEFAULT_COMPLAINT_WORDS),
            "sensitive": list(sensitive or DEFAULT_SENSITIVE_WORDS),
            "abuse": list(abuse or DEFAULT_ABUSE_WORDS),
        }, _ShippedAbuseModel() if abuse_model == "shipped" else abuse_model)

    def find(self, text: str, *, categories: Iterable[str] | None = None) -> list[str]:
        """Distinct ``category:word`` hits in order of first appearance."""
        if self._pattern is None or not text:
            return []
        wanted = set(categories) if categories is not None else None
        hits: dict[str, None] = {}
        covered = 0  # end of the furthest-reaching hit so far
        for m in self._pattern.finditer(_fold(text)):
            word, end = m.group(1), m.end(1)
            if end <= covered:
                continue  # inside a longer word that starts earlier (or at the same place)
            covered = end
            category = self._index[word]
            if wanted is None or category in wanted:
                hits.setdefault(f"{category}:{word}", None)
        return list(hits)


def risk_hits(text: str, lexicon: Lexicon | None = None) -> list[str]:
    """Complaint and sensitive words in ``text`` (abuse words excluded: see
    :func:`post_risk_hits`), tagged ``category:word``.

    Parameters
    ----------
    text : str
    lexicon : Lexicon, optional
        :meth:`Lexicon.default` when omitted.

    Returns
    -------
    list of str

    Examples
    --------
    >>> risk_hits("买到假货，客服不给退款，已经向12315投诉了")
    ['complaint:假货', 'complaint:退款', 'complaint:12315', 'complaint:投诉']
    >>> risk_hits("门店起火，暂无人员死亡")
    ['sensitive:起火', 'sensitive:死亡']
    """
    lex = lexicon if lexicon is not None else _default_lexicon()
    return [h for h in lex.find(text) if not h.startswith("abuse:")]


def is_abusive_reply(post: Post, lexicon: Lexicon | None = None) -> bool:
    """True for a comment or reply with an abuse word or flagged by the lexicon's abuse model
    (rule: see :data:`ABUSE_KINDS`).

    >>> is_abusive_reply(Post("weibo", "c1", text="你个脑残", kind="comment"))
    True
    >>> is_abusive_reply(Post("weibo", "p1", text="别叫人脑残", kind="original"))
    False
    """
    return any(h.startswith("abuse:") for h in post_risk_hits(post, lexicon))


def post_risk_hits(post: Scorable, lexicon: Lexicon | None = None) -> list[str]:
    """Every hit recorded on a post: complaint and sensitive words, plus, when the post is a
    comment or reply, abuse words or else :data:`ABUSE_MODEL_HIT` when the lexicon's abuse
    model flags it (see the module docstring). :func:`posts_risk_hits` does many posts at once.

    >>> post_risk_hits(Post("weibo", "c1", text="退款都不给，sb商家", kind="comment"))
    ['complaint:退款', 'abuse:sb']
    """
    return posts_risk_hits([post], lexicon)[0]


def posts_risk_hits(posts: Sequence[Scorable], lexicon: Lexicon | None = None) -> list[list[str]]:
    """:func:`post_risk_hits` of each post, the abuse model scoring all of them in one batch
    (faster than one call per post).

    >>> class Always:
    ...     def flags(self, texts): return [True] * len(texts)
    >>> lex = Lexicon.default(abuse_model=Always())
    >>> posts_risk_hits([Post("weibo", "c1", text="你真是个人才", kind="reply"),
    ...                  Post("weibo", "c2", text="你个脑残", kind="reply"),
    ...                  Post("weibo", "p1", text="你真是个人才", kind="original")], lex)
    [['abuse:model'], ['abuse:脑残'], []]
    """
    lex = lexicon if lexicon is not None else _default_lexicon()
    out: list[list[str]] = []
    ask: list[int] = []
    for i, post in enumerate(posts):
        hits = lex.find(post.text)
        if post.kind not in ABUSE_KINDS:
            hits = [h for h in hits if not h.startswith("abuse:")]
        elif post.text and not any(h.startswith("abuse:") for h in hits):
            ask.append(i)
        out.append(hits)
    if ask and lex.abuse_model is not None:
        flags = lex.abuse_model.flags([posts[i].text for i in ask])
        for i, flagged in zip(ask, flags, strict=True):
            if flagged:
                out[i].append(ABUSE_MODEL_HIT)
    return out


_DEFAULT: list[Lexicon] = []


def _default_lexicon() -> Lexicon:
    if not _DEFAULT:
        _DEFAULT.append(Lexicon.default())
    return _DEFAULT[0]
