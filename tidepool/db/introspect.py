"""Build the ``SchemaOverview`` from the live database plus the Directus metadata rows.

The database is the truth for what exists (tables, columns, keys, foreign keys): a table created by hand
or by another tool is served like any other. ``directus_fields`` adds what the database cannot say: the
declared Directus type (``timestamp`` vs ``dateTime``, ``json``/``csv`` stored as text ...), ``special``
flags, and alias fields (o2m). ``directus_relations`` adds relations the database has no foreign key for,
and the o2m side of every relation.

Reflection uses SQLAlchemy's multi-table calls (one query per kind of object, not one per table), so a
reload after DDL stays cheap on PostgreSQL and MySQL with many tables.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from tidepool.db import system, system_meta
from tidepool.db.schema import CollectionInfo, FieldInfo, RelationInfo, SchemaOverview
from tidepool.db.types import ALIAS_SPECIALS, data_type_name, directus_type_of, parse_default, sql_type_for

# Tidepool's own bookkeeping (migrations, version markers, the event log, which holds the ``before`` rows of
# every collection) is never a collection: no API, admin included, can read or write it.
_HIDDEN_TABLES = frozenset(
    {name for name in system.SYSTEM_TABLES if name.startswith("tidepool_")} | {"sqlite_sequence"}
)
Row = Mapping[str, Any]
TableKey = tuple[str | None, str]


async def load_schema(engine: AsyncEngine) -> SchemaOverview:
    """The overview of the database behind ``engine``.

    SQLite files are reflected through a plain synchronous connection in a worker thread: reflection is
    ~100 small PRAGMA queries, and each one through aiosqlite's thread hand-off costs about a millisecond,
    which made every schema reload (after each DDL) take half a second.
    """
    database = engine.url.database
    if engine.dialect.name == "sqlite" and database and database != ":memory:" and "mode=memory" not in database:
        return await asyncio.to_thread(_load_sqlite_file, _sync_engine(engine.url.render_as_string(False)))
    async with engine.connect() as conn:
        return await conn.run_sync(_load)


@functools.lru_cache(maxsize=16)
def _sync_engine(url: str) -> sa.Engine:
    sync_url = sa.make_url(url).set(drivername="sqlite")
    return sa.create_engine(sync_url, poolclass=sa.NullPool, connect_args={"timeout": 30})


def _load_sqlite_file(engine: sa.Engine) -> SchemaOverview:
    with engine.connect() as conn:
        return _load(conn)


def read_schema(conn: Connection) -> SchemaOverview:
    """The overview as ``conn`` sees the database, uncommitted changes of its own transaction included (a
    schema migration's later steps read what its earlier ones did: ``services/schema_tx.StepSchemas``)."""
    return _load(conn)


def visible_table(name: str) -> bool:
    """Tables that are never collections: Tidepool's own bookkeeping and the engine's internals."""
    return name not in _HIDDEN_TABLES and not name.startswith("sqlite_")


def _load(conn: Connection) -> SchemaOverview:
    inspector = sa.inspect(conn)
    tables = [t for t in inspector.get_table_names() if visible_table(t)]
    field_rows = [field_meta(r) for r in _rows(conn, tables, system.fields)]
    collection_rows = {r["collection"]: collection_meta(r) for r in _rows(conn, tables, system.collections)}
    relation_rows = [relation_meta(r) for r in _rows(conn, tables, system.relations)]
    fields_meta = {(r["collection"], r["field"]): r for r in field_rows}
    reflected = _Reflection(inspector, tables)

    collections: dict[str, CollectionInfo] = {}
    for table_name in tables:
        info = _collection(reflected, conn.dialect, table_name, fields_meta, collection_rows.get(table_name))
        if info is not None:
            collections[table_name] = info
    for name, described in _table_descriptions(conn, inspector, tables).items():
        if name in collections:
            collections[name] = replace(collections[name], table_info=described)
    relations = _relations(reflected, tables, relation_rows, collections)
    collections = _add_alias_fields(collections, fields_meta, relations)
    return SchemaOverview.build(collections, tuple(relations))


def _table_descriptions(conn: Connection, inspector: sa.Inspector, tables: list[str]) -> dict[str, dict[str, Any]]:
    """Each table as Directus describes it in a collection's ``schema``, which differs per engine: SQLite gives
    its ``CREATE TABLE`` text, PostgreSQL the schema and comment, MySQL also the collation and storage engine."""
    dialect = conn.dialect.name
    if dialect == "sqlite":
        rows = conn.execute(sa.text("SELECT name, sql FROM sqlite_master WHERE type = 'table'"))
        return {name: {"name": name, "sql": sql} for name, sql in rows}
    if dialect == "mysql":
        query = sa.text(
            "SELECT TABLE_NAME, TABLE_SCHEMA, TABLE_COMMENT, TABLE_COLLATION, ENGINE FROM information_schema.tables "
            "WHERE table_schema = DATABASE() AND table_type = 'BASE TABLE'"
        )
        return {
            row[0]: {"name": row[0], "schema": row[1], "comment": row[2], "collation": row[3], "engine": row[4]}
            for row in conn.execute(query)
        }
    comments: dict[Any, Any] = dict(inspector.get_multi_table_comment(filter_names=tables or None))
    schema = inspector.default_schema_name
    return {
        name: {"name": name, "schema": schema, "comment": (comments.get((None, name)) or {}).get("text")}
        for name in tables
    }


class _Reflection:
    """Everything reflected about the tables, fetched once per kind."""

    def __init__(self, inspector: sa.Inspector, tables: list[str]) -> None:
        names = tables or None
        self.columns: dict[TableKey, list[Any]] = dict(inspector.get_multi_columns(filter_names=names))
        self.pks: dict[TableKey, Any] = dict(inspector.get_multi_pk_constraint(filter_names=names))
        self.fks: dict[TableKey, list[Any]] = dict(inspector.get_multi_foreign_keys(filter_names=names))
        self.uniques: dict[TableKey, list[Any]] = dict(inspector.get_multi_unique_constraints(filter_names=names))
        if inspector.dialect.name == "sqlite":
            # SQLite keeps inline UNIQUE columns only as auto-indexes, hidden unless asked for; and its
            # reflection misses ON DELETE of inline REFERENCES clauses, which the pragma still knows.
            indexes = inspector.get_multi_indexes(filter_names=names, include_auto_indexes=True)
            self._sqlite_on_delete(inspector)
        else:
            indexes = inspector.get_multi_indexes(filter_names=names)
        self.indexes: dict[TableKey, list[Any]] = dict(indexes)

    def _sqlite_on_delete(self, inspector: sa.Inspector) -> None:
        bind = inspector.bind
        assert isinstance(bind, sa.Connection)
        for (_, table), fks in self.fks.items():
            quoted = inspector.dialect.identifier_preparer.quote(table)
            pragma = bind.exec_driver_sql(f"PRAGMA foreign_key_list({quoted})").all()
            actions = {(row[2], row[3]): row[6] for row in pragma}
            for fk in fks:
                options = fk.setdefault("options", {})
                action = actions.get((fk["referred_table"], fk["constrained_columns"][0]))
                if not options.get("ondelete") and action and action != "NO ACTION":
                    options["ondelete"] = action

    def indexed_columns(self, table: str) -> set[str]:
        """Columns with a single-column index that is not unique (Directus's ``schema.is_indexed``)."""
        return {
            i["column_names"][0]
            for i in self.indexes.get((None, table), [])
            if not i.get("unique") and len(i["column_names"]) == 1 and i["column_names"][0]
        }

    def unique_columns(self, table: str) -> set[str]:
        found = {u["column_names"][0] for u in self.uniques.get((None, table), []) if len(u["column_names"]) == 1}
        found |= {
            i["column_names"][0]
            for i in self.indexes.get((None, table), [])
            if i.get("unique") and len(i["column_names"]) == 1 and i["column_names"][0]
        }
        return found


def _rows(conn: Connection, tables: list[str], table: sa.Table) -> list[Row]:
    if table.name not in tables:
        return []
    return [dict(r._mapping) for r in conn.execute(sa.select(table))]


def _collection(
    reflected: _Reflection,
    dialect: sa.Dialect,
    table_name: str,
    fields_meta: Mapping[tuple[str, str], Row],
    collection_row: Row | None,
) -> CollectionInfo | None:
    pk_columns = (reflected.pks.get((None, table_name)) or {}).get("constrained_columns") or []
    if len(pk_columns) != 1:
        return None  # Directus serves single-key tables only
    unique_columns = reflected.unique_columns(table_name)
    indexed_columns = reflected.indexed_columns(table_name)
    # Directus reports a primary key as unique where the engine says so: PostgreSQL (its key is a unique
    # constraint) and SQLite when the key has an index (not an INTEGER rowid key); MySQL never ("PRI", not "UNI").
    pk_unique = dialect.name == "postgresql"
    declared = system.SYSTEM_TABLES.get(table_name)
    fields: dict[str, FieldInfo] = {}
    columns: list[sa.Column[Any]] = []
    for column in reflected.columns.get((None, table_name), []):
        name = column["name"]
        if declared is not None and name in declared.c:
            column = {**column, "type": declared.c[name].type}  # the declared type says more than SQLite's
        is_pk = name == pk_columns[0]
        unique = name in unique_columns or (is_pk and pk_unique)
        info = _field(column, fields_meta.get((table_name, name)), is_pk, unique)
        fields[name] = replace(info, data_type=data_type_name(column["type"], dialect), indexed=name in indexed_columns)
        columns.append(sa.Column(name, sql_type_for(info, column["type"]), primary_key=info.primary_key))
    table = sa.Table(table_name, sa.MetaData(), *columns)
    return CollectionInfo(
        name=table_name,
        primary_key=pk_columns[0],
        fields=fields,
        table=table,
        singleton=bool(
            collection_row.get("singleton") if collection_row else system_meta.default(table_name, "singleton")
        ),
        system=system.is_system_collection(table_name),
        meta=collection_row,
        note=collection_row.get("note") if collection_row else None,
    )


def _field(column: Row, meta: Row | None, is_pk: bool, unique: bool) -> FieldInfo:
    sql_type = column["type"]
    directus_type = (meta.get("type") if meta else None) or directus_type_of(sql_type)
    special = tuple(meta.get("special") or ()) if meta else ()
    is_integer = isinstance(sql_type, sa.Integer)
    auto_increment = is_integer and (column.get("autoincrement") is True or is_pk or _is_serial(column))
    return FieldInfo(
        name=column["name"],
        type=directus_type,
        special=special,
        nullable=bool(column.get("nullable", True)) and not is_pk,
        primary_key=is_pk,
        auto_increment=bool(auto_increment),
        default=None if auto_increment else parse_default(column.get("default"), directus_type),
        max_length=getattr(sql_type, "length", None),
        numeric_precision=getattr(sql_type, "precision", None) if not is_integer else None,
        numeric_scale=getattr(sql_type, "scale", None) if not is_integer else None,
        unique=unique,
        meta=meta,
    )


def _is_serial(column: Row) -> bool:
    default = str(column.get("default") or "")
    return default.startswith("nextval(") or bool(column.get("identity"))


def _relations(
    reflected: _Reflection, tables: list[str], relation_rows: Sequence[Row], collections: Mapping[str, CollectionInfo]
) -> list[RelationInfo]:
    """``directus_relations`` rows, stitched with the database's foreign keys; unrecorded FKs become m2o."""
    constraints: dict[tuple[str, str], Row] = {}
    for table_name in tables:
        for fk in reflected.fks.get((None, table_name), []):
            if len(fk["constrained_columns"]) == 1:
                constraints[(table_name, fk["constrained_columns"][0])] = fk
    relations: list[RelationInfo] = []
    for row in relation_rows:
        fk = constraints.pop((row["many_collection"], row["many_field"]), None)
        second = system_meta.ACCOUNT_SECOND_SIDES.get((row["many_collection"], row["many_field"]))
        if second is not None:
            relations.append(_relation_from_row({**row, **second}, fk))
        relations.append(_relation_from_row(row, fk))
    relations += _modelled_system_relations(
        collections, {(r.collection, r.field) for r in relations} | set(constraints)
    )
    for (table_name, column), fk in constraints.items():
        if table_name in collections:
            relations.append(
                RelationInfo(
                    collection=table_name,
                    field=column,
                    related_collection=fk["referred_table"],
                    on_delete=_on_delete(fk),
                    constraint_name=fk.get("name"),
                )
            )
    return relations


def _modelled_system_relations(
    collections: Mapping[str, CollectionInfo], known: set[tuple[str, str]]
) -> list[RelationInfo]:
    """Directus's system relations that no row or foreign key names here (``system_meta.RELATIONS``), for
    each one whose two collections and field exist: ``directus_users.avatar`` once ``directus_files`` does."""
    return [
        RelationInfo(collection=many, field=field, related_collection=one)
        for many, field, one in system_meta.RELATIONS
        if (many, field) not in known
        and one in collections
        and many in collections
        and field in collections[many].fields
    ]


def _on_delete(fk: Row | None) -> str | None:
    if fk is None:
        return None
    return str((fk.get("options") or {}).get("ondelete") or "NO ACTION").upper()


def _relation_from_row(row: Row, fk: Row | None) -> RelationInfo:
    return RelationInfo(
        collection=row["many_collection"],
        field=row["many_field"],
        related_collection=row.get("one_collection") or (fk["referred_table"] if fk else None),
        one_field=row.get("one_field"),
        junction_field=row.get("junction_field"),
        sort_field=row.get("sort_field"),
        one_deselect_action=row.get("one_deselect_action") or "nullify",
        on_delete=_on_delete(fk),
        meta=row,
        constraint_name=fk.get("name") if fk else None,
    )


def _add_alias_fields(
    collections: dict[str, CollectionInfo],
    fields_meta: Mapping[tuple[str, str], Row],
    relations: list[RelationInfo],
) -> dict[str, CollectionInfo]:
    """Add alias fields (o2m lists, declared alias fields, Directus's presentation fields of its system
    collections) that have no column."""
    aliases: dict[str, dict[str, FieldInfo]] = {}
    for (collection, name), meta in fields_meta.items():
        if collection in collections and name not in collections[collection].fields and _is_alias_row(meta):
            special = tuple(meta.get("special") or ())
            aliases.setdefault(collection, {})[name] = FieldInfo(name=name, type="alias", special=special, meta=meta)
    for collection in collections:  # the dividers and groups of Directus's system forms, listed as on Directus
        for name, special in system_meta.presentation_fields(collection):
            if name not in collections[collection].fields:
                aliases.setdefault(collection, {})[name] = FieldInfo(name=name, type="alias", special=special)
    for relation in relations:
        one = relation.related_collection
        if one in collections and relation.one_field and relation.one_field not in collections[one].fields:
            aliases.setdefault(one, {}).setdefault(
                relation.one_field, FieldInfo(name=relation.one_field, type="alias", special=("o2m",))
            )
    for collection, extra in aliases.items():
        info = collections[collection]
        collections[collection] = replace(info, fields={**info.fields, **extra})
    return collections


def _is_alias_row(meta: Row) -> bool:
    return meta.get("type") == "alias" or bool(set(meta.get("special") or ()) & ALIAS_SPECIALS)


# --- metadata rows in the REST shape ---------------------------------------------------------------------


def _json(value: Any) -> Any:
    """JSON columns come back parsed on most drivers, as text on some (MariaDB's JSON is LONGTEXT)."""
    if isinstance(value, str | bytes):
        try:
            return orjson.loads(value)
        except orjson.JSONDecodeError:
            return value
    return value


def split_csv(value: Any) -> list[str] | None:
    if value is None or value == "":
        return None
    if isinstance(value, list | tuple):
        return [str(v) for v in value]
    return [part for part in str(value).split(",") if part]


_FIELD_JSON = ("options", "display_options", "validation")
_FIELD_BOOL = ("readonly", "hidden", "required")


def field_meta(row: Row) -> dict[str, Any]:
    """A ``directus_fields`` row as Directus returns ``meta``: special as a list, extra keys folded in.

    ``type`` stays in the mapping for Tidepool's own use; the REST layer drops it.
    """
    out: dict[str, Any] = {k: v for k, v in row.items() if k != "meta"}
    for key in _FIELD_JSON:
        out[key] = _json(out.get(key))
    for key in _FIELD_BOOL:
        out[key] = bool(out.get(key))
    out["special"] = split_csv(row.get("special"))
    extra = _json(row.get("meta"))
    if isinstance(extra, dict):
        out = {**extra, **out}
    return out


_COLLECTION_BOOL = ("hidden", "singleton")


def collection_meta(row: Row) -> dict[str, Any]:
    """A ``directus_collections`` row as Directus returns ``meta`` (extra keys folded in)."""
    out: dict[str, Any] = {k: v for k, v in row.items() if k != "meta"}
    for key in _COLLECTION_BOOL:
        out[key] = bool(out.get(key))
    extra = _json(row.get("meta"))
    if isinstance(extra, dict):
        out = {**extra, **out}
    return out


def relation_meta(row: Row) -> dict[str, Any]:
    key = (str(row.get("many_collection")), str(row.get("many_field")))
    out = {**row, **system_meta.ACCOUNT_RELATIONS.get(key, {})}
    out["one_allowed_collections"] = split_csv(row.get("one_allowed_collections"))
    return out
