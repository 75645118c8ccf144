"""Unit tests of the run store, contenders, per-question metrics, comparisons and reports (no models)."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import pytest

from eval.compare import FAMILIES, compare_rows, outcome, summarize
from eval.contenders import ContenderError, check_ready, contender_settings, load_book, parse_book
from eval.datasets import EvalSample
from eval.report import html_report, markdown
from eval.runner import gold_key, question_metrics, select
from eval.store import RunNotFound, RunStore
from rag.assistant import Answer, Citation
from rag.settings import load_settings
from rag.types import SentenceCheck, SentenceKind
from tests.helpers import ScriptedJudge


def row(qid: str, *, answerable: bool = True, **metrics: float) -> dict[str, Any]:
    return {"question_id": qid, "question": f"q {qid}", "answerable": answerable, "refused": not answerable,
            "kind": "answerable" if answerable else "unanswerable", "answer": "x", "metrics": metrics,
            "error": None}  # fmt: skip


def test_store_round_trip_keeps_nan_and_finds_runs_by_prefix_or_contender(tmp_path: Path) -> None:
    with RunStore(tmp_path / "eval.db") as store:
        first = store.start_run(contender="local", dataset="d.jsonl", dataset_hash="ab" * 32, config={"k": 4})
        store.add_row(first, row("q1", token_f1=0.5))
        store.add_row(first, row("q2", token_f1=1.0, claim_f1=math.nan))
        store.add_row(first, row("q1", token_f1=0.75))  # a repeat replaces, keeps its place
        store.finish_run(first, summary=summarize(store.rows(first)))
        second = store.start_run(contender="cloud", dataset="d.jsonl", dataset_hash="ab" * 32, config={})

        assert [r.run_id for r in store.list_runs()] == [second, first]
        info = store.get_run(first[:6])
        assert info.run_id == first and info.status == "done" and info.n_questions == 2 and info.config == {"k": 4}
        assert store.get_run("cloud").run_id == second and store.get_run("local").run_id == first
        rows = store.rows(first)
        assert [r["question_id"] for r in rows] == ["q1", "q2"]
        assert rows[0]["metrics"]["token_f1"] == 0.75 and math.isnan(rows[1]["metrics"]["claim_f1"])
        assert info.summary["token_f1"]["n_valid"] == 2 and info.summary["claim_f1"]["n_nan"] == 1
        with pytest.raises(RunNotFound, match="fuente eval list"):
            store.get_run("nope")
        store.delete_run(second)
        assert [r.contender for r in store.list_runs()] == ["local"]


def test_contenders_overlay_answer_settings_only_and_force_temperature_zero() -> None:
    book = parse_book(
        {
            "contenders": {
                "hot": {"overrides": {"llm": {"local": {"temperature": 0.9, "model": "m"}}, "retrieval": {"k": 2}}},
                "cloud": {
                    "key_env": "X_KEY",
                    "overrides": {
                        "llm": {"cloud": {"name": "cloud", "api_key_env": "X_KEY"}},
                        "policy": {"cloud_enabled": True, "route": "cloud"},
                    },
                },  # fmt: skip
            },
            "prices": {"m": {"input": 1.0, "output": 2.0, "per_hour": 36.0}},
        }
    )
    base = load_settings("test", environ={})
    hot = contender_settings(base, book.get("hot"))
    assert hot.llm.local.temperature == 0.0 and hot.llm.local.model == "m" and hot.retrieval.k == 2
    assert hot.embedding == base.embedding  # the index is shared
    price = book.price("m")
    assert price is not None and price.cost(1_000_000, 500_000, 10.0) == pytest.approx(1.0 + 1.0 + 0.1)
    with pytest.raises(ContenderError, match=r"^Contender 'cloud' needs an API key in X_KEY, which is not set; "):
        check_ready(book.get("cloud"), contender_settings(base, book.get("cloud")), environ={})
    check_ready(book.get("cloud"), contender_settings(base, book.get("cloud")), environ={"X_KEY": "k"})
    with pytest.raises(ContenderError, match="may only change"):
        parse_book({"contenders": {"bad": {"overrides": {"embedding": {"model": "x"}}}}})
    with pytest.raises(ContenderError, match="No contender 'zzz'"):
        book.get("zzz")


def test_shipped_contenders_file_is_valid() -> None:
    book = load_book()
    base = load_settings("test", environ={})
    assert {"local", "cloud"} <= set(book.contenders)
    for contender in book.contenders.values():
        contender_settings(base, contender)
    assert book.price("gpt-4o-mini") is not None


def _answer(text: str, *, refused: bool = False, sentences: list[SentenceCheck] | None = None,
            cited: tuple[str, ...] = ()) -> Answer:  # fmt: skip
    return Answer(
        question_id="x", question="q", standalone_question="q", language="es", text=text, refused=refused,
        verdict="refusal" if refused else "supported",
        citations=tuple(Citation(i, f"c{i}", "t", uri, "", "") for i, uri in enumerate(cited, 1)),
        sentences=tuple(sentences or ()), closest_sources=(), route="local", route_reason="", model="m",
        prompt_version="answer_v1", generated_text=text, timings={"total_s": 2.0, "first_token_s": 0.5}, tokens={"prompt": 10, "completion": 5},
    )  # fmt: skip


def test_question_metrics_apply_by_kind_and_nan_when_the_question_failed() -> None:
    sample = EvalSample("a01", "¿Dieta?", "es", True, "75 € por día.", ("75",), ("internal/politica_viajes.md",))
    ranked = ["/c/public/faq.md", "/c/internal/politica_viajes.md", "/c/internal/politica_viajes.md"]
    sentences = [
        SentenceCheck("Son 75 € [2].", (2,), (), 0.8, (), True, "ok", SentenceKind.CLAIM),
        SentenceCheck("Y 5 más [1].", (1,), (), 0.1, (), False, "low", SentenceKind.CLAIM),
    ]
    got = question_metrics(sample, _answer("Son 75 € [2]. Y 5 más [1].", sentences=sentences,
                                           cited=("/c/internal/politica_viajes.md",)), ranked, k=4)  # fmt: skip
    assert got["mrr@10"] == 0.5 and got["recall@k"] == 1.0
    assert got["contains_answer"] == 1.0 and got["citation_recall"] == 1.0
    assert got["support_offline"] == 0.5 and got["citation_precision"] == 0.5 and got["refusal_correct"] == 1.0
    assert got["latency_s"] == 2.0 and got["ttft_s"] == 0.5
    # What a user sees: a right answer citing its gold source, nothing shown wrong.
    assert got["answered_correct"] == 1.0 and got["shown_wrong"] == 0.0
    wrong = question_metrics(sample, _answer("Son 48 € [1].", cited=("/c/public/faq.md",)), ranked, k=4)
    assert wrong["answered_correct"] == 0.0 and wrong["shown_wrong"] == 1.0

    unanswerable = EvalSample("u01", "¿Teléfono de Lisboa?", "es", False)
    refused = question_metrics(
        unanswerable, _answer("Los documentos no contienen esa información.", refused=True), [], 4
    )
    assert refused["refusal_correct"] == 1.0 and refused["refused_when_due"] == 1.0 and refused["shown_wrong"] == 0.0
    assert not {"recall@k", "contains_answer", "citation_recall", "exact_match"} & set(refused)  # do not apply

    failed = question_metrics(sample, None, [], 4)
    assert math.isnan(failed["contains_answer"]) and math.isnan(failed["mrr@10"]) and "latency_s" not in failed
    assert gold_key("/x/internal/politica_viajes.md", ["internal/politica_viajes.md"]) == "internal/politica_viajes.md"
    assert gold_key("/x/internal_politica_viajes.md", ["politica_viajes.md"]) == "/x/internal_politica_viajes.md"


def test_select_mixes_kinds_so_small_runs_have_each() -> None:
    samples = [EvalSample(f"a{i}", "q", "es", True) for i in range(5)]
    samples += [EvalSample("u1", "q", "es", False), EvalSample("r1", "q", "es", False, tags=("restricted-denied",))]
    assert [s.id for s in select(samples, 3)] == ["a0", "u1", "r1"]
    assert len(select(samples, None)) == 7


def _runs(tmp_path: Path) -> tuple[Any, list[dict[str, Any]], Any, list[dict[str, Any]]]:
    with RunStore(tmp_path / "eval.db") as store:
        a = store.start_run(contender="local", dataset="d", dataset_hash="h", config={})
        b = store.start_run(contender="cloud", dataset="d", dataset_hash="h", config={})
        return store.get_run(a), [], store.get_run(b), []


def test_compare_counts_nan_apart_and_wins_per_question(tmp_path: Path) -> None:
    a_info, _, b_info, _ = _runs(tmp_path)
    a_rows = [row("q1", contains_answer=1.0, claim_f1=math.nan, latency_s=2.0, ttft_s=0.4),
              row("q2", contains_answer=0.0, claim_f1=0.5, latency_s=4.0, ttft_s=0.5),
              row("u1", answerable=False, refusal_correct=1.0, latency_s=1.0)]  # fmt: skip
    b_rows = [row("q1", contains_answer=1.0, claim_f1=0.8, latency_s=1.0, ttft_s=0.2),
              row("q2", contains_answer=1.0, claim_f1=math.nan, latency_s=1.0, ttft_s=0.3),
              row("u1", answerable=False, refusal_correct=1.0, latency_s=0.5)]  # fmt: skip
    c = compare_rows(a_info, a_rows, b_info, b_rows)
    m = {r.info.name: r for r in c.metrics}
    assert m["claim_f1"].a is not None and m["claim_f1"].a.value == 0.5 and m["claim_f1"].a.n_nan == 1
    assert m["claim_f1"].a.n_na == 1  # the unanswerable question has no claim F1
    assert m["claim_precision"].a is None and m["claim_precision"].b is None  # its family is shown whole
    assert "citation_recall" not in m  # no run measured any citation metric
    assert (m["contains_answer"].wins, m["contains_answer"].losses, m["contains_answer"].ties) == (1, 0, 1)
    assert m["latency_s"].wins == 3  # lower is better
    assert m["abstention_recall"].a is not None and m["abstention_recall"].a.value == 1.0
    assert m["latency_p50"].b is not None and m["latency_p50"].b.value == 1.0
    assert [q.winner for q in c.questions] == [None, "b", None]
    assert outcome(row("u2", answerable=False, refusal_correct=0.0)) == 0.0
    assert c.same_questions and not c.notes


def test_reports_show_every_family_and_are_self_contained(tmp_path: Path) -> None:
    a_info, _, b_info, _ = _runs(tmp_path)
    full: dict[str, Any] = {"recall@k": 1.0, "mrr@10": 1.0, "ndcg@10": 1.0, "exact_match": 0.0, "token_f1": 0.4,
            "contains_answer": 1.0, "claim_precision": 1.0, "claim_recall": 0.5, "claim_f1": 0.67,
            "support_offline": 1.0, "faithfulness_judge": 1.0, "refusal_correct": 1.0, "citation_precision": 1.0,
            "citation_recall": 1.0, "latency_s": 3.0, "ttft_s": 0.4, "prompt_tokens": 900.0,
            "completion_tokens": 40.0, "cost": 0.0001, "answered_correct": 1.0, "shown_wrong": 0.0}  # fmt: skip
    rows_a = [row("q1", **full), row("u1", answerable=False, refusal_correct=0.0, latency_s=2.0)]
    rows_b = [
        row("q1", **{**full, "token_f1": 0.6, "latency_s": 5.0}),
        row("u1", answerable=False, refusal_correct=1.0),
    ]
    rows_b[0]["answer"] = "<script>alert(1)</script> 75 €"
    c = compare_rows(a_info, rows_a, b_info, rows_b)
    assert c.families == list(FAMILIES)
    md = markdown(c)
    for title in (
        "Outcomes",
        "Retrieval",
        "Answers",
        "Claim-level",
        "Hallucination",
        "Refusal",
        "Citations",
        "Operations",
    ):
        assert f"## {title}" in md
    assert "Abstention recall" in md and "Latency p95" in md and "Time to first token p50" in md
    page = html_report(c)
    assert page.count("<svg") >= 7 and "<script>" not in page and "&lt;script&gt;" in page
    assert not re.search(r"""(src|href)=["']?https?:""", page)
    for family in FAMILIES:
        assert f"<section id='{family}'>" in page


