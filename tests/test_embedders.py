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
    build_embedder(make_settings(embedding={"backend": "onnx", "quantize": "none"}))  # the export exists and verifies
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


def test_an_int8_copy_whose_weights_changed_is_not_trusted(tmp_path: Path, make_settings: SettingsFactory) -> None:
    build_embedder(make_settings(embedding={"backend": "openvino", "quantize": "int8"}))
    source = Path(make_settings().paths.models_dir) / "all-MiniLM-L6-v2"
    copy = tmp_path / "model"
    shutil.copytree(source, copy)
    manifest = embed_backends._read_manifest(copy)
    assert embed_backends._verified(copy, manifest, embed_backends.OV_INT8_FILE)
    weights = copy / embed_backends.EXPORT_DIR / "model_int8_ov.bin"  # the .xml is unchanged
    data = bytearray(weights.read_bytes())
    data[-100] ^= 0xFF
    weights.write_bytes(bytes(data))
    assert not embed_backends._verified(copy, manifest, embed_backends.OV_INT8_FILE)
    assert embed_backends._verified(copy, manifest, embed_backends.FP32_FILE)


def test_calibration_text_is_not_the_verification_text() -> None:
    calibration = " ".join(embed_backends.calibration_texts())
    assert len(embed_backends.calibration_texts()) >= 100
    assert not any(sentence in calibration for sentence in embed_backends.VERIFY_SENTENCES)
