"""Answers from a real llama.cpp server (Qwen2.5-Coder-0.5B GGUF) over the ingested sample corpus."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from rag.assistant import Assistant, User
from rag.errors import GenerationError, LLMUnavailable
from rag.index import Index
from rag.llm import ChatClient
from rag.settings import LLMEndpointSettings
from tests.conftest import SettingsFactory, free_port
from tests.test_ingest_pipeline import ingest

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def endpoint(server: dict[str, Any], **changes: Any) -> LLMEndpointSettings:
    fields: dict[str, Any] = {
        "name": "local",
        "kind": "llamacpp",
        "base_url": server["base_url"],
        "model": server["model"],
        "context_tokens": server["context_tokens"],
        "max_tokens": 160,
        "timeout_s": 120,
        "retries": 0,
    }
    return LLMEndpointSettings(**{**fields, **changes})


@pytest.fixture
def assistant(make_settings: SettingsFactory, embedder, corpus: Path, llama_server: dict[str, Any]):  # type: ignore[no-untyped-def]
    settings = make_settings(retrieval={"translate_query": False})
    ingest(settings, embedder, corpus)
    index = Index(settings)
    client = ChatClient(endpoint(llama_server))
    yield Assistant(settings, index, embedder, client)
    client.close()
    index.close()


def test_answer_streams_cites_and_is_logged(assistant: Assistant) -> None:
    pieces: list[str] = []
    answer = assistant.ask(
        "¿Cuál es la dieta diaria para un viaje internacional?", User("ana", frozenset()), on_token=pieces.append
    )
    assert len(pieces) > 1 and "".join(pieces) == answer.generated_text
    assert answer.language == "es" and answer.route == "local" and answer.model == "qwen2.5-0.5b"
    assert answer.timings["first_token_s"] <= answer.timings["total_s"]
    if not answer.refused:
        assert "75" in answer.text
        assert answer.citations and all(c.source_uri.endswith(".md") or c.source_uri for c in answer.citations)
    row = assistant.query_log.recent(1)[0]
    assert row["question_id"] == answer.question_id and row["user"] == "ana" and row["error"] is None


def test_restricted_facts_never_reach_an_outsider(assistant: Assistant) -> None:
    answer = assistant.ask("¿Cuál es la banda salarial de un jefe de almacén en 2026?", User(None, frozenset()))
    for c in [*answer.citations, *answer.closest_sources]:
        assert "/rrhh/" not in c.source_uri and "/finanzas/" not in c.source_uri
    insider = assistant.ask(
        "¿Cuál es la banda salarial de un jefe de almacén en 2026?", User(None, frozenset({"rrhh"}))
    )
    assert any("/rrhh/" in c.source_uri for c in [*insider.citations, *insider.closest_sources])


def test_server_down_is_one_clear_sentence(assistant: Assistant) -> None:
    down = ChatClient(
        endpoint({"base_url": f"http://127.0.0.1:{free_port()}/v1", "model": "x", "context_tokens": 2048})
    )
    with pytest.raises(LLMUnavailable, match=r"cannot be reached; start it with `fuente serve-llm`\.$"):
        down.complete([{"role": "user", "content": "hola"}])
    assistant.local = down
    with pytest.raises(LLMUnavailable):
        assistant.ask("¿Cuál es la dieta diaria para un viaje internacional?", User(None, frozenset()))
    assert assistant.query_log.recent(1)[0]["error"].startswith("The local model server")


def test_sources_are_trimmed_to_fit_the_context(assistant: Assistant, llama_server: dict[str, Any]) -> None:
    """A request never exceeds the context window: low-ranked sources are dropped instead."""
    tight = ChatClient(endpoint(llama_server, context_tokens=900))
    assistant.local = tight
    answer = assistant.ask("¿Cuántos días de teletrabajo se permiten por semana?", User(None, frozenset()))
    served_prompt = answer.tokens.get("prompt", 0)
    # The server's own count of what it received, when it answered (a refusal before generation sends nothing).
    assert served_prompt == 0 or served_prompt <= 900 - tight.endpoint.max_tokens
    # A question that cannot fit even without sources is refused with a sentence, not sent.
    with pytest.raises(GenerationError, match="too long for the local model's context"):
        assistant.ask("¿" + "palabra " * 1500 + "?", User(None, frozenset()))


def test_cloud_route_only_for_chunks_under_the_ceiling_and_logged(
    make_settings: SettingsFactory,
    embedder,
    corpus: Path,
    llama_server: dict[str, Any],  # type: ignore[no-untyped-def]
) -> None:
    """A second endpoint stands in for the cloud (a real server: no mocks); the policy decides who sees what."""
    from rag.egress import EgressLog

    settings = make_settings(
        retrieval={"translate_query": False},
        policy={"cloud_enabled": True, "route": "cloud", "sensitivity_ceiling": "internal"},
    )
    ingest(settings, embedder, corpus)
    index = Index(settings)
    local, cloud = ChatClient(endpoint(llama_server)), ChatClient(endpoint(llama_server, name="cloud"))
    try:
        assistant = Assistant(settings, index, embedder, local, cloud)
        public = assistant.ask(
            "What is the response time for a P1 incident in the customer SLA?", User(None, frozenset())
        )
        hr = assistant.ask("¿Cuál es la banda salarial de un jefe de almacén en 2026?", User(None, frozenset({"rrhh"})))
    finally:
        local.close()
        cloud.close()
        index.close()
    assert public.route == "cloud"
    assert hr.route == "local" and "ceiling" in hr.route_reason
    with EgressLog.from_settings(settings) as egress:
        entries = egress.list()
    assert [e.question_id for e in entries] == [public.question_id]
    assert entries[0].chunk_ids and all(len(cid) == 32 for cid in entries[0].chunk_ids)


def test_cross_language_question_finds_the_other_language_document(
    make_settings: SettingsFactory, embedder, tmp_path: Path, llama_server: dict[str, Any]
) -> None:  # type: ignore[no-untyped-def]
    """The packaged MiniLM is English-only: the model's translation of the question bridges the languages."""
    from tests.conftest import SAMPLE_CORPUS

    corpus = tmp_path / "few"
    (corpus / "internal").mkdir(parents=True)
    for name in ("_access.yaml", "remote_work_policy.txt", "guia_onboarding.docx", "politica_viajes.md"):
        (corpus / "internal" / name).write_bytes((SAMPLE_CORPUS / "internal" / name).read_bytes())
    settings = make_settings(retrieval={"translate_query": True, "k": 4})
    ingest(settings, embedder, corpus)
    index = Index(settings)
    client = ChatClient(endpoint(llama_server))
    try:
        assistant = Assistant(settings, index, embedder, client)
        for question, language, wanted in [
            ("¿Cuántos días a la semana se puede teletrabajar?", "es", "remote_work_policy.txt"),
            ("What is the daily allowance for an international business trip?", "en", "politica_viajes.md"),
        ]:
            translation = assistant.translation(question, language)
            assert translation and translation != question
            hits = assistant.retriever.retrieve(question, frozenset(), extra_queries=(translation,)).chunks
            assert any(h.chunk.source_uri.endswith(wanted) for h in hits), (translation, [h.chunk.title for h in hits])
    finally:
        client.close()
        index.close()
