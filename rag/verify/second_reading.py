"""The second reading: which answer, if any, to show after the guard refused the local model's first one.

The assistant reads a refused question again from the same chunks, the evidence ranked by the other sentence
ranker (``verification.second_reading``), and this module decides from the two readings:

* the first answer is shown when the second agrees with it (:func:`rag.verify.agreement.same_answer`) and
  the answer check believes it (``rescue_min``), with only the relevance and coverage floors opened;
* when both answers hold in their sources and disagree, nothing is shown: two readings, two answers, and
  Fuente does not pick one;
* otherwise the second answer is shown when it clears the rescue's floors and the answer check.

Every other check of the guard (facts, names, years and codes, overlap, the user's groups) holds for both
readings. On the six question sets' saved readings, offline: 90 right and 14 wrong answers shown of 266,
against 75 and 12 without it; the sample set's unchanged (docs/evaluation.md, sixteenth session).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from rag.protocol import Extraction
from rag.settings import VerificationSettings
from rag.types import Evidence, Verdict
from rag.verify.agreement import same_answer
from rag.verify.grounding import Grounding, ground
from rag.verify.sentences import strip_citations


@dataclass(frozen=True)
class Reading:
    """One reading of a question by the model: the evidence it was given, its reply and the guard's verdict."""

    evidence: tuple[Evidence, ...]
    reply: Extraction
    grounding: Grounding
    signals: dict[str, float]
    """The guard's signals (relevance, coverage, overlap, the answer check's probability once asked)."""
    refusal: tuple[Verdict, str] | None = None
    """Why the guard refuses this reading's answer (verdict, reason); None when it is shown."""


Believe = Callable[[Reading, str, Sequence[Evidence]], float | None]
"""The answer check's probability for a reading's answer and the items it cites, or None when it does not
believe it (under ``rescue_min`` or the required minimum, or the check could not run)."""


def decide(
    first: Reading,
    second: Reading,
    queries: Sequence[str],
    user_groups: frozenset[str],
    thresholds: VerificationSettings,
    language: str | None,
    believe: Believe,
) -> Reading | None:
    """The reading to show after the guard refused ``first`` and ``second`` was read, or None to refuse."""
    t = thresholds
    opened = t.model_copy(update={"evidence_min": -1.0, "coverage_min": 0.0})
    one, two = strip_citations(first.reply.answer), strip_citations(second.reply.answer)
    both = [ground(r.reply.answer, r.reply.cited, r.evidence, queries, user_groups, opened, language)
            for r in (first, second)]  # fmt: skip
    if all(g.supported for g in both) and same_answer(one, two):
        p = believe(first, one, both[0].cited)
        if p is not None:
            first.signals["second_reading_agrees"] = 1.0
            reason = f"{both[0].reason}; under the floors, a second reading agrees and the answer check gives {p:.2f}"
            return replace(first, grounding=replace(both[0], reason=reason), refusal=None)
    elif both[0].supported:
        return None  # two readings, two answers the sources hold: refuse rather than pick one
    # The second answer is judged as the rescue judges: its floors, then the answer check, whatever the floors say.
    loose = t.model_copy(update={"evidence_min": t.rescue_evidence_min, "coverage_min": t.rescue_coverage_min})
    g = ground(second.reply.answer, second.reply.cited, second.evidence, queries, user_groups, loose, language)
    p = believe(second, two, g.cited) if g.supported else None
    if p is None:
        return None
    second.signals["second_reading"] = 1.0
    reason = f"{g.reason}; read again from evidence ranked by another model (answer check {p:.2f})"
    return replace(second, grounding=replace(g, reason=reason), refusal=None)
