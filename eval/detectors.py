"""Hallucination detectors and how they are scored against human labels (RAGTruth-QA).

A detector reads a question, the passages a response was written from, and the response, and says
whether the response holds unsupported content and where (character spans). Two ship:

* ``OfflineSupportDetector``: the answer guard of ``rag.verify`` (lexical + embedding support and
  the facts check), applied to every sentence of the response against all passages;
* ``JudgeDetector``: an LLM judge (``eval.judges.Judge``, the local model or any configured one)
  asked, sentence by sentence, whether the passages support it.

Scores follow the RAGTruth papers: response level (is the response hallucinated?) precision,
recall and F1, and span level: character overlap between predicted and human-labelled spans,
micro-averaged (precision = labelled characters among predicted ones, recall = predicted among
labelled ones).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from eval.datasets import RAGTruthRecord
from eval.metrics import binary_prf, f1_score


@dataclass(frozen=True)
class SentenceVerdict:
    """One response sentence as a detector saw it."""

    start: int
    end: int
    kind: str
    """claim, refusal or connective (only claims can be hallucinated)."""
    supported: bool | None
    score: float = math.nan
    missing_facts: int = 0


@dataclass(frozen=True)
class Detection:
    """A detector's verdict on one response."""

    hallucinated: bool | None
    """None: the detector could not judge any claim of it."""
    spans: tuple[tuple[int, int], ...]
    sentences: tuple[SentenceVerdict, ...] = ()
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "hallucinated": self.hallucinated,
            "spans": [list(s) for s in self.spans],
            "sentences": [s.__dict__ for s in self.sentences],
            "seconds": self.seconds,
        }


class Detector(Protocol):
    """Anything that flags unsupported content in a response."""

    name: str

    def detect(self, question: str, context: str, response: str) -> Detection: ...


# --------------------------------------------------------------------------- sentences


def sentence_spans(response: str) -> list[tuple[str, int, int]]:
    """The response's sentences (as ``rag.verify`` splits them) with their character offsets.

    ``split_sentences`` drops list markers and may trim; each sentence is found in the response
    from where the previous one ended, so the offsets point at the original text.
    """
    from rag.verify import split_sentences

    out: list[tuple[str, int, int]] = []
    pos = 0
    for sentence in split_sentences(response):
        at = response.find(sentence, pos)
        if at < 0:  # a rewritten marker: anchor on the first words instead
            head = sentence[:20]
            at = response.find(head, pos) if head else -1
        if at < 0:
            at = pos
        end = min(len(response), at + len(sentence))
        out.append((sentence, at, end))
        pos = end
    return out


def split_passages(context: str) -> list[str]:
    """RAGTruth contexts list passages as "passage 1:...", "passage 2:..."; each becomes a source."""
    parts = [p.strip() for p in re.split(r"(?im)^\s*passage\s*\d+\s*:", context) if p.strip()]
    return parts or [context]


def _spans_of(sentences: Sequence[SentenceVerdict]) -> tuple[tuple[int, int], ...]:
    return tuple((s.start, s.end) for s in sentences if s.kind == "claim" and s.supported is False)


def _verdict(sentences: Sequence[SentenceVerdict]) -> bool | None:
    claims = [s for s in sentences if s.kind == "claim"]
    if any(s.supported is False for s in claims):
        return True
    if claims and all(s.supported is None for s in claims):
        return None
    return False


# --------------------------------------------------------------------------- detectors


