"""`tingfeng demo` end to end, as a newcomer runs it: a fresh data directory, no network."""

from __future__ import annotations

import email
import os
import subprocess
import sys
from email import policy
from pathlib import Path

import pytest

from crawlers.storage import open_store

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parent.parent


def test_demo_runs_the_whole_loop_into_a_fresh_data_dir(tmp_path: Path) -> None:
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path), "PYTHONPATH": str(REPO)}
    for var in ("TINGFENG_STORE", "TINGFENG_MAIL_URL", "SCRAPY_SETTINGS_MODULE"):
        env.pop(var, None)
    proc = subprocess.run(
        [sys.executable, "-c", "from scheduler.cli import main; raise SystemExit(main())", "demo"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    home = tmp_path / "tingfeng"

    with open_store(f"sqlite:///{home / 'tingfeng.db'}") as store:
        posts = list(store.posts(topic="听风演示"))
        assert {p.platform for p in posts} == {"weibo", "wechat", "zhihu", "forum"}
        kinds = {p.kind for p in posts}
        assert {"original", "repost", "comment", "reply", "article", "answer", "thread"} <= kinds
        assert any(p.parent_post_id for p in posts if p.kind == "repost")
        assert all(p.sentiment_model for p in posts)  # every collected post was scored
        assert store.authors()
        assert [r.platform for r in store.runs(kind="crawl")].count("weibo") == 1
        assert store.alerts(status="sent")

    [eml] = (home / "outbox").glob("*.eml")
    message = email.message_from_bytes(eml.read_bytes(), policy=policy.default)
    assert "听风演示" in message["Subject"] and message["To"] == "pr-team@example.com"
    html = (home / "reports" / "demo-kol.html").read_text(encoding="utf-8")
    assert "KOL" in html and "data:image/png;base64," in html
    assert "key nodes" in proc.stdout.lower() and "alerts:" in proc.stdout
    # ... and ends saying how to open the web app on it, with a demo login that works
    line = next(x for x in proc.stdout.splitlines() if x.startswith("Web app:"))
    password = line.split("log in as demo / ", 1)[1].split()[0]
    from web.accounts import Accounts

    accounts = Accounts(home / "web.db")
    try:
        assert accounts.verify("demo", password) is not None
    finally:
        accounts.close()
