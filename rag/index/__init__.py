"""The index: the records (the ledger), a vector store and a keyword store, behind one facade.

:class:`Index` opens the three (:mod:`rag.index.base` has their interfaces) and is the one place
that writes to them together: add, move, relabel, delete, reconcile. Its write order keeps the
index repairable at every instant: vectors go to the vector store before the records list them,
and leave it before the records forget them, so a writer killed anywhere leaves at worst vectors
the records do not list (or list but the store lacks), and :meth:`Index.reconcile` removes or
re-adds them. Every write that touches the vector store withdraws the records' *in step* mark
first and restores it once both sides are written, so ``reconcile`` lists the vector store (O(index))
only after a writer that did not end; a clean history costs it two counts. Writes happen under the
writer lock (:mod:`rag.index.lock`); the keyword store follows the records
(:meth:`Index.sync_keywords`). Readers (the retriever) use ``vectors``, ``keywords`` and ``records``
directly, through their interfaces.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace

import numpy as np

from rag.index.base import FileRecord, KeywordStore, NewDocument, RecordStore, VectorStore
from rag.settings import Settings
from rag.types import AccessLabel, Chunk, Sensitivity

log = logging.getLogger(__name__)

__all__ = ["Deleted", "Index", "ReconcileReport", "open_vector_store", "private_files"]


@dataclass(frozen=True)
class ReconcileReport:
    orphan_vectors_removed: int
    documents_dropped: int
    bm25_rebuilt: bool


@dataclass(frozen=True)
class Deleted:
    """What deleting a document removed: its chunk count and the paths that mapped to it."""

    chunks: int
    paths: list[str]


def private_files(settings: Settings) -> None:
    """Embedded mode: everything this process creates (index, records, uploads, logs) is owner-only.

    The embedded index holds every document's text, whatever its label; a umask of 077 keeps other
    accounts on the machine out of it. A server deployment sets its own permissions.
    """
    if settings.index.provider == "embedded":
        os.umask(0o077)


def open_vector_store(settings: Settings) -> VectorStore:
    """The configured vector store (Chroma, embedded or a server), without the rest of the index."""
    from rag.index.chroma_store import ChromaStore

    return ChromaStore(settings.index, settings.paths)


class Index:
    """The records, the vector store and the keyword store of one installation.

    The stores are built from ``settings`` unless given: a test or another deployment hands in its
    own implementations of :mod:`rag.index.base`'s interfaces.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        records: RecordStore | None = None,
        vectors: VectorStore | None = None,
        keywords: KeywordStore | None = None,
    ) -> None:
        from rag.index.bm25_store import BM25Store
        from rag.index.records import Records

        self.settings = settings
        private_files(settings)
        self._sqlite: Records | None = None
        if records is None:
            self._sqlite = Records(settings.paths.records_db)
            records = self._sqlite
        self.records: RecordStore = records
        try:
            self.vectors: VectorStore = vectors or open_vector_store(settings)
            self.keywords: KeywordStore = keywords or BM25Store(
                settings.paths.bm25_dir, k1=settings.retrieval.bm25_k1, b=settings.retrieval.bm25_b
            )
        except BaseException:
            self.records.close()  # a Chroma server that is down must not leak the SQLite connection
            raise

    def close(self) -> None:
        self.records.close()

    def log_connection(self) -> sqlite3.Connection:
        """The database the job and query logs keep their tables in: the SQLite records' own."""
        if self._sqlite is None:
            raise TypeError("The job and query logs need the SQLite records; this index was given other records.")
        return self._sqlite.conn

    # -- writes --------------------------------------------------------------------------------------
    @contextmanager
    def _writing(self) -> Iterator[None]:
        """Around a write that touches the vector store: the in-step mark is withdrawn before it and
        restored after it, only if it held before (a mark that was already missing waits for
        :meth:`reconcile`). A writer killed or failing inside leaves the mark withdrawn."""
        in_step = self.records.in_step_generation() == self.records.generation()
        if in_step:
            self.records.mark_in_step(False)
        yield
        if in_step:
            self.records.mark_in_step(True)

    def add(self, docs: Sequence[NewDocument], vectors: np.ndarray) -> None:
        """Write documents: their vectors (one row per chunk, in order), then their records."""
        with self._writing():
            self.vectors.upsert([c for doc in docs for c in doc.chunks], vectors)
            self.records.add_documents(docs)

    def put_files(self, files: Sequence[FileRecord]) -> None:
        """Record files without touching documents (skipped, failed, or a new path of a known document)."""
        self.records.put_files(files)

    def remove_files(self, paths: Iterable[str]) -> None:
        self.records.remove_files(paths)

    def move(self, doc_id: str, source_uri: str) -> None:
        """A document's primary path changed (same bytes): the records only (vectors carry no path), nothing embedded."""
        with self._writing():
            self.records.move_document(doc_id, source_uri)

    def resensitize(self, doc_id: str, sensitivity: str) -> None:
        """Same access set, new sensitivity: metadata only."""
        chunks = self.records.get_chunks(self.records.chunk_ids_of(doc_id))
        updated = [replace(c, access=AccessLabel(c.access.groups, Sensitivity(sensitivity))) for c in chunks.values()]
        with self._writing():
            self.vectors.update_metadata(updated)
            self.records.relabel_document(doc_id, updated)

    def copy_document(
        self, source: str, make: Callable[[list[Chunk]], list[Chunk]], files: Sequence[FileRecord]
    ) -> bool:
        """Write a copy of document ``source`` whose chunks ``make`` derives from its chunks (in order),
        with the stored vectors: a relabel to another access set embeds nothing. False when the source or
        any of its vectors is missing (the caller embeds it again)."""
        source_key = self.records.document_access(source)
        fmt = self.records.document_format(source)
        ids = self.records.chunk_ids_of(source)
        if source_key is None or fmt is None or not ids:
            return False
        vectors = self.vectors.vectors(source_key, ids)
        if vectors is None:
            return False
        old = self.records.get_chunks(ids)
        chunks = make([old[cid] for cid in ids])
        self.add([NewDocument(chunks, fmt, files)], vectors)
        return True

    def delete_document(self, doc_id: str, *, forget_files: bool = False) -> Deleted:
        """Remove a document's vectors, then its records; ``forget_files`` drops its file records too."""
        key = self.records.document_access(doc_id)
        paths = self.records.doc_paths().get(doc_id, [])
        ids = self.records.chunk_ids_of(doc_id) if key is not None else []
        with self._writing():
            if key is not None:
                self.vectors.delete(key, ids)
            self.records.drop_documents([doc_id], forget_files=forget_files)
        return Deleted(len(ids), paths)

    def sync_keywords(self) -> bool:
        """Bring the keyword store to the records; True when it changed."""
        return self.keywords.sync(self.records)

    def in_step(self) -> bool:
        """Whether the last writer ended with the vector store in step with the records, and the counts
        per access set still agree (a vector store emptied or restored behind the records' back is
        listed again; ``fuente ingest --repair`` lists it whatever the mark says)."""
        if self.records.in_step_generation() != self.records.generation():
            return False
        stored = {key: n for key, n in self.vectors.counts_by_access().items() if n}
        return stored == self.records.chunk_counts_by_access()

    def reconcile(self, *, full: bool = False) -> ReconcileReport:
        """Repair what an interrupted writer left: call only while holding the writer lock.

        The vector store is listed and compared with the records only when :meth:`in_step` says the
        last writer did not end cleanly; afterwards the records are marked in step again.
        """
        if not full and self.in_step():
            return ReconcileReport(0, 0, self.sync_keywords())
        in_store = self.vectors.ids_by_access()
        recorded = self.records.chunk_ids_by_access()
        orphans = 0
        for key, ids in in_store.items():
            extra = sorted(ids - recorded.get(key, set()))
            if extra:
                self.vectors.delete(key, extra)
                orphans += len(extra)
        missing = {cid for key, ids in recorded.items() for cid in ids - in_store.get(key, set())}
        dropped = 0
        if missing:
            docs = {c.doc_id: c.access.key for c in self.records.get_chunks(sorted(missing)).values()}
            for doc_id, key in docs.items():
                self.vectors.delete(key, self.records.chunk_ids_of(doc_id))
            # Forget the files too, so the next plan adds their documents again.
            self.records.drop_documents(docs, forget_files=True)
            dropped = len(docs)
        if orphans or dropped:
            log.warning("Repaired the index: %d orphan vectors removed, %d documents to re-add", orphans, dropped)
        self.records.mark_in_step(True)
        rebuilt = self.sync_keywords()
        return ReconcileReport(orphans, dropped, rebuilt)

    # -- reads ---------------------------------------------------------------------------------------
    def health(self) -> dict[str, int | bool]:
        """Counts in the three stores; they agree when the index is whole."""
        vectors, recorded, keywords = self.vectors.count(), self.records.chunk_count(), len(self.keywords.chunk_ids())
        return {
            "documents": self.records.document_count(),
            "chunks (records)": recorded,
            "vectors (Chroma)": vectors,
            "chunks (BM25)": keywords,
            "consistent": vectors == recorded == keywords,
            "generation": self.records.generation(),
        }
