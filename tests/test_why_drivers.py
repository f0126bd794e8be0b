"""scoring.why.words and scoring.why.drivers: cleaning, terms, the log-odds formula, and an
injected complaint theme found among real Weibo posts.

Real posts: 2,000 rows sampled (seed 20261202) at test time from the shared
weibo_polarity.train.jsonl (weibo_senti_100k; label 0 = negative, 1 = positive, derived from
the posts' emoticons; the data stays outside the repository), @names rewritten to 用户N.
"""

from __future__ import annotations

import math
import random
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from crawlers.items import Post
from scoring.why import words
from scoring.why.drivers import hot_terms, log_odds, negative_drivers
from scoring.why.words import MAX_TOKENS, clean, term_set, terms
from tests.datasets import sample_rows

REPO = Path(__file__).resolve().parent.parent

# The injected theme: three complaints, each in several wordings.
THEMES = {
    "电池鼓包": ["手机的电池鼓包了", "用了半年电池鼓包", "电池鼓包，后盖都顶开了",
                 "第二台又是电池鼓包", "这批电池鼓包太吓人"],
    "客服推诿": ["客服推诿，让我找门店", "打了三次电话客服推诿", "客服推诿扯皮",
                 "客服推诿说不归他们管"],
    "退款难": ["退款难", "申请售后退款难", "退款难，一拖再拖", "想退货退款难", "真是退款难"],
}


def _real_posts() -> list[Post]:
    rng = random.Random(7)
    rows = sample_rows("weibo_polarity.train.jsonl", 2000, 20261202)
    return [
        Post("weibo", f"w{i}", text=row["text"], like_count=rng.randint(0, 50),
             sentiment_label="negative" if row["label"] == 0 else "positive")
        for i, row in enumerate(rows)
    ]


def _inject(posts: list[Post], share: float, seed: int = 11) -> set[str]:
    """Append the three complaints, in varied wording and order, to ``share`` of the negative
    posts (and one to three positive posts, so the terms are not exclusive to negatives);
    the injected negative ids."""
    rng = random.Random(seed)
    negative = [p for p in posts if p.sentiment_label == "negative"]
    chosen = rng.sample(negative, round(share * len(negative)))
    for post in chosen:
        themes = rng.sample(sorted(THEMES), 3)
        post.text += "。" + "，".join(rng.choice(THEMES[t]) for t in themes)
    for post in rng.sample([p for p in posts if p.sentiment_label == "positive"], 3):
        post.text += "。换了新机，电池鼓包的问题解决了"
    return {p.post_id for p in chosen}


# --- cleaning and terms


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("看这里 http://t.cn/A6xYz 和 https://weibo.com/12?x=1 完", "看这里\n和\n完"),
        ("谢谢@小米客服 的回复", "谢谢\n的回复"),
        ("回复@张三:说得对", "回复\n说得对"),
        ("太差了[怒][哈哈]！", "太差了"),
        ("电池😡鼓包👨‍👩‍👧🇨🇳👍🏽", "电池\n鼓包"),
        ("我也是//@甲: 电池鼓包 //@乙:客服推诿", "我也是"),
        ("//@甲: 只有别人的话", ""),
        ("#小米SU7# 电池鼓包", "小米su7\n电池鼓包"),
        ("ｉＰｈｏｎｅ　１５", "iphone 15"),
        ("转发微博", ""),
    ],
)
def test_clean_removes_noise(text: str, expected: str) -> None:
    assert clean(text) == expected
    assert clean(clean(text)) == clean(text)


def test_terms_never_cross_removed_noise_or_punctuation() -> None:
    found = terms("电池[怒]鼓包，客服 推诿")
    assert {"电池", "鼓包", "客服", "推诿"} <= set(found)
    assert not {"电池鼓包", "鼓包客服", "客服推诿"} & set(found)


