"""`fuente users add/remove/list`: the local users file the app logs in against."""

from __future__ import annotations

import getpass
import secrets
from typing import Annotated

import typer

from rag.users import ROLES, add_user, list_users, remove_user, users_file
from ui.cli.base import csv, fail, settings_of
from ui.cli.keys import key_app

users_app = typer.Typer(help="Users of the app: groups, roles, passwords (bcrypt hashes in FUENTE_HOME/users.yaml).")
users_app.add_typer(key_app, name="key")


@users_app.command("add")
def users_add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="User name (what they type to log in).")],
    groups: Annotated[str, typer.Option("--groups", help="Comma-separated groups.")] = "",
    roles: Annotated[str, typer.Option("--roles", help=f"Comma-separated roles: {', '.join(ROLES)}.")] = "user",
    password: Annotated[
        str | None, typer.Option("--password", help="The password (default: asked for, or generated with --generate).")
    ] = None,
    generate: Annotated[bool, typer.Option("--generate", help="Generate a password and print it once.")] = False,
    no_password: Annotated[
        bool, typer.Option("--no-password", help="CLI-only user (cannot log in to the app).")
    ] = False,
) -> None:
    """Add a user, or replace one with the same name."""
    settings = settings_of(ctx)
    if no_password:
        password = None
    elif generate:
        password = secrets.token_urlsafe(12)
    elif password is None:
        password = getpass.getpass(f"Password for {name}: ")
    record = add_user(settings, name, password=password, groups=csv(groups), roles=csv(roles) or frozenset({"user"}))
    typer.echo(
        f"Saved {record.name} (groups: {', '.join(sorted(record.groups)) or 'none'}; roles: {', '.join(sorted(record.roles))})."
    )
    if generate:
        typer.echo(f"Password: {password}")


@users_app.command("remove")
def users_remove(ctx: typer.Context, name: Annotated[str, typer.Argument(help="User name.")]) -> None:
    """Remove a user."""
    settings = settings_of(ctx)
    if not remove_user(settings, name):
        fail(f"There is no user {name!r} in {users_file(settings)}; list them with `fuente users list`.")
    typer.echo(f"Removed {name}.")


@users_app.command("list")
def users_list(ctx: typer.Context) -> None:
    """List users with their groups and roles (never their password hashes)."""
    for u in list_users(settings_of(ctx)):
        login = "password" if u.password_hash else "no password"
        typer.echo(
            f"{u.name:20} groups: {','.join(sorted(u.groups)) or '-':25} roles: {','.join(sorted(u.roles)):35} {login}"
        )
