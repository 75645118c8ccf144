"""The local model server is never started twice: a busy one is waited for (real sockets, no model)."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import pytest

from rag.errors import LLMUnavailable
from rag.llm_server import ensure_local_server
from tests.helpers import SettingsFactory


def test_a_server_that_listens_but_is_busy_is_waited_for_not_doubled(
    make_settings: SettingsFactory, tmp_path: Path
) -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]
    accepted: list[socket.socket] = []

    def accept() -> None:  # accepts connections and never answers, like llama.cpp in a long generation
        while True:
            try:
                accepted.append(listener.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    settings = make_settings(
        llm={"local": {"base_url": f"http://127.0.0.1:{port}/v1"}, "server": {"port": port, "start_timeout_s": 2}}
    )
    started = time.monotonic()
    try:
        with pytest.raises(LLMUnavailable, match="listens .* but did not answer within 2 s"):
            ensure_local_server(settings)
    finally:
        listener.close()
    assert time.monotonic() - started >= 2  # it waited for the busy server
    assert not (settings.paths.resolve("run") / "llm-server.pid").exists()  # and started no second one


def test_the_served_model_queues_concurrent_questions_instead_of_cutting_one_short(
    make_settings: SettingsFactory,
) -> None:
    from rag.llm_server import server_command

    cmd = server_command(make_settings(), Path("model.gguf"))
    assert cmd[cmd.index("--interrupt_requests") + 1] == "false"


@pytest.mark.integration
def test_two_questions_at_once_both_get_whole_answers(llama_server: dict[str, object]) -> None:
    """llama-cpp-python's default cuts a running generation short when a new request arrives."""
    from concurrent.futures import ThreadPoolExecutor

    from openai import OpenAI

    client = OpenAI(base_url=str(llama_server["base_url"]), api_key="x", timeout=120, max_retries=0)

    def ask(word: str) -> str:  # streamed, as Fuente asks: the server cuts streams short
        stream = client.chat.completions.create(
            model=str(llama_server["model"]),
            messages=[{"role": "user", "content": f"Count from 1 to {word}, the numbers separated by commas."}],
            max_tokens=120,
            temperature=0,
            stream=True,
        )
        return "".join(e.choices[0].delta.content or "" for e in stream if e.choices)

    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(ask, "40")
        time.sleep(1.0)  # the first one is generating when the second arrives
        second = pool.submit(ask, "30")
        answers = [first.result(), second.result()]
    assert "15" in answers[0] and "15" in answers[1], answers  # neither was cut off half-way


def test_stop_ends_a_server_that_does_not_stop_on_sigterm(make_settings: SettingsFactory) -> None:
    import subprocess
    import sys

    from rag.llm_server import stop_background

    settings = make_settings()
    stubborn = subprocess.Popen(
        [sys.executable, "-c", "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(60)"],
        start_new_session=True,
    )
    run = settings.paths.resolve("run")
    run.mkdir(parents=True, exist_ok=True)
    (run / "llm-server.pid").write_text(str(stubborn.pid))
    time.sleep(0.5)  # the handler is installed
    assert stop_background(settings)
    assert stubborn.wait(timeout=5) == -9  # SIGKILL after the grace period, not left running


def test_a_helper_server_answers_translations_for_the_packaged_model_only(make_settings: SettingsFactory) -> None:
    """The answer server keeps its processed system prompt when translations go to a second process."""
    from rag.llm_server import server_command

    settings = make_settings()
    helper = settings.llm.helper()
    assert helper is not None and helper.base_url.endswith(f":{settings.llm.server.helper_port}/v1")
    cmd = server_command(settings, Path("model.gguf"), helper=True)
    assert cmd[cmd.index("--port") + 1] == str(settings.llm.server.helper_port)
    assert cmd[cmd.index("--n_ctx") + 1] == str(settings.llm.server.helper_n_ctx) and "--cache" not in cmd
    assert cmd[cmd.index("--model_alias") + 1] == settings.llm.local.model  # the same model, the same file
    # Another server (vLLM, a cloud endpoint, one started by hand elsewhere) has no packaged helper.
    assert make_settings(llm={"local": {"kind": "vllm"}}).llm.helper() is None
    assert make_settings(llm={"local": {"base_url": "http://10.1.2.3:8000/v1"}}).llm.helper() is None
    assert make_settings(llm={"server": {"helper_port": None}}).llm.helper() is None
