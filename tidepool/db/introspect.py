"""Build the ``SchemaOverview`` from the live database plus the Directus metadata rows.

The database is the truth for what exists (tables, columns, keys, foreign keys): a table created by hand
or by another tool is served like any other. ``directus_fields`` adds what the database cannot say: the
declared Directus type (``timestamp`` vs ``dateTime``, ``json``/``csv`` stored as text ...), ``special``
flags, and alias fields (o2m). ``directus_relations`` adds relations the database has no foreign key for,
and the o2m side of every relation.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from tidepool.db import system
from tidepool.db.schema import CollectionInfo, FieldInfo, RelationInfo, SchemaOverview
from tidepool.db.types import directus_type_of, sql_type_for

_HIDDEN_TABLES = {"tidepool_migrations", "sqlite_sequence"}


async def load_schema(engine: AsyncEngine) -> SchemaOverview:
    async with engine.connect() as conn:
        return await conn.run_sync(_load)


def _load(conn: Connection) -> SchemaOverview:
    inspector = sa.inspect(conn)
    field_rows = _rows(conn, inspector, system.fields)
    collection_rows = {r["collection"]: r for r in _rows(conn, inspector, system.collections)}
    relation_rows = _rows(conn, inspector, system.relations)
    fields_meta: dict[tuple[str, str], Mapping[str, Any]] = {(r["collection"], r["field"]): r for r in field_rows}

    collections: dict[str, CollectionInfo] = {}
    relations: list[RelationInfo] = []
    seen_relations: set[tuple[str, str]] = set()
    for row in relation_rows:
        relations.append(_relation_from_row(row))
        seen_relations.add((row["many_collection"], row["many_field"]))

    for table_name in inspector.get_table_names():
        if table_name in _HIDDEN_TABLES or table_name.startswith("sqlite_"):
            continue
        info = _collection(inspector, table_name, fields_meta, collection_rows.get(table_name))
        if info is None:
            continue
        collections[table_name] = info
        for fk in inspector.get_foreign_keys(table_name):
            if len(fk["constrained_columns"]) != 1 or (table_name, fk["constrained_columns"][0]) in seen_relations:
                continue
            relations.append(
                RelationInfo(
                    collection=table_name,
                    field=fk["constrained_columns"][0],
                    related_collection=fk["referred_table"],
                    on_delete=(fk.get("options") or {}).get("ondelete"),
                )
            )

    collections = _add_alias_fields(collections, fields_meta, relations)
    return SchemaOverview.build(collections, tuple(relations))


def _rows(conn: Connection, inspector: sa.Inspector, table: sa.Table) -> list[Mapping[str, Any]]:
    if not inspector.has_table(table.name):
        return []
    return [dict(r._mapping) for r in conn.execute(sa.select(table))]


def _collection(
    inspector: sa.Inspector,
    table_name: str,
    fields_meta: Mapping[tuple[str, str], Mapping[str, Any]],
    collection_row: Mapping[str, Any] | None,
) -> CollectionInfo | None:
    columns = inspector.get_columns(table_name)
    pk_columns = inspector.get_pk_constraint(table_name).get("constrained_columns") or []
    if len(pk_columns) != 1:
        return None  # Directus serves single-key tables only
    unique_columns = {
        u["column_names"][0] for u in inspector.get_unique_constraints(table_name) if len(u["column_names"]) == 1
    }
    fields: dict[str, FieldInfo] = {}
    for column in columns:
        name = column["name"]
        meta = fields_meta.get((table_name, name))
        fields[name] = _field(column, meta, name == pk_columns[0], name in unique_columns)
    table = sa.Table(
        table_name,
        sa.MetaData(),
        *(sa.Column(f.name, sql_type_for(f), primary_key=f.primary_key) for f in fields.values()),
    )
    return CollectionInfo(
        name=table_name,
        primary_key=pk_columns[0],
        fields=fields,
        table=table,
        singleton=bool(collection_row and collection_row.get("singleton")),
        system=system.is_system_collection(table_name),
        meta=collection_row,
        note=collection_row.get("note") if collection_row else None,
    )


def _field(column: Mapping[str, Any], meta: Mapping[str, Any] | None, is_pk: bool, unique: bool) -> FieldInfo:
    sql_type = column["type"]
    declared = meta.get("type") if meta else None
    special = tuple(s for s in (meta.get("special") or "").split(",") if s) if meta else ()
    auto_increment = bool(column.get("autoincrement") is True or (is_pk and _is_integer(sql_type)))
    return FieldInfo(
        name=column["name"],
        type=declared or directus_type_of(sql_type),
        special=special,
        nullable=bool(column.get("nullable", True)) and not is_pk,
        primary_key=is_pk,
        auto_increment=auto_increment and _is_integer(sql_type),
        default=column.get("default"),
        max_length=getattr(sql_type, "length", None),
        numeric_precision=getattr(sql_type, "precision", None),
        numeric_scale=getattr(sql_type, "scale", None),
        unique=unique or is_pk,
        meta=meta,
    )


def _is_integer(sql_type: Any) -> bool:
    return isinstance(sql_type, sa.Integer)


def _relation_from_row(row: Mapping[str, Any]) -> RelationInfo:
    return RelationInfo(
        collection=row["many_collection"],
        field=row["many_field"],
        related_collection=row.get("one_collection"),
        one_field=row.get("one_field"),
        junction_field=row.get("junction_field"),
        sort_field=row.get("sort_field"),
        one_deselect_action=row.get("one_deselect_action") or "nullify",
        meta=row,
    )


def _add_alias_fields(
    collections: dict[str, CollectionInfo],
    fields_meta: Mapping[tuple[str, str], Mapping[str, Any]],
    relations: list[RelationInfo],
) -> dict[str, CollectionInfo]:
    """Add alias fields (o2m lists and declared alias fields) that have no column."""
    aliases: dict[str, dict[str, FieldInfo]] = {}
    for (collection, name), meta in fields_meta.items():
        if collection in collections and name not in collections[collection].fields:
            special = tuple(s for s in (meta.get("special") or "").split(",") if s)
            aliases.setdefault(collection, {})[name] = FieldInfo(name=name, type="alias", special=special, meta=meta)
    for relation in relations:
        one = relation.related_collection
        if one in collections and relation.one_field and relation.one_field not in collections[one].fields:
            aliases.setdefault(one, {}).setdefault(
                relation.one_field, FieldInfo(name=relation.one_field, type="alias", special=("o2m",))
            )
    for collection, extra in aliases.items():
        info = collections[collection]
        collections[collection] = CollectionInfo(
            name=info.name,
            primary_key=info.primary_key,
            fields={**info.fields, **extra},
            table=info.table,
            singleton=info.singleton,
            system=info.system,
            meta=info.meta,
            note=info.note,
        )
    return collections
