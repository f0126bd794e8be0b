"""Near-duplicates and events: quality on labelled real posts, speed at 100,000 / 1,000,000 posts.

    python bench/bench_events.py                    # quality + 100,000 posts
    python bench/bench_events.py --million          # quality + 100,000 + 1,000,000 posts
    python bench/bench_events.py --write-fixtures   # the labelled sets from --data (the tests
                                                    # build them in a temporary folder)

Quality (on tests/fixtures/why_events, see its README): pair precision and recall of
near_duplicates against real texts and generated copy-paste variants; purity and NMI of
find_events against real posts labelled by the keyword or source they were found with.
Speed: windows built from the real corpora in --data (../shared/datasets/sentiment). Most
posts are distinct real texts; once the corpora run out, 3 to 6 pieces of 6 to 12 characters
of random real texts are stitched together. 30% of posts are copy-paste variants in campaigns:
one original in 50 is copied, and the k-th largest campaign gets ~1/k of the copies. 10% are
reposts of an earlier post. Timed are near_duplicates, and find_events, which runs the
near-duplicate step itself. Generating the posts is not counted. Peak memory is the process's
max RSS, posts included.
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import sys
import time
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from crawlers.items import Post  # noqa: E402
from scoring.why.dedup import match_text, near_duplicates  # noqa: E402
from scoring.why.events import find_events  # noqa: E402

DEFAULT_DATA = REPO.parent / "shared" / "datasets" / "sentiment"
SHARED_FIXTURES = REPO.parent / "shared" / "fixtures"
FIXTURES = REPO / "tests" / "fixtures" / "why_events"
START = datetime(2026, 3, 1, tzinfo=UTC)
TARGET_SECONDS = 20.0
TARGETS = {"precision": 0.9, "recall": 0.9, "purity": 0.85}

# --- metrics -------------------------------------------------------------------------------


def pair_scores(truth: Sequence[str], predicted: Sequence[int]) -> tuple[float, float]:
    """Pair precision and recall: of the pairs put in one group, the share truly together, and
    of the pairs truly together, the share put in one group."""
    def pairs(labels: Sequence[object]) -> set[tuple[int, int]]:
        groups: dict[object, list[int]] = {}
        for n, label in enumerate(labels):
            groups.setdefault(label, []).append(n)
        return {(a, b) for g in groups.values() for i, a in enumerate(g) for b in g[i + 1:]}

    true, found = pairs(truth), pairs(predicted)
    hit = len(true & found)
    return (hit / len(found) if found else 1.0, hit / len(true) if true else 1.0)


def purity(truth: Sequence[str], predicted: Sequence[int]) -> float:
    """Share of posts whose cluster's majority label is their own."""
    by_cluster: dict[int, Counter[str]] = {}
    for label, cluster in zip(truth, predicted, strict=True):
        by_cluster.setdefault(cluster, Counter())[label] += 1
    return sum(c.most_common(1)[0][1] for c in by_cluster.values()) / len(truth)


def nmi(truth: Sequence[str], predicted: Sequence[int]) -> float:
    """Normalised mutual information, arithmetic mean of the entropies (sklearn's default)."""
    _, t = np.unique(np.asarray(truth), return_inverse=True)
    _, p = np.unique(np.asarray(predicted), return_inverse=True)
    joint = np.zeros((t.max() + 1, p.max() + 1))
    np.add.at(joint, (t, p), 1.0)
    joint /= joint.sum()
    pt, pp = joint.sum(axis=1), joint.sum(axis=0)
    nz = joint > 0
    mi = float((joint[nz] * np.log(joint[nz] / np.outer(pt, pp)[nz])).sum())
    ht = float(-(pt[pt > 0] * np.log(pt[pt > 0])).sum())
    hp = float(-(pp[pp > 0] * np.log(pp[pp > 0])).sum())
    return 1.0 if ht + hp == 0 else 2.0 * mi / (ht + hp)


# --- the labelled fixtures -----------------------------------------------------------------


def read_jsonl(path: Path) -> list[dict[str, object]]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def fixture_posts(rows: Sequence[dict[str, object]]) -> list[Post]:
    """Posts of a fixture file, one a minute from START in file order unless a row has
    ``minute``."""
    return [Post(str(r.get("platform", "weibo")), str(r["id"]), str(r["text"]),
                 created_at=START + timedelta(minutes=float(str(r.get("minute", n)))),
                 author_id=str(r.get("author", f"a{n}")),
                 root_post_id=str(r["root"]) if r.get("root") else None)
            for n, r in enumerate(rows)]


