"""`fuente app`: runs the Streamlit app (``ui/streamlit_app.py``) with ``streamlit run``."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

APP_SCRIPT = Path(__file__).resolve().parent / "streamlit_app.py"


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
        "--client.toolbarMode", "viewer",
    ]  # fmt: skip


def app_command(
    ctx: typer.Context,
    port: Annotated[int, typer.Option("--port", help="Port to serve the app on.")] = 8501,
    address: Annotated[
        str, typer.Option("--address", help="Address to listen on (0.0.0.0: every interface).")
    ] = "127.0.0.1",
) -> None:
    """Open the app in the browser: chat, ingestion, evaluation and admin pages."""
    settings = ctx.obj["settings"]
    env = dict(os.environ)
    env["FUENTE_HOME"] = str(settings.paths.home.expanduser())
    env["FUENTE_PROFILE"] = settings.profile
    typer.echo(f"Fuente at http://{'localhost' if address in ('127.0.0.1', '0.0.0.0') else address}:{port}", err=True)
    os.execve(sys.executable, streamlit_command(port, address), env)
