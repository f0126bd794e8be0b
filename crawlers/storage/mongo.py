"""MongoStore: the Store contract on MongoDB through pymongo (an optional dependency).

Driver errors, ObjectIds, cursors and naive datetimes stay inside this module.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Any, overload

try:
    from bson.errors import BSONError
    from pymongo import (
        ASCENDING,
        DESCENDING,
        IndexModel,
        MongoClient,
        ReplaceOne,
        ReturnDocument,
        UpdateOne,
    )
    from pymongo.errors import (
        BulkWriteError,
        ConnectionFailure,
        DuplicateKeyError,
        PyMongoError,
    )
    from pymongo.read_preferences import Primary, make_read_preference, read_pref_mode_from_name
    from pymongo.write_concern import WriteConcern
except ImportError as exc:  # pragma: no cover - exercised only without pymongo
    raise ImportError("MongoStore requires pymongo: pip install pymongo") from exc

from crawlers.errors import BackendUnavailable, IntegrityError, StoreError
from crawlers.items import Alert, Author, CrawlRun, Monitor, Post, ScoreInput, from_dict
from crawlers.storage import _aggregate as agg
from crawlers.storage import _mongoindexes as ix
from crawlers.storage import _pipelines
from crawlers.storage._mongoconf import MongoOptions, mongo_options, uri_option_names
from crawlers.storage._records import batched, keeps_stored_text, record_doc, utc, window_key
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
    from pymongo.collection import Collection

    from crawlers.items import AuthorKey, PostKey, PostScore

__all__ = ["MongoStore"]

_NO_ID = {"_id": False}
_KEYS_PER_QUERY = 500
# Documents per getMore of a streamed read: a window of a million posts arrives in pieces of
# about 1-2 MB, and the first posts reach the caller before the rest has left the server.
_READ_BATCH = 1000


class MongoStore(Store):
    """Posts, authors, runs, alerts and monitors as MongoDB collections of one database.

    Accepts a URI (the database is the URI's path, default ``tingfeng``) or an injected
    ``client`` (tests pass a mongomock client). Indexes are created on open. Upserts of posts
    and authors go out as one unordered ``bulk_write`` per ``batch_size`` records; before a
    batch of posts with text, one ``find`` per platform reads the stored texts, which the text
    rule (``keeps_stored_text``) is decided against. A concurrent writer changing the same
    post's text between that read and the write can lose its text (last writer wins, as for
    every other field). ``post_counts`` / ``author_counts`` are aggregation pipelines
    (``_pipelines``) run with ``allowDiskUse``. Datetimes are BSON dates, so they keep
    millisecond precision; they come back as aware UTC.

    Reads and writes are split by purpose. Reads of posts and authors (reports, the web app,
    analyses) follow the read preference; writes use the write concern (w, j, wtimeout). Alerts,
    runs and monitors (claims, dedupe, run records) and the stored-text read before an upsert
    always read the primary and write with ``w="majority"``: a claim a fail-over rolls back, or
    a read from a lagging secondary, would deliver an alert twice or let an older text win.
    See ``_mongoconf`` for the precedence of URI options over settings.

    Settings:
        STORE_URI: ``mongodb://host:port/dbname`` or ``mongodb+srv://…``; its own options
            (``w``, ``journal``, ``wtimeoutMS``, ``readPreference``, ``maxPoolSize``) win.
        STORE_BATCH_SIZE: records per ``bulk_write`` (``batch_size``).
        MONGO_WRITE_CONCERN, MONGO_JOURNAL, MONGO_WTIMEOUT_MS, MONGO_READ_PREFERENCE,
            MONGO_MAX_POOL_SIZE: ``options`` (``from_uri`` reads them).
    """

    def __init__(
        self,
        uri: str | None = None,
        *,
        client: Any = None,
        database: str | None = None,
        batch_size: int = 500,
        server_selection_timeout_ms: int = 5000,
        options: MongoOptions | None = None,
    ) -> None:
        if (uri is None) == (client is None):
            raise ValueError("MongoStore needs exactly one of uri= and client=")
        self.batch_size = max(1, batch_size)
        self.options = options = options or MongoOptions()
        in_uri = uri_option_names(uri) if uri is not None else set()
        self._owns_client = client is None
        if client is None:
            kwargs: dict[str, Any] = {"tz_aware": True}
            if "serverselectiontimeoutms" not in in_uri:
                kwargs["serverSelectionTimeoutMS"] = server_selection_timeout_ms
            if "maxpoolsize" not in in_uri:
                kwargs["maxPoolSize"] = options.max_pool_size
            with self._errors("connect"):
                client = MongoClient(uri, **kwargs)
        self._client = client
        written, majority = _write_concerns(client, options)
        with self._errors("connect"):
            name = database or client.get_default_database("tingfeng").name
            db = client.get_database(name, write_concern=written, read_preference=Primary())
        self.database_name: str = db.name
        reads = _read_preference(client, options, uri_given="readpreference" in in_uri)
        # Collection-level too: an injected client's get_database may ignore write_concern.
        self._posts: Collection[Any] = db["posts"].with_options(write_concern=written)
        self._authors: Collection[Any] = db["authors"].with_options(write_concern=written)
        self._post_reads: Collection[Any] = self._posts.with_options(read_preference=reads)
        self._author_reads: Collection[Any] = self._authors.with_options(read_preference=reads)
        self._runs: Collection[Any] = db["runs"].with_options(write_concern=majority)
        self._alerts: Collection[Any] = db["alerts"].with_options(write_concern=majority)
        self._monitors: Collection[Any] = db["monitors"].with_options(write_concern=majority)
        try:
            self.ensure_indexes()
        except BaseException:
            self.close()
            raise

    @classmethod
    def from_uri(cls, uri: str, settings: Mapping[str, Any] | Any = None) -> MongoStore:
        """Open ``uri`` with the MONGO_* values of ``settings``; without, those of
        ``crawlers.settings`` (their environment variables), since ``open_store`` passes only
        the URI. ``crawlers.settings`` imports nothing but the standard library.

        :raises ConfigError: for a bad MONGO_* value, before connecting.
        """
        if settings is None:
            import crawlers.settings as project

            settings = vars(project)
        return cls(uri, options=mongo_options(settings))

    def ensure_indexes(self) -> None:
        """Create every index of ``_mongoindexes.INDEXES`` (a no-op for those that exist).

        Windows of posts, and the ``$match`` of the aggregates, use (topics, created_at,
        platform, post_id) with a topic and (created_at, platform, post_id) without; the
        latter also gives the first and last stored created_at of an open-ended window.
        ``newest_posts`` walks the same indexes backwards, so its sort is the index order (no
        in-memory sort of a whole window), or (sentiment_label, created_at, …) for one label,
        or (platform, author_id, created_at) for one account. The grouping itself reads the
        matched documents (no index can group on a computed local day), so the aggregates
        need no index of their own. (A database made before 2026-12 also keeps its older
        (topics, created_at) index, a prefix of the new one; it may be dropped.)
        """
        with self._errors("create indexes"):
            for name, coll in self._named().items():
                models = [IndexModel(list(spec.keys), name=spec.name, unique=spec.unique)
                          if spec.unique else IndexModel(list(spec.keys), name=spec.name)
                          for spec in ix.indexes_of(name)]
                coll.create_indexes(models)

    def extra_indexes(self) -> list[tuple[str, str, list[tuple[str, Any]]]]:
        """(collection, name, keys) of each index the database holds beyond ``_id`` and
        ``INDEXES``: an earlier release's, or an operator's (``tingfeng store indexes``)."""
        ours = {(spec.collection, spec.name) for spec in ix.INDEXES}
        out = []
        with self._errors("list indexes"):
            for coll_name, coll in self._named().items():
                for name, info in sorted(coll.index_information().items()):
                    if name != "_id_" and (coll_name, name) not in ours:
                        out.append((coll_name, name, [tuple(k) for k in info["key"]]))
        return out

    def _named(self) -> dict[str, Collection[Any]]:
        """The collections ``_mongoindexes`` names, by name (their write handles)."""
        return {"posts": self._posts, "authors": self._authors, "runs": self._runs,
                "alerts": self._alerts, "monitors": self._monitors}

    def close(self) -> None:
        if self._owns_client and getattr(self, "_client", None) is not None:
            self._client.close()

    @contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        """Translate pymongo errors into the StoreError family, naming what failed."""
        where = f"MongoDB database {getattr(self, 'database_name', '?')!r}"
        try:
            yield
        except DuplicateKeyError as exc:
            raise IntegrityError(f"{where} refused {action}: duplicate key") from exc
        except BulkWriteError as exc:
            first = (exc.details.get("writeErrors") or [{}])[0].get("errmsg", str(exc))
            raise IntegrityError(f"{where} refused part of {action}: {first}") from exc
        except ConnectionFailure as exc:  # includes AutoReconnect, ServerSelectionTimeoutError
            raise BackendUnavailable(
                f"{where} is unreachable during {action} ({type(exc).__name__}: "
                f"{str(exc)[:200]}); check that the server runs and that STORE_URI / --store "
                "names it, then retry"
            ) from exc
        except (BSONError, UnicodeEncodeError) as exc:  # a value BSON cannot hold
            raise IntegrityError(f"{where} cannot store {action}: {str(exc)[:300]}") from exc
        except PyMongoError as exc:
            raise StoreError(f"{where} failed during {action}: {str(exc)[:300]}") from exc

    # -- writes -----------------------------------------------------------------------------
    def upsert_posts(self, posts: Iterable[Post]) -> int:
        return self._bulk_upsert(self._posts, posts, ("platform", "post_id"), "upsert posts")

    def upsert_authors(self, authors: Iterable[Author]) -> int:
        return self._bulk_upsert(
            self._authors, authors, ("platform", "author_id"), "upsert authors"
        )

    def _bulk_upsert(
        self, coll: Collection[Any], records: Iterable[Any], key: tuple[str, str], action: str
    ) -> int:
        written = kept = 0
        for batch in batched(records, self.batch_size):
            docs = [_doc(record) for record in batch]
            if coll is self._posts:
                kept += self._settle_texts(docs)
            ops = [_upsert_op(doc, key) for doc in docs]
            with self._errors(action):
                result = coll.bulk_write(ops, ordered=False)
            written += result.upserted_count + result.matched_count
        self._set_upsert_stats(written=written, text_kept=kept)
        return written

    def _settle_texts(self, docs: list[dict[str, Any]]) -> int:
        """Apply the text rule to a batch of post documents before they are written: drop each
        incoming ``text`` the stored (or an earlier one in the batch) must be kept over, and
        leave one text per post, so an unordered bulk_write cannot apply them out of order.
        Returns how many texts were refused."""
        texted = [doc for doc in docs if doc.get("text")]
        if not texted:
            return 0
        ids: dict[str, list[str]] = {}
        for doc in texted:
            ids.setdefault(doc["platform"], []).append(doc["post_id"])
        current: dict[PostKey, str] = {}
        for platform, post_ids in ids.items():
            for chunk in batched(dict.fromkeys(post_ids), _KEYS_PER_QUERY):
                query = {"platform": platform, "post_id": {"$in": chunk},
                         "text": {"$exists": True}}
                with self._errors("read stored texts"):
                    for found in self._posts.find(query, {"_id": False, "platform": True,
                                                          "post_id": True, "text": True}):
                        current[(found["platform"], found["post_id"])] = found["text"]
        kept = 0
        writer: dict[PostKey, dict[str, Any]] = {}
        for doc in texted:
            key = (doc["platform"], doc["post_id"])
            if keeps_stored_text(current.get(key), doc["text"]):
                del doc["text"]
                kept += 1
                continue
            earlier = writer.get(key)
            if earlier is not None:
                del earlier["text"]
            writer[key], current[key] = doc, doc["text"]
        return kept

    def set_scores(self, scores: Mapping[PostKey, PostScore]) -> int:
        ops = [
            UpdateOne({"platform": platform, "post_id": post_id}, _set_unset({
                "sentiment": score.sentiment,
                "sentiment_label": score.label,
                "emotion": score.emotion,
                "sentiment_model": score.model,
                "risk_hits": list(score.risk_hits),
            }))
            for (platform, post_id), score in scores.items()
        ]
        return self._bulk_update(self._posts, ops, "set scores")

    def set_author_scores(self, scores: Mapping[AuthorKey, tuple[str | None, float | None]]) -> int:
        ops = [
            UpdateOne(
                {"platform": platform, "author_id": author_id},
                _set_unset({"tier": tier, "influence": influence}),
            )
            for (platform, author_id), (tier, influence) in scores.items()
        ]
        return self._bulk_update(self._authors, ops, "set author scores")

    def _bulk_update(self, coll: Collection[Any], ops: list[Any], action: str) -> int:
        matched = 0
        for batch in batched(ops, self.batch_size):
            with self._errors(action):
                matched += coll.bulk_write(batch, ordered=False).matched_count
        return matched

    def record_run(self, run: CrawlRun) -> None:
        with self._errors("record run"):
            self._runs.replace_one({"run_id": run.run_id}, _doc(run), upsert=True)

    def save_alert(self, alert: Alert) -> bool:
        with self._errors("save alert"):
            try:
                self._alerts.insert_one(_doc(alert))
            except DuplicateKeyError:
                return False
        return True

    def update_alert(self, alert: Alert, *, owner: str | None = None) -> bool:
        update = _set_unset({
            "status": alert.status,
            "attempts": alert.attempts,
            "sent_at": utc(alert.sent_at) if alert.sent_at else None,
            "last_error": alert.last_error,
            "deliveries": alert.deliveries or None,
            "claimed_by": alert.claimed_by,
            "claimed_until": utc(alert.claimed_until) if alert.claimed_until else None,
            "review": alert.review or None,
        })
        query: dict[str, Any] = {"alert_id": alert.alert_id}
        if owner is not None:
            query["claimed_by"] = owner
        with self._errors("update alert"):
            result = self._alerts.update_one(query, update)
            if result.matched_count == 1:
                return True
            if self._alerts.count_documents({"alert_id": alert.alert_id}, limit=1) == 0:
                raise KeyError(alert.alert_id)
        return False

    def claim_alert(self, alert_id: str, owner: str, *, now: datetime,
                    lease_seconds: float) -> Alert | None:
        # find_one_and_update is atomic on one document: of two claimants one matches the filter
        # and the other finds the claim already taken.
        moment = utc(now)
        query = {
            "alert_id": alert_id,
            "status": "pending",
            "$or": [
                {"claimed_by": None},
                {"claimed_until": None},
                {"claimed_until": {"$lte": moment}},
                {"claimed_by": owner},
            ],
        }
        update = {"$set": {"claimed_by": owner,
                           "claimed_until": moment + timedelta(seconds=lease_seconds)}}
        with self._errors("claim alert"):
            doc = self._alerts.find_one_and_update(
                query, update, projection={"_id": False}, return_document=ReturnDocument.AFTER
            )
        return None if doc is None else _record_out(Alert, doc)

    def save_monitor(self, monitor: Monitor) -> None:
        with self._errors("save monitor"):
            self._monitors.replace_one({"name": monitor.name}, _doc(monitor), upsert=True)

    def delete_monitor(self, name: str) -> bool:
        stories, members = self._event_collections()
        with self._errors("delete monitor"):
            # stories before members: a delete cut short leaves members no story reads
            stories.delete_many({"monitor": name})
            members.delete_many({"monitor": name})
            return bool(self._monitors.delete_one({"name": name}).deleted_count)

    # -- reads ------------------------------------------------------------------------------
    def posts(
        self,
        *,
        topic: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        platform: str | None = None,
    ) -> Iterator[Post]:
        query = _window_match(topic, since, until, platform)
        return self._ordered(self._post_reads, query, "created_at", ("platform", "post_id"),
                             partial(_record_out, Post), hint=_window_index(topic))

    def unscored_posts(self, model: str, *, topic: str | None = None) -> Iterator[Post]:
        query: dict[str, Any] = {"sentiment_model": {"$ne": model}}
        if topic is not None:
            query["topics"] = topic
        # Not an index on sentiment_model: "$ne" selects most posts; the window index keeps
        # the scan in the order asked for (no sort of the whole collection in memory).
        return self._ordered(self._post_reads, query, "created_at", ("platform", "post_id"),
                             partial(_record_out, Post), hint=_window_index(topic))

    def score_inputs(self, model: str | None, *, topic: str | None = None
                     ) -> Iterator[ScoreInput]:
        query: dict[str, Any] = {} if model is None else {"sentiment_model": {"$ne": model}}
        if topic is not None:
            query["topics"] = topic
        return self._ordered(self._post_reads, query, "created_at", ("platform", "post_id"),
                             _score_input, hint=_window_index(topic), projection=_SCORE_INPUT)

    def _ordered(
        self, coll: Collection[Any], query: dict[str, Any], when: str, keys: tuple[str, ...],
        make: Callable[[dict[str, Any]], Any], *, hint: ix.Keys | None = None,
        projection: Mapping[str, bool] = _NO_ID,
    ) -> Iterator[Any]:
        """Oldest first by ``when`` then ``keys``; undated last unless ``when`` is bounded.

        MongoDB sorts missing values first, so dated and undated records are two queries.
        A streamed cursor (``_READ_BATCH`` documents per round trip) on the ``hint`` index,
        whose order is the sort's for both queries; each document, read with ``projection``,
        becomes a record through ``make``.
        """
        order = [(when, ASCENDING), *((k, ASCENDING) for k in keys)]
        if when in query:
            parts = [(query, order)]
        else:
            parts = [
                ({**query, when: {"$ne": None}}, order),
                ({**query, when: None}, order[1:]),
            ]
        for part, sort in parts:
            with self._errors("read"):
                cursor = coll.find(part, dict(projection), sort=sort).batch_size(_READ_BATCH)
                if hint is not None:
                    cursor = cursor.hint(list(hint))
            try:
                while True:
                    with self._errors("read"):
                        doc = next(cursor, None)
                    if doc is None:
                        break
                    yield make(doc)
            finally:
                cursor.close()

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
        if since is not None and until is not None and utc(since) >= utc(until):
            return PostPage([], 0)
        query = _window_match(topic, since, until, platform, author)
        if query is None:
            return PostPage([], 0)
        query.setdefault("created_at", {})["$ne"] = None
        if sentiment is not None:
            query["sentiment_label"] = None if sentiment == "unscored" else sentiment
        order = [("created_at", DESCENDING), ("platform", DESCENDING), ("post_id", DESCENDING)]
        # Walked backwards from the newest: the topic's or label's window index gives the
        # order; one account's index gives created_at, the tie-breakers sort skip+limit posts.
        hint = ix.AUTHOR_WINDOW if author is not None else _window_index(
            topic, sentiment=sentiment)
        with self._errors("read a page of posts"):
            docs = list(self._post_reads.find(query, _NO_ID, sort=order, skip=offset,
                                              limit=limit).hint(list(hint))) if limit else []
            if offset == 0 and len(docs) < limit:
                total = len(docs)
            else:
                total = self._post_reads.count_documents(query)
        return PostPage([_record_out(Post, d) for d in docs], total)

    def cascade_sizes(self, platform: str, root_post_ids: Iterable[str]) -> dict[str, int]:
        sizes: dict[str, int] = {}
        for chunk in batched(dict.fromkeys(root_post_ids), _KEYS_PER_QUERY):
            for row in self._aggregate(_pipelines.sizes_pipeline(platform, chunk)):
                n = row["posts"] - row["itself"]
                if n:
                    sizes[row["_id"]] = n
        return sizes

    def get_posts(self, keys: Iterable[PostKey]) -> dict[PostKey, Post]:
        docs = self._by_keys(self._post_reads, keys, "post_id")
        return {(d["platform"], d["post_id"]): _record_out(Post, d) for d in docs}

    def cascade(self, platform: str, root_post_id: str) -> list[Post]:
        query = {"platform": platform,
                 "$or": [{"post_id": root_post_id}, {"root_post_id": root_post_id}]}
        with self._errors("read cascade"):  # the $or's branches: the post key, the cascade's
            docs = list(self._post_reads.find(query, _NO_ID))
        docs.sort(key=lambda d: (
            d["post_id"] != root_post_id,
            window_key(d.get("created_at"), d["platform"], d["post_id"]),
        ))
        return [_record_out(Post, d) for d in docs]

    def authors(self, keys: Iterable[AuthorKey] | None = None) -> dict[AuthorKey, Author]:
        if keys is None:
            with self._errors("read authors"):
                docs = list(self._author_reads.find({}, _NO_ID).batch_size(_READ_BATCH))
        else:
            docs = self._by_keys(self._author_reads, keys, "author_id")
        return {(d["platform"], d["author_id"]): _record_out(Author, d) for d in docs}

    def author_fields(self, keys: Iterable[AuthorKey], fields: Sequence[str]
                      ) -> dict[AuthorKey, dict[str, Any]]:
        names = check_author_fields(fields)
        # "extra" and "extra.<key>" at once would be a path collision: the whole extra serves
        paths = {"extra" if n.startswith("extra.") and "extra" in names else n for n in names}
        projection = {"_id": 0, "platform": 1, "author_id": 1, **dict.fromkeys(paths, 1)}
        docs = self._by_keys(self._author_reads, keys, "author_id", projection)
        return {(d["platform"], d["author_id"]): {n: agg.profile_field(d, n) for n in names}
                for d in docs}

    def _by_keys(
        self, coll: Collection[Any], keys: Iterable[tuple[str, str]], id_field: str,
        projection: Mapping[str, Any] = _NO_ID,
    ) -> list[dict[str, Any]]:
        by_platform: dict[str, list[str]] = {}
        for platform, record_id in keys:
            by_platform.setdefault(platform, []).append(record_id)
        docs: list[dict[str, Any]] = []
        for platform, ids in by_platform.items():
            for chunk in batched(dict.fromkeys(ids), _KEYS_PER_QUERY):
                with self._errors("read by key"):
                    docs += coll.find({"platform": platform, id_field: {"$in": chunk}},
                                      projection)
        return docs

    def runs(
        self,
        *,
        topic: str | None = None,
        since: datetime | None = None,
        platform: str | None = None,
        kind: str | None = None,
    ) -> list[CrawlRun]:
        query: dict[str, Any] = {
            k: v for k, v in (("topic", topic), ("platform", platform), ("kind", kind))
            if v is not None
        }
        if since is not None:
            query["started_at"] = {"$gte": utc(since)}
        return list(self._ordered(self._runs, query, "started_at", ("run_id",),
                                  partial(_record_out, CrawlRun)))

    def alerts(
        self,
        *,
        monitor: str | None = None,
        since: datetime | None = None,
        status: str | None = None,
    ) -> list[Alert]:
        query: dict[str, Any] = {
            k: v for k, v in (("monitor", monitor), ("status", status)) if v is not None
        }
        if since is not None:
            query["created_at"] = {"$gte": utc(since)}
        return list(self._ordered(self._alerts, query, "created_at", ("alert_id",),
                                  partial(_record_out, Alert)))

    def monitors(self) -> list[Monitor]:
        with self._errors("read monitors"):
            docs = list(self._monitors.find({}, _NO_ID, sort=[("name", ASCENDING)]))
        return [_record_out(Monitor, d) for d in docs]

    def get_monitor(self, name: str) -> Monitor | None:
        with self._errors("read monitor"):
            doc = self._monitors.find_one({"name": name}, _NO_ID)
        return None if doc is None else _record_out(Monitor, doc)

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
        found = _window_match(topic, since, until, platform, author)
        if request.empty or found is None:
            return []
        match = found
        groups: list[tuple[agg.GroupKey, int, int]] = []
        lo, hi = request.since, request.until
        if request.bucket and (lo is None or hi is None):
            # Offset stretches need both ends: an open end is the first or last stored post.
            first, last = self._stored_time(ASCENDING), self._stored_time(DESCENDING)
            lo, hi = lo or first, hi or last
        if not request.bucket or (lo is not None and hi is not None and lo <= hi):
            spans = agg.offset_spans(request.zone, lo, hi) if request.bucket and lo and hi \
                else None
            dated = match if request.bounded else {**match, "created_at": {"$ne": None}}
            rows = self._aggregate(_pipelines.count_pipeline(dated, request, spans))
            groups += _pipelines.count_groups(rows, request, bucketed=spans is not None)
        if not request.bounded:
            undated = _pipelines.count_pipeline({**match, "created_at": None}, request, None)
            groups += _pipelines.count_groups(self._aggregate(undated), request, bucketed=False)
        return agg.count_rows(groups, request)

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
        if limit == 0 or (since is not None and until is not None and utc(since) >= utc(until)):
            return []
        pipeline = _pipelines.author_pipeline(_window_match(topic, since, until, platform), limit)
        rows = agg.author_rows(
            (row["_id"]["platform"], row["_id"]["author_id"], row["posts"], row["engagement"])
            for row in self._aggregate(pipeline)
        )
        return agg.with_profiles(rows, names, self.author_fields)

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
        if limit == 0 or (since is not None and until is not None and utc(since) >= utc(until)):
            return []
        pipeline = _pipelines.roots_pipeline(_window_match(topic, since, until, platform), limit)
        return [{"platform": row["_id"]["platform"], "root_post_id": row["_id"]["root"],
                 "posts": row["posts"]} for row in self._aggregate(pipeline)]

    def topic_overlap(
        self,
        topic: str,
        others: Iterable[str],
        *,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> int:
        wanted = sorted(set(others) - {topic})
        if not wanted or (since is not None and until is not None
                          and utc(since) >= utc(until)):
            return 0
        match = _window_match(topic, since, until, None)
        rows = self._aggregate(_pipelines.overlap_pipeline(match, wanted))
        return int(rows[0]["n"]) if rows else 0

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
        if since is not None and until is not None and utc(since) >= utc(until):
            return AuthorPage([], 0)
        match = _window_match(topic, since, until, platform)
        assert match is not None  # no author: never contradictory
        if authors is not None:
            ids: dict[str, list[str]] = {}
            for key_platform, author_id in authors:
                ids.setdefault(key_platform, []).append(author_id)
            if not ids:
                return AuthorPage([], 0)
            match["$or"] = [{"platform": p, "author_id": {"$in": list(dict.fromkeys(a))}}
                            for p, a in ids.items()]
        if limit is None:  # every row: a cursor, as one $facet document is capped at 16 MB
            rows = self._aggregate(_pipelines.stats_pipeline(match, request, facet=False))
            if rows or not offset:
                total = offset + len(rows)
            else:  # the offset is past the end: only the server knows how far
                counted = self._aggregate(_pipelines.stats_total_pipeline(match, request))
                total = counted[0]["n"] if counted else 0
        else:
            [out] = self._aggregate(_pipelines.stats_pipeline(match, request))
            rows, total = out["rows"][:limit], out["total"][0]["n"] if out["total"] else 0
        return AuthorPage(
            [agg.stats_row(r["_id"]["platform"], r["_id"]["author_id"], r["posts"],
                           r["engagement"], r["positive"], r["negative"], r["neutral"],
                           r.get("first_at"), r.get("last_at")) for r in rows],
            total)

    def _aggregate(self, pipeline: list[dict[str, Any]]) -> list[dict[str, Any]]:
        with self._errors("aggregate posts"):
            return list(self._post_reads.aggregate(pipeline, allowDiskUse=True))

    def _stored_time(self, direction: int) -> datetime | None:
        """The first (ASCENDING) or last (DESCENDING) stored created_at: one index lookup."""
        with self._errors("read the stored time span"):
            found = self._post_reads.find_one({"created_at": {"$ne": None}},
                                              {"_id": False, "created_at": True},
                                              sort=[("created_at", direction)])
        return None if found is None else utc(found["created_at"])

    def counts(self) -> dict[str, int]:
        with self._errors("count"):
            kinds = list(self._posts.aggregate([{"$group": {"_id": "$kind", "n": {"$sum": 1}}}]))
            out = {"posts": sum(k["n"] for k in kinds)}
            out.update((f"posts/{k['_id']}", k["n"]) for k in kinds)
            for name, coll in (("authors", self._authors), ("runs", self._runs),
                               ("alerts", self._alerts), ("monitors", self._monitors)):
                out[name] = coll.count_documents({})
        return out

    # -- events of a monitor ----------------------------------------------------------------
    def _event_collections(self) -> tuple[Collection[Any], Collection[Any]]:
        """``events`` (one document per story, ``data`` as JSON text: crawled terms as keys
        would meet MongoDB's rules on "." and "$") and ``event_members`` (one document per
        counted post: a story of 100,000 posts stays far from the 16 MB document limit). Their
        indexes are made on first use: (monitor, event_id) unique, (monitor, active_at) for
        ``since``, (monitor, platform, post_id) unique so a post stays in the first event
        that claimed it, (monitor, event_id) for reading members back."""
        colls: tuple[Collection[Any], Collection[Any]] | None = getattr(self, "_event_colls",
                                                                         None)
        if colls is None:
            db = self._posts.database
            colls = (db["events"], db["event_members"])
            asc = ASCENDING
            with self._errors("create event indexes"):
                colls[0].create_index([("monitor", asc), ("event_id", asc)], unique=True)
                colls[0].create_index([("monitor", asc), ("active_at", asc)])
                colls[1].create_index([("monitor", asc), ("platform", asc), ("post_id", asc)],
                                      unique=True)
                colls[1].create_index([("monitor", asc), ("event_id", asc)])
            self._event_colls = colls
        return colls

    def save_events(self, monitor: str, events: Iterable[EventRecord]) -> int:
        stories, members = self._event_collections()
        ops, adds = [], []
        for e in events:
            doc = {"monitor": monitor, "event_id": e.event_id, "canonical": list(e.canonical),
                   "label_terms": list(e.label_terms), "size": e.size,
                   "first_at": e.first_at and utc(e.first_at),
                   "last_at": e.last_at and utc(e.last_at), "updated_at": utc(e.updated_at),
                   "active_at": utc(e.last_at or e.updated_at), "data": event_data_text(e)}
            ops.append(ReplaceOne({"monitor": monitor, "event_id": e.event_id}, doc,
                                  upsert=True))
            adds += [UpdateOne({"monitor": monitor, "platform": platform, "post_id": post_id},
                               {"$setOnInsert": {"event_id": e.event_id}}, upsert=True)
                     for platform, post_id in e.members]
        # Members first: a save cut short between the two leaves posts counted nowhere or in
        # an event whose size does not show them yet, never a post counted twice on a re-run.
        with self._errors("save events"):
            for batch in batched(adds, self.batch_size):
                try:
                    members.bulk_write(batch, ordered=False)
                except BulkWriteError as exc:  # two writers upserting one member: it is there
                    if any(err.get("code") != 11000 for err in exc.details.get("writeErrors", [])):
                        raise
            if ops:
                stories.bulk_write(ops, ordered=False)
        return len(ops)

    def events(self, monitor: str, *, since: datetime | None = None) -> list[EventRecord]:
        stories, members = self._event_collections()
        query: dict[str, Any] = {"monitor": monitor}
        if since is not None:
            query["active_at"] = {"$gte": utc(since)}
        with self._errors("read events"):
            docs = list(stories.find(query, _NO_ID))
            ids = [d["event_id"] for d in docs]
            of: dict[str, list[tuple[str, str]]] = {i: [] for i in ids}
            for batch in batched(ids, _KEYS_PER_QUERY):
                for m in members.find({"monitor": monitor, "event_id": {"$in": batch}},
                                      {"_id": False, "event_id": True, "platform": True,
                                       "post_id": True}):
                    of[m["event_id"]].append((m["platform"], m["post_id"]))
        return order_events(event_record(d, d["event_id"], sorted(of[d["event_id"]]))
                            for d in docs)


def _doc(record: Any) -> dict[str, Any]:
    return record_doc(record, datetimes=utc)


@overload
def _window_match(topic: str | None, since: datetime | None, until: datetime | None,
                  platform: str | None) -> dict[str, Any]: ...
@overload
def _window_match(topic: str | None, since: datetime | None, until: datetime | None,
                  platform: str | None, author: AuthorKey | None) -> dict[str, Any] | None: ...
def _window_match(topic: str | None, since: datetime | None, until: datetime | None,
                  platform: str | None, author: AuthorKey | None = None
                  ) -> dict[str, Any] | None:
    """The ``$match`` of ``posts()``'s window (and of the aggregates over it), by ``author``
    too if given; None when ``author`` is on another platform than ``platform``."""
    query: dict[str, Any] = {}
    if topic is not None:
        query["topics"] = topic
    if author is not None:
        if platform is not None and platform != author[0]:
            return None
        query["author_id"] = author[1]
        platform = author[0]
    if platform is not None:
        query["platform"] = platform
    window = {}
    if since is not None:
        window["$gte"] = utc(since)
    if until is not None:
        window["$lt"] = utc(until)
    if window:
        query["created_at"] = window
    return query


def _write_concerns(client: Any, options: MongoOptions) -> tuple[WriteConcern, WriteConcern]:
    """The data write concern (settings, then each of w/j/wtimeout the client's URI gives on
    top) and the coordination one (the same with w="majority", whatever the URI says)."""
    given = getattr(client, "write_concern", None)  # mongomock has none
    uri_parts = given.document if isinstance(given, WriteConcern) else {}
    data = {**options.write_concern(), **uri_parts}
    return WriteConcern(**data), WriteConcern(**{**data, "w": "majority"})


def _read_preference(client: Any, options: MongoOptions, *, uri_given: bool) -> Any:
    """The read preference of post and author reads: the URI's (with its tags and staleness)
    or an injected client's own non-primary one, else MONGO_READ_PREFERENCE."""
    own = getattr(client, "read_preference", None)
    if uri_given or (own is not None and getattr(own, "mode", 0) != 0):
        return own
    return make_read_preference(read_pref_mode_from_name(options.read_preference), None)


