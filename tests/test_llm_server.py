"""The local model server is never started twice: a busy one is waited for (real sockets, no model)."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import pytest

from rag.errors import LLMUnavailable
from rag.llm_server import ensure_local_server
from tests.conftest import SettingsFactory


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
