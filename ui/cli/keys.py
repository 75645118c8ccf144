"""`fuente users key create|list|revoke`: the API keys of `fuente serve-api` and `fuente serve-mcp`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer

from rag import api_keys
from rag.users import groups_of
from ui.cli.base import err, fail, settings_of
from ui.cli.language import _

key_app = typer.Typer(help="API keys of `fuente serve-api` and `fuente serve-mcp`: each acts as one user.")


def _when(ts: float | None) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M") if ts else "-"


@key_app.command("create")
def key_create(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The user the key acts as (in the users file).")],
    label: Annotated[str, typer.Option("--label", help="What the key is for (Open WebUI, an agent...).")] = "",
) -> None:
    """Create a key for a user and print it once (only its sha256 is stored)."""
    settings = settings_of(ctx)
    groups_of(settings, name)  # the user must exist; their groups are read again on every request
    record, token = api_keys.create_key(settings, name, label=label)
    err.print(_("Key {key} for {name}; it is shown only now:", key=record.key_id, name=name), markup=False)
    typer.echo(token)


@key_app.command("list")
def key_list(
    ctx: typer.Context,
    name: Annotated[str | None, typer.Argument(help="Only this user's keys.")] = None,
) -> None:
    """List keys (id, user, label, created, last used, revoked); never the keys themselves."""
    for k in api_keys.list_keys(settings_of(ctx), name):
        state = _("revoked {when}", when=_when(k.revoked)) if k.revoked else _("active")
        created = _("created {when}", when=_when(k.created))
        used = _("used {when}", when=_when(k.last_used))
        typer.echo(f"{k.key_id:10} {k.user:20} {k.label or '-':20} {created}  {used}  {state}")


@key_app.command("revoke")
def key_revoke(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="A key id (from `fuente users key list`), or a user: all their keys.")],
) -> None:
    """Revoke a key, or every active key of a user; requests with it get 401 at once."""
    revoked = api_keys.revoke(settings_of(ctx), name)
    if not revoked:
        fail(_("No active key has the id or user {name!r}; see `fuente users key list`.", name=name))
    keys, users = ", ".join(k.key_id for k in revoked), ", ".join(sorted({k.user for k in revoked}))
    typer.echo(_("Revoked {keys} ({users}).", keys=keys, users=users))
