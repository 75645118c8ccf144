"""What the API server holds once per process: the assistant on its own thread, the limiter, the keys.

The records database's SQLite connection belongs to the thread that opened it, so the
:class:`rag.app.App` is built on one worker thread and every call that touches it (answers and
searches) runs there, one at a time. In front of that thread sits :class:`Limiter`: at most
``api.max_concurrent`` requests hold the assistant, at most ``api.queue_size`` wait (each at most
``api.queue_timeout_s``); anyone beyond is told "busy, retry in N s" with an estimate from recent
answer times. Every request also has a total deadline (``api.deadline_s``): a generation past it
is stopped at its next token.
"""

from __future__ import annotations

import asyncio
import logging
import math
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from rag import api_keys
from rag.app import App, build_app
from rag.assistant import Answer, Turn, User
from rag.errors import ConfigError, FuenteError, GenerationError
from rag.llm_server import ensure_local_server
from rag.retrieval import Retrieved
from rag.settings import Settings
from rag.telemetry import Metrics, current_context, instrument_assistant, span
from rag.users import groups_of

log = logging.getLogger(__name__)
T = TypeVar("T")
TokenSink = Callable[[str], None]


class ApiError(FuenteError):
    """An error the API answers with, in OpenAI's shape: HTTP status, type, code and one sentence."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        code: str | None = None,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.code = code
        self.retry_after = retry_after


class Busy(ApiError):
    """The queue is full (429) or the wait in it ran out (503)."""


class Stopped(GenerationError):
    """A generation stopped on purpose: past the request's deadline, or its client went away."""


@dataclass
class Job:
    """One request's hold on the assistant: its deadline and a flag that stops its generation."""

    deadline: float
    stop: threading.Event = field(default_factory=threading.Event)
    queued_s: float = 0.0
    reason: str = ""

    def check(self) -> None:
        """Called at every generated token: raises once the request should stop."""
        if self.stop.is_set():
            raise Stopped(self.reason or "The request was stopped.")
        if time.monotonic() > self.deadline:
            self.reason = "The answer took longer than the request's deadline; ask again, or a shorter question."
            raise Stopped(self.reason)

    def remaining(self) -> float:
        return self.deadline - time.monotonic()


class Limiter:
    """A bounded number of holders, a bounded queue, and how long to come back after."""

    def __init__(self, slots: int, queue_size: int, queue_timeout_s: float, metrics: Metrics) -> None:
        self.slots = slots
        self.queue_size = queue_size
        self.queue_timeout_s = queue_timeout_s
        self.metrics = metrics
        self._sem = asyncio.Semaphore(slots)
        self.waiting = 0
        self.held = 0
        self.recent_s = 20.0
        """Moving average of how long a request holds the assistant (seeds the first estimate)."""

    def retry_after(self) -> int:
        ahead = self.waiting + self.held
        return max(1, math.ceil(self.recent_s * max(ahead, 1) / self.slots))

    async def acquire(self, job: Job) -> None:
        if self._sem.locked() and self.waiting >= self.queue_size:
            self.metrics.busy.labels("queue_full").inc()
            wait = self.retry_after()
            raise Busy(429, f"Fuente is busy answering other questions; retry in {wait} s.",
                       type="rate_limit_exceeded", code="busy", retry_after=wait)  # fmt: skip
        self.waiting += 1
        self.metrics.waiting.set(self.waiting)
        started = time.monotonic()
        try:
            await asyncio.wait_for(self._sem.acquire(), timeout=max(0.01, min(self.queue_timeout_s, job.remaining())))
        except TimeoutError:
            self.metrics.busy.labels("queue_timeout").inc()
            wait = self.retry_after()
            raise Busy(503, f"Fuente is still busy after {time.monotonic() - started:.0f} s in the queue; retry in {wait} s.",
                       type="server_busy", code="busy", retry_after=wait) from None  # fmt: skip
        finally:
            self.waiting -= 1
            self.metrics.waiting.set(self.waiting)
        job.queued_s = time.monotonic() - started
        self.metrics.queue.observe(job.queued_s)
        self.held += 1
        self.metrics.in_flight.set(self.held)

    def release(self, held_s: float) -> None:
        self.held -= 1
        self.metrics.in_flight.set(self.held)
        self.recent_s = 0.7 * self.recent_s + 0.3 * held_s
        self._sem.release()


def _build(settings: Settings) -> App:
    app = build_app(settings, start_local_server=False)
    if settings.llm.server.autostart:
        try:
            ensure_local_server(settings)
        except FuenteError as e:
            log.warning("%s", e)  # each question then says that the model server is down
    instrument_assistant(app.assistant)
    return app


