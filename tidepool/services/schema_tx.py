"""What every schema service (collections, fields, relations) shares: who may change the schema, the shape of
a payload, and the transaction a change runs in.

A schema change runs as one DDL transaction (``tidepool.db.ddl.begin``), is serialized per runtime
(``ctx.schemas.changing``: two DDLs racing on one SQLite file would only wait on each other's locks), and is
followed by a schema reload, even when it failed (on MySQL a failed change may have committed part of its
DDL), so the next request sees exactly what the database now holds. The services write through the
``TxContext`` it yields (``tx.conn``, ``tx.record(event)``), as item writes do inside ``ctx.transaction()``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from tidepool.db import ddl
from tidepool.db.introspect import read_schema
from tidepool.db.schema import SchemaOverview
from tidepool.errors import ForbiddenError, InvalidPayloadError
from tidepool.events import ROW_KEYS, ChangeEvent, Tracked
from tidepool.services import versions
from tidepool.services.base import SchemaStore, ServiceContext, Transaction, TxContext


class SchemaService:
    """The shape of a schema service, as ``ItemsService`` is of item services: one caller's context, reads
    filtered by its access, writes admin-only and each in one ``schema_change``."""

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx


def require_admin(ctx: ServiceContext) -> None:
    """Schema changes are for admins only, as in Directus."""
    if not ctx.access.admin:
        raise ForbiddenError()


def dict_payload(payload: Any) -> dict[str, Any]:
    if not isinstance(payload, dict):
        raise InvalidPayloadError("Payload must be an object")
    return payload


def record(tx: TxContext, event: ChangeEvent, *, logged: bool = True) -> None:
    """Record a schema change's event; its activity and revision only when ``logged``. Directus logs a schema
    write only where it writes a metadata row through its items service with the caller's accountability: a
    ``directus_collections`` row (a collection sent with ``meta``) or a ``directus_fields`` row (a field sent
    with ``meta``), never a relation (its service has no accountability). Subscribers get every event."""
    if logged:
        tx.record(event)
    else:
        tx.tx.record(event)


def note_field_rows(tx: TxContext, action: str, collection: str, rows: list[dict[str, Any]]) -> None:
    """The activity of ``directus_fields`` rows a collection's creation or deletion writes with it, one per row,
    as Directus logs them (keyed by the field's name, as every field event is)."""
    if not tx.tracked:
        return
    for row in rows:
        delta = {**row, "collection": collection} if action == "create" else None
        tx.tx.note(Tracked(action, "directus_fields", (row["field"],), tx.accountability, delta))


async def rows_where(conn: AsyncConnection, table: sa.Table, *where: Any) -> tuple[dict[str, Any], ...]:
    """The metadata rows of ``table`` matching ``where`` as stored (for ``keyed_by_rows``)."""
    return tuple(dict(row) for row in (await conn.execute(sa.select(table).where(*where))).mappings())


def keyed_by_rows(
    event: ChangeEvent, table: sa.Table, after: tuple[dict[str, Any], ...], before: tuple[dict[str, Any], ...] = ()
) -> ChangeEvent:
    """``event`` (keyed by a field's name, as Directus reports it and the history records it) with the keys of
    the rows it changed (``events.ROW_KEYS``) and their ``before`` images: a subscriber reads the table by its
    rows' keys, and decides who could see a deleted or changed row from its image, as for any item."""
    key = next(iter(table.primary_key.columns)).name
    rows = before if event.action == "delete" else after
    return replace(event, before=before, extra={**event.extra, ROW_KEYS: [row[key] for row in rows]})


class StepSchemas(SchemaStore):
    """The schema as one open schema change sees it, for changes made of several steps (``/schema/apply``):
    each step's ``schema_change`` joins the open transaction and reloads this store through its connection,
    so the next step sees the tables the previous ones created before anything is committed."""

    def __init__(self, conn: AsyncConnection, schema: SchemaOverview) -> None:
        super().__init__(conn.engine, schema)
        self.conn = conn

    async def reload(self) -> SchemaOverview:
        self.current = await self.conn.run_sync(read_schema)
        self.version += 1
        return self.current


def in_steps(tx: TxContext) -> TxContext:
    """``tx`` (the context ``schema_change`` yields) for a change made of several service calls, each a step
    of the one transaction (``StepSchemas``)."""
    return replace(tx, schemas=StepSchemas(tx.conn, tx.schema))


@asynccontextmanager
async def schema_change(ctx: ServiceContext) -> AsyncIterator[TxContext]:
    """A context bound to one DDL transaction that also bumps the ``schema`` version marker (so every other
    process reloads too, ``tidepool.services.versions``); reload the schema afterwards, then emit the events.
    Inside a change made of steps (``in_steps``) it joins the open transaction instead."""
    if isinstance(ctx, TxContext) and isinstance(ctx.schemas, StepSchemas):
        yield ctx
        await ctx.schemas.reload()
        return
    tx: Transaction | None = None
    marked: dict[str, int] | None = None
    async with ctx.schemas.changing:
        try:
            async with ddl.begin(ctx.engine) as conn:
                tx = Transaction(conn, touched={versions.SCHEMA})
                bound = ctx.bound(tx)
                yield bound
                marked = await versions.bump(conn, tx.touched)
                await tx.log_events(bound, ctx.origin)
        finally:
            if marked is None and ctx.dialect == "mysql":  # its DDL commits statement by statement
                marked = await _bump_alone(ctx)
            if marked is not None:  # before the reload, so the watcher does not start a second one
                ctx.schemas.saw_versions(marked)
            await ctx.schemas.reload()
            if marked is not None:
                versions.committed(ctx, {versions.SCHEMA}, marked)
    if tx is not None and tx.events:
        await ctx.events.emit(tx.events)


async def _bump_alone(ctx: ServiceContext) -> dict[str, int] | None:
    """After a failed change on MySQL, whose DDL may have committed in part: tell the other processes too."""
    try:
        async with ctx.engine.begin() as conn:
            return await versions.bump(conn, {versions.SCHEMA})
    except Exception:
        return None
