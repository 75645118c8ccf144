"""Composition root: builds the assistant and its parts from settings, once per process."""

from __future__ import annotations

from dataclasses import dataclass

from rag.assistant import Assistant
from rag.embedders import Embedder, build_embedder
from rag.index import Index
from rag.llm import ChatClient
from rag.llm_server import ensure_local_server
from rag.settings import Settings


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


def build_app(settings: Settings, *, start_local_server: bool = True, embedder: Embedder | None = None) -> App:
    """Open the index, load the embedder, connect the model clients (starting the local server if allowed)."""
    if start_local_server:
        ensure_local_server(settings)
    index = Index(settings)
    embedder = embedder or build_embedder(settings)
    local = ChatClient(settings.llm.local)
    cloud = ChatClient(settings.llm.cloud) if settings.llm.cloud is not None else None
    return App(settings, index, embedder, Assistant(settings, index, embedder, local, cloud))
