"""Conversation history per user, in the app's own SQLite file (``FUENTE_HOME/app.db``).

Kept apart from the records database so the app never takes a write lock the indexer needs.
Each turn stores the question and the answer as the page shows it (text, citations, support).
"""

from __future__ import annotations

import json
import sqlite3
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS turns (
    conversation_id TEXT NOT NULL,
    user TEXT NOT NULL,
    time REAL NOT NULL,
    question TEXT NOT NULL,
    answer TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS turns_user ON turns(user, time);
"""


@dataclass(frozen=True)
class Conversation:
    conversation_id: str
    started: float
    first_question: str
    turns: int


def new_conversation_id() -> str:
    return uuid.uuid4().hex


class Conversations:
    def __init__(self, path: Path) -> None:
        self.path = path

    def _conn(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=10, isolation_level=None)
        conn.row_factory = sqlite3.Row
        conn.executescript(SCHEMA)
        return conn

    def add(self, conversation_id: str, user: str, question: str, answer: dict[str, Any]) -> None:
        conn = self._conn()
        try:
            conn.execute(
                "INSERT INTO turns VALUES (?,?,?,?,?)",
                (conversation_id, user, time.time(), question, json.dumps(answer, ensure_ascii=False, default=str)),
            )
        finally:
            conn.close()

    def of_user(self, user: str, limit: int = 20) -> list[Conversation]:
        conn = self._conn()
        try:
            rows = conn.execute(
                "SELECT conversation_id, MIN(time) AS started, COUNT(*) AS n, "
                "(SELECT question FROM turns t2 WHERE t2.conversation_id = t.conversation_id ORDER BY time LIMIT 1) AS q "
                "FROM turns t WHERE user=? GROUP BY conversation_id ORDER BY started DESC LIMIT ?",
                (user, limit),
            ).fetchall()
        finally:
            conn.close()
        return [Conversation(r["conversation_id"], r["started"], r["q"], r["n"]) for r in rows]

    def turns(self, user: str, conversation_id: str) -> list[tuple[str, dict[str, Any]]]:
        """The turns of one of ``user``'s conversations (another user's id gives nothing)."""
        conn = self._conn()
        try:
            rows = conn.execute(
                "SELECT question, answer FROM turns WHERE user=? AND conversation_id=? ORDER BY time",
                (user, conversation_id),
            ).fetchall()
        finally:
            conn.close()
        return [(r["question"], json.loads(r["answer"])) for r in rows]
