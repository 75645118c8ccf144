"""A local sentence-transformers model run from its verified ONNX export by OpenVINO or ONNX Runtime.

The export, its int8 copy and their checks live in ``rag/embed_backends.py``; this is the embedder that
ingestion and queries call (``rag.embedders.build_embedder`` picks it for ``embedding.backend`` onnx or openvino).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from rag.errors import ConfigError


class ExportedEmbedder:
    """A local sentence-transformers model run from its verified ONNX export by OpenVINO or ONNX Runtime.

    Gives the same vectors as :class:`SentenceTransformerEmbedder` (cosine >= 0.99, checked when the
    export is made) at a fraction of the CPU time. Texts are tokenised once, sorted by length across the
    whole call (so a batch pads little) and encoded in ``batch_size`` batches.
    """

    def __init__(
        self,
        model_dir: str | Path,
        *,
        model_id: str,
        backend: str = "openvino",
        batch_size: int = 32,
        normalize: bool = True,
        quantize: str = "none",
        precision: str = "auto",
        threads: int | None = None,
        query_prompt: str | None = None,
        document_prompt: str | None = None,
        languages: frozenset[str] | None = None,
    ) -> None:
        from rag import embed_backends as eb

        model_dir = Path(model_dir)
        export = eb.ensure_export(model_dir, file=eb.export_file(backend, quantize))
        if backend == "openvino":
            self._run = eb.openvino_runner(export, threads=threads, precision=precision)
        elif backend == "onnx":
            self._run = eb.onnxruntime_runner(export, threads=threads)
        else:
            raise ConfigError(f"Unknown embedding.backend {backend!r}; use torch, onnx or openvino.")
        self._pad_multiple = 16 if backend == "openvino" else 1
        self._model_id = model_id
        self._backend = f"{backend}{'-int8' if quantize == 'int8' else ''}"
        self._batch_size = batch_size
        self._normalize = normalize
        self._max_length = eb.max_seq_length(model_dir)
        self._pooling = eb.pooling_mode(model_dir)
        self._tokenizer = eb.load_tokenizer(model_dir, self._max_length)
        self._counter = eb.load_tokenizer(model_dir, 10**9)
        self._specials: list[int] = self._tokenizer.encode("").ids  # [CLS] and [SEP] for a BERT model
        self._takes_ids = eb.tokens_join(self._tokenizer) and len(self._specials) == 2 and not document_prompt
        self._prompts = _prompts(model_dir)
        self._query_prompt = query_prompt
        self._document_prompt = document_prompt
        self._languages = languages
        self._dimension = int(self._encode(["dimension probe"], None).shape[1])

    @property
    def model_id(self) -> str:
        return self._model_id

    @property
    def backend(self) -> str:
        return self._backend

    @property
    def languages(self) -> frozenset[str] | None:
        """Languages the model understands (None: all)."""
        return self._languages

    @property
    def dimension(self) -> int:
        return self._dimension

    @property
    def max_tokens(self) -> int:
        return self._max_length - 2  # [CLS] and [SEP]

    @property
    def batch_size(self) -> int:
        return self._batch_size

    def count_tokens(self, text: str) -> int:
        return len(self._counter.encode(text, add_special_tokens=False).ids)

    def count_tokens_many(self, texts: list[str]) -> list[int]:
        # The batch call spreads over the cores and skips the offsets a count does not need.
        return [len(e.ids) for e in self._counter.encode_batch_fast(texts, add_special_tokens=False)]

    @property
    def takes_token_ids(self) -> bool:
        return self._takes_ids

    def token_ids_many(self, texts: list[str]) -> list[tuple[int, ...]]:
        return [tuple(e.ids) for e in self._counter.encode_batch_fast(texts, add_special_tokens=False)]

    def embed_token_ids(self, token_ids: Sequence[Sequence[int]]) -> np.ndarray:
        # What the tokenizer's truncation and template would do: [CLS] ids [SEP], at most max_length in all.
        first, last = self._specials
        return self._encode_ids([[first, *ids[: self._max_length - 2], last] for ids in token_ids])

    def _encode(self, texts: list[str], prompt: str | None) -> np.ndarray:
        if prompt:
            prefix = self._prompts.get(prompt, prompt)
            texts = [prefix + t for t in texts]
        return self._encode_ids([e.ids for e in self._tokenizer.encode_batch_fast(texts)])

    def _encode_ids(self, encoded: Sequence[Sequence[int]]) -> np.ndarray:
        from rag.embed_backends import batch_arrays, pool

        order = sorted(range(len(encoded)), key=lambda i: -len(encoded[i]))
        out: np.ndarray | None = None
        for start in range(0, len(order), self._batch_size):
            rows = order[start : start + self._batch_size]
            ids, mask = batch_arrays([encoded[i] for i in rows], self._pad_multiple)
            vectors = pool(self._run(ids, mask), mask, self._pooling, self._normalize)
            if out is None:
                out = np.zeros((len(encoded), vectors.shape[1]), dtype=np.float32)
            out[rows] = vectors
        return out if out is not None else np.zeros((0, getattr(self, "_dimension", 0)), dtype=np.float32)

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, self._document_prompt)

    def embed_query(self, text: str) -> np.ndarray:
        return self._encode([text], self._query_prompt)[0]


def _prompts(model_dir: Path) -> dict[str, str]:
    try:
        cfg = json.loads((model_dir / "config_sentence_transformers.json").read_text())
    except (FileNotFoundError, ValueError):
        return {}
    return dict(cfg.get("prompts") or {})
