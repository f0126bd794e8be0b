"""Where the talk comes from: region labels → the 34 provincial-level units, per-region volume and
net sentiment with splits by kind of account, and regional surges against each region's own past.

Region strings arrive in every form the platforms show (all end up as one short name):

==============================  ==================================  =========
form                            seen in                             result
==============================  ==================================  =========
``IP属地：广东`` / ``IP属地:广东``   Weibo profile, Tieba floor tail     广东
``发布于 广东`` / ``来自广东``       Weibo ``region_name``, comments     广东
``IP 属地广东``                  Zhihu ``ip_info``                   广东
``中国香港`` / ``中国台湾``          Tieba, Weibo IP labels              香港 / 台湾
``广东 深圳`` / ``海外 美国``        Weibo profile ``location``          广东 / 海外
``其他``                         Weibo profile ``location``          未知
``广东省深圳市`` / ``深圳``          free text                           广东
``Guangdong`` / ``Hong Kong SAR``  English, pinyin                     广东 / 香港
``美国`` / ``Japan``               IP labels abroad                    海外
==============================  ==================================  =========

The table (provinces, ~150 cities and districts, country names) is ``data/regions.json``.
Crawlers keep the platform's label as it came (``Post.region``, ``Author.region``); this module
normalises at analysis time, so a better table re-reads old data.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from crawlers.items import Author, AuthorKey, Post
from scoring.baseline import poisson_sf
from scoring.influence import author_tier
from scoring.netsentiment import net_score, post_label
from scoring.why.gcpause import gc_paused

__all__ = [
    "FOLLOWER_BANDS",
    "OVERSEAS",
    "PROVINCES",
    "UNKNOWN",
    "RegionReport",
    "RegionStats",
    "RegionSurge",
    "follower_band",
    "normalise_region",
    "region_breakdown",
    "regional_surges",
    "surge_metrics",
]

OVERSEAS = "海外"
UNKNOWN = "未知"
_TABLE = Path(__file__).with_name("data") / "regions.json"

# Traditional forms of the characters that occur in place labels (Taiwan/HK users, old pages).
_TRAD = str.maketrans(
    "臺灣廣東門內龍蘇遼寧陝貴雲慶華國屬於來發區縣廈蘭爾烏魯濱陽瀋長島連漢鄭濟寶無錫紐約韓亞倫愛義馬羅",
    "台湾广东门内龙苏辽宁陕贵云庆华国属于来发区县厦兰尔乌鲁滨阳沈长岛连汉郑济宝无锡纽约韩亚伦爱义马罗",
)
_PREFIX = re.compile(
    r"^\s*(?:ip\s*属地|ip\s*地址|属地|发布于|来自|地区|所在地|位置|地址|坐标)"
    r"\s*[:：]?\s*",
    re.IGNORECASE,
)
_SPLIT = re.compile(r"[\s,，、;；/|·•()（）\[\]【】<>《》\-_]+")
_LATIN_SUFFIX = re.compile(r"(province|sheng|municipality|shi|city|autonomousregion|"
                           r"specialadministrativeregion|sar|prc|china)$")
_CJK_SUFFIX = ("特别行政区", "维吾尔自治区", "壮族自治区", "回族自治区", "自治区", "省", "市")
_MAX_LABEL = 200  # a region label is a few words; longer input is cut, never scanned whole


@dataclass(frozen=True)
class _Table:
    exact: dict[str, str]
    prefixes: tuple[tuple[str, str], ...]  # (CJK alias, region), longest first
    latin: dict[str, str]
    unknown: frozenset[str]
    provinces: tuple[str, ...]


@cache
def _table() -> _Table:
    raw: dict[str, Any] = json.loads(_TABLE.read_text(encoding="utf-8"))
    exact: dict[str, str] = {}
    latin: dict[str, str] = {}
    prefix: dict[str, str] = {}
    for p in raw["provinces"]:
        name = p["name"]
        for alias in (name, p["full"]):
            exact[alias] = name
            prefix[alias] = name
        for alias in p["latin"]:
            latin[alias] = name
    for city, province, pinyin in raw["cities"]:
        exact.setdefault(city, province)
        exact.setdefault(city + "市", province)
        prefix.setdefault(city, province)
        for alias in pinyin:
            latin.setdefault(alias, province)
    for country in raw["overseas"]["zh"]:
        exact.setdefault(country, OVERSEAS)
        prefix.setdefault(country, OVERSEAS)
    for country in raw["overseas"]["latin"]:
        latin.setdefault(country, OVERSEAS)
    ordered = tuple(sorted(prefix.items(), key=lambda kv: -len(kv[0])))
    return _Table(exact, ordered, latin, frozenset(raw["unknown"]),
                  tuple(p["name"] for p in raw["provinces"]))


PROVINCES: tuple[str, ...] = _table().provinces
"""The 34 provincial-level units by short name (23 provinces with 台湾, 5 autonomous regions,
4 municipalities, 香港, 澳门), in the order of GB/T 2260."""


def _cjk(token: str, t: _Table) -> str | None:
    if token.startswith("中国") and len(token) > 2:
        token = token[2:]
    if token in t.exact:
        return t.exact[token]
    for suffix in _CJK_SUFFIX:
        if token.endswith(suffix) and token[: -len(suffix)] in t.exact:
            return t.exact[token[: -len(suffix)]]
    for alias, region in t.prefixes:
        if token.startswith(alias):
            return region
    return None


def _latin(token: str, t: _Table) -> str | None:
    word = re.sub(r"[^a-z]", "", token.lower())
    while word:
        if word in t.latin:
            return t.latin[word]
        shorter = _LATIN_SUFFIX.sub("", word)
        if shorter == word:
            break
        word = shorter
    return None


def normalise_region(text: Any) -> str:
    """The provincial-level unit a region label names, ``"海外"`` abroad, ``"未知"`` otherwise.

    Parameters
    ----------
    text : str or None
        A platform label ("IP属地：广东", "发布于 北京", "广东 深圳", "海外 美国", "Guangdong")
        or free text; anything else (None, numbers) is ``"未知"``.

    Returns
    -------
    str
        One of :data:`PROVINCES`, :data:`OVERSEAS` or :data:`UNKNOWN`.

    Examples
    --------
    >>> [normalise_region(s) for s in ("IP属地：广东", "发布于 北京", "IP 属地浙江", "中国香港")]
    ['广东', '北京', '浙江', '香港']
    >>> [normalise_region(s) for s in ("广东 深圳", "海外 美国", "其他", "广东省深圳市南山区")]
    ['广东', '海外', '未知', '广东']
    >>> [normalise_region(s) for s in ("深圳", "Hong Kong SAR", "Inner Mongolia", "Japan", None)]
    ['广东', '香港', '内蒙古', '海外', '未知']
    >>> normalise_region("广西壮族自治区"), normalise_region("臺灣"), normalise_region("来自iPhone")
    ('广西', '台湾', '未知')
    """
    if not isinstance(text, str):
        return UNKNOWN
    t = _table()
    s = unicodedata.normalize("NFKC", text[:_MAX_LABEL]).translate(_TRAD).strip()
    for _ in range(3):  # "IP属地：发布于 广东" and such stacked prefixes
        stripped = _PREFIX.sub("", s)
        if stripped == s:
            break
        s = stripped
    if not s:
        return UNKNOWN
    tokens = [tok for tok in _SPLIT.split(s) if tok]
    if not tokens:
        return UNKNOWN
    if any(ord(c) > 0x2E80 for c in s):
        joined = "".join(tokens)
        if joined.lower() in t.unknown:
            return UNKNOWN
        for candidate in (joined, *tokens):
            if candidate.lower() in t.unknown:
                continue
            found = _cjk(candidate, t) if any(ord(c) > 0x2E80 for c in candidate) else None
            found = found or _latin(candidate, t)
            if found:
                return found
        return UNKNOWN
    # Latin: "Hong Kong SAR" joins, "Shenzhen, Guangdong, China" is read part by part.
    for part in re.split(r"[,;/|]+", s):
        if re.sub(r"[^a-z]", "", part.lower()) in t.unknown:
            continue
        found = _latin(part, t) or next(
            (r for w in part.split() if w.lower() not in t.unknown and (r := _latin(w, t))), None)
        if found:
            return found
    return UNKNOWN


FOLLOWER_BANDS: tuple[str, ...] = ("<1k", "1k–10k", "10k–100k", "100k–1M", "≥1M")


def follower_band(followers: int | None) -> str:
    """The follower band of an account: one of :data:`FOLLOWER_BANDS`, or ``"unknown"``.

    >>> follower_band(999), follower_band(1_000), follower_band(2_500_000), follower_band(None)
    ('<1k', '1k–10k', '≥1M', 'unknown')
    """
    if followers is None or followers < 0:
        return "unknown"
    index = sum(followers >= cut for cut in (1_000, 10_000, 100_000, 1_000_000))
    return FOLLOWER_BANDS[index]


_GENDER = {"m": "m", "male": "m", "男": "m", "1": "m", "f": "f", "female": "f", "女": "f"}


def _gender(author: Author) -> str:
    return _GENDER.get(str(author.gender or "").strip().lower(), "unknown")


def _verified(author: Author) -> str:
    """Weibo's verified_type: -1 none, 0 personal (orange V), 1–7 organisations (blue V:
    government, company, media, campus, website, app, group), 200/220 legacy talent (达人)."""
    vtype = str(author.verified_type or "").strip()
    if author.verified is False or vtype == "-1":
        return "unverified"
    if vtype == "0":
        return "personal"
    if vtype in {"1", "2", "3", "4", "5", "6", "7"}:
        return "organisation"
    if vtype in {"200", "220"}:
        return "talent"
    if author.verified or vtype:
        return "verified_other"
    return "unknown"


def _tier(author: Author) -> str:
    if author.tier:
        return str(author.tier)
    if author.followers is None:
        return "unknown"
    return author_tier(author)[0].value


_SPLITS = {"gender": _gender, "verified": _verified,
           "followers": lambda a: follower_band(a.followers), "tier": _tier}


@dataclass
class RegionStats:
    """Posts of one region (or one region × account kind) and their sentiment labels."""

    posts: int = 0
    positive: int = 0
    neutral: int = 0
    negative: int = 0

    @property
    def labelled(self) -> int:
        return self.positive + self.neutral + self.negative

    @property
    def net(self) -> float | None:
        """(positive − negative) / (positive + negative); None without a polar post."""
        return net_score(self.positive, self.negative)

    def add(self, label: str | None) -> None:
        self.posts += 1
        if label in ("positive", "neutral", "negative"):
            setattr(self, label, getattr(self, label) + 1)


@dataclass
class RegionReport:
    """:func:`region_breakdown`'s result.

    ``regions`` maps each region (a province, 海外 or 未知) to its stats, busiest first.
    ``splits[dimension][region][value]``: dimension is "gender" (m, f, unknown), "verified"
    (unverified, personal, organisation, talent, verified_other, unknown), "followers"
    (:data:`FOLLOWER_BANDS` or unknown) or "tier" (head, waist, tail, amateur, unknown); empty
    when no authors were passed. ``sources`` says where each post's region came from.
    """

    total: int = 0
    regions: dict[str, RegionStats] = field(default_factory=dict)
    splits: dict[str, dict[str, dict[str, RegionStats]]] = field(default_factory=dict)
    sources: dict[str, int] = field(default_factory=dict)

    @property
    def known(self) -> int:
        """Posts whose region is known (海外 counts as known)."""
        return self.total - (self.regions[UNKNOWN].posts if UNKNOWN in self.regions else 0)

    @property
    def coverage(self) -> float | None:
        """Share of posts with a known region; None for no posts."""
        return self.known / self.total if self.total else None

    def coverage_text(self) -> str:
        """``"region known for 41% of posts (123 of 300)"``."""
        if not self.total:
            return "no posts"
        return f"region known for {self.coverage:.0%} of posts ({self.known} of {self.total})"

    def top(self, n: int = 10, *, include_unknown: bool = False) -> list[tuple[str, RegionStats]]:
        """The ``n`` busiest regions."""
        rows = [(r, s) for r, s in self.regions.items() if include_unknown or r != UNKNOWN]
        return rows[: max(0, n)]


def _author_index(authors: Mapping[AuthorKey, Author] | Iterable[Author] | None
                  ) -> dict[AuthorKey, Author]:
    if authors is None:
        return {}
    if isinstance(authors, Mapping):
        return {k: a for k, a in authors.items() if isinstance(a, Author)}
    return {a.key: a for a in authors if isinstance(a, Author)}


@gc_paused
def region_breakdown(
    posts: Iterable[Post],
    authors: Mapping[AuthorKey, Author] | Iterable[Author] | None = None,
    *,
    author_fallback: bool = True,
    neutral_band: tuple[float, float] = (0.4, 0.6),
) -> RegionReport:
    """Volume and net sentiment per region, and the same split by kind of account.

    Parameters
    ----------
    posts : iterable of Post
        ``Post.region`` is normalised with :func:`normalise_region`.
    authors : mapping of AuthorKey to Author, or iterable of Author, optional
        Enables the gender, verified, follower-band and tier splits.
    author_fallback : bool
        A post without a region label takes its author's profile region (Weibo's self-declared
        ``location`` or IP label); ``report.sources`` counts "post", "author" and "none".
    neutral_band : (low, high)
        For posts with a score but no stored label (see ``scoring.netsentiment.post_label``).

    Examples
    --------
    >>> ps = [Post("weibo", "1", region="IP属地：广东", sentiment_label="negative"),
    ...       Post("weibo", "2", region="发布于 深圳", sentiment_label="negative"),
    ...       Post("weibo", "3", region="北京", sentiment_label="positive"), Post("weibo", "4")]
    >>> report = region_breakdown(ps)
    >>> [(r, s.posts, s.net) for r, s in report.top()]
    [('广东', 2, -1.0), ('北京', 1, 1.0)]
    >>> report.coverage_text()
    'region known for 75% of posts (3 of 4)'
    """
    index = _author_index(authors)
    report = RegionReport(sources={"post": 0, "author": 0, "none": 0})
    if index:
        report.splits = {name: {} for name in _SPLITS}
    regions: dict[str, RegionStats] = {}
    for post in posts:
        if not isinstance(post, Post):
            continue
        report.total += 1
        author = index.get((post.platform, post.author_id or ""))
        region = normalise_region(post.region)
        if region != UNKNOWN:
            report.sources["post"] += 1
        elif author_fallback and author is not None and (
                (region := normalise_region(author.region)) != UNKNOWN):
            report.sources["author"] += 1
        else:
            report.sources["none"] += 1
        label = post_label(post, neutral_band)
        regions.setdefault(region, RegionStats()).add(label)
        if index:
            for name, of in _SPLITS.items():
                value = of(author) if author is not None else "unknown"
                cells = report.splits[name].setdefault(region, {})
                cells.setdefault(value, RegionStats()).add(label)
    report.regions = dict(sorted(regions.items(), key=lambda kv: (-kv[1].posts, kv[0])))
    return report


@dataclass(frozen=True)
class RegionSurge:
    """A region whose volume is ``ratio`` times its own baseline mean.

    ``p_value`` is P(N ≥ count) for N ~ Poisson(baseline): how surprising the count is if the
    region kept its usual rate (``scoring.baseline.poisson_sf``, the tail the alert rules use;
    the same numbers as ``scipy.stats.poisson.sf(count - 1, baseline)`` without its 1.2 s
    import).
    """

    region: str
    count: int
    baseline: float
    ratio: float
    p_value: float


def _normalised(counter: Mapping[str, int]) -> Counter[str]:
    out: Counter[str] = Counter()
    for key, value in counter.items():
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
            out[normalise_region(key)] += int(value)
    return out


def regional_surges(
    current: Mapping[str, int],
    history: Sequence[Mapping[str, int]],
    *,
    min_count: int = 10,
    ratio: float = 3.0,
    max_p_value: float = 1.0,
) -> list[RegionSurge]:
    """Regions whose volume now is at least ``ratio`` × their mean over ``history``.

    Parameters
    ----------
    current : Counter of region → posts
        This window's counts (keys are normalised, so raw labels work too).
    history : list of Counter
        The same counts for earlier windows of equal length; a region missing from a window
        had 0 posts there. With no history there is no baseline and nothing is a surge.
    min_count : int
        Ignore regions with fewer posts now (small numbers surge by chance).
    ratio : float
        The growth that counts as a surge.
    max_p_value : float
        Also require the Poisson tail p-value to be at most this (1.0: no p-value filter).

    Returns
    -------
    list of RegionSurge
        Most surprising first. 未知 is never a surge. A region new in this window has a
        baseline of 0.5 / len(history) (half a post over the whole history), so its ratio and
        p-value stay finite.

    Examples
    --------
    >>> past = [Counter({"广东": 10, "北京": 8}), Counter({"广东": 12, "北京": 9})]
    >>> [(s.region, s.count, s.baseline, s.ratio) for s in
    ...  regional_surges(Counter({"广东": 40, "北京": 9, "四川": 12}), past)]
    [('四川', 12, 0.25, 48.0), ('广东', 40, 11.0, 3.6363636363636362)]
    """
    windows = [_normalised(h) for h in history if isinstance(h, Mapping)]
    if not windows:
        return []
    now = _normalised(current)
    surges: list[RegionSurge] = []
    for region, count in now.items():
        if region == UNKNOWN or count < min_count:
            continue
        total = sum(w.get(region, 0) for w in windows)
        baseline = total / len(windows) if total else 0.5 / len(windows)
        growth = count / baseline
        if growth < ratio:
            continue
        p_value = poisson_sf(count, baseline)
        if p_value <= max_p_value:
            surges.append(RegionSurge(region, count, baseline, growth, p_value))
    surges.sort(key=lambda s: (s.p_value, -s.ratio, s.region))
    return surges


def surge_metrics(surges: Iterable[RegionSurge]) -> dict[str, float]:
    """Slash-named metrics for an alert rule: ``region/surge/count`` and, per surging region,
    ``region/surge/<region>/ratio`` and ``…/p_value``.

    >>> surge_metrics([RegionSurge("广东", 40, 11.0, 3.6, 1e-9)])["region/surge/广东/ratio"]
    3.6
    """
    out: dict[str, float] = {"region/surge/count": 0.0}
    for s in surges:
        out["region/surge/count"] += 1
        out[f"region/surge/{s.region}/ratio"] = s.ratio
        out[f"region/surge/{s.region}/p_value"] = s.p_value
    return out
