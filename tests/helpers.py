"""Helpers the tests share: where the test models and data are, settings, ports, ingestion, checks.

Fixtures live in ``tests/conftest.py``; plain functions and small fakes live here, once.
"""

from __future__ import annotations

import math
import os
import re
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from rag.settings import REPO_ROOT, Settings, deep_merge, load_settings

SAMPLE_CORPUS = REPO_ROOT / "samples" / "corpus"
# Models are provisioned once per checkout (``make setup`` does it) and shared by every test.
TEST_MODELS = Path(os.environ.get("FUENTE_TEST_MODELS", REPO_ROOT / ".fuente" / "models"))
SMALL_CORPUS = ("public/faq_empresa.md", "internal/remote_work_policy.txt", "internal/politica_viajes.md")
"""Three sample files: enough to embed, small enough for several model loads per test."""

SettingsFactory = Callable[..., Settings]


def shared_data() -> Path:
    """The read-only public benchmarks and documents beside the repo (never copied into it)."""
    return Path(os.environ.get("FUENTE_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))


def require_shared(sub: str) -> Path:
    path = shared_data() / sub
    if not path.exists():
        pytest.skip(f"{path} is absent: set FUENTE_SHARED_DATA to the shared data folder to run this test.")
    return path


def settings_for(home: Path, **overrides: Any) -> Settings:
    """Settings of the `test` profile over ``home``, with the shared test models."""
    environ = {"FUENTE_HOME": str(home), "FUENTE__PATHS__MODELS": str(TEST_MODELS)}
    return load_settings("test", environ=environ, overrides=deep_merge({}, overrides))


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on right now (servers under test never take a fixed, well-known one)."""
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


_SECOND_SENTENCE = re.compile(r"[.!?] [A-ZÁÉÍÓÚÑ¿¡]")


def one_sentence(message: str) -> bool:
    """One line, ending in a full stop, with no second sentence after it."""
    return message.endswith(".") and "\n" not in message and not _SECOND_SENTENCE.search(message)


def assert_one_sentence(reason: str) -> None:
    """A reason for a person: a capital first, then :func:`one_sentence`."""
    assert reason[:1].isupper() and one_sentence(reason), reason


class ScriptedJudge:
    """A deterministic judge: each call returns the next scripted score, and what it was shown is kept.

    It speaks both judge protocols: a sentence against its sources (:func:`rag.verify.verify_answer`)
    and an answer against its context (the eval suite's faithfulness and claims).
    """

    def __init__(self, scores: float | None | list[float | None]) -> None:
        self.scores = scores if isinstance(scores, list) else [scores]
        self.calls = 0
        self.seen: list[tuple[str, list[str]]] = []
        self._claims_cache: dict[str, Any] = {"x": 1}

    def _next(self) -> float | None:
        self.calls += 1
        return self.scores[(self.calls - 1) % len(self.scores)]

    def judge(self, sentence: str, sources: list[str]) -> float | None:
        self.seen.append((sentence, sources))
        return self._next()

    def supported_share(self, answer: str, context: str, language: str = "en") -> float:
        score = self._next()
        return math.nan if score is None else score

    def claim_scores(
        self, answer: str, reference: str, context: str | None = None, language: str = "en"
    ) -> dict[str, Any]:
        return {
            "precision": 1.0,
            "recall": math.nan,
            "f1": math.nan,
            "claims": [{"claim": "75 €", "in_reference": True}],
        }


# -- parsing ----------------------------------------------------------------------------------------


def _no_ocr() -> Any:
    from ingest.parsing import ParseOptions

    return ParseOptions(ocr=False)


OPTIONS = _no_ocr()
"""Parse options without OCR: the parsing tests that do not need tesseract."""


def rejected(path: Path, options: Any = OPTIONS) -> Any:
    """The :class:`ingest.errors.FileRejected` that parsing ``path`` raises, after checking its reason is one sentence."""
    from ingest.errors import FileRejected
    from ingest.parsing import parse_file

    with pytest.raises(FileRejected) as info:
        parse_file(path, options)
    assert_one_sentence(info.value.reason)
    return info.value


def text_of(parsed: Any) -> str:
    """A parsed file's text, its blocks joined by newlines."""
    return "\n".join(block.text for block in parsed.blocks)


# -- the index, as a test looks at it --------------------------------------------------------------


def ingest(settings: Settings, embedder: Any, *roots: Path, **kwargs: Any) -> Any:
    """Run one ingestion job over ``roots`` with ``embedder``; the job's summary."""
    from ingest.pipeline import Ingestor
    from rag.app import build_writer

    writer = build_writer(settings, embedder=embedder)
    try:
        return Ingestor(writer).run(list(roots), **kwargs)
    finally:
        writer.close()


def index_state(settings: Settings) -> dict[str, set[str]]:
    """Chunk ids as Chroma, BM25 and the records each see them."""
    from rag.index import Index

    index = Index(settings)
    try:
        chroma = set().union(set(), *index.vectors.ids_by_access().values())
        records = set().union(set(), *index.records.chunk_ids_by_access().values())
        return {"chroma": chroma, "bm25": index.keywords.chunk_ids(), "records": records}
    finally:
        index.close()


def chunks_of(settings: Settings, path: Path) -> set[str]:
    """The chunk ids of the document a file is recorded as (empty when it is not indexed)."""
    from rag.index import Index

    index = Index(settings)
    try:
        record = index.records.indexed_file(str(path))
        return set(index.records.chunk_ids_of(record.doc_id)) if record and record.doc_id else set()
    finally:
        index.close()
