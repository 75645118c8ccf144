"""Parsing many files in worker processes, where one bad file costs only itself.

``concurrent.futures.ProcessPoolExecutor`` cannot tell which file killed a worker: when any
worker dies (a segfault in PDFium, the kernel's out-of-memory killer) every pending future fails
with ``BrokenProcessPool``, so innocent files would be recorded as failed and the job would stop.
Here each worker holds exactly one file at a time, so a worker that dies, or overruns the per-file
time limit and is killed, names its file. That file is marked failed with a sentence, the worker
is replaced, and the job goes on.

Each worker runs in a session of its own, so killing it also kills what it started (tesseract,
LibreOffice).

Workers are forked from a server process (multiprocessing's "forkserver"), which starts clean, as
a spawned process would (the parent may hold torch or OpenVINO threads, which a plain fork does not
survive), and has loaded the parsers and what their first parse needs once (``ingest/parsing/preload.py``).
A new worker is ready in milliseconds instead of importing everything again, and a job that calls
``warm_workers`` while it scans finds the server up when its first file is parsed.

The pool is driven from a thread of its own (``parse_all``), so the workers go on parsing the next
files while the caller chunks, embeds and writes the ones it has: a generator driven only by the
caller's ``next`` would leave them idle for the whole of each encode.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import multiprocessing.forkserver
import os
import queue
import signal
import sys
import threading
import time
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any, TypeVar, cast

from ingest.errors import FileRejected, IngestError, ParseFailure, SkipFile
from ingest.parsing import ParseOptions, parse_file
from ingest.parsing.registry import label_for
from rag.types import ParsedFile

log = logging.getLogger(__name__)

K = TypeVar("K")
ParseResult = ParsedFile | FileRejected
ParseFunction = Callable[[Path, ParseOptions], ParsedFile]
"""What a worker calls on each path: ``parse_file`` unless a caller supplies another."""

_MAX_FAILED_STARTS = 3
"""Workers that die before they are ready, in a row, before the job gives up (an installation fault)."""
_START_S = 120.0
"""Longest a new worker may take to start (imports on a loaded machine) before its file's clock runs."""
_READ_AHEAD = 4
"""Files handed out per worker beyond the one being read: keeps memory flat on big corpora."""
_PRELOAD = ["ingest.parsing.preload"]
"""Modules the fork server imports before it forks any worker."""


