"""Real servers for the distributed tests, on loopback and temporary folders: redis-server (with
an append-only file, so a restart keeps the frontier), PostgreSQL (initdb into tmp, run as the
``postgres`` user when the tests run as root), the replay server with an injected per-request
latency, and ``tingfeng worker`` processes. Each fixture skips, saying why, when its server
binary is missing (``.ci/run`` installs Debian's redis-server and postgresql).

Also imported by bench/bench_distributed.py.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from crawlers.replay import ReplayServer, _Handler  # the handler is subclassed for latency

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "tests" / "fixtures"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_port(port: int, timeout: float = 15) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


# -- Redis ------------------------------------------------------------------------------------
class RedisServer:
    """redis-server on 127.0.0.1:<free port>, data in ``folder`` (AOF, fsync always)."""

    def __init__(self, binary: str, folder: Path) -> None:
        self.binary, self.folder, self.port = binary, folder, free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            [self.binary, "--bind", "127.0.0.1", "--port", str(self.port), "--dir",
             str(self.folder), "--appendonly", "yes", "--appendfsync", "always", "--save", "",
             "--protected-mode", "yes", "--logfile", str(self.folder / "redis.log")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _wait_port(self.port)
        return self

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()  # SIGTERM: redis-server writes and closes its AOF
            self.proc.wait(15)

    def restart(self, down_for: float = 1.0) -> None:
        self.stop()
        time.sleep(down_for)
        self.start()

    def client(self) -> Any:
        import redis

        return redis.Redis.from_url(self.url)


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed (apt-get install redis-server; .ci/run does)")
    pytest.importorskip("scrapy_redis", reason="scrapy-redis missing: pip install .[distributed]")
    server = RedisServer(binary, tmp_path_factory.mktemp("redis")).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    """A clean database for each test."""
    redis_server.client().flushall()
    return redis_server.url


# -- PostgreSQL -------------------------------------------------------------------------------
def _pg_bin() -> Path | None:
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if (Path(candidate) / "initdb").exists():
            return Path(candidate)
    found = shutil.which("initdb")
    return Path(found).parent if found else None


class PostgresServer:
    def __init__(self, bindir: Path, folder: Path) -> None:
        self.bindir, self.folder, self.port = bindir, folder, free_port()
        self.data = folder / "data"
        self.as_root = os.geteuid() == 0

    def _run(self, *cmd: str) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if self.as_root else []
        subprocess.run(prefix + list(cmd), check=True, capture_output=True, timeout=120)

    def start(self) -> PostgresServer:
        self.folder.mkdir(parents=True, exist_ok=True)
        if self.as_root:
            shutil.chown(self.folder, "postgres", "postgres")
        self._run(str(self.bindir / "initdb"), "-D", str(self.data), "-U", "postgres",
                  "--auth=trust", "-E", "UTF8", "--no-sync")
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-w", "-l",
                  str(self.folder / "pg.log"), "-o",
                  f"-c listen_addresses=127.0.0.1 -c port={self.port} -c fsync=off "
                  f"-k {self.folder}", "start")
        return self

    def stop(self) -> None:
        try:
            self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "fast", "stop")
        except subprocess.CalledProcessError:
            pass

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"


@pytest.fixture(scope="module")
def postgres_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    bindir = _pg_bin()
    if bindir is None:
        pytest.skip("PostgreSQL is not installed (apt-get install postgresql; .ci/run does)")
    pytest.importorskip("psycopg", reason="psycopg missing: pip install .[distributed]")
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        pytest.skip("running as root without runuser: PostgreSQL refuses to run as root")
    import tempfile

    # Not under pytest's tmp folders: those are private to root, and the server runs as postgres.
    base = Path(tempfile.mkdtemp(prefix="tingfeng-pg-"))
    if os.geteuid() == 0:
        shutil.chown(base, "postgres", "postgres")
    server = PostgresServer(bindir, base / "cluster").start()
    try:
        yield server.url
    finally:
        server.stop()
        shutil.rmtree(base, ignore_errors=True)


# -- the replay server, slowed down -----------------------------------------------------------
class LatencyReplay(ReplayServer):
    """The recorded-response server with ``latency`` seconds per request; it records when
    each request arrived (and per real host how many were in flight at most)."""

    def __init__(self, latency: float = 0.05, fixtures: Path = FIXTURES) -> None:
        super().__init__(fixtures)
        self.latency = latency
        self.arrivals: list[tuple[float, str, str]] = []  # (time, real host, path)
        self.in_flight: dict[str, int] = {}
        self.max_in_flight: dict[str, int] = {}
        lock = threading.Lock()
        outer = self

        class Slow(_Handler):
            def _serve(self) -> None:
                host = self.path.lstrip("/").split("/", 1)[0]
                with lock:
                    outer.arrivals.append((time.monotonic(), host, self.path))
                    outer.in_flight[host] = outer.in_flight.get(host, 0) + 1
                    outer.max_in_flight[host] = max(outer.max_in_flight.get(host, 0),
                                                    outer.in_flight[host])
                try:
                    time.sleep(outer.latency)
                    super()._serve()
                finally:
                    with lock:
                        outer.in_flight[host] -= 1

            do_GET = do_POST = do_HEAD = _serve

        self._server.RequestHandlerClass = Slow

    def max_in_window(self, host: str, window: float) -> int:
        times = sorted(t for t, h, _ in self.arrivals if h == host)
        best, j = 0, 0
        for i, t in enumerate(times):
            while times[j] < t - window:
                j += 1
            best = max(best, i - j + 1)
        return best


# -- workers ----------------------------------------------------------------------------------
WORKER_CODE = """
import json, logging, os, sys
logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
from crawlers.config import load_settings
from crawlers.distributed.worker import Worker
sys.exit(Worker(load_settings(json.loads(os.environ["TEST_WORKER_SETTINGS"]))).run())
"""


def start_worker(redis_url: str, folder: Path, name: str, **settings: Any
                 ) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env["SCRAPY_SETTINGS_MODULE"] = "crawlers.settings"
    env["TEST_WORKER_SETTINGS"] = json.dumps({
        "REDIS_URL": redis_url, "DISTRIBUTED_LEASE_SECONDS": 1.5,
        "DISTRIBUTED_POLL_INTERVAL": 0.05, "LOG_LEVEL": "INFO", **settings})
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / f"{name}.log").open("wb") as log:  # the child keeps its own descriptor
        return subprocess.Popen([sys.executable, "-c", WORKER_CODE], cwd=REPO, env=env,
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def stop_workers(procs: list[subprocess.Popen[bytes]], timeout: float = 20) -> list[int]:
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    codes = []
    for p in procs:
        try:
            codes.append(p.wait(timeout))
        except subprocess.TimeoutExpired:
            p.kill()
            codes.append(p.wait())
    return codes


def test_the_latency_replay_server_slows_every_request_down() -> None:
    import httpx

    with LatencyReplay(latency=0.2) as srv:
        started = time.monotonic()
        httpx.get(srv.base_url + "/m.weibo.cn/nothing", timeout=5)
        assert time.monotonic() - started >= 0.2
        assert srv.arrivals and srv.arrivals[0][1] == "m.weibo.cn"
