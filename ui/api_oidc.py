"""OIDC bearer tokens on the API, for deployments with an identity provider (Keycloak, Entra ID...).

With ``api.oidc_issuer`` and ``api.oidc_audience`` set, a bearer token that is not a Fuente API key
is taken as the provider's access token (a JWT): its signature is checked against the issuer's
published keys, and its issuer, audience and expiry must hold. The account is then mapped to a
Fuente user, groups and roles exactly as the app maps OIDC logins (the users file's ``oidc:``
section, :func:`ui.auth.user_from_claims`), on every request.
"""

from __future__ import annotations

import logging
from typing import Any

import httpx

from rag.assistant import User
from rag.settings import ApiSettings, Settings
from rag.users import UsersFile, users_file
from ui.api_service import ApiError
from ui.auth import OIDCRefused, oidc_mapping, user_from_claims

log = logging.getLogger(__name__)
ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"]


def _refused(message: str) -> ApiError:
    return ApiError(401, message, code="invalid_api_key")


class OidcVerifier:
    """Checks the provider's JWTs; its signing keys are fetched once and cached (refetched for an unknown key id)."""

    def __init__(self, api: ApiSettings) -> None:
        if not api.oidc_issuer or not api.oidc_audience:
            raise ValueError("api.oidc_issuer and api.oidc_audience are both needed")
        self.issuer = api.oidc_issuer
        self.audience = api.oidc_audience
        self.jwks_url = api.oidc_jwks_url
        self._keys: Any = None

    def _client(self) -> Any:
        import jwt

        if self._keys is None:
            url = self.jwks_url
            if not url:
                discovery = self.issuer.rstrip("/") + "/.well-known/openid-configuration"
                try:
                    url = httpx.get(discovery, timeout=10).raise_for_status().json()["jwks_uri"]
                except (httpx.HTTPError, KeyError, ValueError) as e:
                    raise ApiError(503, f"The identity provider's keys cannot be found at {discovery}; try again later.",
                                   type="server_error", code="oidc_unavailable") from e  # fmt: skip
            self._keys = jwt.PyJWKClient(url, cache_keys=True, lifespan=300, timeout=10)
        return self._keys

    def claims(self, token: str) -> dict[str, Any]:
        import jwt

        try:
            key = self._client().get_signing_key_from_jwt(token)
            return jwt.decode(  # type: ignore[no-any-return]
                token,
                key.key,
                algorithms=ALGORITHMS,
                audience=self.audience,
                issuer=self.issuer,
                leeway=30,
                options={"require": ["exp", "iss", "aud", "sub"]},
            )
        except jwt.PyJWKClientConnectionError as e:
            raise ApiError(503, "The identity provider's keys cannot be fetched; try again later.",
                           type="server_error", code="oidc_unavailable") from e  # fmt: skip
        except jwt.ExpiredSignatureError as e:
            raise _refused("The bearer token has expired; sign in again.") from e
        except jwt.PyJWTError as e:
            raise _refused(
                "The bearer token is neither a Fuente API key nor a valid token of the configured identity provider."
            ) from e


def oidc_user(settings: Settings, verifier: OidcVerifier, token: str) -> User:
    """The Fuente user of a provider's token, mapped now with the users file's ``oidc:`` section."""
    claims = verifier.claims(token)
    try:
        record = user_from_claims(claims, oidc_mapping(UsersFile.load(users_file(settings))))
    except OIDCRefused as e:
        raise _refused(str(e)) from e
    return User(record.name, record.groups)
