"""Every evaluation run, kept: SQLite under FUENTE_HOME (``eval.db``).

A run is one contender over one dataset: its config snapshot, the git commit, the dataset's hash,
when it started and finished, and one row per question (question, answer, citations, retrieved
sources, judge verdicts, metrics, timings, tokens, cost) stored as JSON.

Readers (the CLI, the Streamlit Evaluation page, :mod:`eval.compare`) use three read-only calls:
:meth:`RunStore.list_runs`, :meth:`RunStore.get_run` and :meth:`RunStore.rows`. NaN ("could not
judge") is kept as NaN through the JSON round trip (Python's json writes and reads it).
"""

from __future__ import annotations

import json
import math
import sqlite3
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eval.errors import EvalError
from rag.settings import REPO_ROOT, Settings

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    contender TEXT NOT NULL,
    dataset TEXT NOT NULL,
    dataset_hash TEXT NOT NULL,
    git_commit TEXT,
    config TEXT NOT NULL,
    started REAL NOT NULL,
    finished REAL,
    status TEXT NOT NULL,
    n_questions INTEGER NOT NULL DEFAULT 0,
    summary TEXT NOT NULL DEFAULT '{}',
    note TEXT
);
CREATE TABLE IF NOT EXISTS rows (
    run_id TEXT NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    question_id TEXT NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (run_id, question_id)
);
CREATE INDEX IF NOT EXISTS runs_started ON runs(started);
"""


class RunNotFound(EvalError):
    """No stored run matches the id (or prefix, or contender name) asked for."""


@dataclass(frozen=True)
class RunInfo:
    """One stored run, without its rows.

    Attributes:
        run_id: a 32-hex id; any unique prefix finds it.
        contender: the contender's name (``local``, ``cloud``...).
        dataset: what was evaluated (a path or a dataset name).
        dataset_hash: sha256 of the dataset file's bytes.
        git_commit: the commit of the code that ran (``+dirty`` when the tree had changes), or None.
        config: the settings snapshot the contender ran with, plus the contender's own fields.
        started, finished: Unix times; ``finished`` is None while running or after a crash.
        status: ``running``, ``done`` or ``failed``.
        n_questions: rows stored so far.
        summary: aggregate metrics written when the run finished.
        note: free text (the failure, say).
    """

    run_id: str
    contender: str
    dataset: str
    dataset_hash: str
    git_commit: str | None
    config: dict[str, Any]
    started: float
    finished: float | None
    status: str
    n_questions: int
    summary: dict[str, Any]
    note: str | None = None

    @property
    def short_id(self) -> str:
        return self.run_id[:8]


def git_commit(repo: Path = REPO_ROOT) -> str | None:
    """The current commit, suffixed ``+dirty`` when tracked files changed; None outside a git checkout."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=repo,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return head + ("+dirty" if dirty else "") if head else None


def _dumps(value: Any) -> str:
    # allow_nan: NaN means "could not judge" and must survive the round trip.
    return json.dumps(value, ensure_ascii=False, allow_nan=True, default=_default)


def _default(value: Any) -> Any:
    if isinstance(value, set | frozenset | tuple):
        return sorted(value) if isinstance(value, set | frozenset) else list(value)
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot store {type(value).__name__} in a run row")


