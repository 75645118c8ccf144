"""The second reading: a refused answer read again from evidence ranked by the other sentence ranker.

Unit tests of the agreement rule; the decision through the assistant against the real llama.cpp server
(the 0.5B of the test suite), the multilingual encoder and the sample home.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from rag.embedders import Embedder
from rag.settings import VerificationSettings
from rag.verify.agreement import numbers_of, same_answer
from tests.test_answer_check import _ask_demo


def test_two_answers_agree_on_the_number_they_state_whatever_the_wording() -> None:
    assert same_answer("El importe por día es 75 €.", "The daily allowance is €75.")
    assert same_answer("La tarifa es 7,90 euros.", "The fare is 7.90 euros.")  # a decimal comma is a point
    assert not same_answer("You have 72 hours.", "At least 21 days in advance.")  # a neighbouring clause
    assert not same_answer("The budget is €11,250.", "El presupuesto es 187.650 €.")
    assert numbers_of("1 500 units") == {"1500"} and numbers_of("every 3 nights in 2026") == {"3", "2026"}


def test_without_numbers_most_content_words_must_be_shared() -> None:
    assert same_answer("Codes sent by SMS are not accepted as a second factor.",
                       "Codes sent by SMS are not accepted.")  # fmt: skip
    assert not same_answer("Your department head approves it.", "The finance department signs the claim.")
    # Across languages without a number the words differ: the rule errs towards refusing.
    assert not same_answer("The head of department.", "El jefe de departamento.")


@pytest.mark.integration
@pytest.mark.slow
def test_a_refused_answer_is_shown_only_when_a_second_reading_agrees_and_the_check_believes_it(
    sample_home: Path, embedder: Embedder, llama_server: dict[str, Any]
) -> None:
    def ask(**thresholds: Any) -> Any:
        base = {"retrieval_min": -1.0, "overlap_min": 0.0}
        return _ask_demo(sample_home, embedder, llama_server, VerificationSettings(**{**base, **thresholds}))

    recorded = ask(evidence_min=-1.0, answer_check=True, answer_check_min=0.0)
    assert not recorded.refused, recorded.reason  # open floors: the answer passes every other check
    p = recorded.signals["answer_check"]
    # No item reaches these floors, the rescue's included: only a second reading can show the answer.
    strict = {"evidence_min": 2.0, "rescue_evidence_min": 2.0}
    off = ask(**strict, rescue_min=max(0.01, p - 0.02))
    assert off.refused and "second_reading" not in off.signals
    agreed = ask(**strict, rescue_min=max(0.01, p - 0.02), second_reading=True)
    assert not agreed.refused and "a second reading agrees" in agreed.reason, agreed.reason
    assert agreed.signals["second_reading_agrees"] == 1.0
    assert agreed.text.split("[")[0].strip() == recorded.text.split("[")[0].strip()
    assert agreed.timings["second_reading_s"] > 0 and agreed.tokens["prompt"] > recorded.tokens["prompt"]
    # Agreement is not enough: the answer check must still believe the answer.
    unsure = ask(**strict, rescue_min=min(1.0, p + 0.02), second_reading=True)
    assert unsure.refused and unsure.signals["second_reading"] == 1.0 and "second_reading_agrees" not in unsure.signals
