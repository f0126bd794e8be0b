"""People and access, kept apart from the store: users, sessions, login failures and the audit
log in one SQLite file of their own (``WEB_DB``), so a store backup or export never carries a
password hash and the store contract stays about social data.

Passwords are hashed with Argon2id (argon2-cffi, its recommended parameters). Session ids and
API tokens are 256-bit random strings; only their SHA-256 is kept, so a copy of this file lets
nobody in. Standard library ``sqlite3`` plus argon2-cffi: no web framework here, the CLI uses it.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from crawlers.errors import ConfigError

__all__ = ["ROLES", "AccountError", "Accounts", "Session", "User", "role_at_least",
           "web_db_path"]

ROLES = ("viewer", "analyst", "admin")  # each role can do everything the ones before it can
MIN_PASSWORD = 8
TOKEN_PREFIX = "tf_"
_USERNAME = re.compile(r"^[\w.@-]{1,64}$")
_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS users (
        username TEXT PRIMARY KEY, role TEXT NOT NULL, password_hash TEXT NOT NULL,
        token_hash TEXT UNIQUE, created_at REAL NOT NULL, last_login_at REAL)""",
    """CREATE TABLE IF NOT EXISTS sessions (
        sid_hash TEXT PRIMARY KEY,
        username TEXT NOT NULL REFERENCES users(username) ON DELETE CASCADE,
        csrf TEXT NOT NULL, created_at REAL NOT NULL, expires_at REAL NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS sessions_user ON sessions(username)",
    "CREATE TABLE IF NOT EXISTS login_failures (key TEXT NOT NULL, at REAL NOT NULL)",
    "CREATE INDEX IF NOT EXISTS login_failures_key ON login_failures(key, at)",
    """CREATE TABLE IF NOT EXISTS audit (
        id INTEGER PRIMARY KEY AUTOINCREMENT, at REAL NOT NULL, actor TEXT NOT NULL,
        action TEXT NOT NULL, target TEXT NOT NULL, detail TEXT NOT NULL)""",
)


class AccountError(ConfigError):
    """A user operation that cannot be done; the message says why and what to do."""


@dataclass(frozen=True)
class User:
    username: str
    role: str
    created_at: datetime
    last_login_at: datetime | None = None
    has_token: bool = False

    def can(self, role: str) -> bool:
        return role_at_least(self.role, role)


@dataclass(frozen=True)
class Session:
    user: User
    csrf: str
    expires_at: datetime


def role_at_least(role: str, needed: str) -> bool:
    """Roles are ordered: admin ⊇ analyst ⊇ viewer.

    >>> role_at_least("admin", "analyst"), role_at_least("viewer", "analyst")
    (True, False)
    """
    return role in ROLES and ROLES.index(role) >= ROLES.index(needed)


def web_db_path(settings: Mapping[str, Any] | None) -> Path:
    """``WEB_DB`` if set, else ``web.db`` in the data directory (beside the default store)."""
    value = str((settings or {}).get("WEB_DB") or "")
    if value:
        return Path(value).expanduser()
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "tingfeng" / "web.db"


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _when(epoch: float | None) -> datetime | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, UTC)


class Accounts:
    """Users, sessions, login failures and audit entries in one SQLite file.

    Safe to share between threads (one connection behind a lock; WAL for other processes such
    as ``tingfeng user add`` while the server runs).

    Settings:
        WEB_DB: the file (default ``<data dir>/web.db``).
    """

    def __init__(self, path: str | os.PathLike[str] = ":memory:", *,
                 hasher: PasswordHasher | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.path = str(path)
        self.hasher = hasher or PasswordHasher()
        self.clock = clock
        self._lock = threading.RLock()
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        try:
            self._conn = sqlite3.connect(self.path, isolation_level=None,
                                         check_same_thread=False, timeout=10.0)
            self._conn.execute("PRAGMA foreign_keys = ON")
            self._conn.execute("PRAGMA busy_timeout = 10000")
            if self.path != ":memory:":
                self._conn.execute("PRAGMA journal_mode = WAL")
            for statement in _SCHEMA:
                self._conn.execute(statement)
        except sqlite3.Error as exc:
            raise AccountError(f"cannot open the web user database {self.path} ({exc}); "
                               "set WEB_DB to a writable file") from exc
        if self.path != ":memory:":
            os.chmod(self.path, 0o600)  # password hashes: readable by the service account only
        self._dummy = ""

    def _run(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            try:
                return self._conn.execute(sql, params).fetchall()
            except sqlite3.Error as exc:
                raise AccountError(f"web user database {self.path}: {exc}") from exc

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    # -- users ------------------------------------------------------------------------------
    def _check_password(self, username: str, password: str) -> None:
        if len(password) < MIN_PASSWORD:
            raise AccountError(f"the password is too short: use at least {MIN_PASSWORD} "
                               "characters (a passphrase is easiest)")
        if password.casefold() == username.casefold():
            raise AccountError("the password must not be the user name")

    def add_user(self, username: str, role: str, password: str) -> User:
        if not _USERNAME.match(username):
            raise AccountError(f"bad user name {username!r}: 1-64 letters, digits, '.', '_', "
                               "'-' or '@'")
        if role not in ROLES:
            raise AccountError(f"unknown role {role!r}; use one of {', '.join(ROLES)}")
        self._check_password(username, password)
        if self.get_user(username) is not None:
            raise AccountError(f"user {username!r} already exists: change the password with "
                               f"`tingfeng user passwd {username}`")
        self._run("INSERT INTO users (username, role, password_hash, created_at) "
                  "VALUES (?, ?, ?, ?)", (username, role, self.hasher.hash(password),
                                          self.clock()))
        user = self.get_user(username)
        assert user is not None
        return user

    def _require(self, username: str) -> User:
        user = self.get_user(username)
        if user is None:
            known = ", ".join(u.username for u in self.users()) or "none yet"
            raise AccountError(f"no user {username!r} (known: {known}); "
                               "add one with `tingfeng user add`")
        return user

    def set_password(self, username: str, password: str) -> None:
        """Change a password and end every session of that user."""
        self._require(username)
        self._check_password(username, password)
        with self._lock:
            self._run("UPDATE users SET password_hash = ? WHERE username = ?",
                      (self.hasher.hash(password), username))
            self._run("DELETE FROM sessions WHERE username = ?", (username,))

    def set_role(self, username: str, role: str) -> None:
        self._require(username)
        if role not in ROLES:
            raise AccountError(f"unknown role {role!r}; use one of {', '.join(ROLES)}")
        self._run("UPDATE users SET role = ? WHERE username = ?", (role, username))

    def remove_user(self, username: str) -> bool:
        """Delete a user with their sessions and token. Returns False if there was none."""
        found = self.get_user(username) is not None
        self._run("DELETE FROM users WHERE username = ?", (username,))
        return found

    def _user(self, row: tuple[Any, ...]) -> User:
        return User(row[0], row[1], _when(row[2]) or datetime.now(UTC), _when(row[3]),
                    bool(row[4]))

    _USER_COLUMNS = "username, role, created_at, last_login_at, token_hash IS NOT NULL"

    def users(self) -> list[User]:
        rows = self._run(f"SELECT {self._USER_COLUMNS} FROM users ORDER BY username")
        return [self._user(r) for r in rows]

    def get_user(self, username: str) -> User | None:
        rows = self._run(f"SELECT {self._USER_COLUMNS} FROM users WHERE username = ?",
                         (username,))
        return self._user(rows[0]) if rows else None

    def verify(self, username: str, password: str) -> User | None:
        """The user if ``password`` is theirs, else None (in about the same time either way).
        A hash made with older Argon2 parameters is upgraded on success."""
        rows = self._run("SELECT password_hash FROM users WHERE username = ?", (username,))
        if not rows and not self._dummy:
            # Verified against when a username is unknown, so a miss costs what a hit costs.
            self._dummy = self.hasher.hash(secrets.token_urlsafe(16))
        stored = rows[0][0] if rows else self._dummy
        try:
            self.hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return None
        if not rows:
            return None
        if self.hasher.check_needs_rehash(stored):
            self._run("UPDATE users SET password_hash = ? WHERE username = ?",
                      (self.hasher.hash(password), username))
        self._run("UPDATE users SET last_login_at = ? WHERE username = ?",
                  (self.clock(), username))
        return self.get_user(username)

    # -- API tokens -------------------------------------------------------------------------
    def issue_token(self, username: str) -> str:
        """A new API token for ``username`` (replacing any old one). Shown once: only its hash
        is kept."""
        self._require(username)
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        self._run("UPDATE users SET token_hash = ? WHERE username = ?", (_digest(token), username))
        return token

    def revoke_token(self, username: str) -> None:
        self._require(username)
        self._run("UPDATE users SET token_hash = NULL WHERE username = ?", (username,))

    def user_for_token(self, token: str) -> User | None:
        if not token.startswith(TOKEN_PREFIX):
            return None
        rows = self._run(f"SELECT {self._USER_COLUMNS} FROM users WHERE token_hash = ?",
                         (_digest(token),))
        return self._user(rows[0]) if rows else None

    # -- sessions ---------------------------------------------------------------------------
    def create_session(self, username: str, lifetime: float) -> tuple[str, Session]:
        """A fresh session id (never one the browser offered: no fixation) and its record."""
        user = self._require(username)
        sid, csrf, now = secrets.token_urlsafe(32), secrets.token_urlsafe(32), self.clock()
        with self._lock:
            self._run("DELETE FROM sessions WHERE expires_at <= ?", (now,))
            self._run("INSERT INTO sessions VALUES (?, ?, ?, ?, ?)",
                      (_digest(sid), username, csrf, now, now + lifetime))
        return sid, Session(user, csrf, datetime.fromtimestamp(now + lifetime, UTC))

    def session(self, sid: str) -> Session | None:
        """The live session ``sid`` names, with its user's current role; None if expired."""
        if not sid:
            return None
        rows = self._run(
            f"SELECT {', '.join('u.' + c for c in self._USER_COLUMNS.split(', '))}, "
            "s.csrf, s.expires_at FROM sessions s JOIN users u USING (username) "
            "WHERE s.sid_hash = ?", (_digest(sid),))
        if not rows or rows[0][6] <= self.clock():
            return None
        row = rows[0]
        return Session(self._user(row[:5]), row[5], datetime.fromtimestamp(row[6], UTC))

    def delete_session(self, sid: str) -> None:
        self._run("DELETE FROM sessions WHERE sid_hash = ?", (_digest(sid),))

    # -- login throttling -------------------------------------------------------------------
    def record_failure(self, *keys: str) -> None:
        now = self.clock()
        with self._lock:
            self._run("DELETE FROM login_failures WHERE at < ?", (now - 86400,))
            for key in keys:
                self._run("INSERT INTO login_failures VALUES (?, ?)", (key, now))

    def clear_failures(self, key: str) -> None:
        self._run("DELETE FROM login_failures WHERE key = ?", (key,))

    def retry_after(self, limits: Mapping[str, int], window: float) -> float:
        """Seconds until every ``key`` has fewer than its limit of failures in ``window``
        seconds (0 when a login may be tried now)."""
        now, wait = self.clock(), 0.0
        for key, limit in limits.items():
            times = [r[0] for r in self._run(
                "SELECT at FROM login_failures WHERE key = ? AND at > ? ORDER BY at",
                (key, now - window))]
            if len(times) >= limit:
                wait = max(wait, times[len(times) - limit] + window - now)
        return wait

    # -- audit log --------------------------------------------------------------------------
    def audit(self, actor: str, action: str, target: str = "",
              detail: Mapping[str, Any] | None = None) -> None:
        """Record who changed what. ``detail`` must hold no secret (callers pass field names
        and values a reader may see)."""
        self._run("INSERT INTO audit (at, actor, action, target, detail) VALUES (?, ?, ?, ?, ?)",
                  (self.clock(), actor, action, target,
                   json.dumps(dict(detail or {}), ensure_ascii=False, default=str)))

    def audit_log(self, limit: int = 200) -> list[dict[str, Any]]:
        """The newest ``limit`` entries, newest first."""
        rows = self._run("SELECT id, at, actor, action, target, detail FROM audit "
                         "ORDER BY id DESC LIMIT ?", (limit,))
        return [{"id": r[0], "at": _when(r[1]), "actor": r[2], "action": r[3],
                 "target": r[4], "detail": json.loads(r[5])} for r in rows]
