"""Who is using the app: the local users file by default, OIDC (``st.login``) in production.

OIDC claims are mapped to Fuente groups and roles by the ``oidc:`` section of the users file;
claim values that are not mapped give nothing (an identity provider's group is never taken as a
Fuente group by name alone)::

    oidc:
      name_claim: preferred_username
      groups_claim: groups
      groups: {"/fuente/rrhh": rrhh, "/fuente/finanzas": finanzas}
      roles: {"/fuente/knowledge-managers": knowledge_manager, "/fuente/admins": admin}
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rag.users import UserRecord, UsersFile

DEFAULT_NAME_CLAIMS = ("preferred_username", "email", "sub")


def oidc_mapping(users: UsersFile) -> dict[str, Any]:
    mapping = users.extra.get("oidc") or {}
    return mapping if isinstance(mapping, dict) else {}


def user_from_claims(claims: Mapping[str, Any], mapping: Mapping[str, Any]) -> UserRecord:
    """The Fuente user for an OIDC identity: its name, and the groups and roles its claims map to."""
    name_claim = mapping.get("name_claim")
    names = (name_claim,) if name_claim else DEFAULT_NAME_CLAIMS
    name = next((str(claims[c]) for c in names if claims.get(c)), "unknown")
    raw = claims.get(mapping.get("groups_claim", "groups")) or []
    values = [raw] if isinstance(raw, str) else [str(v) for v in raw]
    group_map: Mapping[str, str] = mapping.get("groups") or {}
    role_map: Mapping[str, str] = mapping.get("roles") or {}
    groups = frozenset(group_map[v] for v in values if v in group_map)
    roles = frozenset({"user"} | {role_map[v] for v in values if v in role_map})
    return UserRecord(name, groups, roles)


def oidc_configured(secrets: Any) -> bool:
    """True when Streamlit's secrets hold an ``[auth]`` section (then ``st.login`` is used)."""
    try:
        return "auth" in secrets
    except Exception:  # no secrets file at all
        return False