def dedup_quality(path: Path = FIXTURES / "near_duplicates.jsonl") -> dict[str, float]:
    rows = read_jsonl(path)
    posts = fixture_posts(rows)
    group_of = {}
    for n, g in enumerate(near_duplicates(posts, min_size=1)):
        for key in g.members:
            group_of[key] = n
    precision, recall = pair_scores([str(r["group"]) for r in rows],
                                    [group_of[p.key] for p in posts])
    return {"precision": precision, "recall": recall}


def event_quality(path: Path = FIXTURES / "events.jsonl") -> dict[str, float]:
    rows = read_jsonl(path)
    posts = fixture_posts(rows)
    event_of = {}
    for n, e in enumerate(find_events(posts)):
        for key in e.members:
            event_of[key] = n
    # a post in no event (no words) counts as a cluster of its own
    predicted = [event_of.get(p.key, -1 - n) for n, p in enumerate(posts)]
    truth = [str(r["label"]) for r in rows]
    return {"purity": purity(truth, predicted), "nmi": nmi(truth, predicted),
            "events": float(len(set(predicted)))}


# --- building the fixtures from real text (--write-fixtures) -----------------------------

EVENT_RULES = {  # label → (corpus, keyword pattern); a post matching two rules is left out
    "chengdu_school": ("weibo_comments_polarity", r"49中|四十九中|成都.{0,6}坠亡|成都.{0,4}坠楼"),
    "li_xincao": ("weibo_comments_polarity", r"李心草"),
    "anyang_dog": ("weibo_comments_polarity", r"安阳|狗咬人|牵狗|狗伤人"),
    "jinan_clinic": ("weibo_comments_polarity", r"整形"),
    "yuan_longping": ("weibo_comments_polarity", r"袁隆平|袁老|稻花香|杂交水稻"),
    "tianjin_doctor": ("weibo_emotion", r"天津医生"),
    "masks": ("weibo_emotion", r"口罩"),
    "fangcang": ("weibo_emotion", r"方舱"),
}
PER_EVENT = 120
NAMES = ["小王同学", "吃瓜群众", "新闻哥", "路人甲", "momo", "阿飞", "热心网友", "一只小透明"]
COMMENTS = ["转发", "说得好", "同意", "哈哈哈", "顶", "支持", "关注", "太过分了", "真的假的"]
EMOJI = ["[哈哈]", "[怒]", "[doge]", "[泪]", "😂", "👍", "🙏", "[赞]", "[允悲]"]


def edit(text: str, rng: np.random.Generator) -> str:
    """Insert, delete or substitute one word character (a typo or a dodge of a filter)."""
    spots = [n for n, c in enumerate(text) if c.isalnum()]
    if not spots:
        return text
    at = spots[int(rng.integers(len(spots)))]
    other = text[spots[int(rng.integers(len(spots)))]]
    op = int(rng.integers(3))
    if op == 0:
        return text[:at] + other + text[at:]
    if op == 1:
        return text[:at] + text[at + 1:]
    return text[:at] + other + text[at + 1:]


