"""Risk radar: word hits by category, whole-token ASCII words, abuse only in replies, and the
abuse model beside the abuse words."""

from __future__ import annotations

from crawlers.items import Post
from scoring.risk import (
    ABUSE_MODEL_HIT,
    Lexicon,
    is_abusive_reply,
    post_risk_hits,
    posts_risk_hits,
    risk_hits,
)


class FlagsWith:
    """An abuse model flagging texts containing ``char``; records each batch it is given."""

    def __init__(self, char: str = "蠢") -> None:
        self.char = char
        self.batches: list[list[str]] = []

    def flags(self, texts):
        self.batches.append(list(texts))
        return [self.char in t for t in texts]


def test_default_lexicon_finds_complaints_and_sensitive_words_in_order():
    text = "门店起火后商家拒绝退款，消费者准备集体诉讼并向12315投诉"
    assert risk_hits(text) == ["sensitive:起火", "complaint:退款", "sensitive:集体诉讼",
                               "complaint:12315", "complaint:投诉"]


def test_hits_are_distinct_and_longest_word_wins():
    lex = Lexicon({"complaint": ["宣传", "虚假宣传"]})
    assert lex.find("虚假宣传！又是虚假宣传") == ["complaint:虚假宣传"]


def test_ascii_words_match_whole_tokens_after_width_folding():
    lex = Lexicon({"abuse": ["sb"]})
    assert lex.find("ＳＢ商家") == ["abuse:sb"]
    assert lex.find("USB 接口 sbi 银行") == []


def test_configured_lists_replace_the_defaults():
    lex = Lexicon.default(complaint=["缺斤少两"])
    assert risk_hits("缺斤少两还不让退款", lex) == ["complaint:缺斤少两"]
    assert Lexicon({}).find("投诉") == []


def test_abuse_is_flagged_on_replies_and_comments_only():
    reply = Post("weibo", "c1", text="你就是个脑残，退款去吧", kind="reply")
    original = Post("weibo", "p1", text="有人骂我脑残", kind="original")
    assert is_abusive_reply(reply) and not is_abusive_reply(original)
    assert post_risk_hits(reply) == ["abuse:脑残", "complaint:退款"]
    assert post_risk_hits(original) == []
    assert risk_hits(reply.text) == ["complaint:退款"]


def test_words_overlapping_without_nesting_are_all_found():
    # 造假货 holds 造假 (sensitive, chars 3–4) and 假货 (complaint, 4–5) sharing 假; 不退款 holds
    # 不退 (7–8) and 退款 (8–9) sharing 退. Neither word lies inside the other, so by hand all
    # four are hits, in order of their first character. Leftmost matching used to consume 假
    # and 退 and drop 假货 and 退款 (the sensitive/complaint counts monitors alert on).
    assert risk_hits("这家店造假货还不退款") == ["sensitive:造假", "complaint:假货",
                                          "complaint:不退", "complaint:退款"]
    # A word nested inside a longer one still yields to it, wherever the longer one starts.
    lex = Lexicon({"complaint": ["投诉"], "sensitive": ["被投诉"]})
    assert lex.find("又被投诉了") == ["sensitive:被投诉"]
    assert lex.find("我要投诉，它被投诉过") == ["complaint:投诉", "sensitive:被投诉"]


def test_the_model_adds_one_hit_to_comments_and_replies_no_abuse_word_matched():
    model = FlagsWith("蠢")
    lex = Lexicon.default(abuse_model=model)
    posts = [
        Post("weibo", "1", text="你们真蠢，还要退款", kind="comment"),   # model only
        Post("weibo", "2", text="蠢货脑残", kind="reply"),                # a word: model not asked
        Post("weibo", "3", text="这帮人真蠢", kind="original"),          # originals never
        Post("weibo", "4", text="谢谢客服", kind="comment"),              # asked, not flagged
        Post("weibo", "5", text="", kind="comment"),                     # nothing to ask about
    ]
    assert posts_risk_hits(posts, lex) == [
        ["complaint:退款", ABUSE_MODEL_HIT], ["abuse:脑残"], [], [], []]
    assert model.batches == [["你们真蠢，还要退款", "谢谢客服"]]  # one batch, only those two
    assert [post_risk_hits(p, lex) for p in posts] == posts_risk_hits(posts, lex)
    assert [is_abusive_reply(p, lex) for p in posts] == [True, True, False, False, False]
    assert risk_hits(posts[0].text, lex) == ["complaint:退款"]  # text alone: no abuse at all


def test_without_a_model_only_words_count():
    lex = Lexicon.default(abuse_model=None)
    post = Post("weibo", "1", text="河南人都是小偷，离他们远点", kind="comment")
    assert post_risk_hits(post, lex) == [] and not is_abusive_reply(post, lex)
    assert Lexicon({"abuse": ["脑残"]}).abuse_model is None


def test_the_default_lexicon_carries_the_shipped_model():
    comment = Post("weibo", "c1", text="河南人都是小偷，离他们远点", kind="comment")
    thanks = Post("weibo", "c2", text="谢谢你的分享，学到了", kind="comment")
    assert post_risk_hits(comment) == [ABUSE_MODEL_HIT] and is_abusive_reply(comment)
    assert post_risk_hits(thanks) == []
    assert Lexicon.default() == Lexicon.default(abuse_model=None)  # words decide equality


def test_find_equals_a_naive_scan_on_real_posts_and_every_word():
    # The compiled pattern (a first-character guard before the alternation) must find what a
    # position-by-position scan finds: the longest word starting at each position, ASCII words
    # as whole tokens, words nested inside an earlier hit dropped.
    import json
    import re
    from pathlib import Path

    from scoring.risk import _fold

    lex = Lexicon.default(abuse_model=None)
    index = lex._index

    def naive(text: str) -> list[str]:
        text = _fold(text)
        hits: dict[str, None] = {}
        covered = 0
        for i in range(len(text)):
            found = [w for w in index if text.startswith(w, i) and (not w.isascii() or (
                not re.match(r"[a-z0-9]", text[i - 1:i]) and
                not re.match(r"[a-z0-9]", text[i + len(w):i + len(w) + 1])))]
            if found:
                word = max(found, key=len)
                if i + len(word) > covered:
                    covered = i + len(word)
                    hits.setdefault(f"{index[word]}:{word}", None)
        return list(hits)

    def strings(node):
        if isinstance(node, dict):
            for k, v in node.items():
                yield from ([v] if k == "text" and isinstance(v, str) else strings(v))
        elif isinstance(node, list):
            for v in node:
                yield from strings(v)

    texts = []  # the recorded Weibo responses' texts, then every word in and out of context
    for path in sorted((Path(__file__).parent / "fixtures" / "weibo").glob("m.weibo.cn-*.json")):
        texts += list(strings(json.loads(path.read_text("utf-8"))))
    words = sorted(index)
    texts += [f"前面{w}后面" for w in words] + [f"x{w}" for w in words] + [" ".join(words)]
    texts += ["".join(words[i:i + 3]) for i in range(len(words))]
    assert sum(len(naive(t)) > 0 for t in texts) > len(words)
    assert [lex.find(t) for t in texts] == [naive(t) for t in texts]
