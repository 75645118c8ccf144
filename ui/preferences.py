"""Per-user settings of the app (the interface language), in the app's SQLite file ``FUENTE_HOME/app.db``.

Beside the conversations and apart from the records database, so saving a preference never
takes a lock the indexer needs.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS preferences (
    user TEXT PRIMARY KEY,
    language TEXT NOT NULL
);
"""


class Preferences:
    def __init__(self, path: Path) -> None:
        self.path = path

    def _conn(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=10, isolation_level=None)
        conn.executescript(SCHEMA)
        return conn

    def language(self, user: str) -> str | None:
        """The language ``user`` chose, or None when they follow their browser."""
        conn = self._conn()
        try:
            row = conn.execute("SELECT language FROM preferences WHERE user=?", (user,)).fetchone()
        finally:
            conn.close()
        return str(row[0]) if row else None

    def set_language(self, user: str, language: str | None) -> None:
        """Store ``user``'s language; None goes back to following the browser."""
        conn = self._conn()
        try:
            if language is None:
                conn.execute("DELETE FROM preferences WHERE user=?", (user,))
            else:
                conn.execute(
                    "INSERT INTO preferences VALUES (?, ?) ON CONFLICT(user) DO UPDATE SET language=excluded.language",
                    (user, language),
                )
        finally:
            conn.close()
