"""Aggregation pipelines of MongoStore's ``post_counts``, ``author_counts``, ``author_stats``,
``cascade_sizes`` and ``topic_overlap`` (plain dicts).

The server does the grouping. Buckets follow ``crawlers.storage._aggregate``: each post is
labelled with the number of its local hour or day, computed from its time and the zone offset
of its stretch of the window (a ``$switch`` over the stretch starts), and Python names each
label's bucket. Not ``$dateTrunc`` with ``timezone``: it needs MongoDB 5.0, the server's time
zone data can differ from Python's zoneinfo (two backends, two answers), and mongomock, which
runs the contract suite without a server, does not have it. ``$subtract`` of two dates, ``$add``,
``$mod``, ``$switch`` and ``$ifNull`` exist on every supported server (4.x and up).

The ``$match`` stages use the window indexes ``ensure_indexes`` creates: (topics, created_at)
with a topic, (created_at, platform, post_id) without. No driver imports here.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from crawlers.storage import _aggregate as agg

__all__ = ["author_pipeline", "count_groups", "count_pipeline", "decode_label", "overlap_pipeline",
           "roots_pipeline", "sizes_pipeline", "stats_pipeline", "stats_total_pipeline"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ENGAGEMENT = {"$add": [{"$ifNull": [f"${name}", 0]}
                       for name in ("like_count", "comment_count", "repost_count")]}


def _offset_ms(spans: list[tuple[datetime, int]]) -> Any:
    """The zone offset, in milliseconds, at the post's created_at."""
    if len(spans) == 1:
        return spans[0][1] * 1000
    branches = [{"case": {"$lt": ["$created_at", start]}, "then": offset * 1000}
                for (_, offset), (start, _) in zip(spans, spans[1:], strict=False)]
    return {"$switch": {"branches": branches, "default": spans[-1][1] * 1000}}


def count_pipeline(
    match: dict[str, Any], request: agg.CountRequest, spans: list[tuple[datetime, int]] | None,
) -> list[dict[str, Any]]:
    """Posts and engagement per (label, offset, ``by`` values) of the posts ``match`` selects;
    with ``spans`` None, per ``by`` values only (no bucket, or undated posts)."""
    group_id: dict[str, Any] = {name: {"$ifNull": [f"${name}", None]} for name in request.by}
    if spans is not None:
        offset = _offset_ms(spans)
        # floor((ms + offset + BIAS) / size) * size, in ms: non-negative, so $mod floors.
        local = {"$add": [{"$subtract": ["$created_at", _EPOCH]}, offset, agg.BIAS * 1000]}
        group_id["_label"] = {"$subtract": [local, {"$mod": [local, request.size * 1000]}]}
        group_id["_offset"] = offset
    return [
        {"$match": match},
        {"$group": {"_id": group_id, "posts": {"$sum": 1}, "engagement": {"$sum": ENGAGEMENT}}},
    ]


