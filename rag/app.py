"""The composition root: every part Fuente runs with is built here, from settings, with its lifetime.

Two sides, each built once per process (or per thread that uses it; SQLite connections and
tokenizers are not shared across threads):

- the reader, :class:`App` (search only: :class:`Search`): the index opened for reading, the
  embedder, the retriever, and on top of them the assistant with its model clients;
- the writer, :class:`Writer`: its own index connection and embedder (loaded on first use, so a
  run that embeds nothing never loads the model) and the index's writer lock. Ingestion
  (``ingest.pipeline.Ingestor``) runs on a writer; deleting a document is one of its methods.

Entry points (the CLI, the app's runtime, the API, the eval suite, the benchmarks) ask this module
for their parts and close them when done; nothing patches a built part afterwards: the seams
(the embedder, the model clients, the guard's thresholds, a wrapper around the retriever) are
arguments of the builders.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import cast

from rag.assistant import Assistant
from rag.embedders import Embedder, build_embedder
from rag.index import Deleted, Index
from rag.index.lock import writer_lock
from rag.llm import ChatClient
from rag.llm_server import ensure_local_server
from rag.retrieval import HybridRetriever
from rag.search import SearchHit, hits
from rag.settings import Settings, VerificationSettings


@dataclass
class Search:
    """Retrieval only: the index, the embedder and the retriever (`fuente search`, the API's /v1/search)."""

    settings: Settings
    index: Index
    embedder: Embedder
    retriever: HybridRetriever

    def search(self, query: str, groups: frozenset[str], k: int) -> list[SearchHit]:
        """The chunks a user with ``groups`` would be given for ``query``, best first."""
        return hits(self.retriever, query, groups, k)

    def close(self) -> None:
        self.index.close()


@dataclass
class App(Search):
    """The reader: :class:`Search` and the assistant over it, with its model clients (closed with it)."""

    assistant: Assistant

    def close(self) -> None:
        self.assistant.local.close()
        if self.assistant.helper is not self.assistant.local:
            self.assistant.helper.close()
        if self.assistant.cloud is not None:
            self.assistant.cloud.close()
        self.index.close()


def build_search(settings: Settings, *, embedder: Embedder | None = None) -> Search:
    """Open the index and load the embedder (unless given): retrieval without a language model."""
    index = Index(settings)
    try:
        embedder = embedder or build_embedder(settings)
    except BaseException:
        index.close()
        raise
    return Search(settings, index, embedder, HybridRetriever(index, embedder, settings.retrieval))


def build_app(
    settings: Settings,
    *,
    start_local_server: bool = True,
    embedder: Embedder | None = None,
    local: ChatClient | None = None,
    cloud: ChatClient | None = None,
    thresholds: VerificationSettings | None = None,
    wrap_retriever: Callable[[HybridRetriever], HybridRetriever] | None = None,
) -> App:
    """The reader: :func:`build_search`, the model clients (the local server started if allowed) and the assistant.

    Args:
        embedder: share an already loaded embedder (the eval suite runs contenders on one).
        local: the local chat client (default: one for ``llm.local``); a test hands in another endpoint.
        cloud: the cloud chat client (default: one for ``llm.cloud`` when configured).
        thresholds: replace the guard's configured thresholds (calibration opens them).
        wrap_retriever: wraps the assistant's retriever (the eval suite records what each question
            retrieved); :attr:`App.retriever` stays the plain one.
    """
    if start_local_server and local is None:
        ensure_local_server(settings)
    search = build_search(settings, embedder=embedder)
    if cloud is None and settings.llm.cloud is not None:
        cloud = ChatClient(settings.llm.cloud)
    retriever = HybridRetriever(search.index, search.embedder, settings.retrieval)
    if wrap_retriever is not None:
        retriever = wrap_retriever(retriever)
    # The helper server answers translations and rewrites, unless a test or contender hands in its own local client.
    helper_endpoint = settings.llm.helper() if local is None else None
    helper = ChatClient(helper_endpoint) if helper_endpoint is not None else None
    local = local or ChatClient(settings.llm.local)
    assistant = Assistant(
        settings, search.index, search.embedder, local, cloud, thresholds=thresholds, retriever=retriever, helper=helper
    )
    return App(settings, search.index, search.embedder, search.retriever, assistant)


class Writer:
    """The index's writer: its own index connection, its own embedder (loaded on first use), the lock.

    Writes happen while :meth:`locked` is held (ingestion takes it for the whole job), so a second
    writer, in this process or another, is refused instead of writing at the same time.
    """

    def __init__(self, settings: Settings, index: Index, embedder: Callable[[], Embedder]) -> None:
        self.settings = settings
        self.index = index
        self._make_embedder = embedder
        self._embedder: Embedder | None = None

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = self._make_embedder()
        return self._embedder

    @contextmanager
    def locked(self, wait_s: float = 0.0) -> Iterator[None]:
        """Hold the index's writer lock (wait up to ``wait_s`` seconds; forever when negative).

        Raises:
            IndexLockedError: another writer holds it.
        """
        with writer_lock(self.settings.paths.lock_file, wait_s=wait_s):
            yield

    def delete_document(self, doc_id: str) -> Deleted:
        """Remove a document everywhere (vectors, records with its files, keywords), under the lock."""
        with self.locked():
            deleted = self.index.delete_document(doc_id, forget_files=True)
            self.index.sync_keywords()
        return deleted

    def close(self) -> None:
        self.index.close()


def build_writer(
    settings: Settings, *, embedder: Embedder | Callable[[], Embedder] | None = None, index: Index | None = None
) -> Writer:
    """The writer of ``settings``' index.

    Args:
        embedder: an embedder to share, or a function that makes one when first needed (default: the
            configured model, loaded only if something is embedded).
        index: an index already open (a benchmark that times its stores); closed with the writer.
    """
    return Writer(settings, index or Index(settings), _embedder_factory(settings, embedder))


def _embedder_factory(settings: Settings, embedder: Embedder | Callable[[], Embedder] | None) -> Callable[[], Embedder]:
    if embedder is None:
        return lambda: build_embedder(settings)
    if hasattr(embedder, "embed_documents"):  # an embedder itself, not a function making one
        shared = cast(Embedder, embedder)
        return lambda: shared
    return cast(Callable[[], Embedder], embedder)