def test_judge_passes_keep_mean_spread_and_nan_apart() -> None:
    from eval.runner import judge_passes

    sample = EvalSample("a01", "¿Dieta?", "es", True, "75 € por día.", ("75",))
    sentences = [{"text": "Son 75 €.", "kind": "claim", "supported": True}]
    judge = ScriptedJudge([1.0, 0.5])
    got = judge_passes(judge, sample, _answer("Son 75 € [1].", sentences=sentences), "contexto", passes=2)
    assert got["faithfulness_judge"]["mean"] == 0.75 and got["faithfulness_judge"]["spread"] == 0.25
    assert got["faithfulness_judge"]["passes"] == [1.0, 0.5]
    assert got["claim_precision"]["mean"] == 1.0 and got["claim_precision"]["spread"] == 0.0
    assert math.isnan(got["claim_recall"]["mean"]) and got["claim_recall"]["n_valid"] == 0
    assert got["_claims"]["claims"][0]["claim"] == "75 €"
    assert judge._claims_cache == {}  # the second pass asked afresh

    refused = _answer("Los documentos no contienen esa información.", refused=True)
    got = judge_passes(ScriptedJudge([0.0]), sample, refused, "contexto", passes=1)
    assert got["claim_recall"]["mean"] == 0.0 and "claim_precision" not in got
    assert "faithfulness_judge" not in got  # the model itself refused: nothing to judge
