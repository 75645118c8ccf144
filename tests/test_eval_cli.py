"""`fuente eval` commands: errors in one sentence, list/show/compare over a stored run, and drafting
questions from an ingested corpus with the real 0.5B llama.cpp server."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from eval.datasets import load_jsonl
from eval.store import RunStore
from tests.helpers import SAMPLE_CORPUS, TEST_MODELS
from ui.cli import app

cli = CliRunner()


def _env(tmp_path: Path) -> dict[str, Any]:
    return {"FUENTE_HOME": str(tmp_path / "home"), "FUENTE__PATHS__MODELS": str(TEST_MODELS),
            "FUENTE_PROFILE": "test", "OPENAI_API_KEY": None}  # fmt: skip


def test_cloud_contender_without_its_key_says_so_in_one_sentence(tmp_path: Path) -> None:
    result = cli.invoke(app, ["eval", "run", "--contender", "cloud", "--limit", "2"], env=_env(tmp_path))
    assert result.exit_code == 4
    message = " ".join(result.output.split())
    assert message == (
        "Contender 'cloud' needs an API key in OPENAI_API_KEY, which is not set; export it or leave "
        "--contender cloud out."
    )


def test_unknown_contender_and_run_are_one_sentence_errors(tmp_path: Path) -> None:
    env = _env(tmp_path)
    unknown = cli.invoke(app, ["eval", "run", "--contender", "gpt-9"], env=env)
    assert unknown.exit_code == 4 and "No contender 'gpt-9'" in unknown.output
    empty = cli.invoke(app, ["eval", "list"], env=env)
    assert empty.exit_code == 0 and "No evaluation runs yet" in empty.output
    missing = cli.invoke(app, ["eval", "compare", "nope", "local"], env=env)
    assert missing.exit_code == 4 and "No evaluation run 'nope'" in missing.output


def _store_runs(home: Path) -> tuple[str, str]:
    from eval.compare import summarize

    with RunStore(home / "eval.db") as store:
        ids = []
        for contender, f1 in (("local", 0.2), ("cloud", 0.9)):
            run = store.start_run(contender=contender, dataset="q.jsonl", dataset_hash="h" * 64, config={})
            rows = [
                {"question_id": "a1", "question": "¿Dieta?", "kind": "answerable", "answerable": True, "refused": False,
                 "answer": "75 € [1]", "error": None, "citations": [],
                 "metrics": {"token_f1": f1, "claim_f1": math.nan, "latency_s": 3.0 / (1 + f1)}},
                {"question_id": "u1", "question": "¿Wifi?", "kind": "unanswerable", "answerable": False,
                 "refused": True, "answer": "No.", "error": None, "citations": [],
                 "metrics": {"refusal_correct": 1.0, "latency_s": 1.0}},
            ]  # fmt: skip
            for r in rows:
                store.add_row(run, r)
            store.finish_run(run, summary=summarize(rows))
            ids.append(run)
    return ids[0], ids[1]


def test_list_show_and_compare_a_stored_pair(tmp_path: Path) -> None:
    env = _env(tmp_path)
    local, cloud = _store_runs(tmp_path / "home")
    listed = cli.invoke(app, ["eval", "list"], env=env)
    assert listed.exit_code == 0 and local[:8] in listed.output and cloud[:8] in listed.output
    shown = cli.invoke(app, ["eval", "show", local[:8], "--json"], env=env)
    data = json.loads(shown.output)
    assert data["run"]["contender"] == "local" and math.isnan(data["rows"][0]["metrics"]["claim_f1"])
    report = tmp_path / "out" / "report.md"
    compared = cli.invoke(app, ["eval", "compare", local[:8], "cloud", "--markdown", str(report)], env=env)
    assert compared.exit_code == 0, compared.output
    assert "token_f1" in compared.output and "1 NaN" in compared.output
    text = report.read_text()
    assert "## Answers" in text and "| a1 |" in text and "B better on 1" in text


@pytest.mark.integration
@pytest.mark.slow
def test_generate_drafts_questions_from_the_ingested_corpus(
    tmp_path: Path,
    embedder,
    llama_server: dict[str, Any],  # type: ignore[no-untyped-def]
) -> None:
    from rag.settings import load_settings
    from tests.helpers import ingest

    corpus = tmp_path / "corpus"
    for rel in ("internal/_access.yaml", "internal/politica_viajes.md", "rrhh/_access.yaml",
                "rrhh/calendario_nominas_2026.md"):  # fmt: skip
        (corpus / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(SAMPLE_CORPUS / rel, corpus / rel)
    env = _env(tmp_path)
    env.update({"FUENTE__LLM__LOCAL__BASE_URL": llama_server["base_url"], "FUENTE__LLM__LOCAL__MODEL": llama_server["model"],
                "FUENTE__LLM__LOCAL__CONTEXT_TOKENS": "2048"})  # fmt: skip
    settings = load_settings("test", environ={k: v for k, v in env.items() if v is not None})
    ingest(settings, embedder, corpus)

    out = tmp_path / "drafts.jsonl"
    result = cli.invoke(app, ["eval", "generate", "--limit", "2", "--out", str(out)], env=env)
    assert result.exit_code == 0, result.output
    drafts = load_jsonl(out)  # our own format, readable by `fuente eval run --dataset`
    assert 1 <= len(drafts) <= 2
    raw = [json.loads(line) for line in out.read_text().splitlines()]
    for sample, record in zip(drafts, raw, strict=True):
        assert record["draft"] is True and "draft" in sample.tags and sample.answerable
        assert sample.gold_sources[0] in ("internal/politica_viajes.md", "rrhh/calendario_nominas_2026.md")
        assert sample.gold_chunk_ids and sample.reference_answer
        if sample.gold_sources[0].startswith("rrhh/"):
            assert sample.groups == frozenset({"rrhh"})
