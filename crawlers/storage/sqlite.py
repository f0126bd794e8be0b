"""SqliteStore: the embedded default store (stdlib sqlite3, WAL, JSON documents + indexed keys).

Imports only the standard library and Tingfeng's data layer: never scrapy or pymongo.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from crawlers.errors import BackendUnavailable, ConfigError, IntegrityError, StoreError
from crawlers.items import Alert, Author, CrawlRun, Monitor, Post, from_dict
from crawlers.storage import _aggregate as agg
from crawlers.storage import _sql as sql
from crawlers.storage import _sqlcounts, _sqlreads
from crawlers.storage._records import (
    batched,
    json_doc,
    json_text,
    keeps_stored_text,
    utc_text,
    window_key,
)
from crawlers.storage.base import (
    AuthorPage,
    EventRecord,
    PostPage,
    Store,
    check_author_fields,
    event_data_text,
    event_record,
    order_events,
)

if TYPE_CHECKING:
    from crawlers.items import AuthorKey, PostKey, PostScore, ScoreInput

__all__ = ["SCHEMA_VERSION", "SqliteStore", "sqlite_path"]

SCHEMA_VERSION = sql.SCHEMA_VERSION
log = logging.getLogger(__name__)
_PAGE = 1000  # rows per read query: memory stays flat however large the window
_KEYS_PER_QUERY = 400  # (platform, id) pairs per IN list, well under SQLite's variable limit



def sqlite_path(uri: str) -> str:
    """The file an ``sqlite://`` URI names, as written (relative to the current folder unless it
    starts with ``/`` or ``~``); ``:memory:`` for none.

    :raises ConfigError: for a URI with a host (``sqlite://host/x.db``), naming both forms.

    >>> sqlite_path("sqlite:///data/x.db"), sqlite_path("sqlite:////var/x.db")
    ('data/x.db', '/var/x.db')
    """
    parts = urlsplit(uri)
    if parts.netloc:
        raise ConfigError(
            f"bad SQLite store URI {uri!r}: use sqlite:///relative/path.db (three slashes) "
            "or sqlite:////absolute/path.db (four)"
        )
    return unquote(parts.path)[1:] or ":memory:"


class SqliteStore(Store):
    """The embedded default: one SQLite file, safe for one writer process and many readers.

    Layout: one table per record kind, the natural key as PRIMARY KEY, the record as JSON text
    (``doc``, with ``extra`` in its own JSON column) and a few indexed copies of fields
    (``created_at`` as fixed-width UTC text, ``root_post_id``…); ``post_topics`` holds topic
    membership, with copies of the columns a topic's aggregates group and sum (schema 5).
    Upserts merge inside SQLite (``INSERT … ON CONFLICT DO UPDATE``), one transaction per
    batch. The connection may be used from any thread; a lock serialises it.

    Settings:
        STORE_URI: ``sqlite:///relative/path.db``, ``sqlite:////absolute/path.db`` or
            ``sqlite:///:memory:``; the folder is created if missing.
        STORE_BATCH_SIZE: posts per transaction (``batch_size``).
    """

    def __init__(
        self,
        path: str | PathLike[str] = ":memory:",
        *,
        timeout: float = 10.0,
        batch_size: int = 500,
    ) -> None:
        self.path = str(path) or ":memory:"
        self.timeout = timeout
        self.batch_size = max(1, batch_size)
        self._lock = threading.RLock()
        self._closed = False
        self._texts_kept = 0  # refusals of sql.KEEPS_TEXT on this connection, ever
        self._conn = self._connect()

    @classmethod
    def from_uri(cls, uri: str) -> SqliteStore:
        """``sqlite:///data/x.db`` (relative), ``sqlite:////var/x.db`` (absolute); ``~`` expands."""
        path = sqlite_path(uri)
        return cls(path if path == ":memory:" else Path(path).expanduser())

    # -- connection -------------------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        if sqlite3.sqlite_version_info < (3, 24, 0):
            raise StoreError(
                f"SqliteStore needs SQLite >= 3.24 (upserts); this Python has "
                f"{sqlite3.sqlite_version}: use a newer Python build or a mongodb:// store"
            )
        if self.path != ":memory:":
            folder = Path(self.path).parent
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise BackendUnavailable(
                    f"cannot create folder {folder} for SQLite database {self.path} "
                    f"({exc.strerror}); choose another path with --store or TINGFENG_STORE"
                ) from exc
        conn: sqlite3.Connection | None = None
        try:
            conn = sqlite3.connect(
                self.path, timeout=self.timeout, isolation_level=None, check_same_thread=False
            )
            # WAL: the crawler subprocess writes while the scheduler reads. NORMAL is durable
            # across application crashes in WAL mode, and skips an fsync per transaction.
            conn.execute(f"PRAGMA busy_timeout = {int(self.timeout * 1000)}")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.create_function(sql.KEEPS_TEXT, 2, self._keeps_text)
            self._migrate(conn)
        except sqlite3.Error as exc:
            if conn is not None:
                conn.close()
            raise self._translate(exc) from exc
        return conn

    def _migrate(self, conn: sqlite3.Connection) -> None:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version == SCHEMA_VERSION:
            return
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"SQLite database {self.path} has store schema {version}, newer than this "
                f"Tingfeng understands ({SCHEMA_VERSION}): upgrade Tingfeng"
            )
        conn.execute("BEGIN IMMEDIATE")
        try:
            # Another process may have created the schema while we waited for the lock.
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version == 0:
                for statement in sql.SCHEMA:
                    conn.execute(statement)
                version = 1
            if version > 1:  # an existing file: upgrading a big one takes a while, say so
                log.warning("upgrading the SQLite store %s from schema %d to %d (once; about "
                            "30 s per 1,000,000 posts)", self.path, version, SCHEMA_VERSION)
            for step in range(version + 1, SCHEMA_VERSION + 1):
                for statement in sql.MIGRATIONS[step]:
                    conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            conn.execute("COMMIT")
        except BaseException:
            conn.rollback()
            raise

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._conn.close()

    @contextmanager
    def _session(self, *, write: bool = False) -> Iterator[sqlite3.Connection]:
        """The connection under the lock; ``write`` wraps one transaction. Errors translated."""
        with self._lock:
            conn = self._conn
            if self._closed:
                raise StoreError(f"the store on {self.path} is closed; open it again")
            try:
                if write:
                    # IMMEDIATE takes the write lock now, so a busy database waits in
                    # busy_timeout instead of failing later on a read-to-write upgrade.
                    conn.execute("BEGIN IMMEDIATE")
                yield conn
                if write:
                    conn.execute("COMMIT")
            except BaseException as exc:
                if conn.in_transaction:
                    conn.rollback()
                if isinstance(exc, sqlite3.Error):
                    raise self._translate(exc) from exc
                raise

    def _translate(self, exc: sqlite3.Error) -> StoreError:
        text = str(exc)
        low = text.lower()
        if isinstance(exc, sqlite3.IntegrityError):
            return IntegrityError(f"SQLite database {self.path} refused a write: {text}")
        if isinstance(exc, sqlite3.OperationalError):
            if "locked" in low or "busy" in low:
                return BackendUnavailable(
                    f"SQLite database {self.path} is locked: another process held it longer "
                    f"than {self.timeout:g}s; retry later or stop the other writer"
                )
            if any(s in low for s in ("unable to open", "readonly", "disk i/o", "is full")):
                return BackendUnavailable(
                    f"cannot use SQLite database {self.path} ({text}): check that its folder "
                    "exists and is writable and the disk has room, or choose another path "
                    "with --store or TINGFENG_STORE"
                )
        if "not a database" in low:
            return StoreError(
                f"{self.path} is not a Tingfeng SQLite database; choose another path with "
                "--store or TINGFENG_STORE"
            )
        return StoreError(f"SQLite error on {self.path}: {text}")

    # -- writes -----------------------------------------------------------------------------
    def upsert_posts(self, posts: Iterable[Post]) -> int:
        return self._upsert(posts, sql.post_rows, sql.UPSERT_POST)

    def upsert_authors(self, authors: Iterable[Author]) -> int:
        return self._upsert(authors, sql.author_rows, sql.UPSERT_AUTHOR)

    def _upsert(self, records: Iterable[Any], make_rows: Any, statement: str) -> int:
        written = kept = 0
        for batch in batched(records, self.batch_size):
            rows, topic_rows = make_rows(batch, ascii_only=False)
            try:
                kept += self._write_batch(statement, rows, topic_rows)
            except UnicodeEncodeError:
                # A lone surrogate (an emoji cut in half upstream) is not UTF-8; \u-escaped
                # JSON carries it intact.
                rows, topic_rows = make_rows(batch, ascii_only=True)
                try:
                    kept += self._write_batch(statement, rows, topic_rows)
                except UnicodeEncodeError as exc:
                    raise IntegrityError(f"a key or topic is not valid Unicode: {exc}") from exc
            written += len(rows)
        self._set_upsert_stats(written=written, text_kept=kept)
        return written

    def _write_batch(self, statement: str, rows: list[Any], topic_rows: list[Any]) -> int:
        """Write one batch in one transaction; returns how many stored texts it kept (a
        batch that fails is rolled back, and its count with it)."""
        with self._session(write=True) as conn:
            before = self._texts_kept
            conn.executemany(statement, rows)
            if topic_rows:
                conn.executemany(sql.ADD_TOPIC, topic_rows)
            return self._texts_kept - before

    def _keeps_text(self, stored: bytes | None, incoming: bytes | None) -> bool:
        """sql.KEEPS_TEXT: the text rule on UTF-8 bytes, counted. Runs inside an upsert, under
        the store's lock."""
        if stored is None or incoming is None or stored == incoming:
            return False
        keep = keeps_stored_text(stored.decode("utf-8", "surrogatepass"),
                                 incoming.decode("utf-8", "surrogatepass"))
        self._texts_kept += keep
        return keep

    def set_scores(self, scores: Mapping[PostKey, PostScore]) -> int:
        rows = [
            (score.model, score.label, score.emotion, json_text({
                "sentiment": score.sentiment,
                "sentiment_label": score.label,
                "emotion": score.emotion,  # null in a JSON patch removes the field: reads None
                "sentiment_model": score.model,
                "risk_hits": list(score.risk_hits),
            }), platform, post_id)
            for (platform, post_id), score in sorted(scores.items())  # key order: page locality
        ]
        with self._session(write=True) as conn:
            kept = conn.executemany(sql.SET_SCORES_KEPT, rows).rowcount
            return kept + conn.executemany(sql.SET_SCORES_MOVED, rows).rowcount

    def set_author_scores(self, scores: Mapping[AuthorKey, tuple[str | None, float | None]]) -> int:
        rows = [
            (json_text({"tier": tier, "influence": influence}), platform, author_id)
            for (platform, author_id), (tier, influence) in scores.items()
        ]
        with self._session(write=True) as conn:
            return conn.executemany(sql.SET_AUTHOR_SCORES, rows).rowcount

    def record_run(self, run: CrawlRun) -> None:
        doc = json_doc(run)
        row = (run.run_id, run.platform, run.topic, run.kind, doc.get("started_at"), json_text(doc))
        with self._session(write=True) as conn:
            conn.execute(sql.RECORD_RUN, row)

    def save_alert(self, alert: Alert) -> bool:
        doc = json_doc(alert)
        row = (alert.alert_id, alert.monitor, alert.status, doc.get("created_at"), json_text(doc))
        with self._session(write=True) as conn:
            return conn.execute(sql.SAVE_ALERT, row).rowcount == 1

    def update_alert(self, alert: Alert, *, owner: str | None = None) -> bool:
        patch = {
            "status": alert.status,
            "attempts": alert.attempts,
            "sent_at": utc_text(alert.sent_at) if alert.sent_at else None,
            "last_error": alert.last_error,
            "deliveries": alert.deliveries or None,
            "claimed_by": alert.claimed_by,
            "claimed_until": utc_text(alert.claimed_until) if alert.claimed_until else None,
            "review": alert.review or None,
        }
        row: tuple[Any, ...] = (alert.status, json_text(patch), alert.alert_id)
        with self._session(write=True) as conn:
            if owner is not None:
                if conn.execute(sql.UPDATE_ALERT_OWNED, (*row, owner)).rowcount == 1:
                    return True
            elif conn.execute(sql.UPDATE_ALERT, row).rowcount == 1:
                return True
            if conn.execute("SELECT 1 FROM alerts WHERE alert_id = ?",
                            (alert.alert_id,)).fetchone() is None:
                raise KeyError(alert.alert_id)
            return False

    def claim_alert(self, alert_id: str, owner: str, *, now: datetime,
                    lease_seconds: float) -> Alert | None:
        until = now + timedelta(seconds=lease_seconds)
        patch = json_text({"claimed_by": owner, "claimed_until": utc_text(until)})
        with self._session(write=True) as conn:
            row = conn.execute(sql.CLAIM_ALERT, (patch, alert_id, utc_text(now), owner)).fetchone()
        return None if row is None else from_dict(Alert, json.loads(row[0]))

    def save_monitor(self, monitor: Monitor) -> None:
        with self._session(write=True) as conn:
            conn.execute(sql.SAVE_MONITOR, (monitor.name, json_text(json_doc(monitor))))

    def delete_monitor(self, name: str) -> bool:
        with self._session(write=True) as conn:
            conn.execute("DELETE FROM event_members WHERE monitor = ?", (name,))
            conn.execute("DELETE FROM events WHERE monitor = ?", (name,))
            return conn.execute("DELETE FROM monitors WHERE name = ?", (name,)).rowcount > 0

    # -- reads ------------------------------------------------------------------------------
    def posts(
        self,
        *,
        topic: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        platform: str | None = None,
    ) -> Iterator[Post]:
        return self._select_posts(topic=topic, since=since, until=until, platform=platform)

    def unscored_posts(self, model: str, *, topic: str | None = None) -> Iterator[Post]:
        return self._select_posts(topic=topic, model=model)

    def score_inputs(self, model: str | None, *, topic: str | None = None
                     ) -> Iterator[ScoreInput]:
        return self._select_posts(topic=topic, model=model, lean=True)

    def _select_posts(
        self,
        *,
        topic: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        platform: str | None = None,
        model: str | None = None,
        lean: bool = False,
    ) -> Iterator[Any]:
        # Keyset pages: each page is one short locked query, so a caller may write to the
        # store between posts (set_scores while reading unscored_posts) and memory stays flat.
        k = "k" if topic is not None else "p"
        source = sql.TOPIC_SOURCE if topic is not None else "posts AS p"
        where: list[str] = []
        params: list[Any] = []
        for condition, value in (
            ("k.topic = ?", topic),
            (f"{k}.platform = ?", platform),
            (f"{k}.created_at < ?", utc_text(until) if until else None),
            ("p.sentiment_model IS NOT ?", model),
        ):
            if value is not None:
                where.append(condition)
                params.append(value)
        # `since` is the first page's key, so every page starts with an index seek: a separate
        # `created_at >= since` term could lead SQLite to rescan from `since` on each page.
        start = (utc_text(since) if since else "", "", "")
        columns = sql.SCORE_INPUT_COLUMNS if lean else sql.POST_COLUMNS
        make = sql.score_input_from_row if lean else sql.post_from_row
        query = sql.page_query(source, k, where, dated=True, columns=columns)
        yield from self._pages(query, params, start, make)
        if since is None and until is None:
            undated = sql.page_query(source, k, where, dated=False, columns=columns)
            yield from self._pages(undated, params, ("", ""), make)

    def _pages(self, query: str, params: list[Any], after: tuple[Any, ...],
               make: Callable[[tuple[Any, ...]], Any]) -> Iterator[Any]:
        """Run a keyset ``query`` page by page, starting after the key ``after``; rows end
        with the key's columns, (created_at, platform, post_id) or (platform, post_id)."""
        while True:
            with self._session() as conn:
                rows = conn.execute(query, (*params, *after, _PAGE)).fetchall()
            for row in rows:
                yield make(row)
            if len(rows) < _PAGE:
                return
            after = tuple(rows[-1][-len(after):])

    def newest_posts(
        self,
        *,
        topic: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        platform: str | None = None,
        sentiment: str | None = None,
        author: AuthorKey | None = None,
        offset: int = 0,
        limit: int = 50,
    ) -> PostPage:
        agg.check_page(offset, limit)
        with self._session() as conn:
            return _sqlreads.newest_posts(conn, topic=topic, since=since, until=until,
                                          platform=platform, sentiment=sentiment,
                                          author=author, offset=offset, limit=limit)

    def cascade_sizes(self, platform: str, root_post_ids: Iterable[str]) -> dict[str, int]:
        with self._session() as conn:
            return _sqlreads.cascade_sizes(conn, platform, root_post_ids)

    def root_counts(
        self,
        *,
        topic: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        platform: str | None = None,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        agg.check_limit(limit)
        with self._session() as conn:
            return _sqlcounts.root_counts(conn, topic=topic, since=since, until=until,
                                          platform=platform, limit=limit)

    def get_posts(self, keys: Iterable[PostKey]) -> dict[PostKey, Post]:
        found: dict[PostKey, Post] = {}
        for chunk in batched(dict.fromkeys(keys), _KEYS_PER_QUERY):
            query = sql.POSTS_BY_KEY.format(keys=", ".join(["(?, ?)"] * len(chunk)))
            with self._session() as conn:
                rows = conn.execute(query, [part for key in chunk for part in key]).fetchall()
            for row in rows:
                found[(row[4], row[5])] = sql.post_from_row(row)
        return found

    def cascade(self, platform: str, root_post_id: str) -> list[Post]:
        with self._session() as conn:
            rows = conn.execute(sql.CASCADE, (platform, root_post_id)).fetchall()
        rows.sort(key=lambda r: (r[5] != root_post_id, window_key(r[3], r[4], r[5])))
        return [sql.post_from_row(row) for row in rows]

    def authors(self, keys: Iterable[AuthorKey] | None = None) -> dict[AuthorKey, Author]:
        if keys is None:
            with self._session() as conn:
                rows = conn.execute(sql.ALL_AUTHORS).fetchall()
        else:
            rows = []
            for chunk in batched(dict.fromkeys(keys), _KEYS_PER_QUERY):
                query = sql.AUTHORS_BY_KEY.format(keys=", ".join(["(?, ?)"] * len(chunk)))
                with self._session() as conn:
                    rows += conn.execute(query, [p for key in chunk for p in key]).fetchall()
        return {(row[2], row[3]): sql.author_from_row(row) for row in rows}

    def author_fields(self, keys: Iterable[AuthorKey], fields: Sequence[str]
                      ) -> dict[AuthorKey, dict[str, Any]]:
        names = check_author_fields(fields)
        # names are AUTHOR_FIELDS (checked above), never input: safe inside the JSON paths
        columns = "".join(f", {sql.author_field_sql(n)}" for n in names)
        found: dict[AuthorKey, dict[str, Any]] = {}
        for chunk in batched(dict.fromkeys(keys), _KEYS_PER_QUERY):
            query = (f"WITH k(platform, author_id) AS (VALUES "
                     f"{', '.join(['(?, ?)'] * len(chunk))}) SELECT a.platform, a.author_id"
                     f"{columns} FROM k CROSS JOIN authors AS a ON a.platform = k.platform "
                     f"AND a.author_id = k.author_id")
            with self._session() as conn:
                for row in conn.execute(query, [p for key in chunk for p in key]):
                    found[(row[0], row[1])] = {
                        n: sql.author_field_value(n, v)
                        for n, v in zip(names, row[2:], strict=True)}
        return found

    def runs(
        self,
        *,
        topic: str | None = None,
        since: datetime | None = None,
        platform: str | None = None,
        kind: str | None = None,
    ) -> list[CrawlRun]:
        query, params = sql.filtered(
            "SELECT doc FROM runs", "started_at", "run_id",
            topic=topic, platform=platform, kind=kind, since=utc_text(since) if since else None,
        )
        with self._session() as conn:
            return [from_dict(CrawlRun, json.loads(d)) for (d,) in conn.execute(query, params)]

    def alerts(
        self,
        *,
        monitor: str | None = None,
        since: datetime | None = None,
        status: str | None = None,
    ) -> list[Alert]:
        query, params = sql.filtered(
            "SELECT doc FROM alerts", "created_at", "alert_id",
            monitor=monitor, status=status, since=utc_text(since) if since else None,
        )
        with self._session() as conn:
            return [from_dict(Alert, json.loads(d)) for (d,) in conn.execute(query, params)]

    def monitors(self) -> list[Monitor]:
        with self._session() as conn:
            rows = conn.execute("SELECT doc FROM monitors ORDER BY name").fetchall()
        return [from_dict(Monitor, json.loads(doc)) for (doc,) in rows]

    def get_monitor(self, name: str) -> Monitor | None:
        with self._session() as conn:
            row = conn.execute("SELECT doc FROM monitors WHERE name = ?", (name,)).fetchone()
        return None if row is None else from_dict(Monitor, json.loads(row[0]))

    def post_counts(
        self,
        *,
        topic: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        platform: str | None = None,
        bucket: str | None = "day",
        by: Sequence[str] = ("sentiment_label",),
        tz: str = "Asia/Shanghai",
        author: AuthorKey | None = None,
    ) -> list[dict[str, Any]]:
        request = agg.count_request(bucket, by, tz, since, until)
        with self._session() as conn:
            return _sqlcounts.post_counts(conn, request, topic=topic, platform=platform,
                                          author=author)

    def author_counts(
        self,
        *,
        topic: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        platform: str | None = None,
        limit: int | None = None,
        fields: Sequence[str] = (),
    ) -> list[dict[str, Any]]:
        agg.check_limit(limit)
        names = check_author_fields(fields)
        with self._session() as conn:
            rows = _sqlcounts.author_counts(conn, topic=topic, since=since, until=until,
                                            platform=platform, limit=limit)
        return agg.with_profiles(rows, names, self.author_fields)

    def author_stats(
        self,
        *,
        topic: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        platform: str | None = None,
        authors: Iterable[AuthorKey] | None = None,
        sentiment: str | None = None,
        order: str = "posts",
        descending: bool = True,
        offset: int = 0,
        limit: int | None = None,
    ) -> AuthorPage:
        request = agg.stats_request(order, descending, sentiment, offset, limit)
        with self._session() as conn:
            wide = topic is None and authors is None and not _sqlcounts.is_narrow(
                conn, since, until)
            return _sqlreads.author_stats(conn, topic=topic, since=since, until=until,
                                          platform=platform, authors=authors,
                                          request=request, wide=wide)

    def tier_counts(
        self,
        *,
        topic: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        platform: str | None = None,
        cutoffs: Mapping[str, Mapping[str, Any]],
    ) -> list[dict[str, Any]]:
        cut = agg.check_cutoffs(cutoffs)
        with self._session() as conn:
            return _sqlcounts.tier_counts(conn, topic=topic, since=since, until=until,
                                          platform=platform, cutoffs=cut)

    def topic_overlap(
        self,
        topic: str,
        others: Iterable[str],
        *,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> int:
        with self._session() as conn:
            return _sqlcounts.topic_overlap(conn, topic, others, since=since, until=until)

    def counts(self) -> dict[str, int]:
        with self._session() as conn:
            kinds = conn.execute("SELECT kind, count(*) FROM posts GROUP BY kind").fetchall()
            out = {"posts": sum(n for _, n in kinds)}
            out.update((f"posts/{kind}", n) for kind, n in kinds)
            for table in ("authors", "runs", "alerts", "monitors"):
                out[table] = conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        return out

    # -- events of a monitor ----------------------------------------------------------------
    def save_events(self, monitor: str, events: Iterable[EventRecord]) -> int:
        rows, members = [], []
        for e in events:
            doc = {"canonical": list(e.canonical), "label_terms": list(e.label_terms),
                   "size": e.size, "first_at": e.first_at and utc_text(e.first_at),
                   "last_at": e.last_at and utc_text(e.last_at),
                   "updated_at": utc_text(e.updated_at)}
            text = json_text(doc)[:-1] + ',"data":' + event_data_text(e) + "}"
            rows.append((monitor, e.event_id, doc["last_at"] or doc["updated_at"], e.size, text))
            members += [(monitor, platform, post_id, e.event_id) for platform, post_id in e.members]
        with self._session(write=True) as conn:
            conn.executemany(sql.SAVE_EVENT, rows)
            conn.executemany(sql.SAVE_EVENT_MEMBER, members)
        return len(rows)

    def events(self, monitor: str, *, since: datetime | None = None) -> list[EventRecord]:
        low = utc_text(since) if since else ""
        with self._session() as conn:
            docs = conn.execute(sql.EVENTS_SINCE, (monitor, low)).fetchall()
            members: dict[str, list[tuple[str, str]]] = {}
            for event_id, platform, post_id in conn.execute(sql.EVENT_MEMBERS_SINCE,
                                                            (monitor, low)):
                members.setdefault(event_id, []).append((platform, post_id))
        return order_events(event_record(json.loads(doc), event_id, members.get(event_id, ()))
                            for event_id, doc in docs)
