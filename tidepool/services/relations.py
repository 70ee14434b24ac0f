"""Relations: ``{collection, field, related_collection, meta, schema}`` as Directus shapes them.

A relation is always the many-to-one side (``collection.field`` holds keys of ``related_collection``);
``meta.one_field`` names the o2m alias on the related collection, and an m2m is two of these through a
junction collection (``meta.junction_field`` names the other side). ``meta`` is the ``directus_relations`` row;
``schema`` is the database foreign key, which Tidepool creates on every engine (on SQLite through a table
rebuild), or ``null`` for a relation recorded without one (e.g. ``schema: null`` in the payload).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from tidepool.context import Action
from tidepool.db import ddl, system, system_meta
from tidepool.db.schema import RelationInfo
from tidepool.db.system import is_system_collection
from tidepool.errors import ForbiddenError, InvalidPayloadError
from tidepool.events import ChangeEvent
from tidepool.services import schema_events, system_access
from tidepool.services.base import ServiceContext, TxContext
from tidepool.services.schema_tx import (
    SchemaService,
    dict_payload,
    keyed_by_rows,
    record,
    require_admin,
    rows_where,
    schema_change,
)

_META_KEYS = ("one_field", "one_collection_field", "junction_field", "sort_field", "one_deselect_action")
_DESELECT = frozenset({"nullify", "delete"})


def relation_shape(ctx: ServiceContext, relation: RelationInfo) -> dict[str, Any]:
    system = is_system_collection(relation.collection)
    return {
        "collection": relation.collection,
        "field": relation.field,
        "related_collection": relation.related_collection,
        "schema": _schema_shape(ctx, relation),
        "meta": _system_meta(relation) if system else _meta_shape(ctx, relation.meta),
    }


def _system_meta(relation: RelationInfo) -> dict[str, Any]:
    return system_meta.relation_meta(relation.collection, relation.field, relation.related_collection, relation.meta)


def _meta_shape(ctx: ServiceContext, meta: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The relation's meta; an m2a's ``one_allowed_collections`` lists only collections the caller may read."""
    if meta is None:
        return None
    shaped = dict(meta)
    allowed = shaped.get("one_allowed_collections")
    if isinstance(allowed, list) and not ctx.access.admin:
        shaped["one_allowed_collections"] = [c for c in allowed if ctx.access.allows(c, Action.READ)]
    return shaped


def _schema_shape(ctx: ServiceContext, relation: RelationInfo) -> dict[str, Any] | None:
    if relation.on_delete is None or relation.related_collection is None:
        return None
    related = ctx.schema.collection(relation.related_collection)
    return {
        "table": relation.collection,
        "column": relation.field,
        "foreign_key_table": relation.related_collection,
        "foreign_key_column": related.primary_key if related else None,
        # SQLite's foreign keys have no name Directus reads (it answers null there)
        "constraint_name": None if ctx.dialect == "sqlite" else relation.constraint_name,
        "on_update": "NO ACTION",
        "on_delete": relation.on_delete,
    }


def _visible(ctx: ServiceContext, relation: RelationInfo) -> bool:
    wanted = [relation.collection] + ([relation.related_collection] if relation.related_collection else [])
    return all(ctx.access.allows(c, Action.READ) for c in wanted)


def _recorded(ctx: ServiceContext, collection: str, field: str) -> RelationInfo | None:
    """A relation without a related collection (an m2a) is not in the m2o index."""
    return next((r for r in ctx.schema.relations if r.collection == collection and r.field == field), None)


