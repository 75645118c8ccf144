"""The answer check: the local model asked whether the cited items state this answer to this question.

The guard's cheap signals (how relevant the cited items are by embedding and keywords, how many of the
question's terms they hold) cannot tell an item that answers from one that is only near: on the
held-out library set right and wrong answers had the same relevance range, and the relevance ranked a
right answer above a wrong one no better than chance (AUC 0.56). One short yes/no question to the
local model, scored by the probability it gives "Yes" (not by the word it writes), separated them far
better (AUC 0.92 there, 0.90 on the sample set; docs/calibration.md), for about 2 s of prompt reading.

The model is not asked whether to refuse (the 1.5B's own refusals cannot be trusted): it is shown only
the items the answer cites and the answer, and Fuente decides from the probability and a threshold
chosen on a dev split (``verification.answer_check_min``). The check always runs on the local model:
the items are the organisation's unredacted text.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import replace

from rag import prompts
from rag.errors import GenerationError
from rag.evidence import render_item
from rag.llm import ChatClient, Message, with_fallback
from rag.settings import VerificationSettings
from rag.types import Evidence, Verdict
from rag.verify.grounding import Grounding, ground

log = logging.getLogger(__name__)
PROMPT = "answer_check_v1"


def answer_check(
    helper: ChatClient, local: ChatClient, question: str, answer: str, cited: Sequence[Evidence]
) -> float | None:
    """The check's probability, asked of the helper server (the answer server when the helper is down).

    None when neither answers: the caller decides what an unchecked answer means (:func:`check_refusal`).
    """
    messages = answer_check_messages(question, answer, cited)
    try:
        return with_fallback(helper, local, lambda c: c.yes_probability(messages))
    except GenerationError as e:
        log.warning("answer check failed: %s", e)
        return None


def answer_check_messages(question: str, answer: str, cited: Sequence[Evidence]) -> list[Message]:
    """The yes/no question about ``answer`` to ``question``, given the items it cites (fenced, numbered)."""
    passages = "\n".join(render_item(item) for item in cited)
    user = (
        f"Question: {question}\n\nPassages:\n{passages}\n\nProposed answer: {answer}\n\n"
        "Do the passages state exactly this answer to this exact question? Yes or No."
    )
    return [{"role": "system", "content": prompts.load(PROMPT).substitute().strip()}, {"role": "user", "content": user}]


def check_refusal(probability: float | None, minimum: float) -> str | None:
    """Why the answer is refused on the check's ``probability`` (None: it could not run), or None to show it.

    ``minimum`` 0 only records the check (calibration runs so); above it, an answer the check could not
    judge is refused too: the guard never opens because a call failed.
    """
    if minimum <= 0:
        return None
    if probability is None:
        return "the local model could not check the answer against its cited items; ask again"
    if probability < minimum:
        return f"the local model does not read this answer in its cited items (answer check {probability:.2f} < {minimum:.2f})"
    return None


def rescue(
    first: Grounding,
    answer: str,
    cited: Sequence[int],
    evidence: Sequence[Evidence],
    queries: Sequence[str],
    user_groups: frozenset[str],
    thresholds: VerificationSettings,
    language: str | None,
    probability: Callable[[Sequence[Evidence]], float | None],
) -> Grounding:
    """The grounding to keep after ``first``, the guard's verdict: when the relevance or coverage floor refused
    the answer, it is shown after all if it clears the rescue floors and the check (``probability`` of the items it
    cites) reaches ``rescue_min``; otherwise ``first`` stands (also when it was shown, or the rescue is off: no check
    is asked).

    The floors are word and embedding overlaps: they refuse right answers worded unlike the question ("minimum
    password length" answered by "at least 14 characters"), and lowering them lets wrong neighbouring rows through.
    The check tells those apart far better (docs/calibration.md), but as the only judge it refused the demo's right
    answer; as a second chance it keeps every answer the floors show.
    """
    t = thresholds
    if first.supported or first.verdict is not Verdict.UNSUPPORTED or t.rescue_min <= 0:
        return first
    loose = t.model_copy(update={"evidence_min": t.rescue_evidence_min, "coverage_min": t.rescue_coverage_min})
    second = ground(answer, cited, evidence, queries, user_groups, loose, language)
    if not second.supported:
        return first  # also under the rescue floors, or refused by a check the floors do not decide
    p = probability(second.cited)
    if p is None or p < t.rescue_min:
        return first
    return replace(second, reason=f"{second.reason}; under the floors, shown on the answer check ({p:.2f} >= "
                   f"{t.rescue_min:.2f})")  # fmt: skip
