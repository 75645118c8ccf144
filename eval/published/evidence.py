"""Evidence selection on public data: does the answer reach the few items the model reads?

The answer path hands the model four items (sentences, table rows) chosen from the retrieved chunks
(rag/evidence.py). This part measures that choice on XQuAD, where the answer span is known: each
question gets every paragraph of its article (the gold one among its neighbours, in a seeded random
order, so the rank prior cannot point at it) and the selector's items are checked for an accepted
answer. Four directions, as Fuente meets them: Spanish and English questions over paragraphs in their
own language, and each over the other language's paragraphs with the question's translation as the
second query (the parallel XQuAD question stands in for the assistant's translation).

The selector's weights are chosen on the dev half of the questions (``dev_test_split``) and reported on
the test half next to the configured weights::

    python -m eval.published evidence [--grid] [--limit N]

Writes ``bench/results/benchmarks/evidence.json``.
"""

from __future__ import annotations

import itertools
import json
import logging
import random
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from eval.datasets import EvalSample
from eval.published.retrieval import dev_test_split
from rag.embedders import TextEmbedder
from rag.evidence import EvidenceSelector, sentence_ranker
from rag.settings import EvidenceSettings, Settings
from rag.types import AccessLabel, Chunk, Sensitivity

log = logging.getLogger(__name__)
_PUBLIC = AccessLabel(frozenset({"everyone"}), Sensitivity.PUBLIC)
DIRECTIONS = ("es->es", "en->en", "en->es", "es->en")
"""Question language -> paragraph language."""
GRID: dict[str, tuple[float, ...]] = {
    "semantic_weight": (0.4, 0.6, 0.8),
    "lexical_weight": (0.2, 0.4, 0.6),
    "value_weight": (0.0, 0.15, 0.3),
    "uncovered_semantic": (0.25, 0.5, 1.0),
}


class CachedEmbedder:
    """The benchmark's embedder: each distinct text is embedded once across every weight tried."""

    def __init__(self, inner: TextEmbedder) -> None:
        self._inner = inner
        self._documents: dict[str, np.ndarray] = {}
        self._queries: dict[str, np.ndarray] = {}

    @property
    def languages(self) -> frozenset[str] | None:
        return getattr(self._inner, "languages", None)

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        new = [t for t in dict.fromkeys(texts) if t not in self._documents]
        if new:
            self._documents.update(zip(new, self._inner.embed_documents(new), strict=True))
        return np.stack([self._documents[t] for t in texts])

    def embed_query(self, text: str) -> np.ndarray:
        if text not in self._queries:
            self._queries[text] = self._inner.embed_query(text)
        return self._queries[text]


@dataclass(frozen=True)
class Case:
    """One question in one direction: its queries, the paragraphs it is given, its accepted answers."""

    id: str
    direction: str
    queries: tuple[str, ...]
    hits: tuple[Chunk, ...]
    answers: tuple[str, ...]


def _chunk(doc_id: str, text: str, language: str) -> Chunk:
    title = doc_id.split("#")[0]
    return Chunk(
        id=f"{language}:{doc_id}",
        doc_id=doc_id,
        text=text,
        ordinal=0,
        source_uri=doc_id,
        title=title,
        access=_PUBLIC,
        language=language,
        modified=0.0,
        content_hash=doc_id,
    )


def build_cases(es: Sequence[EvalSample], en: Sequence[EvalSample], seed: int = 7) -> list[Case]:
    """Every answerable question present in both languages, in each of the four directions."""
    by_language = {"es": {s.id: s for s in es}, "en": {s.id: s for s in en}}
    articles: dict[str, dict[str, list[Chunk]]] = {"es": defaultdict(list), "en": defaultdict(list)}
    for language, samples in (("es", es), ("en", en)):
        seen: set[str] = set()
        for s in samples:
            if s.doc_id and s.context and s.doc_id not in seen:
                seen.add(s.doc_id)
                articles[language][s.doc_id.split("#")[0]].append(_chunk(s.doc_id, s.context, language))
    rng = random.Random(seed)
    cases: list[Case] = []
    for qid in sorted(set(by_language["es"]) & set(by_language["en"])):
        for direction in DIRECTIONS:
            asked, read = direction.split("->")
            question = by_language[asked][qid]
            gold = by_language[read][qid]
            if not gold.answerable or not gold.accepted_answers or not gold.doc_id:
                continue
            hits = list(articles[read][gold.doc_id.split("#")[0]])
            rng.shuffle(hits)
            queries = (question.question,) if asked == read else (question.question, gold.question)
            cases.append(Case(qid, direction, queries, tuple(hits), gold.accepted_answers))
    return cases


