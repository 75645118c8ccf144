"""Fuente's hybrid, permission-aware retrieval as a LangChain ``BaseRetriever``."""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from rag.index.records import chunk_meta
from rag.retrieval import HybridRetriever


class FuenteRetriever(BaseRetriever):
    """Retrieves for one user: only chunks of the user's groups (and everyone's) are searched.

    The groups are fixed when the retriever is built, never taken from the query or the model.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    retriever: HybridRetriever
    user_groups: frozenset[str] = frozenset()
    k: int | None = None

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun, **kwargs: Any
    ) -> list[Document]:
        found = self.retriever.retrieve(query, self.user_groups, k=self.k)
        return [
            Document(
                page_content=hit.chunk.text, id=hit.chunk.id, metadata={**chunk_meta(hit.chunk), "score": hit.score}
            )
            for hit in found.chunks
        ]
