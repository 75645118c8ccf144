"""Shared fixtures: settings in a temporary FUENTE_HOME, the real packaged embedding model, corpora."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from rag.embedders import SentenceTransformerEmbedder
from rag.models import ensure_model
from rag.settings import REPO_ROOT, Settings, deep_merge, load_settings

SAMPLE_CORPUS = REPO_ROOT / "samples" / "corpus"
# Models are provisioned once per checkout (``make setup`` does it) and shared by every test.
TEST_MODELS = Path(os.environ.get("FUENTE_TEST_MODELS", REPO_ROOT / ".fuente" / "models"))


def shared_data() -> Path:
    """The read-only public benchmarks and documents beside the repo (never copied into it)."""
    return Path(os.environ.get("FUENTE_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))


def require_shared(sub: str) -> Path:
    path = shared_data() / sub
    if not path.exists():
        pytest.skip(f"{path} is absent: set FUENTE_SHARED_DATA to the shared data folder to run this test.")
    return path


SettingsFactory = Callable[..., Settings]


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


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def llama_server() -> Any:
    """A real llama.cpp server (llama-cpp-python) with the packaged Qwen2.5-Coder-0.5B GGUF."""
    import subprocess
    import sys
    import time

    import httpx

    pytest.importorskip("llama_cpp", reason="llama-cpp-python is not installed; run `make setup`.")
    settings = load_settings(
        "test", environ={"FUENTE_HOME": str(TEST_MODELS.parent), "FUENTE__PATHS__MODELS": str(TEST_MODELS)}
    )
    model = ensure_model(settings, "qwen2.5-coder-0.5b-instruct-q4_k_m")
    port = free_port()
    log = TEST_MODELS.parent / "llama-test-server.log"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(model),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--n_ctx",
            "2048",
            "--n_threads",
            "2",
            "--model_alias",
            "qwen2.5-0.5b",
        ],
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    base_url = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"llama.cpp server exited: {log.read_text()[-2000:]}")
        try:
            if httpx.get(base_url + "/models", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.5)
    else:
        proc.kill()
        pytest.fail("llama.cpp server did not start in 120 s")
    yield {"base_url": base_url, "model": "qwen2.5-0.5b", "port": port, "context_tokens": 2048}
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
