"""The egress log: one row for every call that sent document text to a cloud model.

It lives in the records database (``settings.paths.records_db``), table ``egress``. A row says
which chunks left, for which question, to which model and endpoint, when, and how many values of
each kind were redacted first. It never holds the values themselves, nor the text that was sent, only the
SHA-256 of the exact request body (model, messages, options), so an auditor holding a copy of a
request can prove whether it is the one that left: the log must be safe to show to anyone who may
audit it.
"""

from __future__ import annotations

import builtins
import hashlib
import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from urllib.parse import urlsplit, urlunsplit

from rag.settings import Settings
from rag.sqlite import connect

SCHEMA = """
CREATE TABLE IF NOT EXISTS egress (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    time REAL NOT NULL,
    question_id TEXT NOT NULL,
    endpoint TEXT NOT NULL,
    model TEXT NOT NULL,
    chunk_ids TEXT NOT NULL,
    redactions TEXT NOT NULL,
    payload_sha256 TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS egress_question ON egress(question_id);
"""


@dataclass(frozen=True)
class EgressEntry:
    """One cloud call as recorded."""

    time: float
    """Seconds since the epoch (UTC)."""
    question_id: str
    endpoint: str
    model: str
    chunk_ids: tuple[str, ...]
    redactions: dict[str, int] = field(default_factory=dict, hash=False)
    """Placeholder kind (EMAIL, PHONE, IBAN, CARD, DNI, NIE) -> values replaced, over all chunks."""
    payload_sha256: str = ""
    """SHA-256 of the request's messages as sent (see :func:`payload_digest`); empty in rows from before it."""


def payload_digest(payload: object) -> str:
    """SHA-256 of a request body as canonical JSON (sorted keys, UTF-8), the form the log records."""
    body = json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def safe_endpoint(url: str) -> str:
    """The endpoint without credentials or query string, which may carry keys."""
    parts = urlsplit(url)
    if not parts.scheme or not parts.netloc:
        return url
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = host if parts.port is None else f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


class EgressLog:
    """Append-only log of cloud calls in the records database. One instance per process."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.conn = connect(path)
        self.conn.executescript(SCHEMA)
        columns = {row[1] for row in self.conn.execute("PRAGMA table_info(egress)")}
        if "payload_sha256" not in columns:  # a log written before the digest was recorded
            self.conn.execute("ALTER TABLE egress ADD COLUMN payload_sha256 TEXT NOT NULL DEFAULT ''")

    @classmethod
    def from_settings(cls, settings: Settings) -> EgressLog:
        return cls(settings.paths.records_db)

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> EgressLog:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def record(
        self,
        *,
        question_id: str,
        endpoint: str,
        model: str,
        chunk_ids: Sequence[str],
        redactions: Mapping[str, int],
        payload_sha256: str = "",
        at: float | None = None,
    ) -> EgressEntry:
        """Write one cloud call; call it before the request goes out, so a crash cannot hide one.

        Args:
            question_id: the id the answer is recorded under.
            endpoint: the cloud base URL (credentials and query strings are stripped).
            model: the model name sent in the request.
            chunk_ids: ids of the chunks whose (redacted) text is in the request.
            redactions: counts per placeholder kind, e.g. ``rag.pii.total_counts(...)``.
            payload_sha256: :func:`payload_digest` of what is sent.
            at: the time to record (now when None).
        """
        entry = EgressEntry(
            time=time.time() if at is None else at,
            question_id=question_id,
            endpoint=safe_endpoint(endpoint),
            model=model,
            chunk_ids=tuple(chunk_ids),
            redactions={k: int(v) for k, v in sorted(redactions.items()) if v},
            payload_sha256=payload_sha256,
        )
        self.conn.execute(
            "INSERT INTO egress(time, question_id, endpoint, model, chunk_ids, redactions, payload_sha256) "
            "VALUES (?,?,?,?,?,?,?)",
            (
                entry.time,
                entry.question_id,
                entry.endpoint,
                entry.model,
                json.dumps(list(entry.chunk_ids)),
                json.dumps(entry.redactions, sort_keys=True),
                entry.payload_sha256,
            ),
        )
        return entry

    def list(self, limit: int = 100, *, question_id: str | None = None) -> builtins.list[EgressEntry]:
        """The most recent entries first, at most ``limit``, optionally for one question."""
        where, params = ("WHERE question_id = ?", [question_id]) if question_id is not None else ("", [])
        rows = self.conn.execute(
            f"SELECT time, question_id, endpoint, model, chunk_ids, redactions, payload_sha256 FROM egress {where} "
            "ORDER BY id DESC LIMIT ?",
            (*params, limit),
        ).fetchall()
        return [
            EgressEntry(
                time=row["time"],
                question_id=row["question_id"],
                endpoint=row["endpoint"],
                model=row["model"],
                chunk_ids=tuple(json.loads(row["chunk_ids"])),
                redactions=dict(json.loads(row["redactions"])),
                payload_sha256=row["payload_sha256"],
            )
            for row in rows
        ]