class RelationsService(SchemaService):
    """The relations of the schema for one caller: reads as its access allows, writes (admins only) as DDL."""

    def list_relations(self, collection: str | None = None) -> list[dict[str, Any]]:
        """Relations whose both sides the caller may read (all for admins), optionally of one collection."""
        system_access.require_read(self.ctx.access, "directus_relations")
        if collection is not None and (
            self.ctx.schema.collection(collection) is None or not self.ctx.access.allows(collection, Action.READ)
        ):
            raise ForbiddenError()  # an unreadable collection answers as a missing one: existence never leaks
        return [
            relation_shape(self.ctx, r)
            for r in self.ctx.schema.relations
            if (collection is None or r.collection == collection) and _visible(self.ctx, r)
        ]

    def read_relation(self, collection: str, field: str) -> dict[str, Any]:
        system_access.require_read(self.ctx.access, "directus_relations")
        relation = self.ctx.schema.m2o(collection, field) or _recorded(self.ctx, collection, field)
        if relation is None or not _visible(self.ctx, relation):
            raise ForbiddenError()
        return relation_shape(self.ctx, relation)

    async def create_relation(self, payload: Any) -> tuple[str, str]:
        """``POST /relations``: the ``directus_relations`` row, and a foreign key unless ``schema`` is null."""
        require_admin(self.ctx)
        body = dict_payload(payload)
        collection, field = _checked_target(self.ctx, body.get("collection"), body.get("field"))
        related = body.get("related_collection")
        if related is not None and (not isinstance(related, str) or self.ctx.schema.collection(related) is None):
            raise InvalidPayloadError(f'Collection "{related}" doesn\'t exist')
        if _recorded(self.ctx, collection, field) is not None:
            raise InvalidPayloadError(
                f'Field "{field}" in collection "{collection}" already has an associated relationship'
            )
        values = _meta_values(body.get("meta"))
        schema = body.get("schema", {})
        if schema is not None and not isinstance(schema, dict):
            raise InvalidPayloadError('"schema" must be an object or null')
        async with schema_change(self.ctx) as tx:
            conn = tx.conn
            if related is not None and schema is not None:
                await _add_foreign_key(tx, collection, field, related, schema.get("on_delete"))
            row = {**values, "many_collection": collection, "many_field": field, "one_collection": related}
            inserted = (await conn.execute(system.relations.insert().values(row))).inserted_primary_key
            key = inserted[0] if inserted else None
            await _mark_m2o(tx, collection, field)
            record(tx, ChangeEvent("directus_relations", "create", (key,), payload={**row, "key": key}), logged=False)
        return collection, field

    async def update_relation(self, collection: str, field: str, payload: Any) -> None:
        """``PATCH /relations/{collection}/{field}``: any ``meta`` key, and ``schema.on_delete``."""
        require_admin(self.ctx)
        relation = _existing(self.ctx, collection, field)
        body = dict_payload(payload)
        schema = body.get("schema")
        meta = body.get("meta")
        async with schema_change(self.ctx) as tx:
            conn = tx.conn
            before = await _rows(conn, collection, field)
            if isinstance(schema, dict) and "on_delete" in schema and relation.related_collection:
                if relation.on_delete is not None:
                    await ddl.drop_foreign_key(conn, collection, relation.constraint_name, field)
                await _add_foreign_key(tx, collection, field, relation.related_collection, schema["on_delete"])
            if meta is not None:
                await _write_meta(conn, relation, _meta_values({**_current_meta(relation), **dict_payload(meta)}))
            rows = system.relations.c
            key = await conn.scalar(
                sa.select(rows.id).where(rows.many_collection == collection, rows.many_field == field)
            )  # the row's key, as every event carries
            item = key if key is not None else f"{collection}.{field}"  # a foreign key without a row
            event = ChangeEvent("directus_relations", "update", (item,), payload=body)
            record(
                tx, keyed_by_rows(event, system.relations, await _rows(conn, collection, field), before), logged=False
            )

    async def delete_relation(self, collection: str, field: str) -> None:
        """``DELETE /relations/{collection}/{field}``: the foreign key and the row; the field itself stays."""
        require_admin(self.ctx)
        relation = _existing(self.ctx, collection, field)
        async with schema_change(self.ctx) as tx:
            conn = tx.conn
            before = await _rows(conn, collection, field)
            await conn.execute(
                system.relations.delete().where(
                    system.relations.c.many_collection == collection, system.relations.c.many_field == field
                )
            )
            if relation.on_delete is not None:
                await ddl.drop_foreign_key(conn, collection, relation.constraint_name, field)
            event = ChangeEvent(
                "directus_relations", "delete", (field,), payload={"collection": collection, "fields": [field]}
            )
            record(tx, keyed_by_rows(event, system.relations, (), before), logged=False)


