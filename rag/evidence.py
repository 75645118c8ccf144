"""Evidence selection: from the retrieved chunks, the few sentences that answer the question.

Small models answer well when they are handed a few relevant sentences and asked to copy, and badly
when they are handed pages and asked to judge. So between retrieval and generation every retrieved
chunk is split into units (sentences; table rows keep their header row), each unit is scored
against the question and its translation with the same two cheap signals the verifier uses
(keyword overlap and embedding similarity), and the best few, with a neighbour for context, become
a short numbered evidence list. Each item keeps its chunk, so a citation still opens the right page
or section, and its score, so the refusal decision can use it without embedding anything again.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from rag.embedders import MultilingualSentenceEncoder, TextEmbedder
from rag.retrieval import covers
from rag.settings import EvidenceSettings
from rag.text import fold, keyword_tokens, question_terms
from rag.types import Chunk, Evidence
from rag.verify.question import focus_of, holds_value
from rag.verify.sentences import evidence_units

_MIN_UNIT_WORDS = 3


def approx_tokens(text: str) -> int:
    """A rough token count (about 3.5 characters a token for Spanish and English BPE vocabularies)."""
    return max(1, round(len(text) / 3.5))


@dataclass(frozen=True)
class _Unit:
    rank: int
    """Rank of the chunk in the retrieval (0 is the best)."""
    position: int
    chunk: Chunk
    text: str


def _units(hits: Sequence[Chunk]) -> list[_Unit]:
    seen: set[str] = set()
    out: list[_Unit] = []
    for rank, chunk in enumerate(hits):
        for position, text in enumerate(evidence_units(chunk)):
            key = " ".join(fold(text).split())
            if key in seen:
                continue  # overlapping chunks repeat sentences
            seen.add(key)
            out.append(_Unit(rank, position, chunk, text))
    return out


_PAGE_MARK = re.compile(r"\b(page|p[aá]gina|p[aá]g\.)\s*\d+(\s*(of|de)\s*\d+)?\b", re.IGNORECASE)
_SEPARATORS = re.compile(r"\s[·|•]\s")


def is_boilerplate(text: str) -> bool:
    """Running headers and footers, banners and metadata lines: they name the document, never answer.

    "Aurora Logística S.L. · IT Security Policy v4.0 · Internal Page 1", "ACME - REMOTE WORK POLICY
    Version 2.0" and "Última actualización: 9 de marzo · Responsable: Comunicación" all share the
    question's company and topic words, so an embedding model ranks them first for any question about it.
    """
    if _PAGE_MARK.search(text) or len(_SEPARATORS.findall(text)) >= 2:
        return True
    if _SEPARATORS.search(text) and len(text.split()) <= 14:
        return True
    words = [w for w in text.split() if any(c.isalpha() for c in w)]
    if len(words) >= 4 and all(w.isupper() for w in words[:4]):
        return True  # a banner or a heading run into its first line
    letters = [c for c in text if c.isalpha()]
    return len(text.split()) >= 3 and len(letters) >= 12 and sum(c.isupper() for c in letters) >= 0.6 * len(letters)


def _context(chunk: Chunk) -> str:
    """Title and section path: they belong to every unit of the chunk (a table row under "Dietas")."""
    return " ".join([chunk.title, *chunk.section])


def sentence_ranker(settings: EvidenceSettings, embedder: TextEmbedder) -> TextEmbedder:
    """The embedding model ``evidence.ranker`` names: the multilingual sentence encoder, or the index's ``embedder``."""
    return MultilingualSentenceEncoder() if settings.ranker == "use-multilingual" else embedder


