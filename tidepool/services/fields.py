"""Fields: read them in Directus's ``{collection, field, type, meta, schema}`` shape, add, alter and drop them.

``FieldsService(ctx)`` is the entry point; each write runs in one ``schema_tx.schema_change``. Events for
``directus_fields`` are recorded as Directus emits them. ``parse_field``, ``insert_meta_rows`` and
``drop_field_in`` also serve ``CollectionsService``, which creates and drops fields with its tables.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from tidepool.context import Action
from tidepool.db import ddl, system, system_meta
from tidepool.db.schema import CollectionInfo, FieldInfo
from tidepool.db.types import ALIAS_SPECIALS, COLUMN_TYPES, directus_type_of
from tidepool.errors import ForbiddenError, InvalidPayloadError
from tidepool.events import ChangeEvent
from tidepool.services import schema_checks, schema_events, system_access
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

# --- the REST shape ------------------------------------------------------------------------------------------

_DEFAULT_FIELD_META: dict[str, Any] = {
    "special": None,
    "interface": None,
    "options": None,
    "display": None,
    "display_options": None,
    "readonly": False,
    "hidden": False,
    "sort": None,
    "width": "full",
    "translations": None,
    "note": None,
    "conditions": None,
    "required": False,
    "group": None,
    "validation": None,
    "validation_message": None,
    "searchable": True,
}


def field_shape(ctx: ServiceContext, collection: CollectionInfo, info: FieldInfo) -> dict[str, Any]:
    if collection.system:  # described as Directus describes its own fields (``system_meta``)
        position = list(collection.fields).index(info.name) + 1
        meta: dict[str, Any] | None = system_meta.field_meta(collection.name, info.name, position)
    else:
        meta = _meta_shape(info.meta)
    return {
        "collection": collection.name,
        "field": info.name,
        "type": info.type,
        "meta": meta,
        "schema": None if info.is_alias else _schema_shape(ctx, collection, info),
    }


def _meta_shape(meta: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if meta is None:
        return None
    shaped = {**_DEFAULT_FIELD_META, **{k: v for k, v in meta.items() if k != "type"}}
    return {
        "id": shaped.pop("id", None),
        "collection": shaped.pop("collection"),
        "field": shaped.pop("field"),
        **shaped,
    }


def _schema_shape(ctx: ServiceContext, collection: CollectionInfo, info: FieldInfo) -> dict[str, Any]:
    relation = ctx.schema.m2o(collection.name, info.name)
    has_fk = relation is not None and relation.on_delete is not None and relation.related_collection is not None
    related = ctx.schema.collection(relation.related_collection or "") if relation and has_fk else None
    if related is not None and not ctx.access.allows(related.name, Action.READ):
        related = None  # where the key points would name a collection the caller may not know exists
    shaped = {
        "name": info.name,
        "table": collection.name,
        "data_type": info.data_type,
        "default_value": info.default,
        "max_length": info.max_length,
        "numeric_precision": info.numeric_precision,
        "numeric_scale": info.numeric_scale,
        "is_generated": False,
        "generation_expression": None,
        "is_nullable": info.nullable,
        "is_unique": info.unique,
        "is_indexed": info.indexed,
        "is_primary_key": info.primary_key,
        "has_auto_increment": info.auto_increment,
        "foreign_key_table": related.name if related else None,
        "foreign_key_column": related.primary_key if related else None,
    }
    if ctx.dialect != "sqlite":  # SQLite columns have no comment, and Directus leaves the key out there
        shaped["comment"] = None
    return shaped


# --- reads ---------------------------------------------------------------------------------------------------


def readable_collection(ctx: ServiceContext, name: str) -> CollectionInfo:
    """The collection when it exists and the caller may read it; ``ForbiddenError()`` otherwise (no leak)."""
    info = ctx.schema.collection(name)
    if info is None or not ctx.access.allows(name, Action.READ):
        raise ForbiddenError()
    return info


def _readable_fields(ctx: ServiceContext, collection: CollectionInfo) -> list[FieldInfo]:
    if ctx.access.admin:
        return list(collection.fields.values())
    allowed: set[str] = set()
    for permission in ctx.access.rules(collection.name, Action.READ):
        allowed |= set(collection.fields) if permission.fields is None else set(permission.fields)
    every = "*" in allowed
    return [f for f in collection.fields.values() if every or f.name in allowed]


# --- parsing a field definition ------------------------------------------------------------------------------

_META_COLUMNS = (
    "interface",
    "options",
    "display",
    "display_options",
    "readonly",
    "hidden",
    "sort",
    "width",
    "note",
    "required",
    "group",
    "validation",
    "validation_message",
)
_META_SKIP = frozenset({"id", "collection", "field", "special", "type", *_META_COLUMNS})
_JSON_META_COLUMNS = frozenset({"options", "display_options", "validation"})


def specials_of(meta: Mapping[str, Any] | None) -> list[str]:
    raw = (meta or {}).get("special")
    if raw is None:
        return []
    if isinstance(raw, str):
        return [s for s in raw.split(",") if s]
    if isinstance(raw, list) and all(isinstance(s, str) for s in raw):
        return list(raw)
    raise InvalidPayloadError('"meta.special" must be an array of strings')


def parse_field(
    ctx: ServiceContext, payload: Any, known: frozenset[str] = frozenset()
) -> tuple[ddl.ColumnSpec | None, dict[str, Any]]:
    """A field definition as (column to create or None for an alias, ``directus_fields`` row values);
    ``known`` are the collection's other fields (what a ``meta.validation`` may refer to)."""
    body = dict_payload(payload)
    name = ddl.check_name(body.get("field"), "Field")
    field_type = body.get("type")
    meta = {} if body.get("meta") is None else body["meta"]
    schema = {} if body.get("schema") is None else body["schema"]
    if not isinstance(meta, dict) or not isinstance(schema, dict):
        raise InvalidPayloadError('"meta" and "schema" must be objects')
    specials = specials_of(meta)
    if field_type is None:
        field_type = "alias" if set(specials) & ALIAS_SPECIALS else None
    if field_type != "alias" and (not isinstance(field_type, str) or field_type not in COLUMN_TYPES):
        raise InvalidPayloadError(f'"type" must be one of {", ".join(sorted(COLUMN_TYPES | {"alias"}))}')
    schema_checks.check_definition(name, field_type, meta, schema, set(known))
    specials = _with_flags(ctx, field_type, specials)
    row = meta_row(name, field_type, specials, meta)
    if field_type == "alias":
        return None, row
    return _column_spec(name, field_type, schema), row


