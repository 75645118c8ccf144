"""`fuente serve-mcp`: the Model Context Protocol server (official `mcp` SDK) with tools `search` and `ask`.

It acts as the user of one API key (``--key`` or ``FUENTE_API_KEY``), checked again at every call,
so a revoked key or a removed user stops working at once. The assistant, its queue and its limits
are the API's (:class:`ui.api_service.Service`): one assistant per process, one generation at a time.

Transports: ``stdio`` (an agent or IDE starts the command) and ``http`` (streamable HTTP at
``/mcp``); over HTTP every request must carry the same key as ``Authorization: Bearer <key>``.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Literal

from rag.assistant import citation_for
from rag.errors import ConfigError, FuenteError
from rag.settings import Settings
from ui import api_format as fmt
from ui.api_service import ApiError, Service, stage_timings

log = logging.getLogger(__name__)
INSTRUCTIONS = (
    "Fuente answers questions from an organisation's documents, with citations, as one user with that "
    "user's permissions. Use `search` to find passages and `ask` for a verified, cited answer. A refused "
    "answer (refused: true) means the documents do not support one; do not invent it."
)


def build_server(settings: Settings, key: str, service: Service | None = None) -> Any:
    """The MCPServer with Fuente's tools, acting as the user of ``key``.

    Raises:
        ConfigError: no key was given, or it is not a valid, active key of a known user.
    """
    from mcp.server.mcpserver import MCPServer
    from mcp.server.mcpserver.exceptions import ToolError

    if not key:
        raise ConfigError(
            "The MCP server needs an API key: pass --key or set FUENTE_API_KEY (`fuente users key create NAME`)."
        )
    svc = service or Service(settings)
    try:
        svc.user_for(f"Bearer {key}")
    except ApiError as e:
        raise ConfigError(e.message) from e

    @asynccontextmanager
    async def lifespan(_: Any) -> AsyncIterator[None]:
        await svc.start()
        try:
            yield
        finally:
            svc.close()

    server = MCPServer("fuente", instructions=INSTRUCTIONS, lifespan=lifespan)

    def user() -> Any:
        try:
            return svc.user_for(f"Bearer {key}")
        except ApiError as e:
            raise ToolError(e.message) from e

    @server.tool()
    async def search(query: str, k: int = 8) -> dict[str, Any]:
        """Search the documents the user may see; passages best first (no language model involved).

        Args:
            query: what to look for, in Spanish or English.
            k: how many passages (1-50).
        """
        who = user()
        if not 1 <= k <= 50:
            raise ToolError("k must be between 1 and 50.")
        try:
            found, _ = await svc.search(query, who, k)
        except (ApiError, FuenteError) as e:
            raise ToolError(str(e)) from e
        hits = [
            {**fmt.citation_dict(citation_for(i, h.chunk)), "score": round(h.score, 6)}
            for i, h in enumerate(found.chunks, start=1)
        ]
        return {"results": hits}

    @server.tool()
    async def ask(question: str) -> dict[str, Any]:
        """Answer a question from the documents the user may see, verified against them, with citations.

        Args:
            question: the question, in Spanish or English.
        """
        who = user()
        try:
            answer, job = await svc.ask(question, who)
        except (ApiError, FuenteError) as e:
            raise ToolError(str(e)) from e
        extra = fmt.fuente_extra(answer, stage_timings(answer, job))
        return {"answer": answer.text.strip() + fmt.sources_block(answer), **extra}

    return server


def _require_key(app: Any, key: str) -> Any:
    """ASGI wrapper: HTTP requests without ``Authorization: Bearer <key>`` get 401."""
    from starlette.responses import JSONResponse

    expected = f"Bearer {key}".encode()

    async def guarded(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            sent = dict(scope.get("headers") or []).get(b"authorization", b"")
            if not hmac.compare_digest(sent, expected):
                body = {"error": {"message": "Send this server's API key as `Authorization: Bearer <key>`.",
                                  "type": "invalid_request_error", "code": "invalid_api_key"}}  # fmt: skip
                await JSONResponse(body, status_code=401)(scope, receive, send)
                return
        await app(scope, receive, send)

    return guarded


def run(settings: Settings, key: str, transport: Literal["stdio", "http"], *, host: str, port: int) -> None:
    """Serve until the client hangs up (stdio) or the process is stopped (http)."""
    import anyio

    from rag.telemetry import setup_tracing

    setup_tracing("fuente-mcp")
    server = build_server(settings, key)
    if transport == "stdio":
        anyio.run(server.run_stdio_async)
        return
    import uvicorn

    app = _require_key(server.streamable_http_app(host=host), key)
    uvicorn.run(app, host=host, port=port, log_level="info", access_log=False)