class Service:
    """The assistant, its worker thread, the limiter, the metrics and the key check of one server."""

    def __init__(self, settings: Settings, build: Callable[[Settings], App] = _build) -> None:
        self.settings = settings
        self.metrics = Metrics()
        self.started = int(time.time())
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="fuente-assistant")
        self._app: Future[App] = self._executor.submit(build, settings)
        self.limiter: Limiter | None = None
        self._oidc: Any = None

    async def start(self) -> None:
        """Wait for the models to load; the limiter belongs to the running event loop."""
        await asyncio.wrap_future(self._app)
        a = self.settings.api
        self.limiter = Limiter(a.max_concurrent, a.queue_size, a.queue_timeout_s, self.metrics)

    def close(self) -> None:
        if self._app.done() and self._app.exception() is None:
            self._executor.submit(self._app.result().close).result()
        self._executor.shutdown(wait=False, cancel_futures=True)

    # -- who is asking ----------------------------------------------------------------------------
    def user_for(self, authorization: str | None) -> User:
        """The user an ``Authorization: Bearer <key>`` header acts as, re-read from the users file now."""
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ApiError(401, "No API key was sent; send `Authorization: Bearer <key>` (create one with `fuente users key create NAME`).",
                           type="invalid_request_error", code="invalid_api_key")  # fmt: skip
        token = token.strip()
        if not token.startswith(api_keys.PREFIX) and self.settings.api.oidc_issuer:
            from ui.api_oidc import OidcVerifier, oidc_user

            if self._oidc is None:
                self._oidc = OidcVerifier(self.settings.api)
            return oidc_user(self.settings, self._oidc, token)
        key = api_keys.authenticate(self.settings, token)
        if key is None:
            raise ApiError(401, "The API key is not valid or has been revoked; ask an administrator for a new one.",
                           type="invalid_request_error", code="invalid_api_key")  # fmt: skip
        try:
            groups = groups_of(self.settings, key.user)
        except ConfigError:
            raise ApiError(401, f"The user of this API key ({key.user}) is no longer in the users file; the key no longer works.",
                           type="invalid_request_error", code="invalid_api_key") from None  # fmt: skip
        return User(key.user, groups)

    def new_job(self) -> Job:
        return Job(time.monotonic() + self.settings.api.deadline_s)

    # -- running on the assistant's thread --------------------------------------------------------
    async def admit(self, job: Job) -> None:
        """Take a place at the assistant, or raise :class:`Busy`."""
        assert self.limiter is not None, "Service.start() was not awaited"
        await self.limiter.acquire(job)

    def launch(self, job: Job, fn: Callable[[App], T]) -> asyncio.Future[T]:
        """Run ``fn(app)`` on the assistant's thread for an admitted job; its place is freed when it ends."""
        loop = asyncio.get_running_loop()
        limiter = self.limiter
        assert limiter is not None
        started = time.monotonic()
        done = self._executor.submit(fn, self._app.result())
        done.add_done_callback(lambda _: loop.call_soon_threadsafe(limiter.release, time.monotonic() - started))
        return asyncio.wrap_future(done)

    async def finish(self, job: Job, running: asyncio.Future[T]) -> T:
        """The job's result, or :class:`Stopped` once its deadline passes (the generation stops at its next token)."""
        try:
            return await asyncio.wait_for(asyncio.shield(running), timeout=max(0.01, job.remaining()))
        except TimeoutError:
            job.reason = "The answer took longer than the request's deadline; ask again, or a shorter question."
            job.stop.set()
            raise Stopped(job.reason) from None
        except asyncio.CancelledError:
            job.reason = "The client went away."
            job.stop.set()
            raise

    async def run(self, fn: Callable[[App], T]) -> tuple[T, Job]:
        job = self.new_job()
        await self.admit(job)
        return await self.finish(job, self.launch(job, fn)), job

    async def ask(
        self, question: str, user: User, history: Sequence[Turn] = (), on_token: TokenSink | None = None
    ) -> tuple[Answer, Job]:
        """Answer ``question`` as ``user`` through the queue (the MCP tools' way in)."""
        job = self.new_job()
        await self.admit(job)
        answer = await self.finish(job, self.launch(job, self.ask_fn(job, question, user, history, on_token)))
        self.metrics.observe_answer(answer)
        return answer, job

    async def search(self, query: str, user: User, k: int) -> tuple[Retrieved, Job]:
        return await self.run(self.search_fn(query, user, k))

    # -- what runs there --------------------------------------------------------------------------
    def ask_fn(
        self, job: Job, question: str, user: User, history: Sequence[Turn], on_token: TokenSink | None
    ) -> Callable[[App], Answer]:
        ctx = current_context()

        def sink(piece: str) -> None:
            job.check()
            if on_token is not None:
                on_token(piece)

        def ask(app: App) -> Answer:
            with span("fuente.ask", {"enduser.id": user.name or "", "fuente.history_turns": len(history)}, ctx) as s:
                answer = app.assistant.ask(question, user, history=history, on_token=sink)
                s.set_attribute("fuente.refused", bool(answer.refused))
                s.set_attribute("fuente.verdict", str(answer.verdict))
                s.set_attribute("fuente.route", str(answer.route))
                for key, value in (answer.timings or {}).items():
                    s.set_attribute(f"fuente.timings.{key}", float(value))
                return answer

        return ask

    def search_fn(self, query: str, user: User, k: int) -> Callable[[App], Retrieved]:
        ctx = current_context()

        def search(app: App) -> Retrieved:
            with span("fuente.retrieval", {"enduser.id": user.name or "", "fuente.k": k}, ctx):
                return app.retriever.retrieve(query, user.groups, k=k)

        return search

    def model_name(self) -> str:
        return self.settings.api.model_name


def stage_timings(answer: Answer, job: Job) -> dict[str, float]:
    return {**{k: round(float(v), 4) for k, v in (answer.timings or {}).items()}, "queue_s": round(job.queued_s, 4)}
