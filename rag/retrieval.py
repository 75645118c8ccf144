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
    """Combine the fused rankings of a question and its translations by rank: each query's n-th place
    ranks with the others' n-th places (the question's first), agreement breaks the remaining ties.

    Scores cannot be compared across queries: a question the embedder does not cover is fused with
    rrf_k 2, its English translation with rrf_k 60, and rrf_k 60 keeps scores high far down a list, so
    a best-score merge lets one query's tenth place bury the other's second. A sum would let the
    question's own language win twice over. Interleaving by rank gives every query language its own
    top places; the returned value is 1/rank plus a small agreement term (higher is better).
    """
    if len(per_query) == 1:
        return per_query[0]
    combined: dict[str, float] = {}
    for q, scores in enumerate(per_query):
        ranked = sorted(scores, key=lambda cid: -scores[cid])
        for rank, cid in enumerate(ranked, start=1):
            # Earlier queries win ties of rank: 1e-6 per query is far below one place (1/r - 1/(r+1)).
            combined[cid] = max(combined.get(cid, 0.0), 1.0 / rank - 1e-6 * q)
    for cid in combined:
        combined[cid] += AGREEMENT_BONUS * (sum(cid in scores for scores in per_query) - 1)
    return combined


# Per further query that also found the chunk: small enough not to reorder places (one place at
# rank 20 is worth 1/20 - 1/21 = 0.0024), large enough to beat the query-order tie-break.
AGREEMENT_BONUS = 0.0001


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
        found: list[tuple[str, list[str], list[str]]] = []
        for q in queries:
            language = query_language(q)
            dense = self.index.vectors.query(self.embedder.embed_query(q), keys, p.dense_k)
            sparse = self.index.keywords.search(q, keys, p.sparse_k)
            best_dense = max([best_dense, *(score for _, score in dense)])
            found.append((language, [c for c, _ in dense], [c for c, _ in sparse]))
        chunks = self.index.records.get_chunks(list({c for _, d, s in found for c in (*d, *s)}))
        asked = found[0][0]
        for i, (language, dense_ids, sparse_ids) in enumerate(found):
            if i > 0 and asked != "und":
                # A translation is there to find the other language's chunks; in the question's own
                # language the question itself ranks better, and its places are the question's.
                dense_ids = [c for c in dense_ids if c in chunks and chunks[c].language != asked]
                sparse_ids = [c for c in sparse_ids if c in chunks and chunks[c].language != asked]
            dense_weight, sparse_weight, rrf_k = fusion_weights(p, languages is None or covers(languages, language))
            per_query.append(rrf([(dense_ids, dense_weight), (sparse_ids, sparse_weight)], rrf_k))
        fused = sorted(fuse_queries(per_query).items(), key=lambda item: item[1], reverse=True)
        want = k or p.k
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
