"""What the Ingestion and Admin pages read about the corpus, limited to what a user may see.

Reads open the records read-only for a moment (the records database is in WAL mode, so they never
block the writer). A user only ever gets documents, file names and statistics of access sets they
may see (open to everyone, or sharing a group with them).
"""

from __future__ import annotations

import hashlib
import os
import re
import sqlite3
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ingest.access import AccessResolver
from ingest.errors import FileRejected
from ingest.jobs import JobLog, JobSummary
from ingest.pipeline import access_sources, fence, sha256_path, uploads_dir
from ingest.scan import real
from rag.errors import ConfigError
from rag.index import Index
from rag.index.records import Records, chunk_meta
from rag.settings import Settings, check_group_name
from rag.types import EVERYONE, Sensitivity


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
def _records(settings: Settings) -> Iterator[Records]:
    with Records(settings.paths.records_db, read_only=True) as records:
        yield records


def documents(settings: Settings, groups: frozenset[str]) -> list[DocumentRow]:
    if not settings.paths.records_db.exists():
        return []
    with _records(settings) as records:
        try:
            rows = records.documents()
        except sqlite3.OperationalError:  # no ingestion yet: the tables do not exist
            return []
    return [
        DocumentRow(
            r.doc_id,
            r.title,
            r.source_uri,
            r.format,
            ", ".join(r.groups),
            r.sensitivity,
            r.language,
            r.chunks,
            r.indexed_at,
        )  # fmt: skip
        for r in rows
        if may_see(r.access_key, groups)
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
    with Records(settings.paths.records_db) as records:
        log = JobLog(records.conn)
        access = records.file_access()
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


def job_roots(settings: Settings) -> list[str]:
    """Every folder or file ingested before that still exists (what re-indexing goes over)."""
    if not settings.paths.records_db.exists():
        return []
    with Records(settings.paths.records_db) as records:
        roots: set[str] = set()
        for job in JobLog(records.conn).list(1000):
            if not job.dry_run:
                roots.update(job.roots)
        return sorted(r for r in roots if os.path.exists(r))


def source_path(settings: Settings, source_uri: str, groups: frozenset[str]) -> Path | None:
    """The file behind a citation, when the user may see it now and its bytes are the ones indexed.

    Both labels must let the user in: the one it was indexed with and the one its access files give
    it now (a folder relabeled since the last ingestion is not downloadable by its old readers), and
    the file must still hold the indexed bytes (a file rewritten since is not served under the old label).
    """
    with _records(settings) as records:
        row = records.indexed_file(source_uri)
    if row is None or not may_see(row.access_key, groups):
        return None
    path = Path(source_uri)
    if not path.is_file() or real(path) != path or fence(settings).refuses(path):
        return None
    try:
        if not _label_admits(settings, path, groups):
            return None
        st = path.stat()
        # Unchanged size and mtime: the indexed bytes (as ingestion trusts them); otherwise compare the hash.
        if (st.st_size, st.st_mtime_ns) != (row.size, row.mtime_ns) and sha256_path(path) != row.content_hash:
            return None
    except (FileRejected, OSError):
        return None
    return path


def _label_admits(settings: Settings, path: Path, groups: frozenset[str]) -> bool:
    """Whether the label the access files give ``path`` now lets ``groups`` in.

    Raises:
        FileRejected, OSError: the file cannot be labelled (outside every source, unreadable).
    """
    resolver = AccessResolver(
        settings.access, sources=access_sources(settings), known_roots=[Path(r) for r in job_roots(settings)]
    )
    return resolver.label_for(path).visible_to(groups)


@dataclass(frozen=True)
class CitedChunk:
    """The indexed text a citation points to, with what the source viewer needs to show it."""

    chunk_id: str
    text: str
    title: str
    source_uri: str
    format: str
    page: int | None
    part: str | None
    section: str
    kind: str


def cited_chunk(settings: Settings, chunk_id: str, groups: frozenset[str]) -> CitedChunk | None:
    """The chunk behind a citation, when the user may see its document now; else None.

    Its indexed label must let the user in (as retrieval's does), and so must the label its access
    files give the file now, while the file exists: a folder relabeled since the last ingestion shows
    nothing to its old readers. A chunk no longer indexed (its document changed or was deleted) is None.
    """
    if not settings.paths.records_db.exists():
        return None
    with _records(settings) as records:
        chunk = records.get_chunks([chunk_id]).get(chunk_id)
        fmt = records.document_format(chunk.doc_id) if chunk is not None else None
    if chunk is None or not may_see(chunk.access.key, groups):
        return None
    path = Path(chunk.source_uri)
    try:
        if path.is_file() and not _label_admits(settings, path, groups):
            return None
    except (FileRejected, OSError):
        return None
    return CitedChunk(
        chunk_id,
        chunk.text,
        chunk.title,
        chunk.source_uri,
        fmt or "",
        int(chunk.page) if chunk.page is not None else None,
        chunk.part,
        " > ".join(chunk.section),
        chunk.kind.value,
    )


def chunk_places(settings: Settings, chunk_ids: list[str], groups: frozenset[str]) -> dict[str, dict[str, Any]]:
    """Where each chunk is in its document (page, slide, sheet, part, section), for the chunks of
    ``chunk_ids`` the user may see; the chat shows them in the interface language."""
    if not chunk_ids or not settings.paths.records_db.exists():
        return {}
    with _records(settings) as records:
        chunks = records.get_chunks(list(dict.fromkeys(chunk_ids)))
    keep = ("page", "slide", "sheet", "part", "section")
    out: dict[str, dict[str, Any]] = {}
    for chunk_id, chunk in chunks.items():
        if may_see(chunk.access.key, groups):
            meta = chunk_meta(chunk)
            out[chunk_id] = {k: meta[k] for k in keep if meta.get(k) not in (None, "")}
    return out


def delete_document(index: Index, doc_id: str) -> int:
    """Remove a document everywhere: its vectors, its chunks and file records, the keyword index.

    Call while holding the writer lock. The files stay on disk (a source folder is not ours to
    change), so a later ingestion of the same folder adds the document again unless it is removed.
    Returns how many chunks were removed.
    """
    if index.records.document_access(doc_id) is None:
        return 0
    deleted = index.delete_document(doc_id, forget_files=True)
    index.sync_keywords()
    # An uploaded file is ours: remove it, so no later upload or re-index brings the document back.
    uploads = real(uploads_dir(index.settings))
    for path in deleted.paths:
        if Path(path).is_relative_to(uploads):
            Path(path).unlink(missing_ok=True)
    return deleted.chunks


def upload_folder(settings: Settings, groups: list[str], sensitivity: str) -> Path:
    """The uploads folder of one access label, with its access file (rewritten if it differs).

    Raises:
        ConfigError: no group, an invalid group name or an unknown sensitivity.
    """
    if not groups:
        raise ConfigError("Choose at least one group (or everyone) for the uploaded files.")
    try:
        names = sorted({check_group_name(g) for g in groups})
        level = Sensitivity(sensitivity).value
    except ValueError as e:
        raise ConfigError(f"Invalid label for the upload: {e}.") from e
    digest = hashlib.sha256(f"{'+'.join(names)}\0{level}".encode()).hexdigest()[:8]
    name = re.sub(r"[^a-z0-9_-]", "_", "_".join(names).lower())[:60] + f"-{level}-{digest}"
    folder = uploads_dir(settings) / name
    folder.mkdir(parents=True, exist_ok=True)
    sidecar = folder / settings.access.sidecar
    text = yaml.safe_dump({"groups": names, "sensitivity": level})
    if not sidecar.exists() or sidecar.read_text(encoding="utf-8") != text:
        sidecar.write_text(text, encoding="utf-8")
    return folder


def safe_upload_name(name: str, sidecar: str = "_access.yaml") -> str | None:
    base = Path(name).name
    return None if not base or base.startswith(".") or base == sidecar else base


def save_uploads(
    settings: Settings, files: list[tuple[str, bytes]], groups: list[str], sensitivity: str
) -> tuple[list[Path], list[str]]:
    """Write uploaded files under their label's folder: the paths written (to ingest, and only those)
    and the names refused (hidden or reserved)."""
    folder = upload_folder(settings, groups, sensitivity)
    written, refused = [], []
    for name, data in files:
        safe = safe_upload_name(name, settings.access.sidecar)
        if safe is None:
            refused.append(name)
            continue
        (folder / safe).write_bytes(data)
        written.append(folder / safe)
    return written, refused


def index_health(settings: Settings, index: Index) -> dict[str, Any]:
    """Counts in the three stores; they agree when the index is whole."""
    return {**index.health(), "index provider": settings.index.provider}
