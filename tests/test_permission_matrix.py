"""The permission matrix: every user x question pair, through `fuente search`'s code path and Assistant.ask.

A corpus with five groups (and one two-group folder) holds a restricted canary string per access set;
eight users with different groups ask forty questions each (320 pairs) aimed at every canary. No
pair may return a canary of an access set the user is not in: not in search hits, answers, generated
text, citations or closest sources, nor in the document list, statistics, jobs or downloads. And
every user does find their own canaries (a matrix that finds nothing would prove nothing).

The chat model is scripted (deterministic): it echoes the text of every source it is given, so a
chunk that reached the prompt unlawfully would show in the answer. Everything else is real: the
pipeline, the packaged embedder, embedded Chroma, BM25, verification.
"""

from __future__ import annotations

import json
import re
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from rag.assistant import Assistant, User
from rag.index import Index
from rag.llm import ChatClient, Completion, Message
from rag.search import search
from rag.settings import Settings
from rag.users import add_user
from tests.helpers import ingest
from ui import corpus

pytestmark = pytest.mark.integration

# Access sets (folder -> groups) and the topics whose restricted facts each holds.
FOLDERS: dict[str, list[str]] = {
    "rrhh": ["rrhh"],
    "finanzas": ["finanzas"],
    "direccion": ["direccion"],
    "legal": ["legal"],
    "ventas": ["ventas"],
    "comite": ["direccion", "finanzas"],
}
TOPICS: dict[str, list[tuple[str, str]]] = {
    "rrhh": [("nominas", "la revisión salarial de las nóminas"), ("despidos", "el plan de despidos del almacén")],
    "finanzas": [("tesoreria", "la previsión de tesorería"), ("credito", "la póliza de crédito con el banco")],
    "direccion": [("fusion", "la fusión con la competencia"), ("bonus", "el bonus de los directivos")],
    "legal": [("demanda", "la demanda del proveedor"), ("patente", "el registro de la patente")],
    "ventas": [("descuentos", "los descuentos al cliente principal"), ("tarifas", "las tarifas del año próximo")],
    "comite": [("inversion", "la inversión en la nave nueva"), ("auditoria", "la auditoría externa")],
}
USERS: dict[str, set[str]] = {
    "pablo": set(),
    "ana": {"rrhh"},
    "luis": {"finanzas"},
    "marta": {"direccion"},
    "sara": {"legal"},
    "tomas": {"ventas"},
    "eva": {"rrhh", "legal"},
    "jefe": {"direccion", "finanzas"},
}
CANARY = re.compile(r"CANARIO-[A-Z]+-[0-9]+")


def canary(folder: str, topic: str) -> str:
    return f"CANARIO-{topic.upper()}-{zlib.crc32(f'{folder}/{topic}'.encode()) % 9000 + 1000}"


def visible(folder: str, groups: set[str]) -> bool:
    return bool(set(FOLDERS[folder]) & groups)


class QueryMemo:
    """The real embedder, with each text's vector kept: 8 users ask the same 40 questions over the same 14
    documents, and embedding the same queries, chunks and answer sentences again (verification embeds
    them on every answer; seconds each on a busy 2-core machine) would be nearly all of the test's time."""

    def __init__(self, embedder: Any) -> None:
        self._embedder = embedder
        self._queries: dict[str, Any] = {}
        self._documents: dict[str, Any] = {}

    def embed_query(self, text: str) -> Any:
        if text not in self._queries:
            self._queries[text] = self._embedder.embed_query(text)
        return self._queries[text]

    def embed_documents(self, texts: list[str]) -> Any:
        import numpy as np

        if not texts:
            return self._embedder.embed_documents(texts)
        missing = sorted({t for t in texts if t not in self._documents})
        if missing:
            self._documents.update(zip(missing, self._embedder.embed_documents(missing), strict=True))
        return np.asarray([self._documents[t] for t in texts])

    def __getattr__(self, name: str) -> Any:
        return getattr(self._embedder, name)


