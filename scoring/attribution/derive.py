"""Touchpoints from the posts Tingfeng collected, where accounts stand for channels.

A monitor's channel map says which accounts are a channel (``weibo:1234567 → 官方微博``,
``weibo:987 → KOL-某某``). A user touches channel C at time t when they repost, comment on,
reply under or answer a post of one of C's accounts. The channel credited is the *nearest*
channel account above the user's post: a repost of a KOL's repost of the official post touches
the KOL (that is whom the user read), a repost of an ordinary user's repost of it touches the
official account (Weibo's ``//@a: //@b:`` chains are followed by id, then by screen name, then
to the cascade's root). Posts by the channel accounts themselves (the brand reposting its own
post, a KOL reposting the brand) are not touches: they are the channels, not users.

Users are per platform: ``weibo:123`` and ``zhihu:123`` are two users, because no platform
says who a person is elsewhere. A conversion imported for the same person must use that id.

A burst of replies under one post is one contact, not ten: touches of the same user and channel
less than ``session`` (30 minutes, the web-analytics session rule) after the previous one are
folded into it. Optionally, a user's own post that a predicate accepts (``已购 OR 下单``) is a
conversion. Pure: posts in, touchpoints out; ``read_channels`` reads the map's file.
"""

from __future__ import annotations

import csv
import json
from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, timedelta
from pathlib import Path
from typing import Any, TypeAlias

from crawlers.items import Post
from scoring.attribution.journeys import DIRECT, Conversion, Touchpoint

__all__ = [
    "ENGAGEMENT_KINDS",
    "OWN_KINDS",
    "ChannelMap",
    "ChannelStats",
    "Derivation",
    "derive_touchpoints",
    "read_channels",
    "user_id",
]

Account: TypeAlias = tuple[str, str]
"""(platform, author_id)"""

ENGAGEMENT_KINDS = frozenset({"repost", "comment", "reply", "answer"})
OWN_KINDS = frozenset({"original", "article", "thread"})
_KIND_GROUP = {"repost": "reposts", "comment": "comments", "reply": "comments",
               "answer": "answers"}
_MAX_HOPS = 200  # Weibo's legacy chains hold ~100 hops; a cycle in bad data stops here
_MAX_CHANNEL = 64


def user_id(platform: str, author_id: str) -> str:
    """The attribution user id of an account: ``weibo:7100000004`` (one per platform)."""
    return f"{platform}:{author_id}"


@dataclass
class ChannelMap:
    """Which accounts stand for which channel, and the screen names that find them in
    ``//@name`` chains. ``accounts``: (platform, author_id) → channel; ``names``:
    (platform, screen name) → author_id."""

    accounts: dict[Account, str] = field(default_factory=dict)
    names: dict[tuple[str, str], str] = field(default_factory=dict)

    def channels(self) -> list[str]:
        return sorted(set(self.accounts.values()))

    def rows(self) -> list[dict[str, str]]:
        """One dict per account (platform, account, channel[, name]), to save."""
        name_of = {(p, a): n for (p, n), a in self.names.items()}
        return [{"platform": p, "account": a, "channel": ch,
                 **({"name": name_of[p, a]} if (p, a) in name_of else {})}
                for (p, a), ch in sorted(self.accounts.items())]


@dataclass
class ChannelStats:
    """What one channel gathered: its accounts, how many of them posted in the window, its
    touches (by kind of engagement) and the distinct users behind them."""

    accounts: int = 0
    accounts_seen: int = 0
    touchpoints: int = 0
    users: int = 0
    reposts: int = 0
    comments: int = 0
    answers: int = 0


@dataclass
class Derivation:
    """Touchpoints (by user, in time order), conversions, per-channel counts, the number of
    posts read and the engagements left out by reason: ``by_channel_account``,
    ``no_channel``, ``same_session``, ``no_author``, ``no_time``."""

    touchpoints: list[Touchpoint]
    conversions: list[Conversion]
    channels: dict[str, ChannelStats]
    users: int
    skipped: Counter[str]
    posts: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"posts": self.posts, "users": self.users, "touchpoints": len(self.touchpoints),
                "conversions": len(self.conversions),
                "channels": {ch: dict(s.__dict__) for ch, s in self.channels.items()},
                "skipped": dict(self.skipped)}


