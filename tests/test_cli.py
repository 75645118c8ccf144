"""The `fuente` command as a user runs it: exit codes, JSON, messages (in-process through Typer's runner)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from rag.index import Index
from rag.settings import Settings
from tests.helpers import TEST_MODELS, SettingsFactory
from ui.cli import app

pytestmark = pytest.mark.integration

SMALL = ("public/faq_empresa.md", "internal/remote_work_policy.txt", "internal/politica_viajes.md")


@pytest.fixture
def settings(make_settings: SettingsFactory, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The environment `fuente` reads, pointed at this test's home; returns the same settings."""
    for name in [n for n in os.environ if n.startswith("FUENTE")]:
        monkeypatch.delenv(name)
    made = make_settings()
    monkeypatch.setenv("FUENTE_HOME", str(made.paths.home))
    monkeypatch.setenv("FUENTE_PROFILE", "test")
    monkeypatch.setenv("FUENTE__PATHS__MODELS", str(TEST_MODELS))
    return made


def fuente(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


def one_line(text: str) -> str:
    return " ".join(text.split())  # rich wraps at 80 columns off a terminal


def chunk_count(settings: Settings) -> tuple[int, int]:
    """Chunks in the records and in Chroma."""
    index = Index(settings)
    try:
        return index.records.chunk_count(), index.vectors.count()
    finally:
        index.close()


def test_ingest_json_prints_the_summary(settings: Settings, small_corpus: Path) -> None:
    result = fuente("ingest", str(small_corpus), "--json")
    assert result.exit_code == 0, result.output
    summary: dict[str, Any] = json.loads(result.stdout)
    assert summary["status"] == "completed" and summary["dry_run"] is False
    assert summary["counts"]["added"] == 3 and summary["counts"]["failed"] == 0
    assert summary["counts"]["chunks_embedded"] == summary["counts"]["chunks_total"] > 0
    assert {(Path(f["path"]).name, f["status"]) for f in summary["files"]} == {
        (Path(rel).name, "added") for rel in SMALL
    }
    assert chunk_count(settings) == (summary["counts"]["chunks_total"],) * 2


def test_dry_run_prints_the_plan_and_changes_nothing(settings: Settings, small_corpus: Path) -> None:
    result = fuente("ingest", str(small_corpus), "--dry-run")
    assert result.exit_code == 0, result.output
    planned = [line.split() for line in result.stdout.splitlines() if line.strip().startswith("added")]
    assert sorted(words[1] for words in planned) == sorted(str(small_corpus / Path(rel).name) for rel in SMALL)
    assert chunk_count(settings) == (0, 0)
    shown = json.loads(fuente("jobs", "--json").stdout)
    assert [(j["status"], j["dry_run"]) for j in shown] == [("planned", True)]


def test_jobs_lists_and_shows_every_file(
    settings: Settings, small_corpus: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "250")  # the tables are for people: a wide terminal keeps cells whole
    assert fuente("ingest", str(small_corpus)).exit_code == 0
    (small_corpus / "faq_empresa.md").unlink()
    assert fuente("ingest", str(small_corpus)).exit_code == 0

    listed = fuente("jobs")
    assert listed.exit_code == 0, listed.output
    assert listed.stdout.count(" completed ") == 2 and listed.stdout.count(str(small_corpus)) == 2
    jobs = json.loads(fuente("jobs", "--json").stdout)
    assert [j["job_id"] for j in jobs] == [2, 1]  # newest first

    shown = fuente("jobs", "show", "2", "--json")
    assert shown.exit_code == 0, shown.output
    job = json.loads(shown.stdout)
    assert {(Path(f["path"]).name, f["status"]) for f in job["files"]} == {
        ("faq_empresa.md", "deleted"),
        ("remote_work_policy.txt", "unchanged"),
        ("politica_viajes.md", "unchanged"),
    }
    assert job["counts"]["deleted"] == 1

    table = fuente("jobs", "show", "1")
    assert table.exit_code == 0, table.output
    rows = [line for line in table.stdout.splitlines() if str(small_corpus) in line]
    assert len(rows) == 3 and all(" added " in row for row in rows)


def test_an_unknown_job_is_a_one_line_error(settings: Settings) -> None:
    result = fuente("jobs", "show", "999")
    assert result.exit_code == 4
    assert result.stderr.strip() == "No job 999; list jobs with `fuente jobs`."
    assert result.stdout == ""


def test_an_unknown_profile_exits_4_naming_the_known_ones(settings: Settings, tmp_path: Path) -> None:
    result = fuente("-p", "nope", "ingest", str(tmp_path))
    assert result.exit_code == 4
    message = one_line(result.stderr)
    assert "No profile 'nope'" in message
    for known in ("default", "test", "gpu", "cloud"):
        assert f"'{known}'" in message


def test_a_corrupt_pdf_exits_1_while_the_other_files_are_added(settings: Settings, tmp_path: Path) -> None:
    folder = tmp_path / "mixed"
    folder.mkdir()
    (folder / "horario.md").write_text("# Horario\n\nLa oficina abre de 8:00 a 18:00 de lunes a viernes.\n")
    (folder / "informe.pdf").write_bytes(b"%PDF-1.7\n" + os.urandom(4096))
    result = fuente("ingest", str(folder), "--json")
    assert result.exit_code == 1, result.output
    summary = json.loads(result.stdout)
    by_name = {Path(f["path"]).name: f for f in summary["files"]}
    assert by_name["horario.md"]["status"] == "added" and by_name["horario.md"]["chunks"] >= 1
    assert by_name["informe.pdf"]["status"] == "failed" and by_name["informe.pdf"]["reason"]
    assert summary["status"] == "completed_with_errors"
    assert chunk_count(settings)[0] == by_name["horario.md"]["chunks"]


def test_models_list_shows_the_provisioned_model_as_ok(settings: Settings) -> None:
    result = fuente("models", "list")
    assert result.exit_code == 0, result.output
    rows = {line.split()[0]: line.split()[1] for line in result.stdout.splitlines() if line.strip()}
    assert rows["all-MiniLM-L6-v2"] == "ok"


def test_models_list_shows_a_missing_model_as_missing(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = tmp_path / "no-models"
    empty.mkdir()
    monkeypatch.setenv("FUENTE__PATHS__MODELS", str(empty))
    result = fuente("models", "list")
    assert result.exit_code == 0, result.output
    rows = {line.split()[0]: line.split()[1] for line in result.stdout.splitlines() if line.strip()}
    assert rows["all-MiniLM-L6-v2"] == "missing"