def _worker_context() -> Any:
    """Where workers come from: the fork server, with the parsers loaded (spawn where there is none)."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(_PRELOAD)
    return context


def warm_workers() -> None:
    """Start the workers' fork server now, so that it loads the parsers while the caller does other work.

    Idempotent and cheap once the server runs; it lives as long as this process, so later jobs of a
    long-lived process (the app) find it ready.
    """
    if _worker_context().get_start_method() == "forkserver":
        multiprocessing.forkserver.ensure_running()


def parse_safely(path: str, options: ParseOptions, parse: ParseFunction = parse_file) -> ParseResult:
    """Parse one file; every error comes back as a value."""
    try:
        return parse(Path(path), options)
    except FileRejected as e:
        return e
    except Exception as e:  # noqa: BLE001 - a parser bug must cost one file, not the job
        return ParseFailure(f"The file could not be parsed ({type(e).__name__}); report it with the file attached.")


def _to_wire(result: ParseResult) -> tuple[str, Any, str]:
    # Exceptions lose attributes set outside __init__ when pickled; send plain values instead.
    if isinstance(result, FileRejected):
        return ("rejected", result.status, result.reason)
    return ("parsed", result, "")


def _from_wire(message: tuple[str, Any, str]) -> ParseResult:
    kind, value, reason = message
    if kind == "parsed":
        parsed: ParsedFile = value
        return parsed
    return SkipFile(reason) if value == "skipped" else ParseFailure(reason)


def _worker_main(conn: Connection, parse: ParseFunction, environ: dict[str, str]) -> None:
    """Entry point of a worker process: parse each path it is sent, send back the result."""
    # The fork server kept the environment of its start; a worker sees its parent's as it is now
    # (a PATH or a FUENTE_SOFFICE set since), as a spawned one would.
    os.environ.clear()
    os.environ.update(environ)
    with contextlib.suppress(OSError):
        os.setsid()  # its own process group: killing the worker kills tesseract/soffice with it
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    try:
        conn.send(("ready", None))  # started: from now on a death is the file's doing
    except (BrokenPipeError, OSError):
        return
    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):
            return
        if task is None:
            return
        task_id, path, options = task
        result = parse_safely(path, options, parse)
        try:
            conn.send((task_id, _to_wire(result)))
        except (BrokenPipeError, OSError):
            return


def _signal_name(exitcode: int | None) -> str:
    if exitcode is None or exitcode >= 0:
        return f"exit code {exitcode}"
    try:
        return signal.Signals(-exitcode).name
    except ValueError:
        return f"signal {-exitcode}"


def crash_reason(name: str, exitcode: int | None) -> str:
    """The sentence for a file whose worker died while parsing it."""
    how = _signal_name(exitcode)
    memory = " (SIGKILL usually means it ran out of memory)" if exitcode == -signal.SIGKILL else ""
    return (
        f"The {label_for(name)} parser crashed on this file ({how}{memory}); it was left out, the other "
        "files were not affected, and `fuente ingest --retry` tries it again."
    )


def timeout_reason(name: str, limit_s: float) -> str:
    """The sentence for a file whose parse overran the per-file time limit."""
    return (
        f"The {label_for(name)} parser took longer than {limit_s:g} s on this file and was stopped; raise "
        "ingest.parse_timeout_s to allow more, or split the file."
    )


@dataclass
class _Task:
    task_id: int
    key: Any
    path: str


@contextlib.contextmanager
def _parent_main_hidden() -> Iterator[None]:
    """Start workers without re-running the parent's ``__main__`` in them.

    A worker, spawned or forked from the fork server, first imports the parent's main module again
    (multiprocessing's "safe importing of the main module"). Here that module may be a Streamlit script
    (the app's uploads) or a test runner's temporary file, which would run its page code inside a
    parser, or fail there and leave the pool without workers. A worker needs nothing from it: its target lives in this module. So the
    names multiprocessing reads to find the main module (``__spec__``, ``__file__``) are hidden while
    the process starts; the parent's module is otherwise untouched.
    """
    main = sys.modules.get("__main__")
    if main is None:
        yield
        return
    missing = object()
    saved = {name: main.__dict__.get(name, missing) for name in ("__spec__", "__file__")}
    main.__dict__["__spec__"] = None
    main.__dict__.pop("__file__", None)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is missing:
                main.__dict__.pop(name, None)
            else:
                main.__dict__[name] = value


class _Worker:
    """One worker process and the single task it holds."""

    def __init__(self, context: Any, parse: ParseFunction) -> None:
        parent, child = context.Pipe(duplex=True)
        self.conn: Connection = parent
        self.process = context.Process(target=_worker_main, args=(child, parse, dict(os.environ)), daemon=True)
        with _parent_main_hidden():
            self.process.start()
        child.close()
        self.task: _Task | None = None
        self.started = 0.0
        self.ready = False

    def give(self, task: _Task, options: ParseOptions) -> None:
        self.task = task
        self.started = time.monotonic()
        self.conn.send((task.task_id, task.path, options))

    def kill(self) -> None:
        pid = self.process.pid
        if pid is not None and self.process.is_alive():
            try:
                os.killpg(pid, signal.SIGKILL)  # the worker and any tool it started
            except OSError:
                self.process.kill()
        self.process.join(5)
        self.conn.close()

    def stop(self) -> None:
        with contextlib.suppress(OSError):
            self.conn.send(None)
        self.process.join(2)
        if self.process.is_alive():
            self.kill()
        else:
            self.conn.close()


class ParsePool:
    """Worker processes that parse files one at a time each, replacing any that die or hang.

    Args:
        options: Limits and switches for every parse.
        workers: Number of worker processes (at least 1).
        timeout_s: Per-file time limit in seconds; a worker that overruns it is killed. ``None`` or
            0: no limit.
        parse: The function a worker runs on each path (``parse_file``); it must be importable by
            name, since workers are started from a clean process.
    """

    def __init__(
        self,
        options: ParseOptions,
        workers: int,
        timeout_s: float | None = None,
        parse: ParseFunction = parse_file,
    ) -> None:
        self.options = options
        self.workers = max(1, workers)
        self.timeout_s = timeout_s or None
        self.parse = parse
        self.restarts = 0
        self._failed_starts = 0
        self._context = _worker_context()
        # ``interrupt`` may come from another thread while ``map`` waits on the workers: the pipe wakes it.
        self._interrupted = threading.Event()
        self._wake_reader, self._wake_writer = self._context.Pipe(duplex=False)

    def interrupt(self) -> None:
        """Make ``map`` stop (from any thread): it returns at its next step and stops its workers."""
        self._interrupted.set()
        with contextlib.suppress(OSError):
            self._wake_writer.send(None)

    @property
    def interrupted(self) -> bool:
        return self._interrupted.is_set()

    @property
    def window(self) -> int:
        """Files handed to the pool and not yet yielded, at most: what bounds its memory."""
        return self.workers * (_READ_AHEAD + 1)

    def map(self, items: Iterable[tuple[K, str]]) -> Generator[tuple[K, ParseResult], None, None]:
        """Parse ``(key, path)`` items; yield ``(key, result)`` in the order given.

        A result is a ``ParsedFile`` or a ``FileRejected`` (never raised). A file whose worker died
        or overran the time limit gets a ``ParseFailure`` that says so; no other file is affected.
        """
        queue = iter(items)
        waiting: list[_Task] = []  # handed to the pool, in order, not yet yielded
        done: dict[int, ParseResult] = {}
        todo: list[_Task] = []  # not yet given to a worker
        pool: list[_Worker] = []
        next_id = 0
        exhausted = False
        try:
            while not self.interrupted:
                # Top up the read-ahead window.
                while not exhausted and len(waiting) < self.window:
                    item = next(queue, None)
                    if item is None:
                        exhausted = True
                        break
                    task = _Task(next_id, item[0], str(item[1]))
                    next_id += 1
                    waiting.append(task)
                    todo.append(task)
                # Yield whatever is finished at the front, in order.
                while waiting and waiting[0].task_id in done:
                    task = waiting.pop(0)
                    yield task.key, done.pop(task.task_id)
                if not waiting and exhausted:
                    return
                if not waiting:
                    continue
                # Give work to idle workers, starting workers as needed.
                for worker in pool:
                    if worker.task is None and todo:
                        self._give(worker, todo.pop(0), done, pool)
                while todo and len(pool) < self.workers:
                    worker = _Worker(self._context, self.parse)
                    pool.append(worker)
                    self._give(worker, todo.pop(0), done, pool)
                self._collect(pool, done, todo)
        finally:
            for worker in pool:
                worker.stop()

    def _give(self, worker: _Worker, task: _Task, done: dict[int, ParseResult], pool: list[_Worker]) -> None:
        try:
            worker.give(task, self.options)
        except OSError:  # the worker died before it got the task: not this file's fault
            worker.task = None
            self._replace(worker, pool)
            pool[-1].give(task, self.options)

    def _replace(self, worker: _Worker, pool: list[_Worker]) -> None:
        worker.kill()
        pool.remove(worker)
        pool.append(_Worker(self._context, self.parse))
        self.restarts += 1

    def _limit(self, worker: _Worker) -> float:
        """Seconds a worker may hold its file: the time limit, plus start-up for a worker not yet ready."""
        assert self.timeout_s is not None
        return self.timeout_s if worker.ready else max(self.timeout_s, _START_S)

    def _collect(self, pool: list[_Worker], done: dict[int, ParseResult], todo: list[_Task]) -> None:
        """Wait for a result, a dead worker or a deadline, and settle what happened."""
        busy = [w for w in pool if w.task is not None]
        if not busy:
            return
        wait_s: float | None = None
        if self.timeout_s is not None:
            now = time.monotonic()
            wait_s = max(0.0, min(w.started + self._limit(w) - now for w in busy))
        handles: list[Any] = [w.conn for w in busy] + [w.process.sentinel for w in busy] + [self._wake_reader]
        ready = set(wait(handles, timeout=wait_s))
        if self.interrupted:
            return
        now = time.monotonic()
        for worker in busy:
            task = worker.task
            assert task is not None
            if worker.conn in ready:
                try:
                    task_id, message = worker.conn.recv()
                except (EOFError, OSError):
                    pass  # died mid-send: handled as a crash below
                else:
                    if task_id == "ready":
                        worker.ready = True
                        worker.started = time.monotonic()  # the file's time starts now, not at spawn
                        self._failed_starts = 0
                        continue
                    done[task_id] = _from_wire(message)
                    worker.task = None
                    continue
            if worker.process.sentinel in ready or not worker.process.is_alive():
                worker.process.join(5)
                if not worker.ready:
                    # It died before it could read anything: the pool's fault, not the file's.
                    self._failed_starts += 1
                    if self._failed_starts >= _MAX_FAILED_STARTS:
                        raise IngestError(
                            f"Parser worker processes cannot start ({_signal_name(worker.process.exitcode)}); "
                            "check the installation, or set ingest.workers to 1 to parse in one process."
                        )
                    todo.insert(0, task)
                    worker.task = None
                    self._replace(worker, pool)
                    continue
                reason = crash_reason(task.path, worker.process.exitcode)
                log.warning("Parser worker died on %s: %s", task.path, reason)
                done[task.task_id] = ParseFailure(reason)
                worker.task = None
                self._replace(worker, pool)
            elif self.timeout_s is not None and now - worker.started >= self._limit(worker):
                log.warning("Parser worker overran %.0f s on %s; killing it", self.timeout_s, task.path)
                done[task.task_id] = ParseFailure(timeout_reason(task.path, self.timeout_s))
                worker.task = None
                self._replace(worker, pool)


def parse_all(
    items: Iterable[tuple[K, str]],
    options: ParseOptions,
    workers: int,
    timeout_s: float | None = None,
    parse: ParseFunction = parse_file,
) -> Generator[tuple[K, ParseResult], None, None]:
    """Parse ``(key, path)`` items in order: in this process when ``workers`` is 1, else in a pool.

    In this process nothing guards against a crash or a hang; with two or more workers a file that
    kills its worker, or overruns ``timeout_s``, is marked failed and the others go on.
    """
    if workers <= 1:
        for key, path in items:
            yield key, parse_safely(str(path), options, parse)
        return
    yield from _read_ahead(ParsePool(options, workers, timeout_s, parse), items)


_END = object()
"""What the driving thread puts last when the pool has yielded every result."""


@dataclass(frozen=True)
class _Raised:
    """An exception of the driving thread, raised again in the caller's."""

    error: BaseException


def _read_ahead(pool: ParsePool, items: Iterable[tuple[K, str]]) -> Generator[tuple[K, ParseResult], None, None]:
    """``pool.map(items)`` driven by a thread, so parsing goes on while the caller works on results.

    Parsed files wait in a queue as long as the pool's own read-ahead window, so memory stays bounded
    when the caller is slower than the workers. When the caller stops early (an error, Ctrl-C, a
    ``break``), the pool is interrupted and its workers stopped before this returns.
    """
    results: queue.Queue[object] = queue.Queue(maxsize=pool.window)

    def offer(item: object) -> bool:
        """Put ``item`` unless the caller has gone (the pool interrupted); False when it has."""
        while not pool.interrupted:
            try:
                results.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def drive() -> None:
        mapped = pool.map(items)
        try:
            for result in mapped:
                if not offer(result):
                    return
            offer(_END)
        except BaseException as e:  # noqa: BLE001 - handed to the caller's thread, which raises it
            offer(_Raised(e))
        finally:
            mapped.close()  # runs map's own clean-up: its workers stopped

    thread = threading.Thread(target=drive, name="fuente-parse-pool", daemon=True)
    thread.start()
    try:
        while True:
            item = results.get()
            if item is _END:
                return
            if isinstance(item, _Raised):
                raise item.error
            yield cast(tuple[K, ParseResult], item)
    finally:
        pool.interrupt()
        thread.join()
