"""Ingestion jobs in SQLite: when each ran, what it did to every file, and why files were left out."""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import asdict, dataclass, field
from typing import Any

JOBS_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    job_id INTEGER PRIMARY KEY AUTOINCREMENT,
    started REAL NOT NULL,
    ended REAL,
    status TEXT NOT NULL,
    roots TEXT NOT NULL,
    dry_run INTEGER NOT NULL,
    counts TEXT NOT NULL DEFAULT '{}',
    error TEXT
);
CREATE TABLE IF NOT EXISTS job_files (
    job_id INTEGER NOT NULL REFERENCES jobs(job_id) ON DELETE CASCADE,
    path TEXT NOT NULL,
    status TEXT NOT NULL,
    chunks INTEGER NOT NULL DEFAULT 0,
    reason TEXT,
    PRIMARY KEY (job_id, path)
);
"""

FILE_STATUSES = ("added", "updated", "moved", "relabeled", "held", "unchanged", "deleted", "skipped", "failed")


@dataclass(frozen=True)
class FileOutcome:
    path: str
    status: str
    chunks: int = 0
    reason: str | None = None


@dataclass
class JobSummary:
    job_id: int
    started: float
    ended: float | None
    status: str
    roots: list[str]
    dry_run: bool
    counts: dict[str, int] = field(default_factory=dict)
    error: str | None = None
    files: list[FileOutcome] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class JobLog:
    """Writes and reads job records in the records database."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.conn.executescript(JOBS_SCHEMA)

    def start(self, roots: list[str], dry_run: bool) -> int:
        cur = self.conn.execute(
            "INSERT INTO jobs(started, status, roots, dry_run) VALUES (?, 'running', ?, ?)",
            (time.time(), json.dumps(roots), int(dry_run)),
        )
        return int(cur.lastrowid or 0)

    def record(self, job_id: int, outcomes: list[FileOutcome]) -> None:
        self.conn.executemany(
            "INSERT OR REPLACE INTO job_files VALUES (?,?,?,?,?)",
            [(job_id, o.path, o.status, o.chunks, o.reason) for o in outcomes],
        )

    def finish(self, job_id: int, status: str, counts: dict[str, int], error: str | None = None) -> None:
        self.conn.execute(
            "UPDATE jobs SET ended=?, status=?, counts=?, error=? WHERE job_id=?",
            (time.time(), status, json.dumps(counts), error, job_id),
        )

    def list(self, limit: int = 20) -> list[JobSummary]:
        rows = self.conn.execute("SELECT * FROM jobs ORDER BY job_id DESC LIMIT ?", (limit,)).fetchall()
        return [self._summary(row) for row in rows]

    def get(self, job_id: int) -> JobSummary | None:
        row = self.conn.execute("SELECT * FROM jobs WHERE job_id=?", (job_id,)).fetchone()
        if row is None:
            return None
        summary = self._summary(row)
        summary.files = [
            FileOutcome(r["path"], r["status"], r["chunks"], r["reason"])
            for r in self.conn.execute("SELECT * FROM job_files WHERE job_id=? ORDER BY path", (job_id,))
        ]
        return summary

    @staticmethod
    def _summary(row: sqlite3.Row) -> JobSummary:
        # A job still marked running whose process is gone was killed; readers see it as such.
        return JobSummary(
            job_id=row["job_id"],
            started=row["started"],
            ended=row["ended"],
            status=row["status"],
            roots=json.loads(row["roots"]),
            dry_run=bool(row["dry_run"]),
            counts=json.loads(row["counts"]),
            error=row["error"],
        )

    def mark_interrupted(self) -> None:
        """Jobs left 'running' by a killed process (called while holding the writer lock)."""
        self.conn.execute("UPDATE jobs SET status='interrupted' WHERE status='running' AND dry_run=0")
