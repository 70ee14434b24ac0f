"""One-purpose signed tokens (password reset, invitation) and the links that carry them, as Directus makes them.

A token is a JWT signed with ``SECRET`` (issuer ``directus``) whose ``scope`` names its one use
(``password-reset`` or ``invite``) and whose ``email`` names the user. A reset token also carries a
fingerprint of the user's current password hash, so it stops working once the password changes: a reset
link is good for one reset. (Directus puts a 32-bit string hash of the password hash there; Tidepool an
HMAC of it under ``SECRET``, which tells a reader of the token nothing about the hash.)

A link goes to the caller's URL when it is on the allow list (``PASSWORD_RESET_URL_ALLOW_LIST``,
``USER_INVITE_URL_ALLOW_LIST``: equal, or equal in origin and path), else to the Data Studio's page under
``PUBLIC_URL``; the token is its ``token`` query parameter.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import jwt
import sqlalchemy as sa

from tidepool.config import Settings
from tidepool.db import system
from tidepool.errors import ForbiddenError
from tidepool.seams import translated
from tidepool.services.authn import JWT_ALGORITHM, JWT_ISSUER, issue_access_token
from tidepool.services.base import ServiceContext


def sign(settings: Settings, claims: dict[str, Any], ttl_seconds: float) -> str:
    return issue_access_token(settings, claims, ttl_seconds)


def verify(settings: Settings, token: str, scope: str) -> dict[str, Any]:
    """The claims of a token made for ``scope``: ``TOKEN_EXPIRED`` / ``INVALID_TOKEN`` when it is not a good
    token at all, ``FORBIDDEN`` when it is one made for something else."""
    with translated("access token"):
        claims: dict[str, Any] = jwt.decode(
            token, settings.SECRET, algorithms=[JWT_ALGORITHM], issuer=JWT_ISSUER, options={"require": ["exp"]}
        )
    if claims.get("scope") != scope or not isinstance(claims.get("email"), str):
        raise ForbiddenError()
    return claims


def password_fingerprint(settings: Settings, password_hash: str | None) -> str:
    digest = hmac.new(settings.SECRET.encode(), (password_hash or "").encode(), hashlib.sha256)
    return digest.hexdigest()[:32]


def url_allowed(url: str, allow_list: str) -> bool:
    """Directus's ``isUrlAllowed``: listed as is, or the same origin and path as a listed URL."""
    allowed = [entry.strip() for entry in allow_list.split(",") if entry.strip()]
    if url in allowed:
        return True
    target = _origin_and_path(url)
    return target is not None and target in {_origin_and_path(entry) for entry in allowed}


def _origin_and_path(url: str) -> str | None:
    parts = urlsplit(url)
    if not parts.scheme or not parts.netloc:
        return None
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}{parts.path or '/'}"


def link(settings: Settings, url: str | None, page: str, token: str) -> str:
    """``url`` (or ``PUBLIC_URL`` + ``/admin/<page>``) with ``token`` set as its ``token`` parameter."""
    base = url or settings.PUBLIC_URL.rstrip("/") + f"/admin/{page}"
    parts = urlsplit(base)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "token"]
    return urlunsplit(parts._replace(query=urlencode([*query, ("token", token)])))


async def user_by_email(ctx: ServiceContext, email: str) -> Any:
    """The user with this e-mail (stored lower-cased, so matched case-insensitively), or None."""
    users = system.users
    columns = (users.c.id, users.c.email, users.c.password, users.c.status, users.c.role, users.c.provider)
    async with ctx.connection() as conn:
        return (await conn.execute(sa.select(*columns).where(users.c.email == email.strip().lower()))).first()