@pytest.fixture(scope="module")
def memo(embedder: Any) -> QueryMemo:
    return QueryMemo(embedder)


class EchoClient(ChatClient):
    """A deterministic chat model: answers with the text of every source in the prompt, each cited."""

    def count_tokens(self, text: str) -> int:
        return len(text) // 3 + 1

    def health(self) -> str | None:
        return None

    def stream(self, messages: list[Message], *, out: Completion | None = None, **_: Any) -> Iterator[str]:
        user = messages[-1]["content"]
        blocks = re.findall(r'<source n="(\d+)"[^>]*>\n(.*?)\n</source>', user, flags=re.S)
        text = " ".join(f"{' '.join(body.split())} [{n}]" for n, body in blocks) if blocks else user
        if out is not None:
            out.text, out.completion_tokens, out.first_token_s = text, self.count_tokens(text), 0.0
        yield text

    def complete(self, messages: list[Message], *, max_tokens: int | None = None, **_: Any) -> Completion:
        out = Completion()
        for _piece in self.stream(messages, out=out):
            pass
        out.text = messages[-1]["content"].strip().splitlines()[-1]  # helper calls: hand the question back
        return out


@pytest.fixture(scope="module")
def matrix(tmp_path_factory: pytest.TempPathFactory, embedder: Any) -> Iterator[tuple[Settings, Path]]:
    from rag.settings import load_settings
    from tests.helpers import TEST_MODELS

    base = tmp_path_factory.mktemp("matrix")
    environ = {"FUENTE_HOME": str(base / "home"), "FUENTE__PATHS__MODELS": str(TEST_MODELS)}
    settings = load_settings(
        "test",
        environ=environ,
        overrides={"retrieval": {"translate_query": False, "k": 6}, "llm": {"answer_protocol": "cite_v1"}},
    )
    docs = base / "docs"
    for folder, groups in FOLDERS.items():
        (docs / folder).mkdir(parents=True)
        (docs / folder / "_access.yaml").write_text(f"groups: [{', '.join(groups)}]\nsensitivity: restricted\n")
        for topic, phrase in TOPICS[folder]:
            (docs / folder / f"{topic}.md").write_text(
                f"# Informe sobre {phrase}\n\nEl documento interno sobre {phrase} fija la clave "
                f"{canary(folder, topic)} para el expediente de {topic}. Solo el equipo puede consultarlo.\n",
                encoding="utf-8",
            )
    (docs / "general").mkdir()
    for topic, phrase in [("comedor", "el horario del comedor"), ("vacaciones", "el calendario de vacaciones")]:
        (docs / "general" / f"{topic}.md").write_text(
            f"# Aviso sobre {phrase}\n\nEl aviso público sobre {phrase} vale para toda la plantilla.\n"
        )
    ingest(settings, embedder, docs)
    for name, groups in USERS.items():
        add_user(settings, name, password=None, groups=frozenset(groups))
    yield settings, docs


def questions() -> list[str]:
    out = []
    for folder, topics in TOPICS.items():
        for topic, phrase in topics:
            out += [
                f"¿Qué clave tiene el expediente de {topic}?",
                f"Informe sobre {phrase}",
                f"{canary(folder, topic)}",
            ]
    out += [
        "¿Cuál es la clave del expediente?",
        "documento interno solo el equipo puede consultarlo",
        "horario del comedor",
        "CANARIO",
    ]
    return out


def allowed(groups: set[str]) -> set[str]:
    return {canary(f, t) for f in FOLDERS if visible(f, groups) for t, _ in TOPICS[f]}


def test_the_matrix_has_the_size_the_issue_asks_for() -> None:
    assert len(set(g for gs in FOLDERS.values() for g in gs)) >= 4
    assert len(USERS) * len(questions()) >= 300


