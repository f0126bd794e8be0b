"""scrapyd for real: the egg ``scrapyd-deploy`` builds from the project, a scrapyd node on loopback
with that egg deployed (its Python has the dependencies but not Tingfeng, as a node would), and
crawls dispatched to it through scheduler/runner.py (CRAWL_DISPATCH=scrapyd) against the
recorded-response server. The reference is the same crawl as a local subprocess.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import sysconfig
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from crawlers.config import dispatch_mode, load_settings
from crawlers.errors import ConfigError
from crawlers.items import utcnow
from crawlers.spiders.weibo import DEMO_ARGS
from crawlers.storage import open_store
from scheduler.runner import run_crawl
from tests.test_distributed_crawl import EPOCH, _contents, _monitor_run
from tests.test_distributed_servers import LatencyReplay, _wait_port, free_port

REPO = Path(__file__).resolve().parent.parent
# What the egg is built from: the metadata, the deploy target and the packages.
PROJECT_FILES = ("pyproject.toml", "scrapy.cfg", "README.md", "setup.py")
PACKAGES = ("crawlers", "graph", "scoring", "scheduler", "web")
SPIDERS = ["forum", "wechat", "weibo", "zhihu"]


def _deploy_tool(*args: str) -> list[str]:
    return [sys.executable, "-c", "import sys; from scrapyd_client.deploy import main; "
            "sys.argv[0] = 'scrapyd-deploy'; main()", *args]


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "SCRAPY_SETTINGS_MODULE", "SCRAPY_PROJECT")
           and not k.startswith(("SCRAPYD_", "TINGFENG_"))}
    return {**env, **extra}


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the project to build the egg in: scrapyd-deploy writes build/ folders (and a
    setup.py of its own where none exists) into the project, never into the shared checkout."""
    pytest.importorskip("scrapyd", reason="scrapyd missing: pip install .[distributed]")
    pytest.importorskip("scrapyd_client", reason="scrapyd-client missing: pip install "
                        ".[distributed]")
    folder = tmp_path_factory.mktemp("project")
    for name in PROJECT_FILES:
        if (REPO / name).exists():
            shutil.copy(REPO / name, folder / name)
    for name in PACKAGES:
        shutil.copytree(REPO / name, folder / name,
                        ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    return folder


@pytest.fixture(scope="module")
def egg(project: Path) -> Path:
    path = project.parent / "tingfeng.egg"
    proc = subprocess.run(_deploy_tool("--build-egg", str(path)), cwd=project, env=_clean_env(),
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return path


class ScrapydNode:
    """scrapyd on 127.0.0.1:<free port> in ``folder``, with basic auth, run by a Python that
    sees this environment's packages but not Tingfeng (only the deployed egg provides it)."""

    def __init__(self, folder: Path) -> None:
        self.folder, self.port = folder, free_port()
        self.username, self.password = "tingfeng", secrets.token_hex(8)
        self.python = self._node_python()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _node_python(self) -> Path:
        venv = self.folder / "python"
        base = getattr(sys, "_base_executable", sys.executable)
        subprocess.run([base, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
        python = venv / "bin" / "python"
        purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig."
                                  "get_paths()['purelib'])"], capture_output=True, text=True,
                                 check=True).stdout.strip()
        # Plain path lines: this environment's .pth files (the editable install of Tingfeng
        # among them) are not run there.
        ours = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
        (Path(purelib) / "dependencies.pth").write_text("\n".join(sorted(ours)) + "\n")
        return python

    def start(self) -> ScrapydNode:
        (self.folder / "scrapyd.conf").write_text(
            "[scrapyd]\nbind_address = 127.0.0.1\n"
            f"http_port = {self.port}\nusername = {self.username}\npassword = {self.password}\n"
            "eggs_dir = eggs\nlogs_dir = logs\ndbs_dir = dbs\npoll_interval = 0.2\n"
            "max_proc = 2\n", encoding="utf-8")
        log = (self.folder / "scrapyd.log").open("wb")
        # The node's own environment: where a crawl spools, and no secret from ours.
        env = _clean_env(HOME=str(self.folder), XDG_DATA_HOME=str(self.folder / "data"),
                         TINGFENG_SPOOL_DIR=str(self.folder / "spool"))
        self.proc = subprocess.Popen([str(self.python), "-m", "scrapyd"], cwd=self.folder,
                                     env=env, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        _wait_port(self.port, timeout=60)
        return self

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()

    def api(self, endpoint: str, **params: str) -> dict[str, Any]:
        import httpx

        response = httpx.get(f"{self.url}/{endpoint}", params=params, timeout=10,
                             auth=(self.username, self.password))
        return dict(response.json())

    def log(self) -> str:
        return (self.folder / "scrapyd.log").read_text(errors="replace")[-4000:]


@pytest.fixture(scope="module")
def node(project: Path, egg: Path, tmp_path_factory: pytest.TempPathFactory
         ) -> Iterator[ScrapydNode]:
    """A running node with the project deployed by ``scrapyd-deploy`` itself: a per-user
    scrapy.cfg (XDG_CONFIG_HOME, where logins belong) names the target, as the README says."""
    server = ScrapydNode(tmp_path_factory.mktemp("scrapyd")).start()
    try:
        config = server.folder / "config"
        config.mkdir()
        (config / "scrapy.cfg").write_text(
            f"[deploy:test]\nurl = {server.url}/\nproject = tingfeng\n"
            f"username = {server.username}\npassword = {server.password}\n", encoding="utf-8")
        proc = subprocess.run(_deploy_tool("test"), cwd=project, capture_output=True, text=True,
                              env=_clean_env(XDG_CONFIG_HOME=str(config)), timeout=300)
        assert proc.returncode == 0, proc.stdout + proc.stderr[-3000:] + server.log()
        answer = json.loads(proc.stdout.strip().splitlines()[-1])
        assert answer["status"] == "ok" and answer["spiders"] == len(SPIDERS), answer
        yield server
    finally:
        server.stop()


def _settings(folder: Path, base_url: str, node: ScrapydNode | None, **extra: Any) -> Any:
    return load_settings({
        "STORE_URI": f"sqlite:///{folder / 'store.db'}",
        "PLATFORM_BASE_URLS": json.dumps({"weibo": base_url}),
        "DOWNLOAD_DELAY": 0, "AUTOTHROTTLE_ENABLED": False, "CRAWL_BACKOFF_BASE": 0,
        "STORE_SPOOL_DIR": str(folder / "spool"), "REDIS_URL": "", "LOG_LEVEL": "INFO",
        "CRAWL_DISPATCH": "scrapyd" if node else "local",
        "SCRAPYD_URL": node.url if node else "", "SCRAPYD_POLL_INTERVAL": 0.2,
        "SCRAPYD_USERNAME": node.username if node else "",
        "SCRAPYD_PASSWORD": node.password if node else "", **extra,
    })


@pytest.fixture(scope="module")
def replay() -> Iterator[LatencyReplay]:
    with LatencyReplay(latency=0.0) as srv:
        yield srv


# -- the egg ----------------------------------------------------------------------------------
@pytest.mark.slow
def test_the_egg_names_the_settings_module_and_carries_the_code_not_the_tests(egg: Path) -> None:
    with zipfile.ZipFile(egg) as z:
        names = set(z.namelist())
        entry_points = z.read("EGG-INFO/entry_points.txt").decode()
        settings_in_egg = z.read("crawlers/settings.py")
    # scrapyd activates the egg and reads SCRAPY_SETTINGS_MODULE from this entry point.
    assert "[scrapy]\nsettings = crawlers.settings" in entry_points, (
        "pyproject.toml needs [project.entry-points.scrapy] settings = \"crawlers.settings\"")
    assert {f"crawlers/spiders/{s}/spider.py" for s in SPIDERS} <= names
    assert "scoring/models/tingfeng-sentiment.npz" in names  # package data travels too
    assert not any(n.startswith("tests/") or "/fixtures/" in n for n in names)
    # Nothing is baked in: the settings module is the source, reading the node's environment.
    assert settings_in_egg == (REPO / "crawlers" / "settings.py").read_bytes()


@pytest.mark.slow
def test_the_node_runs_the_spiders_from_the_egg_alone(node: ScrapydNode) -> None:
    plain = subprocess.run([str(node.python), "-c", "import crawlers"], capture_output=True,
                           text=True, cwd=node.folder, env=_clean_env())
    assert "No module named 'crawlers'" in plain.stderr  # without the egg, no Tingfeng there
    assert node.api("listspiders.json", project="tingfeng")["spiders"] == SPIDERS


# -- dispatch ---------------------------------------------------------------------------------
@pytest.mark.slow
def test_a_monitor_run_on_scrapyd_stores_what_a_local_crawl_stores(
    node: ScrapydNode, replay: LatencyReplay, tmp_path: Path
) -> None:
    now = utcnow()
    local = _settings(tmp_path / "local", replay.base_url, None)
    assert _monitor_run(local, now).crawls[0]["finish_reason"] == "finished"
    down = f"http://127.0.0.1:{free_port()}"  # a node that is down is passed over
    settings = _settings(tmp_path / "scrapyd", replay.base_url, node,
                         SCRAPYD_URL=f"{down},{node.url}")
    run = _monitor_run(settings, now)
    assert run is not None, node.log()
    crawl = run.crawls[0]
    assert crawl["finish_reason"] == "finished" and crawl["returncode"] == 0, node.log()
    assert _contents(settings.get("STORE_URI"), "t") == _contents(local.get("STORE_URI"), "t")
    with open_store(settings.get("STORE_URI")) as store:
        record = next(r for r in store.runs(kind="crawl") if r.run_id == crawl["run_id"])
        monitor = store.get_monitor("t")
    assert record.stats["item_scraped_count"] == crawl["items"] > 0
    assert monitor is not None and monitor.collected_until == now  # the run completed
    finished = node.api("listjobs.json", project="tingfeng")["finished"]
    assert crawl["run_id"] in {j["id"] for j in finished}  # the scrapyd job is the run


@pytest.mark.slow
def test_a_crawl_past_its_time_limit_is_cancelled_in_scrapyd(
    node: ScrapydNode, tmp_path: Path
) -> None:
    with LatencyReplay(latency=30.0) as slow:  # every request hangs past the time limit
        settings = _settings(tmp_path, slow.base_url, node, CRAWL_KILL_GRACE=2)
        result = run_crawl("weibo", settings=settings, topic="t", extra_args=dict(DEMO_ARGS),
                           timeout=8)
        seen = len(slow.arrivals)
        state = node.api("status.json", job=result.run_id, project="tingfeng")["currstate"]
        time.sleep(1)
        assert len(slow.arrivals) == seen  # nothing more reached the platform
    assert result.timed_out and not result.ok
    assert state in ("finished", None), node.log()  # neither pending nor running any more
    if seen:  # it was crawling: TERM could not end the hung request in time, KILL did
        assert result.ended == "timeout-killed" and result.returncode == -9
        assert "cancelled again (KILL)" in result.log_tail


@pytest.mark.slow
def test_an_interrupted_wait_cancels_the_job_and_the_crawl_records_its_shutdown(
    node: ScrapydNode, tmp_path: Path
) -> None:
    class Interrupted(Exception):
        pass

    with LatencyReplay(latency=1.0) as slow:
        settings = _settings(tmp_path, slow.base_url, node, LOG_LEVEL="DEBUG")

        def on_line(line: str) -> None:
            if slow.arrivals:  # the crawl is under way: stop waiting (Ctrl-C, shutdown)
                raise Interrupted

        with pytest.raises(Interrupted):
            run_crawl("weibo", settings=settings, topic="t", extra_args=dict(DEMO_ARGS),
                      on_line=on_line, timeout=120)
    with open_store(settings.get("STORE_URI")) as store:
        records = store.runs(kind="crawl")
    assert [r.finish_reason for r in records] == ["shutdown"], node.log()  # TERM: graceful
    job = records[0].run_id
    assert node.api("status.json", job=job, project="tingfeng")["currstate"] == "finished"


# -- a node that is down, bad settings ------------------------------------------------------
@pytest.mark.slow
def test_a_down_scrapyd_postpones_the_monitor_run_and_starts_nothing(tmp_path: Path) -> None:
    from crawlers.distributed.scrapyd import ScrapydUnavailable
    from scheduler.jobs import RetryLater

    down = f"http://127.0.0.1:{free_port()}"
    settings = _settings(tmp_path, "http://127.0.0.1:9", None, CRAWL_DISPATCH="scrapyd",
                         SCRAPYD_URL=down)
    with pytest.raises(ScrapydUnavailable, match="SCRAPYD_URL"):
        run_crawl("weibo", settings=settings, topic="t", keywords=["听风"])
    with pytest.raises(RetryLater, match="127.0.0.1"):  # delays, never drops
        _monitor_run(settings, utcnow())
    with open_store(settings.get("STORE_URI")) as store:
        assert store.runs(kind="crawl", since=EPOCH) == []  # no crawl was recorded as failed
        monitor = store.get_monitor("t")
    assert monitor is not None and monitor.collected_until is None  # nothing skipped ahead


@pytest.mark.parametrize(("overrides", "needle"), [
    ({"CRAWL_DISPATCH": "celery"}, "CRAWL_DISPATCH='celery'"),
    ({"CRAWL_DISPATCH": "redis"}, "needs REDIS_URL"),
    ({"CRAWL_DISPATCH": "scrapyd"}, "needs SCRAPYD_URL"),
    ({"CRAWL_DISPATCH": "scrapyd", "SCRAPYD_URL": "ftp://node:6800"}, "SCRAPYD_URL has"),
    ({"CRAWL_DISPATCH": "scrapyd", "SCRAPYD_URL": "http://ops:hunter2@node:6800x"},
     "http://ops:***@node:6800x"),
    ({"CRAWL_DISPATCH": "scrapyd", "SCRAPYD_URL": "http://a:6800,localhost:6800"},
     "'localhost:6800'"),
    ({"CRAWL_DISPATCH": "scrapyd", "SCRAPYD_URL": "http://a:6800", "SCRAPYD_PROJECT": "a b"},
     "SCRAPYD_PROJECT"),
    ({"CRAWL_DISPATCH": "scrapyd", "SCRAPYD_URL": "http://a:6800",
      "SCRAPYD_POLL_INTERVAL": "0"}, "SCRAPYD_POLL_INTERVAL"),
])
def test_bad_dispatch_settings_are_refused_in_one_line_before_any_crawl(
    overrides: dict[str, str], needle: str, tmp_path: Path
) -> None:
    settings = load_settings({"STORE_URI": f"sqlite:///{tmp_path / 'x.db'}", "REDIS_URL": "",
                              **overrides})
    with pytest.raises(ConfigError) as caught:
        run_crawl("weibo", settings=settings, topic="t", keywords=["听风"])
    message = str(caught.value)
    assert needle in message and "\n" not in message and "hunter2" not in message
    assert not (tmp_path / "x.db").exists()  # refused before the store was even opened


@pytest.mark.parametrize(("overrides", "mode"), [
    ({}, "local"), ({"REDIS_URL": "redis://127.0.0.1:6379/0"}, "redis"),
    ({"CRAWL_DISPATCH": "local", "REDIS_URL": "redis://127.0.0.1:6379/0"}, "local"),
    ({"CRAWL_DISPATCH": " Scrapyd ", "SCRAPYD_URL": "https://a.example:6800/, http://b:6800"},
     "scrapyd"),
])
def test_auto_dispatch_keeps_todays_behaviour(overrides: dict[str, str], mode: str) -> None:
    assert dispatch_mode(load_settings({"REDIS_URL": "", **overrides})) == mode


def test_secrets_and_local_paths_stay_off_the_scrapyd_job() -> None:
    from crawlers.distributed.scrapyd import job_settings

    sent = job_settings({"STORE_URI": "mongodb://app:hunter2@db:27017/tingfeng",
                         "STORE_SPOOL_DIR": "/var/lib/tingfeng/spool",
                         "PLATFORM_BASE_URLS": {"weibo": "http://127.0.0.1:8080"},
                         "ROBOTSTXT_OBEY": False, "CRAWL_RUN_ID": "weibo-1"})
    assert sent == {"PLATFORM_BASE_URLS": '{"weibo": "http://127.0.0.1:8080"}',
                    "ROBOTSTXT_OBEY": "False", "CRAWL_RUN_ID": "weibo-1"}
    plain = job_settings({"STORE_URI": "mongodb://db:27017/tingfeng"})
    assert plain == {"STORE_URI": "mongodb://db:27017/tingfeng"}  # no password: the same store