def derive_touchpoints(
    posts: Iterable[Post],
    channels: ChannelMap,
    *,
    context: Mapping[tuple[str, str], Post] | None = None,
    session: timedelta = timedelta(minutes=30),
    is_conversion: Callable[[Post], bool] | None = None,
    conversion_gap: timedelta = timedelta(days=1),
) -> Derivation:
    """Touchpoints of the users who engaged with the channel accounts' posts.

    Parameters
    ----------
    posts : the window's posts (any order); only reposts, comments, replies and answers make
        touchpoints, and only own posts (originals, articles, threads) make conversions.
    channels : the channel map.
    context : more posts by key, to follow a chain whose parent or root lies outside the window.
    session : touches of one user and channel closer than this to the previous are one.
    is_conversion : if given, a user's own post it accepts is a conversion (value 1); posts of
        one user less than ``conversion_gap`` after a counted one are the same conversion.

    Examples
    --------
    >>> from datetime import datetime
    >>> t = datetime(2026, 11, 1, tzinfo=UTC)
    >>> posts = [Post("weibo", "1", author_id="brand", created_at=t),
    ...          Post("weibo", "2", kind="repost", author_id="u1", parent_post_id="1",
    ...               root_post_id="1", created_at=t + timedelta(hours=1)),
    ...          Post("weibo", "3", kind="repost", author_id="u2", parent_post_id="2",
    ...               root_post_id="1", created_at=t + timedelta(hours=2))]
    >>> got = derive_touchpoints(posts, ChannelMap({("weibo", "brand"): "官方微博"}))
    >>> [(p.user, p.channel) for p in got.touchpoints]
    [('weibo:u1', '官方微博'), ('weibo:u2', '官方微博')]
    """
    posts = list(posts)
    index: dict[tuple[str, str], Post] = dict(context or {})
    index.update((p.key, p) for p in posts)
    names = dict(channels.names)
    for p in index.values():
        if p.author_id and p.author_name and (p.platform, p.author_id) in channels.accounts:
            names.setdefault((p.platform, p.author_name), p.author_id)

    skipped: Counter[str] = Counter()
    raw: list[tuple[str, Any, str, str, Post]] = []  # (user, time, channel, post id, post)
    own: list[Post] = []
    for post in posts:
        engaged = post.kind in ENGAGEMENT_KINDS
        if not engaged and not (is_conversion and post.kind in OWN_KINDS):
            continue
        if not post.author_id or post.created_at is None:
            if engaged:
                skipped["no_author" if not post.author_id else "no_time"] += 1
        elif (post.platform, post.author_id) in channels.accounts:
            if engaged:  # the brand reposting itself, a KOL reposting the brand: no user
                skipped["by_channel_account"] += 1
        elif not engaged:
            own.append(post)
        elif (channel := _nearest_channel(post, index, channels.accounts, names)) is None:
            skipped["no_channel"] += 1
        else:
            raw.append((user_id(post.platform, post.author_id), _time(post), channel,
                        post.post_id, post))

    raw.sort(key=lambda r: r[:4])  # (user, time, channel, post id) is unique
    touches: list[Touchpoint] = []
    kept: list[Post] = []
    last: dict[tuple[str, str], Any] = {}
    for user, at, channel, _, post in raw:
        previous = last.get((user, channel))
        last[user, channel] = at
        if previous is not None and at - previous < session:
            skipped["same_session"] += 1
            continue
        touches.append(Touchpoint(user, channel, at))
        kept.append(post)
    conversions = _conversions(own, is_conversion, conversion_gap) if is_conversion else []
    stats = _stats(channels, index.values(), touches, kept)
    return Derivation(touches, conversions, stats, len({t.user for t in touches}), skipped,
                      len(posts))


def _time(post: Post) -> Any:
    assert post.created_at is not None  # checked before a post is kept
    return post.created_at.astimezone(UTC)


def _nearest_channel(post: Post, index: Mapping[tuple[str, str], Post],
                     accounts: Mapping[Account, str], names: Mapping[tuple[str, str], str]
                     ) -> str | None:
    """The channel of the nearest channel account above ``post``: up the parent chain by id,
    then through the ``//@name`` chain where ids run out, then the cascade's root."""
    platform = post.platform
    for author in _ancestors(post, index, names):
        if (channel := accounts.get((platform, author))) is not None:
            return channel
    return None


def _ancestors(post: Post, index: Mapping[tuple[str, str], Post],
               names: Mapping[tuple[str, str], str]) -> Iterator[str]:
    platform, current, seen = post.platform, post, {post.post_id}
    for _ in range(_MAX_HOPS):
        parent = index.get((platform, current.parent_post_id)) if current.parent_post_id else None
        author = current.parent_author_id or (parent.author_id if parent else None)
        if author:
            yield author
        if parent is None or parent.post_id in seen:
            # the rest of the chain is known by screen name only (nearest first)
            chain = list(current.repost_path)
            if current.parent_author_name and current.parent_author_name not in chain:
                chain.insert(0, current.parent_author_name)
            for name in chain:
                if (found := names.get((platform, name))) is not None:
                    yield found
            break
        seen.add(parent.post_id)
        current = parent
    root = index.get((platform, post.root_post_id)) if post.root_post_id else None
    if root is not None and root.author_id:
        yield root.author_id


def _conversions(own: list[Post], accept: Callable[[Post], bool],
                 gap: timedelta) -> list[Conversion]:
    out: list[Conversion] = []
    last: dict[str, Any] = {}
    for post in sorted(own, key=lambda p: (p.platform, p.author_id or "", _time(p), p.post_id)):
        if not accept(post):
            continue
        user, at = user_id(post.platform, post.author_id or ""), _time(post)
        if user in last and at - last[user] < gap:
            continue
        last[user] = at
        out.append(Conversion(user, at, 1.0))
    return out


