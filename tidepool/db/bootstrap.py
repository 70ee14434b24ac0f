"""Bring a database to a runnable state: system tables, the public policy, the first admin.

Safe to run on every start. It migrates the system tables, then creates what a fresh install needs only
when it is missing: the public policy and its access row, the Administrator role/policy/access, and (when
no user exists yet) the first admin from ``ADMIN_EMAIL``/``ADMIN_PASSWORD``/``ADMIN_TOKEN``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from tidepool.config import Settings
from tidepool.db import system
from tidepool.db.migrations import migrate
from tidepool.security import configure_hashing, hash_password, hash_token, new_password

DEFAULT_ADMIN_EMAIL = "admin@example.com"


@dataclass(frozen=True)
class BootstrapResult:
    migrations: list[str]
    admin_email: str | None = None  # set when the first admin was created now
    admin_password: str | None = None  # set only when it was generated (so it can be printed once)
    admin_token_set: bool = False


async def bootstrap(engine: AsyncEngine, settings: Settings) -> BootstrapResult:
    configure_hashing(settings)  # the first admin's password is hashed with the configured cost
    async with engine.begin() as conn:
        applied = await migrate(conn)
        await _ensure_public_policy(conn)
        admin_role = await _ensure_admin_role(conn)
        return await _ensure_first_admin(conn, settings, admin_role, applied)


async def _ensure_public_policy(conn: AsyncConnection) -> None:
    exists = await conn.scalar(sa.select(system.policies.c.id).where(system.policies.c.id == system.PUBLIC_POLICY_ID))
    if exists:
        return
    await conn.execute(
        system.policies.insert().values(
            id=system.PUBLIC_POLICY_ID,
            name="$t:public_label",
            icon="public",
            description="$t:public_description",
            app_access=False,
            admin_access=False,
            enforce_tfa=False,
        )
    )
    await conn.execute(
        system.access.insert().values(id=str(uuid.uuid4()), role=None, user=None, policy=system.PUBLIC_POLICY_ID)
    )


async def _ensure_admin_role(conn: AsyncConnection) -> str:
    policy_id = await conn.scalar(sa.select(system.policies.c.id).where(system.policies.c.admin_access.is_(True)))
    role_id = await conn.scalar(
        sa.select(system.access.c.role).where(system.access.c.policy == policy_id, system.access.c.role.is_not(None))
    )
    if role_id:
        return str(role_id)
    if policy_id is None:
        policy_id = str(uuid.uuid4())
        await conn.execute(
            system.policies.insert().values(
                id=policy_id,
                name="Administrator",
                icon="verified",
                description="$t:admin_description",
                admin_access=True,
                app_access=True,
                enforce_tfa=False,
            )
        )
    role_id = str(uuid.uuid4())
    await conn.execute(
        system.roles.insert().values(
            id=role_id, name="Administrator", icon="verified", description="$t:admin_description"
        )
    )
    await conn.execute(system.access.insert().values(id=str(uuid.uuid4()), role=role_id, policy=policy_id))
    return role_id


async def _ensure_first_admin(
    conn: AsyncConnection, settings: Settings, admin_role: str, applied: list[str]
) -> BootstrapResult:
    if await conn.scalar(sa.select(sa.func.count()).select_from(system.users)):
        return BootstrapResult(applied)
    email = settings.ADMIN_EMAIL or DEFAULT_ADMIN_EMAIL
    password = settings.ADMIN_PASSWORD
    generated = password is None
    if password is None:
        password = new_password()
    token = settings.ADMIN_TOKEN
    await conn.execute(
        system.users.insert().values(
            id=str(uuid.uuid4()),
            email=email.lower(),
            first_name="Admin",  # Directus's bootstrap names its first admin so
            last_name="User",
            password=hash_password(password),
            role=admin_role,
            status="active",
            provider="default",
            token=hash_token(token) if token else None,
        )
    )
    return BootstrapResult(applied, email, password if generated else None, bool(token))
