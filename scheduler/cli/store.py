"""``tingfeng store indexes``: the indexes the MongoDB store creates, why, and who uses them."""

from __future__ import annotations

import argparse
import json
from typing import Any

__all__ = ["register"]

EPILOG = """\
examples:
  tingfeng store indexes                                   # what a MongoDB store creates
  tingfeng store indexes -f json
  tingfeng --store mongodb://db1:27017/tingfeng store indexes   # and what that database has extra

The MongoDB store creates these indexes when it opens (an existing index is left as it is).
With a mongodb:// store, indexes the database holds that Tingfeng does not create are listed
too: an index of an earlier release, or one an operator added; drop them if nothing uses them."""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("store", help="the store's own structure (MongoDB indexes)",
                       description="Look at the store's structure.")
    kinds = p.add_subparsers(dest="store_command", metavar="COMMAND", required=True)
    ix = kinds.add_parser("indexes", help="every index the MongoDB store creates, and why",
                          description="Every index the MongoDB store creates: collection, "
                                      "keys, why it exists, which store methods use it.",
                          epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    ix.add_argument("--format", "-f", choices=("table", "json"), default="table",
                    help="output: table (default) or json")
    ix.set_defaults(func=run_indexes)


def run_indexes(args: argparse.Namespace) -> int:
    from crawlers.storage._mongoindexes import INDEXES
    from scheduler.cli.common import settings_for

    declared: list[dict[str, Any]] = [
        {"collection": s.collection, "name": s.name, "keys": [list(k) for k in s.keys],
         "unique": s.unique, "why": s.why, "used_by": list(s.used_by)} for s in INDEXES]
    uri = str(settings_for(args).get("STORE_URI") or "")
    extra = _extra_indexes(uri) if uri.lower().startswith("mongodb") else None
    if args.format == "json":
        print(json.dumps({"indexes": declared, "extra": extra}, ensure_ascii=False, indent=2))
        return 0
    for row in declared:
        keys = ", ".join(f"{field}" for field, _ in row["keys"])
        unique = " unique" if row["unique"] else ""
        print(f"{row['collection']}.{row['name']}{unique}\n  keys: ({keys})\n"
              f"  why: {row['why']}\n  used by: {', '.join(row['used_by'])}")
    if extra is not None:
        print("not created by Tingfeng: " + (", ".join(
            f"{e['collection']}.{e['name']}" for e in extra) or "none"))
    return 0


def _extra_indexes(uri: str) -> list[dict[str, Any]]:
    from crawlers.storage.mongo import MongoStore

    store = MongoStore.from_uri(uri)
    try:
        return [{"collection": c, "name": n, "keys": [list(k) for k in keys]}
                for c, n, keys in store.extra_indexes()]
    finally:
        store.close()
