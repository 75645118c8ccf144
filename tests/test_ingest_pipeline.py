"""Ingestion end to end: real parsers, the real packaged embedding model, real embedded Chroma, bm25s."""

from __future__ import annotations

import os
import shutil
import zipfile
from pathlib import Path

import pytest

from ingest.pipeline import Ingestor
from rag.app import build_writer
from rag.embedders import SentenceTransformerEmbedder
from rag.index import Index
from tests.helpers import SettingsFactory, chunks_of, index_state, ingest

pytestmark = pytest.mark.integration


def test_sample_corpus_is_indexed_consistently(make_settings: SettingsFactory, embedder, corpus: Path) -> None:
    settings = make_settings()
    summary = ingest(settings, embedder, corpus)
    files = [p for p in corpus.rglob("*") if p.is_file() and p.name != "_access.yaml"]
    assert summary.counts["added"] == len(files), [f for f in summary.files if f.status != "added"]
    assert summary.counts["failed"] == 0 and summary.counts["skipped"] == 0
    state = index_state(settings)
    assert state["chroma"] == state["bm25"] == state["records"]
    assert len(state["records"]) == summary.counts["chunks_embedded"] > len(files)


def test_access_labels_reach_every_chunk(make_settings: SettingsFactory, embedder, corpus: Path) -> None:
    settings = make_settings()
    ingest(settings, embedder, corpus)
    index = Index(settings)
    try:
        assert set(index.vectors.access_keys()) == {"everyone", "rrhh", "direccion+finanzas"}
        rrhh = index.records.get_chunks(sorted(index.records.chunk_ids_by_access()["rrhh"]))
        assert rrhh and all("/rrhh/" in c.source_uri for c in rrhh.values())
        assert {c.access.sensitivity.value for c in rrhh.values()} == {"confidential"}
        coll = index.vectors._collection("rrhh", create=False)
        got = coll.get(where={"g_rrhh": True}, include=["metadatas"])
        assert len(got["ids"]) == len(rrhh)
        assert all(m["groups"] == "|rrhh|" for m in got["metadatas"])
        # The rrhh documents are Spanish; language is detected per chunk (tables may be undetermined).
        assert [c.language for c in rrhh.values()].count("es") > len(rrhh) / 2
        # BM25 keeps the same access sets: a keyword search limited to `everyone` finds no rrhh chunk.
        hits = index.keywords.search("bandas salariales nómina", ["everyone"], k=20)
        assert not set(cid for cid, _ in hits) & set(rrhh)
        assert set(cid for cid, _ in index.keywords.search("bandas salariales", ["rrhh"], k=5)) <= set(rrhh)
    finally:
        index.close()


def test_second_run_embeds_and_writes_nothing(make_settings: SettingsFactory, embedder, corpus: Path) -> None:
    settings = make_settings()
    ingest(settings, embedder, corpus)
    index = Index(settings)
    generation = index.records.generation()
    index.close()
    chroma_files = {p: p.stat().st_mtime_ns for p in settings.paths.chroma_dir.rglob("*") if p.is_file()}

    def failing_embedder() -> SentenceTransformerEmbedder:
        raise AssertionError("an unchanged corpus must not even load the embedding model")

    writer = build_writer(settings, embedder=failing_embedder)
    try:
        summary = Ingestor(writer).run([corpus])
        assert writer.index.records.generation() == generation
    finally:
        writer.close()
    assert summary.counts["chunks_embedded"] == 0
    assert summary.counts["added"] == summary.counts["updated"] == summary.counts["deleted"] == 0
    assert summary.counts["unchanged"] > 0
    after = {p: p.stat().st_mtime_ns for p in settings.paths.chroma_dir.rglob("*") if p.is_file()}
    assert after == chroma_files


def test_deleting_a_file_removes_exactly_its_chunks(make_settings: SettingsFactory, embedder, corpus: Path) -> None:
    settings = make_settings()
    ingest(settings, embedder, corpus)
    victim = corpus / "internal" / "politica_viajes.md"
    its_chunks = chunks_of(settings, victim)
    before = index_state(settings)["records"]
    assert its_chunks
    victim.unlink()
    summary = ingest(settings, embedder, corpus)
    assert summary.counts["deleted"] == 1 and summary.counts["chunks_deleted"] == len(its_chunks)
    state = index_state(settings)
    assert state["records"] == before - its_chunks
    assert state["chroma"] == state["bm25"] == state["records"]


