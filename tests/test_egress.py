"""Tests for rag.egress: every cloud call leaves a trace of what left, never the values redacted."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from rag.egress import EgressLog, safe_endpoint
from rag.index.records import Records
from rag.pii import Redactor, total_counts
from rag.policy import prepare_for_cloud
from rag.types import AccessLabel, Chunk, Sensitivity
from tests.helpers import SettingsFactory


def chunk(chunk_id: str, text: str) -> Chunk:
    return Chunk(
        id=chunk_id,
        doc_id="doc",
        text=text,
        ordinal=0,
        source_uri="file:///docs/a.txt",
        title="A",
        access=AccessLabel(frozenset({"everyone"}), Sensitivity.INTERNAL),
        language="es",
        modified=0.0,
        content_hash="h",
    )


def dump(path: Path) -> str:
    with sqlite3.connect(path) as conn:
        return "\n".join(conn.iterdump())


def test_a_cloud_call_records_chunk_ids_and_counts_but_not_the_values(make_settings: SettingsFactory) -> None:
    settings = make_settings()
    values = ["12345678Z", "ana@example.es", "ES91 2100 0418 4502 0005 1332", "612 345 678"]
    chunks = [
        chunk("c1", "DNI 12345678Z, e-mail ana@example.es."),
        chunk("c2", "Cuenta ES91 2100 0418 4502 0005 1332; móvil 612 345 678; otra vez ana@example.es."),
    ]
    prepared = prepare_for_cloud(chunks, Redactor())

    with EgressLog.from_settings(settings) as log:
        log.record(
            question_id="q-42",
            endpoint="https://api.example.com/v1",
            model="gpt-x",
            chunk_ids=[c.id for c, _ in prepared],
            redactions=total_counts(r for _, r in prepared),
            at=1_700_000_000.0,
        )
        [entry] = log.list(10)

    assert entry.question_id == "q-42"
    assert entry.chunk_ids == ("c1", "c2")
    assert entry.redactions == {"DNI": 1, "EMAIL": 2, "IBAN": 1, "PHONE": 1}
    assert (entry.endpoint, entry.model, entry.time) == ("https://api.example.com/v1", "gpt-x", 1_700_000_000.0)
    stored = dump(settings.paths.records_db)
    assert "q-42" in stored
    for value in values:
        assert value not in stored


def test_the_log_shares_the_records_database(make_settings: SettingsFactory) -> None:
    settings = make_settings()
    records = Records(settings.paths.records_db)
    try:
        with EgressLog.from_settings(settings) as log:
            log.record(question_id="q", endpoint="http://x", model="m", chunk_ids=["a"], redactions={})
        tables = {r[0] for r in records.conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert {"egress", "chunks", "documents"} <= tables
        assert records.conn.execute("SELECT COUNT(*) FROM egress").fetchone()[0] == 1
    finally:
        records.close()


def test_list_gives_the_newest_first_up_to_the_limit(tmp_path: Path) -> None:
    path = tmp_path / "fuente.db"
    with EgressLog(path) as log:
        for n in range(5):
            log.record(question_id=f"q{n % 2}", endpoint="http://x", model="m", chunk_ids=[f"c{n}"], redactions={})

    with EgressLog(path) as reopened:  # entries outlive the process that wrote them
        assert [e.chunk_ids for e in reopened.list(3)] == [("c4",), ("c3",), ("c2",)]
        assert [e.chunk_ids for e in reopened.list(10, question_id="q1")] == [("c3",), ("c1",)]
        assert len(reopened.list()) == 5


def test_endpoint_credentials_are_not_logged(tmp_path: Path) -> None:
    with EgressLog(tmp_path / "fuente.db") as log:
        entry = log.record(
            question_id="q",
            endpoint="https://user:sk-secret@api.example.com:8443/v1?api-key=abc",
            model="m",
            chunk_ids=[],
            redactions={"PHONE": 0},
        )

    assert entry.endpoint == "https://api.example.com:8443/v1"
    assert entry.redactions == {}
    assert "sk-secret" not in dump(tmp_path / "fuente.db")
    assert safe_endpoint("not a url") == "not a url"
