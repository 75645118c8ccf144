"""The assistant's behaviour over a real llama.cpp server (Qwen2.5-Coder-0.5B GGUF) and the sample corpus.

Refusals, access, evidence trimming, the cloud route and cross-language retrieval. What every chat
backend must do (streaming, tokens, context overflow, structured output, errors, a verified and
logged answer) is the chat-backend contract's (tests/contracts/), run against llama.cpp and vLLM.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rag.app import App, build_app
from rag.assistant import Assistant, Turn, User
from rag.embedders import Embedder
from rag.errors import GenerationError, LLMUnavailable
from rag.llm import ChatClient
from rag.settings import Settings, VerificationSettings
from tests.contracts.chat_backend import endpoint
from tests.helpers import SettingsFactory, free_port, ingest

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def app_with(settings: Settings, embedder: Embedder, local: ChatClient, cloud: ChatClient | None = None) -> App:
    """The assistant over ``settings``' index, answering with the given clients (the composition root's seams)."""
    return build_app(settings, start_local_server=False, embedder=embedder, local=local, cloud=cloud)


def down_server() -> ChatClient:
    """A client of a llama.cpp server that is not running: any model call fails with LLMUnavailable."""
    return ChatClient(endpoint({"kind": "llamacpp", "base_url": f"http://127.0.0.1:{free_port()}/v1", "model": "x",
                                "context_tokens": 2048}))  # fmt: skip


@pytest.fixture
def home(make_settings: SettingsFactory, embedder: Embedder, corpus: Path) -> Settings:
    settings = make_settings(retrieval={"translate_query": False})
    ingest(settings, embedder, corpus)
    return settings


@pytest.fixture
def assistant(home: Settings, embedder: Embedder, llama_server: dict[str, Any]) -> Iterator[Assistant]:
    app = app_with(home, embedder, ChatClient(endpoint(llama_server)))
    yield app.assistant
    app.close()


def test_unanswerable_question_is_refused_by_fuente(assistant: Assistant) -> None:
    answer = assistant.ask("¿Cuál es el presupuesto anual de marketing de la empresa?", User(None, frozenset()))
    assert answer.refused and answer.text == "Los documentos no contienen esa información."
    assert not answer.citations and answer.closest_sources and answer.reason


def test_restricted_facts_never_reach_an_outsider(assistant: Assistant) -> None:
    answer = assistant.ask("¿Cuál es la banda salarial de un jefe de almacén en 2026?", User(None, frozenset()))
    for c in [*answer.citations, *answer.closest_sources]:
        assert "/rrhh/" not in c.source_uri and "/finanzas/" not in c.source_uri
    insider = assistant.ask(
        "¿Cuál es la banda salarial de un jefe de almacén en 2026?", User(None, frozenset({"rrhh"}))
    )
    assert any("/rrhh/" in c.source_uri for c in [*insider.citations, *insider.closest_sources])


def test_a_server_that_is_down_fails_the_question_and_the_log_says_so(home: Settings, embedder: Embedder) -> None:
    app = app_with(home, embedder, down_server())
    try:
        with pytest.raises(LLMUnavailable, match=r"cannot be reached; start it with `fuente serve-llm`\.$"):
            app.assistant.ask("¿Cuál es la dieta diaria para un viaje internacional?", User(None, frozenset()))
        assert app.assistant.query_log.recent(1)[0]["error"].startswith("The local model server")
    finally:
        app.close()


def test_a_question_about_what_no_document_mentions_is_refused_without_a_model_call(
    home: Settings, embedder: Embedder
) -> None:
    """No document of the corpus mentions Bilbao: grounding would refuse whatever the model read from the retrieved
    chunks, so the assistant refuses before asking it, and answers even with the server down. The same holds for a retrieval
    under ``retrieval_min``, which is refused whatever the model says."""
    nobody = User(None, frozenset())
    app = app_with(home, embedder, down_server())
    try:
        answer = app.assistant.ask("¿Quién dirige la oficina de Bilbao?", nobody)
        assert answer.refused and answer.text == "Los documentos no contienen esa información."
        assert "mentions bilbao" in answer.reason and "generation_s" not in answer.timings
        with pytest.raises(LLMUnavailable):  # Valencia is in the documents: the model must read them
            app.assistant.ask("¿Quién dirige la oficina de Valencia?", nobody)
    finally:
        app.close()
    far = build_app(home, start_local_server=False, embedder=embedder, local=down_server(),
                    thresholds=VerificationSettings(retrieval_min=1.0))  # fmt: skip
    try:
        answer = far.assistant.ask("¿Quién dirige la oficina de Valencia?", nobody)
        assert answer.refused and "too far" in answer.reason and "generation_s" not in answer.timings
    finally:
        far.close()


def test_evidence_is_trimmed_to_fit_the_context(
    assistant: Assistant, home: Settings, embedder: Embedder, llama_server: dict[str, Any]
) -> None:
    """A request never exceeds the context window: the least relevant evidence items are dropped instead."""
    from rag import protocol

    roomy = assistant.ask("¿Cuántos días de teletrabajo se permiten por semana?", User(None, frozenset()))
    window = roomy.tokens["prompt"] + protocol.ANSWER_MAX_TOKENS - 40
    tight = app_with(home, embedder, ChatClient(endpoint(llama_server, context_tokens=window)))
    try:
        answer = tight.assistant.ask("¿Cuántos días de teletrabajo se permiten por semana?", User(None, frozenset()))
        # A question that cannot fit even with one evidence item is refused with a sentence, not sent. (It is
        # about the documents: a question far from all of them is refused before any model call.)
        with pytest.raises(GenerationError, match="too long for the local model's context"):
            tight.assistant.ask("¿Cuántos días de teletrabajo se permiten por semana? " * 150, User(None, frozenset()))
    finally:
        tight.close()
    # Counted by the server's own tokenizer before sending: within the window, and smaller than before.
    assert 0 < answer.tokens["prompt"] <= window - protocol.ANSWER_MAX_TOKENS
    assert answer.tokens["prompt"] < roomy.tokens["prompt"]


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
    local, cloud = ChatClient(endpoint(llama_server)), ChatClient(endpoint(llama_server, name="cloud"))
    app = app_with(settings, embedder, local, cloud)
    try:
        assistant = app.assistant
        public = assistant.ask(
            "What is the response time for a P1 incident in the customer SLA?", User(None, frozenset())
        )
        hr = assistant.ask("¿Cuál es la banda salarial de un jefe de almacén en 2026?", User(None, frozenset({"rrhh"})))
        # The attack: a harmless follow-up after a confidential turn. Today's rewrite would carry the
        # earlier answer into the question that goes to the cloud.
        follow_up = "¿Y cuál es la dieta diaria para un viaje internacional?"
        after_hr = assistant.ask(follow_up, User(None, frozenset({"rrhh"})), [Turn(hr.question, hr.text, hr.sensitive)])
        unknown = assistant.ask(follow_up, User(None, frozenset()), [Turn("¿Qué es Aurora?", "Una empresa.")])
        sent: list[list[dict[str, str]]] = []
        inner = cloud.stream

        def spy(messages, **kwargs):  # type: ignore[no-untyped-def]
            sent.append(messages)  # what really leaves, recorded on the way to the real server
            return inner(messages, **kwargs)

        cloud.stream = spy  # type: ignore[method-assign]
        earlier = "La respuesta anterior mencionó el plan de bonus del comité"
        after_public = assistant.ask(follow_up, User(None, frozenset()), [Turn(public.question, earlier, False)])
    finally:
        app.close()
    assert public.route == "cloud" and not public.sensitive
    assert hr.route == "local" and "ceiling" in hr.route_reason and hr.sensitive
    assert after_hr.route == "local" and after_hr.sensitive and "conversation" in after_hr.route_reason
    assert unknown.route == "local"  # a history not known to be below the ceiling keeps the conversation local
    assert after_public.route == "cloud"
    user_text = sent[-1][-1]["content"]
    assert follow_up in user_text and earlier not in user_text and "bonus" not in user_text
    with EgressLog.from_settings(settings) as egress:
        entries = egress.list()
    assert [e.question_id for e in entries] == [after_public.question_id, public.question_id]
    assert entries[0].chunk_ids and all(len(cid) == 32 for cid in entries[0].chunk_ids)
    from rag import protocol
    from rag.egress import payload_digest

    fmt = protocol.response_format("llamacpp")
    assert entries[0].payload_sha256 == payload_digest(
        {"model": "qwen2.5-0.5b", "messages": sent[-1], "response_format": fmt}
    )


def test_cross_language_question_finds_the_other_language_document(
    make_settings: SettingsFactory, embedder, tmp_path: Path, llama_server: dict[str, Any]
) -> None:  # type: ignore[no-untyped-def]
    """The packaged MiniLM is English-only: the model's translation of the question bridges the languages."""
    from tests.helpers import SAMPLE_CORPUS

    corpus = tmp_path / "few"
    (corpus / "internal").mkdir(parents=True)
    for name in ("_access.yaml", "remote_work_policy.txt", "guia_onboarding.docx", "politica_viajes.md"):
        (corpus / "internal" / name).write_bytes((SAMPLE_CORPUS / "internal" / name).read_bytes())
    settings = make_settings(retrieval={"translate_query": True, "k": 4})
    ingest(settings, embedder, corpus)
    app = app_with(settings, embedder, ChatClient(endpoint(llama_server)))
    try:
        assistant = app.assistant
        for question, language, wanted in [
            ("¿Cuántos días a la semana se puede teletrabajar?", "es", "remote_work_policy.txt"),
            ("What is the daily allowance for an international business trip?", "en", "politica_viajes.md"),
        ]:
            translation = assistant.translation(question, language)
            assert translation and translation != question
            hits = assistant.retriever.retrieve(question, frozenset(), extra_queries=(translation,)).chunks
            assert any(h.chunk.source_uri.endswith(wanted) for h in hits), (translation, [h.chunk.title for h in hits])
    finally:
        app.close()