async def _rows(conn: Any, collection: str, field: str) -> tuple[dict[str, Any], ...]:
    """The relation's row (none for a foreign key without one), for its event's subscribers."""
    rows = system.relations.c
    return await rows_where(conn, system.relations, rows.many_collection == collection, rows.many_field == field)


def _checked_target(ctx: ServiceContext, collection: Any, field: Any) -> tuple[str, str]:
    if not isinstance(collection, str) or not collection:
        raise InvalidPayloadError('"collection" is required')
    if not isinstance(field, str) or not field:
        raise InvalidPayloadError('"field" is required')
    info = ctx.schema.collection(collection)
    if info is None:
        raise InvalidPayloadError(f'Collection "{collection}" doesn\'t exist')
    if field not in info.fields:
        raise InvalidPayloadError(f'Field "{field}" doesn\'t exist in collection "{collection}"')
    return collection, field


def _meta_values(meta: Any) -> dict[str, Any]:
    if meta is None:
        return {}
    if not isinstance(meta, dict):
        raise InvalidPayloadError('"meta" must be an object')
    values = {k: meta[k] for k in _META_KEYS if k in meta}
    if "one_allowed_collections" in meta:
        allowed = meta["one_allowed_collections"]
        values["one_allowed_collections"] = ",".join(allowed) if isinstance(allowed, list) else allowed
    if values.get("one_deselect_action", "nullify") not in _DESELECT:
        raise InvalidPayloadError('"one_deselect_action" must be "nullify" or "delete"')
    values["one_deselect_action"] = values.get("one_deselect_action") or "nullify"
    return values


async def _add_foreign_key(tx: TxContext, collection: str, field: str, related: str, on_delete: Any) -> None:
    target = tx.schema.collection(related)
    source = tx.schema.collection(collection)
    assert target is not None and source is not None
    column = source.fields[field]
    if column.is_alias:
        raise InvalidPayloadError(f'Field "{field}" in collection "{collection}" has no column to hold a key')
    fk = ddl.ForeignKey(
        column=field,
        ref_table=related,
        ref_column=target.primary_key,
        on_delete=on_delete if isinstance(on_delete, str) else "SET NULL",
        name=ddl.index_name("foreign", collection, field),
    )
    await ddl.add_foreign_key(tx.conn, collection, fk)


async def _mark_m2o(tx: TxContext, collection: str, field: str) -> None:
    """Directus's Data Studio flags m2o fields with ``special: m2o``; do it for rows that have no special (and
    tell the row's subscribers)."""
    rows = system.fields.c
    unflagged = sa.and_(rows.collection == collection, rows.field == field, rows.special.is_(None))
    flag = {"special": "m2o"}
    await schema_events.update_rows(tx, system.fields, unflagged, flag, schema_events.fields_updated(flag))


def _existing(ctx: ServiceContext, collection: str, field: str) -> RelationInfo:
    _checked_target(ctx, collection, field)
    relation = _recorded(ctx, collection, field)
    if relation is None:
        raise InvalidPayloadError(f'Field "{field}" in collection "{collection}" doesn\'t have a relationship.')
    return relation


def _current_meta(relation: RelationInfo) -> dict[str, Any]:
    meta: Mapping[str, Any] = relation.meta or {}
    return {k: meta.get(k) for k in (*_META_KEYS, "one_allowed_collections") if meta.get(k) is not None}


async def _write_meta(conn: Any, relation: RelationInfo, values: dict[str, Any]) -> None:
    where = (system.relations.c.many_collection == relation.collection) & (
        system.relations.c.many_field == relation.field
    )
    if relation.meta is not None:
        await conn.execute(system.relations.update().where(where).values(values))
        return
    row = {
        **values,
        "many_collection": relation.collection,
        "many_field": relation.field,
        "one_collection": relation.related_collection,
    }
    await conn.execute(system.relations.insert().values(row))
