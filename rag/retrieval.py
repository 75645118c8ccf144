"""Hybrid retrieval with access control inside the query.

Dense (Chroma) and keyword (BM25) results are fused with weighted reciprocal rank fusion. Access
is enforced before ranking: only the collections and BM25 rows of access sets the user may see are
searched, so nothing the user may not see is ever scored, fused or returned.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from rag.embedders import Embedder
from rag.index import Index
from rag.text import fold
from rag.types import EVERYONE, ScoredChunk


@dataclass(frozen=True)
class RetrievalParams:
    k: int = 8
    dense_k: int = 30
    sparse_k: int = 30
    rrf_k: int = 60
    dense_weight: float = 1.0
    sparse_weight: float = 1.0


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


def _fingerprint(text: str) -> str:
    return hashlib.sha1(" ".join(fold(text).split()).encode()).hexdigest()


class HybridRetriever:
    """Retrieves chunks for a question, as one user, from one index."""

    def __init__(self, index: Index, embedder: Embedder, params: RetrievalParams | None = None) -> None:
        self.index = index
        self.embedder = embedder
        self.params = params or RetrievalParams()

    def retrieve(self, query: str, user_groups: frozenset[str]) -> list[ScoredChunk]:
        p = self.params
        keys = visible_access_keys(self.index.chroma.access_keys(), user_groups)
        if not keys:
            return []
        dense = self.index.chroma.query(self.embedder.embed_query(query), keys, p.dense_k)
        sparse = self.index.bm25.search(query, keys, p.sparse_k)
        fused = rrf([([c for c, _ in dense], p.dense_weight), ([c for c, _ in sparse], p.sparse_weight)], p.rrf_k)
        ranked = sorted(fused.items(), key=lambda item: item[1], reverse=True)
        chunks = self.index.records.get_chunks([cid for cid, _ in ranked[: p.k * 3]])
        out: list[ScoredChunk] = []
        seen: set[str] = set()
        for cid, score in ranked:
            chunk = chunks.get(cid)
            if chunk is None or not chunk.access.visible_to(user_groups):
                continue  # defence in depth: the partitions already excluded it
            fingerprint = _fingerprint(chunk.text)
            if fingerprint in seen:
                continue  # the same text from a duplicated file or an overlapping copy
            seen.add(fingerprint)
            out.append(ScoredChunk(chunk, score, "hybrid"))
            if len(out) == p.k:
                break
        return out
