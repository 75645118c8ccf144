"""Faster runtimes for a local sentence-transformers model: an ONNX export run by ONNX Runtime or OpenVINO.

The export is made here, from the packaged weights, with ``torch.onnx.export`` (no network, no
model hub), once per model folder: ``<model>/onnx/model.onnx`` plus ``export.json``, which
records the sha256 of the source weights and of the export and the cosine the export gave against
the PyTorch model on fixed Spanish and English sentences. An export is used only when that record
matches the files (checked on every load) and its cosine was at least :data:`MIN_COSINE`.

sentence-transformers' own ``backend="onnx"`` / ``"openvino"`` goes through optimum, whose
releases on PyPI pin ``transformers<4.58`` and cannot be installed beside transformers 5 here;
this module does the same export and the same mean pooling without it.

OpenVINO runs the fp32 export; on CPUs with AMX or AVX512-BF16 its default inference precision
is bf16 (``embedding.precision: auto``). With ``embedding.quantize: int8`` it runs a statically
quantised copy instead (nncf post-training quantisation, calibrated on the sample corpus's text,
never on the sentences it is verified with): about 1.5x the fp32 export's speed on a CPU with
VNNI, at the same retrieval quality (bench/embed.py, docs/benchmarks.md). ONNX Runtime's
``quantize: int8`` is a dynamically quantised copy. Every copy is made and verified the same way.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rag.errors import ConfigError, ModelError
from rag.settings.base import REPO_ROOT

log = logging.getLogger(__name__)

EXPORT_DIR = "onnx"
MANIFEST = "export.json"
FP32_FILE = "model.onnx"
INT8_FILE = "model_int8.onnx"  # ONNX Runtime, dynamic int8
OV_INT8_FILE = "model_int8_ov.xml"  # OpenVINO, static int8 (weights in the .bin beside it)
OPSET = 17
MIN_COSINE = 0.99
# Static int8 quantises activations too: its vectors stay within this cosine of PyTorch's on the
# verification sentences; retrieval quality is what bench/embed.py holds it to (MRR@10 within 0.01).
MIN_COSINE_STATIC_INT8 = 0.98
# Calibration text for static int8: the demo corpus (Spanish and English), cut into passages of
# these many words, so activation ranges cover short questions and long chunks alike.
CALIBRATION_CORPUS = REPO_ROOT / "samples" / "corpus"
CALIBRATION_WORDS = (12, 40, 120)
CALIBRATION_SIZE = 300
INPUTS = ("input_ids", "attention_mask", "token_type_ids")
# Real sentences of the kind users ask and store, both languages.
VERIFY_SENTENCES = (
    "¿Cuántos días de vacaciones tengo al año?",
    "Los empleados tienen derecho a 23 días laborables de vacaciones retribuidas por año natural.",
    "La dieta diaria para viajes internacionales es de 90 euros, con justificante del hotel.",
    "How many days of remote work per week does the policy allow?",
    "The Normans were the people who in the 10th and 11th centuries gave their name to Normandy, a region in France.",
    "Expense reports must be submitted within 30 days of the trip, together with the original receipts.",
    "El servidor de correo se reinicia cada domingo a las 03:00 para aplicar actualizaciones de seguridad.",
    "Photosynthesis converts light energy into chemical energy stored in glucose.",
)


def _sha256(path: Path) -> str:
    from rag.provisioning import sha256_file

    return sha256_file(path)


def _weights_file(model_dir: Path) -> Path:
    for name in ("model.safetensors", "pytorch_model.bin"):
        if (model_dir / name).exists():
            return model_dir / name
    raise ModelError(f"No weights (model.safetensors) in {model_dir}; run `fuente models pull` for the model.")


def _read_manifest(model_dir: Path) -> dict[str, Any] | None:
    try:
        return dict(json.loads((model_dir / EXPORT_DIR / MANIFEST).read_text()))
    except (FileNotFoundError, ValueError):
        return None


def export_file(backend: str, quantize: str) -> str:
    """The export file a backend runs: the fp32 ONNX, or the int8 copy made for that runtime."""
    if quantize != "int8":
        return FP32_FILE
    return OV_INT8_FILE if backend == "openvino" else INT8_FILE


def _min_cosine(file: str) -> float:
    return MIN_COSINE_STATIC_INT8 if file == OV_INT8_FILE else MIN_COSINE


def _parts(file: str) -> list[str]:
    """The files of one export: an OpenVINO model is its .xml and its .bin."""
    return [file, file.removesuffix(".xml") + ".bin"] if file.endswith(".xml") else [file]


def _verified(model_dir: Path, manifest: dict[str, Any] | None, file: str) -> bool:
    if manifest is None:
        return False
    files = manifest.get("files", {})
    if any(part not in files for part in _parts(file)):
        return False
    if float(files[file]["cosine_min"]) < _min_cosine(file):
        return False
    weights = _weights_file(model_dir)
    if weights.stat().st_size != manifest["source"]["size"]:
        return False
    for part in _parts(file):
        path = model_dir / EXPORT_DIR / part
        if not path.exists() or path.stat().st_size != files[part]["size"] or _sha256(path) != files[part]["sha256"]:
            return False
    return True


_EXPORTED_MODULES = frozenset({"Transformer", "Pooling", "Normalize"})


def exportable(model_dir: Path) -> bool:
    """Whether the export reproduces the model: a transformer, pooling and normalisation, nothing more.

    A model with other modules (a Dense projection, say) would lose them in the export, so it stays on torch.
    """
    try:
        modules = json.loads((model_dir / "modules.json").read_text())
    except (OSError, ValueError):
        return False
    return all(str(m.get("type", "")).rsplit(".", 1)[-1] in _EXPORTED_MODULES for m in modules)


def pooling_mode(model_dir: Path) -> str:
    """ "mean" or "cls", from the model's sentence-transformers pooling config."""
    try:
        cfg = json.loads((model_dir / "1_Pooling" / "config.json").read_text())
    except FileNotFoundError:
        return "mean"
    if cfg.get("pooling_mode_cls_token"):
        return "cls"
    if cfg.get("pooling_mode_mean_tokens", True):
        return "mean"
    raise ConfigError(f"{model_dir} pools in a way the onnx/openvino backends do not run; use embedding.backend torch.")