def test_stopwords_neither_stand_alone_nor_edge_a_phrase() -> None:
    found = terms("我的电池真的鼓包了啊")
    assert {"电池", "鼓包", "电池真的鼓包"} <= set(found)
    assert not [t for t in found if t.startswith(("我", "的")) or t.endswith(("了", "啊"))]
    assert "不发货" in terms("一直不发货")  # a negator may start a phrase…
    assert "不" not in terms("就是不") and "发货不" not in terms("发货不")  # …never end one


def test_digits_only_tokens_are_dropped_and_break_phrases() -> None:
    found = terms("等了 30 天，2024年电池鼓包")
    assert not [t for t in found if t.isdigit()]
    assert "电池鼓包" in found


def test_user_words_stay_whole_for_that_call_only() -> None:
    # jieba reads 蔚/来到/底 and 极/氪/001 (a stopword and a digits-only token): no phrase can
    # put those names back together; iPhone 15 Pro is broken by its digits.
    text = "蔚来到底行不行，极氪001电池鼓包，iPhone 15 Pro也是"
    without = set(terms(text))
    assert not {"蔚来", "极氪001", "iphone 15 pro"} & without
    words = ["蔚来", "极氪001", "iPhone 15 Pro"]
    found = set(terms(text, user_words=words))
    assert {"蔚来", "极氪001", "极氪001电池鼓包", "iphone 15 pro"} <= found
    assert set(terms(text)) == without  # nothing leaked into the shared tokenizer


def test_mixed_english_and_traditional_text() -> None:
    found = terms("My iPhone battery swelling 太严重了！")
    assert {"iphone", "battery", "battery swelling", "iphone battery swelling"} <= set(found)
    assert "my" not in found
    # No conversion to simplified: traditional text still yields its own terms.
    assert "鼓包" in terms("電池鼓包，客服推諉")


def test_long_text_is_capped() -> None:
    text = "电池鼓包客服推诿退款难。" * 10_000  # 120 K characters
    found = terms(text, max_n=1)
    assert 0 < len(found) <= MAX_TOKENS
    with pytest.raises(ValueError, match="max_n"):
        terms("电池", max_n=0)


def test_segmentation_is_jiebas_own() -> None:
    """words._Segmenter is a faster loop over jieba's dictionary: it must cut as jieba does."""
    tokenizer = words._jieba_tokenizer()
    segmenter = words._Segmenter(tokenizer)
    rows = [r["text"] for r in sample_rows("weibo_polarity.train.jsonl", 2000, 20261202)]
    texts = [clean(t) for t in rows] + ["iphone15电池xktv鼓包", "c++ café 電池 ok吧", "ab12中"]
    for text in texts:
        assert segmenter.cut(text) == tokenizer.lcut(text, HMM=False), text


def test_term_set_is_the_distinct_terms() -> None:
    text = clean("电池鼓包，又是电池鼓包！iPhone 15 Pro")
    assert term_set(text, user_words=["iPhone 15 Pro"]) == set(
        terms(text, user_words=["iPhone 15 Pro"], cleaned=True))
    assert term_set("") == set()


def test_first_use_prints_nothing_and_warns_nothing() -> None:
    code = "from scoring.why.words import terms; assert terms('电池鼓包')"
    run = subprocess.run([sys.executable, "-W", "error", "-c", code], cwd=REPO,
                         capture_output=True, text=True, timeout=60, check=False)
    assert run.returncode == 0, run.stderr
    assert run.stdout == "" and run.stderr == ""


# --- the log-odds formula


def _fightin_words(ya: float, yb: float, na: float, nb: float, aw: float, a0: float
                   ) -> tuple[float, float]:
    """Monroe, Colaresi & Quinn (2008) eqs. 16, 18 and 20, written out independently."""
    delta = math.log((ya + aw) / (na + a0 - ya - aw)) - math.log((yb + aw) / (nb + a0 - yb - aw))
    return delta, delta / math.sqrt(1 / (ya + aw) + 1 / (yb + aw))


