"""The monitor query language: ``品牌A AND (投诉 OR 退款) NOT 招聘``.

A query is never sent anywhere as query syntax. It becomes (1) search keywords for each
platform's search box (:meth:`Query.keywords`, the DNF of its positive part) and (2) a Python
predicate over post text (:meth:`Query.matches`). Pure standard library.

Grammar (NOT binds tightest, then AND, then OR; adjacent terms are ANDed)::

    query   := or EOF
    or      := and ("OR" and)*
    and     := unary (["AND"] unary)*          "a NOT b" reads as "a AND NOT b"
    unary   := "NOT" unary | "(" or ")" | TERM | "PHRASE"

Operators are upper-case words; full-width （）and “” work as well, since that is what a Chinese
keyboard types. Terms match as substrings (Chinese has no word boundaries), case-insensitively
and after NFKC folding, so ``ＡＢＣ`` matches ``abc``.
"""

from __future__ import annotations

import itertools
import math
import re
import unicodedata
from dataclasses import dataclass
from typing import TYPE_CHECKING

from crawlers.errors import ConfigError

if TYPE_CHECKING:
    from collections.abc import Iterable

    from crawlers.items import Post

__all__ = [
    "Query",
    "QueryError",
    "QuerySyntaxError",
    "match",
    "normalize_text",
    "parse",
    "parse_query",
    "post_text",
]

OPERATORS = ("AND", "OR", "NOT")
_OPEN, _CLOSE = "(（", ")）"
_QUOTES = {'"': '"', "“": "”", "”": "”"}
_SPECIAL = set(_OPEN + _CLOSE) | set(_QUOTES)
DEFAULT_MAX_KEYWORDS = 16


class QueryError(ConfigError):
    """A query that cannot be used; the message says how to fix it."""


