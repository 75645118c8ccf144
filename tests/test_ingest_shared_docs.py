"""`fuente ingest` over the real documents in ../shared/data/docs (read-only; copied to tmp to edit)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ingest.pipeline import sha256_path
from tests.helpers import SettingsFactory, chunks_of, index_state, ingest, require_shared

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_every_shared_document_is_ingested_or_skipped_with_a_reason(
    make_settings: SettingsFactory,
    embedder,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    docs = tmp_path / "docs"
    shutil.copytree(require_shared("docs"), docs)
    settings = make_settings()
    first = ingest(settings, embedder, docs)
    files = sorted(str(p) for p in docs.rglob("*") if p.is_file())
    outcomes = {f.path: f for f in first.files}
    assert sorted(outcomes) == files
    assert {f.status for f in first.files} <= {"added", "skipped"}, [f for f in first.files if f.status == "failed"]
    for f in first.files:
        if f.status == "skipped":
            assert f.reason and f.reason.endswith("."), f
    # Every added file has chunks, except a byte-identical copy of one that has them (one document, two paths).
    with_chunks = {sha256_path(Path(f.path)) for f in first.files if f.status == "added" and f.chunks > 0}
    for f in first.files:
        if f.status == "added" and f.chunks == 0:
            assert sha256_path(Path(f.path)) in with_chunks, f
    assert with_chunks and sum(f.chunks for f in first.files) == first.counts["chunks_embedded"]
    skipped = {Path(p).name for p, f in outcomes.items() if f.status == "skipped"}
    assert {"password.pdf", "password_protected.xlsx", "empty.txt", "fake-encrypted.eml"} <= skipped

    second = ingest(settings, embedder, docs)
    assert second.counts["chunks_embedded"] == 0 and second.counts["added"] == 0

    victim = docs / "unstructured" / "docx-tables.docx"
    gone = chunks_of(settings, victim)
    before = index_state(settings)["records"]
    victim.unlink()
    third = ingest(settings, embedder, docs)
    assert third.counts["deleted"] == 1 and third.counts["chunks_embedded"] == 0
    after = index_state(settings)
    assert after["records"] == before - gone
    assert after["chroma"] == after["bm25"] == after["records"]
