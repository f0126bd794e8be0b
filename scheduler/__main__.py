"""``python -m scheduler [--store URI] [-v]``: the monitor service, ``tingfeng scheduler run``."""

from __future__ import annotations

import sys

from scheduler.cli import main

if __name__ == "__main__":
    # Only the global options (--store, -v) make sense here; they go before the sub-command.
    sys.exit(main([*sys.argv[1:], "scheduler", "run"]))
