"""The query log: every question, who asked, what was retrieved, how it was answered, and feedback."""

from __future__ import annotations

import json
import logging
import sqlite3
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # annotations only: the assistant's modules import this one
    from rag.asked import Asked
    from rag.types import Answer

log = logging.getLogger(__name__)

QUERYLOG_SCHEMA = """
CREATE TABLE IF NOT EXISTS queries (
    question_id TEXT PRIMARY KEY,
    time REAL NOT NULL,
    user TEXT,
    groups TEXT NOT NULL,
    question TEXT NOT NULL,
    standalone TEXT,
    language TEXT,
    retrieved TEXT NOT NULL,
    route TEXT,
    model TEXT,
    prompt_version TEXT,
    timings TEXT NOT NULL,
    tokens TEXT NOT NULL,
    verdict TEXT,
    refused INTEGER,
    error TEXT,
    feedback INTEGER,
    comment TEXT
);
"""


class QueryLog:
    """Appends and reads query records in the records database."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.conn.executescript(QUERYLOG_SCHEMA)

    def record_question(self, q: Asked, prompt_version: str, answer: Answer | None, error: str | None) -> None:
        """Record how question ``q`` went (``answer`` None when it failed with ``error``); never raises."""
        try:
            self.record(
                question_id=q.id,
                user=q.user.name,
                groups=sorted(q.user.groups),
                question=q.question,
                standalone=q.standalone,
                language=q.language,
                retrieved=[(h.chunk.id, round(h.score, 6)) for h in q.retrieved.chunks],
                route=q.client.name,
                model=q.client.model,
                prompt_version=prompt_version,
                timings={k: round(v, 4) for k, v in q.timings.items()},
                tokens={"prompt": q.completion.prompt_tokens, "completion": q.completion.completion_tokens},
                verdict=answer.verdict if answer else None,
                refused=answer.refused if answer else None,
                error=error,
            )
        except Exception as e:  # the log must never take the answer down with it
            log.error("could not write the query log: %s", e)

    def record(
        self,
        *,
        question_id: str,
        user: str | None,
        groups: list[str],
        question: str,
        standalone: str,
        language: str,
        retrieved: list[tuple[str, float]],
        route: str | None,
        model: str | None,
        prompt_version: str,
        timings: dict[str, float],
        tokens: dict[str, int],
        verdict: str | None,
        refused: bool | None,
        error: str | None = None,
    ) -> None:
        self.conn.execute(
            "INSERT OR REPLACE INTO queries VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,NULL,NULL)",
            (
                question_id,
                time.time(),
                user,
                json.dumps(sorted(groups)),
                question,
                standalone,
                language,
                json.dumps(retrieved),
                route,
                model,
                prompt_version,
                json.dumps(timings),
                json.dumps(tokens),
                verdict,
                None if refused is None else int(refused),
                error,
            ),
        )

    def feedback(self, question_id: str, thumbs_up: bool, comment: str | None = None) -> bool:
        cur = self.conn.execute(
            "UPDATE queries SET feedback=?, comment=? WHERE question_id=?",
            (1 if thumbs_up else -1, comment, question_id),
        )
        return cur.rowcount == 1

    def recent(self, limit: int = 20) -> list[dict[str, Any]]:
        rows = self.conn.execute("SELECT * FROM queries ORDER BY time DESC LIMIT ?", (limit,)).fetchall()
        return [dict(row) for row in rows]