class _Multilingual:
    """The test's MiniLM labelled as covering every language, as the catalog labels multilingual-e5."""

    languages = None

    def __init__(self, inner: Embedder) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def test_a_multilingual_embedder_still_translates_the_question_when_the_index_holds_the_other_language(
    make_settings: SettingsFactory, embedder: Embedder, tmp_path: Path
) -> None:
    """The dense side matches across languages, but the evidence selector's and the guard's term checks
    read the question's words in the source's language: without the translation the multilingual profile
    got 4 of 20 cross-language sample questions right (docs/evaluation.md)."""
    from tests.helpers import SAMPLE_CORPUS

    def assistant_over(names: tuple[str, ...]) -> tuple[App, Assistant]:
        root = tmp_path / "-".join(names)
        corpus = root / "corpus" / "internal"
        corpus.mkdir(parents=True)
        for name in ("_access.yaml", *names):
            (corpus / name).write_bytes((SAMPLE_CORPUS / "internal" / name).read_bytes())
        settings = make_settings(retrieval={"translate_query": True}, paths={"home": str(root / "home")})
        ingest(settings, embedder, corpus.parent)
        down = ChatClient(endpoint({"kind": "llamacpp", "base_url": f"http://127.0.0.1:{free_port()}/v1", "model": "x",
                                    "context_tokens": 2048}))  # fmt: skip
        app = app_with(settings, _Multilingual(embedder), down)  # type: ignore[arg-type]
        return app, app.assistant

    app, both = assistant_over(("remote_work_policy.txt", "politica_viajes.md"))
    try:
        assert both.needs_translation("es") and both.needs_translation("en")
    finally:
        app.close()
    app, spanish_only = assistant_over(("politica_viajes.md",))
    try:
        assert not spanish_only.needs_translation("es")  # nothing in English to find with it
    finally:
        app.close()
