"""`fuente doctor`: one line per configured component, non-zero exit when one fails.

The compose health checks run it (``fuente doctor --skip embedding`` for the app, so a health probe
does not load a model every interval).
"""

from __future__ import annotations

import json
from typing import Annotated

import typer

from rag.doctor import CHECKS, DEFAULT_MIN_FREE_GB, run_checks
from ui.cli.base import EXIT_FAILED, settings_of
from ui.cli.language import _, status_name, translated


def _names(raw: str | None) -> list[str] | None:
    if raw is None:
        return None
    names = [n.strip() for n in raw.split(",") if n.strip()]
    unknown = sorted(set(names) - set(CHECKS))
    if unknown:
        raise typer.BadParameter(
            _("unknown check(s) {unknown}; choose from {known}.", unknown=", ".join(unknown), known=", ".join(CHECKS))
        )
    return names


def doctor_command(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="The results as a JSON list.")] = False,
    only: Annotated[
        str | None, typer.Option("--only", help=f"Comma-separated checks to run ({', '.join(CHECKS)}).")
    ] = None,
    skip: Annotated[str | None, typer.Option("--skip", help="Comma-separated checks to leave out.")] = None,
    min_free_gb: Annotated[
        float, typer.Option("--min-free-gb", help="Least free disk under FUENTE_HOME.")
    ] = DEFAULT_MIN_FREE_GB,
) -> None:
    """Check every configured component: index, LLM endpoint, embedding model, free disk, users file."""
    results = run_checks(settings_of(ctx), only=_names(only), skip=_names(skip) or [], min_free_gb=min_free_gb)
    if as_json:
        typer.echo(json.dumps([r.to_dict() for r in results], ensure_ascii=False, indent=2, default=str))
    else:
        # The check names are what --only and --skip take: they stay as they are; the status word and
        # the sentence are for people.
        shown = [status_name(r.status.value) for r in results]
        status_width = max([4, *(len(s) for s in shown)])
        width = max((len(r.name) for r in results), default=0)
        for r, status in zip(results, shown, strict=True):
            typer.echo(f"{status:<{status_width}}  {r.name:<{width}}  {translated(r.detail)}")
    if not all(r.ok for r in results):
        raise typer.Exit(EXIT_FAILED)
