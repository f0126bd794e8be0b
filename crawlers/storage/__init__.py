"""Store selection by URI scheme: ``open_store("sqlite:///data/tingfeng.db")``.

Backends are imported lazily, so pymongo is needed only for ``mongodb://`` URIs.
"""

from __future__ import annotations

from importlib import import_module
from urllib.parse import urlsplit

from crawlers.errors import UnknownScheme
from crawlers.storage.base import Store

__all__ = ["BACKENDS", "Store", "open_store"]

BACKENDS: dict[str, str] = {
    "memory": "crawlers.storage.memory:MemoryStore",
    "sqlite": "crawlers.storage.sqlite:SqliteStore",
    "mongodb": "crawlers.storage.mongo:MongoStore",
    "mongodb+srv": "crawlers.storage.mongo:MongoStore",
}


def open_store(uri: str) -> Store:
    """Open the store ``uri`` names. Each backend class has ``from_uri(uri)``.

    :raises UnknownScheme: for a scheme not in ``BACKENDS``.
    """
    scheme = urlsplit(uri).scheme.lower()
    target = BACKENDS.get(scheme)
    if target is None:
        known = ", ".join(f"{s}://" for s in BACKENDS)
        raise UnknownScheme(f"Unknown store scheme {scheme!r} in {uri!r}; known: {known}")
    module_name, _, cls_name = target.partition(":")
    cls = getattr(import_module(module_name), cls_name)
    store: Store = cls.from_uri(uri)
    return store
