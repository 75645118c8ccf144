"""The answer guard of the citation protocol (``cite_v1``): each sentence checked against its cited sources.

The generator writes sentences with inline citations ``[n]`` (n is the 1-based number of a source in
the prompt) or a fixed refusal sentence. For each sentence this module checks that

* every citation points to a source of the prompt that the user may see;
* every fact (number, amount, percentage, date, time, proper name) occurs in the cited sources;
* the sentence is supported by its cited sources: a cheap score from lexical overlap and embedding
  similarity, or the score of a pluggable :class:`Judge` (an LLM, say) when one is given.

Rules worth knowing (see ``SentenceCheck.kind``):

* A sentence without a valid citation is unsupported, with two exceptions that are neutral (neither
  supported evidence nor a failure, left out of ``supported_share``): the refusal sentence, and a
  short lead-in that ends with a colon or is a Markdown heading ("Según la política de viajes:"),
  at most 12 words and without numbers.
* A citation to a source the user may not see makes its sentence unsupported and the whole answer
  "unsupported": the prompt carried a forbidden chunk, and the answer may repeat it.
* The answer counts as refused when it contains a refusal sentence and no supported claim; an
  answer that gives supported facts and says that something else is not in the documents is a
  partial answer, not a refusal.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from rag.embedders import Embedder
from rag.settings import VerificationSettings as Thresholds
from rag.text import keyword_tokens
from rag.types import Chunk, SentenceCheck, SentenceKind, Verdict
from rag.verify.facts import FactIndex, extract_facts
from rag.verify.refusal import is_refusal
from rag.verify.sentences import parse_citations, source_units, split_sentences, strip_citations


@dataclass(frozen=True)
class Verification:
    """The verdict on a whole answer. ``supported_share`` counts claims only and is NaN without any."""

    sentences: tuple[SentenceCheck, ...]
    supported_share: float
    refused: bool
    verdict: Verdict
    reason: str

    @property
    def invalid_citations(self) -> tuple[int, ...]:
        return tuple(sorted({n for s in self.sentences for n in s.invalid_citations}))

    @property
    def missing_facts(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(f for s in self.sentences for f in s.missing_facts))


@runtime_checkable
class Judge(Protocol):
    """A stronger, slower support check (an LLM asked "do these sources support this sentence?")."""

    def judge(self, sentence: str, sources: list[str]) -> float | None:
        """Probability in [0, 1] that ``sources`` support ``sentence``; None when it cannot tell."""
        ...


_CONNECTIVE_MAX_WORDS = 12


# Words of a sentence that only points at its source ("Esta información se encuentra en el documento [3].").
_POINTER_WORDS = frozenset(
    keyword_tokens(
        "esta este esa informacion dato datos se encuentra encuentran aparece aparecen figura indica segun "
        "documento documentos fuente fuentes seccion pagina politica this that information data is found can be "
        "appears stated according document documents source sources section page policy in the see as per"
    )
)


def _is_connective(sentence: str) -> bool:
    text = strip_citations(sentence)
    heading = sentence.lstrip().startswith("#")
    if (text.endswith(":") or heading) and len(text.split()) <= _CONNECTIVE_MAX_WORDS and not re.search(r"\d", text):
        return True
    return _is_pointer(text)


def _is_pointer(text: str) -> bool:
    """A sentence that only says where the information is, with no fact of its own."""
    tokens = keyword_tokens(text)
    return bool(tokens) and len(text.split()) <= _CONNECTIVE_MAX_WORDS and set(tokens) <= _POINTER_WORDS


def _inherit_citations(plans: list[_Plan]) -> list[_Plan]:
    """Give an uncited claim the citations of the pointer or claim right after it.

    Small models often write the fact, then "This is in document [3]." as a sentence of its own;
    the fact is then checked against [3] instead of being rejected as uncited.
    """
    out = list(plans)
    for i, p in enumerate(out):
        if p.kind is not SentenceKind.CLAIM or p.citations or i + 1 >= len(out):
            continue
        nxt = out[i + 1]
        if nxt.valid and not nxt.forbidden and nxt.kind is not SentenceKind.REFUSAL:
            out[i] = _Plan(p.text, nxt.valid, (), (), nxt.valid, p.kind)
    return out


def _evidence_text(chunk: Chunk) -> str:
    # The prompt shows the title and section path with each source, so they count as evidence.
    return "\n".join([chunk.title, " / ".join(chunk.section), chunk.text])


@dataclass(frozen=True)
class _Plan:
    """What is known about a sentence before any scoring."""

    text: str
    citations: tuple[int, ...]
    invalid: tuple[int, ...]
    forbidden: tuple[int, ...]
    valid: tuple[int, ...]
    kind: SentenceKind

    @property
    def needs_scoring(self) -> bool:
        return self.kind is SentenceKind.CLAIM and bool(self.valid) and not self.forbidden


@dataclass
class _Scorer:
    """The cited sources of one answer, embedded and indexed once, and the thresholds to apply."""

    sources: list[Chunk]
    thresholds: Thresholds
    judge: Judge | None
    sentence_vecs: dict[int, np.ndarray]
    unit_vecs: np.ndarray
    unit_rows: dict[int, tuple[int, int]]
    evidence: dict[int, FactIndex]
    tokens: dict[int, set[str]]

    def check(self, i: int, p: _Plan) -> SentenceCheck:
        def result(
            support: float,
            missing: tuple[str, ...],
            supported: bool,
            reason: str,
            lexical: float = math.nan,
            semantic: float = math.nan,
        ) -> SentenceCheck:
            return SentenceCheck(p.text, p.citations, p.invalid, support, missing, supported, reason, p.kind,
                                 lexical, semantic, p.forbidden)  # fmt: skip

        if p.forbidden:
            return result(math.nan, (), False, f"cites {_refs(p.forbidden)}, which the user may not see")
        invalid_note = f"invalid citation {_refs(p.invalid)}" if p.invalid else ""
        if p.kind is not SentenceKind.CLAIM:
            note = "refusal sentence" if p.kind is SentenceKind.REFUSAL else "short lead-in, nothing to verify"
            return result(math.nan, (), True, "; ".join(filter(None, [note, invalid_note])))
        if not p.valid:
            why = f"cites only {_refs(p.invalid)}, not a source of this answer" if p.invalid else "cites no source"
            return result(math.nan, (), False, why)

        idxs = [c - 1 for c in p.valid]
        evidence = FactIndex.merge(self.evidence[idx] for idx in idxs)
        missing = tuple(f.surface for f in extract_facts(p.text) if not evidence.has(f))
        claim_tokens = set(keyword_tokens(strip_citations(p.text)))
        source_tokens = set().union(*(self.tokens[idx] for idx in idxs))
        lexical = len(claim_tokens & source_tokens) / len(claim_tokens) if claim_tokens else math.nan
        rows = [r for idx in idxs for r in range(*self.unit_rows[idx])]
        floor = self.thresholds.semantic_floor
        cosine = float(np.max(self.unit_vecs[rows] @ self.sentence_vecs[i])) if rows else math.nan
        semantic = float(np.clip((cosine - floor) / (1.0 - floor), 0.0, 1.0)) if rows else math.nan
        parts = [x for x in (lexical, semantic) if not math.isnan(x)]
        support = sum(parts) / len(parts) if parts else math.nan
        how = f"lexical {lexical:.2f}, semantic {semantic:.2f}"
        if self.judge is not None:
            judged = self.judge.judge(strip_citations(p.text), [_evidence_text(self.sources[idx]) for idx in idxs])
            if judged is not None and not math.isnan(judged):
                support = min(1.0, max(0.0, float(judged)))
                how = f"judge {support:.2f}; {how}"

        floor = self.thresholds.sentence_support
        enough = not math.isnan(support) and support >= floor
        supported = enough and not missing
        if supported:
            reason = f"supported by {_refs(p.valid)}: support {support:.2f} >= {floor:.2f} ({how})"
        else:
            problems = [f"{', '.join(repr(m) for m in missing)} not in {_refs(p.valid)}" if missing else "",
                        "" if enough else f"support {support:.2f} < {floor:.2f} ({how})"]  # fmt: skip
            reason = "; ".join(filter(None, problems))
        return result(support, missing, supported, "; ".join(filter(None, [reason, invalid_note])), lexical, semantic)


def _plan(text: str, sources: list[Chunk], user_groups: frozenset[str]) -> _Plan:
    citations = parse_citations(text)
    n = len(sources)
    out_of_range = tuple(c for c in citations if not 1 <= c <= n)
    forbidden = tuple(c for c in citations if 1 <= c <= n and not sources[c - 1].access.visible_to(user_groups))
    valid = tuple(c for c in citations if c not in out_of_range and c not in forbidden)
    if is_refusal(text):
        kind = SentenceKind.REFUSAL
    elif _is_connective(text):
        kind = SentenceKind.CONNECTIVE
    else:
        kind = SentenceKind.CLAIM
    return _Plan(text, citations, out_of_range + forbidden, forbidden, valid, kind)


def verify_answer(
    answer: str,
    sources: list[Chunk],
    user_groups: frozenset[str],
    embedder: Embedder,
    thresholds: Thresholds | None = None,
    judge: Judge | None = None,
) -> Verification:
    """Checks each sentence of ``answer`` against the sources it cites.

    Args:
        answer: the generated text, with ``[n]`` citations.
        sources: the chunks of the prompt, in prompt order (``[1]`` is ``sources[0]``).
        user_groups: the asking user's groups; a citation to a chunk they may not see is invalid.
        embedder: the embedding model; called at most twice (the claims, then the cited sources' pieces).
        thresholds: decision thresholds (the provisional defaults when None).
        judge: when given, its score replaces the cheap support score of each claim it can judge;
            the facts check still applies.

    Returns:
        One ``SentenceCheck`` per sentence and the answer-level verdict.
    """
    plans = _inherit_citations([_plan(text, sources, user_groups) for text in split_sentences(answer)])
    scored = [i for i, p in enumerate(plans) if p.needs_scoring]
    cited = list(dict.fromkeys(c - 1 for i in scored for c in plans[i].valid))  # 0-based, first-cited order

    sentence_vecs: dict[int, np.ndarray] = {}
    unit_rows: dict[int, tuple[int, int]] = {}
    unit_vecs = np.zeros((0, 0), dtype=np.float32)
    if scored:
        vecs = embedder.embed_documents([strip_citations(plans[i].text) for i in scored])
        sentence_vecs = {i: vecs[row] for row, i in enumerate(scored)}
        units: list[str] = []
        for idx in cited:
            pieces = source_units(sources[idx])
            unit_rows[idx] = (len(units), len(units) + len(pieces))
            units += pieces
        if units:
            unit_vecs = embedder.embed_documents(units)
    scorer = _Scorer(
        sources=sources,
        thresholds=thresholds or Thresholds(),
        judge=judge,
        sentence_vecs=sentence_vecs,
        unit_vecs=unit_vecs,
        unit_rows=unit_rows,
        evidence={idx: FactIndex.of([_evidence_text(sources[idx])]) for idx in cited},
        tokens={idx: set(keyword_tokens(_evidence_text(sources[idx]))) for idx in cited},
    )
    return _summarise(tuple(scorer.check(i, p) for i, p in enumerate(plans)))


def _refs(numbers: Iterable[int]) -> str:
    return "".join(f"[{n}]" for n in numbers)


def _summarise(checks: tuple[SentenceCheck, ...]) -> Verification:
    claims = [c for c in checks if c.kind is SentenceKind.CLAIM]
    supported = [c for c in claims if c.supported]
    share = len(supported) / len(claims) if claims else math.nan
    has_refusal = any(c.kind is SentenceKind.REFUSAL for c in checks)
    forbidden = sorted({n for c in checks for n in c.forbidden_citations})
    refused = has_refusal and not supported
    if forbidden:
        verdict, reason = Verdict.UNSUPPORTED, f"cites {_refs(forbidden)}, which the user may not see"
    elif refused:
        extra = f"; {len(claims)} unsupported claim(s) beside it" if claims else ""
        verdict, reason = Verdict.REFUSAL, "the model refused" + extra
    elif not claims:
        verdict, reason = Verdict.UNSUPPORTED, "no claim to verify"
    else:
        verdict = (
            Verdict.SUPPORTED
            if len(supported) == len(claims)
            else Verdict.UNSUPPORTED
            if not supported
            else Verdict.PARTIALLY_SUPPORTED
        )
        reason = f"{len(supported)} of {len(claims)} claims supported"
        failed = [c for c in claims if not c.supported]
        if failed:
            reason += "; first unsupported: " + f"{failed[0].text!r} ({failed[0].reason})"
    return Verification(checks, share, refused, verdict, reason)


def should_refuse(verification: Verification, retrieval_top_score: float, thresholds: Thresholds | None = None) -> bool:
    """Whether to show the refusal instead of the answer.

    Refuses when the model refused, when the answer is judged unsupported (including a citation to a
    forbidden source, or no claim at all), when the share of supported claims is below
    ``answer_support``, or when the best dense cosine similarity of the retrieved chunks is below
    ``retrieval_min``. A NaN retrieval score (no dense retriever) leaves that last test out.
    """
    th = thresholds or Thresholds()
    if verification.refused or verification.verdict in (Verdict.REFUSAL, Verdict.UNSUPPORTED):
        return True
    share = verification.supported_share
    if math.isnan(share) or share < th.answer_support:
        return True
    return not math.isnan(retrieval_top_score) and retrieval_top_score < th.retrieval_min