def _with_flags(ctx: ServiceContext, field_type: str, specials: list[str]) -> list[str]:
    """Directus's per-engine flags: ``cast-timestamp`` on SQLite timestamps, ``cast-json`` on json."""
    flags = {("sqlite", "timestamp"): "cast-timestamp"}
    wanted = [flags.get((ctx.dialect, field_type)), "cast-json" if field_type == "json" else None]
    return specials + [flag for flag in wanted if flag and flag not in specials]


def _column_spec(name: str, field_type: str, schema: Mapping[str, Any]) -> ddl.ColumnSpec:
    auto = bool(schema.get("has_auto_increment"))
    if auto and field_type not in ("integer", "bigInteger"):
        raise InvalidPayloadError(f'Field "{name}" cannot auto increment: type must be integer or bigInteger')
    return ddl.ColumnSpec(
        name=name,
        type=field_type,
        max_length=_int(schema.get("max_length"), "max_length"),
        precision=_int(schema.get("numeric_precision"), "numeric_precision"),
        scale=_int(schema.get("numeric_scale"), "numeric_scale"),
        nullable=schema.get("is_nullable", True) is not False,
        default=schema.get("default_value"),
        primary_key=bool(schema.get("is_primary_key")) or auto,
        auto_increment=auto,
        unique=bool(schema.get("is_unique")),
    )


def _int(value: Any, key: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).isdigit():
        raise InvalidPayloadError(f'"{key}" must be a positive integer')
    return int(value)


