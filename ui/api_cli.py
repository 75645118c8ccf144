"""`fuente serve-api`, `fuente serve-mcp` and `fuente users key create|list|revoke`."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Annotated, Literal

import typer
from rich.console import Console

from rag import api_keys
from rag.errors import FuenteError
from rag.settings import Settings
from rag.users import groups_of

EXIT_ERROR = 4
err = Console(stderr=True)
key_app = typer.Typer(help="API keys of `fuente serve-api` and `fuente serve-mcp`: each acts as one user.")


def _fail(e: FuenteError) -> typer.Exit:
    err.print(str(e), style="red", markup=False, soft_wrap=True)
    return typer.Exit(EXIT_ERROR)


def serve_api_command(
    ctx: typer.Context,
    host: Annotated[
        str | None, typer.Option("--host", help="Address to listen on (default api.host, 127.0.0.1).")
    ] = None,
    port: Annotated[int | None, typer.Option("--port", help="Port (default api.port, 8090).")] = None,
) -> None:
    """Serve the OpenAI-compatible API (/v1/chat/completions, /v1/models, /v1/search, /metrics)."""
    from ui.api import serve

    try:
        serve(ctx.obj["settings"], host, port)
    except FuenteError as e:
        raise _fail(e) from e


def serve_mcp_command(
    ctx: typer.Context,
    transport: Annotated[
        str, typer.Option("--transport", help="stdio (an agent starts this command) or http (streamable HTTP).")
    ] = "stdio",
    key: Annotated[
        str | None, typer.Option("--key", help="The API key to act as (default: the FUENTE_API_KEY variable).")
    ] = None,
    host: Annotated[str, typer.Option("--host", help="http: address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="http: port.")] = 8091,
) -> None:
    """Serve the MCP tools `search` and `ask`, acting as the user of an API key."""
    from ui.mcp_server import run

    if transport not in ("stdio", "http"):
        raise _fail(FuenteError(f"Unknown transport {transport!r}; use stdio or http."))
    chosen: Literal["stdio", "http"] = "stdio" if transport == "stdio" else "http"
    try:
        run(ctx.obj["settings"], key or os.environ.get("FUENTE_API_KEY", ""), chosen, host=host, port=port)
    except FuenteError as e:
        raise _fail(e) from e


def _when(ts: float | None) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M") if ts else "-"


@key_app.command("create")
def key_create(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The user the key acts as (in the users file).")],
    label: Annotated[str, typer.Option("--label", help="What the key is for (Open WebUI, an agent...).")] = "",
) -> None:
    """Create a key for a user and print it once (only its sha256 is stored)."""
    settings: Settings = ctx.obj["settings"]
    try:
        groups_of(settings, name)  # the user must exist; their groups are read again on every request
        record, token = api_keys.create_key(settings, name, label=label)
    except FuenteError as e:
        raise _fail(e) from e
    err.print(f"Key {record.key_id} for {name}; it is shown only now:", markup=False)
    typer.echo(token)


@key_app.command("list")
def key_list(
    ctx: typer.Context,
    name: Annotated[str | None, typer.Argument(help="Only this user's keys.")] = None,
) -> None:
    """List keys (id, user, label, created, last used, revoked); never the keys themselves."""
    settings: Settings = ctx.obj["settings"]
    try:
        keys = api_keys.list_keys(settings, name)
    except FuenteError as e:
        raise _fail(e) from e
    for k in keys:
        state = f"revoked {_when(k.revoked)}" if k.revoked else "active"
        typer.echo(
            f"{k.key_id:10} {k.user:20} {k.label or '-':20} created {_when(k.created)}  used {_when(k.last_used)}  {state}"
        )


@key_app.command("revoke")
def key_revoke(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="A key id (from `fuente users key list`), or a user: all their keys.")],
) -> None:
    """Revoke a key, or every active key of a user; requests with it get 401 at once."""
    settings: Settings = ctx.obj["settings"]
    try:
        revoked = api_keys.revoke(settings, name)
    except FuenteError as e:
        raise _fail(e) from e
    if not revoked:
        err.print(f"No active key has the id or user {name!r}; see `fuente users key list`.", markup=False)
        raise typer.Exit(EXIT_ERROR)
    typer.echo(f"Revoked {', '.join(k.key_id for k in revoked)} ({', '.join(sorted({k.user for k in revoked}))}).")
