"""Events kept across monitor runs (scheduler.analysis.eventstore): an event keeps its id as it
grows, a new story gets a new id, and a repeated or killed run counts no post twice; on every
store backend (memory, sqlite, mongomock)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from crawlers.items import Monitor, Post
from scheduler.analysis.eventstore import (
    from_record,
    record_events,
    stored_events,
    to_record,
    update_events,
)
from scoring.why.events import event_id, find_events
from tests.stores import dispose_store, make_store

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
FIRE = ["某地化工厂发生爆炸，现场浓烟滚滚，已致多人受伤送医",
        "化工厂爆炸现场视频曝光，浓烟滚滚，消防正在全力扑救",
        "化工厂爆炸事故伤者已送往医院救治，周边居民紧急疏散",
        "化工厂爆炸原因正在调查，浓烟滚滚附近空气质量受关注"]
METRO = ["地铁三号线早高峰故障停运，大量乘客滞留站台",
         "地铁三号线故障停运一个小时，乘客滞留站台无人解释",
         "地铁三号线故障停运原因公布，乘客滞留情况已缓解"]


@pytest.fixture(params=["memory", "sqlite", "mongomock"])
def store(request, tmp_path):
    s = make_store(request.param, tmp_path)
    yield s
    dispose_store(s)


def post(pid: str, text: str, minutes: float, **kw: object) -> Post:
    return Post("weibo", pid, text, created_at=T0 + timedelta(minutes=minutes),  # type: ignore[arg-type]
                author_id=f"a{pid}", sentiment_label="negative", **kw)


def sizes(store) -> dict[str, int]:
    return {e.event_id: e.size for e in store.events("m")}


def test_an_event_keeps_its_id_as_it_grows_and_a_new_story_gets_a_new_one(store) -> None:
    first = update_events(store, "m", [post("f0", FIRE[0], 0), post("f1", FIRE[1], 5)],
                          now=T0 + timedelta(hours=1), active_since=None)
    fire_id = event_id(("weibo", "f0"))
    assert first.new == (fire_id,) and first.saved == 1
    assert sizes(store) == {fire_id: 2}

    # the next window overlaps the last one (f1 again) and brings a repost and a new story
    second = update_events(store, "m", [
        post("f1", FIRE[1], 5), post("f2", FIRE[2], 70),
        post("r1", "太可怕了，祈福", 71, root_post_id="f0", kind="repost"),
        post("m0", METRO[0], 72), post("m1", METRO[1], 80), post("m2", METRO[2], 85)],
        now=T0 + timedelta(hours=2), active_since=T0)
    metro_id = event_id(("weibo", "m0"))
    assert second.grown == (fire_id,) and second.new == (metro_id,)
    assert sizes(store) == {fire_id: 4, metro_id: 3}
    fire = next(e for e in store.events("m") if e.event_id == fire_id)
    assert set(fire.members) == {("weibo", p) for p in ("f0", "f1", "f2", "r1")}
    assert fire.canonical == ("weibo", "f0") and fire.last_at == T0 + timedelta(hours=1)
    assert fire.updated_at == T0 + timedelta(hours=2)

    third = update_events(store, "m", [post("f3", FIRE[3], 130)],
                          now=T0 + timedelta(hours=3), active_since=T0)
    assert third.grown == (fire_id,) and third.new == ()
    assert sizes(store) == {fire_id: 5, metro_id: 3}


def test_a_repeated_run_saves_nothing_and_counts_no_post_twice(store) -> None:
    window = [post(f"f{n}", t, n) for n, t in enumerate(FIRE)] + [
        post(f"m{n}", t, 30 + n) for n, t in enumerate(METRO)]
    now = T0 + timedelta(hours=1)
    done = update_events(store, "m", window, now=now, active_since=None)
    assert done.saved == 2
    before = store.events("m")
    again = update_events(store, "m", window, now=now, active_since=None)  # a re-run
    assert (again.saved, again.new, again.grown) == (0, (), ())
    assert store.events("m") == before
    assert sorted(sizes(store).values()) == [3, 4]


def test_a_run_killed_after_saving_is_not_counted_twice_when_run_again(store) -> None:
    update_events(store, "m", [post("f0", FIRE[0], 0)], now=T0, active_since=None)
    grown = [post("f0", FIRE[0], 0), post("f1", FIRE[1], 5), post("f2", FIRE[2], 9)]
    update_events(store, "m", grown, now=T0 + timedelta(hours=1), active_since=None)
    # the process dies before the run is recorded: the next run sees the same window
    update_events(store, "m", grown, now=T0 + timedelta(hours=1, minutes=5), active_since=None)
    assert sizes(store) == {event_id(("weibo", "f0")): 3}


def test_stored_event_reads_back_as_the_event(store) -> None:
    [event] = find_events([post("f0", FIRE[0], 0), post("f1", FIRE[1], 65, like_count=9,
                                                       url="https://m.weibo.cn/detail/f1")])
    store.save_events("m", [to_record(event, updated_at=T0)])
    [back] = stored_events(store, "m")
    assert back == event
    assert from_record(to_record(event, updated_at=T0)) == event


def test_the_run_step_reads_no_posts_and_takes_only_its_window() -> None:
    from crawlers.storage.memory import MemoryStore

    class NoReads(MemoryStore):
        def posts(self, *args: object, **kwargs: object):  # type: ignore[override]
            raise AssertionError("the events step must use the posts the run holds")

    store = NoReads()
    now = T0 + timedelta(days=2)
    monitor = Monitor("m", "化工厂", ["weibo"], last_run_at=now - timedelta(minutes=90))
    posts = [post("old", FIRE[0], 0),  # before the previous run: an earlier run's post
             post("f1", FIRE[1], 2 * 1440 - 80), post("f2", FIRE[2], 2 * 1440 - 10)]
    done = record_events(store, monitor, posts, now=now, window=timedelta(hours=1),
                         start=now - timedelta(days=7))
    [event] = store.events("m")
    assert done.new == (event.event_id,) and event.members == (("weibo", "f1"), ("weibo", "f2"))
    # a story quiet for more than ACTIVE_FOR (48 h) is over, even within the lookback
    later = now + timedelta(days=3)
    monitor.last_run_at = later - timedelta(hours=1)
    record_events(store, monitor, [post("f3", FIRE[3], 5 * 1440 - 5)], now=later,
                  window=timedelta(hours=1), start=later - timedelta(days=7))
    assert sorted(e.size for e in store.events("m")) == [1, 2]
    # one active within it grows
    record_events(store, monitor, [post("f4", FIRE[0], 5 * 1440 - 1)], now=later,
                  window=timedelta(hours=1), start=later - timedelta(days=7))
    assert sorted(e.size for e in store.events("m")) == [2, 2]


def test_events_report_shows_the_stored_ids_and_sizes(store) -> None:
    from scheduler.analysis.why import events_report
    from scheduler.i18n import wording

    update_events(store, "m", [post("f0", FIRE[0], 0), post("f1", FIRE[1], 5)],
                  now=T0 + timedelta(hours=1), active_since=None)
    window = [post("f2", FIRE[2], 70), post("m0", METRO[0], 72), post("m1", METRO[1], 80)]
    report = events_report(window, title="", subtitle="", w=wording(),
                           stored=stored_events(store, "m"))
    got = {e["event_id"]: e["size"] for e in report.data["events"]}
    assert got == {event_id(("weibo", "f0")): 3, event_id(("weibo", "m0")): 2}
    assert report.sections[0].columns[-1] == "编号"
    assert {row[-1] for row in report.sections[0].rows} == set(got)
    # a stored story without a post in the window is not listed
    later = events_report(window[1:], title="", subtitle="", w=wording(),
                          stored=stored_events(store, "m"))
    assert [e["event_id"] for e in later.data["events"]] == [event_id(("weibo", "m0"))]
    plain = events_report(window, title="", subtitle="", w=wording())
    assert event_id(("weibo", "f2")) in {e["event_id"] for e in plain.data["events"]}


def test_two_monitor_runs_keep_the_story_id_and_a_repeat_adds_nothing() -> None:
    from crawlers.config import load_settings
    from crawlers.items import CrawlRun
    from crawlers.storage.memory import MemoryStore
    from scheduler.jobs import monitor_topic
    from scheduler.monitors import add_monitor
    from scheduler.notify import MemoryMailer
    from scheduler.runner import CrawlResult

    store = MemoryStore()
    add_monitor(store, Monitor("化工", "化工厂 OR 地铁", ["weibo"], every=1800),
                now=T0 - timedelta(days=1))
    batches = {T0 + timedelta(hours=1): [post("f0", FIRE[0], 10), post("f1", FIRE[1], 20)],
               T0 + timedelta(hours=2): [post("f2", FIRE[2], 70), post("f3", FIRE[3], 80),
                                         post("m0", METRO[0], 90), post("m1", METRO[1], 100)]}

    def crawl(platform, *, topic, now, **_):
        posts = [Post(p.platform, p.post_id, p.text, created_at=p.created_at, topics=[topic],
                      author_id=p.author_id, sentiment_label=p.sentiment_label)
                 for p in batches.get(now, [])]
        store.upsert_posts(posts)
        store.record_run(CrawlRun(f"c-{now:%H}", platform, topic=topic, kind="crawl",
                                  started_at=now, finish_reason="finished"))
        return CrawlResult(platform, f"c-{now:%H}", 0, "finished", {})

    def run(now: datetime) -> None:
        monitor_topic("化工", store=store, mailer=MemoryMailer(), now=now,
                      settings=load_settings({"STORE_URI": "memory://"}),
                      run_crawl=lambda platform, **kw: crawl(platform, now=now, **kw),
                      rescore=lambda store, **kw: None, graph_report=lambda p, a: None,
                      charts=lambda posts, now: {})

    run(T0 + timedelta(hours=1))
    fire_id = event_id(("weibo", "f0"))
    assert sizes(store) == {}  # a monitor's events live under its name
    assert {e.event_id: e.size for e in store.events("化工")} == {fire_id: 2}
    run(T0 + timedelta(hours=2))
    after = {e.event_id: e.size for e in store.events("化工")}
    assert after == {fire_id: 4, event_id(("weibo", "m0")): 2}
    run(T0 + timedelta(hours=2))  # the same run again (a retry after a crash)
    assert {e.event_id: e.size for e in store.events("化工")} == after


def test_report_events_for_a_monitor_shows_the_stored_ids(tmp_path, capsys) -> None:
    import json

    from crawlers.storage import open_store
    from scheduler.cli import main

    uri = f"sqlite:///{tmp_path / 'ev.db'}"
    now = datetime.now(UTC).replace(microsecond=0)
    old = [Post("weibo", f"f{i}", text=FIRE[i], topics=["m"], author_id=f"a{i}",
                created_at=now - timedelta(hours=5, minutes=i)) for i in range(2)]
    new = [Post("weibo", "f2", text=FIRE[2], topics=["m"], author_id="a2",
                created_at=now - timedelta(hours=1))]
    with open_store(uri) as store:
        store.save_monitor(Monitor("m", "化工厂 OR 爆炸", ["weibo"], every=3600))
        store.upsert_posts(old + new)
        update_events(store, "m", old, now=now - timedelta(hours=4), active_since=None)
        [kept] = [e.event_id for e in store.events("m")]
    assert kept == event_id(("weibo", "f1"))  # the story's earliest post names it
    assert main(["report", "events", "--monitor", "m", "--since", "2h", "--format", "json",
                 "--store", uri]) == 0
    data = json.loads(capsys.readouterr().out)
    # the window holds one post of the story the earlier run stored: its id and whole size
    assert [(e["event_id"], e["size"]) for e in data["events"]] == [(kept, 3)]