class RunStore:
    """The runs of one installation. Open one per process (or per page); close it when done."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.conn = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA foreign_keys=ON")
            self.conn.executescript(SCHEMA)
        except sqlite3.Error as e:
            raise EvalError(
                f"Cannot open the evaluation store {path} ({e}); check that FUENTE_HOME is writable."
            ) from e
        self.conn.row_factory = sqlite3.Row

    @classmethod
    def from_settings(cls, settings: Settings) -> RunStore:
        return cls(settings.paths.resolve("eval.db"))

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> RunStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    # -- writing -------------------------------------------------------------------------------
    def start_run(
        self,
        *,
        contender: str,
        dataset: str,
        dataset_hash: str,
        config: dict[str, Any],
        commit: str | None = None,
    ) -> str:
        """Record a new run as ``running`` and return its id."""
        run_id = uuid.uuid4().hex
        with self._tx() as c:
            c.execute(
                "INSERT INTO runs(run_id, contender, dataset, dataset_hash, git_commit, config, started, status) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, 'running')",
                (run_id, contender, dataset, dataset_hash, commit, _dumps(config), time.time()),
            )
        return run_id

    def add_row(self, run_id: str, row: dict[str, Any]) -> None:
        """Store one question's row (it must have ``question_id``); a repeat replaces the earlier row."""
        qid = str(row["question_id"])
        with self._tx() as c:
            position = c.execute("SELECT COUNT(*) FROM rows WHERE run_id=?", (run_id,)).fetchone()[0]
            c.execute(
                "INSERT INTO rows(run_id, position, question_id, data) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(run_id, question_id) DO UPDATE SET data=excluded.data",
                (run_id, position, qid, _dumps(row)),
            )
            c.execute("UPDATE runs SET n_questions=(SELECT COUNT(*) FROM rows WHERE run_id=?) WHERE run_id=?",
                      (run_id, run_id))  # fmt: skip

    def finish_run(
        self, run_id: str, *, summary: dict[str, Any], status: str = "done", note: str | None = None
    ) -> None:
        with self._tx() as c:
            c.execute(
                "UPDATE runs SET finished=?, status=?, summary=?, note=? WHERE run_id=?",
                (time.time(), status, _dumps(summary), note, run_id),
            )

    def delete_run(self, run_id: str) -> None:
        full = self.get_run(run_id).run_id
        with self._tx() as c:
            c.execute("DELETE FROM runs WHERE run_id=?", (full,))

    # -- reading (what the UI uses) ------------------------------------------------------------
    def list_runs(self, *, contender: str | None = None, limit: int | None = None) -> list[RunInfo]:
        """Runs, newest first, optionally of one contender."""
        sql = "SELECT * FROM runs"
        args: list[Any] = []
        if contender is not None:
            sql += " WHERE contender=?"
            args.append(contender)
        sql += " ORDER BY started DESC"
        if limit is not None:
            sql += " LIMIT ?"
            args.append(limit)
        return [self._info(r) for r in self.conn.execute(sql, args)]

    def get_run(self, ref: str) -> RunInfo:
        """A run by id, unique id prefix, or contender name (its newest finished run).

        Raises:
            RunNotFound: nothing matches, or a prefix matches several runs.
        """
        ref = ref.strip()
        found = self.conn.execute(
            "SELECT * FROM runs WHERE run_id LIKE ? ORDER BY started DESC", (ref + "%",)
        ).fetchall()
        if len(found) > 1 and ref:
            raise RunNotFound(f"Run id {ref!r} matches {len(found)} runs; give more of its characters.")
        if not found:
            found = self.conn.execute(
                "SELECT * FROM runs WHERE contender=? ORDER BY (status='done') DESC, started DESC LIMIT 1", (ref,)
            ).fetchall()
        if not found:
            raise RunNotFound(f"No evaluation run {ref!r}; `fuente eval list` shows the stored runs.")
        return self._info(found[0])

    def rows(self, run_id: str) -> list[dict[str, Any]]:
        """The per-question rows of a run, in the order they were asked.

        Each row holds at least: ``question_id``, ``question``, ``language``, ``answerable``,
        ``groups``, ``tags``, ``answer`` (the text shown), ``generated_text``, ``refused``,
        ``verdict``, ``citations``, ``retrieved``, ``metrics`` (name -> float, NaN = could not
        judge; a metric that does not apply is absent), ``judge`` (name -> mean/spread/passes),
        ``timings``, ``tokens``, ``cost`` and ``error`` (None when the question was answered).
        """
        full = self.get_run(run_id).run_id
        return [
            json.loads(r[0])
            for r in self.conn.execute("SELECT data FROM rows WHERE run_id=? ORDER BY position", (full,))
        ]

    @staticmethod
    def _info(row: sqlite3.Row) -> RunInfo:
        return RunInfo(
            run_id=row["run_id"],
            contender=row["contender"],
            dataset=row["dataset"],
            dataset_hash=row["dataset_hash"],
            git_commit=row["git_commit"],
            config=json.loads(row["config"]),
            started=row["started"],
            finished=row["finished"],
            status=row["status"],
            n_questions=row["n_questions"],
            summary=json.loads(row["summary"]),
            note=row["note"],
        )


def is_nan(value: Any) -> bool:
    return isinstance(value, float) and math.isnan(value)
