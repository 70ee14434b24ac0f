"""Login, refresh and logout: sessions in ``directus_sessions`` and Directus-shaped access tokens.

A login checks the password (argon2, same time whether or not the user exists), opens a session whose
refresh token is a random 64-character string stored as its SHA-256, and signs an access JWT. ``refresh``
rotates: the old session row is deleted in the same transaction that creates the new one, and a refresh
token that was already used (or expired) is ``INVALID_CREDENTIALS``. In session mode the access JWT lives
``SESSION_COOKIE_TTL`` and carries the session's id (the hash, never the refresh token itself) in its
``session`` claim, so deleting the session (logout) kills the cookie too.

These functions are shared by the REST controller (``http/auth.py``) and the WebSocket ``auth`` message,
and they are where the login rate limit is spent (``ctx.login_limiter``, ``RATE_LIMITER_LOGIN_*``): a password
attempt per IP and per e-mail, a refresh per IP, before anything is looked up — so every transport is limited
by the same windows and none can be used to get around another.
"""

from __future__ import annotations

import secrets
import string
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from tidepool.context import Accountability
from tidepool.db import system
from tidepool.errors import InvalidCredentialsError, RequestsExceededError, UserSuspendedError
from tidepool.events import Tracked
from tidepool.security import hash_token, verify_password
from tidepool.services import versions
from tidepool.services.authn import as_utc, issue_access_token, verify_access_token
from tidepool.services.base import ServiceContext, TxContext
from tidepool.services.permissions import policies_for

_ALPHABET = string.ascii_letters + string.digits + "_-"
REFRESH_TOKEN_LENGTH = 64


@dataclass(frozen=True)
class Tokens:
    access_token: str
    expires: int  # access token lifetime in ms, as Directus answers
    refresh_token: str
    session_expires: datetime  # when the refresh token (session) ends: the cookie's lifetime

    @property
    def refresh_max_age(self) -> int:
        return max(0, int((self.session_expires - datetime.now(UTC)).total_seconds()))


