"""Parent resolution: turn posts into a :class:`~graph.forest.CascadeForest`, repairing bad input.

Order, per post: ``parent_post_id`` when that post is in the same cascade; else the latest
earlier post of ``parent_author_id`` in the cascade; else the ``parent_author_name`` and
``repost_path`` names (nearest first) matched by screen name among the given authors and the
cascade's posts; the unmatched part of that chain becomes placeholders hanging from the first
matched post (or the root). A post with no parent information at all hangs from the root.
Placeholders: ``"missing:<post id>"``, ``"name:<screen name>"``, ``"author:<author id>"``.

Pure Python + numpy; no I/O. The hot path is flat loops and list comprehensions (a million
posts resolve in seconds); only posts that need a fallback take the slow path.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Hashable, Iterable
from typing import TYPE_CHECKING

import numpy as np

from .forest import LABELS, STAT_KEYS, CascadeForest

if TYPE_CHECKING:
    from crawlers.items import Author, Post

__all__ = ["resolve_forest"]

_INF = float("inf")
_POS, _NEG = 0.6, 0.4  # label band for posts that have a score but no label
_MERGED = ("parent_post_id", "root_post_id", "parent_author_id", "parent_author_name",
           "created_at", "author_id", "author_name", "sentiment", "sentiment_label")


def _group(posts: Iterable[Post], kinds: Iterable[str] | None, stats: Counter[str]
           ) -> tuple[dict[tuple[str, str], list[Post]], set[tuple[str, str]]]:
    """Merge duplicate records, then group posts by (platform, root id)."""
    seen: dict[tuple[str, str], Post] = {}
    keep = None if kinds is None else set(kinds)
    for p in posts:
        if keep is not None and p.kind not in keep:
            continue
        k = (p.platform, p.post_id)
        old = seen.get(k)
        if old is None:
            seen[k] = p
            continue
        stats["duplicate_edges"] += 1
        for f in _MERGED:  # a later record may know what the first did not
            if getattr(old, f) is None and getattr(p, f) is not None:
                setattr(old, f, getattr(p, f))
    roots: dict[tuple[str, str], str] = {}
    cyclic: set[tuple[str, str]] = set()

    def root_of(p: Post) -> str:
        path: list[Post] = []
        on_path: set[str] = set()
        cur = p
        while True:
            if cur.root_post_id:
                r = cur.root_post_id
                break
            known = roots.get((cur.platform, cur.post_id))
            if known is not None:
                r = known
                break
            pid = cur.parent_post_id
            if not pid or pid == cur.post_id:
                r = cur.post_id
                break
            nxt = seen.get((cur.platform, pid))
            if nxt is None:
                r = pid  # the top of what was collected points at an uncollected post
                break
            path.append(cur)
            on_path.add(cur.post_id)
            if nxt.post_id in on_path:  # a parent cycle and no root id: root at its least id
                r = min(on_path)
                cyclic.add((cur.platform, r))
                break
            cur = nxt
        for q in path:
            roots[(q.platform, q.post_id)] = r
        return r

    groups: dict[tuple[str, str], list[Post]] = defaultdict(list)
    for p in seen.values():
        groups[(p.platform, p.root_post_id or root_of(p))].append(p)
    return groups, cyclic


class _Builder:
    """Columns of the forest under construction, the author index and the repair counters."""

    def __init__(self, authors: list[Author], multi: bool, n_cascades: int) -> None:
        self.multi = multi
        self.akeys: dict[Hashable, int] = {}
        self.anames: list[str | None] = []
        self.araw: list[tuple[str, str | None]] = []
        self.known_names = {(a.platform, a.author_id): a.name for a in authors}
        self.authors = authors
        self.name_ids: dict[tuple[str, str], str | None] | None = None  # built when first needed
        self.stats: Counter[str] = Counter(dict.fromkeys(STAT_KEYS, 0))
        self.cstats: dict[int, Counter[str]] = {}
        # Placeholder rows, appended after the post rows.
        self.ph_nodes: list[str] = []
        self.ph_tree: list[int] = []
        self.ph_author: list[int] = []

    def count(self, c: int, what: str, n: int = 1) -> None:
        self.stats[what] += n
        self.cstats.setdefault(c, Counter())[what] += n

    def _new(self, key: Hashable, platform: str, raw: str | None, name: str | None) -> int:
        idx = self.akeys[key] = len(self.anames)
        self.anames.append(name)
        self.araw.append((platform, raw))
        return idx

    def author(self, platform: str, author_id: str | None, name: str | None) -> int:
        """Author index for an id, else for a screen name (a ``name:`` key if unmatched)."""
        if author_id is None and name:
            if self.name_ids is None:
                self.index_names()
            author_id = self.name_ids.get((platform, name))  # type: ignore[union-attr]
        if author_id is not None:
            key = f"{platform}:{author_id}" if self.multi else author_id
            idx = self.akeys.get(key)
            if idx is None:
                name = self.known_names.get((platform, author_id)) or name
                return self._new(key, platform, author_id, name)
        elif name:
            key = f"{platform}:name:{name}" if self.multi else f"name:{name}"
            idx = self.akeys.get(key)
            if idx is None:
                return self._new(key, platform, None, name)
        else:
            return -1
        if name and self.anames[idx] is None:
            self.anames[idx] = name
        return idx

    def index_names(self) -> None:
        """Screen name → author id over the given authors and every post's author.

        Called once every post's author is indexed; an ambiguous screen name (forums allow
        duplicates) maps to None and so matches no account.
        """
        ids: dict[tuple[str, str], str | None] = {}
        pairs = [((a.platform, a.name), a.author_id) for a in self.authors if a.name]
        pairs += [((plat, name), raw)
                  for (plat, raw), name in zip(self.araw, self.anames, strict=True)
                  if raw is not None and name]
        for key, raw in pairs:
            old = ids.setdefault(key, raw)
            if old is not None and old != raw:
                ids[key] = None
        self.name_ids = ids

    def placeholder(self, key: str, c: int, author: int) -> int:
        self.ph_nodes.append(key)
        self.ph_tree.append(c)
        self.ph_author.append(author)
        return len(self.ph_nodes) - 1  # caller offsets by the number of post rows


class _Fallback:
    """Slow-path resolution inside one cascade: author and name look-ups, placeholders."""

    def __init__(self, b: _Builder, c: int, platform: str, rows: range, root: int,
                 author: np.ndarray, time: list[float], n_posts: int) -> None:
        self.b, self.c, self.platform, self.root = b, c, platform, root
        self.time, self.n_posts = time, n_posts
        self.local: dict[str, int] = {}
        # The cascade's posts sorted by (author, time, row): each look-up is two bisections.
        idx = np.arange(rows.start, rows.stop)
        t = np.nan_to_num(np.asarray(time[rows.start : rows.stop]), nan=_INF)
        a = author[rows.start : rows.stop]
        order = np.lexsort((idx, t, a))
        self.sa, self.st, self.si = a[order], t[order], idx[order]

    def find(self, author: int, t: float, me: int) -> int | None:
        """Latest row of ``author`` not after ``t`` (the earliest when ``t`` is unknown)."""
        if author < 0:
            return None
        lo = int(np.searchsorted(self.sa, author, "left"))
        hi = int(np.searchsorted(self.sa, author, "right"))
        if t == t:
            hi = lo + int(np.searchsorted(self.st[lo:hi], t, "right"))
            rng = range(hi - 1, lo - 1, -1)
        else:
            rng = range(lo, hi)
        return next((int(self.si[k]) for k in rng if self.si[k] != me), None)

    def resolve(self, i: int, p: Post, pid: str | None, parent: list[int]) -> None:
        b, c, plat = self.b, self.c, self.platform
        t = self.time[i]
        if p.parent_author_id is not None:
            j = self.find(b.author(plat, p.parent_author_id, p.parent_author_name), t, i)
            if j is not None:
                b.count(c, "resolved_by_author")
                parent[i] = j
                return
        chain = list(p.repost_path)
        if p.parent_author_name and (not chain or chain[0] != p.parent_author_name):
            chain.insert(0, p.parent_author_name)
        found, k = self.root, len(chain)
        for n, name in enumerate(chain):
            j = self.find(b.author(plat, None, name), t, i)
            if j is not None:
                found, k = j, n
                break
        if chain and k == 0:
            b.count(c, "resolved_by_name")
            parent[i] = found
            return
        if pid is None and p.parent_author_id is None and not chain:
            parent[i] = self.root
            return
        # Placeholders: the immediate parent, then the unmatched names above it.
        if pid is not None:
            first, what = f"missing:{pid}", "missing_parents"
        elif chain:
            first, what = f"name:{chain[0]}", "unresolved_names"
        else:
            first, what = f"author:{p.parent_author_id}", "missing_parents"
        steps = [(first, b.author(plat, p.parent_author_id, chain[0] if chain else None), what)]
        steps += [(f"name:{n}", b.author(plat, None, n), "unresolved_names") for n in chain[1:k]]
        child = i
        for key, author, counter in steps:
            j = self.local.get(key)
            if j is not None:  # an existing placeholder already hangs somewhere
                parent[child] = j
                return
            j = self.local[key] = self.n_posts + b.placeholder(key, c, author)
            parent.append(-2)
            parent[child] = j
            b.count(c, counter)
            child = j
        parent[child] = found


def resolve_forest(posts: Iterable[Post], authors: Iterable[Author] = (),
                   kinds: Iterable[str] | None = None) -> CascadeForest:
    """Every cascade of ``posts`` as a forest; see :func:`graph.build.cascade_forest`."""
    authors = list(authors)
    pre: Counter[str] = Counter()
    groups, cyclic = _group(posts, kinds, pre)
    keys = list(groups)
    multi = len({plat for plat, _ in keys}) > 1
    b = _Builder(authors, multi, len(keys))
    b.stats.update(pre)
    ordered = [p for g in groups.values() for p in g]
    n = len(ordered)
    sizes = np.array([len(g) for g in groups.values()], np.int64)
    tree = np.repeat(np.arange(len(keys)), sizes)
    tree_l = tree.tolist()
    starts = (np.cumsum(sizes) - sizes).tolist()

    author: list[int] = []
    anames, akeys = b.anames, b.akeys
    for p in ordered:  # hot loop 1: author index
        aid = p.author_id
        if aid is None:
            author.append(-3)  # by screen name, once every name is known
            continue
        idx = akeys.get(f"{p.platform}:{aid}" if multi else aid)
        if idx is None:
            idx = b.author(p.platform, aid, p.author_name)
        elif anames[idx] is None and p.author_name:
            anames[idx] = p.author_name
        author.append(idx)
    for i in [i for i, a in enumerate(author) if a == -3]:
        author[i] = b.author(ordered[i].platform, None, ordered[i].author_name)
    time = [np.nan if p.created_at is None else p.created_at.timestamp() for p in ordered]
    sent = np.array([np.nan if p.sentiment is None else p.sentiment for p in ordered], np.float64)
    label = np.array([LABELS.get(p.sentiment_label, -2) for p in ordered], np.int8)
    scored = (label == -2) & ~np.isnan(sent)
    label[scored] = np.where(sent[scored] >= _POS, 1, np.where(sent[scored] <= _NEG, -1, 0))
    author_arr = np.array(author, np.int64)
    for what, mask in (("missing_times", np.isnan(np.array(time, np.float64))),
                       ("missing_authors", author_arr < 0)):
        per = np.bincount(tree[mask], minlength=len(keys))
        for c in np.flatnonzero(per).tolist():
            b.count(c, what, int(per[c]))

    rows: dict[str, dict[str, int]] = defaultdict(dict)
    for i, p in enumerate(ordered):
        rows[p.platform][p.post_id] = i
    root_row: list[int] = []
    for c, (plat, root_id) in enumerate(keys):
        r = rows[plat].get(root_id)
        if r is None or tree_l[r] != c:
            b.count(c, "missing_parents")
            r = n + b.placeholder(f"missing:{root_id}", c, -1)
        if (plat, root_id) in cyclic:
            b.count(c, "cycles_broken")
        root_row.append(r)
    parent = [-2] * (n + len(b.ph_nodes))
    for r in root_row:
        parent[r] = -1
    slow: list[tuple[int, str | None]] = []
    only = rows[keys[0][0]] if keys and not multi else None
    for i, p in enumerate(ordered):  # hot loop 2: parents found by id
        pid = p.parent_post_id
        if parent[i] == -1:
            continue
        c = tree_l[i]
        if pid is not None:
            if pid == p.post_id:
                b.count(c, "self_loops")
                pid = None
            else:
                j = (only if only is not None else rows[p.platform]).get(pid)
                if j is not None and tree_l[j] == c:
                    parent[i] = j
                    continue
                if pid == keys[c][1]:
                    parent[i] = root_row[c]
                    continue
        if pid is None and p.parent_author_id is None and not p.parent_author_name \
                and not p.repost_path:
            parent[i] = root_row[c]  # a direct repost of, or comment on, the root
            continue
        slow.append((i, pid))
    helpers: dict[int, _Fallback] = {}
    # Earliest first, so a shared placeholder always hangs above the posts that reuse it.
    slow.sort(key=lambda ip: (time[ip[0]] if time[ip[0]] == time[ip[0]] else _INF, ip[0]))
    for i, pid in slow:
        c = tree_l[i]
        h = helpers.get(c)
        if h is None:
            rows_c = range(starts[c], starts[c] + int(sizes[c]))
            h = helpers[c] = _Fallback(b, c, keys[c][0], rows_c, root_row[c], author_arr, time, n)
        h.resolve(i, ordered[i], pid, parent)
    return _assemble(b, keys, ordered, tree, parent, author, time, sent, label, multi)


def _assemble(b: _Builder, keys: list[tuple[str, str]], ordered: list[Post], tree: np.ndarray,
              parent: list[int], author: list[int], time: list[float], sent: np.ndarray,
              label: np.ndarray, multi: bool) -> CascadeForest:
    """Reorder rows so each cascade is contiguous with its root first, then cut cycles."""
    m = len(b.ph_nodes)
    tree_all = np.concatenate([tree, np.array(b.ph_tree, np.int64)]).astype(np.int64)
    par = np.array(parent, np.int64)
    perm = np.argsort(tree_all * 2 + (par != -1), kind="stable")
    inv = np.empty_like(perm)
    inv[perm] = np.arange(len(perm))
    par = par[perm]
    par[par >= 0] = inv[par[par >= 0]]
    nodes = [p.post_id for p in ordered] + b.ph_nodes
    kinds = [p.kind for p in ordered] + [None] * m
    order = perm.tolist()
    offsets = np.searchsorted(tree_all[perm], np.arange(len(keys) + 1))
    forest = CascadeForest(
        [f"{plat}:{root}" if multi else root for plat, root in keys], offsets,
        [nodes[i] for i in order], par,
        time=np.concatenate([np.array(time, np.float64), np.full(m, np.nan)])[perm],
        author=np.concatenate([np.array(author, np.int64), np.array(b.ph_author, np.int64)])[perm],
        author_keys=list(b.akeys), author_names=b.anames,
        label=np.concatenate([label, np.full(m, -2, np.int8)])[perm],
        sentiment=np.concatenate([sent, np.full(m, np.nan)])[perm],
        kind=[kinds[i] for i in order],
        placeholder=np.r_[np.zeros(len(ordered), bool), np.ones(m, bool)][perm],
        platforms=[plat for plat, _ in keys], stats=b.stats, cascade_stats=b.cstats,
    )
    forest.break_cycles()
    return forest