@dataclass
class OfflineSupportDetector:
    """The shipped answer guard (``rag.verify.verify_answer``) as a detector.

    Every sentence is given citations to all passages, so its support is measured against all of
    them, as an answer sentence is against the sources it cites. ``sentence_support`` is the
    guard's threshold (the configured ``verification.sentence_support`` by default).
    """

    embedder: Any
    sentence_support: float = 0.4
    name: str = "offline support scorer"

    def detect(self, question: str, context: str, response: str) -> Detection:
        import time

        from rag.types import AccessLabel, Chunk, Sensitivity
        from rag.verify import SentenceKind, Thresholds, verify_answer

        started = time.monotonic()
        passages = split_passages(context)
        access = AccessLabel(frozenset({"everyone"}), Sensitivity.PUBLIC)
        sources = [
            Chunk(f"p{i}", "ragtruth", text, i, "ragtruth", "", access, "en", 0.0, "")
            for i, text in enumerate(passages)
        ]
        located = sentence_spans(response)
        refs = "".join(f"[{i + 1}]" for i in range(len(sources)))
        cited = "\n".join(f"{text} {refs}" for text, _, _ in located)
        verification = verify_answer(
            cited,
            sources,
            frozenset({"everyone"}),
            self.embedder,
            Thresholds(sentence_support=self.sentence_support, answer_support=0.0, retrieval_min=-1.0),
        )
        checks = list(verification.sentences)
        sentences: list[SentenceVerdict] = []
        if len(checks) == len(located):
            for (_, start, end), check in zip(located, checks, strict=True):
                kind = {SentenceKind.CLAIM: "claim", SentenceKind.REFUSAL: "refusal"}.get(check.kind, "connective")
                sentences.append(
                    SentenceVerdict(start, end, kind, check.supported, check.support, len(check.missing_facts))
                )
        else:  # the guard split a sentence further: judge the whole response as one
            claims = [c for c in checks if c.kind is SentenceKind.CLAIM]
            ok = all(c.supported for c in claims)
            sentences.append(SentenceVerdict(0, len(response), "claim" if claims else "connective", ok))
        return Detection(_verdict(sentences), _spans_of(sentences), tuple(sentences), time.monotonic() - started)


@dataclass
class GroundingDetector:
    """The extract protocol's checks (``rag.verify.grounding``) applied to each sentence of a free response.

    A sentence is flagged when a fact of it (number, amount, date, time, name) occurs neither in the
    passages nor in the question, or when fewer than ``overlap_min`` of its own words (beyond the
    question's, numbers taken out) occur in the passages. ``score`` keeps the overlap, so the threshold
    can be swept without running again.
    """

    overlap_min: float = 0.5
    name: str = "grounding checks (facts + own-word overlap)"

    def detect(self, question: str, context: str, response: str) -> Detection:
        import time

        from rag.text import keyword_tokens
        from rag.verify import is_refusal
        from rag.verify.facts import FactIndex, extract_facts
        from rag.verify.grounding import own_words

        started = time.monotonic()
        passages = FactIndex.of([context])
        asked = FactIndex.of([question])
        words = set(keyword_tokens(context))
        sentences: list[SentenceVerdict] = []
        for text, start, end in sentence_spans(response):
            if is_refusal(text):
                sentences.append(SentenceVerdict(start, end, "refusal", None))
                continue
            missing = [f for f in extract_facts(text) if not passages.has(f) and not asked.has(f)]
            own = own_words(text, [question])
            overlap = len(own & words) / len(own) if own else 1.0
            if not own and not extract_facts(text):
                sentences.append(SentenceVerdict(start, end, "connective", None))
                continue
            ok = not missing and overlap >= self.overlap_min
            sentences.append(SentenceVerdict(start, end, "claim", ok, overlap, len(missing)))
        return Detection(_verdict(sentences), _spans_of(sentences), tuple(sentences), time.monotonic() - started)


def regrounded(detection: Detection, overlap_min: float, facts_at_least: int = 1, weak_at_least: int = 1) -> Detection:
    """A grounding detection judged again with other thresholds, without running it again.

    A response is flagged when its claim sentences miss at least ``facts_at_least`` facts in all, or
    when at least ``weak_at_least`` of them have an own-word overlap below ``overlap_min``; its spans
    are then the sentences that miss a fact or fall below it. A long free response (RAGTruth's) holds
    a paraphrase or two that read as weak on their own; several weak sentences say more than one.
    With the defaults (1, 1) any one weak sentence flags the response, as the answer guard does.
    """
    weak = [s for s in detection.sentences if s.kind == "claim" and (s.missing_facts or s.score < overlap_min)]
    missing = sum(s.missing_facts or 0 for s in detection.sentences if s.kind == "claim")
    low = sum(1 for s in detection.sentences if s.kind == "claim" and s.score < overlap_min)
    flagged = missing >= facts_at_least or low >= weak_at_least
    sentences = tuple(
        s
        if s.kind != "claim"
        else SentenceVerdict(s.start, s.end, s.kind, not (flagged and s in weak), s.score, s.missing_facts)
        for s in detection.sentences
    )
    return Detection(_verdict(sentences), _spans_of(sentences), sentences, detection.seconds)


