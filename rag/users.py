"""Users and their groups, from the local users file (``FUENTE_HOME/users.yaml``).

The Streamlit app adds passwords and roles to the same file; the CLI only needs the groups.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from rag.errors import ConfigError
from rag.settings import Settings


def users_file(settings: Settings) -> Path:
    return settings.paths.resolve("users.yaml")


def groups_of(settings: Settings, name: str) -> frozenset[str]:
    """The groups of user ``name``.

    Raises:
        ConfigError: no users file, or no such user in it.
    """
    path = users_file(settings)
    if not path.exists():
        raise ConfigError(f"There is no users file at {path}; pass --groups instead of --user, or create it.")
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    user = (data.get("users") or {}).get(name)
    if user is None:
        raise ConfigError(f"User {name!r} is not in {path}; check the name or pass --groups.")
    return frozenset(str(g) for g in user.get("groups", []))
