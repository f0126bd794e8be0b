"""scoring.why.regions: region labels in every platform form, breakdowns, regional surges."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from crawlers.items import Author, Post, from_dict
from scoring.why.regions import (
    FOLLOWER_BANDS,
    OVERSEAS,
    PROVINCES,
    UNKNOWN,
    follower_band,
    normalise_region,
    region_breakdown,
    regional_surges,
    surge_metrics,
)

FIXTURES = Path(__file__).parent / "fixtures" / "why_regions"


@pytest.fixture(scope="module")
def recorded() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / "recorded.json").read_text("utf-8"))
    return data


def test_the_34_units() -> None:
    assert len(PROVINCES) == len(set(PROVINCES)) == 34
    assert {"台湾", "香港", "澳门", "内蒙古", "广西", "西藏", "宁夏", "新疆"} <= set(PROVINCES)
    assert {normalise_region(p) for p in PROVINCES} == set(PROVINCES)


@pytest.mark.parametrize(("label", "expected"), [
    # Weibo
    ("IP属地：广东", "广东"), ("IP属地:广东", "广东"), ("发布于 广东", "广东"),
    ("来自广东", "广东"),
    ("广东 深圳", "广东"), ("广东 广州", "广东"), ("其他", UNKNOWN), ("海外 美国", OVERSEAS),
    ("海外 其他", OVERSEAS), ("中国台湾", "台湾"), ("台湾 台北市", "台湾"),
    # Zhihu, Tieba
    ("IP 属地广东", "广东"), ("IP 属地浙江", "浙江"), ("IP属地:中国香港", "香港"),
    # names, full names, cities
    ("广东省", "广东"), ("广东省深圳市", "广东"), ("深圳", "广东"), ("深圳市南山区", "广东"),
    ("内蒙古", "内蒙古"), ("内蒙古自治区", "内蒙古"), ("广西壮族自治区", "广西"),
    ("宁夏回族自治区", "宁夏"), ("新疆维吾尔自治区", "新疆"), ("西藏自治区", "西藏"),
    ("香港特别行政区", "香港"), ("澳门特别行政区", "澳门"), ("北京市朝阳区", "北京"),
    ("重庆", "重庆"), ("吉林市", "吉林"), ("哈尔滨", "黑龙江"), ("乌鲁木齐", "新疆"),
    ("泰州", "江苏"), ("台州", "浙江"), ("义乌", "浙江"), ("浦东新区", "上海"),
    ("臺灣", "台湾"), ("廣東", "广东"), ("澳門", "澳门"),
    # English and pinyin
    ("Guangdong", "广东"), ("Beijing", "北京"), ("guangdong province", "广东"),
    ("Shaanxi", "陕西"), ("Shanxi", "山西"), ("Hong Kong", "香港"), ("Hong Kong SAR", "香港"),
    ("Macao", "澳门"), ("Inner Mongolia", "内蒙古"), ("Tibet", "西藏"),
    ("Shenzhen, Guangdong, China", "广东"), ("Xi'an", "陕西"),
    # abroad
    ("美国", OVERSEAS), ("日本", OVERSEAS), ("美国纽约", OVERSEAS), ("新加坡", OVERSEAS),
    ("Japan", OVERSEAS), ("United States", OVERSEAS), ("Tokyo, Japan", OVERSEAS),
    # nothing known
    ("中国", UNKNOWN), ("China", UNKNOWN), ("未知", UNKNOWN), ("", UNKNOWN), ("  ", UNKNOWN),
    ("IP属地：", UNKNOWN), ("来自iPhone客户端", UNKNOWN), ("火星", UNKNOWN),
])
def test_normalise_region(label: str, expected: str) -> None:
    assert normalise_region(label) == expected


@pytest.mark.parametrize("bad", [None, 42, 3.5, b"\xe5\xb9\xbf", ["广东"], {"a": 1}, "x" * 100_000,
                                 "广东" * 50_000, "\x00\ud800IP属地"])
def test_normalise_region_bad_input(bad: Any) -> None:
    assert normalise_region(bad) in {*PROVINCES, OVERSEAS, UNKNOWN}


def test_long_label_starting_with_a_place() -> None:
    assert normalise_region("广东" + "。" * 100_000) == "广东"


def test_spider_forms(recorded: dict[str, Any]) -> None:
    # The forms spiders store in Post.region (tieba keeps "中国香港") and Author.region.
    regions = Counter(normalise_region(d["region"]) for d in recorded["tieba_thread_posts"])
    assert regions["香港"] == 1 and regions["广东"] == 5 and regions[UNKNOWN] == 10
    assert normalise_region(recorded["weibo_profile_author"]["region"]) == "广东"


def test_breakdown_on_a_recorded_thread(recorded: dict[str, Any]) -> None:
    posts = [from_dict(Post, d) for d in recorded["tieba_thread_posts"]]
    report = region_breakdown(posts)
    assert report.total == 40 and report.known == 30
    assert report.coverage_text() == "region known for 75% of posts (30 of 40)"
    assert report.top(1)[0][0] == "广东"
    assert sum(s.posts for s in report.regions.values()) == 40
    assert report.splits == {}  # no authors passed
    assert all(s.net is None for s in report.regions.values())  # nothing scored yet


def test_splits_with_real_profiles(recorded: dict[str, Any]) -> None:
    authors = [from_dict(Author, d) for d in recorded["weibo_hotflow_authors"]]
    regions = ["IP属地：广东", "发布于 北京", "海外 美国", None]
    posts = [from_dict(Post, d) for d in recorded["weibo_hotflow_posts"]]
    for i, post in enumerate(posts):
        post.region = regions[i % len(regions)]
        post.sentiment_label = "negative" if i % 3 else "positive"
    report = region_breakdown(posts, {a.key: a for a in authors})
    assert set(report.splits) == {"gender", "verified", "followers", "tier"}
    for dimension in report.splits.values():
        for region, cells in dimension.items():
            assert sum(c.posts for c in cells.values()) == report.regions[region].posts
    genders = set().union(*(cells for cells in report.splits["gender"].values()))
    assert genders <= {"m", "f", "unknown"} and {"m", "f"} <= genders
    bands = set().union(*(cells for cells in report.splits["followers"].values()))
    assert bands <= {*FOLLOWER_BANDS, "unknown"}
    verified = set().union(*(cells for cells in report.splits["verified"].values()))
    assert "organisation" in verified  # brands in the hot comments carry blue Vs (type 2)
    tiers = set().union(*(cells for cells in report.splits["tier"].values()))
    assert tiers <= {"head", "waist", "tail", "amateur", "unknown"}
    guangdong = report.regions["广东"]
    assert guangdong.labelled == guangdong.posts
    assert guangdong.net == (guangdong.positive - guangdong.negative) / guangdong.posts


def test_author_region_fallback(recorded: dict[str, Any]) -> None:
    author = from_dict(Author, recorded["weibo_profile_author"])  # location "广东 广州"
    posts = [Post("weibo", "1", author_id=author.author_id), Post("weibo", "2", region="北京")]
    with_fallback = region_breakdown(posts, [author])
    assert with_fallback.sources == {"post": 1, "author": 1, "none": 0}
    assert "广东" in with_fallback.regions
    without = region_breakdown(posts, [author], author_fallback=False)
    assert without.sources["none"] == 1 and UNKNOWN in without.regions


def test_breakdown_bad_input() -> None:
    empty = region_breakdown([])
    assert empty.total == 0 and empty.coverage is None and empty.coverage_text() == "no posts"
    assert empty.top() == []
    odd: list[Any] = [None, "text", Post("weibo", "1", region="x" * 100_000, text="y" * 100_000)]
    report = region_breakdown(odd, authors=[None, Author("weibo", "a")])  # type: ignore[list-item]
    assert report.total == 1 and report.regions[UNKNOWN].posts == 1
    one = region_breakdown([Post("weibo", "1", region="广东", sentiment=0.9)])
    assert one.regions["广东"].positive == 1 and one.coverage == 1.0


@pytest.mark.parametrize(("followers", "band"), [
    (0, "<1k"), (999, "<1k"), (1_000, "1k–10k"), (9_999, "1k–10k"), (10_000, "10k–100k"),
    (100_000, "100k–1M"), (999_999, "100k–1M"), (1_000_000, "≥1M"), (10**9, "≥1M"),
    (None, "unknown"), (-5, "unknown"),
])
def test_follower_band(followers: int | None, band: str) -> None:
    assert follower_band(followers) == band


def test_regional_surges() -> None:
    history = [Counter({"广东": 20, "北京": 15, "四川": 3}) for _ in range(6)]
    now = Counter({"广东": 22, "北京": 60, "四川": 4, "未知": 500, "海外": 12})
    surges = regional_surges(now, history)
    assert [s.region for s in surges] == ["海外", "北京"]
    beijing = next(s for s in surges if s.region == "北京")
    assert beijing.baseline == 15 and beijing.ratio == 4 and beijing.p_value < 1e-10
    assert regional_surges(now, history, ratio=5)[0].region == "海外"
    assert regional_surges(now, history, min_count=100) == []
    metrics = surge_metrics(surges)
    assert metrics["region/surge/count"] == 2 and metrics["region/surge/北京/ratio"] == 4


def test_surges_normalise_raw_labels() -> None:
    history = [Counter({"IP属地：广东": 5}), Counter({"广东省": 5})]
    surges = regional_surges(Counter({"广东 深圳": 30}), history)
    assert [(s.region, s.baseline) for s in surges] == [("广东", 5.0)]


def test_surges_bad_input() -> None:
    assert regional_surges(Counter(), []) == []
    assert regional_surges(Counter({"广东": 50}), []) == []  # no baseline, no judgement
    odd: Any = {"广东": "many", None: 40, "北京": -3, "上海": True, "四川": 40.0}
    surges = regional_surges(odd, [Counter(), {"四川": 1}])
    assert [s.region for s in surges] == ["四川"]
    assert all(0 <= s.p_value <= 1 for s in surges)
