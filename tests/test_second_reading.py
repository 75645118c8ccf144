"""The second reading: a refused answer read again from evidence ranked by the other sentence ranker.

Unit tests of the agreement rule; the decision through the assistant against the real llama.cpp server
(the 0.5B of the test suite), the multilingual encoder and the sample home.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from rag import protocol
from rag.embedders import Embedder
from rag.llm import ChatClient, Completion, Message
from rag.settings import VerificationSettings
from rag.types import Evidence, Verdict
from rag.verify import ground, second_reading
from rag.verify.agreement import numbers_of, same_answer
from rag.verify.second_reading import Reading, decide
from tests.test_answer_check import _ask_demo
from tests.test_verify import NOBODY, chunk

QUESTION = "¿Con cuánta antelación hay que pedir las vacaciones?"
RULE = chunk("Las vacaciones se piden con al menos 21 días naturales de antelación.", title="Vacaciones")
NEIGHBOUR = chunk("Los cambios de turno se piden con 72 horas de antelación.", title="Turnos")
# Every floor out of reach but the rescue's: only the second reading can show an answer.
GUARD = VerificationSettings(evidence_min=2.0, coverage_min=0.0, rescue_min=0.7, rescue_evidence_min=0.5,
                             overlap_min=0.0, second_reading=True)  # fmt: skip


def _reading(answer: str, cited: int) -> Reading:
    """A reading refused by the floors: the model's ``answer`` citing item ``cited`` of the two."""
    items = (Evidence(1, RULE, RULE.text, 0.6), Evidence(2, NEIGHBOUR, NEIGHBOUR.text, 0.6))
    reply = protocol.Extraction((cited,), answer, True)
    g = ground(answer, reply.cited, items, [QUESTION], NOBODY, GUARD)
    assert not g.supported
    return Reading(items, reply, g, {}, (g.verdict, g.reason))


def _decide(first: Reading, second: Reading, p: float | None) -> tuple[Reading | None, list[str]]:
    asked: list[str] = []

    def believe(reading: Reading, answer: str, cited: object) -> float | None:
        asked.append(answer)
        return p

    return decide(first, second, [QUESTION], NOBODY, GUARD, "es", believe), asked


def test_two_grounded_answers_that_disagree_are_refused_without_asking_the_check() -> None:
    shown, asked = _decide(_reading("Con 72 horas de antelación.", 2), _reading("Con 21 días de antelación.", 1), 0.9)
    assert shown is None and asked == []


def test_the_first_answer_is_shown_when_the_second_reading_agrees_and_the_check_believes_it() -> None:
    first = _reading("Con 21 días de antelación.", 1)
    shown, asked = _decide(first, _reading("Al menos 21 días naturales.", 1), 0.8)
    assert shown is not None and shown.reply is first.reply and shown.refusal is None
    assert "a second reading agrees" in shown.grounding.reason and first.signals["second_reading_agrees"] == 1.0
    assert asked == ["Con 21 días de antelación."]


def test_the_second_answer_is_shown_after_a_first_the_sources_do_not_hold_only_if_the_check_believes_it() -> None:
    invented = _reading("Con 45 días de antelación.", 1)  # 45 is in no item
    second = _reading("Con 21 días de antelación.", 1)
    shown, _ = _decide(invented, second, 0.8)
    assert shown is not None and shown.reply is second.reply and "read again" in shown.grounding.reason
    assert shown.grounding.verdict is Verdict.SUPPORTED
    assert _decide(invented, second, None)[0] is None  # the check does not believe it: refused


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


@pytest.mark.integration
@pytest.mark.slow
def test_the_reply_kept_with_an_answer_read_again_is_the_one_whose_answer_is_shown(
    sample_home: Path, embedder: Embedder, llama_server: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    replies: list[str] = []  # the model's answer replies, in order
    real = ChatClient.stream

    def recording(self: ChatClient, messages: list[Message], **kwargs: Any) -> Iterator[str]:
        yield from real(self, messages, **kwargs)
        out: Completion | None = kwargs.get("out")
        if out is not None and kwargs.get("max_tokens") == protocol.ANSWER_MAX_TOKENS:
            out.text += " " * (len(replies) + 1)  # the same JSON, told apart by its trailing blanks
            replies.append(out.text)

    monkeypatch.setattr(ChatClient, "stream", recording)
    # Whatever the two readings say, the second is shown: decide returns a copy of it, as it does.
    monkeypatch.setattr(second_reading, "decide", lambda first, second, *args: replace(second, refusal=None))
    guard = VerificationSettings(retrieval_min=-1.0, overlap_min=0.0, evidence_min=2.0, rescue_evidence_min=2.0,
                                 rescue_min=0.5, second_reading=True)  # fmt: skip
    shown = _ask_demo(sample_home, embedder, llama_server, guard)
    assert len(replies) == 2, replies
    assert shown.generated_text == replies[1]  # the query log and the eval read the reply behind the answer
