"""Authentication: from a token to an ``Accountability``.

A token is either a JWT signed with ``SECRET`` (HS256, issuer ``directus``, as Directus issues them) or a
user's static token, looked up by its SHA-256. Only ``active`` users authenticate, and the role comes from
the database (through the snapshot below, not trusted from the JWT), so a role change or a suspension takes
effect at once instead of when the access token expires. A session-mode JWT also needs its session row alive,
which is what makes logout effective for cookie sessions.

The role chain and the policies come from the permission service's cached snapshot of the access model
(``services/permissions.py``), and so does who a credential belongs to: the snapshot is dropped on every
write to ``directus_users`` (and every 5 s, for writes by other processes such as the CLI), so a warm
request authenticates without touching the database.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import jwt
import sqlalchemy as sa

from tidepool.config import Settings
from tidepool.context import Accountability
from tidepool.db import system
from tidepool.errors import InvalidCredentialsError, InvalidTokenError
from tidepool.seams import translated
from tidepool.security import hash_token
from tidepool.services.base import ServiceContext
from tidepool.services.permissions import identity_cache, policies_for

JWT_ISSUER = "directus"
JWT_ALGORITHM = "HS256"


def issue_access_token(settings: Settings, claims: Mapping[str, Any], ttl_seconds: float) -> str:
    """A Directus-shaped access JWT: ``claims`` plus ``iat``, ``exp`` and ``iss``."""
    now = int(time.time())
    payload = {**claims, "iat": now, "exp": now + int(ttl_seconds), "iss": JWT_ISSUER}
    return jwt.encode(payload, settings.SECRET, algorithm=JWT_ALGORITHM)


def unverified_claims(token: str) -> dict[str, Any] | None:
    """The claims of a Directus JWT without checking it, or None when ``token`` is not one (a static token)."""
    try:
        claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return None
    return claims if isinstance(claims, dict) and claims.get("iss") == JWT_ISSUER else None


def token_expiry(token: str | None) -> int | None:
    """The ``exp`` (Unix seconds) of a Directus JWT; None for static tokens, which never expire."""
    claims = unverified_claims(token) if token else None
    exp = claims.get("exp") if claims else None
    return int(exp) if isinstance(exp, int | float) else None


def verify_access_token(settings: Settings, token: str, *, allow_expired: bool = False) -> dict[str, Any]:
    """Check signature, issuer and expiry: ``TOKEN_EXPIRED`` when expired, ``INVALID_TOKEN`` otherwise."""
    with translated("access token"):
        claims: dict[str, Any] = jwt.decode(
            token,
            settings.SECRET,
            algorithms=[JWT_ALGORITHM],
            issuer=JWT_ISSUER,
            options={"require": ["exp", "iss"], "verify_exp": not allow_expired},
        )
    if not isinstance(claims.get("id"), str):
        raise InvalidTokenError()
    return claims


async def authenticate(ctx: ServiceContext, token: str | None, **where: str | None) -> Accountability:
    """The accountability of ``token``; public when there is none; an auth error when it is bad."""
    if not token:
        return await public_accountability(ctx, **where)
    claims = unverified_claims(token)
    if claims is None:
        user_id, role = await _static_token_user(ctx, token)
        return await accountability_for_user(ctx, user_id, role, **where)
    claims = verify_access_token(ctx.settings, token)
    session = claims.get("session")
    if isinstance(session, str):
        await _require_live_session(ctx, session, claims["id"])
    role = await _active_user_role(ctx, claims["id"])
    accountability = await accountability_for_user(ctx, claims["id"], role, **where)
    return accountability if not isinstance(session, str) else _with_session(accountability, session)


async def public_accountability(ctx: ServiceContext, **where: str | None) -> Accountability:
    grant = await policies_for(ctx, None, None, where.get("ip"))
    return Accountability(
        policies=grant.policies, ip=where.get("ip"), user_agent=where.get("user_agent"), origin=where.get("origin")
    )


async def accountability_for_user(
    ctx: ServiceContext, user_id: str, role: str | None, **where: str | None
) -> Accountability:
    """The user's role chain, the policies that pass their IP filter, and the admin/app flags they give."""
    grant = await policies_for(ctx, user_id, role, where.get("ip"))
    return Accountability(
        user=user_id,
        role=role,
        roles=grant.roles,
        policies=grant.policies,
        admin=grant.admin,
        app=grant.app,
        ip=where.get("ip"),
        user_agent=where.get("user_agent"),
        origin=where.get("origin"),
    )


def _with_session(accountability: Accountability, session: str) -> Accountability:
    return replace(accountability, session=session)


async def _static_token_user(ctx: ServiceContext, token: str) -> tuple[str, str | None]:
    """The active user holding ``token``; remembered per access snapshot (a lookup cost 14-31 % of a read)."""
    cache = await identity_cache(ctx)
    key = "token:" + hash_token(token)
    if key in cache:
        return cache[key]
    cache[key] = await _load_static_token_user(ctx, token)
    return cache[key]


async def _load_static_token_user(ctx: ServiceContext, token: str) -> tuple[str, str | None]:
    users = system.users
    async with ctx.connection() as conn:
        row = (
            await conn.execute(
                sa.select(users.c.id, users.c.role).where(
                    users.c.token == hash_token(token), users.c.status == "active"
                )
            )
        ).first()
    if row is None:
        raise InvalidCredentialsError()
    return str(row.id), row.role


async def _active_user_role(ctx: ServiceContext, user_id: str) -> str | None:
    """The role of an active user (a JWT's subject); remembered per access snapshot like static tokens."""
    cache = await identity_cache(ctx)
    key = "user:" + user_id
    if key not in cache:
        cache[key] = (user_id, await _load_active_user_role(ctx, user_id))
    return cache[key][1]


async def _load_active_user_role(ctx: ServiceContext, user_id: str) -> str | None:
    users = system.users
    async with ctx.connection() as conn:
        row = (await conn.execute(sa.select(users.c.role, users.c.status).where(users.c.id == user_id))).first()
    if row is None or row.status != "active":
        raise InvalidCredentialsError()
    role: str | None = row.role
    return role


async def _require_live_session(ctx: ServiceContext, session: str, user_id: str) -> None:
    sessions = system.sessions
    async with ctx.connection() as conn:
        row = (
            await conn.execute(sa.select(sessions.c.user, sessions.c.expires).where(sessions.c.token == session))
        ).first()
    if row is None or str(row.user) != user_id or as_utc(row.expires) <= datetime.now(UTC):
        raise InvalidCredentialsError()


def as_utc(value: datetime) -> datetime:
    """Database timestamps come back naive on SQLite/MySQL; they are always written in UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
