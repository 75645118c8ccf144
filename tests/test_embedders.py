"""The ONNX export behind the faster embedding backends is trusted only while it verifies.

That every backend gives PyTorch's vectors and token counts is the embedder contract's
(tests/contracts/test_embedder_contract.py).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from rag import embed_backends
from rag.embedders import build_embedder
from tests.helpers import SettingsFactory


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
