"""Authentication: from a token to an ``Accountability``, and from an accountability to its ``Access``.

A token is either a JWT signed with ``SECRET`` (issuer ``directus``) or a user's static token, looked up by
its SHA-256. Only ``active`` users authenticate.
"""

from __future__ import annotations

import sqlalchemy as sa

from tidepool.context import Access, Accountability
from tidepool.db import system
from tidepool.errors import InvalidCredentialsError
from tidepool.security import hash_token
from tidepool.services.base import ServiceContext


async def authenticate(ctx: ServiceContext, token: str | None, **where: str | None) -> Accountability:
    """The accountability of ``token``; public when there is none; ``InvalidCredentialsError`` when bad."""
    if not token:
        return Accountability.public(**where)
    async with ctx.connection() as conn:
        row = (
            await conn.execute(
                sa.select(system.users.c.id, system.users.c.role).where(
                    system.users.c.token == hash_token(token), system.users.c.status == "active"
                )
            )
        ).first()
    if row is None:
        raise InvalidCredentialsError()
    return await accountability_for_user(ctx, str(row.id), row.role, **where)


async def accountability_for_user(
    ctx: ServiceContext, user_id: str, role: str | None, **where: str | None
) -> Accountability:
    roles = await _role_chain(ctx, role)
    async with ctx.connection() as conn:
        policy_rows = await conn.execute(
            sa.select(system.policies.c.id, system.policies.c.admin_access, system.policies.c.app_access)
            .join(system.access, system.access.c.policy == system.policies.c.id)
            .where(sa.or_(system.access.c.user == user_id, system.access.c.role.in_(roles) if roles else sa.false()))
        )
        policies = policy_rows.all()
    return Accountability(
        user=user_id,
        role=role,
        roles=tuple(roles),
        policies=tuple(str(p.id) for p in policies),
        admin=any(p.admin_access for p in policies),
        app=any(p.app_access for p in policies),
        **where,
    )


async def _role_chain(ctx: ServiceContext, role: str | None) -> list[str]:
    chain: list[str] = []
    async with ctx.connection() as conn:
        while role and role not in chain:
            chain.append(role)
            role = await conn.scalar(sa.select(system.roles.c.parent).where(system.roles.c.id == role))
    return chain


async def access_for(ctx: ServiceContext, accountability: Accountability) -> Access:
    """What ``accountability`` may do. Admins get everything; others get their policies' permissions."""
    if accountability.admin:
        return Access(accountability, admin=True)
    return Access(accountability)