@dataclass
class JudgeDetector:
    """An LLM judge asked, for each claim sentence of the response, whether the passages support it."""

    judge: Any
    name: str = "LLM judge"

    def detect(self, question: str, context: str, response: str) -> Detection:
        import time

        from rag.verify import is_refusal

        started = time.monotonic()
        sentences: list[SentenceVerdict] = []
        for text, start, end in sentence_spans(response):
            if is_refusal(text):
                sentences.append(SentenceVerdict(start, end, "refusal", None))
                continue
            if len(text.split()) < 4 and not re.search(r"\d", text):
                sentences.append(SentenceVerdict(start, end, "connective", None))
                continue
            verdict = self.judge.check(text, context)
            score = math.nan if verdict is None else float(verdict)
            sentences.append(SentenceVerdict(start, end, "claim", verdict, score))
        return Detection(_verdict(sentences), _spans_of(sentences), tuple(sentences), time.monotonic() - started)


# --------------------------------------------------------------------------- scoring


def _chars(spans: Sequence[tuple[int, int]]) -> set[int]:
    return {i for start, end in spans for i in range(start, end)}


@dataclass
class DetectorScore:
    """Response- and span-level scores of one detector on labelled responses."""

    response: dict[str, float]
    span: dict[str, float]
    n: int
    n_unjudged: int
    n_hallucinated: int
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"response": self.response, "span": self.span, "n": self.n, "n_unjudged": self.n_unjudged,
                "n_hallucinated": self.n_hallucinated, **self.extra}  # fmt: skip


def score_detections(records: Sequence[RAGTruthRecord], detections: Sequence[Detection]) -> DetectorScore:
    """Response-level P/R/F1 (unjudged responses left out, counted) and character-level span P/R/F1."""
    pairs = [(r, d) for r, d in zip(records, detections, strict=True) if d.hallucinated is not None]
    response = binary_prf([bool(d.hallucinated) for _, d in pairs], [r.hallucinated for r, _ in pairs])
    overlap = predicted = labelled = 0
    for r, d in pairs:
        gold = _chars([(s.start, s.end) for s in r.spans])
        got = _chars(d.spans)
        overlap += len(gold & got)
        predicted += len(got)
        labelled += len(gold)
    precision = overlap / predicted if predicted else math.nan
    recall = overlap / labelled if labelled else math.nan
    span = {"precision": precision, "recall": recall, "f1": f1_score(precision, recall)}
    return DetectorScore(
        response=response,
        span=span,
        n=len(pairs),
        n_unjudged=len(records) - len(pairs),
        n_hallucinated=sum(r.hallucinated for r, _ in pairs),
    )


def rethreshold(detection: Detection, sentence_support: float) -> Detection:
    """The offline detector's verdict at another support threshold, from the recorded scores.

    A claim is supported when its score reaches the threshold and no fact of it is missing, as in
    the guard; the scores themselves do not depend on the threshold, so no re-embedding is needed.
    """
    sentences = tuple(
        s
        if s.kind != "claim" or math.isnan(s.score)
        else SentenceVerdict(
            s.start, s.end, s.kind, s.score >= sentence_support and s.missing_facts == 0, s.score, s.missing_facts
        )  # fmt: skip
        for s in detection.sentences
    )
    return Detection(_verdict(sentences), _spans_of(sentences), sentences, detection.seconds)


class CachingEmbedder:
    """Wraps an embedder and remembers document vectors by text.

    RAGTruth gives the same passages to six generators, so their sentences are embedded once
    instead of six times; vectors are identical to the wrapped embedder's.
    """

    def __init__(self, inner: Any, limit: int = 200_000) -> None:
        self.inner = inner
        self.limit = limit
        self._vectors: dict[str, Any] = {}

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def embed_documents(self, texts: list[str]) -> Any:
        import numpy as np

        missing = list(dict.fromkeys(t for t in texts if t not in self._vectors))
        if missing:
            if len(self._vectors) + len(missing) > self.limit:
                self._vectors.clear()
            for text, vector in zip(missing, self.inner.embed_documents(missing), strict=True):
                self._vectors[text] = vector
        if not texts:
            return self.inner.embed_documents(texts)
        return np.stack([self._vectors[t] for t in texts])

    def embed_query(self, text: str) -> Any:
        return self.inner.embed_query(text)
