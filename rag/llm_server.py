"""The local model server: llama-cpp-python's OpenAI-compatible server on 127.0.0.1.

`fuente serve-llm` runs it in the foreground; the main job calls :func:`ensure_local_server`, which
starts it in the background when it is not answering (its pid and log live under FUENTE_HOME/run).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from rag.errors import LLMUnavailable
from rag.provisioning import ensure_model
from rag.settings import Settings


def server_command(settings: Settings, model_path: Path) -> list[str]:
    cfg = settings.llm.server
    return [
        sys.executable,
        "-m",
        "llama_cpp.server",
        "--model",
        str(model_path),
        "--host",
        cfg.host,
        "--port",
        str(cfg.port),
        "--n_ctx",
        str(cfg.n_ctx),
        "--n_threads",
        str(cfg.threads),
        "--model_alias",
        settings.llm.local.model,
        # By default a new request cuts the running generation short (llama-cpp-python's
        # interrupt_requests): the app, the CLI and the API asking at once then get empty answers.
        "--interrupt_requests",
        "false",
        *(["--draft_model", cfg.draft, "--draft_model_num_pred_tokens", str(cfg.draft_tokens)] if cfg.draft else []),
        *(
            ["--cache", "true", "--cache_type", "ram", "--cache_size", str(cfg.cache_mb << 20)]
            if cfg.prompt_cache
            else []
        ),
    ]


def _run_dir(settings: Settings) -> Path:
    folder = settings.paths.resolve("run")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def is_up(base_url: str, timeout: float = 2.0) -> bool:
    try:
        return httpx.get(base_url.rstrip("/") + "/models", timeout=timeout).status_code == 200
    except httpx.HTTPError:
        return False


def start_background(settings: Settings) -> int:
    """Start the server detached from this process; returns its pid once it answers."""
    try:
        import llama_cpp  # noqa: F401
    except ImportError as e:
        raise LLMUnavailable("llama-cpp-python is not installed; run `make setup`.") from e
    model_path = ensure_model(settings, settings.llm.server.model)
    run = _run_dir(settings)
    log_file = (run / "llm-server.log").open("ab")
    proc = subprocess.Popen(
        server_command(settings, model_path),
        stdout=log_file,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    (run / "llm-server.pid").write_text(str(proc.pid))
    deadline = time.monotonic() + settings.llm.server.start_timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise LLMUnavailable(
                f"The local model server exited at start (code {proc.returncode}); see {run / 'llm-server.log'}."
            )
        if is_up(settings.llm.local.base_url):
            return proc.pid
        time.sleep(0.5)
    proc.terminate()
    raise LLMUnavailable(
        f"The local model server did not come up in {settings.llm.server.start_timeout_s:.0f} s; see {run / 'llm-server.log'}."
    )


def _listening(base_url: str) -> bool:
    """Whether something accepts connections at the endpoint's address (a server busy generating does)."""
    parts = urlsplit(base_url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 80), timeout=1.0):
            return True
    except OSError:
        return False


def ensure_local_server(settings: Settings) -> None:
    """Make sure the local endpoint answers, starting the packaged server when allowed.

    A server that is busy with a long generation accepts the connection but answers late: it is waited
    for, never doubled (a second one could not bind the port anyway).
    """
    base_url = settings.llm.local.base_url
    if is_up(base_url):
        return
    if _listening(base_url):
        if is_up(base_url, timeout=settings.llm.server.start_timeout_s):
            return
        raise LLMUnavailable(
            f"Something listens at {base_url} but did not answer within {settings.llm.server.start_timeout_s:.0f} s; "
            "it may be busy or not a model server: check it, or stop it with `fuente serve-llm --stop`."
        )
    if settings.llm.local.kind != "llamacpp" or not settings.llm.server.autostart:
        raise LLMUnavailable(f"The local model server at {settings.llm.local.base_url} is not answering; start it.")
    start_background(settings)


def stop_background(settings: Settings) -> bool:
    pid_file = _run_dir(settings) / "llm-server.pid"
    if not pid_file.exists():
        return False
    with contextlib.suppress(ProcessLookupError, ValueError):
        pid = int(pid_file.read_text())
        os.kill(pid, signal.SIGTERM)
        # uvicorn finishes the requests in flight first; one that is still busy after that gets SIGKILL,
        # so "stopped" is true when it is printed.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            os.kill(pid, 0)  # raises ProcessLookupError once it is gone
            time.sleep(0.2)
        os.kill(pid, signal.SIGKILL)
    pid_file.unlink(missing_ok=True)
    return True
