"""The vector-store contract (tests/contracts/vector_store.py) against each Chroma deployment."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from rag.index import open_vector_store
from rag.index.base import VectorStore
from tests.contracts.vector_store import StoreFactory, VectorStoreContract
from tests.helpers import settings_for
from tests.servers import HOST

pytestmark = pytest.mark.integration


class TestEmbeddedChroma(VectorStoreContract):
    """Chroma in this process, persisted under FUENTE_HOME (the embedded default)."""

    @pytest.fixture
    def make_store(self, tmp_path: Path) -> StoreFactory:
        def make(write_batch: int) -> VectorStore:
            home = tmp_path / f"home-{uuid.uuid4().hex[:8]}"
            return open_vector_store(settings_for(home, index={"write_batch": write_batch}))

        return make


class TestChromaServer(VectorStoreContract):
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
