"""Collections: list, read, create (with inline fields), update (meta only) and delete, as Directus does.

A collection is a table plus an optional ``directus_collections`` row; a row without a table is a folder
(``schema: null``), created by ``POST /collections`` without a ``schema`` object. Creating a table always
gives it a primary key: when the payload names none, an auto-increment integer ``id`` (hidden, read-only)
is added, so every collection can be addressed by key like Directus expects.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from tidepool.context import Action
from tidepool.db import ddl, system, system_meta
from tidepool.db.introspect import collection_meta
from tidepool.db.schema import CollectionInfo
from tidepool.errors import ForbiddenError, InvalidPayloadError
from tidepool.events import ChangeEvent
from tidepool.services import schema_checks, schema_events, system_access
from tidepool.services.base import ServiceContext, TxContext
from tidepool.services.fields import drop_field_in, insert_meta_rows, parse_field, rows_to_write, sent_meta
from tidepool.services.schema_tx import (
    SchemaService,
    dict_payload,
    keyed_by_rows,
    note_field_rows,
    record,
    require_admin,
    rows_where,
    schema_change,
)

_DEFAULT_META: dict[str, Any] = {
    "icon": None,
    "note": None,
    "display_template": None,
    "hidden": False,
    "singleton": False,
    "translations": None,
    "archive_field": None,
    "archive_app_filter": True,
    "archive_value": None,
    "unarchive_value": None,
    "sort_field": None,
    "accountability": "all",
    "color": None,
    "item_duplication_fields": None,
    "sort": None,
    "group": None,
    "collapse": "open",
    "preview_url": None,
    "versioning": False,
    "status": "active",
    "autosave_revision_interval": None,
}
_META_COLUMNS = frozenset(
    {
        "icon",
        "note",
        "hidden",
        "singleton",
        "sort_field",
        "archive_field",
        "archive_value",
        "unarchive_value",
        "status",
        "sort",
        "group",
    }
)
_ID_FIELD: dict[str, Any] = {
    "field": "id",
    "type": "integer",
    "meta": {"hidden": True, "interface": "numeric", "readonly": True},
    "schema": {"is_primary_key": True, "has_auto_increment": True},
}


# --- reads ---------------------------------------------------------------------------------------------------


async def _meta_rows(ctx: ServiceContext) -> dict[str, dict[str, Any]]:
    async with ctx.connection() as conn:
        rows = await conn.execute(sa.select(system.collections))
        return {r.collection: collection_meta(dict(r._mapping)) for r in rows}


def _table_shape(info: CollectionInfo, admin: bool) -> dict[str, Any]:
    """The collection's ``schema``; SQLite's ``sql`` (the CREATE TABLE text, which names the tables its foreign
    keys point at) only for admins, so a user never learns of a collection it may not read."""
    shaped = dict(info.table_info or {"name": info.name})
    if not admin:
        shaped.pop("sql", None)
    return shaped


def _shape(name: str, meta: Mapping[str, Any] | None, info: CollectionInfo | None, admin: bool) -> dict[str, Any]:
    if info is not None and info.system:
        shaped_meta: dict[str, Any] | None = system_meta.collection_meta(name, meta)
    elif meta is None:
        shaped_meta = None
    else:
        shaped_meta = {"collection": name, **_DEFAULT_META, **meta}
        shaped_meta["status"] = shaped_meta.get("status") or "active"  # a row without one is active
    return {
        "collection": name,
        "meta": shaped_meta,
        "schema": None if info is None else _table_shape(info, admin),
    }


# --- the service ---------------------------------------------------------------------------------------------


class CollectionsService(SchemaService):
    """Collections and folders for one caller: reads as its access allows, writes (admins only) as DDL."""

    async def list_collections(self) -> list[dict[str, Any]]:
        """Collections and folders; non-admins see only collections they may read (and their folders)."""
        system_access.require_read(self.ctx.access, "directus_collections")
        metas = await _meta_rows(self.ctx)
        names = list(dict.fromkeys([*metas, *self.ctx.schema.collections]))
        if not self.ctx.access.admin:
            readable = {n for n in self.ctx.schema.collections if self.ctx.access.allows(n, Action.READ)}
            groups = {metas[n].get("group") for n in readable if n in metas}
            names = [n for n in names if n in readable or n in groups]
        admin = self.ctx.access.admin
        return [_shape(n, metas.get(n), self.ctx.schema.collection(n), admin) for n in names]

    async def read_collection(self, name: str) -> dict[str, Any]:
        """One collection; a non-admin is first asked for read on it, then on ``directus_collections``, and
        answered in Directus's words for each (an unknown name reads as an unreadable one)."""
        if not self.ctx.access.allows(name, Action.READ):
            raise ForbiddenError.action(Action.READ, name)
        for item in await self.list_collections():
            if item["collection"] == name:
                return item
        raise ForbiddenError()

    async def create_collection(self, payload: Any) -> str:
        """``POST /collections``: the table with its fields, their metadata rows and the collection's row."""
        require_admin(self.ctx)
        body = dict_payload(payload)
        name = _new_name(body.get("collection"))
        meta = body.get("meta")
        if meta is not None and not isinstance(meta, dict):
            raise InvalidPayloadError('"meta" must be an object')
        # checked before any DDL (MariaDB's is not undone)
        meta_row = None if meta is None else _collection_row(name, meta)
        schema = body.get("schema")
        fields = _fields_of(body) if isinstance(schema, dict) else []
        names = frozenset(f["field"] for f in fields if isinstance(f, dict) and isinstance(f.get("field"), str))
        parsed = [(*parse_field(self.ctx, f, names), sent_meta(f)) for f in fields]
        schema_checks.check_unique_names([row["field"] for _, row, _ in parsed], name)
        columns = [spec for spec, _, _ in parsed if spec is not None]
        if sum(1 for c in columns if c.primary_key) > 1:
            raise InvalidPayloadError("A collection can only have one primary key")
        async with schema_change(self.ctx) as tx:
            conn = tx.conn
            if name in tx.schema.collections or await _has_meta_row(conn, name):
                raise InvalidPayloadError(f'Collection "{name}" already exists')
            schema_checks.check_new_collection(name, [*tx.schema.collections, *await _meta_names(conn)])
            if isinstance(schema, dict):
                await ddl.create_table(conn, name, columns)
                described, kept = await rows_to_write(conn, name, parsed)
                numbered = _sorted_rows(described)
                await insert_meta_rows(conn, name, [*numbered, *kept])
                note_field_rows(tx, "create", name, numbered)
                fields_table = system.fields
                for row in await rows_where(conn, fields_table, fields_table.c.collection == name):
                    record(tx, schema_events.fields_created(name, row), logged=False)  # noted just above
            if meta_row is not None:
                await conn.execute(system.collections.insert().values(meta_row))
            event = ChangeEvent("directus_collections", "create", (name,), payload=body)
            record(tx, event, logged=meta_row is not None)
        return name

    async def update_collection(self, name: str, payload: Any) -> str:
        """``PATCH /collections/{name}``: only ``meta`` changes; a collection without a row gets one."""
        require_admin(self.ctx)
        body = dict_payload(payload)
        current = await _meta_rows(self.ctx)
        if name not in current and name not in self.ctx.schema.collections:
            raise ForbiddenError()
        meta = body.get("meta")
        if meta is None:
            return name
        if not isinstance(meta, dict):
            raise InvalidPayloadError('"meta" must be an object')
        async with schema_change(self.ctx) as tx:
            conn = tx.conn
            merged = {**current.get(name, {}), **meta}
            row = _collection_row(name, merged)
            if name in current:
                table = system.collections
                await conn.execute(table.update().where(table.c.collection == name).values(row))
            else:
                await conn.execute(system.collections.insert().values(row))
            tx.record(ChangeEvent("directus_collections", "update", (name,), payload=body))
        return name

    async def delete_collection(self, name: str) -> None:
        """``DELETE /collections/{name}``: relations both ways, the m2o fields pointing here, metadata, table.

        Metadata goes before the DROP TABLE so that on MySQL, where DROP commits by itself, a failure leaves
        a table without metadata (still served by introspection) rather than metadata without a table.
        """
        require_admin(self.ctx)
        metas = await _meta_rows(self.ctx)
        info = self.ctx.schema.collection(name)
        if info is None and name not in metas:
            raise ForbiddenError()
        if info is not None and info.system:
            raise InvalidPayloadError(f'System collection "{name}" cannot be deleted')
        async with schema_change(self.ctx) as tx:
            conn = tx.conn
            await _drop_incoming(tx, name)
            described = [{"field": f.name} for f in (info.fields.values() if info else ()) if f.meta is not None]
            before = await rows_where(conn, system.collections, system.collections.c.collection == name)
            event = keyed_by_rows(
                ChangeEvent("directus_collections", "delete", (name,)), system.collections, (), before
            )
            record(tx, event, logged=name in metas)  # first, as Directus emits it
            await _delete_rows(tx, name)
            if info is not None:
                await ddl.drop_table(conn, name)
            note_field_rows(tx, "delete", name, described)


