"""`fuente app`, `fuente serve-llm`, `fuente serve-api` and `fuente serve-mcp`: the long-running servers."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, Literal

import typer

from rag.errors import ConfigError
from ui.cli.base import err, settings_of
from ui.cli.language import _

APP_SCRIPT = Path(__file__).resolve().parent.parent / "streamlit_app.py"


def streamlit_command(port: int, address: str, headless: bool = True) -> list[str]:
    return [
        sys.executable, "-m", "streamlit", "run", str(APP_SCRIPT),
        "--server.port", str(port),
        "--server.address", address,
        "--server.headless", "true" if headless else "false",
        "--browser.gatherUsageStats", "false",
        # Reruns on file changes would rebuild nothing (models are cached per process) but surprise users.
        "--server.runOnSave", "false",
        "--server.fileWatcherType", "none",
        # Employees get the app, not Streamlit's developer menu (Deploy, rerun, settings).
        "--client.toolbarMode", "minimal",
        "--client.showErrorDetails", "none",
    ]  # fmt: skip


def app_command(
    ctx: typer.Context,
    port: Annotated[int, typer.Option("--port", help="Port to serve the app on.")] = 8501,
    address: Annotated[
        str, typer.Option("--address", help="Address to listen on (0.0.0.0: every interface).")
    ] = "127.0.0.1",
) -> None:
    """Open the app in the browser: chat, ingestion, evaluation and admin pages."""
    settings = settings_of(ctx)
    env = dict(os.environ)
    env["FUENTE_HOME"] = str(settings.paths.home.expanduser())
    env["FUENTE_PROFILE"] = settings.profile
    host = "localhost" if address in ("127.0.0.1", "0.0.0.0") else address
    typer.echo(_("Fuente at {url}", url=f"http://{host}:{port}"), err=True)
    os.execve(sys.executable, streamlit_command(port, address), env)


def serve_llm_command(
    ctx: typer.Context,
    background: Annotated[
        bool, typer.Option("--background", help="Start detached and return once it answers.")
    ] = False,
    stop: Annotated[bool, typer.Option("--stop", help="Stop a server started with --background.")] = False,
) -> None:
    """Run the local model server (llama.cpp, OpenAI-compatible) on the configured address."""
    from rag.llm_server import is_up, server_command, start_background, start_helper, stop_background
    from rag.provisioning import ensure_model

    settings = settings_of(ctx)
    if stop:
        typer.echo(_("stopped") if stop_background(settings) else _("no background server was recorded"))
        return
    local = settings.llm.local
    if is_up(local.base_url):
        typer.echo(_("A model server already answers at {url}.", url=local.base_url))
        return
    if background:
        pid = start_background(settings)
        typer.echo(_("Serving {model} at {url} (pid {pid})", model=local.model, url=local.base_url, pid=pid))
        return
    path = ensure_model(settings, settings.llm.server.model)
    helper = settings.llm.helper()
    if helper is not None and not is_up(helper.base_url):
        # The helper (translations, follow-ups) runs detached; `fuente serve-llm --stop` stops it.
        start_helper(settings)
        err.print(_("Helper server for translations at {url} (stop: fuente serve-llm --stop)", url=helper.base_url),
                  markup=False)  # fmt: skip
    cmd = server_command(settings, path)
    err.print(_("Serving {model} at {url}", model=local.model, url=local.base_url), markup=False)
    os.execv(cmd[0], cmd)


def serve_api_command(
    ctx: typer.Context,
    host: Annotated[
        str | None, typer.Option("--host", help="Address to listen on (default api.host, 127.0.0.1).")
    ] = None,
    port: Annotated[int | None, typer.Option("--port", help="Port (default api.port, 8090).")] = None,
) -> None:
    """Serve the OpenAI-compatible API (/v1/chat/completions, /v1/models, /v1/search, /metrics)."""
    from ui.api import serve

    serve(settings_of(ctx), host, port)


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
        raise ConfigError(_("Unknown transport {transport!r}; use stdio or http.", transport=transport))
    chosen: Literal["stdio", "http"] = "stdio" if transport == "stdio" else "http"
    run(settings_of(ctx), key or os.environ.get("FUENTE_API_KEY", ""), chosen, host=host, port=port)
