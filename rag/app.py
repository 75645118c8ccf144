"""Composition root: builds the assistant and its parts from settings, once per process."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from rag.assistant import Assistant
from rag.embedders import Embedder, build_embedder
from rag.index import Index
from rag.llm import ChatClient
from rag.llm_server import ensure_local_server
from rag.retrieval import HybridRetriever
from rag.settings import Settings, VerificationSettings


@dataclass
class App:
    settings: Settings
    index: Index
    embedder: Embedder
    assistant: Assistant

    def close(self) -> None:
        self.assistant.local.close()
        if self.assistant.cloud is not None:
            self.assistant.cloud.close()
        self.index.close()


def build_app(
    settings: Settings,
    *,
    start_local_server: bool = True,
    embedder: Embedder | None = None,
    thresholds: VerificationSettings | None = None,
    wrap_retriever: Callable[[HybridRetriever], HybridRetriever] | None = None,
) -> App:
    """Open the index, load the embedder, connect the model clients (starting the local server if allowed).

    ``thresholds`` replaces the guard's configured thresholds (calibration opens them); ``wrap_retriever``
    wraps the retriever (the eval suite records what each question retrieved).
    """
    if start_local_server:
        ensure_local_server(settings)
    index = Index(settings)
    embedder = embedder or build_embedder(settings)
    local = ChatClient(settings.llm.local)
    cloud = ChatClient(settings.llm.cloud) if settings.llm.cloud is not None else None
    retriever = HybridRetriever(index, embedder, settings.retrieval)
    if wrap_retriever is not None:
        retriever = wrap_retriever(retriever)
    assistant = Assistant(settings, index, embedder, local, cloud, thresholds=thresholds, retriever=retriever)
    return App(settings, index, embedder, assistant)
