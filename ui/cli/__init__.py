"""The `fuente` command: one Typer app, its global options, and every subcommand registered once.

Settings are loaded here, once, from the global options, and handed to each subcommand through the
Typer context. The subcommands are thin callers in this package (one module per family); they get
their parts from :mod:`rag.app`, the composition root, and report errors by raising: the root group
(:class:`ui.cli.base.HandledGroup`) prints them and picks the exit code.
"""

from __future__ import annotations

import logging
from typing import Annotated

import typer

from rag.index import private_files
from rag.settings import load_settings
from ui.cli.ask import ask_command, chat_command
from ui.cli.base import HandledGroup
from ui.cli.doctor import doctor_command
from ui.cli.evaluation import eval_app
from ui.cli.ingest import ingest_command, jobs_app
from ui.cli.models import models_app
from ui.cli.search import search_command
from ui.cli.serve import app_command, serve_api_command, serve_llm_command, serve_mcp_command
from ui.cli.users import users_app

app = typer.Typer(
    cls=HandledGroup, help="Fuente: a private RAG knowledge assistant.", no_args_is_help=True, add_completion=False
)
app.add_typer(models_app, name="models")
app.add_typer(jobs_app, name="jobs")
app.add_typer(eval_app, name="eval")
app.command("ingest")(ingest_command)
app.command("ask")(ask_command)
app.command("search")(search_command)
app.command("chat")(chat_command)
app.command("serve-llm")(serve_llm_command)
app.command("app")(app_command)
app.command("serve-api")(serve_api_command)
app.command("serve-mcp")(serve_mcp_command)
app.add_typer(users_app, name="users")
app.command("doctor")(doctor_command)


@app.callback()
def main(
    ctx: typer.Context,
    profile: Annotated[
        str | None, typer.Option("--profile", "-p", help="Config profile (configs/<name>.yaml).")
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log what happens.")] = False,
) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    ctx.obj = {"settings": load_settings(profile)}
    private_files(ctx.obj["settings"])  # embedded mode: umask 077 before anything is written