def test_search_returns_no_canary_of_another_group(matrix: tuple[Settings, Path], memo: QueryMemo) -> None:
    settings, _ = matrix
    index = Index(settings)
    found: dict[str, set[str]] = {name: set() for name in USERS}
    pairs = 0
    try:
        for name, groups in USERS.items():
            for q in questions():
                hits = search(index, memo, settings, q, frozenset(groups), k=10)  # type: ignore[arg-type]
                seen = set(CANARY.findall(json.dumps([h.__dict__ for h in hits], ensure_ascii=False)))
                assert seen <= allowed(groups), (name, q, seen - allowed(groups))
                assert all(visible_groups(h.groups, groups) for h in hits), (name, q)
                found[name] |= seen
                pairs += 1
    finally:
        index.close()
    assert pairs >= 300
    for name, groups in USERS.items():
        assert found[name] == allowed(groups), (name, allowed(groups) - found[name])  # they do find their own


def visible_groups(chunk_groups: list[str], groups: set[str]) -> bool:
    return "everyone" in chunk_groups or bool(set(chunk_groups) & groups)


def test_answers_citations_and_closest_sources_hold_no_canary_of_another_group(
    matrix: tuple[Settings, Path], memo: QueryMemo
) -> None:
    settings, _ = matrix
    index = Index(settings)
    assistant = Assistant(settings, index, memo, EchoClient(settings.llm.local))  # type: ignore[arg-type]
    own: dict[str, set[str]] = {name: set() for name in USERS}
    pairs = 0
    try:
        for name, groups in USERS.items():
            for q in questions():
                answer = assistant.ask(q, User(name, frozenset(groups)))
                # The question itself may name a canary (users guess): only what came back counts.
                dumped = json.dumps(answer.to_dict(), ensure_ascii=False, default=str).replace(q, "")
                seen = set(CANARY.findall(dumped))
                assert seen <= allowed(groups), (name, q, seen - allowed(groups))
                own[name] |= seen
                pairs += 1
    finally:
        index.close()
    assert pairs >= 300
    for name, groups in USERS.items():
        if groups:
            assert own[name], name  # the echo model did answer from their own documents


def test_documents_statistics_jobs_and_downloads_show_only_what_a_user_may_see(
    matrix: tuple[Settings, Path],
) -> None:
    settings, docs = matrix
    files = sorted(p for p in docs.rglob("*.md"))
    for name, groups in USERS.items():
        mine = frozenset(groups)
        listed = corpus.documents(settings, mine)
        expected = {str(p) for p in files if p.parent.name == "general" or visible(p.parent.name, groups)}
        assert {d.source_uri for d in listed} == expected, name
        stats = corpus.statistics(listed)
        # Counts cover exactly the documents they may see (a shared document names its other groups, as its label does).
        assert sum(stats["type"].values()) == sum(stats["language"].values()) == len(expected), name
        assert set(stats["group"]) <= {g for f in FOLDERS if visible(f, groups) for g in FOLDERS[f]} | {"everyone"}
        for job, _hidden in corpus.jobs(settings, mine):
            assert {f.path for f in job.files} <= expected, name
        for p in files:
            served = corpus.source_path(settings, str(p), mine)
            assert (served is not None) == (str(p) in expected), (name, p)


def test_fuente_search_json_as_a_user_and_as_groups(matrix: tuple[Settings, Path], monkeypatch: Any) -> None:
    from ui.cli import app

    settings, _ = matrix
    monkeypatch.setenv("FUENTE_HOME", str(settings.paths.home))
    monkeypatch.setenv("FUENTE_PROFILE", "test")
    monkeypatch.setenv("FUENTE__PATHS__MODELS", str(settings.paths.models_dir))
    runner = CliRunner()
    target = canary("rrhh", "despidos")
    for who, expect in ((["--user", "ana"], True), (["--groups", "ventas,legal"], False), (["--user", "luis"], False)):
        result = runner.invoke(app, ["search", target, *who, "--json"])
        assert result.exit_code == 0, result.output
        data = json.loads(result.stdout)
        text = json.dumps(data["hits"], ensure_ascii=False)
        assert (target in text) == expect, who
        assert {"source", "title", "location", "groups", "sensitivity", "snippet"} <= set(data["hits"][0])
    assert runner.invoke(app, ["search", "x", "--user", "nadie"]).exit_code == 4
