"""The monitor query language: a table of matches, keyword expansion, error positions, and
properties checked on seeded random queries against an oracle built by the generator itself."""

from __future__ import annotations

import random

import pytest

from crawlers.errors import ConfigError
from crawlers.items import Post
from scheduler.query import QueryError, QuerySyntaxError, match, parse_query

MATCHES = [
    # query, text, expected
    ("品牌A", "我对品牌A很失望", True),
    ("品牌A", "品牌B很好", False),
    ("品牌a", "品牌A", True),                              # Latin case-insensitive
    ("ＡＢＣ", "abc 新品", True),                          # full-width folded (NFKC)
    ("投诉", "这次投诉没人理", True),                       # substring: no word boundaries
    ("品牌A 投诉", "投诉品牌A", True),                       # implicit AND, any order
    ("品牌A 投诉", "品牌A 好评", False),
    ("品牌A AND (投诉 OR 退款)", "品牌A退款好慢", True),
    ("品牌A AND (投诉 OR 退款)", "品牌A发货慢", False),
    ("品牌A AND (投诉 OR 退款) NOT 招聘", "品牌A投诉", True),
    ("品牌A AND (投诉 OR 退款) NOT 招聘", "品牌A招聘投诉专员", False),
    ("品牌A NOT 招聘", "品牌A 招聘", False),                 # binary NOT = AND NOT
    ("NOT 招聘 品牌A", "品牌A", True),                       # unary NOT, then implicit AND
    ("a OR b c", "a", True),                                # AND binds tighter than OR
    ("a OR b c", "b", False),
    ("(a OR b) c", "a", False),
    ("a OR b NOT c", "b c", False),                         # = a OR (b AND NOT c)
    ("a OR b NOT c", "a c", True),
    ("NOT NOT a", "a", True),
    ('"new product"', "a new product launch", True),        # phrase: words together
    ('"new product"', "product is new", False),
    ('"new product"', "New\n  Product!", True),             # whitespace runs collapse
    ("“新品 发布会”", "新品 发布会 今天", True),              # Chinese-keyboard quotes
    ("品牌A （投诉 OR 退款）", "品牌A 退款", True),           # full-width parentheses
    ('"AND"', "this AND that", True),                       # a quoted operator is a word
]


@pytest.mark.parametrize(("query", "text", "expected"), MATCHES)
def test_matches_table(query: str, text: str, expected: bool) -> None:
    assert parse_query(query).matches(text) is expected


KEYWORDS = [
    ("品牌A AND (投诉 OR 退款) NOT 招聘", ["品牌A 投诉", "品牌A 退款"]),
    ("品牌A", ["品牌A"]),
    ("(a OR b) (c OR d)", ["a c", "a d", "b c", "b d"]),
    ("a OR a b", ["a"]),                                     # a b is found by searching a
    ("a b OR a", ["a"]),
    ("a OR a", ["a"]),
    ("NOT (NOT a OR b)", ["a"]),                             # De Morgan: a AND NOT b
    ('"new product" 评测', ["new product 评测"]),
    ('"a,b" c', ["a b c"]),                                   # commas separate keywords downstream
]


@pytest.mark.parametrize(("query", "expected"), KEYWORDS)
def test_keywords_are_the_dnf_of_the_positive_part(query: str, expected: list[str]) -> None:
    assert parse_query(query).keywords() == expected


ERRORS = [
    # query, position, words the message must contain
    ("", 0, "empty query"),
    ("品牌A AND (投诉", 8, "unclosed '('"),
    ("a)", 1, "unmatched ')'"),
    ("a AND", 5, "expected a term after AND"),
    ("a OR OR b", 5, "not the operator OR"),
    ('a "b c', 2, "unterminated phrase"),
    ('a ""', 2, "empty phrase"),
    ("a ()", 3, "empty parentheses"),
    ("(a OR) b", 5, "expected a term after OR"),
    ("AND a", 0, "not the operator AND"),
]


@pytest.mark.parametrize(("query", "position", "words"), ERRORS)
def test_syntax_errors_point_at_the_problem(query: str, position: int, words: str) -> None:
    with pytest.raises(QuerySyntaxError) as info:
        parse_query(query)
    assert info.value.position == position
    assert words in info.value.message
    assert isinstance(info.value, ConfigError)  # the CLI prints it as a fix-naming error


def test_caret_line_lines_up_under_chinese_text() -> None:
    with pytest.raises(QuerySyntaxError) as info:
        parse_query("品牌A AND (投诉")
    _, shown, caret = str(info.value).splitlines()
    # 品 and 牌 are two columns wide in a terminal: "品牌A AND " is 10 columns.
    assert shown == "  品牌A AND (投诉"
    assert caret == "  " + " " * 10 + "^"


@pytest.mark.parametrize("query", ["NOT 招聘", "a OR NOT b"])
def test_an_alternative_with_only_not_terms_cannot_be_searched(query: str) -> None:
    q = parse_query(query)  # it parses, and still works as a filter…
    assert q.matches("a") or q.matches("xyz")
    with pytest.raises(QuerySyntaxError, match="nothing to search for"):
        q.keywords()  # …but there is nothing to type into a search box