def _window_index(topic: str | None, *, sentiment: str | None = None) -> ix.Keys:
    """The index whose order is a window's (created_at, platform, post_id) under the
    equality filters given: the topic's, else the sentiment label's, else time alone."""
    if topic is not None:
        return ix.TOPIC_WINDOW
    return ix.SENTIMENT_WINDOW if sentiment is not None else ix.TIME_WINDOW


def _upsert_op(doc: dict[str, Any], key: tuple[str, str]) -> UpdateOne:
    """One merge-upsert of a record's document (``_doc``): non-None fields $set, extra merged
    key by key, topics $addToSet."""
    filter_ = {key[0]: doc.pop(key[0]), key[1]: doc.pop(key[1])}
    topics = doc.pop("topics", None)
    extra = doc.pop("extra", None)
    if extra:
        doc.update((f"extra.{name}", value) for name, value in extra.items())
    update: dict[str, Any] = {"$set": doc or {key[0]: filter_[key[0]]}}
    if topics:
        update["$addToSet"] = {"topics": {"$each": topics}}
    return UpdateOne(filter_, update, upsert=True)


def _set_unset(fields: dict[str, Any]) -> dict[str, Any]:
    """Overwrite ``fields``; None ones are removed (they read back as None)."""
    update: dict[str, Any] = {}
    present = {k: v for k, v in fields.items() if v is not None}
    absent = {k: "" for k, v in fields.items() if v is None}
    if present:
        update["$set"] = present
    if absent:
        update["$unset"] = absent
    return update


_SCORE_INPUT = {"_id": False, "platform": True, "post_id": True, "text": True, "kind": True}


def _score_input(doc: dict[str, Any]) -> ScoreInput:
    return ScoreInput(doc["platform"], doc["post_id"], doc.get("text") or "",
                      doc.get("kind") or "original")


def _record_out(cls: type[Any], doc: dict[str, Any]) -> Any:
    # from_dict makes naive datetimes (mongomock, or a client without tz_aware) aware UTC.
    if doc.get("topics"):
        doc["topics"] = sorted(doc["topics"])
    return from_dict(cls, doc)
