"""Retrieval only, as a given user, to audit what someone would see (`fuente search`).

Knowledge managers run it to check a label before telling people a document is in (or out of)
reach; the access tests use the same code path. No language model is involved: the question is
searched as typed (no translation), through the same :class:`rag.retrieval.HybridRetriever` the
assistant uses, so what it lists is exactly what an answer could be built from.
"""

from __future__ import annotations

from dataclasses import dataclass

from rag.embedders import Embedder
from rag.errors import ConfigError
from rag.index import Index
from rag.retrieval import HybridRetriever
from rag.settings import Settings, check_group_name
from rag.types import Chunk
from rag.users import groups_of

SNIPPET_CHARS = 280


@dataclass(frozen=True)
class SearchHit:
    rank: int
    score: float
    source: str
    title: str
    location: str
    groups: list[str]
    sensitivity: str
    snippet: str
    language: str
    doc_id: str
    chunk_id: str


def location_of(chunk: Chunk) -> str:
    """Where in the document: page, slide, sheet, attachment, section (as citations show it)."""
    from rag.assistant import location_of as citation_location

    return citation_location(chunk)


def search(
    index: Index, embedder: Embedder, settings: Settings, query: str, groups: frozenset[str], k: int
) -> list[SearchHit]:
    """The chunks a user with ``groups`` would be given for ``query``, best first."""
    return hits(HybridRetriever(index, embedder, settings.retrieval), query, groups, k)


def hits(retriever: HybridRetriever, query: str, groups: frozenset[str], k: int) -> list[SearchHit]:
    """What ``retriever`` gives a user with ``groups`` for ``query``, as search hits, best first."""
    retrieved = retriever.retrieve(query, groups, k=k)
    return [
        SearchHit(
            rank=n,
            score=round(s.score, 6),
            source=s.chunk.source_uri,
            title=s.chunk.title,
            location=location_of(s.chunk),
            groups=sorted(s.chunk.access.groups),
            sensitivity=s.chunk.access.sensitivity.value,
            snippet=" ".join(s.chunk.text.split())[:SNIPPET_CHARS],
            language=s.chunk.language,
            doc_id=s.chunk.doc_id,
            chunk_id=s.chunk.id,
        )
        for n, s in enumerate(retrieved.chunks, start=1)
    ]


def audience(settings: Settings, user: str | None, groups: str | None) -> tuple[str | None, frozenset[str]]:
    """Who to search as: a user of the users file (their current groups) or explicit groups.

    Raises:
        ConfigError: both or an unknown user were given, or a group name is invalid.
    """
    if user and groups:
        raise ConfigError("Pass either --user or --groups, not both.")
    if user:
        return user, groups_of(settings, user)
    names = [g.strip() for g in (groups or "").split(",") if g.strip()]
    try:
        return None, frozenset(check_group_name(g) for g in names)
    except ValueError as e:
        raise ConfigError(f"Invalid --groups: {e}.") from e