def test_log_odds_matches_the_formula_by_hand() -> None:
    a, b = Counter(x=3, y=1), Counter(x=1, y=3)
    # Default: prior = a + b pooled (x: 4, y: 4), alpha0 = a tenth of n_a + n_b = 0.8.
    scores = log_odds(a, b)
    assert scores["x"] == pytest.approx(_fightin_words(3, 1, 4, 4, 0.4, 0.8))
    assert scores["y"] == pytest.approx(_fightin_words(1, 3, 4, 4, 0.4, 0.8))
    # An explicit prior and alpha0: alpha_x = 2 * 1/4, alpha_y = 2 * 3/4.
    scores = log_odds(a, b, prior=Counter(x=1, y=3), alpha0=2)
    assert scores["x"] == pytest.approx(_fightin_words(3, 1, 4, 4, 0.5, 2))
    assert scores["y"] == pytest.approx(_fightin_words(1, 3, 4, 4, 1.5, 2))
    assert scores["x"][0] > 0 > scores["y"][0]


def test_log_odds_edge_cases() -> None:
    assert log_odds(Counter(), Counter()) == {}
    only_a = log_odds(Counter(x=5), Counter())
    assert all(math.isfinite(v) for v in only_a["x"])
    unseen = log_odds(Counter(x=5), Counter(y=5), prior=Counter(z=1))  # prior lacks x and y
    assert all(math.isfinite(v) for pair in unseen.values() for v in pair)
    with pytest.raises(ValueError, match="alpha0"):
        log_odds(Counter(x=1), Counter(x=2), alpha0=0)


# --- injection on real posts


def test_injected_complaints_are_the_top_negative_drivers() -> None:
    posts = _real_posts()
    injected = _inject(posts, share=0.05)
    result = negative_drivers(posts, k=10)
    top5 = [d.term for d in result.drivers[:5]]
    assert set(THEMES) <= set(top5), [(d.term, d.count, round(d.z, 2)) for d in result.drivers]
    assert result.note is None
    assert result.posts_used == result.negative_posts + result.other_posts > 1500
    assert result.skipped["empty_after_cleaning"] > 0  # real reposts that are only a chain
    for driver in result.drivers:
        if driver.term in THEMES:
            assert len(driver.examples) == 3
            assert {e.post_id for e in driver.examples} <= injected
            assert all(len(e.text) <= 140 for e in driver.examples)
            likes = [next(p.like_count or 0 for p in posts if p.post_id == e.post_id)
                     for e in driver.examples]
            assert likes == sorted(likes, reverse=True)


def test_injected_complaints_are_hot_against_the_previous_window() -> None:
    posts = _real_posts()
    previous, window = posts[:1000], posts[1000:]
    _inject(window, share=0.1)
    hot = hot_terms(window, previous, k=10)
    assert set(THEMES) <= {h.term for h in hot[:5]}, [(h.term, h.count, h.z) for h in hot]
    assert all(h.count > h.previous_count for h in hot)
    # A baseline that already knew the theme makes it less hot.
    baseline = [Post("weibo", f"b{i}", text=f"电池鼓包又来了，第{i}次") for i in range(300)]
    cooled = {h.term: h.z for h in hot_terms(window, previous, baseline_posts=baseline)}
    assert cooled.get("电池鼓包", 0.0) < next(h.z for h in hot if h.term == "电池鼓包")


def test_nothing_is_hot_without_a_previous_window() -> None:
    window = _labelled([f"电池鼓包了，第{i}天" for i in range(30)])
    assert hot_terms(window, []) == []
    history = [Post("weibo", f"h{i}", text=f"新车不错，第{i}天") for i in range(30)]
    assert [h.term for h in hot_terms(window, history)] == ["电池鼓包"]


def test_one_spammy_post_or_copied_texts_cannot_dominate() -> None:
    posts = _real_posts()
    spam = "，".join(["垃圾平台"] * 500)
    posts += [Post("weibo", f"s{i}", text=spam + " http://t.cn/x", sentiment_label="negative")
              for i in range(50)]
    result = negative_drivers(posts)
    assert result.skipped["duplicate_text"] >= 49
    assert "垃圾平台" not in {d.term for d in result.drivers}  # one text, one post


# --- inputs that must give a note, not a crash


