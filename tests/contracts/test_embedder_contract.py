"""The embedder contract (tests/contracts/embedder.py) against every local backend of all-MiniLM-L6-v2.

PyTorch itself, and the verified ONNX export run by ONNX Runtime and by OpenVINO (``embedding.backend``),
and OpenVINO's static int8 copy (``embedding.quantize: int8``, the default).
"""

from __future__ import annotations

import pytest

from rag.embedders import Embedder, SentenceTransformerEmbedder, build_embedder
from rag.exported_embedder import ExportedEmbedder
from tests.contracts.embedder import EmbedderContract
from tests.helpers import settings_for

pytestmark = pytest.mark.integration


def _backend(tmp_path_factory: pytest.TempPathFactory, name: str, quantize: str = "none") -> Embedder:
    home = tmp_path_factory.mktemp(f"embed-{name}-{quantize}")
    return build_embedder(settings_for(home, embedding={"backend": name, "quantize": quantize}))


class TestTorch(EmbedderContract):
    @pytest.fixture(scope="class")
    def backend(self, tmp_path_factory: pytest.TempPathFactory) -> Embedder:
        made = _backend(tmp_path_factory, "torch")
        assert isinstance(made, SentenceTransformerEmbedder)
        return made


class TestOnnx(EmbedderContract):
    @pytest.fixture(scope="class")
    def backend(self, tmp_path_factory: pytest.TempPathFactory) -> Embedder:
        made = _backend(tmp_path_factory, "onnx")
        assert isinstance(made, ExportedEmbedder) and made.backend == "onnx"
        return made


class TestOpenVINO(EmbedderContract):
    @pytest.fixture(scope="class")
    def backend(self, tmp_path_factory: pytest.TempPathFactory) -> Embedder:
        made = _backend(tmp_path_factory, "openvino")
        assert isinstance(made, ExportedEmbedder) and made.backend == "openvino"
        assert made.languages == frozenset({"en"})  # from the catalog entry of all-MiniLM-L6-v2
        return made


class TestOpenVINOInt8(EmbedderContract):
    """The default: the static int8 copy, whose retrieval quality bench/embed.py measures."""

    min_cosine = 0.98

    @pytest.fixture(scope="class")
    def backend(self, tmp_path_factory: pytest.TempPathFactory) -> Embedder:
        made = _backend(tmp_path_factory, "openvino", "int8")
        assert isinstance(made, ExportedEmbedder) and made.backend == "openvino-int8"
        return made
