"""What every vector store (:class:`rag.index.base.VectorStore`) must do, as a mixin of tests.

A test class per implementation inherits :class:`VectorStoreContract` and supplies the fixture
``make_store``: a function returning a fresh, empty store, given the write batch size. The vectors
are deterministic (seeded), so every store is held to the same numbers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np
import pytest

from rag.index.base import VectorStore
from rag.types import AccessLabel, Chunk, Sensitivity

StoreFactory = Callable[[int], VectorStore]
DIM = 16
EVERYONE = AccessLabel(frozenset({"everyone"}), Sensitivity.INTERNAL)
RRHH = AccessLabel(frozenset({"rrhh"}), Sensitivity.CONFIDENTIAL)


def chunk(n: int, access: AccessLabel = EVERYONE, doc: str = "d1") -> Chunk:
    return Chunk(
        id=f"{doc}-c{n:03d}",
        doc_id=doc,
        text=f"Texto del fragmento {n}.",
        ordinal=n,
        source_uri=f"/docs/{doc}.md",
        title=f"Documento {doc}",
        access=access,
        language="es",
        modified=0.0,
        content_hash=f"h-{doc}",
        section=("Sección",),
    )


def unit_vectors(n: int, seed: int = 7) -> np.ndarray:
    vectors = np.random.default_rng(seed).normal(size=(n, DIM)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


class VectorStoreContract:
    @pytest.fixture
    def store(self, make_store: StoreFactory) -> VectorStore:
        return make_store(100)

    def test_an_empty_store_has_nothing_and_finds_nothing(self, store: VectorStore) -> None:
        assert store.access_keys() == [] and store.count() == 0
        assert store.ids_by_access() == {} and store.counts_by_access() == {}
        assert store.dimension() is None
        assert store.query(unit_vectors(1)[0], ["everyone"], 5) == []
        assert store.vectors("everyone", ["nope"]) is None
        store.delete("everyone", ["nope"])  # deleting from a set that does not exist is no error

    def test_query_ranks_by_cosine_similarity_best_first(self, store: VectorStore) -> None:
        chunks, vectors = [chunk(n) for n in range(6)], unit_vectors(6)
        store.upsert(chunks, vectors)
        hits = store.query(vectors[3], ["everyone"], 4)
        assert [cid for cid, _ in hits][0] == chunks[3].id and hits[0][1] == pytest.approx(1.0, abs=1e-4)
        expected = sorted(((float(v @ vectors[3]), c.id) for c, v in zip(chunks, vectors, strict=True)), reverse=True)
        assert [cid for cid, _ in hits] == [cid for _, cid in expected[:4]]
        assert [score for _, score in hits] == pytest.approx([score for score, _ in expected[:4]], abs=1e-4)

    def test_a_query_sees_only_the_access_sets_it_names(self, store: VectorStore) -> None:
        vectors = unit_vectors(2)
        secret, public = chunk(0, RRHH, "secret"), chunk(0, EVERYONE, "public")
        store.upsert([secret, public], np.stack([vectors[0], vectors[1]]))
        assert sorted(store.access_keys()) == ["everyone", "rrhh"]
        assert [cid for cid, _ in store.query(vectors[0], ["everyone"], 5)] == [public.id]
        assert [cid for cid, _ in store.query(vectors[0], ["rrhh"], 5)] == [secret.id]
        assert {cid for cid, _ in store.query(vectors[0], ["everyone", "rrhh"], 5)} == {public.id, secret.id}
        assert store.query(vectors[0], ["direccion"], 5) == []

    def test_counts_ids_and_dimension(self, store: VectorStore) -> None:
        chunks = [chunk(n) for n in range(3)] + [chunk(n, RRHH, "d2") for n in range(2)]
        store.upsert(chunks, unit_vectors(5))
        assert store.counts_by_access() == {"everyone": 3, "rrhh": 2} and store.count() == 5
        assert store.ids_by_access() == {
            "everyone": {c.id for c in chunks[:3]},
            "rrhh": {c.id for c in chunks[3:]},
        }
        assert store.dimension() == DIM

    def test_upserting_the_same_chunks_again_changes_nothing(self, store: VectorStore) -> None:
        chunks, vectors = [chunk(n) for n in range(4)], unit_vectors(4)
        store.upsert(chunks, vectors)
        store.upsert(chunks, vectors)
        assert store.count() == 4

    def test_stored_vectors_come_back_in_the_order_asked(self, store: VectorStore) -> None:
        chunks, vectors = [chunk(n) for n in range(4)], unit_vectors(4)
        store.upsert(chunks, vectors)
        got = store.vectors("everyone", [chunks[2].id, chunks[0].id])
        assert got is not None and got.dtype == np.float32
        assert np.allclose(got, vectors[[2, 0]], atol=1e-5)
        # One missing id, or the wrong access set, and the caller must embed again: None, not a partial answer.
        assert store.vectors("everyone", [chunks[0].id, "missing"]) is None
        assert store.vectors("rrhh", [chunks[0].id]) is None

    def test_delete_removes_exactly_the_ids_given(self, store: VectorStore) -> None:
        chunks, vectors = [chunk(n) for n in range(4)], unit_vectors(4)
        store.upsert(chunks, vectors)
        store.delete("everyone", [chunks[1].id, chunks[2].id])
        assert store.ids_by_access() == {"everyone": {chunks[0].id, chunks[3].id}}
        assert chunks[1].id not in {cid for cid, _ in store.query(vectors[1], ["everyone"], 4)}
        store.delete("rrhh", [chunks[0].id])  # the id is in another access set: untouched
        assert store.count() == 2

    def test_metadata_updates_keep_ids_and_vectors(self, store: VectorStore) -> None:
        chunks, vectors = [chunk(n) for n in range(3)], unit_vectors(3)
        store.upsert(chunks, vectors)
        public = AccessLabel(EVERYONE.groups, Sensitivity.PUBLIC)
        moved = [replace(c, source_uri="/docs/renamed.md", access=public) for c in chunks]
        store.update_metadata(moved)
        assert store.ids_by_access() == {"everyone": {c.id for c in chunks}}
        got = store.vectors("everyone", [c.id for c in chunks])
        assert got is not None and np.allclose(got, vectors, atol=1e-5)

    def test_writes_larger_than_a_batch_arrive_whole(self, make_store: StoreFactory) -> None:
        store = make_store(3)
        chunks, vectors = [chunk(n) for n in range(10)], unit_vectors(10)
        store.upsert(chunks, vectors)
        assert store.count() == 10
        got = store.vectors("everyone", [c.id for c in chunks])
        assert got is not None and np.allclose(got, vectors, atol=1e-5)
        store.delete("everyone", [c.id for c in chunks[:7]])
        assert store.ids_by_access() == {"everyone": {c.id for c in chunks[7:]}}
