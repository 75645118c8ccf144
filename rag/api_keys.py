"""API keys of the service (``fuente serve-api``, ``fuente serve-mcp``): each acts as one user.

A key is a high-entropy random token shown once when it is created. Only its sha256 is stored,
in ``FUENTE_HOME/api_keys.db`` (SQLite, mode 0600), with the user it acts as, a label, and when it
was created, last used and revoked. A stolen database therefore opens nothing; a lost key is
revoked, never recovered. The key's user (and so its groups) is looked up in the users file on
every request by the caller, so removing a user or changing their groups takes effect at once.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from rag.errors import ConfigError
from rag.settings import Settings

PREFIX = "fuente-"
"""Every key starts with it, so a key pasted in the wrong place is recognisable (and greppable)."""
_SCHEMA = """
CREATE TABLE IF NOT EXISTS api_keys (
    key_id TEXT PRIMARY KEY,
    token_sha256 TEXT NOT NULL UNIQUE,
    user TEXT NOT NULL,
    label TEXT NOT NULL DEFAULT '',
    created REAL NOT NULL,
    last_used REAL,
    revoked REAL
);
"""


@dataclass(frozen=True)
class ApiKey:
    """A stored key, without its secret."""

    key_id: str
    user: str
    label: str
    created: float
    last_used: float | None
    revoked: float | None

    @property
    def active(self) -> bool:
        return self.revoked is None


def keys_db(settings: Settings) -> Path:
    return settings.paths.resolve("api_keys.db")


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@contextmanager
def _db(settings: Settings) -> Iterator[sqlite3.Connection]:
    path = keys_db(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        # Created 0600 before SQLite writes to it: it holds hashes that open the service.
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    conn = sqlite3.connect(path, timeout=30, isolation_level=None)
    try:
        conn.execute(_SCHEMA)
        yield conn
    except sqlite3.Error as e:
        raise ConfigError(f"The API keys database {path} cannot be used ({e}); check its permissions.") from e
    finally:
        conn.close()


def _row(row: tuple[str, str, str, float, float | None, float | None]) -> ApiKey:
    return ApiKey(*row)


_COLUMNS = "key_id, user, label, created, last_used, revoked"


def create_key(settings: Settings, user: str, *, label: str = "") -> tuple[ApiKey, str]:
    """A new key for ``user``: the stored record and the token (shown once, never stored).

    The user must exist in the users file; the caller checks it (``rag.users.groups_of``).
    """
    if not user.strip():
        raise ConfigError("An API key needs a user name; pass one.")
    key_id = "k" + secrets.token_hex(4)
    token = PREFIX + secrets.token_urlsafe(32)  # 256 bits
    now = time.time()
    with _db(settings) as conn:
        conn.execute(
            "INSERT INTO api_keys (key_id, token_sha256, user, label, created) VALUES (?, ?, ?, ?, ?)",
            (key_id, token_hash(token), user, label, now),
        )
    return ApiKey(key_id, user, label, now, None, None), token


def list_keys(settings: Settings, user: str | None = None) -> list[ApiKey]:
    """Every key (or ``user``'s), oldest first, revoked ones included."""
    if not keys_db(settings).exists():
        return []
    with _db(settings) as conn:
        if user is None:
            rows = conn.execute(f"SELECT {_COLUMNS} FROM api_keys ORDER BY created").fetchall()
        else:
            rows = conn.execute(f"SELECT {_COLUMNS} FROM api_keys WHERE user = ? ORDER BY created", (user,)).fetchall()
    return [_row(r) for r in rows]


def revoke(settings: Settings, key_id_or_user: str) -> list[ApiKey]:
    """Revoke the key with this id, or else every active key of the user with this name; returns them."""
    if not keys_db(settings).exists():
        return []
    now = time.time()
    with _db(settings) as conn:
        rows = conn.execute(
            f"SELECT {_COLUMNS} FROM api_keys WHERE revoked IS NULL AND key_id = ?", (key_id_or_user,)
        ).fetchall()
        if not rows:
            rows = conn.execute(
                f"SELECT {_COLUMNS} FROM api_keys WHERE revoked IS NULL AND user = ?", (key_id_or_user,)
            ).fetchall()
        conn.executemany("UPDATE api_keys SET revoked = ? WHERE key_id = ?", [(now, r[0]) for r in rows])
    return [_row((*r[:5], now)) for r in rows]


def authenticate(settings: Settings, token: str) -> ApiKey | None:
    """The active key this token is, or None (unknown, malformed or revoked)."""
    if not token.startswith(PREFIX) or not keys_db(settings).exists():
        return None
    with _db(settings) as conn:
        row = conn.execute(
            f"SELECT {_COLUMNS} FROM api_keys WHERE token_sha256 = ? AND revoked IS NULL", (token_hash(token),)
        ).fetchone()
        if row is None:
            return None
        now = time.time()
        # Written at most once a minute per key, so a busy key does not write on every request.
        if row[4] is None or now - row[4] > 60:
            conn.execute("UPDATE api_keys SET last_used = ? WHERE key_id = ?", (now, row[0]))
    return _row(row)