# --- create --------------------------------------------------------------------------------------------------


def _new_name(value: Any) -> str:
    if not value:
        raise InvalidPayloadError('"collection" is required')
    if isinstance(value, str) and value.startswith("directus_"):
        raise InvalidPayloadError('"collection" can\'t start with "directus_"')
    name = ddl.check_name(value)
    if system.is_system_collection(name):
        raise InvalidPayloadError(f'"collection" can\'t start with "{name.split("_")[0]}_"')
    return name


def _fields_of(body: Mapping[str, Any]) -> list[Any]:
    """The payload's fields, with an auto-increment ``id`` first when none of them is the primary key."""
    fields = body.get("fields") or []
    if not isinstance(fields, list):
        raise InvalidPayloadError('"fields" must be an array')
    has_pk = any(
        isinstance(f, dict)
        and isinstance(f.get("schema"), dict)
        and (f["schema"].get("is_primary_key") or f["schema"].get("has_auto_increment"))
        for f in fields
    )
    return fields if has_pk else [_ID_FIELD, *fields]


def _sorted_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Sort 1..n in payload order (per group), unless a field brings its own ``sort``: the rows of the fields
    sent with ``meta`` only, as Directus numbers them (a primary key sent without one takes no number)."""
    counters: dict[Any, int] = {}
    out = []
    for row in rows:
        counters[row.get("group")] = counters.get(row.get("group"), 0) + 1
        out.append({"sort": counters[row.get("group")], **{k: v for k, v in row.items() if v is not None}})
    return out


async def _meta_names(conn: Any) -> list[str]:
    return [str(name) for name in await conn.scalars(sa.select(system.collections.c.collection))]


async def _has_meta_row(conn: Any, name: str) -> bool:
    found = await conn.scalar(sa.select(system.collections.c.collection).where(system.collections.c.collection == name))
    return found is not None


def _collection_row(name: str, meta: Mapping[str, Any]) -> dict[str, Any]:
    row: dict[str, Any] = {k: meta[k] for k in _META_COLUMNS if k in meta}
    schema_checks.check_meta_row(system.collections, row)
    row["hidden"] = bool(row.get("hidden", False))
    row["singleton"] = bool(row.get("singleton", False))
    extra = {k: v for k, v in meta.items() if k not in _META_COLUMNS and k not in ("collection", "system")}
    return {**row, "collection": name, "meta": extra or None}


# --- delete --------------------------------------------------------------------------------------------------


async def _drop_incoming(tx: TxContext, name: str) -> None:
    """Other collections' m2o fields that point at ``name`` go too (Directus deletes those fields)."""
    for relation in tx.schema.relations:
        if relation.related_collection != name or relation.collection == name:
            continue
        source = tx.schema.collection(relation.collection)
        field = source.field(relation.field) if source else None
        if source is not None and field is not None and not source.system:
            await drop_field_in(tx, source, field)


async def _delete_rows(tx: TxContext, name: str) -> None:
    """The metadata of ``name`` (its field rows, its permissions, its relations' rows), each row's event for
    its subscribers (``schema_events``); relations and folders that pointed at it are detached."""
    fields, relations, collections = system.fields, system.relations, system.collections
    await schema_events.delete_rows(tx, fields, fields.c.collection == name, schema_events.fields_deleted)
    permissions = system.permissions
    await schema_events.delete_rows(
        tx, permissions, permissions.c.collection == name, schema_events.permissions_deleted
    )
    held = relations.c.many_collection == name
    await schema_events.delete_rows(tx, relations, held, schema_events.relations_deleted)
    detached: dict[str, Any] = {"one_collection": None, "one_field": None}
    pointing = relations.c.one_collection == name
    await schema_events.update_rows(tx, relations, pointing, detached, schema_events.relations_updated(detached))
    ungrouped: dict[str, Any] = {"group": None}
    grouped = collections.c.group == name
    await schema_events.update_rows(tx, collections, grouped, ungrouped, schema_events.collections_updated(ungrouped))
    await tx.conn.execute(collections.delete().where(collections.c.collection == name))
