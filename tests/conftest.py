"""Shared fixtures: settings in a temporary FUENTE_HOME, the real packaged embedding model, corpora, servers.

Plain helpers (paths, settings, ports, ingestion, checks) are in ``tests/helpers.py``.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from rag.embedders import SentenceTransformerEmbedder
from rag.models import ensure_model
from rag.settings import Settings, deep_merge, load_settings
from tests.helpers import SAMPLE_CORPUS, SMALL_CORPUS, TEST_MODELS, SettingsFactory, free_port


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
    return SentenceTransformerEmbedder(
        path, model_id=settings.embedding.model, batch_size=settings.embedding.batch_size
    )


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


@contextmanager
def running(
    cmd: list[str],
    *,
    log: Path,
    ready_url: str,
    what: str,
    timeout_s: float = 120,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
) -> Iterator[subprocess.Popen[bytes]]:
    """A real server process for the duration of a block: started, awaited until ``ready_url`` answers, stopped."""
    proc = subprocess.Popen(cmd, stdout=log.open("wb"), stderr=subprocess.STDOUT, env=env, cwd=cwd)
    try:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                pytest.fail(f"{what} exited: {log.read_text(errors='replace')[-2000:]}")
            try:
                if httpx.get(ready_url, timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        else:
            pytest.fail(f"{what} did not start in {timeout_s:.0f} s")
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@contextmanager
def llama_cpp_server(alias: str, log: Path, n_ctx: int = 2048) -> Iterator[dict[str, Any]]:
    """A real llama.cpp server (llama-cpp-python) with the packaged Qwen2.5-Coder-0.5B GGUF under ``alias``."""
    pytest.importorskip("llama_cpp", reason="llama-cpp-python is not installed; run `make setup`.")
    settings = load_settings(
        "test", environ={"FUENTE_HOME": str(TEST_MODELS.parent), "FUENTE__PATHS__MODELS": str(TEST_MODELS)}
    )
    model = ensure_model(settings, "qwen2.5-coder-0.5b-instruct-q4_k_m")
    port = free_port()
    base_url = f"http://127.0.0.1:{port}/v1"
    cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--host", "127.0.0.1",
           "--port", str(port), "--n_ctx", str(n_ctx), "--n_threads", "2", "--model_alias", alias,
           "--interrupt_requests", "false"]  # as rag.llm_server.server_command: concurrent calls queue  # fmt: skip
    with running(cmd, log=log, ready_url=base_url + "/models", what=f"llama.cpp server {alias}"):
        yield {"base_url": base_url, "model": alias, "port": port, "context_tokens": n_ctx}


@pytest.fixture(scope="session")
def llama_server() -> Iterator[dict[str, Any]]:
    """The session's real llama.cpp server with the 0.5B model (alias qwen2.5-0.5b)."""
    with llama_cpp_server("qwen2.5-0.5b", TEST_MODELS.parent / "llama-test-server.log") as server:
        yield server
