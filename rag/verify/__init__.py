"""The hallucination guard: every answer is checked against its sources before it is shown.

Small local models do not refuse reliably, so Fuente decides. By concern:

* :mod:`rag.verify.sentences`: splitting answers and sources into sentences, reading ``[n]`` citations;
* :mod:`rag.verify.facts`: numbers, amounts, dates, times and names, and whether sources contain them;
* :mod:`rag.verify.refusal`: the refusal sentence and recognising one;
* :mod:`rag.verify.grounding`: the extract protocol's check (cited evidence items, facts, relevance);
* :mod:`rag.verify.answer_check`: the local model asked whether the cited items state the answer, and the second
  chance it gives an answer under the relevance or coverage floor;
* :mod:`rag.verify.support`: the citation protocol's per-sentence support scores and refusal rule.
"""

from rag.settings import VerificationSettings as Thresholds
from rag.types import SentenceCheck, SentenceKind, Verdict
from rag.verify.facts import Fact, FactIndex, FactKind, check_facts, extract_facts, parse_number
from rag.verify.grounding import Grounding, ground
from rag.verify.refusal import is_refusal, refusal_text
from rag.verify.sentences import parse_citations, source_units, split_sentences, strip_citations
from rag.verify.support import Judge, Verification, should_refuse, verify_answer

__all__ = [
    "Fact",
    "FactIndex",
    "FactKind",
    "Grounding",
    "Judge",
    "SentenceCheck",
    "SentenceKind",
    "Thresholds",
    "Verdict",
    "Verification",
    "check_facts",
    "extract_facts",
    "ground",
    "is_refusal",
    "parse_citations",
    "parse_number",
    "refusal_text",
    "should_refuse",
    "source_units",
    "split_sentences",
    "strip_citations",
    "verify_answer",
]
