"""A delivery process for the claim test: ``python -m tests.claim_worker STORE_URI OWNER LOG GO``.

Opens the store, writes ``GO.OWNER.ready`` and waits until the file GO exists (the test creates
it once every worker is ready, so all start together), then walks every pending alert: claims
it, appends ``OWNER alert_id`` to LOG (the "delivery"), and marks it sent as its owner.
"""

from __future__ import annotations

import dataclasses
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from crawlers.storage import open_store


def main(uri: str, owner: str, log: str, go: str) -> None:
    with open_store(uri) as store:
        Path(f"{go}.{owner}.ready").touch()
        while not Path(go).exists():
            time.sleep(0.002)
        ids = [a.alert_id for a in store.alerts(status="pending")]
        for alert_id in ids:
            now = datetime.now(UTC)
            held = store.claim_alert(alert_id, owner, now=now, lease_seconds=300)
            if held is None:
                continue
            with open(log, "a", encoding="utf-8") as fh:  # O_APPEND: whole lines
                fh.write(f"{owner} {alert_id}\n")
                fh.flush()
                os.fsync(fh.fileno())
            done = dataclasses.replace(held, status="sent", sent_at=now, claimed_by=None,
                                       claimed_until=None)
            if not store.update_alert(done, owner=owner):
                raise SystemExit(f"{owner} lost its claim on {alert_id}")


if __name__ == "__main__":
    main(*sys.argv[1:5])