def test_too_many_combinations_are_refused_with_a_fix() -> None:
    query = " ".join(f"(a{i} OR b{i})" for i in range(5))  # 32 combinations
    assert len(parse_query(query).keywords(max_keywords=32)) == 32
    with pytest.raises(QueryError, match="expands to 32 searches.*split it"):
        parse_query(query).keywords(max_keywords=16)
    with pytest.raises(QueryError, match="more than 4096"):
        parse_query(" ".join(f"(a{i} OR b{i})" for i in range(13))).keywords()


def test_posts_match_on_title_and_text() -> None:
    article = Post("wechat", "1", title="品牌A 退款声明", text="正文没有提到")
    assert match("品牌A 退款", article)
    assert not match("品牌A 退款", Post("wechat", "2", text="品牌A"))


# -- properties on random queries ------------------------------------------------------------
VOCAB = ["品牌A", "投诉", "退款", "招聘", "abc", "XY"]


def _random_query(rng: random.Random, depth: int):
    """(query text, oracle) built together, so the oracle does not share the parser's code."""
    if depth == 0 or rng.random() < 0.3:
        word = rng.choice(VOCAB)
        if rng.random() < 0.2:
            return f'"{word}"', lambda t, w=word: w.lower() in t.lower()
        return word, lambda t, w=word: w.lower() in t.lower()
    kind = rng.choice(["and", "implicit", "or", "not", "binary_not"])
    a_text, a = _random_query(rng, depth - 1)
    if kind == "not":
        return f"NOT ({a_text})", lambda t: not a(t)
    b_text, b = _random_query(rng, depth - 1)
    if kind == "and":
        return f"({a_text}) AND ({b_text})", lambda t: a(t) and b(t)
    if kind == "implicit":
        return f"({a_text}) ({b_text})", lambda t: a(t) and b(t)
    if kind == "or":
        return f"({a_text}) OR ({b_text})", lambda t: a(t) or b(t)
    return f"({a_text}) NOT ({b_text})", lambda t: a(t) and not b(t)


def _random_text(rng: random.Random) -> str:
    words = rng.sample(VOCAB + ["其他", "qq"], rng.randint(0, 4))
    return rng.choice(["", " ", "，"]).join(w.lower() if rng.random() < 0.5 else w for w in words)


def test_properties_on_random_queries() -> None:
    rng = random.Random(20261120)
    searchable = 0
    for _ in range(300):
        text, oracle = _random_query(rng, 4)
        query = parse_query(text)
        again = parse_query(str(query))  # the canonical form parses back to the same query
        try:
            keywords = [k.lower().split() for k in query.keywords(max_keywords=64)]
        except QueryError:
            keywords = None
        else:
            searchable += 1
        for _ in range(25):
            sample = _random_text(rng)
            assert query.matches(sample) == oracle(sample), (text, sample)
            assert again.matches(sample) == oracle(sample), (str(query), sample)
            if keywords is not None and oracle(sample):
                # Searching the keywords finds every matching post: some search's words all
                # occur in it.
                assert any(all(w in sample.lower() for w in k) for k in keywords), (text, sample)
    assert searchable > 100  # the property above was exercised, not skipped


def test_select_keeps_the_threads_of_matching_posts_but_not_excluded_ones() -> None:
    from crawlers.items import Post

    q = parse_query("品牌A AND (投诉 OR 退款) NOT 招聘")
    posts = [
        Post("weibo", "1", text="品牌A 退款三个月了"),
        Post("weibo", "2", text="同样遭遇", kind="comment", parent_post_id="1", root_post_id="1"),
        Post("weibo", "3", text="回复：太慢了", kind="reply", parent_post_id="2", root_post_id="1"),
        Post("weibo", "4", text="品牌A 招聘客服 处理退款", kind="comment",
             parent_post_id="1", root_post_id="1"),
        Post("zhihu", "1", text="无关的知乎回答"),  # same id, other platform: not in the thread
        Post("weibo", "5", text="别的话题"),
    ]
    selected = [(p.platform, p.post_id) for p in q.select(posts)]
    assert selected == [("weibo", "1"), ("weibo", "2"), ("weibo", "3")]


# -- refused at entry (issue: lower-case operators, RecursionError, huge queries) --------------
@pytest.mark.parametrize("text", ["品牌A or 品牌B", "品牌A and 投诉", "品牌A not 招聘"])
def test_lower_case_operators_are_refused_with_the_fix(text):
    with pytest.raises(QuerySyntaxError, match="upper case") as exc:
        parse_query(text)
    assert exc.value.position == text.index(text.split()[1])


def test_a_quoted_lower_case_word_is_still_a_term():
    assert parse_query('品牌A "or"').matches("品牌A or")


@pytest.mark.parametrize("text", ["(" * 400 + "a" + ")" * 400, "NOT " * 1000 + "a",
                                  "a " * 60_000])
def test_deep_or_huge_queries_are_refused_not_recursion_errors(text):
    with pytest.raises(QuerySyntaxError):
        parse_query(text)
