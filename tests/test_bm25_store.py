"""The incremental BM25 store against the SQLite records, on real Spanish prose (XQuAD-es paragraphs).

What a user would notice: a search gives the same ranking and scores as bm25s over the same chunks;
after adding, editing, relabelling or deleting a document the index answers exactly as a fresh
build of the records would, having written only the changed chunks; another process picks up the
new version without re-reading what it already holds.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from rag.index.base import NewDocument
from rag.index.bm25_store import MAX_SEGMENTS_PER_SET, POINTER, BM25Store, Segment
from rag.index.records import Records
from rag.text import keyword_tokens
from rag.types import AccessLabel, Chunk, Sensitivity
from tests.helpers import require_shared


@pytest.fixture(scope="module")
def prose() -> tuple[list[str], list[str]]:
    """(paragraphs, questions) of XQuAD-es."""
    data = json.loads((require_shared("qa") / "xquad.es.json").read_text(encoding="utf-8-sig"))
    paragraphs, questions = [], []
    for article in data["data"]:
        for para in article["paragraphs"]:
            paragraphs.append(para["context"])
            questions.extend(qa["question"] for qa in para["qas"][:1])
    return paragraphs, questions


def chunks_of(doc: int, texts: list[str], groups: frozenset[str]) -> list[Chunk]:
    return [
        Chunk(
            id=f"d{doc}-c{n}-" + hashlib.sha1(text.encode()).hexdigest()[:8],
            doc_id=f"d{doc}",
            text=text,
            ordinal=n,
            source_uri=f"/docs/d{doc}.md",
            title=f"doc {doc}",
            access=AccessLabel(groups, Sensitivity.INTERNAL),
            language="es",
            modified=0.0,
            content_hash=f"h{doc}",
        )
        for n, text in enumerate(texts)
    ]


def put(records: Records, doc: int, texts: list[str], groups: frozenset[str]) -> None:
    records.add_documents([NewDocument(chunks_of(doc, texts, groups), "md", [])])


def delete(records: Records, doc: int) -> None:
    records.drop_documents([f"d{doc}"], forget_files=False)


GROUPS = (frozenset({"everyone"}), frozenset({"rrhh"}), frozenset({"direccion", "finanzas"}))
ALL_KEYS = ["everyone", "rrhh", "direccion+finanzas"]


def fresh(records: Records, folder: Path) -> BM25Store:
    store = BM25Store(folder)
    ids, texts, access = records.chunk_texts()
    store.build(records.generation(), ids, texts, access)
    return store


def same_answers(a: BM25Store, b: BM25Store, questions: list[str]) -> None:
    for q in questions:
        for keys in (ALL_KEYS, ["everyone", "rrhh"], ["direccion+finanzas"]):
            got, want = a.search(q, keys, 10), b.search(q, keys, 10)
            assert [c for c, _ in got] == [c for c, _ in want], q
            np.testing.assert_allclose([s for _, s in got], [s for _, s in want], rtol=1e-5)


def test_scores_match_bm25s(tmp_path: Path, prose: tuple[list[str], list[str]]) -> None:
    import bm25s

    paragraphs, questions = prose
    ids = [f"p{i}" for i in range(len(paragraphs))]
    store = BM25Store(tmp_path / "bm25", k1=1.2, b=0.6)  # not bm25s's defaults: the parameters must reach the formula
    store.build(1, ids, paragraphs, ["everyone"] * len(ids))
    reference = bm25s.BM25(k1=1.2, b=0.6)
    reference.index([keyword_tokens(t) for t in paragraphs], show_progress=False)
    for q in questions[:60]:
        docs, scores = reference.retrieve([keyword_tokens(q)], k=10, show_progress=False)
        want = [(ids[int(i)], float(s)) for i, s in zip(docs[0], scores[0], strict=True) if s > 0]
        got = store.search(q, ["everyone"], 10)
        np.testing.assert_allclose([s for _, s in got], [s for _, s in want], rtol=1e-5)
        assert got[0][0] == want[0][0]


def test_changes_touch_only_what_changed_and_equal_a_fresh_build(
    tmp_path: Path, prose: tuple[list[str], list[str]]
) -> None:
    paragraphs, questions = prose
    records = Records(tmp_path / "fuente.db")
    try:
        for doc in range(40):
            put(records, doc, paragraphs[doc * 4 : doc * 4 + 4], GROUPS[doc % 3])
        store = BM25Store(tmp_path / "bm25")
        assert store.sync(records) is True
        assert store.sync(records) is False  # nothing moved
        reader = BM25Store(tmp_path / "bm25")  # another process: the app, say
        assert reader.chunk_ids() == set().union(*records.chunk_ids_by_access().values())
        held = dict(reader._segments)

        put(records, 100, paragraphs[200:203], GROUPS[1])  # a new document
        before = {p.name for p in (tmp_path / "bm25").glob("seg-*.npz")}
        store.sync(records)
        written = {p.name for p in (tmp_path / "bm25").glob("seg-*.npz")} - before
        assert len(written) == 1
        new = Segment.load(tmp_path / "bm25", next(iter(written))[: -len(".npz")])
        assert sorted(new.ids) == sorted(c.id for c in chunks_of(100, paragraphs[200:203], GROUPS[1]))
        hit = reader.search(paragraphs[201][:300], ["rrhh"], 3)
        assert hit[0][0].startswith("d100-c1-")
        assert reader.chunk_ids() == set().union(*records.chunk_ids_by_access().values())
        assert all(reader._segments[name] is seg for name, seg in held.items())  # nothing re-read

        put(records, 3, paragraphs[210:212], GROUPS[0])  # an edit: other text, same document
        put(records, 4, paragraphs[16:20], GROUPS[2])  # a relabel: same text, other access set
        delete(records, 5)
        store.sync(records)
        ids = records.chunk_ids_by_access()
        assert reader.chunk_ids() == set().union(*ids.values())
        assert not any(cid.startswith("d5-") for cid, _ in reader.search(paragraphs[21][:200], ALL_KEYS, 50))
        assert reader.search(paragraphs[17][:300], ["direccion+finanzas"], 1)[0][0].startswith("d4-c1-")
        assert not any(cid.startswith("d4-") for cid, _ in reader.search(paragraphs[17][:300], ["rrhh"], 50))
        same_answers(reader, fresh(records, tmp_path / "fresh"), questions[:80])
    finally:
        records.close()


def test_many_changes_stay_few_segments_and_exact(tmp_path: Path, prose: tuple[list[str], list[str]]) -> None:
    paragraphs, questions = prose
    records = Records(tmp_path / "fuente.db")
    try:
        store = BM25Store(tmp_path / "bm25")
        for doc in range(30):  # one document per sync, as the app's uploads come
            put(records, doc, paragraphs[doc * 3 : doc * 3 + 3], GROUPS[doc % 2])
            store.sync(records)
        for doc in range(0, 30, 3):
            delete(records, doc)
            store.sync(records)
        manifest = json.loads((tmp_path / "bm25" / POINTER).read_text())
        per_key: dict[str, int] = {}
        for entry in manifest["segments"]:
            per_key[entry["key"]] = per_key.get(entry["key"], 0) + 1
        assert max(per_key.values()) <= MAX_SEGMENTS_PER_SET
        assert store.chunk_ids() == set().union(*records.chunk_ids_by_access().values())
        same_answers(BM25Store(tmp_path / "bm25"), fresh(records, tmp_path / "fresh"), questions[:60])
    finally:
        records.close()


def test_a_crash_before_the_manifest_leaves_the_previous_version(
    tmp_path: Path, prose: tuple[list[str], list[str]]
) -> None:
    paragraphs, questions = prose
    records = Records(tmp_path / "fuente.db")
    try:
        put(records, 1, paragraphs[:5], GROUPS[0])
        store = BM25Store(tmp_path / "bm25")
        store.sync(records)
        before = store.chunk_ids()
        put(records, 2, paragraphs[5:9], GROUPS[0])
        # A writer killed after writing its segment, before replacing the manifest.
        orphan = Segment.from_tokens("seg-orphan", "everyone", ["x"], [keyword_tokens(paragraphs[5])])
        orphan.save(tmp_path / "bm25")
        (tmp_path / "bm25" / f".{POINTER}.tmp").write_text("{half a manif")
        reader = BM25Store(tmp_path / "bm25")
        assert reader.chunk_ids() == before
        store2 = BM25Store(tmp_path / "bm25")  # the next run repairs it
        assert store2.sync(records) is True
        assert reader.chunk_ids() == set().union(*records.chunk_ids_by_access().values())
        assert "x" not in reader.chunk_ids()
    finally:
        records.close()
