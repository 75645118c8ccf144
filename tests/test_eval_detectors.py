"""Hallucination detectors and the LLM judge: scoring logic, the offline scorer, the judge on a real model."""

from __future__ import annotations

import math
from typing import Any

import pytest

from eval.datasets import RAGTruthRecord, Span
from eval.detectors import (
    Detection,
    JudgeDetector,
    OfflineSupportDetector,
    SentenceVerdict,
    rethreshold,
    score_detections,
    sentence_spans,
    split_passages,
)
from eval.judges import Judge, parse_claims, parse_verdict
from rag.settings import LLMEndpointSettings

CONTEXT = (
    "passage 1:The travel policy sets the international daily allowance at 75 euros per day.\n\n"
    "passage 2:Mileage is paid at 0.26 euros per kilometre, plus tolls and parking with a receipt."
)
RESPONSE = (
    "The international daily allowance is 75 euros per day. "
    "Employees also receive a bonus of 500 euros for every trip to Japan."
)


def test_sentence_offsets_point_into_the_response() -> None:
    text = "Intro:\n- First point is 3 days.\n- Second point [1]. Third."
    spans = sentence_spans(text)
    assert [s for s, _, _ in spans] == ["Intro:", "First point is 3 days.", "Second point [1].", "Third."]
    assert all(text[a:b] == s for s, a, b in spans)
    assert split_passages(CONTEXT)[1].startswith("Mileage")


def _record(response: str, spans: tuple[tuple[int, int], ...]) -> RAGTruthRecord:
    return RAGTruthRecord("r", "q", "c", response, tuple(Span(a, b) for a, b in spans), "m")


def test_response_and_span_scores() -> None:
    records = [_record("a" * 10, ((0, 5),)), _record("b" * 10, ()), _record("c" * 10, ((5, 10),))]
    detections = [
        Detection(True, ((0, 10),)),  # right response, span half right
        Detection(True, ((0, 2),)),  # false alarm
        Detection(None, ()),  # could not judge: left out and counted
    ]
    got = score_detections(records, detections)
    assert (got.n, got.n_unjudged, got.n_hallucinated) == (2, 1, 1)
    assert got.response["precision"] == 0.5 and got.response["recall"] == 1.0
    assert got.span["precision"] == pytest.approx(5 / 12) and got.span["recall"] == 1.0


def test_rethreshold_uses_recorded_scores() -> None:
    d = Detection(False, (), (SentenceVerdict(0, 4, "claim", True, 0.5), SentenceVerdict(5, 9, "refusal", None)))
    assert rethreshold(d, 0.6).hallucinated is True and rethreshold(d, 0.6).spans == ((0, 4),)
    assert rethreshold(d, 0.4).hallucinated is False
    nan = Detection(None, (), (SentenceVerdict(0, 4, "claim", None, math.nan),))
    assert rethreshold(nan, 0.1).hallucinated is None


def test_judge_reply_parsing() -> None:
    assert parse_verdict("SUPPORTED") is True
    assert parse_verdict(" Unsupported.") is False
    assert parse_verdict("Sí, lo dice.") is True
    assert parse_verdict("maybe") is None
    assert parse_verdict("") is None
    assert parse_claims("- A is 1.\n- B is 2.\n* A is 1.\n") == ["A is 1.", "B is 2."]
    assert parse_claims("- NONE") == []


@pytest.mark.integration
def test_offline_scorer_flags_the_invented_sentence(embedder: Any) -> None:
    detection = OfflineSupportDetector(embedder, 0.4).detect("allowance?", CONTEXT, RESPONSE)
    assert detection.hallucinated is True
    (span,) = detection.spans
    assert RESPONSE[span[0] : span[1]].startswith("Employees also receive a bonus of 500 euros")


@pytest.mark.integration
def test_llm_judge_on_a_real_model(llama_server: dict[str, Any]) -> None:
    endpoint = LLMEndpointSettings(
        name="judge", base_url=llama_server["base_url"], model=llama_server["model"], temperature=0.7, timeout_s=300
    )
    judge = Judge.from_endpoint(endpoint, claim_tokens=120)  # short replies keep the test quick
    try:
        assert judge.client.endpoint.temperature == 0.0  # judgements must repeat
        context = "La dieta diaria para viajes internacionales es de 75 € por día. El kilometraje se paga a 0,26 € por kilómetro."
        assert judge.check("La dieta diaria internacional es de 75 €.", context) is True
        assert judge.check("La dieta diaria internacional es de 90 €.", context) is False
        # rag.verify.Judge: a probability, here 0 or 1 (the 0.5B model's verdict on this one varies with wording).
        assert judge.judge("El kilometraje se paga a 0,26 € por kilómetro.", [context]) in (0.0, 1.0)
        claims = judge.claims("La dieta internacional es de 75 € al día y el kilometraje se paga a 0,26 €.", "es")
        assert claims and all(isinstance(c, str) and c for c in claims)
        detection = JudgeDetector(judge).detect("allowance?", CONTEXT, RESPONSE)
        assert detection.hallucinated is True
        assert any(RESPONSE[a:b].startswith("Employees") for a, b in detection.spans)
        assert judge.failures == 0
    finally:
        judge.close()


def test_a_response_is_flagged_by_several_weak_sentences_or_missing_facts() -> None:
    from eval.detectors import regrounded

    def claim(start: int, overlap: float, missing: int = 0) -> SentenceVerdict:
        return SentenceVerdict(start, start + 10, "claim", True, overlap, missing)

    one_weak = Detection(False, (), (claim(0, 0.9), claim(11, 0.2), claim(22, 0.8)), 0.0)
    assert regrounded(one_weak, 0.5).hallucinated is True  # the answer guard's rule: any weak sentence
    assert regrounded(one_weak, 0.5, 1, 2).hallucinated is False and regrounded(one_weak, 0.5, 1, 2).spans == ()
    two_weak = Detection(False, (), (claim(0, 0.1), claim(11, 0.2), claim(22, 0.8)), 0.0)
    flagged = regrounded(two_weak, 0.5, 1, 2)
    assert flagged.hallucinated is True and flagged.spans == ((0, 10), (11, 21))
    one_fact = Detection(False, (), (claim(0, 0.9, missing=1), claim(11, 0.9)), 0.0)
    assert regrounded(one_fact, 0.5, 2, 3).hallucinated is False
    assert regrounded(one_fact, 0.5, 1, 3).spans == ((0, 10),)
