"""SQL of SqliteStore's ``topic_overlap``: a topic's posts that other topics also hold.

The plan: the topic's window is one range of ``post_topics_window`` (topic, created_at,
platform, post_id: covering, no table read); for each of its rows, the post's other topic rows
are the primary key's range (platform, post_id), read whole (a post has a few topics) and
checked against the others. The ``+`` before ``o.topic`` keeps SQLite from seeking the
primary key once per other topic instead (19 seeks a post for 20 monitors: 0.8 s instead of
0.2 s on a monitor's 100,000 posts). The others arrive as one JSON array parameter, so any
number of monitors fits in one statement. Every value is a parameter.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from datetime import datetime

from crawlers.storage._records import utc, utc_text

__all__ = ["topic_overlap"]

_OVERLAP = """SELECT count(*) FROM post_topics AS k INDEXED BY post_topics_window
    WHERE k.topic = ?{window} AND EXISTS (
        SELECT 1 FROM post_topics AS o
        WHERE o.platform = k.platform AND o.post_id = k.post_id
            AND +o.topic IN (SELECT value FROM json_each(?)))"""


def topic_overlap(conn: sqlite3.Connection, topic: str, others: Iterable[str], *,
                  since: datetime | None, until: datetime | None) -> int:
    """``Store.topic_overlap`` on ``conn`` (the caller holds the store's lock)."""
    wanted = sorted(set(others) - {topic})
    if not wanted or (since is not None and until is not None and utc(since) >= utc(until)):
        return 0
    window, params = "", [topic]
    # either bound leaves out the undated posts (NULL compares false), as posts() does
    for condition, bound in ((" AND k.created_at >= ?", since), (" AND k.created_at < ?", until)):
        if bound is not None:
            window += condition
            params.append(utc_text(bound))
    params.append(json.dumps(wanted, ensure_ascii=False))
    (n,) = conn.execute(_OVERLAP.format(window=window), params).fetchone()
    return int(n)
