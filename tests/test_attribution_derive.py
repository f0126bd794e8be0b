"""Touchpoints derived from the store where a channel map links accounts to channels.

Real Weibo repost chains (the recorded repostTimeline pages, parsed by the spider's own parser)
and a campaign store built in the same shapes: an official account, a KOL, a Zhihu 机构号 and
fans who repost, comment and reply over three days. Derived touchpoints are checked one by one
(repost-of-repost credit, nearest channel, brand self-reposts left out, 30-minute sessions,
chains resolved through posts outside the window), and every model's credits on the derived
journeys equal the credits of the same journeys written by hand as a CSV import.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from crawlers.items import Author, Monitor, Post
from crawlers.spiders.weibo import ENDPOINTS
from crawlers.spiders.weibo.reposts import link_parents
from crawlers.storage import open_store
from scheduler.cli import main
from scoring.attribution import read_touchpoints
from scoring.attribution.derive import ChannelMap, derive_touchpoints, read_channels
from tests.fixture_server import FIXTURES

BEIJING = ZoneInfo("Asia/Shanghai")
OFFICIAL, KOL, ZH_ORG = "1234567890", "2345678901", "3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c"
FANS = {"小鹿": "7200000001", "阿杰": "7200000002", "木木": "7200000003", "七七": "7200000004",
        "大熊": "7200000005"}
ZH_FAN = "8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d"
O1, O_OLD, KR, K1 = "4990000000000001", "4980000000000001", "4990000000000202", "4990000000000201"


def bj(day: int, hour: int, minute: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=BEIJING).astimezone(UTC)


# ------------------------------------------------------------- the recorded repost timeline


def recorded_cascade() -> list[Post]:
    """The two recorded repostTimeline pages of 听风演示新闻台's post 4900000000000101, parsed
    and linked as the spider does, plus the root post itself."""
    now = datetime(2019, 6, 16, 12, 0, tzinfo=UTC)
    ctx = {"root_id": "4900000000000101", "root_author_id": "7100000001",
           "root_author_name": "听风演示新闻台"}
    posts = [Post("weibo", "4900000000000101", text="听风演示新闻台的原帖", author_id="7100000001",
                  author_name="听风演示新闻台", created_at=now - timedelta(hours=3))]
    for page in ("p1", "p2"):
        body = (FIXTURES / "weibo" / f"constructed-m.weibo.cn-repostTimeline-{page}.json")
        posts += [i for i in ENDPOINTS["reposts"](body.read_bytes(), now=now, **ctx)
                  if isinstance(i, Post)]
    link_parents(posts)
    return posts


def pairs(derivation) -> list[tuple[str, str, datetime]]:
    return [(t.user, t.channel, t.at) for t in derivation.touchpoints]


def test_recorded_chains_credit_the_nearest_channel_account():
    posts = recorded_cascade()
    # 演示用户甲 (7100000002) is a KOL; her name is learnt from her own repost in the window
    channels = ChannelMap({("weibo", "7100000001"): "官方微博", ("weibo", "7100000002"): "KOL-甲"})
    got = derive_touchpoints(posts, channels)
    at = {p.author_id: p.created_at for p in posts}
    assert pairs(got) == [
        ("weibo:7100000003", "KOL-甲", at["7100000003"]),  # 乙 reposted 甲's repost
        ("weibo:7100000004", "KOL-甲", at["7100000004"]),  # 丙 → 乙 → 甲: up the linked chain
        ("weibo:7100000005", "官方微博", at["7100000005"]),  # 丁 reposted the root directly
        ("weibo:7100000006", "官方微博", at["7100000006"]),  # 戊 → 丁 → root
        ("weibo:7100000007", "KOL-甲", at["7100000007"]),  # 庚: //@未抓取用户辛 //@演示用户甲
    ]
    assert got.skipped == {"by_channel_account": 1}  # 甲's own repost of the official post
    assert got.channels["KOL-甲"].users == 3 and got.channels["官方微博"].reposts == 2


def test_without_the_kol_every_repost_of_a_repost_counts_for_the_root_account():
    posts = recorded_cascade()
    got = derive_touchpoints(posts, ChannelMap({("weibo", "7100000001"): "官方微博"}))
    assert [u for u, ch, _ in pairs(got)] == [f"weibo:710000000{i}" for i in range(2, 8)]
    assert {ch for _, ch, _ in pairs(got)} == {"官方微博"}
    # the root may lie outside the window: given as context it resolves the same way
    root = next(p for p in posts if p.post_id == "4900000000000101")
    rest = [p for p in posts if p is not root]
    again = derive_touchpoints(rest, ChannelMap({("weibo", "7100000001"): "官方微博"}),
                               context={root.key: root})
    assert pairs(again) == pairs(got)
    alone = derive_touchpoints(rest, ChannelMap({("weibo", "7100000001"): "官方微博"}))
    # without the root, 庚's chain (辛, 甲: no channel) leads nowhere; linked ones still resolve
    assert "weibo:7100000007" not in {u for u, _, _ in pairs(alone)}
    assert alone.skipped["no_channel"] == 1 and len(alone.touchpoints) == 5


# ------------------------------------------------------------------ a campaign in a store


def repost(pid: str, who: str, when: datetime, *, root: str, parent: str | None = None,
           parent_author: str | None = None, text: str = "转发微博",
           path: tuple[str, ...] = ()) -> Post:
    return Post("weibo", pid, text=text, kind="repost", author_id=FANS.get(who, who),
                author_name=who, created_at=when, root_post_id=root, parent_post_id=parent,
                parent_author_id=parent_author, parent_author_name=path[0] if path else None,
                repost_path=list(path), topics=["品牌A"])


def comment(pid: str, who: str, when: datetime, *, root: str, parent: str,
            parent_author: str | None, kind: str = "comment", platform: str = "weibo",
            text: str = "想要") -> Post:
    return Post(platform, pid, text=text, kind=kind, author_id=FANS.get(who, who),
                author_name=who, created_at=when, root_post_id=root, parent_post_id=parent,
                parent_author_id=parent_author, topics=["品牌A"])


def original(pid: str, author: str, name: str, when: datetime, text: str,
             platform: str = "weibo", kind: str = "original") -> Post:
    return Post(platform, pid, text=text, kind=kind, author_id=author, author_name=name,
                created_at=when, topics=["品牌A"])


def campaign_posts() -> list[Post]:
    return [
        # last month's official post: outside the window, reached through a chain in it
        original(O_OLD, OFFICIAL, "品牌A官方", bj(20, 10, month=10), "品牌A 秋季新品"),
        repost("4990000000000010", "七七", bj(1, 9), root=O_OLD, text="//@路人:转发微博",
               path=("路人",)),
        original(O1, OFFICIAL, "品牌A官方", bj(1, 10), "品牌A 双11预售今晚开启"),
        repost("4990000000000002", OFFICIAL, bj(1, 10, 5), root=O1, parent=O1,
               parent_author=OFFICIAL),  # the brand reposting itself: no touch
        repost("4990000000000011", "小鹿", bj(1, 10, 30), root=O1, parent=O1,
               parent_author=OFFICIAL),
        repost("4990000000000012", "阿杰", bj(1, 11), root=O1, parent="4990000000000011",
               parent_author=FANS["小鹿"], text="冲//@小鹿:转发微博", path=("小鹿",)),
        repost("4990000000000013", "大熊", bj(1, 11, 20), root=O1,  # chain never linked
               text="//@阿杰:冲//@小鹿:转发微博", path=("阿杰", "小鹿")),
        comment("4990000000000100", "大熊", bj(1, 11, 25), root=O1, parent=O1,
                parent_author=OFFICIAL),  # 5 min after his repost: same session
        comment("4990000000000101", "木木", bj(1, 12), root=O1, parent=O1, parent_author=OFFICIAL),
        comment("4990000000000102", "木木", bj(1, 12, 10), root=O1, parent="4990000000000100",
                parent_author=FANS["大熊"], kind="reply", text="回复@大熊:同问"),
        comment("4990000000000103", "", bj(1, 12, 30), root=O1, parent=O1,
                parent_author=OFFICIAL),  # an account the page did not show
        original("answer:601", ZH_ORG, "品牌A", bj(1, 15), "我们来回答", platform="zhihu",
                 kind="answer"),
        original("question:55", "5e4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b", "提问者", bj(1, 8),
                 "品牌A 值得买吗", platform="zhihu", kind="thread"),
        comment("answer:602", ZH_FAN, bj(2, 8), root="question:55", parent="question:55",
                parent_author=None, kind="answer", platform="zhihu"),  # no channel above it
        repost(KR, KOL, bj(2, 9), root=O1, parent=O1, parent_author=OFFICIAL),  # KOL → brand
        repost("4990000000000211", "七七", bj(2, 9, 30), root=O1, parent=KR, parent_author=KOL,
               text="想要//@数码测评君:转发微博", path=("数码测评君",)),
        original(K1, KOL, "数码测评君", bj(2, 20), "品牌A新款上手：续航真的顶"),
        repost("4990000000000212", "木木", bj(2, 21), root=K1, parent=K1, parent_author=KOL),
        repost("4990000000000213", "小鹿", bj(3, 9), root=K1, parent=K1, parent_author=KOL),
        comment("4990000000000214", "阿杰", bj(3, 10), root=K1, parent=K1, parent_author=KOL),
        repost("4990000000000215", "大熊", bj(3, 11), root=O1,  # via the KOL, known by name only
               text="//@数码测评君:转发微博", path=("数码测评君",)),
        comment("comment:9001", ZH_FAN, bj(3, 20), root="answer:601", parent="answer:601",
                parent_author=None, platform="zhihu"),
        original("4990000000000300", "7299999999", "路人乙", bj(2, 12), "品牌A 门店好多人"),
    ]


# every touch the campaign should give, by hand, in Beijing time as an import file would say
EXPECTED_CSV = """user,channel,time
weibo:7200000001,官方微博,2026-11-01T10:30:00
weibo:7200000001,KOL-数码测评君,2026-11-03T09:00:00
weibo:7200000002,官方微博,2026-11-01T11:00:00
weibo:7200000002,KOL-数码测评君,2026-11-03T10:00:00
weibo:7200000003,官方微博,2026-11-01T12:00:00
weibo:7200000003,KOL-数码测评君,2026-11-02T21:00:00
weibo:7200000004,官方微博,2026-11-01T09:00:00
weibo:7200000004,KOL-数码测评君,2026-11-02T09:30:00
weibo:7200000005,官方微博,2026-11-01T11:20:00
weibo:7200000005,KOL-数码测评君,2026-11-03T11:00:00
zhihu:8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d,知乎机构号,2026-11-03T20:00:00
"""
CONVERSIONS_CSV = """user,time,value
weibo:7200000001,2026-11-04T10:00:00,299
weibo:7200000002,2026-11-04T12:00:00,199
weibo:7200000003,2026-11-02T22:00:00,99
weibo:7200000005,2026-11-01T12:00:00,59
zhihu:8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d,2026-11-04T09:00:00,399
"""
CHANNELS_CSV = f"""platform,account,channel,name
weibo,{OFFICIAL},官方微博,品牌A官方
weibo,{KOL},KOL-数码测评君,
zhihu,{ZH_ORG},知乎机构号,
wechat,MzA5NjU0MzIxMA==,公众号,
"""


@pytest.fixture
def campaign(tmp_path, monkeypatch):
    monkeypatch.setattr("crawlers.settings.ATTRIBUTION_DIR", str(tmp_path / "attribution"))
    uri = f"sqlite:///{tmp_path}/store.db"
    with open_store(uri) as store:
        store.upsert_posts(campaign_posts())
        store.upsert_authors([Author("weibo", KOL, name="数码测评君", followers=820_000)])
        store.save_monitor(Monitor("品牌A", "品牌A", platforms=["weibo", "zhihu"]))
    for name, text in (("channels.csv", CHANNELS_CSV), ("expected.csv", EXPECTED_CSV),
                       ("orders.csv", CONVERSIONS_CSV)):
        (tmp_path / name).write_text(text, encoding="utf-8")
    return tmp_path, uri


def derive(tmp_path, uri, *extra: str) -> list[str]:
    return ["--store", uri, "attribution", "derive", "--monitor", "品牌A", "--since",
            "2026-10-28", "--until", "2026-11-10", *extra]


def pairs_of(t):
    return (t.user, t.channel, t.at)


def key_of(p):
    return (p[0], p[2])


def rows(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_derived_touchpoints_are_exactly_the_hand_listed_ones(campaign, capsys):
    tmp_path, uri = campaign
    assert main(derive(tmp_path, uri, "--channels", str(tmp_path / "channels.csv"),
                       "--format", "json")) == 0
    data = json.loads(capsys.readouterr().out)
    stored, _ = read_touchpoints(tmp_path / "attribution" / "品牌A" / "touchpoints.jsonl")
    expected, _ = read_touchpoints(tmp_path / "expected.csv")
    assert sorted(map(pairs_of, stored), key=key_of) == sorted(map(pairs_of, expected),
                                                                  key=key_of)
    assert [t.at for t in stored] == sorted(t.at for t in stored)  # kept in time order
    assert data["users"] == 6 and data["touchpoints"] == 11 and data["users_per_platform"]
    # the brand's self-repost, the KOL's repost of the brand, the 机构号's own answer
    assert data["skipped"] == {"by_channel_account": 3, "same_session": 2, "no_channel": 1,
                               "no_author": 1}
    official, kol = data["channels"]["官方微博"], data["channels"]["KOL-数码测评君"]
    assert (official["touchpoints"], official["reposts"], official["comments"]) == (5, 4, 1)
    assert (kol["touchpoints"], kol["users"], kol["reposts"], kol["comments"]) == (5, 5, 4, 1)
    assert data["channels"]["知乎机构号"]["comments"] == 1
    assert data["channels"]["公众号"] == {"accounts": 1, "accounts_seen": 0, "touchpoints": 0,
                                       "users": 0, "reposts": 0, "comments": 0, "answers": 0}
    assert all(r["source"] == "derive:品牌A" for r in rows(
        tmp_path / "attribution" / "品牌A" / "touchpoints.jsonl"))


def test_every_model_credits_derived_journeys_as_the_equivalent_import(campaign, capsys):
    tmp_path, uri = campaign
    assert main(derive(tmp_path, uri, "--channels", str(tmp_path / "channels.csv"))) == 0
    assert main(["attribution", "import", "--campaign", "品牌A", "--conversions",
                 str(tmp_path / "orders.csv")]) == 0
    capsys.readouterr()
    assert main(["attribution", "report", "--campaign", "品牌A", "-f", "json"]) == 0
    derived = json.loads(capsys.readouterr().out)
    assert main(["attribution", "report", "--touchpoints", str(tmp_path / "expected.csv"),
                 "--conversions", str(tmp_path / "orders.csv"), "-f", "json"]) == 0
    imported = json.loads(capsys.readouterr().out)
    assert derived["converting"] == imported["converting"] == 5
    assert derived["total_value"] == imported["total_value"] == 1055
    assert derived["credits"].keys() == imported["credits"].keys()
    for model, credits in derived["credits"].items():
        assert credits == pytest.approx(imported["credits"][model]), model
    assert derived["assists"] == imported["assists"]
    # first touch: every weibo buyer met the official account first; last: the KOL closed
    # all but 大熊, who bought before he saw the KOL
    assert derived["credits"]["first"]["官方微博"] == pytest.approx(299 + 199 + 99 + 59)
    assert derived["credits"]["last"]["KOL-数码测评君"] == pytest.approx(299 + 199 + 99)
    assert derived["credits"]["last"]["知乎机构号"] == pytest.approx(399)


def test_the_table_is_chinese_and_says_users_are_per_platform(campaign, capsys):
    tmp_path, uri = campaign
    assert main(derive(tmp_path, uri, "--channels", str(tmp_path / "channels.csv"))) == 0
    out = capsys.readouterr().out
    assert "各渠道触点" in out and "KOL-数码测评君" in out and "未计入的互动" in out
    assert "用户按平台区分" in out and "平台:账号ID" in out  # how to key conversions
    assert "「公众号」是微信公众号" in out  # 0 touches explained, not a silent zero
    assert "tingfeng attribution report --campaign 品牌A" in out
    assert main(["attribution", "import", "--campaign", "品牌A", "--conversions",
                 str(tmp_path / "orders.csv")]) == 0
    assert main(["attribution", "report", "--campaign", "品牌A"]) == 0
    out = capsys.readouterr().out
    assert "5 次转化" in out and "马尔可夫" in out and "不跨平台合并身份" in out


def test_deriving_again_replaces_its_window_and_keeps_imports(campaign, capsys):
    tmp_path, uri = campaign
    folder = tmp_path / "attribution" / "品牌A"
    (tmp_path / "ads.csv").write_text("user,channel,time\nweibo:7200000004,信息流广告,"
                                      "2026-11-01T08:00:00\n", encoding="utf-8")
    assert main(["attribution", "import", "--campaign", "品牌A", "--touchpoints",
                 str(tmp_path / "ads.csv")]) == 0
    assert main(derive(tmp_path, uri, "--channels", str(tmp_path / "channels.csv"))) == 0
    first = rows(folder / "touchpoints.jsonl")
    assert len(first) == 12
    # the map is kept with the campaign: a second run needs no --channels and changes nothing
    assert main(derive(tmp_path, uri, "-f", "json")) == 0
    assert capsys.readouterr().out.count('"removed": 11') == 1
    assert rows(folder / "touchpoints.jsonl") == first
    # re-labelling the KOL moves its touches; the imported ad touch stays
    relabelled = CHANNELS_CSV.replace("KOL-数码测评君", "KOL-测评")
    (tmp_path / "channels2.csv").write_text(relabelled, encoding="utf-8")
    assert main(derive(tmp_path, uri, "--channels", str(tmp_path / "channels2.csv"))) == 0
    channels = [r["channel"] for r in rows(folder / "touchpoints.jsonl")]
    assert channels.count("KOL-测评") == 5 and "KOL-数码测评君" not in channels
    assert "信息流广告" in channels and len(channels) == 12
    # a narrower window replaces only its own rows
    assert main(["--store", uri, "attribution", "derive", "--monitor", "品牌A", "--since",
                 "2026-11-03", "--until", "2026-11-10", "--channels",
                 str(tmp_path / "channels.csv"), "-f", "json"]) == 0
    after = {(r["user"], r["channel"]) for r in rows(folder / "touchpoints.jsonl")}
    assert ("weibo:7200000001", "KOL-数码测评君") in after  # Nov 3: re-derived, old label
    assert ("weibo:7200000004", "KOL-测评") in after  # Nov 2: outside the window, kept


def test_a_conversion_query_counts_a_users_own_post_once_a_day(campaign, capsys):
    tmp_path, uri = campaign
    with open_store(uri) as store:
        store.upsert_posts([
            original("4990000000000401", FANS["七七"], "七七", bj(3, 12), "品牌A 已下单，等发货"),
            original("4990000000000402", FANS["七七"], "七七", bj(3, 18), "品牌A 已下单的第二件"),
            original("4990000000000403", OFFICIAL, "品牌A官方", bj(3, 13), "已下单的朋友请查收"),
            repost("4990000000000404", "阿杰", bj(3, 14), root=K1, parent=K1, parent_author=KOL,
                   text="已购"),  # an engagement, not the user's own post
        ])
    assert main(derive(tmp_path, uri, "--channels", str(tmp_path / "channels.csv"),
                       "--conversion-query", "已购 OR 已下单", "-f", "json")) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["conversions"] == 1
    conversions = rows(tmp_path / "attribution" / "品牌A" / "conversions.jsonl")
    assert [(c["user"], c["time"], c["value"]) for c in conversions] == [
        ("weibo:7200000004", bj(3, 12).isoformat(), 1.0)]
    assert main(["attribution", "report", "--campaign", "品牌A", "-f", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    # 七七: official (Nov 1), KOL (Nov 2), bought Nov 3
    assert report["credits"]["first"] == {"官方微博": 1.0, "KOL-数码测评君": 0.0}
    assert report["credits"]["last"] == {"官方微博": 0.0, "KOL-数码测评君": 1.0}


def test_channel_files_in_every_form_and_their_errors(tmp_path):
    as_json = tmp_path / "c.json"
    as_json.write_text(json.dumps({"weibo:1234567": "官方微博",
                                   "weibo:987": {"channel": "KOL-某某", "name": "某某"}},
                                  ensure_ascii=False), encoding="utf-8")
    found = read_channels(as_json, platforms=("weibo", "zhihu"))
    assert found.accounts == {("weibo", "1234567"): "官方微博", ("weibo", "987"): "KOL-某某"}
    assert found.names == {("weibo", "某某"): "987"}
    lines = tmp_path / "c.jsonl"
    lines.write_text('{"account": "zhihu:brand", "channel": "知乎机构号"}\n', encoding="utf-8")
    assert read_channels(lines).accounts == {("zhihu", "brand"): "知乎机构号"}
    bad = {
        "platform,account,channel\nweibo,1,官方\nweibo,1,KOL\n": "line 3: weibo:1 is already",
        "platform,account,channel\nweibo,,官方\n": "line 2: no account id",
        "platform,account,channel\nwebio,1,官方\n": "unknown platform 'webio'",
        "platform,account,channel\nweibo,1,(direct)\n": "reserved",
        "platform,account\nweibo,1\n": "header needs platform,account,channel",
        "platform,account,channel\n": "no account in it",
    }
    for text, message in bad.items():
        path = tmp_path / "bad.csv"
        path.write_text(text, encoding="utf-8")
        with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
            read_channels(path, platforms=("weibo", "zhihu"))


def test_errors_are_one_line_and_name_the_fix(campaign, capsys):
    tmp_path, uri = campaign
    assert main(derive(tmp_path, uri)) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].endswith("give --channels FILE (CSV header platform,account,channel)")
    (tmp_path / "dup.csv").write_text("platform,account,channel\nweibo,1,A\nweibo,1,B\n",
                                      encoding="utf-8")
    assert main(derive(tmp_path, uri, "--channels", str(tmp_path / "dup.csv"))) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "dup.csv line 3" in err
    assert main(["--store", uri, "attribution", "derive", "--monitor", "品牌B", "--channels",
                 str(tmp_path / "channels.csv")]) == 2
    assert "no monitor '品牌B' (known: 品牌A)" in capsys.readouterr().err
    assert main(derive(tmp_path, uri, "--channels", str(tmp_path / "channels.csv"),
                       "--conversion-query", "已购 OR")) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--conversion-query" in err
    assert main(["--store", uri, "attribution", "derive", "--topic", "a/b", "--channels",
                 str(tmp_path / "channels.csv")]) == 2
    assert "give --campaign NAME" in capsys.readouterr().err