def _labelled(texts: list[str], label: str = "negative") -> list[Post]:
    return [Post("weibo", str(i), text=t, sentiment_label=label) for i, t in enumerate(texts)]


def test_empty_window() -> None:
    result = negative_drivers([])
    assert result.drivers == [] and result.posts_used == 0
    assert result.note == "need at least 20 negative posts, got 0"
    assert hot_terms([], []) == []


def test_one_post() -> None:
    result = negative_drivers(_labelled(["电池鼓包了"]))
    assert result.note == "need at least 20 negative posts, got 1"
    assert hot_terms(_labelled(["电池鼓包了"]), []) == []


def test_emoji_only_and_url_only_posts() -> None:
    posts = _labelled(["😡😡😡", "[怒][泪]", "http://t.cn/A6x", "👍🏽", "…！！"] * 10)
    result = negative_drivers(posts)
    assert result.skipped["empty_after_cleaning"] == 50
    assert result.note is not None and result.drivers == []


def test_unlabelled_posts_are_counted_and_named_in_the_note() -> None:
    posts = [Post("weibo", str(i), text=f"电池鼓包{i}") for i in range(30)]
    result = negative_drivers(posts)
    assert result.skipped["unlabelled"] == 30
    assert result.note is not None and "score them first" in result.note


def test_only_negative_posts_have_nothing_to_compare_with() -> None:
    result = negative_drivers(_labelled([f"电池鼓包，第{i}台" for i in range(30)]))
    assert result.note == "need at least 20 non-negative posts to compare with, got 0"


def test_a_100_kb_post_traditional_and_english_posts_in_a_window() -> None:
    posts = _real_posts()
    posts.append(Post("weibo", "big", text="電池鼓包 battery swelling，" * 5_000,
                      sentiment_label="negative"))
    posts += _labelled([f"My phone battery swelling again, 第{i}次" for i in range(5)])
    result = negative_drivers(posts)
    assert result.posts_used > 1500 and result.note is None


def _window(tag: str, complaint: str | None, n: int = 300) -> list[Post]:
    """Negative reviews that always say 太差/失望, positive ones; ``complaint`` (a new theme)
    in one negative post in twenty; a 新款 craze that is only positive."""
    rnd = random.Random(tag)
    posts = []
    for i in range(n):
        neg = i % 2 == 0
        base = rnd.choice(["质量太差 很失望", "太差了 失望透顶", "体验太差"]) if neg else \
            rnd.choice(["很好用 推荐", "满意 好评", "物流快 不错"])
        if neg and complaint and i % 40 == 0:
            base += f" {complaint}"
        if not neg and tag == "now" and i % 10 == 1:
            base += " 新款配色好看"
        posts.append(Post("weibo", f"{tag}{i}", text=f"{base} 第{i}单",
                          sentiment_label="negative" if neg else "positive", like_count=i))
    return posts


def test_emerging_drivers_find_the_new_complaint_the_standing_ones_hide():
    from scoring.why.drivers import negative_drivers

    result = negative_drivers(_window("now", "电池鼓包"), k=10,
                              previous_posts=_window("before", None))
    standing = [d.term for d in result.drivers]
    assert standing[0] in ("太差", "失望", "差")  # the standing complaint leads the drivers
    emerging = [d.term for d in result.emerging]
    assert emerging[0] == "电池鼓包", emerging
    top = result.emerging[0]
    assert (top.count, top.other_count) == (8, 0) and top.examples  # 0 before, with examples
    assert "新款配色好看" not in " ".join(emerging)  # rising, but not in negative posts
    assert not {"太差", "失望"} & set(emerging)  # as negative before as now
    assert result.previous_negative_posts > 100
    # too little previous data: no emerging list, the drivers unchanged
    short = negative_drivers(_window("now", "电池鼓包"), k=10,
                             previous_posts=_window("before", None, n=10))
    assert short.emerging == [] and [d.term for d in short.drivers] == standing
    assert negative_drivers(_window("now", "电池鼓包"), k=10).emerging == []