def variant(text: str, rng: np.random.Generator) -> tuple[str, str]:
    """A copy-paste variant of ``text`` and how it was made.

    Edits: none below 40 cleaned characters (there one changed character makes a different
    short text), else up to one per 40 characters. Then one to three decorations: 转发微博,
    emoji or [表情], @mentions, a t.cn link, a //@ repost chain (with or without a short
    comment), changed punctuation.
    """
    n_chars = len(match_text(text))
    edits = int(rng.integers(n_chars // 40 + 1)) if n_chars >= 40 else 0
    for _ in range(edits):
        text = edit(text, rng)
    how = [f"edits={edits}"]
    name = NAMES[int(rng.integers(len(NAMES)))]
    kinds = ["tag", "emoji", "mention", "url", "chain", "punct"]
    for kind in rng.choice(kinds, size=int(rng.integers(1, 4)), replace=False).tolist():
        how.append(kind)
        if kind == "tag":
            text = ("转发微博 " + text) if rng.random() < 0.5 else (text + " 转发微博")
        elif kind == "emoji":
            picks = rng.integers(len(EMOJI), size=int(rng.integers(1, 4)))
            text += "".join(EMOJI[int(i)] for i in picks)
        elif kind == "mention":
            text = f"@{name} " + text if rng.random() < 0.5 else text + f" @{name} @{NAMES[0]}"
        elif kind == "url":
            text += " http://t.cn/A6" + "".join(rng.choice(list("abcdefXYZ0123"), 5).tolist())
        elif kind == "chain":
            other = NAMES[int(rng.integers(len(NAMES)))]
            lead = COMMENTS[int(rng.integers(len(COMMENTS)))] if rng.random() < 0.5 else ""
            text = f"{lead}//@{name}: //@{other}:{text}"
        else:
            text = re.sub(r"[，。！？]", lambda m: "！！" if m.group() == "！" else " ", text)
    return text, "+".join(how)


def load_corpus(data: Path, name: str) -> list[dict[str, object]]:
    return read_jsonl(data / f"{name}.train.jsonl")


def bigram_set(text: str) -> frozenset[str]:
    s = match_text(text)
    return frozenset(s[i:i + 2] for i in range(len(s) - 1))


def distinct_texts(candidates: Sequence[str], want: int, below: float = 0.5) -> list[str]:
    """Up to ``want`` texts whose cleaned bigram sets all have Jaccard < ``below`` with each
    other (the ground truth of "distinct"), taken in order."""
    chosen: list[str] = []
    sets: list[frozenset[str]] = []
    index: dict[str, list[int]] = {}
    for text in candidates:
        s = bigram_set(text)
        if len(match_text(text)) < 8 or not s:
            continue
        shared: Counter[int] = Counter(j for b in s for j in index.get(b, ()))
        if any(k / (len(s) + len(sets[j]) - k) >= below for j, k in shared.items()):
            continue
        for b in s:
            index.setdefault(b, []).append(len(chosen))
        chosen.append(text)
        sets.append(s)
        if len(chosen) == want:
            break
    return chosen


HASHTAG = re.compile(r"#[^#]{2,40}#")


def hashtag_negatives(data: Path, taken: set[str], per_tag: int = 10,
                      most: int = 200) -> list[str]:
    """Hard negatives: real posts under one shared #hashtag# whose own words differ (bigram
    Jaccard < 0.5 once the hashtag is removed): templated, not copied."""
    by_tag: dict[str, list[str]] = {}
    for name in ("weibo_emotion", "weibo_comments_polarity", "weibo_polarity"):
        for row in load_corpus(data, name):
            text = str(row["text"])[:300]
            tags = HASHTAG.findall(text)
            if len(tags) == 1 and text not in taken:
                by_tag.setdefault("".join(tags[0].split()), []).append(text)
    out: list[str] = []
    for tag in sorted(by_tag, key=lambda t: (-len(by_tag[t]), t)):
        bodies = {HASHTAG.sub(" ", t): t for t in by_tag[tag]}
        out += [bodies[b] for b in distinct_texts(list(bodies), per_tag)]
        if len(out) >= most:
            break
    return out[:most]


def build_dup_fixture(data: Path, rng: np.random.Generator) -> list[dict[str, object]]:
    pool: list[str] = []
    for name in ("weibo_polarity", "weibo_comments_polarity", "weibo_emotion", "offensive",
                 "reviews_polarity"):
        texts = [str(r["text"]) for r in load_corpus(data, name)]
        picks = rng.choice(len(texts), size=min(600, len(texts)), replace=False)
        pool += [texts[int(i)][:300] for i in picks]
    pool = [pool[int(i)] for i in rng.permutation(len(pool))]
    texts = distinct_texts(pool, 1000)
    rows: list[dict[str, object]] = []
    for n, text in enumerate(texts):
        rows.append({"id": f"d{n}", "group": f"d{n}", "text": text, "how": "real"})
        if n < 200:  # the first 200 get copy-paste variants
            for k in range(int(rng.integers(1, 5))):
                changed, how = variant(text, rng)
                rows.append({"id": f"d{n}v{k}", "group": f"d{n}", "text": changed, "how": how})
    for n, text in enumerate(hashtag_negatives(data, set(texts))):
        rows.append({"id": f"h{n}", "group": f"h{n}", "text": text, "how": "real, shares #tag#"})
    order = rng.permutation(len(rows))
    return [rows[int(i)] for i in order]


def _fixture_search_posts() -> list[tuple[str, str, str]]:
    """(label, platform, text) of the recorded search pages in ../shared/fixtures."""
    import lxml.html

    out = []
    page = lxml.html.fromstring(
        (SHARED_FIXTURES / "weibo" / "legacy-s.weibo.com-weibo-search_2017.html").read_bytes())
    for p in page.xpath('//p[@class="comment_txt"]'):
        out.append(("search_chen_yufan", "weibo", " ".join(p.text_content().split())))
    page = lxml.html.fromstring(
        (SHARED_FIXTURES / "wechat" / "sogou-weixin-search-article_type2.html").read_bytes())
    for box in page.xpath('//div[@class="txt-box"]'):
        title = " ".join(box.xpath("string(.//h3)").split())
        summary = " ".join(box.xpath('string(.//p[@class="txt-info"])').split())
        out.append(("search_gaokao", "wechat", f"{title} {summary}"))
    return out


def build_event_fixture(data: Path, rng: np.random.Generator) -> list[dict[str, object]]:
    rules = {label: re.compile(pattern) for label, (_, pattern) in EVENT_RULES.items()}
    rows: list[tuple[str, str, str]] = []
    for label, (corpus, _) in EVENT_RULES.items():
        hits = [str(r["text"]) for r in load_corpus(data, corpus)
                if rules[label].search(str(r["text"]))
                and sum(bool(p.search(str(r["text"]))) for p in rules.values()) == 1]
        picks = sorted(rng.choice(len(hits), size=min(PER_EVENT, len(hits)), replace=False))
        rows += [(label, "weibo", hits[int(i)][:500]) for i in picks]
    reviews = load_corpus(data, "reviews_polarity")
    for cat, label in (("蒙牛", "reviews_mengniu"), ("酒店", "reviews_hotel")):
        texts = [str(r["text"]) for r in reviews if r.get("cat") == cat]
        picks = sorted(rng.choice(len(texts), size=PER_EVENT, replace=False))
        rows += [(label, "forum", texts[int(i)][:500]) for i in picks]
    rows += _fixture_search_posts()
    chatter = [str(r["text"]) for r in load_corpus(data, "weibo_polarity")
               if not any(p.search(str(r["text"])) for p in rules.values())]
    picks = rng.choice(len(chatter), size=200, replace=False)
    rows += [(f"chatter_{n}", "weibo", chatter[int(i)][:500]) for n, i in enumerate(picks)]
    minutes = np.sort(rng.uniform(0, 24 * 60, size=len(rows)))
    order = rng.permutation(len(rows))
    return [{"id": f"e{n}", "label": rows[int(i)][0], "platform": rows[int(i)][1],
             "minute": round(float(minutes[n]), 2), "text": rows[int(i)][2]}
            for n, i in enumerate(order)]


HANDLE = re.compile(r"@[ \u3000]?([^\s:：@,，。!！?？;；/、()（）\[\]【】\"“”'‘’<>《》]{1,30})")


def anonymise(rows: list[dict[str, object]]) -> None:
    """Rewrite @handles in the texts consistently (@用户1, @用户2…): fixtures keep no account
    names. The generated variants' handles (NAMES) are made up and stay."""
    names: dict[str, str] = {name: name for name in NAMES}

    def alias(match: re.Match[str]) -> str:
        return "@" + names.setdefault(match.group(1), f"用户{len(names) - len(NAMES) + 1}")

    for row in rows:
        row["text"] = HANDLE.sub(alias, str(row["text"]))


def write_fixtures(data: Path, folder: Path = FIXTURES) -> None:
    """Build the labelled sets from the shared data into ``folder`` (the tests build them in a
    temporary folder: the datasets' terms keep their texts outside the repository)."""
    global FIXTURES, SHARED_FIXTURES
    FIXTURES = folder
    SHARED_FIXTURES = data.parent.parent / "fixtures"  # datasets/sentiment → fixtures
    FIXTURES.mkdir(parents=True, exist_ok=True)
    for name, rows in (("near_duplicates", build_dup_fixture(data, np.random.default_rng(7))),
                       ("events", build_event_fixture(data, np.random.default_rng(11)))):
        anonymise(rows)
        path = FIXTURES / f"{name}.jsonl"
        with path.open("w", encoding="utf-8") as f:
            for row in rows:
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
        print(f"wrote {path}: {len(rows):,} rows, {path.stat().st_size / 1024:,.0f} KiB")


# --- speed -------------------------------------------------------------------------------

PLATFORMS = ["weibo"] * 7 + ["zhihu", "wechat", "forum"]
LABELS = ["positive", "neutral", "negative", None]


def synthetic_window(data: Path, n_posts: int, seed: int = 0) -> list[Post]:
    rng = np.random.default_rng(seed)
    real: list[str] = []
    for path in sorted(data.glob("*.train.jsonl")):
        real += [str(r["text"]) for r in read_jsonl(path)]
    real = [real[int(i)] for i in rng.permutation(len(real))]
    n_variants, n_reposts = int(0.3 * n_posts), int(0.1 * n_posts)
    n_originals = n_posts - n_variants - n_reposts
    originals = real[:n_originals]
    while len(originals) < n_originals:  # corpora exhausted: stitch pieces of real texts
        pieces = []
        for i in rng.integers(len(real), size=int(rng.integers(3, 7))).tolist():
            text = real[i]
            at = int(rng.integers(max(1, len(text) - 8)))
            pieces.append(text[at : at + int(rng.integers(6, 13))])
        originals.append("，".join(pieces))
    # campaigns: 1 in 50 originals is copied, the k-th most copied ~1/k of the copies
    n_campaigns = max(1, n_originals // 50)
    share = 1.0 / np.arange(1, n_campaigns + 1)
    popular = rng.choice(n_campaigns, size=n_variants, p=share / share.sum())
    variants = [variant(originals[int(i)], rng)[0] for i in popular]
    texts = originals + variants
    seconds = np.sort(rng.uniform(0, 86400, size=n_posts))
    kinds = rng.permutation(np.array([0] * len(texts) + [1] * n_reposts))
    kinds[[0, int(np.argmin(kinds))]] = kinds[[int(np.argmin(kinds)), 0]]  # an original first
    posts: list[Post] = []
    text_iter = iter(texts)
    authors = rng.integers(n_posts // 5 + 1, size=n_posts)
    for n in range(n_posts):
        when = START + timedelta(seconds=float(seconds[n]))
        counts = rng.integers(0, 50, size=3).tolist()
        common = {"created_at": when, "author_id": f"u{authors[n]}",
                  "author_name": f"用户{authors[n]}", "repost_count": counts[0],
                  "comment_count": counts[1], "like_count": counts[2],
                  "sentiment_label": LABELS[n % 4]}
        if kinds[n] == 1 and posts:
            root = posts[int(rng.integers(len(posts)))]
            posts.append(Post(root.platform, f"p{n}", "转发微博", kind="repost",
                              root_post_id=root.post_id, **common))  # type: ignore[arg-type]
        else:
            posts.append(Post(PLATFORMS[n % len(PLATFORMS)], f"p{n}", next(text_iter),
                              **common))  # type: ignore[arg-type]
    return posts


def peak_rss_mib() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return (peak if sys.platform == "darwin" else peak * 1024) / 1024**2


def speed(data: Path, n_posts: int) -> None:
    began = time.perf_counter()
    posts = synthetic_window(data, n_posts)
    print(f"\n{n_posts:,} posts generated in {time.perf_counter() - began:.1f} s (not counted)")
    began, cpu = time.perf_counter(), time.process_time()
    groups = near_duplicates(posts)
    print(f"near_duplicates  {time.perf_counter() - began:7.2f} s wall "
          f"{time.process_time() - cpu:7.2f} s CPU   {len(groups):,} groups of 2+, "
          f"largest {groups[0].size if groups else 0:,}")
    began, cpu = time.perf_counter(), time.process_time()
    events = find_events(posts)
    events_s, events_cpu = time.perf_counter() - began, time.process_time() - cpu
    big = [e for e in events if e.size >= 10]
    print(f"find_events      {events_s:7.2f} s wall {events_cpu:7.2f} s CPU   {len(events):,} "
          f"events, {len(big):,} of 10+ posts")
    for e in events[:3]:
        print(f"  {e.size:>7,} posts {len(e.accounts):>6,} accounts  {' '.join(e.label_terms)}")
    verdict = "met" if events_s <= TARGET_SECONDS else "MISSED"
    print(f"peak RSS {peak_rss_mib():,.0f} MiB; find_events (near-duplicates included) "
          f"{events_s:.1f} s of the {TARGET_SECONDS:.0f} s budget for the whole why-layer: "
          f"{verdict}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA,
                        help=f"folder of the *.train.jsonl corpora (default {DEFAULT_DATA})")
    parser.add_argument("--posts", type=int, default=100_000)
    parser.add_argument("--million", action="store_true", help="also time 1,000,000 posts")
    parser.add_argument("--write-fixtures", action="store_true",
                        help="rebuild tests/fixtures/why_events from --data and exit")
    args = parser.parse_args(argv)
    if args.write_fixtures:
        write_fixtures(args.data)
        return 0
    began = time.perf_counter()
    scores = {**dedup_quality(), **event_quality()}
    print(f"quality on tests/fixtures/why_events ({time.perf_counter() - began:.1f} s)")
    for name, value in scores.items():
        target = TARGETS.get(name)
        verdict = "met" if target is not None and value >= target else "MISSED"
        mark = "" if target is None else f" (target ≥ {target:.2f}: {verdict})"
        print(f"  {name:<10} {value:8.3f}{mark}")
    if not args.data.is_dir():
        print(f"no corpora at {args.data}: speed skipped (pass --data)")
        return 0
    speed(args.data, args.posts)
    if args.million:
        speed(args.data, 1_000_000)
    return 0


if __name__ == "__main__":
    sys.exit(main())