def score(cases: Sequence[Case], selector: EvidenceSelector) -> dict[str, dict[str, float]]:
    """Per direction: the share of questions with an accepted answer in any item, and in item 1."""
    hit_any: dict[str, list[float]] = defaultdict(list)
    hit_first: dict[str, list[float]] = defaultdict(list)
    for case in cases:
        items = selector.select(case.queries, case.hits)
        found = [any(a in item.text for a in case.answers) for item in items]
        hit_any[case.direction].append(float(any(found)))
        hit_first[case.direction].append(float(bool(found) and found[0]))
    out = {
        d: {"questions": len(hit_any[d]), "in_items": _mean(hit_any[d]), "at_item_1": _mean(hit_first[d])}
        for d in DIRECTIONS
        if hit_any[d]
    }
    out["all"] = {
        "questions": sum(len(v) for v in hit_any.values()),
        "in_items": _mean([x for v in hit_any.values() for x in v]),
        "at_item_1": _mean([x for v in hit_first.values() for x in v]),
    }
    return out


def _mean(values: Sequence[float]) -> float:
    return round(float(np.mean(values)), 4) if values else float("nan")


def _objective(result: dict[str, dict[str, float]]) -> float:
    # Item 1 is what the 1.5B reads most carefully; an answer missing from every item cannot be given.
    return result["all"]["at_item_1"] + result["all"]["in_items"]


def choose_weights(
    cases: Sequence[Case],
    embedder: CachedEmbedder,
    configured: EvidenceSettings,
    grid: bool,
    ranker: CachedEmbedder | None = None,
) -> dict[str, Any]:
    """The configured weights on both halves and, with ``grid``, the best on the dev half, scored on the test half.

    ``ranker`` orders the sentences (``evidence.ranker``); None: the index's ``embedder`` does.
    """
    rows = [{"id": i} for i in sorted({c.id for c in cases})]  # each question once, whatever its directions
    dev_rows, _ = dev_test_split(rows)
    dev_ids = {r["id"] for r in dev_rows}
    dev = [c for c in cases if c.id in dev_ids]
    test = [c for c in cases if c.id not in dev_ids]
    out: dict[str, Any] = {
        "dev_questions": len({c.id for c in dev}),
        "test_questions": len({c.id for c in test}),
        "configured": {
            "weights": {k: getattr(configured, k) for k in GRID},
            "dev": score(dev, EvidenceSelector(embedder, configured, ranker)),
            "test": score(test, EvidenceSelector(embedder, configured, ranker)),
        },
    }
    if not grid:
        return out
    tried: list[tuple[float, dict[str, float]]] = []
    for values in itertools.product(*GRID.values()):
        weights = dict(zip(GRID, values, strict=True))
        selector = EvidenceSelector(embedder, configured.model_copy(update=weights), ranker)
        tried.append((_objective(score(dev, selector)), weights))
        log.info("evidence weights %s: dev %.4f", weights, tried[-1][0])
    tried.sort(key=lambda t: -t[0])
    best = tried[0][1]
    chosen = configured.model_copy(update=best)
    out["chosen"] = {
        "weights": best,
        "dev": score(dev, EvidenceSelector(embedder, chosen, ranker)),
        "test": score(test, EvidenceSelector(embedder, chosen, ranker)),
    }
    out["dev_grid_top"] = [{"objective": round(o, 4), **w} for o, w in tried[:10]]
    return out


def run_evidence(
    shared: Path | None, results: Path, settings: Settings, *, grid: bool, limit: int = 0
) -> dict[str, Any]:
    """Build the cases, score the configured (and, with ``grid``, the dev-chosen) weights, write the result."""
    from eval.datasets import load_dataset
    from rag.embedders import build_embedder

    es, en = load_dataset("xquad-es", shared), load_dataset("xquad-en", shared)
    cases = build_cases(es, en)
    if limit:
        keep = set(sorted({c.id for c in cases})[:limit])
        cases = [c for c in cases if c.id in keep]
    base = build_embedder(settings)
    embedder = CachedEmbedder(base)
    ranking = sentence_ranker(settings.evidence, base)
    ranker = None if ranking is base else CachedEmbedder(ranking)
    result = {
        "model": settings.embedding.model,
        "ranker": settings.evidence.ranker,
        "backend": settings.embedding.backend,
        "max_items": settings.evidence.max_items,
        "budget_tokens": settings.evidence.budget_tokens,
        **choose_weights(cases, embedder, settings.evidence, grid, ranker),
    }
    results.mkdir(parents=True, exist_ok=True)
    (results / "evidence.json").write_text(json.dumps(result, indent=2, ensure_ascii=False), encoding="utf-8")
    return result