class EvidenceSelector:
    """Scores the units of the retrieved chunks against the question and keeps the best few.

    Two embedding models may take part: ``ranker`` orders the units (by default the index's embedder), and
    ``embedder`` (the index's) gives each chosen item the score the guard reads as its relevance. With the
    multilingual ranker a Spanish table row ranks by what it means, not only by the names and numbers it
    shares with the question, while the guard's thresholds keep the scale they were calibrated on.
    """

    def __init__(self, embedder: TextEmbedder, settings: EvidenceSettings, ranker: TextEmbedder | None = None) -> None:
        self.embedder = embedder
        self.ranker = ranker or embedder
        self.settings = settings

    def select(self, queries: Sequence[str], hits: Sequence[Chunk]) -> tuple[Evidence, ...]:
        """The evidence list for ``queries`` (the question first, then its translations).

        Returns at most ``max_items`` items within ``budget_tokens``, best first, each with its best score
        over the queries by the index's embedder (the guard's relevance).
        """
        s = self.settings
        units = [u for u in _units(hits) if len(u.text.split()) >= _MIN_UNIT_WORDS and not is_boilerplate(u.text)]
        if not units or not queries:
            return ()
        own = [set(keyword_tokens(u.text)) for u in units]
        with_context = [o | set(keyword_tokens(_context(u.chunk))) for o, u in zip(own, units, strict=True)]
        # Terms are weighted by how rare they are among these units: "kilómetro" says more than "viaje"
        # in a travel policy, where every sentence is about travel.
        df: dict[str, int] = {}
        for tokens in own:
            for token in tokens:
                df[token] = df.get(token, 0) + 1

        def idf(term: str) -> float:
            return math.log(1.0 + len(units) / (1.0 + df.get(term, 0)))

        # A question that asks for a value is answered by a sentence that holds one ("412 personas"), not
        # by the one that repeats its words ("la plantilla de Aurora Logística").
        value = (
            np.array([s.value_weight * holds_value(u.text) for u in units]) if focus_of(queries[0]).asks_value else 0.0
        )
        prior = np.array([s.rank_weight / (1 + u.rank) for u in units])
        # Everything but the embedding similarity, one row a query.
        rest = []
        for query in queries:
            terms = question_terms(query)
            total = sum(idf(term) for term in terms) or 1.0
            lexical = np.array(
                [
                    max(
                        sum(idf(term) for term in terms & o) / total,
                        s.context_weight * sum(idf(term) for term in terms & c) / total,
                    )
                    for o, c in zip(own, with_context, strict=True)
                ]
            )
            rest.append(s.lexical_weight * lexical + prior + value)
        scores = self._scores(self.ranker, queries, units, rest)

        # Best first: a small model reads the top of the list most carefully (the 1.5B named the right
        # row at position 3 and then copied the sentence of another; moved to 1, it answered).
        chosen: dict[int, float] = {}
        order: list[int] = []
        budget = s.budget_tokens
        for i in (int(i) for i in np.argsort(-scores)):
            if len(chosen) >= s.max_items or scores[i] < s.min_score:
                break
            if i in chosen:
                continue
            cost = approx_tokens(units[i].text)
            if cost > budget and chosen:
                continue
            chosen[i] = float(scores[i])
            budget -= cost
            order.append(i)
            # A lead-in before one of the best ("Para viajes internacionales:") carries what it needs: it goes
            # right before it.
            j = i - 1
            lead_in = j >= 0 and units[j].chunk.id == units[i].chunk.id and units[j].text.rstrip().endswith(":")
            if len(order) <= s.neighbours_of and lead_in and j not in chosen and len(chosen) < s.max_items:
                extra = approx_tokens(units[j].text)
                if extra <= budget:
                    chosen[j] = float(scores[j])
                    budget -= extra
                    order.insert(order.index(i), j)
        # The best few also bring the sentence after them, merged into the same item: the answer is often
        # the sentence that follows the one sharing the question's words ("Las dietas se revisan cada año.
        # Para 2026 son 75 € por día."). On the three held-out dev sets this put the answer among the items for
        # 6 more questions of 93 (none more on the blind hotel set; docs/evaluation.md), for about 35 tokens more.
        # Only prose: the pair must stand in the chunk as written (a table row is rewritten as "header: cell"
        # pairs, and the row after it is another record, a distractor rather than context).
        spans = {i: 1 for i in order}
        best = sorted(order, key=lambda i: -chosen[i])[: s.followers_of]
        for i in best:
            j = i + 1
            if (
                j < len(units)
                and j not in chosen
                and units[j].chunk.id == units[i].chunk.id
                and units[j].position == units[i].position + 1
                and approx_tokens(units[j].text) <= budget
                and f"{units[i].text} {units[j].text}" in " ".join(units[i].chunk.text.split())
            ):
                spans[i] = 2
                chosen[j] = chosen[i]  # taken: never an item of its own
                budget -= approx_tokens(units[j].text)
        if self.ranker is self.embedder:
            relevance = {i: chosen[i] for i in order}
        else:
            picked = [units[i] for i in order]
            again = self._scores(self.embedder, queries, picked, [r[order] for r in rest])
            relevance = {i: float(x) for i, x in zip(order, again, strict=True)}
        return tuple(
            Evidence(
                n=n,
                chunk=units[i].chunk,
                text=" ".join(units[k].text for k in range(i, i + spans[i])),
                score=relevance[i],
                position=units[i].position,
                span=spans[i],
            )
            for n, i in enumerate(order, start=1)
        )

    def _scores(
        self, embedder: TextEmbedder, queries: Sequence[str], units: Sequence[_Unit], rest: Sequence[np.ndarray]
    ) -> np.ndarray:
        """Each unit's best score over the queries: ``embedder``'s similarity, weighted, plus the query's ``rest``."""
        s = self.settings
        vectors = embedder.embed_documents([u.text for u in units])
        # An embedding model that does not cover a unit's language (MiniLM: English only) scores it by
        # shared names and numbers more than by meaning: its similarity counts for less there.
        covered_by = getattr(embedder, "languages", None)
        weight = np.array(
            [s.semantic_weight * (1.0 if covers(covered_by, u.chunk.language) else s.uncovered_semantic) for u in units]
        )
        scores = np.full(len(units), -np.inf)
        for query, other in zip(queries, rest, strict=True):
            scores = np.maximum(scores, weight * (vectors @ embedder.embed_query(query)) + other)
        return scores


_WHITESPACE = re.compile(r"\s+")


def render_item(item: Evidence, fence: bool = True) -> str:
    """One evidence line of the prompt: number, the text, then where it comes from (title, section)."""
    parts = [item.chunk.title, *(p for p in item.chunk.section[-1:] if p != item.chunk.title)]
    where = ", ".join(p for p in parts if p)
    text = _WHITESPACE.sub(" ", item.text).strip()
    if fence:
        text = fence_text(text)
        where = fence_text(where)
    return f"[{item.n}] {text} ({where})" if where else f"[{item.n}] {text}"


_FENCE = re.compile(r"<(/?)\s*(source|evidence)", re.IGNORECASE)


def fence_text(text: str) -> str:
    """A document must not be able to close the evidence block and speak as the user."""
    return _FENCE.sub(lambda m: f"< {m.group(1)}{m.group(2)}", text)
