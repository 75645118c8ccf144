"""The local users file: bcrypt hashes, roles, groups, and the `fuente users` commands."""

from __future__ import annotations

import stat

import pytest
from typer.testing import CliRunner

from rag.errors import ConfigError
from rag.users import UsersFile, add_user, authenticate, groups_of, list_users, remove_user, users_file
from tests.helpers import SettingsFactory
from ui.auth import OIDCRefused, oidc_key, user_from_claims
from ui.cli import app


def test_passwords_are_hashed_and_checked(make_settings: SettingsFactory) -> None:
    settings = make_settings()
    add_user(
        settings, "ana", password="s3cret pass", groups=frozenset({"rrhh"}), roles=frozenset({"knowledge_manager"})
    )
    text = users_file(settings).read_text()
    assert "s3cret" not in text and "$2b$" in text
    assert stat.S_IMODE(users_file(settings).stat().st_mode) == 0o600
    user = authenticate(settings, "ana", "s3cret pass")
    assert user is not None and user.groups == {"rrhh"} and user.has_role("knowledge_manager")
    assert not user.has_role("admin") and not user.has_role("ai_lead")
    assert authenticate(settings, "ana", "wrong") is None
    assert authenticate(settings, "nobody", "s3cret pass") is None
    assert groups_of(settings, "ana") == {"rrhh"}


def test_admin_holds_every_role_and_unknown_roles_are_refused(make_settings: SettingsFactory) -> None:
    settings = make_settings()
    admin = add_user(settings, "root", password="x", roles=frozenset({"admin"}))
    assert all(admin.has_role(r) for r in ("user", "knowledge_manager", "ai_lead"))
    with pytest.raises(ConfigError, match="Unknown role"):
        add_user(settings, "eve", password="x", roles=frozenset({"superuser"}))
    with pytest.raises(ConfigError, match="at most 72 bytes"):
        add_user(settings, "eve", password="x" * 73)


def test_users_without_password_cannot_log_in_and_old_files_still_read(make_settings: SettingsFactory) -> None:
    settings = make_settings()
    path = users_file(settings)
    path.parent.mkdir(parents=True)
    # A file from before the app (groups only) and an oidc section: both kept, the user gets role "user".
    path.write_text("oidc: {groups_claim: roles}\nusers:\n  luis: {groups: [finanzas]}\n")
    assert groups_of(settings, "luis") == {"finanzas"}
    assert authenticate(settings, "luis", "") is None
    add_user(settings, "ana", password="pw")
    loaded = UsersFile.load(path)
    assert loaded.extra == {"oidc": {"groups_claim": "roles"}}
    assert loaded.users["luis"].roles == {"user"}
    assert remove_user(settings, "luis") and not remove_user(settings, "luis")
    assert [u.name for u in list_users(settings)] == ["ana"]


def test_users_cli(make_settings: SettingsFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = make_settings()
    monkeypatch.setenv("FUENTE_HOME", str(settings.paths.home))
    runner = CliRunner()
    added = runner.invoke(app, ["users", "add", "ana", "--groups", "rrhh,finanzas", "--roles", "ai_lead", "--generate"])
    assert added.exit_code == 0, added.output
    password = added.output.split("Password: ")[1].strip()
    assert authenticate(settings, "ana", password) is not None
    listed = runner.invoke(app, ["users", "list"])
    assert "ana" in listed.output and "finanzas,rrhh" in listed.output and "$2b$" not in listed.output
    assert runner.invoke(app, ["users", "add", "bob", "--roles", "boss", "--password", "x"]).exit_code == 4
    assert runner.invoke(app, ["users", "remove", "ana"]).exit_code == 0
    assert runner.invoke(app, ["users", "remove", "ana"]).exit_code == 4


def test_oidc_claims_map_only_configured_groups_and_roles() -> None:
    mapping = {
        "groups_claim": "groups",
        "groups": {"/fuente/rrhh": "rrhh"},
        "roles": {"/fuente/admins": "admin"},
    }
    idp = {"iss": "https://idp.example", "sub": "0f3a"}
    user = user_from_claims(
        {**idp, "preferred_username": "ana", "groups": ["/fuente/rrhh", "/fuente/admins", "/other/finanzas"]}, mapping
    )
    assert user.shown_name == "ana" and user.groups == {"rrhh"} and user.roles == {"user", "admin"}
    assert user.name == oidc_key("https://idp.example", "0f3a")  # keyed by issuer + subject, not the name
    with pytest.raises(OIDCRefused):  # no mapped group: no login (oidc.require_group, on by default)
        user_from_claims({**idp, "email": "x@y.z", "groups": "finanzas"}, mapping)
    nobody = user_from_claims({**idp, "email": "x@y.z", "groups": "finanzas"}, {**mapping, "require_group": False})
    assert nobody.shown_name == "x@y.z" and nobody.groups == frozenset() and nobody.roles == {"user"}
