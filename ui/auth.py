"""Who is using the app: the local users file by default, OIDC (``st.login``) in production.

OIDC claims are mapped to Fuente groups and roles by the ``oidc:`` section of the users file;
claim values that are not mapped give nothing (an identity provider's group is never taken as a
Fuente group by name alone)::

    oidc:
      name_claim: preferred_username    # only what is shown; users are keyed by issuer + subject
      groups_claim: groups
      require_group: true               # the default: an account with no mapped group cannot log in
      groups: {"/fuente/rrhh": rrhh, "/fuente/finanzas": finanzas}
      roles: {"/fuente/knowledge-managers": knowledge_manager, "/fuente/admins": admin}

Every rerun checks the session's user again (:func:`refresh_user`): a user removed from the users
file is logged out, changed groups and roles apply at once, and an OIDC user is mapped again with
the mapping as it is now.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from rag.settings import Settings, check_group_name
from rag.users import UserRecord, UsersFile, current, users_file

DEFAULT_NAME_CLAIMS = ("preferred_username", "email", "name")


def N_(message: str) -> str:
    """Marks a message for the catalogues; it is translated where it is shown (:meth:`OIDCRefused.shown`)."""
    return message


class OIDCRefused(Exception):
    """The identity provider's account may not use Fuente; the message says why, in one sentence."""

    def __init__(self, message: str, **values: Any) -> None:
        super().__init__(message.format(**values))
        self.message = message
        self.values = values

    def shown(self, lang: str) -> str:
        """The sentence in ``lang``."""
        from ui.i18n import translate

        return translate(lang, self.message, **self.values)


def oidc_mapping(users: UsersFile) -> dict[str, Any]:
    mapping = users.extra.get("oidc") or {}
    return mapping if isinstance(mapping, dict) else {}


def oidc_key(issuer: str, subject: str) -> str:
    """The stable user key of an OIDC account: names and e-mails change, issuer + subject do not."""
    return "oidc-" + hashlib.sha256(f"{issuer}\0{subject}".encode()).hexdigest()[:20]


def user_from_claims(claims: Mapping[str, Any], mapping: Mapping[str, Any]) -> UserRecord:
    """The Fuente user for an OIDC identity: keyed by issuer and subject, with the groups and roles its claims map to.

    Raises:
        OIDCRefused: the token has no subject, or (unless ``require_group: false``) no claim maps to a group.
    """
    subject, issuer = claims.get("sub"), claims.get("iss")
    if not subject or not issuer:
        raise OIDCRefused(N_("The identity provider sent no subject or issuer for this account; ask an administrator."))
    name_claim = mapping.get("name_claim")
    names = (name_claim,) if name_claim else DEFAULT_NAME_CLAIMS
    display = next((str(claims[c]) for c in names if claims.get(c)), str(subject))
    raw = claims.get(mapping.get("groups_claim", "groups")) or []
    values = [raw] if isinstance(raw, str) else [str(v) for v in raw]
    group_map: Mapping[str, str] = mapping.get("groups") or {}
    role_map: Mapping[str, str] = mapping.get("roles") or {}
    try:
        groups = frozenset(check_group_name(str(group_map[v])) for v in values if v in group_map)
    except ValueError as e:
        raise OIDCRefused(
            N_("The oidc mapping in the users file names an invalid group ({error}); fix it."), error=str(e)
        ) from e
    roles = frozenset({"user"} | {role_map[v] for v in values if v in role_map})
    if not groups and mapping.get("require_group", True):
        raise OIDCRefused(
            N_("Your account is in no group mapped to Fuente, so it cannot log in; ask an administrator to map one.")
        )
    return UserRecord(oidc_key(str(issuer), str(subject)), groups, roles, source="oidc", display=display)


def refresh_user(settings: Settings, user: UserRecord, claims: Mapping[str, Any] | None = None) -> UserRecord | None:
    """The session's user as they are now, or None when they may no longer use Fuente.

    A local user is read again from the users file (gone: None). An OIDC user is mapped again from
    ``claims`` (the identity provider's, as Streamlit holds them) with the current mapping; without
    claims, or when the mapping now refuses the account: None.
    """
    if user.source == "oidc":
        if not claims or not claims.get("is_logged_in", True):
            return None
        try:
            fresh = user_from_claims(claims, oidc_mapping(UsersFile.load(users_file(settings))))
        except OIDCRefused:
            return None
        return fresh if fresh.name == user.name else None
    return current(settings, user.name)


def oidc_configured(secrets: Any) -> bool:
    """True when Streamlit's secrets hold an ``[auth]`` section (then ``st.login`` is used)."""
    try:
        return "auth" in secrets
    except Exception:  # no secrets file at all
        return False