def test_rename_and_move_are_not_reembedded(make_settings: SettingsFactory, embedder, corpus: Path) -> None:
    settings = make_settings()
    ingest(settings, embedder, corpus)
    old = corpus / "internal" / "politica_viajes.md"
    ids = chunks_of(settings, old)
    new = corpus / "internal" / "sub" / "travel-policy-renamed.md"
    new.parent.mkdir()
    shutil.move(old, new)
    summary = ingest(settings, embedder, corpus)
    assert summary.counts["chunks_embedded"] == 0
    assert {(f.path, f.status) for f in summary.files if f.status != "unchanged"} == {
        (str(new), "moved"),
        (str(old), "deleted"),
    }
    assert chunks_of(settings, new) == ids
    index = Index(settings)
    try:
        assert {c.source_uri for c in index.records.get_chunks(sorted(ids)).values()} == {str(new)}
        # The vectors stay where they were: Chroma holds a chunk's document and access, not its path.
        metas = index.vectors._collection("everyone", create=False).get(ids=sorted(ids), include=["metadatas"])
        assert sorted(metas["ids"]) == sorted(ids) and all("source_uri" not in m for m in metas["metadatas"])
    finally:
        index.close()


def test_changed_file_and_changed_access_are_reindexed(make_settings: SettingsFactory, embedder, corpus: Path) -> None:
    settings = make_settings()
    ingest(settings, embedder, corpus)
    edited = corpus / "public" / "faq_empresa.md"
    old_ids = chunks_of(settings, edited)
    edited.write_text(
        edited.read_text(encoding="utf-8") + "\n\n## Nueva pregunta\n\nEl comedor abre a las 13:15.\n", encoding="utf-8"
    )
    moved = corpus / "internal" / "remote_work_policy.txt"
    target = corpus / "rrhh" / moved.name
    shutil.move(moved, target)
    summary = ingest(settings, embedder, corpus)
    statuses = {f.path: f.status for f in summary.files}
    assert statuses[str(edited)] == "updated"
    assert statuses[str(target)] == "added" and statuses[str(moved)] == "deleted"
    assert not chunks_of(settings, edited) & old_ids
    index = Index(settings)
    try:
        moved_chunks = index.records.get_chunks(sorted(chunks_of(settings, target))).values()
        assert moved_chunks and {c.access.key for c in moved_chunks} == {"rrhh"}
    finally:
        index.close()
    state = index_state(settings)
    assert state["chroma"] == state["bm25"] == state["records"]


def test_dry_run_changes_nothing(make_settings: SettingsFactory, embedder, corpus: Path) -> None:
    settings = make_settings()
    summary = ingest(settings, embedder, corpus, dry_run=True)
    assert summary.status == "planned" and summary.counts["added"] > 0
    assert index_state(settings) == {"chroma": set(), "bm25": set(), "records": set()}


def test_bad_files_are_recorded_and_the_job_goes_on(make_settings: SettingsFactory, embedder, tmp_path: Path) -> None:
    folder = tmp_path / "mixed"
    folder.mkdir()
    (folder / "good.md").write_text("# Horario\n\nLa oficina abre de 8:00 a 18:00 de lunes a viernes.\n")
    (folder / "broken.pdf").write_bytes(os.urandom(4096))
    (folder / "empty.txt").write_bytes(b"")
    (folder / "program.exe").write_bytes(b"MZ" + os.urandom(100))
    with zipfile.ZipFile(folder / "bomb.docx", "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("word/document.xml", b"\0" * (64 * 1024 * 1024))
    (folder / "loop").symlink_to(folder, target_is_directory=True)
    settings = make_settings(ingest={"max_uncompressed_mb": 32})
    summary = ingest(settings, embedder, folder)
    by_name = {Path(f.path).name: f for f in summary.files}
    assert by_name["good.md"].status == "added" and by_name["good.md"].chunks >= 1
    assert by_name["broken.pdf"].status == "failed"
    assert by_name["bomb.docx"].status == "failed"
    assert by_name["empty.txt"].status == "skipped"
    assert by_name["program.exe"].status == "skipped"
    assert by_name["loop"].status == "skipped"
    for name in ("broken.pdf", "bomb.docx", "empty.txt", "program.exe", "loop"):
        reason = by_name[name].reason or ""
        assert reason.endswith(".") and reason.count(". ") == 0, reason  # one sentence
    state = index_state(settings)
    assert state["chroma"] == state["bm25"] == state["records"] == chunks_of(settings, folder / "good.md")
    # Unchanged bad files are not parsed again; --retry parses them again.
    again = ingest(settings, embedder, folder)
    assert {f.status for f in again.files} == {"unchanged", "failed", "skipped"}


def test_parallel_parsing_gives_the_same_index(make_settings: SettingsFactory, embedder, corpus: Path) -> None:
    """Worker processes (the default outside tests) produce exactly the chunks of in-process parsing."""
    serial, parallel = (
        make_settings(),
        make_settings(paths={"home": str(corpus.parent / "home2")}, ingest={"workers": 2}),
    )
    ingest(serial, embedder, corpus)
    summary = ingest(parallel, embedder, corpus)
    assert summary.counts["failed"] == 0
    assert index_state(parallel) == index_state(serial)
