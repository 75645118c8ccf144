"""The index's three parts, as small typed interfaces.

:class:`rag.index.Index` composes one of each: the records (the ledger, source of truth), the
vector store and the keyword store, both derived from the records. The retriever reads through
these interfaces and the ingestion pipeline writes through the facade, so another backend (the
records and the keyword store served by a database server, say) plugs in by implementing them,
without touching either. Today's implementations: :class:`rag.index.records.Records` (SQLite),
:class:`rag.index.chroma_store.ChromaStore` (embedded or ``chroma run``) and
:class:`rag.index.bm25_store.BM25Store` (segments on disk).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from rag.types import Chunk


@dataclass(frozen=True)
class FileRecord:
    """A file as the records know it: its bytes, its label, the document it maps to, its status."""

    path: str
    size: int
    mtime_ns: int
    content_hash: str
    access_key: str
    doc_id: str | None
    status: str
    """indexed, skipped or failed."""
    reason: str | None


@dataclass(frozen=True)
class DocumentRecord:
    """One indexed document, as the app's corpus views list it."""

    doc_id: str
    title: str
    source_uri: str
    format: str
    access_key: str
    groups: tuple[str, ...]
    sensitivity: str
    language: str
    chunks: int
    indexed_at: float


@dataclass(frozen=True)
class NewDocument:
    """A document to write: its chunks (in order), its format, and the files that map to it."""

    chunks: list[Chunk]
    fmt: str
    files: Sequence[FileRecord]


class RecordStore(Protocol):
    """The ledger: files, documents and chunks, and a generation bumped whenever the chunk set changes.

    Every write is one transaction; the vector and keyword stores are reconciled against it.
    """

    def close(self) -> None: ...

    def generation(self) -> int: ...

    def in_step_generation(self) -> int | None: ...

    def mark_in_step(self, in_step: bool) -> None: ...

    # -- files -------------------------------------------------------------------------------------
    def files_under(self, roots: Iterable[str]) -> dict[str, FileRecord]: ...

    def doc_paths(self) -> dict[str, list[str]]: ...

    def access_keys_by_hash(self) -> dict[str, set[str]]: ...

    def indexed_file(self, path: str) -> FileRecord | None: ...

    def file_access(self) -> dict[str, str]: ...

    # -- documents and chunks ----------------------------------------------------------------------
    def doc_ids(self) -> set[str]: ...

    def documents(self) -> list[DocumentRecord]: ...

    def doc_sensitivity(self) -> dict[str, str]: ...

    def document_format(self, doc_id: str) -> str | None: ...

    def document_access(self, doc_id: str) -> str | None: ...

    def access_keys(self) -> set[str]: ...

    def chunk_ids_by_access(self) -> dict[str, set[str]]: ...

    def chunk_ids_of(self, doc_id: str) -> list[str]: ...

    def chunk_texts(self) -> tuple[list[str], list[str], list[str]]: ...

    def get_chunks(self, chunk_ids: list[str]) -> dict[str, Chunk]: ...

    def chunk_count(self) -> int: ...

    def chunk_counts_by_access(self) -> dict[str, int]: ...

    def document_count(self) -> int: ...

    def languages(self) -> set[str]: ...

    # -- writes ------------------------------------------------------------------------------------
    def add_documents(self, docs: Sequence[NewDocument]) -> None: ...

    def put_files(self, files: Sequence[FileRecord]) -> None: ...

    def remove_files(self, paths: Iterable[str]) -> None: ...

    def drop_documents(self, doc_ids: Iterable[str], *, forget_files: bool) -> None: ...

    def move_document(self, doc_id: str, source_uri: str) -> None: ...

    def relabel_document(self, doc_id: str, chunks: list[Chunk]) -> None: ...


class VectorStore(Protocol):
    """Dense vectors, partitioned by access set; scores are cosine similarities (higher is better)."""

    def access_keys(self) -> list[str]: ...

    def upsert(self, chunks: list[Chunk], vectors: np.ndarray) -> None: ...

    def delete(self, access_key: str, ids: list[str]) -> None: ...

    def vectors(self, access_key: str, ids: list[str]) -> np.ndarray | None: ...

    def update_metadata(self, chunks: list[Chunk]) -> None: ...

    def ids_by_access(self) -> dict[str, set[str]]: ...

    def counts_by_access(self) -> dict[str, int]: ...

    def dimension(self) -> int | None: ...

    def count(self) -> int: ...

    def query(self, vector: np.ndarray, access_keys: list[str], k: int) -> list[tuple[str, float]]: ...


class KeywordStore(Protocol):
    """Keyword search over exactly the chunks in the records, searched per access set."""

    def sync(self, records: RecordStore) -> bool: ...

    def chunk_ids(self) -> set[str]: ...

    def chunk_count(self) -> int: ...

    def search(self, query: str, access_keys: list[str], k: int) -> list[tuple[str, float]]: ...