def _stats(channels: ChannelMap, seen_posts: Iterable[Post], touches: list[Touchpoint],
           posts: list[Post]) -> dict[str, ChannelStats]:
    stats = {ch: ChannelStats() for ch in channels.channels()}
    for ch in channels.accounts.values():
        stats[ch].accounts += 1
    posted = {(p.platform, p.author_id) for p in seen_posts if p.author_id
              } & channels.accounts.keys()
    for account in posted:
        stats[channels.accounts[account]].accounts_seen += 1
    users: defaultdict[str, set[str]] = defaultdict(set)
    for touch, post in zip(touches, posts, strict=True):
        s = stats[touch.channel]
        s.touchpoints += 1
        setattr(s, _KIND_GROUP[post.kind], getattr(s, _KIND_GROUP[post.kind]) + 1)
        users[touch.channel].add(touch.user)
    for ch, who in users.items():
        stats[ch].users = len(who)
    return stats


# ------------------------------------------------------------------------------- the map's file


def read_channels(path: str | Path, *, platforms: Collection[str] | None = None) -> ChannelMap:
    """Read a channel map: CSV with a header ``platform,account,channel[,name]``, JSON lines of
    those fields, or one JSON document (a list of such objects, or ``{"weibo:123": "官方微博"}``).
    ``account`` may carry its platform (``weibo:1234567``) instead of a platform column; it is
    the id as stored (Weibo uid, WeChat ``__biz``, Zhihu member id); ``name`` is the screen name,
    used to follow ``//@name`` chains when the account has no post in the window.

    A configuration is not data: any bad row raises, naming its line.

    Raises
    ------
    ValueError
        On a missing field, an unknown platform, a channel name that is empty, too long or
        ``(direct)``, an account given two channels, or a file with no account.
    """
    path = Path(path)
    found = ChannelMap()
    for line, record in _channel_records(path):
        where = f"{path.name} line {line}"
        account = str(record.get("account") or record.get("account_id")
                      or record.get("author_id") or "").strip()
        platform = str(record.get("platform") or "").strip().lower()
        if not platform and ":" in account:
            platform, account = (s.strip() for s in account.split(":", 1))
            platform = platform.lower()
        channel = " ".join(str(record.get("channel") or "").split())
        name = " ".join(str(record.get("name") or "").split())
        if not platform:
            raise ValueError(f"{where}: no platform (a platform column, or account as "
                             "weibo:1234567)")
        if platforms is not None and platform not in platforms:
            raise ValueError(f"{where}: unknown platform {platform!r}; use one of "
                             f"{', '.join(platforms)}")
        if not account:
            raise ValueError(f"{where}: no account id")
        if not channel or not channel.isprintable() or len(channel) > _MAX_CHANNEL:
            raise ValueError(f"{where}: the channel name must be 1–{_MAX_CHANNEL} printable "
                             "characters")
        if channel == DIRECT:
            raise ValueError(f"{where}: {DIRECT} is reserved for conversions without a touch")
        before = found.accounts.setdefault((platform, account), channel)
        if before != channel:
            raise ValueError(f"{where}: {platform}:{account} is already channel {before!r}; "
                             "an account stands for one channel")
        if name:
            found.names[platform, name] = account
    if not found.accounts:
        raise ValueError(f"{path.name}: no account in it (header platform,account,channel)")
    return found


def _channel_records(path: Path) -> Iterator[tuple[int, Mapping[str, Any]]]:
    text = path.read_text(encoding="utf-8-sig")
    stripped = text.lstrip()
    if stripped[:1] in ("[", "{"):
        try:
            whole = json.loads(text)
        except ValueError:
            whole = None  # JSON lines, read below
        if isinstance(whole, dict) and not {"account", "channel"} & whole.keys():
            for number, (key, value) in enumerate(whole.items(), 1):
                row = dict(value) if isinstance(value, dict) else {"channel": value}
                yield number, {"account": key, **row}
            return
        if isinstance(whole, (list, dict)):
            for number, item in enumerate(whole if isinstance(whole, list) else [whole], 1):
                yield number, _mapping(item, path, number)
            return
        for number, line in enumerate(text.splitlines(), 1):
            if line.strip():
                try:
                    yield number, _mapping(json.loads(line), path, number)
                except json.JSONDecodeError as exc:
                    raise ValueError(f"{path.name} line {number}: not JSON ({exc.msg})") from exc
        return
    reader = csv.DictReader(text.splitlines())
    reader.fieldnames = [n.strip().lower() for n in reader.fieldnames or []]
    if "channel" not in reader.fieldnames:
        raise ValueError(f"{path.name}: the CSV header needs platform,account,channel")
    for row in reader:
        yield reader.line_num, row


def _mapping(item: Any, path: Path, line: int) -> Mapping[str, Any]:
    if not isinstance(item, dict):
        raise ValueError(f"{path.name} line {line}: expected an object with account and channel")
    return item
