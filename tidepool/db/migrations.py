"""Versioned, idempotent upgrades of the system tables.

Each migration is a (version, function) pair run once, in order, inside one transaction, and recorded in
``tidepool_migrations``. ``bootstrap`` runs every start: an up-to-date database costs one SELECT. To change
a system table, add a migration at the end; never edit one that has shipped.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from tidepool.db import system

Migration = tuple[str, Callable[[AsyncConnection], Awaitable[None]]]


async def _create_system_tables(conn: AsyncConnection) -> None:
    tables = [t for t in system.metadata.sorted_tables if t is not system.migrations]
    await conn.run_sync(lambda sync_conn: system.metadata.create_all(sync_conn, tables=tables))


MIGRATIONS: list[Migration] = [
    ("0001-system-tables", _create_system_tables),
]


async def applied_versions(conn: AsyncConnection) -> set[str]:
    await conn.run_sync(lambda c: system.migrations.create(c, checkfirst=True))
    rows = await conn.execute(sa.select(system.migrations.c.version))
    return {row[0] for row in rows}


async def migrate(conn: AsyncConnection) -> list[str]:
    """Apply the migrations this database lacks; returns the versions applied now."""
    done = await applied_versions(conn)
    applied: list[str] = []
    for version, step in MIGRATIONS:
        if version in done:
            continue
        await step(conn)
        await conn.execute(system.migrations.insert().values(version=version, applied_at=datetime.now(UTC)))
        applied.append(version)
    return applied