def meta_row(name: str, field_type: str | None, specials: list[str], meta: Mapping[str, Any]) -> dict[str, Any]:
    """The ``directus_fields`` row: known keys in their columns, the rest in the ``meta`` JSON column."""
    row: dict[str, Any] = {"field": name, "type": field_type, "special": ",".join(specials) or None, "width": "full"}
    for key in _META_COLUMNS:
        if key in meta:
            row[key] = meta[key]
    schema_checks.check_meta_row(system.fields, row)
    for key in ("readonly", "hidden", "required"):
        row[key] = bool(row.get(key, False))
    extra = {k: v for k, v in meta.items() if k not in _META_SKIP}
    row["meta"] = extra or None
    return row


# --- the service ---------------------------------------------------------------------------------------------


class FieldsService(SchemaService):
    """The fields of the schema for one caller: reads as its access allows, writes (admins only) as DDL."""

    def list_fields(self, collection: str | None = None) -> list[dict[str, Any]]:
        """Every field the caller may read, of one collection or of all."""
        system_access.require_read(self.ctx.access, "directus_fields")
        if collection is not None:
            targets = [readable_collection(self.ctx, collection)]
        else:
            targets = [c for c in self.ctx.schema.collections.values() if self.ctx.access.allows(c.name, Action.READ)]
        return [field_shape(self.ctx, c, f) for c in targets for f in _readable_fields(self.ctx, c)]

    def read_field(self, collection: str, field: str) -> dict[str, Any]:
        info = readable_collection(self.ctx, collection)
        for candidate in _readable_fields(self.ctx, info):
            if candidate.name == field:
                return field_shape(self.ctx, info, candidate)
        raise ForbiddenError()

    async def create_field(self, collection: str, payload: Any) -> str:
        """``POST /fields/{collection}``: add a column (or an alias) and its metadata row."""
        info = writable_collection(self.ctx, collection)
        spec, row = parse_field(self.ctx, payload, frozenset(info.fields))
        name = row["field"]
        if name not in info.fields:
            schema_checks.check_new_field(name, collection, info.fields)
        # an o2m alias a relation named (``meta.one_field``) before its field was created: this records it
        unrecorded = spec is None and name in info.fields and info.fields[name].is_alias and not info.fields[name].meta
        async with schema_change(self.ctx) as tx:
            conn = tx.conn
            if (name in info.fields and not unrecorded) or await _meta_row_id(conn, collection, name) is not None:
                raise InvalidPayloadError(f'Field "{name}" already exists in collection "{collection}"')
            if spec is not None:
                if spec.primary_key:
                    raise InvalidPayloadError(f'Collection "{collection}" already has a primary key')
                await schema_checks.check_rows_for_new_column(conn, info, spec)
                await ddl.add_column(conn, collection, spec)
            described, kept = await rows_to_write(conn, collection, [(spec, row, sent_meta(payload))])
            for numbered in described:
                numbered.setdefault("sort", await _next_sort(conn, collection))
            await insert_meta_rows(conn, collection, [*described, *kept])
            event = keyed_by_rows(
                _event("create", collection, name, row), system.fields, await _rows(conn, collection, name)
            )
            record(tx, event, logged=bool(described))
        return str(name)

    async def update_field(self, collection: str, field: str, payload: Any) -> str:
        """``PATCH /fields/{collection}/{field}``: metadata, and default/nullable/max_length/unique in the database."""
        info = writable_collection(self.ctx, collection)
        current = info.field(field)
        if current is None:
            raise ForbiddenError()
        body = dict_payload(payload)
        new_type = body.get("type") or current.type
        if new_type != current.type:
            raise InvalidPayloadError("Changing the type of an existing field is not supported")
        meta = body.get("meta")
        schema = body.get("schema")
        if meta is not None and not isinstance(meta, dict) or schema is not None and not isinstance(schema, dict):
            raise InvalidPayloadError('"meta" and "schema" must be objects')
        schema_checks.check_schema_flags(schema or {})
        schema_checks.check_meta(meta or {}, set(info.fields))
        if schema and "default_value" in schema and not current.is_alias:
            schema_checks.check_default(field, current.type, schema["default_value"])
        change = _column_change(current, schema) if schema and not current.is_alias else None
        async with schema_change(self.ctx) as tx:
            conn = tx.conn
            if change is not None:
                await schema_checks.check_rows_for_change(conn, info, field, change)
                await ddl.alter_column(conn, collection, field, current.type, change)
            before = await _rows(conn, collection, field)
            if meta is not None:
                await _upsert_meta(conn, collection, field, current, meta)
            event = _event("update", collection, field, {"meta": meta, "schema": schema})
            tx.record(keyed_by_rows(event, system.fields, await _rows(conn, collection, field), before))
        return field

    async def delete_field(self, collection: str, field: str) -> None:
        """``DELETE /fields/{collection}/{field}``: its relations, its column, its metadata row."""
        info = writable_collection(self.ctx, collection)
        current = info.field(field)
        if current is None:
            raise ForbiddenError()
        if current.primary_key:
            raise InvalidPayloadError("The primary key of a collection cannot be deleted")
        async with schema_change(self.ctx) as tx:
            await drop_field_in(tx, info, current)


