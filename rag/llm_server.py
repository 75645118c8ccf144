"""The local model server: llama-cpp-python's OpenAI-compatible server on 127.0.0.1.

`fuente serve-llm` runs it in the foreground; the main job calls :func:`ensure_local_server`, which
starts it in the background when it is not answering (its pid and log live under FUENTE_HOME/run).
A second process of the same model (``llm.server.helper_port``) answers the short helper calls, so the
answer server's processed system prompt is not thrown away by a translation between two answers.
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


def server_command(settings: Settings, model_path: Path, *, helper: bool = False) -> list[str]:
    """The command line of the answer server, or of the helper server (``helper``: its port and context)."""
    cfg = settings.llm.server
    port = cfg.helper_port if helper and cfg.helper_port is not None else cfg.port
    return [
        sys.executable,
        "-m",
        "llama_cpp.server",
        "--model",
        str(model_path),
        "--host",
        cfg.host,
        "--port",
        str(port),
        "--n_ctx",
        str(cfg.helper_n_ctx if helper else cfg.n_ctx),
        "--n_threads",
        str(cfg.threads),
        "--model_alias",
        settings.llm.local.model,
        # By default a new request cuts the running generation short (llama-cpp-python's
        # interrupt_requests): the app, the CLI and the API asking at once then get empty answers.
        "--interrupt_requests",
        "false",
        # With a draft model llama-cpp-python keeps every prompt token's logits whatever --logits_all says,
        # but sizes their buffer by it: off, a prompt longer than one batch (512 tokens) fails mid-answer.
        "--logits_all",
        "true" if cfg.logits_all or cfg.draft else "false",
        *(["--draft_model", cfg.draft, "--draft_model_num_pred_tokens", str(cfg.draft_tokens)] if cfg.draft else []),
        *(
            ["--cache", "true", "--cache_type", "ram", "--cache_size", str(cfg.cache_mb << 20)]
            if cfg.prompt_cache and not helper
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


def _servers(settings: Settings) -> list[tuple[str, str, bool]]:
    """(name, base URL, is the helper) of each packaged server process to run: the answer server, then the helper."""
    out = [("llm-server", settings.llm.local.base_url, False)]
    helper = settings.llm.helper()
    if helper is not None:
        out.append(("llm-helper", helper.base_url, True))
    return out


def start_background(settings: Settings) -> int:
    """Start the packaged server(s) detached from this process; returns the answer server's pid once all answer."""
    try:
        import llama_cpp  # noqa: F401
    except ImportError as e:
        raise LLMUnavailable("llama-cpp-python is not installed; run `make setup`.") from e
    model_path = ensure_model(settings, settings.llm.server.model)
    pids = [
        _start_one(settings, model_path, name, base_url, helper)
        for name, base_url, helper in _servers(settings)
        if not is_up(base_url)
    ]
    return pids[0] if pids else 0


def start_helper(settings: Settings) -> int:
    """Start only the helper server, detached (the answer server runs in the foreground)."""
    helper = settings.llm.helper()
    if helper is None:
        return 0
    return _start_one(settings, ensure_model(settings, settings.llm.server.model), "llm-helper", helper.base_url, True)


def _start_one(settings: Settings, model_path: Path, name: str, base_url: str, helper: bool) -> int:
    run = _run_dir(settings)
    log_file = (run / f"{name}.log").open("ab")
    proc = subprocess.Popen(
        server_command(settings, model_path, helper=helper),
        stdout=log_file,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    (run / f"{name}.pid").write_text(str(proc.pid))
    deadline = time.monotonic() + settings.llm.server.start_timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise LLMUnavailable(
                f"The local model server exited at start (code {proc.returncode}); see {run / f'{name}.log'}."
            )
        if is_up(base_url):
            return proc.pid
        time.sleep(0.5)
    proc.terminate()
    raise LLMUnavailable(
        f"The local model server did not come up in {settings.llm.server.start_timeout_s:.0f} s; see {run / f'{name}.log'}."
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
    helper = settings.llm.helper()
    if is_up(base_url) and (helper is None or is_up(helper.base_url)):
        return
    if not is_up(base_url) and _listening(base_url):
        if is_up(base_url, timeout=settings.llm.server.start_timeout_s):
            return
        raise LLMUnavailable(
            f"Something listens at {base_url} but did not answer within {settings.llm.server.start_timeout_s:.0f} s; "
            "it may be busy or not a model server: check it, or stop it with `fuente serve-llm --stop`."
        )
    if settings.llm.local.kind != "llamacpp" or not settings.llm.server.autostart:
        if not is_up(base_url):
            raise LLMUnavailable(f"The local model server at {base_url} is not answering; start it.")
        return  # the helper is a speed-up: without it the answer server also translates
    start_background(settings)


def stop_background(settings: Settings) -> bool:
    """Stop the server processes started by :func:`start_background`; False when none was recorded."""
    stopped = [_stop_one(_run_dir(settings) / f"{name}.pid") for name in ("llm-server", "llm-helper")]
    return any(stopped)


def _stop_one(pid_file: Path) -> bool:
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
