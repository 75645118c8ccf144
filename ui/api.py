"""`fuente serve-api`: an OpenAI-compatible API over the same assistant as the app.

Routes:
    POST /v1/chat/completions  the last user message is the question, earlier messages the
                               conversation; streamed (SSE, OpenAI's chunk format) or not.
    GET  /v1/models            the configured assistant as one model (``api.model_name``).
    POST /v1/search            retrieval only, as the key's user: ``{"query": ..., "k": 8}``.
    GET  /metrics              Prometheus metrics (no key: counts and timings, no content).
    GET  /health               200 once the models are loaded.

Every /v1 request needs ``Authorization: Bearer <key>`` (``fuente users key create NAME``); the key's
user and groups are read again on every request. Errors come in OpenAI's shape with one sentence.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response, StreamingResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from rag.errors import FuenteError, LLMOverloaded, LLMRejected, LLMTimeout, LLMUnavailable
from rag.settings import Settings
from rag.telemetry import span
from ui import api_format as fmt
from ui.api_service import ApiError, Job, Service, Stopped, stage_timings

log = logging.getLogger(__name__)
CHAT, MODELS, SEARCH = "/v1/chat/completions", "/v1/models", "/v1/search"
KEEPALIVE_S = 10.0


def api_error(e: Exception) -> ApiError:
    """Any failure as the error the client gets: ours as they are, the assistant's by kind, the rest as 500."""
    if isinstance(e, ApiError):
        return e
    if isinstance(e, Stopped):
        return ApiError(504, str(e), type="timeout", code="deadline_exceeded")
    if isinstance(e, LLMUnavailable | LLMOverloaded):
        return ApiError(503, str(e), type="server_error", code="model_unavailable", retry_after=10)
    if isinstance(e, LLMTimeout):
        return ApiError(504, str(e), type="timeout", code="model_timeout")
    if isinstance(e, LLMRejected):
        return ApiError(400, str(e), code="model_rejected")
    if isinstance(e, FuenteError):
        return ApiError(500, str(e), type="server_error", code="fuente_error")
    log.exception("unexpected error in the API", exc_info=e)
    return ApiError(500, "Something went wrong inside Fuente; the server log has the details.", type="server_error")


def error_response(e: ApiError) -> JSONResponse:
    headers = {"Retry-After": str(e.retry_after)} if e.retry_after else None
    if e.status == 401:
        headers = {**(headers or {}), "WWW-Authenticate": "Bearer"}
    return JSONResponse(fmt.error_body(e), status_code=e.status, headers=headers)