# --- writes --------------------------------------------------------------------------------------------------


def writable_collection(ctx: ServiceContext, name: str) -> CollectionInfo:
    """A user collection whose fields may be changed (system tables are Tidepool's)."""
    require_admin(ctx)
    info = ctx.schema.collection(name)
    if info is None:
        raise ForbiddenError()
    if info.system:
        raise InvalidPayloadError(f'Fields of system collection "{name}" cannot be changed')
    return info


async def _next_sort(conn: Any, collection: str) -> int:
    current = await conn.scalar(
        sa.select(sa.func.max(system.fields.c.sort)).where(system.fields.c.collection == collection)
    )
    return int(current or 0) + 1


async def _meta_row_id(conn: Any, collection: str, field: str) -> int | None:
    query = sa.select(system.fields.c.id).where(
        system.fields.c.collection == collection, system.fields.c.field == field
    )
    found = await conn.scalar(query)
    return None if found is None else int(found)


def sent_meta(payload: Any) -> bool:
    """Whether a field definition came with a ``meta`` object: Directus writes a ``directus_fields`` row only
    then (a field sent without one, such as a primary key given as bare ``schema``, has ``meta: null``)."""
    return isinstance(payload, dict) and isinstance(payload.get("meta"), dict)


async def rows_to_write(
    conn: Any, collection: str, fields: list[tuple[ddl.ColumnSpec | None, dict[str, Any], bool]]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Of new fields (column spec or None for an alias, ``meta_row``, whether sent with ``meta``), the rows
    ``directus_fields`` needs, in two lists: those of the fields sent with ``meta``, as Directus writes them
    (the caller numbers them), and those of fields sent without one that the database alone would describe
    otherwise (an alias has no column; a ``json``, ``uuid``, ``csv`` or ``hash`` column, or a SQLite
    timestamp, reads back as another type or needs its flag). Those keep a row with no ``sort``, so Tidepool
    still reads and writes them by their type; every other bare field has none, as on Directus."""
    bare = [(spec, row) for spec, row, with_meta in fields if not with_meta]
    reflected = await _column_types(conn, collection) if any(spec is not None for spec, _ in bare) else {}
    kept = [
        {**row, "sort": None}
        for spec, row in bare
        if spec is None or row.get("special") or reflected.get(row["field"]) != row["type"]
    ]
    return [row for _, row, with_meta in fields if with_meta], kept


async def _column_types(conn: Any, collection: str) -> dict[str, str]:
    """The Directus type of each column of ``collection`` as introspection reads it (no metadata row)."""

    def read(sync: Any) -> dict[str, str]:
        return {c["name"]: directus_type_of(c["type"]) for c in sa.inspect(sync).get_columns(collection)}

    return dict(await conn.run_sync(read))


async def insert_meta_rows(conn: Any, collection: str, rows: list[dict[str, Any]]) -> None:
    """Insert metadata rows; every row gets the same keys, as one executemany requires."""
    stored = [_storable({**row, "collection": collection}) for row in rows]
    keys = {key for row in stored for key in row}
    if stored:
        await conn.execute(system.fields.insert(), [{key: row.get(key) for key in keys} for row in stored])


def _storable(row: Mapping[str, Any]) -> dict[str, Any]:
    """Only the real columns of ``directus_fields`` (JSON columns take parsed values; SQLAlchemy encodes them)."""
    return {k: v for k, v in row.items() if k in system.fields.c}


def _event(action: str, collection: str, field: str, payload: Mapping[str, Any] | None) -> ChangeEvent:
    body = {"collection": collection, "field": field, **(payload or {})}
    return ChangeEvent("directus_fields", action, (field,), payload=body)  # type: ignore[arg-type]


def _column_change(current: FieldInfo, schema: Mapping[str, Any]) -> ddl.ColumnChange | None:
    if current.primary_key and schema.get("is_nullable") is True:
        raise InvalidPayloadError("Primary key cannot be null")
    nullable = schema.get("is_nullable")
    max_length = _int(schema.get("max_length"), "max_length") if current.type == "string" else None
    unique = schema.get("is_unique")
    change = ddl.ColumnChange(
        nullable=None if nullable is None or bool(nullable) == current.nullable else bool(nullable),
        default=schema.get("default_value"),
        set_default="default_value" in schema and schema.get("default_value") != current.default,
        max_length=None if max_length == current.max_length else max_length,
        unique=None if unique is None or current.primary_key or bool(unique) == current.unique else bool(unique),
    )
    return None if change == ddl.ColumnChange(default=change.default) else change


async def _upsert_meta(conn: Any, collection: str, field: str, current: FieldInfo, meta: Mapping[str, Any]) -> None:
    existing = dict(current.meta or {})
    merged_meta = {**existing, **{k: v for k, v in meta.items() if k in _META_COLUMNS or k not in _META_SKIP}}
    specials = specials_of(meta) if "special" in meta else list(current.special)
    row = meta_row(field, current.type, specials, merged_meta)
    row_id = await _meta_row_id(conn, collection, field)
    if row_id is None:
        await insert_meta_rows(conn, collection, [row])
    else:
        await conn.execute(system.fields.update().where(system.fields.c.id == row_id).values(_storable(row)))


async def drop_field_in(tx: TxContext, info: CollectionInfo, current: FieldInfo) -> None:
    """Inside an open schema change: remove a field, the relation it holds, and o2m aliases pointing at it.

    Metadata goes first so that on MySQL (where the DROP COLUMN commits on its own) a failure never
    leaves metadata for a missing column.
    """
    conn = tx.conn
    collection, field = info.name, current.name
    relation = tx.schema.m2o(collection, field)
    before = await _rows(conn, collection, field)
    relations = system.relations.c
    held = sa.and_(relations.many_collection == collection, relations.many_field == field)
    await schema_events.delete_rows(tx, system.relations, held, schema_events.relations_deleted)
    named = sa.and_(relations.one_collection == collection, relations.one_field == field)
    detached = {"one_field": None}
    await schema_events.update_rows(tx, system.relations, named, detached, schema_events.relations_updated(detached))
    if relation is not None and relation.one_field and relation.related_collection:
        alias = _meta_row_of(relation.related_collection, relation.one_field)
        await schema_events.delete_rows(tx, system.fields, alias, schema_events.fields_deleted)
    await schema_events.forget_field(tx, collection, field)
    await _delete_meta_row(conn, collection, field)
    if not current.is_alias:
        await ddl.drop_column(conn, collection, field)  # with its foreign key and indexes
    event = ChangeEvent("directus_fields", "delete", (field,), payload={"collection": collection})
    record(tx, keyed_by_rows(event, system.fields, (), before), logged=current.meta is not None)


async def _rows(conn: Any, collection: str, field: str) -> tuple[dict[str, Any], ...]:
    """The field's metadata row (none for a field without ``meta``), for its event's subscribers."""
    return await rows_where(
        conn, system.fields, system.fields.c.collection == collection, system.fields.c.field == field
    )


def _meta_row_of(collection: str, field: str) -> sa.ColumnElement[bool]:
    return sa.and_(system.fields.c.collection == collection, system.fields.c.field == field)


async def _delete_meta_row(conn: Any, collection: str, field: str) -> None:
    await conn.execute(system.fields.delete().where(_meta_row_of(collection, field)))
