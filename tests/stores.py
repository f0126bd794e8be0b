"""Test stores of every backend: ``make_store(kind, tmp_path)`` and ``dispose_store(store)``.

Kinds: "memory", "sqlite" (a file under tmp_path), "mongomock" (MongoStore on an in-process
mongomock client) and "mongodb" (a real server named by TINGFENG_TEST_MONGO_URI, in a database
of its own that dispose_store drops; skipped when the variable is unset).
"""

from __future__ import annotations

import functools
import inspect
import os
import uuid
from pathlib import Path
from typing import Any

import pytest

from crawlers.storage import Store

__all__ = ["KINDS", "MONGO_URI_ENV", "dispose_store", "make_store", "patch_mongomock_bulk"]

KINDS = ("memory", "sqlite", "mongomock", "mongodb")
MONGO_URI_ENV = "TINGFENG_TEST_MONGO_URI"
_TEST_DB_PREFIX = "tingfeng_test_"


def make_store(kind: str, tmp_path: Path, **options: Any) -> Store:
    """A fresh, empty store of ``kind``; ``options`` go to the backend's constructor."""
    if kind == "memory":
        from crawlers.storage.memory import MemoryStore

        return MemoryStore(**options)
    if kind == "sqlite":
        from crawlers.storage.sqlite import SqliteStore

        return SqliteStore(tmp_path / "store.db", **options)
    if kind == "mongomock":
        mongomock = pytest.importorskip("mongomock")
        from crawlers.storage.mongo import MongoStore

        patch_mongomock_bulk()
        client = mongomock.MongoClient(tz_aware=True)
        return MongoStore(client=client, database="tingfeng_test", **options)
    if kind == "mongodb":
        uri = os.environ.get(MONGO_URI_ENV)
        if not uri:
            pytest.skip(f"real-MongoDB leg: set {MONGO_URI_ENV}=mongodb://host:port to run it")
        from pymongo import MongoClient

        from crawlers.storage.mongo import MongoStore

        client: Any = MongoClient(uri, tz_aware=True, serverSelectionTimeoutMS=3000)
        name = f"{_TEST_DB_PREFIX}{uuid.uuid4().hex[:12]}"
        store = MongoStore(client=client, database=name, **options)
        store._test_client = client  # type: ignore[attr-defined]  # closed by dispose_store
        return store
    raise ValueError(f"unknown store kind {kind!r}; known: {', '.join(KINDS)}")


def dispose_store(store: Store) -> None:
    """Close ``store``; a real-MongoDB test store also loses its database and client."""
    store.close()
    client = getattr(store, "_test_client", None)
    if client is not None:
        name = store.database_name  # type: ignore[attr-defined]
        if name.startswith(_TEST_DB_PREFIX):  # never drop anything the tests did not create
            client.drop_database(name)
        client.close()


def patch_mongomock_bulk() -> None:
    """Let mongomock 4.3.0 run pymongo >= 4.11's UpdateOne/ReplaceOne in ``bulk_write``.

    pymongo 4.11 passes ``sort=`` to the bulk builder's add_update/add_replace, which
    mongomock 4.3.0 does not accept: ``TypeError: BulkOperationBuilder.add_update() got an
    unexpected keyword argument 'sort'`` (upstream mongomock/mongomock#912, fix proposed in
    PR #933). Accept ``sort=None`` and drop it; a real sort is refused, as mongomock cannot
    honour it. Idempotent, and a no-op once mongomock accepts ``sort`` itself.
    """
    from mongomock.collection import BulkOperationBuilder

    for name in ("add_update", "add_replace"):
        original = getattr(BulkOperationBuilder, name)
        if "sort" in inspect.signature(original, follow_wrapped=False).parameters:
            continue

        @functools.wraps(original)
        def accept_sort(
            self: Any, *args: Any, sort: Any = None, __original: Any = original, **kwargs: Any
        ) -> Any:
            if sort is not None:
                raise NotImplementedError("mongomock cannot sort inside a bulk update")
            return __original(self, *args, **kwargs)

        setattr(BulkOperationBuilder, name, accept_sort)