class QuerySyntaxError(QueryError):
    """A query that does not parse. ``position`` is the 0-based character offset of the problem;
    ``str()`` shows the query with a caret under it."""

    def __init__(self, message: str, position: int, text: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.position = position
        self.text = text

    def __str__(self) -> str:
        if not self.text:
            return f"{self.message} (at position {self.position})"
        # Chinese characters take two terminal columns; pad the caret to match.
        pad = sum(2 if unicodedata.east_asian_width(c) in "WF" else 1
                  for c in self.text[: self.position])
        return (f"{self.message} (at position {self.position})\n"
                f"  {self.text}\n  {' ' * pad}^")


def normalize_text(text: str) -> str:
    """Fold ``text`` for matching: NFKC, case-folded, whitespace runs collapsed to one space.

    >>> normalize_text("Ｂrand　A\\n投诉")
    'brand a 投诉'
    """
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


# -- syntax tree -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Term:
    text: str
    phrase: bool
    pos: int

    @property
    def needle(self) -> str:
        return normalize_text(self.text)

    def __str__(self) -> str:
        bare = (not self.phrase and self.text not in OPERATORS
                and not any(c.isspace() or c in _SPECIAL for c in self.text))
        if bare:
            return self.text
        return f"“{self.text}”" if '"' in self.text else f'"{self.text}"'


@dataclass(frozen=True)
class Not:
    child: Node
    pos: int

    def __str__(self) -> str:
        return f"NOT {_wrap(self.child)}"


@dataclass(frozen=True)
class And:
    children: tuple[Node, ...]

    def __str__(self) -> str:
        return " AND ".join(_wrap(c) for c in self.children)


@dataclass(frozen=True)
class Or:
    children: tuple[Node, ...]

    def __str__(self) -> str:
        return " OR ".join(_wrap(c) if isinstance(c, Or) else str(c) for c in self.children)


Node = Term | Not | And | Or


def _wrap(node: Node) -> str:
    return f"({node})" if isinstance(node, (And, Or)) else str(node)


def _evaluate(node: Node, haystack: str) -> bool:
    if isinstance(node, Term):
        return node.needle in haystack
    if isinstance(node, Not):
        return not _evaluate(node.child, haystack)
    if isinstance(node, And):
        return all(_evaluate(c, haystack) for c in node.children)
    return any(_evaluate(c, haystack) for c in node.children)


def _negated_terms(node: Node, negate: bool = False) -> list[Term]:
    """The terms under an odd number of NOTs: what the query excludes."""
    if isinstance(node, Term):
        return [node] if negate else []
    if isinstance(node, Not):
        return _negated_terms(node.child, not negate)
    return [t for c in node.children for t in _negated_terms(c, negate)]


Clause = tuple[tuple[Term, ...], tuple[Term, ...]]  # (positive terms, negated terms)


_DNF_LIMIT = 4096  # clauses; far beyond any useful max_keywords, stops a runaway expansion


def _dnf(node: Node, negate: bool = False) -> list[Clause]:
    """Disjunctive normal form, NOT pushed down to the terms (De Morgan)."""
    if isinstance(node, Term):
        return [((), (node,))] if negate else [((node,), ())]
    if isinstance(node, Not):
        return _dnf(node.child, not negate)
    conjunction = isinstance(node, And) != negate
    parts = [_dnf(c, negate) for c in node.children]
    size = math.prod(map(len, parts)) if conjunction else sum(map(len, parts))
    if size > _DNF_LIMIT:
        raise QueryError(f"the query expands to more than {_DNF_LIMIT} term combinations: "
                         "factor out common terms or split it into several monitors")
    if not conjunction:
        return [clause for part in parts for clause in part]
    out: list[Clause] = []
    for combo in itertools.product(*parts):
        out.append((tuple(t for pos, _ in combo for t in pos),
                    tuple(t for _, neg in combo for t in neg)))
    return out


# -- the query -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Query:
    """A parsed query. ``str(query)`` is its canonical text (it parses back to the same query)."""

    source: str
    root: Node

    def __str__(self) -> str:
        return str(self.root)

    def matches(self, text: str) -> bool:
        """Whether ``text`` satisfies the query (substring terms, case-insensitive).

        >>> parse_query("品牌A (投诉 OR 退款) NOT 招聘").matches("品牌a的退款太慢")
        True
        """
        return _evaluate(self.root, normalize_text(text))

    def matches_post(self, post: Post) -> bool:
        """Whether the post's title and text satisfy the query."""
        return self.matches(post_text(post))

    def select(self, posts: Iterable[Post]) -> list[Post]:
        """The posts that match, plus every post in the thread or cascade of a matching post.

        A comment "太慢了" under a post about 品牌A 退款 is part of the conversation even though
        it does not repeat the brand, so replies, comments and reposts whose parent or root
        matched are kept (the NOT part still drops a post whose own text it excludes).
        Order is preserved.

        >>> from crawlers.items import Post
        >>> q = parse_query("品牌A NOT 招聘")
        >>> posts = [Post("weibo", "1", text="品牌A 又出问题"),
        ...          Post("weibo", "2", text="同感", root_post_id="1"),
        ...          Post("weibo", "3", text="无关"),
        ...          Post("weibo", "4", text="品牌A招聘", root_post_id="1")]
        >>> [p.post_id for p in q.select(posts)]
        ['1', '2']
        """
        posts = list(posts)
        own = [self.matches_post(p) for p in posts]
        matched = {(p.platform, p.post_id) for p, ok in zip(posts, own, strict=True) if ok}
        excluded = {(p.platform, p.post_id) for p, ok in zip(posts, own, strict=True)
                    if not ok and self._rejects(p)}
        keep = []
        for p, ok in zip(posts, own, strict=True):
            refs = (p.root_post_id, p.parent_post_id)
            linked = any((p.platform, ref) in matched for ref in refs if ref)
            if ok or (linked and (p.platform, p.post_id) not in excluded):
                keep.append(p)
        return keep

    def _rejects(self, post: Post) -> bool:
        """True when the post's own text hits a NOT term (whatever else it says, it is out)."""
        text = normalize_text(post_text(post))
        return any(_evaluate(term, text) for term in _negated_terms(self.root))

    def keywords(self, max_keywords: int = DEFAULT_MAX_KEYWORDS) -> list[str]:
        """The searches to run: one per alternative of the positive part, terms space-joined.

        An alternative that includes another (``a b`` beside ``a``) is dropped because the
        broader search already finds its posts; NOT terms are left to :meth:`matches`.

        :raises QueryError: when an alternative has no positive term (``a OR NOT b`` would have
            to search for everything) or there are more than ``max_keywords`` alternatives.

        >>> parse_query("品牌A AND (投诉 OR 退款) NOT 招聘").keywords()
        ['品牌A 投诉', '品牌A 退款']
        """
        sets: list[tuple[str, ...]] = []
        for positive, negative in _dnf(self.root):
            if not positive:
                at = negative[0].pos if negative else 0
                raise QuerySyntaxError(
                    "this alternative has only NOT terms, so there is nothing to search for: "
                    "add a positive term to it (e.g. 品牌A NOT 招聘)", at, self.source)
            # Commas separate keywords on a spider's command line; a space searches the same.
            words = tuple(dict.fromkeys(" ".join(t.text.replace(",", " ").split())
                                        for t in positive))
            if any(set(words) >= set(prev) for prev in sets):
                continue
            sets = [prev for prev in sets if not set(prev) >= set(words)] + [words]
        if len(sets) > max_keywords:
            raise QueryError(
                f"the query expands to {len(sets)} searches per platform (limit {max_keywords}): "
                "factor out common terms or split it into several monitors")
        return [" ".join(words) for words in sets]

    def terms(self) -> list[str]:
        """Every term and phrase, in order of appearance (positive and negated)."""
        out: list[str] = []

        def walk(node: Node) -> None:
            if isinstance(node, Term):
                out.append(node.text)
            elif isinstance(node, Not):
                walk(node.child)
            else:
                for child in node.children:
                    walk(child)

        walk(self.root)
        return out


# -- parser ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Token:
    kind: str  # "(", ")", "AND", "OR", "NOT", "TERM", "PHRASE", "EOF"
    text: str
    pos: int


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
        elif c in _OPEN or c in _CLOSE:
            tokens.append(_Token("(" if c in _OPEN else ")", c, i))
            i += 1
        elif c in _QUOTES:
            end = text.find(_QUOTES[c], i + 1)
            if end < 0 and c != '"':
                end = text.find('"', i + 1)
            if end < 0:
                raise QuerySyntaxError("unterminated phrase: close the quote", i, text)
            phrase = " ".join(text[i + 1:end].split())
            if not phrase:
                raise QuerySyntaxError("empty phrase: put words between the quotes", i, text)
            tokens.append(_Token("PHRASE", phrase, i))
            i = end + 1
        else:
            j = i
            while j < n and not text[j].isspace() and text[j] not in _SPECIAL:
                j += 1
            word = text[i:j]
            if word.upper() in OPERATORS and word not in OPERATORS:
                # '品牌A or 品牌B' used to search for the word "or" ANDed with both brands
                raise QuerySyntaxError(
                    f"operators are upper case: write {word.upper()} for the operator, or "
                    f"\"{word}\" to search for the word", i, text)
            tokens.append(_Token(word if word in OPERATORS else "TERM", word, i))
            i = j
    tokens.append(_Token("EOF", "", n))
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.i = 0

    @property
    def tok(self) -> _Token:
        return self.tokens[self.i]

    def fail(self, message: str, tok: _Token | None = None) -> QuerySyntaxError:
        return QuerySyntaxError(message, (tok or self.tok).pos, self.text)

    def parse(self) -> Node:
        if self.tok.kind == "EOF":
            raise self.fail("empty query: give at least one term, e.g. 品牌A")
        node = self.parse_or()
        if self.tok.kind == ")":
            raise self.fail("unmatched ')': remove it or add a '(' before it")
        if self.tok.kind != "EOF":  # pragma: no cover - every other token starts a unary
            raise self.fail(f"unexpected {self.tok.text!r}")
        return node

    def parse_or(self) -> Node:
        children = [self.parse_and()]
        while self.tok.kind == "OR":
            self.i += 1
            children.append(self.parse_and())
        return children[0] if len(children) == 1 else Or(tuple(children))

    def parse_and(self) -> Node:
        children = [self.parse_unary()]
        while self.tok.kind in ("AND", "NOT", "TERM", "PHRASE", "("):
            if self.tok.kind == "AND":
                self.i += 1
            children.append(self.parse_unary())
        return children[0] if len(children) == 1 else And(tuple(children))

    def parse_unary(self) -> Node:
        tok = self.tok
        if tok.kind == "NOT":
            self.i += 1
            return Not(self.parse_unary(), tok.pos)
        if tok.kind in ("TERM", "PHRASE"):
            self.i += 1
            return Term(tok.text, tok.kind == "PHRASE", tok.pos)
        if tok.kind == "(":
            self.i += 1
            if self.tok.kind == ")":
                raise self.fail("empty parentheses: put a term inside or remove them")
            node = self.parse_or()
            if self.tok.kind != ")":
                raise self.fail("unclosed '(': add a ')' to close it", tok)
            self.i += 1
            return node
        prev = self.tokens[self.i - 1] if self.i else None
        after = f" after {prev.text}" if prev and prev.kind in OPERATORS else ""
        if tok.kind == "EOF":
            raise self.fail(f"the query ends too early: expected a term{after}")
        if tok.kind == ")":
            raise self.fail(f"expected a term{after} before ')'")
        raise self.fail(f"expected a term{after}, not the operator {tok.text} "
                        f"(quote it, \"{tok.text}\", to search for the word)")


def parse_query(text: str) -> Query:
    """Parse a monitor query.

    :raises QuerySyntaxError: with the 0-based ``position`` of the problem.

    >>> str(parse_query('品牌A (投诉 OR 退款) NOT 招聘'))
    '品牌A AND (投诉 OR 退款) AND NOT 招聘'
    """
    _check_size(text)
    return Query(text, _Parser(text).parse())


MAX_QUERY_CHARS = 4000
MAX_QUERY_DEPTH = 32  # nested parentheses and NOTs; the parser recurses once per level


def _check_size(text: str) -> None:
    """Refuse queries no platform search could take, before the recursive parser meets them."""
    if len(text) > MAX_QUERY_CHARS:
        raise QuerySyntaxError(f"the query is {len(text):,} characters long; at most "
                               f"{MAX_QUERY_CHARS:,}: split it into several monitors",
                               MAX_QUERY_CHARS, text[:MAX_QUERY_CHARS + 20])
    depth = nots = 0
    for m in re.finditer(r"\S+", text):
        nots = nots + 1 if m.group() == "NOT" else 0
        if nots > MAX_QUERY_DEPTH:
            raise QuerySyntaxError(f"more than {MAX_QUERY_DEPTH} NOTs in a row", m.start(), text)
    for pos, c in enumerate(text):
        depth += c in _OPEN
        depth -= c in _CLOSE
        if depth > MAX_QUERY_DEPTH:
            raise QuerySyntaxError(f"parentheses nested deeper than {MAX_QUERY_DEPTH}", pos, text)


def post_text(post: Post) -> str:
    """What a query is matched against: the title (articles, threads) and the text."""
    return f"{post.title}\n{post.text}" if post.title else post.text


parse = parse_query


def match(query: Query | str, item: Post | str) -> bool:
    """``parse_query(query).matches…`` for a post or a text, when a one-off call reads better."""
    compiled = parse_query(query) if isinstance(query, str) else query
    return compiled.matches(item) if isinstance(item, str) else compiled.matches_post(item)
