"""Every index MongoStore creates, with why it exists and which store methods use it.

One list, read three ways: ``MongoStore.ensure_indexes`` creates it at open (idempotent:
``create_indexes`` of an existing index is a no-op), ``tingfeng store indexes`` prints it, and
the tests compare it with what the database holds. Pure data: no pymongo import.

Names are the driver's default (``platform_1_post_id_1``): a database made by an earlier
release already holds these indexes under these names, and creating the same keys under another
name fails (IndexOptionsConflict). The read methods pass ``keys`` as the ``hint`` so the planner
never falls back to an in-memory sort of a whole window.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["AUTHOR_WINDOW", "CASCADE", "INDEXES", "IndexSpec", "POST_KEY", "SENTIMENT_WINDOW",
           "TIME_WINDOW", "TOPIC_WINDOW", "indexes_of"]

Keys = tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class IndexSpec:
    """An index of ``collection`` on ``keys`` (1 ascending); ``used_by`` names store methods."""

    collection: str
    keys: Keys
    why: str
    used_by: tuple[str, ...]
    unique: bool = False

    @property
    def name(self) -> str:
        """The driver's default name for ``keys``."""
        return "_".join(f"{field}_{direction}" for field, direction in self.keys)


POST_KEY: Keys = (("platform", 1), ("post_id", 1))
TOPIC_WINDOW: Keys = (("topics", 1), ("created_at", 1), ("platform", 1), ("post_id", 1))
TIME_WINDOW: Keys = (("created_at", 1), ("platform", 1), ("post_id", 1))
SENTIMENT_WINDOW: Keys = (("sentiment_label", 1), ("created_at", 1), ("platform", 1),
                          ("post_id", 1))
AUTHOR_WINDOW: Keys = (("platform", 1), ("author_id", 1), ("created_at", 1))
CASCADE: Keys = (("platform", 1), ("root_post_id", 1))

INDEXES: tuple[IndexSpec, ...] = (
    IndexSpec("posts", POST_KEY, "a post's identity: one document per (platform, post_id); "
              "the fields of the shard key", ("upsert_posts", "set_scores", "get_posts",
                                               "cascade (the root)"), unique=True),
    IndexSpec("posts", TOPIC_WINDOW, "a topic's window in time order: equality on the topic, "
              "range on created_at, the sort's tie-breakers in the index (no in-memory sort)",
              ("posts(topic=)", "unscored_posts(topic=)", "newest_posts(topic=)",
               "post_counts(topic=)", "author_counts(topic=)", "author_stats(topic=)",
               "topic_overlap")),
    IndexSpec("posts", TIME_WINDOW, "a window without a topic, and the first and last stored "
              "created_at (one index end each)",
              ("posts()", "unscored_posts()", "newest_posts()", "post_counts()",
               "author_counts()", "author_stats()")),
    IndexSpec("posts", SENTIMENT_WINDOW, "one sentiment label's posts newest first, read "
              "backwards (the post browser's filter)", ("newest_posts(sentiment=)",)),
    IndexSpec("posts", AUTHOR_WINDOW, "one account's posts in time order (account pages)",
              ("newest_posts(author=)", "post_counts(author=)", "author_stats(authors=)")),
    IndexSpec("posts", CASCADE, "the posts of a repost cascade", ("cascade", "cascade_sizes")),
    IndexSpec("authors", (("platform", 1), ("author_id", 1)), "an account's identity",
              ("upsert_authors", "set_author_scores", "authors(keys)"), unique=True),
    IndexSpec("runs", (("run_id", 1),), "a crawl run's identity (its record is replaced "
              "whole)", ("record_run",), unique=True),
    IndexSpec("runs", (("started_at", 1),), "recent runs in order (crawl-failure rules, run "
              "history)", ("runs(since=)",)),
    IndexSpec("alerts", (("alert_id", 1),), "alert dedupe: a second save of the same "
              "rule/monitor/window is refused by this key; claims find their alert by it",
              ("save_alert", "update_alert", "claim_alert"), unique=True),
    IndexSpec("alerts", (("created_at", 1),), "recent alerts in order", ("alerts(since=)",)),
    IndexSpec("monitors", (("name", 1),), "a monitor's identity",
              ("save_monitor", "get_monitor", "delete_monitor", "monitors"), unique=True),
)


def indexes_of(collection: str) -> list[IndexSpec]:
    """The specs of one collection, in creation order."""
    return [spec for spec in INDEXES if spec.collection == collection]
