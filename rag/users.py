"""Users, their groups, roles and password hashes, in the local users file (``FUENTE_HOME/users.yaml``).

The file is the embedded default for logging in to the app (OIDC replaces it in production) and
the CLI's ``--user`` source of groups. Passwords are stored as bcrypt hashes only::

    users:
      ana:
        groups: [rrhh]
        roles: [user, knowledge_manager]
        password_hash: $2b$12$...
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from rag.errors import ConfigError
from rag.settings import Settings, check_group_name

ROLES = ("user", "knowledge_manager", "ai_lead", "admin")
"""user: asks questions; knowledge_manager: ingestion; ai_lead: evaluation; admin: everything."""


@dataclass(frozen=True)
class UserRecord:
    name: str
    """The stable key: the users-file name, or for OIDC a digest of issuer and subject."""
    groups: frozenset[str] = frozenset()
    roles: frozenset[str] = frozenset({"user"})
    password_hash: str | None = None
    source: str = "local"
    """local (the users file) or oidc."""
    display: str | None = None
    """What to show for the user (OIDC: the name claim); the key when None."""

    @property
    def shown_name(self) -> str:
        return self.display or self.name

    def has_role(self, role: str) -> bool:
        # admin holds every role, so one account can run a small installation.
        return role in self.roles or "admin" in self.roles


@dataclass
class UsersFile:
    """The users file, read and written whole (it is small)."""

    path: Path
    users: dict[str, UserRecord] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    """Other top-level keys (such as ``oidc:``), kept as they are when the file is saved."""

    @classmethod
    def load(cls, path: Path) -> UsersFile:
        if not path.exists():
            return cls(path)
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as e:
            raise ConfigError(f"The users file {path} cannot be read ({e}); fix or remove it.") from e
        if not isinstance(data, dict):
            raise ConfigError(f"The users file {path} is not a mapping; it must start with `users:`.")
        users: dict[str, UserRecord] = {}
        for name, entry in (data.get("users") or {}).items():
            entry = entry or {}
            roles = entry.get("roles")
            users[str(name)] = UserRecord(
                name=str(name),
                groups=frozenset(str(g) for g in entry.get("groups") or []),
                roles=frozenset(str(r) for r in roles) if roles is not None else frozenset({"user"}),
                password_hash=entry.get("password_hash"),
            )
        extra = {k: v for k, v in data.items() if k != "users"}
        return cls(path, users, extra)

    def save(self) -> None:
        data: dict[str, Any] = dict(self.extra)
        data["users"] = {
            u.name: {
                "groups": sorted(u.groups),
                "roles": sorted(u.roles),
                **({"password_hash": u.password_hash} if u.password_hash else {}),
            }
            for u in sorted(self.users.values(), key=lambda u: u.name)
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # Written to a temporary file and renamed, so a reader never sees half a file; 0600: it holds hashes.
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".users-", suffix=".yaml")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                yaml.safe_dump(data, f, allow_unicode=True, sort_keys=False)
            os.chmod(tmp, 0o600)
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def users_file(settings: Settings) -> Path:
    return settings.paths.resolve("users.yaml")


def hash_password(password: str) -> str:
    import bcrypt

    if not password:
        raise ConfigError("A password cannot be empty; choose one.")
    # bcrypt reads at most 72 bytes; longer passwords are refused rather than silently cut.
    raw = password.encode("utf-8")
    if len(raw) > 72:
        raise ConfigError("A password may have at most 72 bytes; choose a shorter one.")
    return bcrypt.hashpw(raw, bcrypt.gensalt()).decode("ascii")


def check_password(record: UserRecord, password: str) -> bool:
    import bcrypt

    if not record.password_hash or not password:
        return False
    raw = password.encode("utf-8")
    if len(raw) > 72:
        return False
    try:
        return bcrypt.checkpw(raw, record.password_hash.encode("ascii"))
    except ValueError:  # a malformed hash in the file is a failed login, not a crash
        return False


def authenticate(settings: Settings, name: str, password: str) -> UserRecord | None:
    """The user when the name and password match the users file, else None."""
    record = UsersFile.load(users_file(settings)).users.get(name)
    if record is None:
        # Same work as a real check, so the response time does not tell which names exist.
        check_password(UserRecord(name, password_hash=_DUMMY_HASH), password)
        return None
    return record if check_password(record, password) else None


_DUMMY_HASH = "$2b$12$fYTNeJUQZby0IPNk8YRBs.HqKGoXoX8GGIQtt3d79BIBZgVp/xXr."


def add_user(
    settings: Settings,
    name: str,
    *,
    password: str | None,
    groups: frozenset[str] = frozenset(),
    roles: frozenset[str] = frozenset({"user"}),
) -> UserRecord:
    """Add or replace user ``name``; without a password the user can only be used from the CLI.

    Raises:
        ConfigError: an unknown role, an empty name or an unusable password.
    """
    if not name.strip():
        raise ConfigError("A user name cannot be empty; choose one.")
    for group in groups:
        try:
            check_group_name(group)
        except ValueError as e:
            raise ConfigError(f"Invalid group: {e}.") from e
    unknown = sorted(set(roles) - set(ROLES))
    if unknown:
        raise ConfigError(f"Unknown role(s) {unknown}; choose from {list(ROLES)}.")
    users = UsersFile.load(users_file(settings))
    record = UserRecord(name, groups, roles, hash_password(password) if password is not None else None)
    users.users[name] = record
    users.save()
    return record


def remove_user(settings: Settings, name: str) -> bool:
    users = UsersFile.load(users_file(settings))
    if users.users.pop(name, None) is None:
        return False
    users.save()
    return True


def list_users(settings: Settings) -> list[UserRecord]:
    return sorted(UsersFile.load(users_file(settings)).users.values(), key=lambda u: u.name)


def current(settings: Settings, name: str) -> UserRecord | None:
    """User ``name`` as the users file says now (no password hash), or None when they are gone."""
    record = UsersFile.load(users_file(settings)).users.get(name)
    return None if record is None else UserRecord(record.name, record.groups, record.roles)


def groups_of(settings: Settings, name: str) -> frozenset[str]:
    """The groups of user ``name``.

    Raises:
        ConfigError: no users file, or no such user in it.
    """
    path = users_file(settings)
    if not path.exists():
        raise ConfigError(f"There is no users file at {path}; pass --groups instead of --user, or create it.")
    user = UsersFile.load(path).users.get(name)
    if user is None:
        raise ConfigError(f"User {name!r} is not in {path}; check the name or pass --groups.")
    return user.groups
