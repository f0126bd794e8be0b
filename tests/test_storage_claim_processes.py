"""The atomic alert claim across real processes: four delivery processes race over the same
pending alerts in one store; every alert is delivered exactly once.

SQLite runs on a file here; a real MongoDB server runs when TINGFENG_TEST_MONGO_URI is set (an
in-process mongomock cannot be shared between processes, so it is covered by the contract suite).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from crawlers.items import Alert
from crawlers.storage import open_store
from tests.stores import MONGO_URI_ENV

ROOT = Path(__file__).resolve().parents[1]
WORKERS = 4
ALERTS = 120


def _uri(kind: str, tmp_path: Path) -> str:
    if kind == "sqlite":
        return f"sqlite:///{tmp_path / 'race.db'}"
    base = os.environ.get(MONGO_URI_ENV)
    if not base:
        pytest.skip(f"real-MongoDB leg: set {MONGO_URI_ENV}=mongodb://host:port to run it")
    return f"{base.rstrip('/')}/tingfeng_test_{uuid.uuid4().hex[:12]}"


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("mongodb",
                                                         marks=pytest.mark.external_service)])
def test_racing_processes_deliver_each_alert_once(kind, tmp_path):
    uri = _uri(kind, tmp_path)
    t0 = datetime(2026, 3, 1, tzinfo=UTC)
    with open_store(uri) as store:
        for i in range(ALERTS):
            store.save_alert(Alert(f"a{i:03d}", "m", "NegativeSurge", "warning", f"告警 {i}",
                                   created_at=t0 + timedelta(seconds=i)))
    log, go = tmp_path / "delivered.log", tmp_path / "go"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [
        subprocess.Popen([sys.executable, "-m", "tests.claim_worker", uri, f"w{n}", str(log),
                          str(go)], cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True)
        for n in range(WORKERS)
    ]
    ready = [Path(f"{go}.w{n}.ready") for n in range(WORKERS)]
    deadline = time.monotonic() + 60
    while not all(r.exists() for r in ready) and time.monotonic() < deadline:
        time.sleep(0.01)  # imports take a while: start them together, not the first alone
    go.touch()
    errors = [p.communicate(timeout=120)[1] for p in procs]
    assert [p.returncode for p in procs] == [0] * WORKERS, errors
    lines = log.read_text(encoding="utf-8").splitlines()
    delivered = Counter(line.split()[1] for line in lines)
    assert set(delivered) == {f"a{i:03d}" for i in range(ALERTS)}
    assert max(delivered.values()) == 1, [k for k, v in delivered.items() if v > 1]
    # the race was real: more than one process delivered something
    assert len({line.split()[0] for line in lines}) > 1
    with open_store(uri) as store:
        assert store.alerts(status="pending") == []
        if kind == "mongodb":
            store._client.drop_database(store.database_name)  # type: ignore[attr-defined]