def new_refresh_token() -> str:
    """A nanoid-like 64-character token (~384 bits)."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(REFRESH_TOKEN_LENGTH))


async def login(
    ctx: ServiceContext,
    email: str,
    password: str,
    where: Mapping[str, str | None] | None = None,
    /,
    **where_kw: str | None,
) -> Tokens:
    """Check credentials and open a session; ``INVALID_CREDENTIALS`` or ``USER_SUSPENDED`` otherwise.

    ``where`` (ip, user_agent, origin) may be passed as a mapping or as keywords.
    """
    return await _login(ctx, email, password, {**(where or {}), **where_kw}, session=False)


async def login_session(
    ctx: ServiceContext, email: str, password: str, where: Mapping[str, str | None] | None = None, /
) -> Tokens:
    """A session-mode login: the access JWT lives ``SESSION_COOKIE_TTL`` and is tied to its session row."""
    return await _login(ctx, email, password, where or {}, session=True)


async def _login(
    ctx: ServiceContext, email: str, password: str, where: Mapping[str, str | None], *, session: bool
) -> Tokens:
    spend_login_attempt(ctx, where, email)
    users = system.users
    async with ctx.connection() as conn:
        row = (
            await conn.execute(
                sa.select(users.c.id, users.c.password, users.c.status, users.c.role).where(
                    sa.func.lower(users.c.email) == email.strip().lower()
                )
            )
        ).first()
    if not verify_password(row.password if row else None, password) or row is None:
        raise InvalidCredentialsError()
    _require_active(row.status)
    async with ctx.transaction() as tx_ctx:
        tokens = await _open_session(tx_ctx, str(row.id), row.role, where, session=session)
        await tx_ctx.conn.execute(users.update().where(users.c.id == row.id).values(last_access=_db_now(ctx)))
        who = Accountability(
            user=str(row.id), ip=where.get("ip"), user_agent=where.get("user_agent"), origin=where.get("origin")
        )
        tx_ctx.tx.note(Tracked("login", "directus_users", (str(row.id),), who))  # Directus logs every login
    return tokens


async def refresh(
    ctx: ServiceContext,
    refresh_token: str,
    where: Mapping[str, str | None] | None = None,
    /,
    **where_kw: str | None,
) -> Tokens:
    """Rotate a refresh token: the old one stops working, a new session and access token come back."""
    spend_login_attempt(ctx, {**(where or {}), **where_kw})
    return await _rotate(ctx, hash_token(refresh_token), {**(where or {}), **where_kw}, session=False)


async def refresh_session(
    ctx: ServiceContext, session_jwt: str, where: Mapping[str, str | None] | None = None
) -> Tokens:
    """Session mode: the session cookie (an access JWT, possibly expired) names the session to rotate."""
    spend_login_attempt(ctx, where or {})
    return await _rotate(ctx, session_of(ctx, session_jwt), where or {}, session=True)


async def logout(ctx: ServiceContext, refresh_token: str | None = None, *, session_key: str | None = None) -> None:
    """End a session; unknown tokens are ignored, as in Directus."""
    key = session_key or (hash_token(refresh_token) if refresh_token else None)
    if key is None:
        return
    async with ctx.transaction() as tx_ctx:
        deleted = await tx_ctx.conn.execute(system.sessions.delete().where(system.sessions.c.token == key))
        if deleted.rowcount:  # sockets holding this session's token are re-checked (``versions.SESSIONS``)
            tx_ctx.tx.touch(versions.SESSIONS)


def spend_login_attempt(ctx: ServiceContext, where: Mapping[str, str | None], email: str | None = None) -> None:
    """One attempt from the login limiter; ``REQUESTS_EXCEEDED`` (429) once the IP or the e-mail is over."""
    if ctx.login_limiter is None:
        return
    wait = ctx.login_limiter.consume(where.get("ip"), email)
    if wait is not None:
        raise RequestsExceededError(wait)


def session_of(ctx: ServiceContext, session_jwt: str) -> str:
    """The session key in a session-mode JWT (signature checked, expiry not: the session row decides)."""
    claims = verify_access_token(ctx.settings, session_jwt, allow_expired=True)
    session = claims.get("session")
    if not isinstance(session, str):
        raise InvalidCredentialsError()
    return session


async def _rotate(ctx: ServiceContext, key: str, where: Mapping[str, str | None], *, session: bool) -> Tokens:
    sessions, users = system.sessions, system.users
    async with ctx.transaction() as tx_ctx:
        conn = tx_ctx.conn
        row = (
            await conn.execute(
                sa.select(sessions.c.expires, users.c.id, users.c.status, users.c.role)
                .join(users, users.c.id == sessions.c.user)
                .where(sessions.c.token == key)
            )
        ).first()
        if row is None or as_utc(row.expires) <= datetime.now(UTC):
            raise InvalidCredentialsError()
        deleted = await conn.execute(sessions.delete().where(sessions.c.token == key))
        if deleted.rowcount != 1:  # a concurrent refresh won the race
            raise InvalidCredentialsError()
        if session:  # the old session-mode token is dead now: sockets holding it are re-checked
            tx_ctx.tx.touch(versions.SESSIONS)
        if row.status != "active":
            _require_active(row.status)
        tokens = await _open_session(tx_ctx, str(row.id), row.role, where, session=session)
        await conn.execute(users.update().where(users.c.id == row.id).values(last_access=_db_now(ctx)))
    return tokens


def _require_active(status: str) -> None:
    if status == "suspended":
        raise UserSuspendedError()
    if status != "active":
        raise InvalidCredentialsError()


async def _open_session(
    ctx: TxContext, user_id: str, role: str | None, where: Mapping[str, str | None], *, session: bool
) -> Tokens:
    settings = ctx.settings
    refresh_token = new_refresh_token()
    key = hash_token(refresh_token)
    session_ttl = settings.SESSION_COOKIE_TTL if session else settings.REFRESH_TOKEN_TTL
    access_ttl = settings.SESSION_COOKIE_TTL if session else settings.ACCESS_TOKEN_TTL
    expires_at = datetime.now(UTC) + timedelta(seconds=session_ttl)
    await ctx.conn.execute(
        system.sessions.insert().values(
            token=key,
            user=user_id,
            expires=_db_time(ctx, expires_at),
            ip=where.get("ip"),
            user_agent=where.get("user_agent"),
            origin=where.get("origin"),
        )
    )
    grant = await policies_for(ctx, user_id, role, where.get("ip"))
    claims: dict[str, Any] = {"id": user_id, "role": role, "app_access": grant.app, "admin_access": grant.admin}
    if session:
        claims["session"] = key
    return Tokens(issue_access_token(settings, claims, access_ttl), int(access_ttl * 1000), refresh_token, expires_at)


def _db_time(ctx: ServiceContext, value: datetime) -> datetime:
    """Timestamps are written in UTC; engines without time zones get the naive UTC value."""
    return value if ctx.dialect == "postgresql" else value.astimezone(UTC).replace(tzinfo=None)


def _db_now(ctx: ServiceContext) -> datetime:
    return _db_time(ctx, datetime.now(UTC))