def create_api(settings: Settings, service: Service | None = None) -> FastAPI:
    """The FastAPI application over one :class:`Service` (built here unless given)."""
    svc = service or Service(settings)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await svc.start()
        try:
            yield
        finally:
            svc.close()

    api = FastAPI(title="Fuente", version="1", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    api.state.service = svc
    metrics = svc.metrics

    @api.middleware("http")
    async def count(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        started = time.monotonic()
        response = await call_next(request)
        endpoint = request.url.path if request.url.path in (CHAT, MODELS, SEARCH) else "other"
        metrics.requests.labels(endpoint, str(response.status_code)).inc()
        if not getattr(request.state, "streaming", False):  # a stream observes its own end
            metrics.latency.labels(endpoint).observe(time.monotonic() - started)
        return response

    @api.exception_handler(ApiError)
    async def on_api_error(_: Request, e: ApiError) -> JSONResponse:
        return error_response(e)

    @api.exception_handler(RequestValidationError)
    async def on_invalid(_: Request, e: RequestValidationError) -> JSONResponse:
        first = e.errors()[0] if e.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body") or "the body"
        message = f"The request is not valid at {where}: {first.get('msg', 'malformed')}; see docs/api.md."
        return error_response(ApiError(400, message, code="invalid_request"))

    @api.exception_handler(StarletteHTTPException)
    async def on_http(_: Request, e: StarletteHTTPException) -> JSONResponse:
        message = "There is no such endpoint; see docs/api.md." if e.status_code == 404 else str(e.detail)
        return error_response(ApiError(e.status_code, message, code="not_found" if e.status_code == 404 else None))

    @api.exception_handler(Exception)
    async def on_other(_: Request, e: Exception) -> JSONResponse:
        return error_response(api_error(e))

    @api.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @api.get("/metrics")
    async def prometheus() -> Response:
        body, content_type = metrics.render()
        return Response(body, media_type=content_type)

    @api.get(MODELS)
    async def models(request: Request) -> dict[str, Any]:
        svc.user_for(request.headers.get("authorization"))
        card = {"id": svc.model_name(), "object": "model", "created": svc.started, "owned_by": "fuente"}
        return {"object": "list", "data": [card]}

    @api.post(SEARCH)
    async def search(body: fmt.SearchRequest, request: Request) -> dict[str, Any]:
        user = svc.user_for(request.headers.get("authorization"))
        try:
            found, job = await svc.run(svc.search_fn(body.query, user, body.k))
        except Exception as e:
            raise api_error(e) from e
        data = [
            {**fmt.citation_dict(_citation(i, h.chunk)), "score": round(h.score, 6)}
            for i, h in enumerate(found.chunks, start=1)
        ]
        return {"object": "list", "data": data, "queue_s": round(job.queued_s, 4)}

    @api.post(CHAT)
    async def chat(body: fmt.ChatRequest, request: Request) -> Response:
        user = svc.user_for(request.headers.get("authorization"))
        if body.model != svc.model_name():
            raise ApiError(404, f"There is no model {body.model!r} here; use {svc.model_name()!r} (GET /v1/models).",
                           code="model_not_found")  # fmt: skip
        question, history = fmt.conversation(body.messages)
        job = svc.new_job()
        with span("fuente.api.chat", {"enduser.id": user.name or "", "fuente.stream": body.stream}):
            await svc.admit(job)  # busy is an HTTP error, before any stream starts
            if not body.stream:
                try:
                    answer = await svc.finish(job, svc.launch(job, svc.ask_fn(job, question, user, history, None)))
                except Exception as e:
                    raise api_error(e) from e
                metrics.observe_answer(answer)
                return JSONResponse(fmt.chat_completion(answer, svc.model_name(), stage_timings(answer, job)))
            request.state.streaming = True
            loop = asyncio.get_running_loop()
            pieces: asyncio.Queue[str | None] = asyncio.Queue()
            live = svc.settings.api.stream == "live"

            def on_token(piece: str) -> None:
                if live:
                    loop.call_soon_threadsafe(pieces.put_nowait, piece)

            # Launched here, not in the stream: the place is freed when the job ends even if no byte is read.
            running = svc.launch(job, svc.ask_fn(job, question, user, history, on_token))
            running.add_done_callback(lambda _: pieces.put_nowait(None))
            include_usage = bool((body.stream_options or {}).get("include_usage"))
            return StreamingResponse(
                _stream(svc, job, running, pieces, include_usage, time.monotonic()),
                media_type="text/event-stream",
                headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
            )

    return api


def _citation(n: int, chunk: Any) -> Any:
    from rag.assistant import citation_for

    return citation_for(n, chunk)


async def _stream(
    svc: Service,
    job: Job,
    running: asyncio.Future[Any],
    pieces: asyncio.Queue[str | None],
    include_usage: bool,
    started: float,
) -> AsyncIterator[str]:
    """The SSE events of one streamed answer: tokens as they come (live), then the verified tail."""
    writer = fmt.ChunkWriter(fmt.completion_id(), svc.model_name())
    streamed: list[str] = []
    try:
        yield writer.event({"role": "assistant", "content": ""})
        while True:
            try:
                piece = await asyncio.wait_for(pieces.get(), timeout=max(0.01, min(KEEPALIVE_S, job.remaining())))
            except TimeoutError:
                if job.remaining() <= 0:
                    raise
                # An SSE comment: proxies and clients keep an idle stream open (the text may come only once verified).
                yield ": waiting for the answer\n\n"
                continue
            if piece is None:
                break
            streamed.append(piece)
            yield writer.content(piece)
        answer = await svc.finish(job, running)
        svc.metrics.observe_answer(answer)
        tail = fmt.tail_text(answer, "".join(streamed))
        if tail:
            yield writer.content(tail)
        yield writer.last(answer, stage_timings(answer, job), include_usage)
    except (TimeoutError, Exception) as e:
        if isinstance(e, TimeoutError):
            job.reason = "The answer took longer than the request's deadline; ask again, or a shorter question."
            job.stop.set()
            e = Stopped(job.reason)
        yield fmt.error_event(api_error(e))
    finally:
        if not running.done():
            job.reason = job.reason or "The client went away."
            job.stop.set()  # the generation stops at its next token and frees the assistant
        svc.metrics.latency.labels(CHAT).observe(time.monotonic() - started)
    yield fmt.DONE


def serve(settings: Settings, host: str | None = None, port: int | None = None) -> None:
    """Run the API with uvicorn (one process: one assistant, shared by every request)."""
    import uvicorn

    from rag.telemetry import setup_tracing

    setup_tracing("fuente-api")
    uvicorn.run(
        create_api(settings),
        host=host or settings.api.host,
        port=port or settings.api.port,
        log_level="info",
        access_log=False,
        timeout_graceful_shutdown=5,
    )
