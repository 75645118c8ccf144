"""What the Ingestion and Admin pages read about the corpus, limited to what a user may see.

Reads open their own short-lived SQLite connection (the records database is in WAL mode, so they
never block the writer). A user only ever gets documents, file names and statistics of access
sets they may see (open to everyone, or sharing a group with them).
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ingest.jobs import JobLog, JobSummary
from rag.index import Index
from rag.records import Records, connect
from rag.settings import Settings
from rag.types import EVERYONE


def may_see(access_key: str | None, groups: frozenset[str]) -> bool:
    if access_key is None:
        return False
    return bool(set(access_key.split("+")) & (groups | {EVERYONE}))


@dataclass(frozen=True)
class DocumentRow:
    doc_id: str
    title: str
    source_uri: str
    format: str
    groups: str
    sensitivity: str
    language: str
    chunks: int
    indexed_at: float


@contextmanager
def _records(settings: Settings) -> Iterator[Any]:
    conn = connect(settings.paths.records_db)
    try:
        conn.executescript("PRAGMA query_only=ON")
        yield conn
    finally:
        conn.close()


def documents(settings: Settings, groups: frozenset[str]) -> list[DocumentRow]:
    if not settings.paths.records_db.exists():
        return []
    with _records(settings) as conn:
        try:
            rows = conn.execute("SELECT * FROM documents ORDER BY title").fetchall()
        except Exception:  # no ingestion yet: the tables do not exist
            return []
    return [
        DocumentRow(
            r["doc_id"],
            r["title"],
            r["source_uri"],
            r["format"],
            r["groups"].replace("|", ", "),
            r["sensitivity"],
            r["language"],
            r["chunk_count"],
            r["indexed_at"],
        )
        for r in rows
        if may_see(r["access_key"], groups)
    ]


def statistics(docs: list[DocumentRow]) -> dict[str, Counter[str]]:
    """Documents per group, per file type and per language (of the documents given)."""
    by_group: Counter[str] = Counter()
    for d in docs:
        for g in d.groups.split(", "):
            by_group[g] += 1
    return {
        "group": by_group,
        "type": Counter(d.format for d in docs),
        "language": Counter(d.language for d in docs),
    }


def jobs(settings: Settings, groups: frozenset[str], limit: int = 20) -> list[tuple[JobSummary, int]]:
    """Recent jobs with the files this user may see; each with how many files were hidden."""
    if not settings.paths.records_db.exists():
        return []
    conn = connect(settings.paths.records_db)
    try:
        log = JobLog(conn)
        access = {r[0]: r[1] for r in conn.execute("SELECT path, access_key FROM files")}
        out = []
        for job in log.list(limit):
            full = log.get(job.job_id)
            if full is None:
                continue
            visible = [f for f in full.files if may_see(access.get(f.path), groups)]
            hidden = len(full.files) - len(visible)
            full.files = visible
            # Roots name folders; a root holding only hidden files would leak a folder name.
            full.roots = [r for r in full.roots if any(f.path.startswith(r) for f in visible)] or ["(hidden)"]
            out.append((full, hidden))
        return out
    finally:
        conn.close()


def job_roots(settings: Settings) -> list[str]:
    """Every folder or file ingested before that still exists (what re-indexing goes over)."""
    if not settings.paths.records_db.exists():
        return []
    conn = connect(settings.paths.records_db)
    try:
        roots: set[str] = set()
        for job in JobLog(conn).list(1000):
            if not job.dry_run:
                roots.update(job.roots)
        return sorted(r for r in roots if os.path.exists(r))
    finally:
        conn.close()


def source_path(settings: Settings, source_uri: str, groups: frozenset[str]) -> Path | None:
    """The file behind a citation, when it is indexed, visible to the user and still on disk."""
    with _records(settings) as conn:
        row = conn.execute("SELECT access_key FROM files WHERE path=?", (source_uri,)).fetchone()
    if row is None or not may_see(row[0], groups):
        return None
    path = Path(source_uri)
    return path if path.is_file() else None


def delete_document(index: Index, doc_id: str) -> int:
    """Remove a document everywhere: its vectors, its chunks and file records, the keyword index.

    Call while holding the writer lock. The files stay on disk (a source folder is not ours to
    change), so a later ingestion of the same folder adds the document again unless it is removed.
    Returns how many chunks were removed.
    """
    records = index.records
    key = records.document_access(doc_id)
    if key is None:
        return 0
    ids = records.chunk_ids_of(doc_id)
    index.chroma.delete(key, ids)
    with records.transaction() as conn:
        conn.execute("DELETE FROM files WHERE doc_id=?", (doc_id,))
        Records.delete_document(conn, doc_id)
        Records.bump_generation(conn)
    index.bm25.sync(records)
    return len(ids)


def index_health(settings: Settings, index: Index) -> dict[str, Any]:
    """Counts in the three stores; they agree when the index is whole."""
    chroma = index.chroma.count()
    records = index.records.chunk_count()
    bm25 = len(index.bm25.chunk_ids())
    return {
        "documents": index.records.document_count(),
        "chunks (records)": records,
        "vectors (Chroma)": chroma,
        "chunks (BM25)": bm25,
        "consistent": chroma == records == bm25,
        "generation": index.records.generation(),
        "index provider": settings.index.provider,
    }
