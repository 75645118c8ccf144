"""The faster embedding backends against PyTorch on real sentences: same vectors, same token counts."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from rag import embed_backends
from rag.embedders import ExportedEmbedder, SentenceTransformerEmbedder, build_embedder
from rag.settings import REPO_ROOT
from tests.helpers import SettingsFactory, require_shared


@pytest.fixture(scope="module")
def sentences() -> list[str]:
    """Sample questions plus XQuAD paragraphs in Spanish and English (long ones are truncated alike)."""
    questions = [json.loads(line)["question"] for line in (REPO_ROOT / "samples" / "questions.jsonl").open()]
    texts = questions[:30]
    for name in ("xquad.es.json", "xquad.en.json"):
        data = json.loads((require_shared("qa") / name).read_text(encoding="utf-8-sig"))
        texts += [p["context"] for p in data["data"][0]["paragraphs"][:12]]
    return texts


@pytest.mark.parametrize("backend", ["openvino", "onnx"])
def test_backend_gives_torchs_vectors(
    backend: str, make_settings: SettingsFactory, embedder: SentenceTransformerEmbedder, sentences: list[str]
) -> None:
    fast = build_embedder(make_settings(embedding={"backend": backend}))
    assert isinstance(fast, ExportedEmbedder) and fast.backend == backend
    assert fast.languages == frozenset({"en"})  # from the catalog entry of all-MiniLM-L6-v2
    assert (fast.dimension, fast.max_tokens) == (embedder.dimension, embedder.max_tokens)
    want = embedder.embed_documents(sentences)
    got = fast.embed_documents(sentences)
    cosines = (got * want).sum(axis=1)
    assert cosines.min() >= 0.99, cosines.min()
    assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-4)
    query = fast.embed_query(sentences[0])
    assert float(query @ want[0]) >= 0.99
    assert [fast.count_tokens(t) for t in sentences] == [embedder.count_tokens(t) for t in sentences]


def test_a_changed_export_is_not_trusted(tmp_path: Path, make_settings: SettingsFactory) -> None:
    build_embedder(make_settings(embedding={"backend": "onnx"}))  # the export exists and verifies
    source = Path(make_settings().paths.models_dir) / "all-MiniLM-L6-v2"
    copy = tmp_path / "model"
    shutil.copytree(source, copy)
    manifest = embed_backends._read_manifest(copy)
    assert embed_backends._verified(copy, manifest, embed_backends.FP32_FILE)
    onnx_file = copy / embed_backends.EXPORT_DIR / embed_backends.FP32_FILE
    data = bytearray(onnx_file.read_bytes())
    data[-100] ^= 0xFF  # same size, other bytes
    onnx_file.write_bytes(bytes(data))
    assert not embed_backends._verified(copy, manifest, embed_backends.FP32_FILE)
