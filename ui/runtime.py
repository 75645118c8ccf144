"""What the app holds once per process: the assistant on its own thread, and the index's single writer.

Streamlit runs each rerun of each session on a fresh thread, but the records database's SQLite
connection may only be used by the thread that opened it, and the index is not meant for
concurrent use. So the :class:`rag.app.App` is built on, and only ever used from, one worker
thread; pages submit calls to it and wait (streamed tokens come back through a queue).

Writes (ingestion, deleting a document) go to a second worker thread, the app's single writer
(:func:`rag.app.build_writer`, built on that thread), with its own connections and embedder. It holds the index's OS writer lock (``rag.index.lock``)
while it writes, so a ``fuente ingest`` in another process is refused rather than writing at the
same time, and a running ingestion never blocks questions. Both threads use the same in-process
Chroma client (Chroma shares one per path), so answers see new documents as soon as they are in.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
import weakref
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from ingest.jobs import FileOutcome, JobSummary
from ingest.pipeline import Ingestor, ProgressSink
from rag.app import App, Writer, build_app, build_writer
from rag.assistant import Answer, Turn, User
from rag.errors import FuenteError
from rag.index.lock import IndexLockedError
from rag.llm_server import ensure_local_server
from rag.settings import Settings

log = logging.getLogger(__name__)
T = TypeVar("T")
_DONE = object()


class WriterBusyError(IndexLockedError):
    """The app's writer is already running a job (the index is taken, as by another process's lock)."""


@dataclass
class JobProgress:
    """A write job as the Ingestion page shows it while it runs and after."""

    kind: str
    label: str
    started: float = field(default_factory=time.time)
    to_parse: int | None = None
    parsed: int = 0
    chunks_embedded: int = 0
    outcomes: list[FileOutcome] = field(default_factory=list)
    finished: float | None = None
    summary: JobSummary | None = None
    error: str | None = None

    @property
    def done(self) -> bool:
        return self.finished is not None


class _Sink(ProgressSink):
    def __init__(self, progress: JobProgress) -> None:
        self.progress = progress

    def planned(self, files_to_parse: int) -> None:
        self.progress.to_parse = files_to_parse

    def file_done(self, outcome: FileOutcome) -> None:
        self.progress.parsed += 1
        self.progress.outcomes.append(outcome)

    def chunks_embedded(self, count: int) -> None:
        self.progress.chunks_embedded += count


def _build(settings: Settings, start_local_server: bool) -> App:
    app = build_app(settings, start_local_server=False)
    if start_local_server:
        try:
            ensure_local_server(settings)
        except FuenteError as e:
            # The pages still work; each question then says the model server is down.
            log.warning("%s", e)
    return app


class Runtime:
    """The assistant worker and the single writer of one app process."""

    instances: weakref.WeakSet[Runtime] = weakref.WeakSet()

    def __init__(self, settings: Settings, *, start_local_server: bool = True) -> None:
        Runtime.instances.add(self)
        self.settings = settings
        self._reader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="fuente-assistant")
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="fuente-writer")
        self._app_future: Future[App] = self._reader.submit(_build, settings, start_local_server)
        self._writer_parts: Writer | None = None
        self._lock = threading.Lock()
        self.current: JobProgress | None = None

    # -- the assistant ---------------------------------------------------------------------------
    def app(self) -> App:
        """The built app (waits for the models to load the first time; raises what building raised)."""
        return self._app_future.result()

    def call(self, fn: Callable[[App], T]) -> T:
        """Run ``fn(app)`` on the assistant's thread and return its result."""
        self.app()
        return self._reader.submit(lambda: fn(self.app())).result()

    def ask_stream(
        self, question: str, user: User, history: Sequence[Turn] = ()
    ) -> tuple[Iterator[str], Future[Answer]]:
        """Start answering; yields the generated text as it streams, the future holds the Answer."""
        self.app()
        tokens: queue.Queue[object] = queue.Queue()

        def run(app: App) -> Answer:
            try:
                return app.assistant.ask(question, user, history, on_token=tokens.put)
            finally:
                tokens.put(_DONE)

        future = self._reader.submit(run, self.app())

        def stream() -> Iterator[str]:
            while True:
                piece = tokens.get()
                if piece is _DONE:
                    return
                yield str(piece)

        return stream(), future

    def feedback(self, question_id: str, thumbs_up: bool, comment: str | None) -> bool:
        return self.call(lambda app: app.assistant.query_log.feedback(question_id, thumbs_up, comment or None))

    # -- the single writer -----------------------------------------------------------------------
    def busy(self) -> bool:
        return self.current is not None and not self.current.done

    def ingest(self, paths: list[Path], *, label: str, retry: bool = False, allow_widen: bool = False) -> JobProgress:
        """Start an ingestion of ``paths`` on the writer thread.

        Raises:
            WriterBusyError: a write job of this app is still running.
        """
        progress = self._claim("ingest", label)

        def run() -> None:
            try:
                ingestor = Ingestor(self._writer_of(), _Sink(progress))
                progress.summary = ingestor.run(paths, retry_rejected=retry, allow_widen=allow_widen)
            except Exception as e:  # shown on the page as one sentence
                progress.error = (
                    str(e) if isinstance(e, FuenteError) else f"The ingestion failed ({type(e).__name__}); see the log."
                )
                log.exception("ingestion from the app failed")
            finally:
                progress.finished = time.time()

        self._writer.submit(run)
        return progress

    def write(self, kind: str, label: str, fn: Callable[[Any], object]) -> JobProgress:
        """Run ``fn(index)`` on the writer thread, under the index's writer lock."""
        progress = self._claim(kind, label)

        def run() -> None:
            try:
                writer = self._writer_of()
                with writer.locked():
                    fn(writer.index)
            except Exception as e:
                progress.error = (
                    str(e) if isinstance(e, FuenteError) else f"The change failed ({type(e).__name__}); see the log."
                )
                log.exception("%s from the app failed", kind)
            finally:
                progress.finished = time.time()

        self._writer.submit(run).result()
        return progress

    def _claim(self, kind: str, label: str) -> JobProgress:
        with self._lock:
            if self.busy():
                raise WriterBusyError("An ingestion started from the app is still running; wait for it to finish.")
            self.current = JobProgress(kind, label)
            return self.current

    def _writer_of(self) -> Writer:
        """The app's writer, built on first use on the writer thread (its own index and embedder:
        SQLite connections and tokenizers are not shared with the assistant's thread)."""
        if self._writer_parts is None:
            self._writer_parts = build_writer(self.settings)
        return self._writer_parts

    def close(self) -> None:
        Runtime.instances.discard(self)

        def close_writer() -> None:
            if self._writer_parts is not None:
                self._writer_parts.close()
                self._writer_parts = None

        self._writer.submit(close_writer).result()
        if self._app_future.done() and self._app_future.exception() is None:
            self._reader.submit(self.app().close).result()
        self._reader.shutdown()
        self._writer.shutdown()
