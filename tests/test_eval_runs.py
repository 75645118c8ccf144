"""End to end: `fuente eval run` with two real local contenders, then `fuente eval compare` and its reports.

Two real llama.cpp servers stand in for "local" and "cloud": the session's 0.5B server, and a
second server of the same 0.5B GGUF under another alias (the 1.5B answers a question in about 25 s
here, too slow for the suite). The "cloud" contender goes through the policy route, so its
confidential HR question stays on the local model while the others go to the stand-in cloud.
The local model also judges one answer twice (claims, faithfulness). No mocks.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from eval.compare import FAMILIES
from eval.store import RunStore
from rag.settings import REPO_ROOT
from tests.helpers import SAMPLE_CORPUS, TEST_MODELS
from tests.servers import llama_cpp_server
from ui.cli import app

pytestmark = [pytest.mark.integration, pytest.mark.slow]
QUESTIONS = ("a01", "u02", "r02-allowed", "r02-denied")
SUBSET = ("internal/_access.yaml", "internal/politica_viajes.md", "public/_access.yaml", "public/faq_empresa.md",
          "rrhh/_access.yaml", "rrhh/calendario_nominas_2026.md")  # fmt: skip


@pytest.fixture(scope="module")
def second_server() -> Iterator[dict[str, Any]]:
    """Another real llama.cpp server: the same 0.5B GGUF under the alias of a "cloud" model."""
    with llama_cpp_server("cloud-stand-in", TEST_MODELS.parent / "llama-eval-cloud-server.log") as server:
        yield server


def _endpoint(server: dict[str, Any], name: str) -> dict[str, Any]:
    return {"name": name, "kind": "llamacpp", "base_url": server["base_url"], "model": server["model"],
            "context_tokens": server["context_tokens"], "max_tokens": 120, "timeout_s": 300, "retries": 0}  # fmt: skip


def test_two_local_contenders_run_compare_and_report(
    tmp_path: Path, llama_server: dict[str, Any], second_server: dict[str, Any]
) -> None:
    corpus = tmp_path / "corpus"
    for rel in SUBSET:
        (corpus / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(SAMPLE_CORPUS / rel, corpus / rel)
    questions = [json.loads(line) for line in (REPO_ROOT / "samples" / "questions.jsonl").read_text().splitlines()]
    dataset = tmp_path / "questions.jsonl"
    dataset.write_text("".join(json.dumps(q) + "\n" for q in questions if q["id"] in QUESTIONS))
    contenders = tmp_path / "contenders.yaml"
    contenders.write_text(json.dumps({  # JSON is YAML
        "contenders": {
            "local": {"overrides": {"llm": {"local": _endpoint(llama_server, "local")},
                                    "retrieval": {"translate_query": False}}},
            "cloud": {"overrides": {"llm": {"local": _endpoint(llama_server, "local"),
                                            "cloud": _endpoint(second_server, "cloud")},
                                    "policy": {"cloud_enabled": True, "route": "cloud"},
                                    "retrieval": {"translate_query": False, "k": 3}}},
        },
        "prices": {"qwen2.5-0.5b": {"per_hour": 0.1}, "cloud-stand-in": {"input": 0.15, "output": 0.6}},
    }))  # fmt: skip
    home = tmp_path / "home"
    env = {"FUENTE_HOME": str(home), "FUENTE__PATHS__MODELS": str(TEST_MODELS), "FUENTE_PROFILE": "test"}
    cli = CliRunner()

    ran = cli.invoke(app, ["eval", "run", "-d", str(dataset), "-c", "local", "-c", "cloud", "--corpus", str(corpus),
                           "--contenders", str(contenders), "--judge", "local", "--judge-limit", "1",
                           "--judge-passes", "2"], env=env)  # fmt: skip
    assert ran.exit_code == 0, ran.output
    with RunStore(home / "eval.db") as store:
        local_run, cloud_run = store.get_run("local"), store.get_run("cloud")
        assert local_run.status == cloud_run.status == "done"
        assert local_run.dataset_hash == cloud_run.dataset_hash and local_run.git_commit
        assert cloud_run.config["settings"]["retrieval"]["k"] == 3 and cloud_run.config["judge"]
        local_rows = {r["question_id"]: r for r in store.rows(local_run.run_id)}
        cloud_rows = {r["question_id"]: r for r in store.rows(cloud_run.run_id)}
    assert set(local_rows) == set(cloud_rows) == set(QUESTIONS)
    for rows in (local_rows, cloud_rows):
        assert all(r["error"] is None and r["answer"] and r["model"] for r in rows.values())
        # Access is enforced in the run as for a user: the HR file never reaches someone outside HR.
        assert not any("/rrhh/" in s["source_uri"] for s in rows["r02-denied"]["retrieved"])
        assert any("/rrhh/" in s["source_uri"] for s in rows["r02-allowed"]["retrieved"])
        assert rows["r02-allowed"]["metrics"]["mrr@10"] > 0
        assert "contains_answer" not in rows["u02"]["metrics"]  # does not apply to an unanswerable question
    # The policy route: the confidential HR question stays local, the public travel question goes "cloud".
    assert cloud_rows["r02-allowed"]["route"] == "local" and cloud_rows["a01"]["route"] == "cloud"
    assert all(r["route"] == "local" for r in local_rows.values())
    judged = [r for r in local_rows.values() if r["judge"]]
    assert len(judged) == 1 and all(len(v["passes"]) == 2 for k, v in judged[0]["judge"].items() if k != "_claims")

    md, page = tmp_path / "report.md", tmp_path / "report.html"
    compared = cli.invoke(app, ["eval", "compare", "local", "cloud", "--markdown", str(md), "--html", str(page)],
                          env=env)  # fmt: skip
    assert compared.exit_code == 0, compared.output
    assert "B better on" in compared.output
    text, html = md.read_text(), page.read_text()
    for title in ("Retrieval", "Answers", "Claim-level correctness", "Hallucination / faithfulness", "Refusal",
                  "Citations", "Operations"):  # fmt: skip
        assert f"## {title}" in text, title
    for label in ("Recall@k", "MRR@10", "nDCG@10", "Exact match", "Token F1", "Accepted short answer",
                  "Claim precision", "Claim recall", "Claim F1", "offline scorer", "(judge)", "Abstention precision",
                  "Abstention recall", "Answer rate", "Citation precision", "Citation recall", "Latency p50",
                  "Latency p95", "Time to first token p50", "Time to first token p95", "Prompt tokens",
                  "Completion tokens", "Cost"):  # fmt: skip
        assert label in text, label
    for family in FAMILIES:
        assert f"<section id='{family}'>" in html
    assert html.count("<svg") >= len(FAMILIES) and "<script" not in html

    listed = cli.invoke(app, ["eval", "list"], env=env)
    assert listed.exit_code == 0 and local_run.short_id in listed.output and cloud_run.short_id in listed.output
    shown = cli.invoke(app, ["eval", "show", cloud_run.short_id, "--question", "a01"], env=env)
    assert shown.exit_code == 0 and json.loads(shown.output)["route"] == "cloud"
