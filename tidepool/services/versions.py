"""Version markers: how every process learns that another one changed the schema or the access tables.

Each server keeps the schema overview and the access model in memory. Any process may change what they
describe: this server over REST, another server on the same database, the ``tidepool`` CLI. So the database
holds one counter per kind of cached state (``tidepool_versions``: ``schema``, ``access``), and every write
that changes that state bumps its counter **in the same transaction** (``Transaction.touch``, called for
every event recorded on a system collection and by ``schema_change``). The counter therefore moves exactly
when such a change commits, whoever made it.

A running server watches the counters with ``VersionWatcher``: one tiny ``SELECT`` of two rows every
``CACHE_SYNC_INTERVAL`` (250 ms by default) on a background task, never per request. When a counter moved it
reloads the schema overview (``schema``) and drops the access and credential caches (both kinds), which
moves ``AccessCache.generation``; the realtime layer re-resolves every open socket on that signal. The
writing process applies its own change at once after the commit (``committed``), and with Redis the bus
event of an access write reaches the other servers' dispatchers even sooner; the counters are what makes
the CLI and any bus-less setup work, and what a missed bus message falls back on.

Writing to the system tables by hand (raw SQL) skips the counters: bump them yourself
(``UPDATE tidepool_versions SET value = value + 1``) or restart the servers.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Collection, Mapping
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from tidepool.db import system

if TYPE_CHECKING:  # services.base imports this module, and permissions builds on base
    from tidepool.services.base import SchemaStore, ServiceContext
    from tidepool.services.permissions import AccessCache

log = logging.getLogger("tidepool")

SCHEMA = "schema"
ACCESS = "access"
# Moved when a session ends (logout, a session-mode refresh). Nothing is cached about sessions, so it drops no
# cache: it only tells the realtime layer to re-check the sockets that hold a session-mode token
# (``SchemaStore.sessions_ended``), without the cost of re-resolving every socket's access.
SESSIONS = "sessions"
CACHED = frozenset({SCHEMA, ACCESS})  # the kinds whose change drops the access caches

# Which counter a write to a system collection moves (events are recorded per collection).
KIND_OF_COLLECTION: Mapping[str, str] = {
    "directus_collections": SCHEMA,
    "directus_fields": SCHEMA,
    "directus_relations": SCHEMA,
    "directus_users": ACCESS,
    "directus_roles": ACCESS,
    "directus_policies": ACCESS,
    "directus_access": ACCESS,
    "directus_permissions": ACCESS,
}


async def bump(conn: AsyncConnection, kinds: Collection[str]) -> dict[str, int]:
    """Move the counters of ``kinds`` inside the caller's transaction; the values as this transaction sees
    them afterwards (they include every change committed before it)."""
    table = system.versions
    await conn.execute(sa.update(table).where(table.c.name.in_(sorted(kinds))).values(value=table.c.value + 1))
    return await read(conn)


async def read(conn: AsyncConnection) -> dict[str, int]:
    rows = await conn.execute(sa.select(system.versions.c.name, system.versions.c.value))
    return {str(name): int(value) for name, value in rows}


def committed(ctx: ServiceContext, kinds: Collection[str], values: Mapping[str, int]) -> None:
    """After the commit of a write that touched ``kinds``: drop this runtime's access caches now (the schema
    is reloaded by ``schema_change`` itself), and remember ``values`` so the watcher does not redo it."""
    if CACHED.intersection(kinds):
        ctx.access_cache.invalidate()
    if SESSIONS in kinds:
        ctx.schemas.sessions_ended += 1
    ctx.schemas.saw_versions(values)


class VersionWatcher:
    """One per running server: checks the counters every ``interval`` seconds and applies what moved.

    ``on_change`` callbacks run (synchronously, in the loop) after each check that found the access
    generation changed or a session ended, whether by this watcher, by a local write or by a bus event.
    """

    def __init__(self, engine: AsyncEngine, schemas: SchemaStore, access: AccessCache, interval: float) -> None:
        self.engine = engine
        self.schemas = schemas
        self.access = access
        self.interval = interval
        self.on_change: list[Callable[[], None]] = []
        self._announced = self._marks()
        self._failing = False

    async def run(self) -> None:
        """Check every ``interval`` until cancelled. A cancel that lands inside a check can be lost on the way
        (Python 3.11's ``asyncio.wait_for``, which the drivers and the bounded connect use, drops one that
        races the result), so the loop also asks whether a cancel is pending: otherwise a server's shutdown
        would wait on the watcher for ever."""
        me = asyncio.current_task()
        while me is None or not me.cancelling():
            await asyncio.sleep(self.interval)
            await self.check()
        raise asyncio.CancelledError

    async def check(self) -> None:
        """One round: read the counters (one query), apply what moved, tell the listeners."""
        try:
            async with self.engine.connect() as conn:
                values = await read(conn)
        except Exception as exc:  # the database is down: keep the caches, say so once until it is back
            if not self._failing:
                log.warning("checking tidepool_versions failed (%s); cached schema and access are kept", exc)
            self._failing = True
            return
        self._failing = False
        moved = self.schemas.saw_versions(values)
        if SCHEMA in moved:
            await self.schemas.reload()
        if CACHED.intersection(moved):
            self.access.invalidate()
        if SESSIONS in moved:
            self.schemas.sessions_ended += 1
        self._announce()

    def _announce(self) -> None:
        marks = self._marks()
        if marks == self._announced:
            return
        self._announced = marks
        for callback in self.on_change:
            callback()

    def _marks(self) -> tuple[int, int]:
        """What the listeners react to: the access generation, and how many times a session ended."""
        return self.access.generation, self.schemas.sessions_ended