def max_seq_length(model_dir: Path) -> int:
    try:
        return int(json.loads((model_dir / "sentence_bert_config.json").read_text())["max_seq_length"])
    except (FileNotFoundError, KeyError, ValueError):
        return 512


def pool(hidden: np.ndarray, mask: np.ndarray, mode: str, normalize: bool) -> np.ndarray:
    if mode == "cls":
        vectors = hidden[:, 0, :]
    else:
        m = mask[..., None].astype(hidden.dtype)
        vectors = (hidden * m).sum(axis=1) / np.maximum(m.sum(axis=1), 1e-9)
    vectors = np.asarray(vectors, dtype=np.float32)
    if normalize:
        vectors = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    return vectors


def _torch_reference(model_dir: Path, sentences: tuple[str, ...]) -> np.ndarray:
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(model_dir), device="cpu")
    return np.asarray(model.encode(list(sentences), normalize_embeddings=True, convert_to_numpy=True))


def _cosines(run: Runner, tokenizer: Any, mode: str, reference: np.ndarray) -> float:
    ids, mask = batch_arrays([e.ids for e in tokenizer.encode_batch(list(VERIFY_SENTENCES))])
    got = pool(run(ids, mask), mask, mode, True)
    return float((got * reference).sum(axis=1).min())


def _export(model_dir: Path, staging: Path) -> None:
    import torch
    from transformers import AutoModel

    base = AutoModel.from_pretrained(str(model_dir)).eval()

    class _LastHidden(torch.nn.Module):
        def __init__(self, inner: torch.nn.Module) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            return self.inner(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state

    sample = torch.ones((2, 8), dtype=torch.int64)
    axes = {name: {0: "batch", 1: "tokens"} for name in (*INPUTS, "last_hidden_state")}
    with torch.inference_mode():
        torch.onnx.export(
            _LastHidden(base),
            (sample, sample, torch.zeros_like(sample)),
            str(staging / FP32_FILE),
            input_names=list(INPUTS),
            output_names=["last_hidden_state"],
            dynamic_axes=axes,
            opset_version=OPSET,
            dynamo=False,
        )


def _quantize_int8(source: Path, target: Path) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(
        str(source),
        str(target),
        weight_type=QuantType.QInt8,
        per_channel=True,
        extra_options={"DefaultTensorType": 1},  # float: shape inference misses some MatMul outputs
    )


def calibration_texts(corpus: Path = CALIBRATION_CORPUS) -> list[str]:
    """Passages of the demo corpus's Markdown and text files, at several lengths, in a fixed order."""
    words: list[str] = []
    for path in sorted(corpus.rglob("*")):
        if path.suffix in (".md", ".txt") and path.is_file():
            words.extend(path.read_text(encoding="utf-8", errors="replace").split())
    if not words:
        raise ModelError(
            f"embedding.quantize int8 with OpenVINO calibrates on the text of {corpus}, which is missing; "
            "restore samples/corpus or set embedding.quantize none."
        )
    texts = [" ".join(words[i : i + n]) for n in CALIBRATION_WORDS for i in range(0, len(words), n)]
    return texts[:: max(1, len(texts) // CALIBRATION_SIZE)][:CALIBRATION_SIZE]


def _quantize_static_openvino(model_dir: Path, source: Path, target: Path) -> None:
    """nncf post-training int8 quantisation of the fp32 export (transformer preset), saved as OpenVINO IR."""
    try:
        import nncf
        import openvino as ov
    except ImportError as e:
        raise ConfigError("embedding.quantize int8 with OpenVINO needs nncf: run `make setup`.") from e
    tokenizer = load_tokenizer(model_dir, max_seq_length(model_dir))

    def inputs(text: str) -> dict[str, np.ndarray]:
        ids, mask = batch_arrays([tokenizer.encode(text).ids])
        return {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}

    texts = calibration_texts()
    quantized = nncf.quantize(
        ov.Core().read_model(str(source)),
        nncf.Dataset(texts, inputs),
        model_type=nncf.ModelType.TRANSFORMER,
        preset=nncf.QuantizationPreset.MIXED,
        subset_size=len(texts),
    )
    ov.save_model(quantized, str(target))


def ensure_export(model_dir: Path, *, file: str = FP32_FILE) -> Path:
    """Path of the verified export ``file`` of ``model_dir`` (see :func:`export_file`), making it first."""
    from filelock import FileLock

    if _verified(model_dir, _read_manifest(model_dir), file):
        return model_dir / EXPORT_DIR / file
    with FileLock(str(model_dir / ".onnx-export.lock")):
        manifest = _read_manifest(model_dir)
        if _verified(model_dir, manifest, file):
            return model_dir / EXPORT_DIR / file
        log.info("Exporting %s to ONNX (%s), once ...", model_dir.name, file)
        weights = _weights_file(model_dir)
        staging = Path(tempfile.mkdtemp(prefix=".onnx-", dir=model_dir))
        staging.chmod(0o755)  # readable by whoever may read the model folder
        try:
            target = model_dir / EXPORT_DIR
            if _verified(model_dir, manifest, FP32_FILE):
                # Keep the copies already made and verified (the int8 copy of the other runtime, say).
                kept = [FP32_FILE] + [n for n in (INT8_FILE, OV_INT8_FILE) if _verified(model_dir, manifest, n)]
                files = {}
                for name in kept:
                    for part in _parts(name):
                        shutil.copy2(target / part, staging / part)
                        files[part] = manifest["files"][part]  # type: ignore[index]
            else:
                _export(model_dir, staging)
                files = {}
            if file == INT8_FILE:
                _quantize_int8(staging / FP32_FILE, staging / INT8_FILE)
            elif file == OV_INT8_FILE:
                _quantize_static_openvino(model_dir, staging / FP32_FILE, staging / OV_INT8_FILE)
            reference = _torch_reference(model_dir, VERIFY_SENTENCES)
            tokenizer = load_tokenizer(model_dir, max_seq_length(model_dir))
            mode = pooling_mode(model_dir)
            for name in dict.fromkeys([FP32_FILE, file]):
                if name in files:
                    continue
                run = (
                    openvino_runner(staging / name, threads=None, precision="auto")
                    if name.endswith(".xml")
                    else onnxruntime_runner(staging / name, threads=None)
                )
                cosine = _cosines(run, tokenizer, mode, reference)
                if cosine < _min_cosine(name):
                    raise ModelError(
                        f"The export {name} of {model_dir.name} gave cosine {cosine:.4f} against PyTorch "
                        f"(needs {_min_cosine(name)}); use embedding.quantize none or embedding.backend torch."
                    )
                for part in _parts(name):
                    path = staging / part
                    files[part] = {"sha256": _sha256(path), "size": path.stat().st_size, "cosine_min": cosine}
            new_manifest = {
                "source": {"file": weights.name, "sha256": _sha256(weights), "size": weights.stat().st_size},
                "opset": OPSET,
                "files": files,
            }
            (staging / MANIFEST).write_text(json.dumps(new_manifest, indent=2))
            old = model_dir / f".onnx-old-{os.getpid()}"
            if target.exists():
                os.replace(target, old)
            os.replace(staging, target)
            shutil.rmtree(old, ignore_errors=True)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        log.info("ONNX export verified: %s", model_dir / EXPORT_DIR / file)
        return model_dir / EXPORT_DIR / file


def tokens_join(tokenizer: Any) -> bool:
    """Whether ``tokenizer`` (a loaded ``tokenizers.Tokenizer``) gives a text joined from parts by whitespace
    the parts' ids one after the other: a BERT normaliser and pre-tokenizer (WordPiece) split at every space
    and newline before anything else, so a chunk's ids can be built from the pieces the chunker counted."""
    from tokenizers import normalizers, pre_tokenizers

    normalizer = tokenizer.normalizer
    return isinstance(tokenizer.pre_tokenizer, pre_tokenizers.BertPreTokenizer) and (
        normalizer is None or isinstance(normalizer, normalizers.BertNormalizer)
    )


def load_tokenizer(model_dir: Path, max_length: int) -> Any:
    """The model's own fast tokenizer (tokenizer.json), truncating like sentence-transformers."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    tokenizer.no_padding()
    tokenizer.enable_truncation(max_length)
    return tokenizer


def batch_arrays(token_ids: Sequence[Sequence[int]], multiple: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Right-padded input ids and attention mask for a batch, its width rounded up to ``multiple``.

    OpenVINO prepares each new input shape once (about 0.1 s here): rounding the width to 16 tokens
    bounds the shapes it ever sees; the padded positions are masked out of attention and pooling."""
    width = max(len(ids) for ids in token_ids)
    width = -(-width // multiple) * multiple
    ids = np.zeros((len(token_ids), width), dtype=np.int64)
    mask = np.zeros_like(ids)
    for row, seq in enumerate(token_ids):
        ids[row, : len(seq)] = seq
        mask[row, : len(seq)] = 1
    return ids, mask


Runner = Callable[[np.ndarray, np.ndarray], np.ndarray]


def onnxruntime_runner(path: Path, *, threads: int | None) -> Runner:
    try:
        import onnxruntime as ort
    except ImportError as e:
        raise ConfigError("embedding.backend onnx needs onnxruntime: pip install onnxruntime.") from e
    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    def run(ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        return np.asarray(session.run(None, feed)[0])

    return run


def openvino_runner(path: Path, *, threads: int | None, precision: str) -> Runner:
    try:
        import openvino as ov
    except ImportError as e:
        raise ConfigError("embedding.backend openvino needs the openvino package: run `make setup`.") from e
    core = ov.Core()
    config: dict[str, str] = {"PERFORMANCE_HINT": "LATENCY"}
    if threads:
        config["INFERENCE_NUM_THREADS"] = str(threads)
    if precision != "auto":
        config["INFERENCE_PRECISION_HINT"] = precision
    compiled = core.compile_model(core.read_model(str(path)), "CPU", config)
    request = compiled.create_infer_request()
    output = compiled.output(0)

    def run(ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        result = request.infer({"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)})
        return np.array(result[output])

    return run


def main() -> int:
    """``python -m rag.embed_backends [MODEL_DIR ...]``: export and verify (``make models`` runs it)."""
    import sys

    from rag.provisioning import ensure_model
    from rag.settings import load_settings

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    settings = load_settings()
    dirs = [Path(a) for a in sys.argv[1:]] or [ensure_model(settings, settings.embedding.model)]
    for model_dir in dirs:
        cfg = settings.embedding
        path = ensure_export(model_dir, file=export_file(cfg.backend, cfg.quantize))
        entry = (_read_manifest(model_dir) or {})["files"][path.name]
        print(f"{path}: verified, cosine against PyTorch >= {entry['cosine_min']:.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
