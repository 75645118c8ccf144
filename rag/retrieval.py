"""Hybrid retrieval with access control inside the query.

Dense (the vector store) and keyword (the keyword store) results, for the question and any translations of it, are fused
with weighted reciprocal rank fusion. The fusion knows its embedder: a query in a language the
embedding model does not cover (``Embedder.languages``; all-MiniLM-L6-v2 is English only) gets
``retrieval.uncovered_dense_weight`` for its dense ranking, so a Spanish question leans on BM25
and on its English translation's dense ranking. Access is enforced before ranking: only the
collections and BM25 rows of access sets the user may see are searched, so nothing the user may
not see is ever scored, fused or returned. The stores are read through their interfaces
(:mod:`rag.index.base`), whatever backs them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from rag.embedders import Embedder
from rag.index import Index
from rag.settings import RetrievalSettings
from rag.text import fold
from rag.types import EVERYONE, ScoredChunk


@dataclass(frozen=True)
class Retrieved:
    """What a retrieval found, with the evidence the refusal decision needs."""

    chunks: list[ScoredChunk]
    best_dense: float
    """Highest cosine similarity between a query and a visible chunk (0 when nothing was found)."""
    queries: tuple[str, ...]


def visible_access_keys(all_keys: list[str], user_groups: frozenset[str]) -> list[str]:
    """Access sets a user may see: those open to everyone or sharing a group with the user."""
    groups = user_groups | {EVERYONE}
    return [key for key in all_keys if set(key.split("+")) & groups]


def rrf(rankings: list[tuple[list[str], float]], k: int) -> dict[str, float]:
    """Weighted reciprocal rank fusion: sum of weight / (k + rank) over the rankings."""
    scores: dict[str, float] = {}
    for ids, weight in rankings:
        for rank, cid in enumerate(ids, start=1):
            scores[cid] = scores.get(cid, 0.0) + weight / (k + rank)
    return scores


def fuse_queries(per_query: list[dict[str, float]]) -> dict[str, float]:
    """Combine the fused rankings of a question and its translations: best score, ties to agreement.

    A sum would let the original question's language win twice over: an English-only embedder ranks
    same-language chunks high for any question, and BM25 matches the same words, so a Spanish
    question's own rankings bury the English document its translation found. Taking each chunk's best
    score gives every query language its own top places; the small sum term still prefers chunks that
    several queries agree on.
    """
    if len(per_query) == 1:
        return per_query[0]
    combined: dict[str, float] = {}
    for scores in per_query:
        for cid, score in scores.items():
            combined[cid] = max(combined.get(cid, 0.0), score)
    for scores in per_query:
        for cid, score in scores.items():
            combined[cid] += AGREEMENT_BONUS * score
    return combined


# Small enough not to lift a chunk over one ranked a place higher by its best query: with rrf_k 60
# one place near the top is worth about 2.6e-4 a ranking, the bonus at most 0.001 x the summed scores.
AGREEMENT_BONUS = 0.001


def query_language(text: str) -> str:
    """ISO 639-1 code of a question's language ("und" when unsure)."""
    from rag.language import detect_language

    return detect_language(text, min_chars=8)


def covers(languages: frozenset[str] | None, language: str) -> bool:
    """Whether an embedder trained for ``languages`` (None: all) understands ``language``."""
    return languages is None or language == "und" or language in languages


def fusion_weights(params: RetrievalSettings, covered: bool) -> tuple[float, float, int]:
    """(dense weight, BM25 weight, rrf_k) for a query the embedder covers or not."""
    if covered:
        return params.dense_weight, params.sparse_weight, params.rrf_k
    return params.uncovered_dense_weight, params.sparse_weight, params.uncovered_rrf_k or params.rrf_k


def _fingerprint(text: str) -> str:
    return hashlib.sha1(" ".join(fold(text).split()).encode()).hexdigest()


class HybridRetriever:
    """Retrieves chunks for a question, as one user, from one index."""

    def __init__(self, index: Index, embedder: Embedder, params: RetrievalSettings | None = None) -> None:
        self.index = index
        self.embedder = embedder
        self.params = params or RetrievalSettings()

    def retrieve(
        self, query: str, user_groups: frozenset[str], *, extra_queries: tuple[str, ...] = (), k: int | None = None
    ) -> Retrieved:
        p = self.params
        queries = (query, *(q for q in extra_queries if q and q != query))
        keys = visible_access_keys(self.index.vectors.access_keys(), user_groups)
        if not keys:
            return Retrieved([], 0.0, queries)
        per_query: list[dict[str, float]] = []
        best_dense = 0.0
        languages: frozenset[str] | None = getattr(self.embedder, "languages", None)
        for q in queries:
            covered = languages is None or covers(languages, query_language(q))
            dense_weight, sparse_weight, rrf_k = fusion_weights(p, covered)
            dense = self.index.vectors.query(self.embedder.embed_query(q), keys, p.dense_k)
            sparse = self.index.keywords.search(q, keys, p.sparse_k)
            best_dense = max([best_dense, *(score for _, score in dense)])
            per_query.append(
                rrf([([c for c, _ in dense], dense_weight), ([c for c, _ in sparse], sparse_weight)], rrf_k)
            )
        fused = sorted(fuse_queries(per_query).items(), key=lambda item: item[1], reverse=True)
        want = k or p.k
        chunks = self.index.records.get_chunks([cid for cid, _ in fused[: want * 3]])
        out: list[ScoredChunk] = []
        seen: set[str] = set()
        for cid, score in fused:
            chunk = chunks.get(cid)
            if chunk is None or not chunk.access.visible_to(user_groups):
                continue  # defence in depth: the partitions already excluded it
            fingerprint = _fingerprint(chunk.text)
            if fingerprint in seen:
                continue  # the same text from a duplicated file or an overlapping copy
            seen.add(fingerprint)
            out.append(ScoredChunk(chunk, score, "hybrid"))
            if len(out) == want:
                break
        return Retrieved(out, best_dense, queries)
