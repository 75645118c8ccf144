"""`fuente users add/remove/list`: the local users file the app logs in against."""

from __future__ import annotations

import getpass
import secrets
from typing import Annotated

import typer

from rag.users import ROLES, add_user, list_users, remove_user, users_file
from ui.cli.base import csv, fail, settings_of
from ui.cli.keys import key_app
from ui.cli.language import _

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
        password = getpass.getpass(_("Password for {name}: ", name=name))
    record = add_user(settings, name, password=password, groups=csv(groups), roles=csv(roles) or frozenset({"user"}))
    groups_shown = ", ".join(sorted(record.groups)) or _("none")
    roles_shown = ", ".join(sorted(record.roles))
    typer.echo(_("Saved {name} (groups: {groups}; roles: {roles}).", name=record.name, groups=groups_shown,
                 roles=roles_shown))  # fmt: skip
    if generate:
        typer.echo(_("Password: {password}", password=password))


@users_app.command("remove")
def users_remove(ctx: typer.Context, name: Annotated[str, typer.Argument(help="User name.")]) -> None:
    """Remove a user."""
    settings = settings_of(ctx)
    if not remove_user(settings, name):
        fail(_("There is no user {name!r} in {file}; list them with `fuente users list`.", name=name,
               file=users_file(settings)))  # fmt: skip
    typer.echo(_("Removed {name}.", name=name))


@users_app.command("list")
def users_list(ctx: typer.Context) -> None:
    """List users with their groups and roles (never their password hashes)."""
    for u in list_users(settings_of(ctx)):
        login = _("password") if u.password_hash else _("no password")
        groups = _("groups: {groups}", groups=f"{','.join(sorted(u.groups)) or '-':25}")
        roles = _("roles: {roles}", roles=f"{','.join(sorted(u.roles)):35}")
        typer.echo(f"{u.name:20} {groups} {roles} {login}")