def decode_label(group_id: dict[str, Any], request: agg.CountRequest) -> datetime:
    """The bucket start of a ``count_pipeline`` group (mongomock's ``$mod`` gives floats)."""
    size_ms = request.size * 1000
    label = int(round(group_id["_label"])) // size_ms - agg.BIAS // request.size
    return agg.label_start(label, int(round(group_id["_offset"])) // 1000, request)


def count_groups(rows: Iterable[dict[str, Any]], request: agg.CountRequest, *, bucketed: bool
                 ) -> list[tuple[agg.GroupKey, int, int]]:
    """``count_pipeline`` output as ``_aggregate.count_rows`` input. mongomock reports an empty
    input grouped by a constant as one row of 0 posts; such rows are skipped."""
    return [
        ((decode_label(row["_id"], request) if bucketed else None,
          tuple(row["_id"].get(name) for name in request.by)), row["posts"], row["engagement"])
        for row in rows if row["posts"]
    ]


def author_pipeline(match: dict[str, Any], limit: int | None) -> list[dict[str, Any]]:
    """Posts and engagement per (platform, author_id), most posts first, ``limit`` rows."""
    pipeline: list[dict[str, Any]] = [
        {"$match": {**match, "author_id": {"$ne": None}}},
        {"$group": {"_id": {"platform": "$platform", "author_id": "$author_id"},
                    "posts": {"$sum": 1}, "engagement": {"$sum": ENGAGEMENT}}},
        {"$sort": {"posts": -1, "engagement": -1, "_id.platform": 1, "_id.author_id": 1}},
    ]
    if limit is not None:
        pipeline.append({"$limit": limit})
    return pipeline


def _labelled(label: str) -> dict[str, Any]:
    return {"$sum": {"$cond": [{"$eq": ["$sentiment_label", label]}, 1, 0]}}


_NET_CLASS = {  # $match on the grouped counts: _aggregate.net_class
    "negative": {"$expr": {"$gt": ["$negative", "$positive"]}},
    "positive": {"$expr": {"$gt": ["$positive", "$negative"]}},
    "neutral": {"$expr": {"$and": [{"$eq": ["$positive", "$negative"]},
                                   {"$gt": [{"$add": ["$positive", "$negative", "$neutral"]},
                                            0]}]}},
    "unscored": {"positive": 0, "negative": 0, "neutral": 0},
}
_SORT_FIELD = {"platform": "_id.platform"}


def stats_pipeline(match: dict[str, Any], request: agg.StatsRequest, *, facet: bool = True
                   ) -> list[dict[str, Any]]:
    """``author_stats`` as one pipeline: group, classify, sort (None last: a 0/1 field first),
    then a ``$facet`` of the page and the total. Without ``facet`` the sorted rows after the
    offset come back as a cursor: a ``$facet`` is one result document, at most 16 MB (about
    90,000 authors at 178 BSON bytes a row), so a request for every row must not go through
    one."""
    polar = {"$add": ["$positive", "$negative"]}
    pipeline: list[dict[str, Any]] = [
        {"$match": {**match, "author_id": {"$ne": None}}},
        {"$group": {"_id": {"platform": "$platform", "author_id": "$author_id"},
                    "posts": {"$sum": 1}, "engagement": {"$sum": ENGAGEMENT},
                    "positive": _labelled("positive"), "negative": _labelled("negative"),
                    "neutral": _labelled("neutral"),
                    "first_at": {"$min": "$created_at"}, "last_at": {"$max": "$created_at"}}},
    ]
    if request.sentiment is not None:
        pipeline.append({"$match": _NET_CLASS[request.sentiment]})
    field = _SORT_FIELD.get(request.order, request.order)
    if request.order == "net":
        pipeline.append({"$addFields": {"net": {"$cond": [
            {"$gt": [polar, 0]},
            {"$divide": [{"$subtract": ["$positive", "$negative"]}, polar]}, None]}}})
    pipeline.append({"$addFields": {"_missing": {"$cond": [
        {"$eq": [{"$ifNull": [f"${field}", None]}, None]}, 1, 0]}}})
    sort = {"_missing": 1, field: -1 if request.descending else 1}
    for name, direction in (("posts", -1), ("engagement", -1), ("_id.platform", 1),
                            ("_id.author_id", 1)):
        sort.setdefault(name, direction)  # the order's own field keeps its direction
    page: list[dict[str, Any]] = [{"$sort": sort}, {"$skip": request.offset}]
    if request.limit is not None:  # $limit must be positive: the caller cuts a 0 page
        page.append({"$limit": max(1, request.limit)})
    if not facet:
        return pipeline + page
    pipeline.append({"$facet": {"rows": page, "total": [{"$count": "n"}]}})
    return pipeline


def stats_total_pipeline(match: dict[str, Any], request: agg.StatsRequest
                         ) -> list[dict[str, Any]]:
    """How many authors ``stats_pipeline`` would rank (one row ``{"n": …}``, none for 0)."""
    pipeline = stats_pipeline(match, request, facet=False)[:2]  # $match, $group
    if request.sentiment is not None:
        pipeline.append({"$match": _NET_CLASS[request.sentiment]})
    return [*pipeline, {"$count": "n"}]


def roots_pipeline(match: dict[str, Any], limit: int | None) -> list[dict[str, Any]]:
    """Posts per (platform, cascade root), a post without ``root_post_id`` its own root."""
    pipeline: list[dict[str, Any]] = [
        {"$match": match},
        {"$group": {"_id": {"platform": "$platform",
                            "root": {"$ifNull": ["$root_post_id", "$post_id"]}},
                    "posts": {"$sum": 1}}},
        {"$sort": {"posts": -1, "_id.platform": 1, "_id.root": 1}},
    ]
    if limit is not None:
        pipeline.append({"$limit": limit})
    return pipeline


def overlap_pipeline(match: dict[str, Any], others: list[str]) -> list[dict[str, Any]]:
    """How many of the posts ``match`` selects (a topic's window) also carry one of
    ``others`` in their ``topics`` array: one count document ``{"n": …}``, none when 0."""
    return [
        {"$match": match},  # the topic's window: (topics, created_at) of TOPIC_WINDOW
        {"$match": {"topics": {"$in": others}}},  # checked on the window's documents
        {"$count": "n"},
    ]


def sizes_pipeline(platform: str, root_post_ids: list[str]) -> list[dict[str, Any]]:
    """Posts per root id, and how many of them are the root naming itself."""
    return [
        {"$match": {"platform": platform, "root_post_id": {"$in": root_post_ids}}},
        {"$group": {"_id": "$root_post_id", "posts": {"$sum": 1}, "itself": {"$sum": {
            "$cond": [{"$eq": ["$post_id", "$root_post_id"]}, 1, 0]}}}},
    ]
