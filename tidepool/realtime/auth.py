"""Authentication of a WebSocket: at the upgrade, by the first frame, and by later ``auth`` frames.

Every route to an identity ends in the same two calls as an HTTP request (``services.authn.authenticate``
then the permission service's ``access_for``), so a socket can never see more than the same token would
over REST. Failures of any kind collapse into one ``AUTH_FAILED`` (Directus never tells a socket *why*),
except refusals that say nothing about the credential and that the client must act on differently: the
login rate limit (``REQUESTS_EXCEEDED``) and a database outage (``SERVICE_UNAVAILABLE``) travel as
``CredentialRejectedError.told`` (``tidepool.errors``) and are sent as they are. An expired JWT inside an
``auth`` frame is a failure too, not ``TOKEN_EXPIRED``: that code is only pushed by the server when a token
that was valid runs out (spec §3.5).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tidepool.context import Access
from tidepool.errors import CredentialRejectedError, TidepoolError
from tidepool.runtime import Runtime
from tidepool.services import auth as auth_service
from tidepool.services import authn, permissions

log = logging.getLogger("tidepool.realtime")


@dataclass(frozen=True)
class AuthResult:
    access: Access
    expires_at: float | None  # unix seconds the JWT expires; None for static tokens
    refresh_token: str | None = None  # only for e-mail/password and refresh-token logins
    token: str | None = None  # the access token (static or JWT) the access was resolved from
    generation: int = 0  # the access generation when resolving began (``AccessCache.generation``)


async def public_access(runtime: Runtime, where: Mapping[str, str | None]) -> Access:
    """What an unauthenticated socket may do: the Public policy, seeded with the upgrade's ip/agent/origin."""
    accountability = await authn.authenticate(runtime.context(), None, **where)
    return await permissions.access_for(runtime.context(), accountability)


async def from_token(runtime: Runtime, token: str, where: Mapping[str, str | None]) -> AuthResult:
    """A static token or JWT (``?access_token=``, session cookie, ``auth`` frame); ``CredentialRejectedError``
    when bad."""
    generation = runtime.access_cache.generation
    try:
        accountability = await authn.authenticate(runtime.context(), token, **where)
    except TidepoolError as exc:
        raise CredentialRejectedError(exc.code, exc) from None
    if accountability.is_public:
        raise CredentialRejectedError("token resolves to the public role")
    expiry = authn.token_expiry(token)
    access = await permissions.access_for(runtime.context(), accountability)
    return AuthResult(access, None if expiry is None else float(expiry), token=token, generation=generation)


async def from_message(runtime: Runtime, message: Mapping[str, Any], where: Mapping[str, str | None]) -> AuthResult:
    """An ``auth`` frame already checked by ``protocol.credentials_valid``. Every credential form it carries is
    used, in Directus's order: e-mail/password (a login), then ``refresh_token`` (rotated), then
    ``access_token``, a later form's access token replacing an earlier one's; any of them failing fails the
    auth, so a good token beside a wrong password is ``AUTH_FAILED`` as in Directus. The ok reply carries the
    refresh token of the last login or refresh, if any."""
    access_token: str | None = None
    refresh_token: str | None = None
    if "email" in message and "password" in message:
        access_token, refresh_token = await _login(runtime, _text(message["email"]), _text(message["password"]), where)
    if "refresh_token" in message:
        access_token, refresh_token = await _refresh(runtime, _text(message["refresh_token"]), where)
    if "access_token" in message:
        access_token = _text(message["access_token"])
    result = await from_token(runtime, _text(access_token), where)
    return AuthResult(result.access, result.expires_at, refresh_token, token=access_token, generation=result.generation)


def _text(value: Any) -> str:
    """A credential field as a non-empty string; anything else is a failed auth."""
    if not isinstance(value, str) or not value:
        raise CredentialRejectedError("a credential field is not a non-empty string")
    return value


async def _login(runtime: Runtime, email: str, password: str, where: Mapping[str, str | None]) -> tuple[str, str]:
    """E-mail/password login through the auth service (a new session, as a REST login)."""
    try:
        tokens = await auth_service.login(runtime.context(), email, password, **where)
    except TidepoolError as exc:
        raise CredentialRejectedError(exc.code, exc) from None
    return tokens.access_token, _require(tokens.refresh_token)


async def _refresh(runtime: Runtime, refresh_token: str, where: Mapping[str, str | None]) -> tuple[str, str]:
    """Refresh-token login: rotates the refresh token, so the old one is dead afterwards."""
    try:
        tokens = await auth_service.refresh(runtime.context(), refresh_token, **where)
    except TidepoolError as exc:
        raise CredentialRejectedError(exc.code, exc) from None
    return tokens.access_token, _require(tokens.refresh_token)


def _require(value: str | None) -> str:
    if not value:
        raise CredentialRejectedError("the auth service returned no refresh token")
    return value
