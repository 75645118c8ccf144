"""The published-numbers machinery: retrieval through the real index, correlations, the page."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from eval.datasets import RAGCheckerPair, load_dataset
from eval.published.detectors import annotator_agreement, correlation
from eval.published.markdown import render
from tests.helpers import require_shared


def test_correlation_and_annotator_agreement() -> None:
    got = correlation([1.0, 2.0, 3.0, math.nan], [2.0, 4.0, 7.0, 1.0])
    assert got["n"] == 3 and got["pearson"] > 0.9 and got["spearman"] == pytest.approx(1.0)
    assert math.isnan(correlation([1.0, 2.0], [1.0, 2.0])["pearson"])  # too few to say

    def pair(iid: str, annotator: int, label: int) -> RAGCheckerPair:
        return RAGCheckerPair(iid, annotator, "d", "q", "gt", "r1", "r2", "m1", "m2", label, label, label)

    pairs = [pair(str(i), a, (i % 5) - 2) for i in range(6) for a in (0, 1)]
    assert annotator_agreement(pairs)["overall"]["pearson"] == pytest.approx(1.0)


def test_page_says_what_was_not_run(tmp_path: Path) -> None:
    page = render(tmp_path)
    assert "python -m eval.published retrieval" in page
    assert page.count("not run here yet") >= 4
    assert "63.4" in page and "79.2" in page  # the published anchors are always shown


def test_page_shows_measured_numbers(tmp_path: Path) -> None:
    scores = {"R@1": 0.95, "R@5": 0.99, "R@10": 1.0, "MRR@10": 0.97, "nDCG@10": 0.98, "n": 1190.0}
    result = {
        "name": "xquad-es",
        "paragraphs": 240,
        "embedding_model": "all-MiniLM-L6-v2",
        "ingest_seconds": 30.0,
        "sets": {
            "es": {
                "bm25": scores,
                "dense": scores,
                "hybrid": scores,
                "hybrid_settings": {"dense_weight": 1.0, "sparse_weight": 1.0, "rrf_k": 60},
                "fusion_grid": {"dense 1 / bm25 1 / rrf_k 60": scores},
                "query_seconds_p50": 0.05,
            }
        },
    }
    (tmp_path / "xquad-es.json").write_text(json.dumps(result))
    score = {"precision": 0.5, "recall": 0.5, "f1": 0.5}
    offline = {
        "embedding_model": "all-MiniLM-L6-v2",
        "sentence_support": 0.4,
        "score": {"response": score, "span": score, "n": 829, "n_unjudged": 0, "n_hallucinated": 160},
        "threshold_sweep": {},
        "seconds_per_response": 1.0,
    }
    (tmp_path / "detectors-offline.json").write_text(json.dumps(offline))
    page = render(tmp_path)
    assert "| XQuAD-es (1190 q) | **hybrid, as configured** | 0.950 | 0.990 | 1.000 | 0.970 | 0.980 |" in page
    assert "| XQuAD-es (1190 q) | BM25 (README baseline) | 0.904 | | 0.987 | 0.937 | |" in page
    assert "829, 160 hallucinated | 50.0 | 50.0 | **50.0**" in page


@pytest.mark.integration
def test_retrieval_benchmark_runs_through_the_real_index(tmp_path: Path, embedder: Any) -> None:
    """A slice of XQuAD-es through the real ingestion and retriever; the offline fusion agrees with it."""
    require_shared("qa")
    from eval.published.retrieval import (
        benchmark_settings,
        build_paragraph_index,
        fuse,
        paragraphs_of,
        prefixed,
        run_questions,
        summarise,
    )
    from rag.retrieval import fusion_weights

    es = prefixed("xq", load_dataset("xquad-es"))
    paragraphs = dict(list(paragraphs_of(es).items())[:8])
    questions = [q for q in es if q.doc_id in paragraphs][::3][:12]
    pindex = build_paragraph_index(paragraphs, benchmark_settings, embedder, tmp_path)
    rows = run_questions(pindex, embedder, questions)
    summary = summarise(rows, pindex.settings)
    assert summary["hybrid"]["n"] == len(questions)
    assert summary["bm25"]["MRR@10"] > 0.7  # Spanish questions over 8 Spanish paragraphs
    assert summary["hybrid"]["MRR@10"] > 0.7
    # Spanish questions, an embedder covering English only: the retriever fused with the uncovered weights.
    covered = embedder.languages is None or "es" in embedder.languages
    dense_weight, sparse_weight, rrf_k = fusion_weights(pindex.settings.retrieval, covered)
    same = sum(fuse(r, dense_weight, sparse_weight, rrf_k)[:5] == r["hybrid"][:5] for r in rows)
    assert same >= 0.9 * len(rows)  # the retriever only adds near-duplicate collapsing on top


@pytest.mark.integration
def test_evidence_benchmark_finds_the_answer_among_the_items_in_every_direction(embedder: Any) -> None:
    """Parallel questions over parallel articles: four directions, the translation as the second query
    across languages, and an answer counted only when an item the model would read holds it."""
    from eval.datasets import EvalSample
    from eval.published.evidence import CachedEmbedder, build_cases, score
    from rag.evidence import EvidenceSelector
    from rag.settings import EvidenceSettings

    paragraphs = {
        "es": [
            "El puerto de Valencia movió 5,4 millones de contenedores en 2023. Es el mayor puerto del Mediterráneo.",
            "La catedral de Valencia guarda un cáliz antiguo. Miles de turistas la visitan cada año.",
        ],
        "en": [
            "The port of Valencia handled 5.4 million containers in 2023. It is the largest port in the Mediterranean.",
            "Valencia cathedral keeps an ancient chalice. Thousands of tourists visit it every year.",
        ],
    }
    asked = {
        "es": ("¿Cuántos contenedores movió el puerto de Valencia en 2023?", "5,4 millones"),
        "en": ("How many containers did the port of Valencia handle in 2023?", "5.4 million"),
    }

    def samples(language: str) -> list[EvalSample]:
        question, answer = asked[language]
        gold = EvalSample("q1", question, language, True, answer, (answer,), ("Valencia#0",),
                          context=paragraphs[language][0], doc_id="Valencia#0")  # fmt: skip
        other = EvalSample("q2", "¿Qué guarda la catedral?" if language == "es" else "What does the cathedral keep?",
                           language, True, "cáliz" if language == "es" else "chalice",
                           ("cáliz",) if language == "es" else ("chalice",), ("Valencia#1",),
                           context=paragraphs[language][1], doc_id="Valencia#1")  # fmt: skip
        return [gold, other]

    cases = build_cases(samples("es"), samples("en"))
    assert sorted({c.direction for c in cases}) == ["en->en", "en->es", "es->en", "es->es"]
    crossed = next(c for c in cases if c.id == "q1" and c.direction == "en->es")
    assert crossed.queries == (asked["en"][0], asked["es"][0]) and crossed.answers == ("5,4 millones",)
    assert {h.language for h in crossed.hits} == {"es"} and len(crossed.hits) == 2
    result = score(cases, EvidenceSelector(CachedEmbedder(embedder), EvidenceSettings(max_items=1)))  # type: ignore[arg-type]
    assert result["all"]["questions"] == 8 and result["all"]["in_items"] == 1.0
    # An answer no item holds is not found, whatever the items.
    missing = [replace(c, answers=("Bilbao",)) for c in cases]
    assert score(missing, EvidenceSelector(CachedEmbedder(embedder), EvidenceSettings()))["all"]["in_items"] == 0.0  # type: ignore[arg-type]
