"""The index: Chroma for dense vectors, bm25s for keywords, SQLite records as the ledger.

:class:`Index` opens the three together and keeps them consistent: :meth:`Index.reconcile`
makes Chroma and BM25 hold exactly the chunks the records list, which is how an ingestion
killed at any point is repaired by the next one.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

from rag.index.bm25_store import BM25Store
from rag.index.chroma_store import ChromaStore
from rag.records import Records
from rag.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReconcileReport:
    orphan_vectors_removed: int
    documents_dropped: int
    bm25_rebuilt: bool


def private_files(settings: Settings) -> None:
    """Embedded mode: everything this process creates (index, records, uploads, logs) is owner-only.

    The embedded index holds every document's text, whatever its label; a umask of 077 keeps other
    accounts on the machine out of it. A server deployment sets its own permissions.
    """
    if settings.index.provider == "embedded":
        os.umask(0o077)


class Index:
    """The records, the vector store and the keyword index of one installation."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        private_files(settings)
        self.records = Records(settings.paths.records_db)
        try:
            self.chroma = ChromaStore(settings.index, settings.paths)
            self.bm25 = BM25Store(settings.paths.bm25_dir)
        except BaseException:
            self.records.close()  # a Chroma server that is down must not leak the SQLite connection
            raise

    def close(self) -> None:
        self.records.close()

    def reconcile(self) -> ReconcileReport:
        """Repair what an interrupted writer left: call only while holding the writer lock."""
        in_chroma = self.chroma.ids_by_access()
        recorded = self.records.chunk_ids_by_access()
        orphans = 0
        for key, ids in in_chroma.items():
            extra = sorted(ids - recorded.get(key, set()))
            if extra:
                self.chroma.delete(key, extra)
                orphans += len(extra)
        missing = {cid for key, ids in recorded.items() for cid in ids - in_chroma.get(key, set())}
        dropped = 0
        if missing:
            docs = {c.doc_id: c.access.key for c in self.records.get_chunks(sorted(missing)).values()}
            for doc_id, key in docs.items():
                self.chroma.delete(key, self.records.chunk_ids_of(doc_id))
            with self.records.transaction() as conn:
                for doc_id in docs:
                    # Forget the files too, so the next plan adds their documents again.
                    conn.execute("DELETE FROM files WHERE doc_id=?", (doc_id,))
                    Records.delete_document(conn, doc_id)
                Records.bump_generation(conn)
            dropped = len(docs)
        if orphans or dropped:
            log.warning("Repaired the index: %d orphan vectors removed, %d documents to re-add", orphans, dropped)
        rebuilt = self.bm25.sync(self.records)
        return ReconcileReport(orphans, dropped, rebuilt)
