"""The answer guard of the extract protocol (``extract_v1``): is the answer grounded in the items it cites?

The model named evidence items and wrote a short answer. Fuente shows it only when

* it cited at least one valid item the user may see (no cited item: the model found no answer);
* every fact of the answer (number, amount, date, time, name) is in the cited items, their title and
  section, or the question itself ("in Lisbon" asked, "Lisbon" answered). A fact the model took from
  an item it forgot to cite brings that item in; a fact in no item is an invention;
* the cited items are about what the question names (its years and codes: "revenue in 2023" is not
  answered by a sentence about 2025), and an answer to a question that asks for a value (how many,
  when, what price) holds one the question did not bring (rag/verify/question.py);
* the cited items answer the question: their relevance score (the evidence selector's, over the
  question and its translation) and the share of the question's terms they contain reach the
  calibrated thresholds. Relevance is judged on the quotes, which stay in their own language, so a
  Spanish answer from an English source is judged like any other.

An answer refused only by the last two floors may still be shown: the assistant grounds it again with the
looser rescue floors and asks the answer check (``rag.verify.answer_check.rescue``, ``verification.rescue_min``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from rag.settings import VerificationSettings
from rag.text import coverage, keyword_tokens, question_terms
from rag.types import Chunk, Evidence, SentenceCheck, SentenceKind, Verdict
from rag.verify.facts import Fact, FactIndex, extract_facts, without_values
from rag.verify.question import focus_of, missing_anchors, missing_names, new_value
from rag.verify.refusal import is_refusal
from rag.verify.sentences import split_sentences, strip_citations


@dataclass(frozen=True)
class Grounding:
    """The verdict on an extract-protocol answer."""

    cited: tuple[Evidence, ...]
    """The items that support the answer, in the order the model named them (valid and visible only)."""
    verdict: Verdict
    reason: str
    missing_facts: tuple[str, ...]
    relevance: float
    coverage: float
    checks: tuple[SentenceCheck, ...]
    overlap: float = math.nan

    @property
    def supported(self) -> bool:
        return self.verdict is Verdict.SUPPORTED


def _context_text(item: Evidence) -> str:
    return " ".join([item.chunk.title, *item.chunk.section, item.text])


def unnamed(queries: Sequence[str], texts: list[str]) -> set[str]:
    """The years, codes, months and names the question (``queries[0]``; its translations may name them in the
    other language) names that ``texts`` do not: evidence that leaves one out does not answer the question."""
    if not queries:
        return set()
    return missing_anchors(focus_of(queries[0]), texts) | missing_names(queries, texts)


def unnamed_in_chunks(queries: Sequence[str], chunks: Sequence[Chunk]) -> set[str]:
    """What the question names that none of ``chunks`` mentions (title, section or text).

    An evidence item's context (:func:`_context_text`) is part of its chunk's, so when this is not empty
    :func:`ground` refuses every answer read from these chunks: the assistant refuses before asking a model.
    """
    return unnamed(queries, [" ".join([c.title, *c.section, c.text]) for c in chunks])


def own_words(answer: str, queries: Sequence[str]) -> set[str]:
    """The answer's content terms that the question (or its translations) did not bring, values out (numbers
    with their units, dates with their month names, times with their am/pm: the facts check covers them)."""
    return question_terms(without_values(answer)) - set().union(*(question_terms(q) for q in queries))


def _overlap(answer: str, items: Sequence[Evidence], queries: Sequence[str], language: str | None) -> float:
    """Share of the answer's own words that its cited items (in the answer's language) contain.

    Own words: the answer's content terms minus the question's (and its translations'), with numbers
    and their units taken out first (the facts check covers those). 1.0 when nothing is left to check
    or no cited item is in the answer's language: across languages the words cannot be compared.
    """
    same = [i for i in items if language is None or i.chunk.language == language]
    if not same:
        return 1.0
    own = own_words(answer, queries)
    if not own:
        return 1.0
    found = set().union(*(set(keyword_tokens(_context_text(i))) for i in same))
    return len(own & found) / len(own)


def _facts_missing(answer: str, items: Sequence[Evidence], asked: FactIndex) -> list[Fact]:
    index = FactIndex.of([_context_text(i) for i in items])
    return [f for f in extract_facts(answer) if not index.has(f) and not asked.has(f)]


def ground(
    answer: str,
    cited_numbers: Sequence[int],
    evidence: Sequence[Evidence],
    queries: Sequence[str],
    user_groups: frozenset[str],
    thresholds: VerificationSettings,
    language: str | None = None,
) -> Grounding:
    """Checks an answer against the evidence items it cites.

    Args:
        answer: the model's short answer (its own [n] markers are ignored).
        cited_numbers: the evidence numbers the model named, in its order.
        evidence: the evidence list of the prompt.
        queries: the question and its translations (their facts and terms are the user's own).
        user_groups: the asking user's groups; an item they may not see is never support.
        thresholds: ``overlap_min``, ``evidence_min`` and ``coverage_min`` decide.
        language: the answer's language; the overlap check applies to cited items in it (None: all items).
    """
    text = strip_citations(answer)
    by_n = {item.n: item for item in evidence}
    visible = [by_n[n] for n in cited_numbers if n in by_n and by_n[n].chunk.access.visible_to(user_groups)]
    forbidden = [n for n in cited_numbers if n in by_n and not by_n[n].chunk.access.visible_to(user_groups)]

    def verdict(v: Verdict, reason: str, cited: Sequence[Evidence], missing: Sequence[str] = (),
                relevance: float = math.nan, cover: float = math.nan, overlap: float = math.nan) -> Grounding:  # fmt: skip
        refs = tuple(range(1, len(cited) + 1))
        kind = SentenceKind.REFUSAL if v is Verdict.REFUSAL else SentenceKind.CLAIM
        checks = tuple(
            SentenceCheck(
                s, refs, (), relevance, tuple(m for m in missing if m in s), v is Verdict.SUPPORTED, reason, kind
            )  # fmt: skip
            for s in split_sentences(text)
        )
        return Grounding(tuple(cited), v, reason, tuple(missing), relevance, cover, checks, overlap)

    if forbidden:
        return verdict(Verdict.UNSUPPORTED, "cites evidence the user may not see", ())
    if not text or is_refusal(text):
        return verdict(Verdict.REFUSAL, "the model found no evidence item that answers the question", ())
    if not visible:
        return verdict(Verdict.REFUSAL, "the model cited no evidence item", ())

    asked = FactIndex.of(queries)
    missing = _facts_missing(text, visible, asked)
    if missing:
        # A fact taken from an item the model forgot to name: that item is the support.
        extra = [i for i in evidence if i not in visible and i.chunk.access.visible_to(user_groups)
                 and not _facts_missing(" ".join(f.surface for f in missing), [i], asked)]  # fmt: skip
        if extra:
            visible += extra[:1]
            missing = _facts_missing(text, visible, asked)
    focus = focus_of(queries[0]) if queries else None
    if focus is not None:
        absent = unnamed(queries, [_context_text(i) for i in visible])
        if absent:
            return verdict(Verdict.UNSUPPORTED, f"the cited evidence is not about {', '.join(sorted(absent))}, which the "
                           "question names", visible, tuple(sorted(absent)))  # fmt: skip
        # (A value in no cited item is reported as such below, by the facts check.)
        if focus.asks_value and not missing and not new_value(text, list(queries), [i.text for i in visible]):
            return verdict(Verdict.UNSUPPORTED, "the question asks for a value and the answer gives none from "
                           "its cited items", visible)  # fmt: skip
    overlap = _overlap(text, visible, queries, language)
    relevance = max(i.score for i in visible)
    cover = max(coverage(question_terms(q), " ".join(_context_text(i) for i in visible)) for q in queries)
    if missing:
        surfaces = tuple(f.surface for f in missing)
        return verdict(Verdict.UNSUPPORTED, f"{', '.join(repr(s) for s in surfaces)} not in the cited evidence",
                       visible, surfaces, relevance, cover)  # fmt: skip
    if overlap < thresholds.overlap_min:
        return verdict(Verdict.UNSUPPORTED, f"the answer says what its cited items do not (overlap {overlap:.2f} < "
                       f"{thresholds.overlap_min:.2f})", visible, (), relevance, cover, overlap)  # fmt: skip
    if relevance < thresholds.evidence_min:
        return verdict(Verdict.UNSUPPORTED, f"the cited evidence is not about the question (relevance {relevance:.2f} "
                       f"< {thresholds.evidence_min:.2f})", visible, (), relevance, cover, overlap)  # fmt: skip
    if cover < thresholds.coverage_min:
        return verdict(Verdict.UNSUPPORTED, f"the cited evidence holds too few of the question's terms ({cover:.2f} "
                       f"< {thresholds.coverage_min:.2f})", visible, (), relevance, cover, overlap)  # fmt: skip
    return verdict(Verdict.SUPPORTED, f"supported by {len(visible)} cited item(s): relevance {relevance:.2f}, "
                   f"coverage {cover:.2f}, overlap {overlap:.2f}", visible, (), relevance, cover, overlap)  # fmt: skip
