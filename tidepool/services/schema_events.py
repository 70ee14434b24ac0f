"""Events for the metadata rows a schema change writes besides the one it was asked for.

Deleting a collection also deletes its ``directus_fields``, ``directus_permissions`` and ``directus_relations``
rows, and detaches the relations and folders that pointed at it; dropping a field also deletes its relation and the
o2m alias row on the other side, and clears its name where it stands (``forget_field``); creating a relation flags
its field's row ``m2o``. Each such row gets its event here, keyed by the row (``keyed_by_rows``) with its image
before the change, so a subscriber of the schema's collections holds no row that is gone, and sees only the rows its
access lets it read (``system_access.limit_schema_rows``). The event's own keys and payload follow the shape of the
service's own events for that collection (a field's name, a relation's fields), as Directus's hooks report them.

None of these is logged: the change's own event, and ``note_field_rows`` for a collection's fields, are its
activity, as in Directus (whose nested deletes here are raw or untracked).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from tidepool.db import system
from tidepool.events import ChangeEvent
from tidepool.services.base import TxContext
from tidepool.services.schema_tx import keyed_by_rows, record, rows_where

Rows = tuple[dict[str, Any], ...]
RowsEvent = Callable[[Rows], ChangeEvent]


async def delete_rows(tx: TxContext, table: sa.Table, where: sa.ColumnElement[bool], event: RowsEvent) -> None:
    """Delete the rows of ``table`` matching ``where`` and record their ``delete`` (built by ``event``)."""
    before = await rows_where(tx.conn, table, where)
    await tx.conn.execute(table.delete().where(where))
    if before:
        record(tx, keyed_by_rows(event(before), table, (), before), logged=False)


async def update_rows(
    tx: TxContext, table: sa.Table, where: sa.ColumnElement[bool], values: dict[str, Any], event: RowsEvent
) -> None:
    """Set ``values`` on the rows of ``table`` matching ``where`` and record their ``update`` (built by ``event``)."""
    before = await rows_where(tx.conn, table, where)
    if not before:
        return
    key = next(iter(table.primary_key.columns))
    await tx.conn.execute(table.update().where(where).values(values))
    after = await rows_where(tx.conn, table, key.in_([row[key.name] for row in before]))
    record(tx, keyed_by_rows(event(before), table, after, before), logged=False)


def fields_created(collection: str, row: dict[str, Any]) -> ChangeEvent:
    """A field row written with its collection: by the field's name, its row as payload (Directus's
    ``fields.create`` from its items service)."""
    event = ChangeEvent("directus_fields", "create", (row["field"],), payload={**row, "collection": collection})
    return keyed_by_rows(event, system.fields, (row,))


def fields_deleted(rows: Rows) -> ChangeEvent:
    """Field rows of one collection, by the fields' names (a dropped field's own event has this shape)."""
    names = tuple(row["field"] for row in rows)
    return ChangeEvent("directus_fields", "delete", names, payload={"collection": rows[0]["collection"]})


def fields_updated(values: dict[str, Any]) -> RowsEvent:
    """Field rows of one collection changed by ``values`` (a relation's m2o flag), by the fields' names."""
    return lambda rows: ChangeEvent(
        "directus_fields",
        "update",
        tuple(row["field"] for row in rows),
        payload={"collection": rows[0]["collection"], "meta": values},
    )


def permissions_deleted(rows: Rows) -> ChangeEvent:
    """Permission rows of a deleted collection, by id (their collection's own key)."""
    return ChangeEvent("directus_permissions", "delete", tuple(row["id"] for row in rows))


def permissions_updated(values: dict[str, Any]) -> RowsEvent:
    """Permission rows changed by ``values`` (a dropped field taken out of their field lists), by id."""
    return lambda rows: ChangeEvent("directus_permissions", "update", tuple(r["id"] for r in rows), payload=values)


def relations_deleted(rows: Rows) -> ChangeEvent:
    """Relation rows of one collection, by their fields (``DELETE /relations/c/f``'s shape)."""
    fields = [row["many_field"] for row in rows]
    payload = {"collection": rows[0]["many_collection"], "fields": fields}
    return ChangeEvent("directus_relations", "delete", tuple(fields), payload=payload)


def relations_updated(values: dict[str, Any]) -> RowsEvent:
    """Relation rows changed by ``values`` (detached from a dropped field or collection), by their row ids as
    ``PATCH /relations`` events are."""
    return lambda rows: ChangeEvent("directus_relations", "update", tuple(r["id"] for r in rows), payload=values)


def collections_updated(values: dict[str, Any]) -> RowsEvent:
    """Collection rows changed by ``values`` (folders whose parent is deleted), by name."""
    return lambda rows: ChangeEvent(
        "directus_collections", "update", tuple(r["collection"] for r in rows), payload=values
    )


async def forget_field(tx: TxContext, collection: str, field: str) -> None:
    """Clear what names a dropped field, as Directus does: the collection's sort and archive field, the group of
    the fields it held, and its name in the field lists of the collection's permissions (a list left empty is
    null: no field). Each changed row gets its ``update`` event; a permission's moves the access version."""
    named = system.collections.c
    for column in ("sort_field", "archive_field"):
        cleared = {column: None}
        where = sa.and_(named.collection == collection, named[column] == field)
        await update_rows(tx, system.collections, where, cleared, collections_updated(cleared))
    fields = system.fields.c
    held = sa.and_(fields.collection == collection, fields["group"] == field)
    await update_rows(tx, system.fields, held, {"group": None}, fields_updated({"group": None}))
    granted = system.permissions.c
    for row in await rows_where(tx.conn, system.permissions, granted.collection == collection):
        names = (row["fields"] or "").split(",")
        if field in names:
            kept = {"fields": ",".join(name for name in names if name != field) or None}
            where = granted.id == row["id"]
            await update_rows(tx, system.permissions, where, kept, permissions_updated(kept))
