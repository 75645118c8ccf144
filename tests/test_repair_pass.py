"""The repair pass at the start of a job lists the vector store only when the last writer did not end.

A clean job leaves the records marked *in step*, and the next job skips the O(index) listing; a
writer SIGKILLed between its vector write and its records write leaves the mark withdrawn, and the
next job lists, repairs and marks again. The vector store is the real embedded Chroma, with a
counter on its id listing: the one thing these tests look at.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from ingest.jobs import JobSummary
from ingest.pipeline import Ingestor
from rag.app import build_writer
from rag.index import Index
from rag.index.chroma_store import ChromaStore
from rag.settings import REPO_ROOT, Settings
from tests.helpers import TEST_MODELS, SettingsFactory, index_state

pytestmark = pytest.mark.integration


class CountedChroma(ChromaStore):
    """The real Chroma store; it counts how often every id is listed (the repair pass's full comparison)."""

    listings = 0

    def ids_by_access(self) -> dict[str, set[str]]:
        self.listings += 1
        return super().ids_by_access()


def job(settings: Settings, embedder: object, corpus: Path, *, repair: bool = False) -> tuple[int, JobSummary]:
    """One ingestion job; how often it listed the vector store, and its summary."""
    vectors = CountedChroma(settings.index, settings.paths)
    writer = build_writer(settings, embedder=embedder, index=Index(settings, vectors=vectors))  # type: ignore[arg-type]
    try:
        summary = Ingestor(writer).run([corpus], repair=repair)
    finally:
        writer.close()
    return vectors.listings, summary


# Writes one chunk's vector, then dies by SIGKILL where the records would list it: the one window in
# which a write leaves the vector store ahead of the records.
KILLED_WRITE = """
import os, signal, sys
import numpy as np
from rag.index import Index
from rag.index.base import NewDocument
from rag.settings import load_settings
from rag.types import AccessLabel, Chunk, Sensitivity

settings = load_settings("test", environ={"FUENTE_HOME": sys.argv[1], "FUENTE__PATHS__MODELS": sys.argv[2]})
index = Index(settings)
chunk = Chunk(
    id="killed-0", doc_id="killed", text="Written to Chroma, never recorded.", ordinal=0,
    source_uri="/nowhere/killed.md", title="Killed", access=AccessLabel(frozenset({"everyone"}), Sensitivity.PUBLIC),
    language="en", modified=0.0, content_hash="killed",
)
index.records.add_documents = lambda docs: os.kill(os.getpid(), signal.SIGKILL)
vector = np.ones((1, index.vectors.dimension()), dtype=np.float32)
index.add([NewDocument([chunk], "md", [])], vector / np.linalg.norm(vector))
"""


def test_clean_jobs_skip_the_listing_and_a_killed_write_is_still_repaired(
    make_settings: SettingsFactory, embedder, small_corpus: Path
) -> None:
    settings = make_settings()
    listed, first = job(settings, embedder, small_corpus)
    assert listed == 1 and first.counts["added"] == 3  # a new index was never marked: compared once
    (small_corpus / "extra.md").write_text("# Extra\n\nLa sala de reuniones se reserva en recepción.\n")
    listed, second = job(settings, embedder, small_corpus)
    assert listed == 0 and second.counts["added"] == 1  # the first job ended cleanly: no listing

    killed = subprocess.run(
        [sys.executable, "-c", KILLED_WRITE, str(settings.paths.home), str(TEST_MODELS)], cwd=REPO_ROOT
    )
    assert killed.returncode == -signal.SIGKILL
    assert "killed-0" in index_state(settings)["chroma"]  # an orphan vector the records do not list
    index = Index(settings)
    try:
        assert index.records.in_step_generation() is None  # withdrawn before the vector was written
    finally:
        index.close()

    listed, _ = job(settings, embedder, small_corpus)
    assert listed == 1
    state = index_state(settings)
    assert "killed-0" not in state["chroma"]
    assert state["chroma"] == state["records"] == state["bm25"]
    listed, _ = job(settings, embedder, small_corpus)
    assert listed == 0
    listed, _ = job(settings, embedder, small_corpus, repair=True)  # `fuente ingest --repair`: listed anyway
    assert listed == 1


def test_a_vector_store_emptied_behind_the_records_back_is_listed_and_refilled(
    make_settings: SettingsFactory, embedder, small_corpus: Path
) -> None:
    settings = make_settings()
    job(settings, embedder, small_corpus)
    index = Index(settings)
    try:
        # Not through the facade: as if the Chroma folder were restored from an older backup.
        ids = sorted(index.vectors.ids_by_access()["everyone"])
        index.vectors.delete("everyone", ids[:2])
        assert not index.in_step()  # the mark still says in step; the counts do not
    finally:
        index.close()
    listed, summary = job(settings, embedder, small_corpus)
    assert listed == 1 and summary.counts["added"] >= 1  # the documents that lost vectors come back
    state = index_state(settings)
    assert state["chroma"] == state["records"] == state["bm25"] and set(ids) <= state["records"]
