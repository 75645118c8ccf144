"""The vector-store contract (tests/contracts/vector_store.py) against each Chroma deployment."""

from __future__ import annotations

import uuid
from dataclasses import replace
from pathlib import Path

import pytest

from rag.index import open_vector_store
from rag.index.base import VectorStore
from rag.index.chroma_store import ChromaStore
from rag.types import AccessLabel, Sensitivity
from tests.contracts.vector_store import EVERYONE, StoreFactory, VectorStoreContract, chunk, unit_vectors
from tests.helpers import settings_for
from tests.servers import HOST

pytestmark = pytest.mark.integration


class ChromaAccessMetadata:
    """What Chroma's copy of a chunk holds: its document and access, so a `where` on access works there too."""

    def test_vectors_carry_their_access_and_nothing_the_records_hold(self, make_store: StoreFactory) -> None:
        store = make_store(100)
        assert isinstance(store, ChromaStore)
        chunks = [chunk(n) for n in range(3)]
        store.upsert(chunks, unit_vectors(3))
        coll = store._collection("everyone", create=False)
        assert coll is not None
        metas = coll.get(include=["metadatas"])["metadatas"]
        assert {frozenset(m) for m in metas} == {
            frozenset({"doc_id", "access_key", "groups", "sensitivity", "g_everyone"})
        }
        public = AccessLabel(EVERYONE.groups, Sensitivity.PUBLIC)
        store.update_metadata([replace(chunks[0], access=public)])
        found = coll.get(where={"$and": [{"g_everyone": True}, {"sensitivity": "public"}]}, include=[])["ids"]
        assert found == [chunks[0].id]


class TestEmbeddedChroma(VectorStoreContract, ChromaAccessMetadata):
    """Chroma in this process, persisted under FUENTE_HOME (the embedded default)."""

    @pytest.fixture
    def make_store(self, tmp_path: Path) -> StoreFactory:
        def make(write_batch: int) -> VectorStore:
            home = tmp_path / f"home-{uuid.uuid4().hex[:8]}"
            return open_vector_store(settings_for(home, index={"write_batch": write_batch}))

        return make


class TestChromaServer(VectorStoreContract, ChromaAccessMetadata):
    """A real `chroma run` server over HTTP (index.provider http); each store its own collection prefix."""

    @pytest.fixture
    def make_store(self, tmp_path: Path, chroma_server_port: int) -> StoreFactory:
        def make(write_batch: int) -> VectorStore:
            index = {
                "provider": "http",
                "host": HOST,
                "port": chroma_server_port,
                "collection_prefix": f"t{uuid.uuid4().hex[:12]}",
                "write_batch": write_batch,
            }
            return open_vector_store(settings_for(tmp_path / "home", index=index))

        return make
