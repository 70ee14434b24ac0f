"""Schema changes (CREATE/ALTER/DROP) on SQLite, PostgreSQL and MySQL, built from SQLAlchemy constructs.

Every statement is either a SQLAlchemy DDL element (``CreateTable``, ``CreateIndex``, ``AddConstraint`` ...)
or a short ALTER whose identifiers went through the dialect's ``identifier_preparer`` and whose default
values were rendered by SQLAlchemy's literal compiler: a name or value from a client is never formatted into
SQL as is, and names are checked against ``NAME_PATTERN`` before they get here.

What each engine can do differs, and this module hides it:

- PostgreSQL: transactional DDL; ALTER COLUMN for type/nullability/default; real foreign keys.
- MySQL/MariaDB: every DDL statement commits on its own, so callers order the steps (DDL before the metadata
  rows on create, after them on delete) and a failure never leaves metadata for a missing column.
  ``MODIFY COLUMN`` restates the whole column.
- SQLite: transactional DDL once ``begin`` has issued an explicit BEGIN. It cannot alter a column or add
  a foreign key, so those rebuild the table (create a copy, move the rows, drop, rename) in the same
  transaction with foreign-key enforcement paused, and ``PRAGMA foreign_key_check`` before the commit.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from tidepool.db.types import ddl_type_for, server_default_for
from tidepool.errors import InvalidPayloadError

NAME_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
ON_DELETE = frozenset({"CASCADE", "SET NULL", "NO ACTION", "RESTRICT", "SET DEFAULT"})
_MAX_IDENTIFIER = 60  # below PostgreSQL's 63 and MySQL's 64


def check_name(name: Any, what: str = "Collection") -> str:
    """A collection or field name safe to use as an identifier; ``INVALID_PAYLOAD`` otherwise."""
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
        raise InvalidPayloadError(f'{what} name "{name}" is invalid. Use letters, digits and "_" (at most 64)')
    return name


def index_name(kind: str, table: str, column: str) -> str:
    """Directus's ``<table>_<column>_<kind>`` name, shortened with a hash when too long for the engine."""
    name = f"{table}_{column}_{kind}"
    if len(name) <= _MAX_IDENTIFIER:
        return name
    digest = hashlib.sha1(name.encode()).hexdigest()[:8]
    return f"{name[: _MAX_IDENTIFIER - 9]}_{digest}"


@dataclass(frozen=True)
class ColumnSpec:
    """A column to create, in Directus's terms (``type`` is a Directus type)."""

    name: str
    type: str
    max_length: int | None = None
    precision: int | None = None
    scale: int | None = None
    nullable: bool = True
    default: Any = None
    primary_key: bool = False
    auto_increment: bool = False
    unique: bool = False

    def column(self) -> sa.Column[Any]:
        sql_type = ddl_type_for(
            self.type,
            max_length=self.max_length,
            precision=self.precision,
            scale=self.scale,
            auto_increment=self.auto_increment,
        )
        return sa.Column(
            self.name,
            sql_type,
            primary_key=self.primary_key,
            autoincrement=self.auto_increment if self.primary_key else False,
            nullable=self.nullable and not self.primary_key,
            server_default=None if self.auto_increment else server_default_for(self.default, self.type),
        )


@dataclass(frozen=True)
class ForeignKey:
    column: str
    ref_table: str
    ref_column: str
    on_delete: str | None = None
    name: str | None = None


@asynccontextmanager
async def begin(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """One transaction for DDL plus metadata rows (a real one on SQLite too, where DDL is transactional).

    On SQLite, foreign-key enforcement is paused for the duration (it can only change outside a
    transaction) because a table rebuild drops and renames tables that others reference; integrity is
    checked with ``PRAGMA foreign_key_check`` before the commit instead.
    """
    async with engine.connect() as conn:
        if conn.dialect.name != "sqlite":
            async with conn.begin():
                yield conn
            return
        await conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
        await conn.commit()
        try:
            await conn.exec_driver_sql("BEGIN IMMEDIATE")
            try:
                yield conn
                violation = (await conn.exec_driver_sql("PRAGMA foreign_key_check")).first()
                if violation is not None:
                    raise InvalidPayloadError(f'Existing rows in "{violation[0]}" break the foreign key')
            except BaseException:
                await conn.rollback()
                raise
            await conn.commit()
        finally:
            await conn.exec_driver_sql("PRAGMA foreign_keys=ON")
            await conn.commit()


def quote(conn: AsyncConnection | Connection, name: str) -> str:
    return conn.dialect.identifier_preparer.quote(name)


# --- tables ----------------------------------------------------------------------------------------------


async def create_table(conn: AsyncConnection, name: str, columns: list[ColumnSpec]) -> None:
    table = sa.Table(name, sa.MetaData(), *(c.column() for c in columns))
    await conn.execute(sa.schema.CreateTable(table))
    for spec in columns:
        if spec.unique and not spec.primary_key:
            await _create_unique(conn, table, spec.name)


async def drop_table(conn: AsyncConnection, name: str) -> None:
    await conn.execute(sa.schema.DropTable(sa.Table(name, sa.MetaData())))


async def _create_unique(conn: AsyncConnection, table: sa.Table, column: str) -> None:
    index = sa.Index(index_name("unique", table.name, column), table.c[column], unique=True)
    await conn.execute(sa.schema.CreateIndex(index))


# --- columns ---------------------------------------------------------------------------------------------


async def add_column(conn: AsyncConnection, table_name: str, spec: ColumnSpec) -> None:
    """``ALTER TABLE ... ADD COLUMN``; on SQLite a rebuild when ADD COLUMN cannot express the column."""
    if conn.dialect.name == "sqlite" and _sqlite_needs_rebuild(spec):
        await conn.run_sync(_rebuild, table_name, _TableEdit(add=[spec.column()]))
    else:
        column = spec.column()
        sa.Table(table_name, sa.MetaData(), column)
        definition = sa.schema.CreateColumn(column).compile(dialect=conn.dialect)
        await conn.exec_driver_sql(f"ALTER TABLE {quote(conn, table_name)} ADD {definition}")
    if spec.unique:
        await _create_unique(conn, sa.Table(table_name, sa.MetaData(), sa.Column(spec.name)), spec.name)


def _sqlite_needs_rebuild(spec: ColumnSpec) -> bool:
    """SQLite's ADD COLUMN refuses NOT NULL without a default and a non-constant default (CURRENT_TIMESTAMP)."""
    now_default = isinstance(spec.default, str) and spec.default.lower() in ("now()", "current_timestamp")
    return (not spec.nullable and spec.default is None) or now_default or spec.primary_key


async def drop_column(conn: AsyncConnection, table_name: str, column: str) -> None:
    """Drop a column with whatever index or foreign key it carries."""
    if conn.dialect.name == "sqlite":
        await conn.run_sync(_rebuild, table_name, _TableEdit(drop={column}))
        return
    await _drop_indexes_on(conn, table_name, column)
    await conn.exec_driver_sql(f"ALTER TABLE {quote(conn, table_name)} DROP COLUMN {quote(conn, column)}")


async def _drop_indexes_on(conn: AsyncConnection, table_name: str, column: str) -> None:
    def names(sync_conn: Connection) -> tuple[list[str], list[str]]:
        inspector = sa.inspect(sync_conn)
        fks = [fk["name"] for fk in inspector.get_foreign_keys(table_name) if column in fk["constrained_columns"]]
        indexes = [i["name"] for i in inspector.get_indexes(table_name) if column in i["column_names"] and i["name"]]
        return [n for n in fks if n], indexes

    fks, indexes = await conn.run_sync(names)
    for name in fks:
        await drop_foreign_key(conn, table_name, name)
    for name in indexes:
        if name not in fks:
            await conn.execute(sa.schema.DropIndex(sa.Index(name, _bind_table(table_name, column))))


def _bind_table(table_name: str, *columns: str) -> sa.Column[Any]:
    table = sa.Table(table_name, sa.MetaData(), *(sa.Column(c) for c in columns))
    return table.c[columns[0]]


@dataclass(frozen=True)
class ColumnChange:
    """What PATCH /fields may change in the database: each ``None`` means "leave as is"."""

    nullable: bool | None = None
    default: Any = None
    set_default: bool = False  # distinguishes "default: null" (drop it) from "no default given"
    max_length: int | None = None
    unique: bool | None = None


async def alter_column(
    conn: AsyncConnection, table_name: str, column: str, directus_type: str, change: ColumnChange
) -> None:
    runner = _ALTER[conn.dialect.name]
    await runner(conn, table_name, column, directus_type, change)
    if change.unique is not None:
        await _set_unique(conn, table_name, column, change.unique)


async def _set_unique(conn: AsyncConnection, table_name: str, column: str, unique: bool) -> None:
    def existing(sync_conn: Connection) -> list[str]:
        inspector = sa.inspect(sync_conn)
        names = [
            i["name"] for i in inspector.get_indexes(table_name) if i.get("unique") and i["column_names"] == [column]
        ]
        names += [u["name"] for u in inspector.get_unique_constraints(table_name) if u["column_names"] == [column]]
        return [n for n in names if n]

    names = await conn.run_sync(existing)
    table = sa.Table(table_name, sa.MetaData(), sa.Column(column))
    if unique and not names:
        await _create_unique(conn, table, column)
    elif not unique:
        for name in dict.fromkeys(names):
            await conn.execute(sa.schema.DropIndex(sa.Index(name, table.c[column])))


async def _alter_postgres(
    conn: AsyncConnection, table_name: str, column: str, directus_type: str, change: ColumnChange
) -> None:
    prefix = f"ALTER TABLE {quote(conn, table_name)} ALTER COLUMN {quote(conn, column)}"
    if change.max_length is not None:
        sql_type = ddl_type_for(directus_type, max_length=change.max_length).compile(dialect=conn.dialect)
        await conn.exec_driver_sql(f"{prefix} TYPE {sql_type}")
    if change.nullable is not None:
        await conn.exec_driver_sql(f"{prefix} {'DROP' if change.nullable else 'SET'} NOT NULL")
    if change.set_default:
        rendered = render_default(conn.dialect, server_default_for(change.default, directus_type))
        await conn.exec_driver_sql(f"{prefix} SET DEFAULT {rendered}" if rendered else f"{prefix} DROP DEFAULT")


async def _alter_mysql(
    conn: AsyncConnection, table_name: str, column: str, directus_type: str, change: ColumnChange
) -> None:
    def current(sync_conn: Connection) -> dict[str, Any]:
        return next(dict(c) for c in sa.inspect(sync_conn).get_columns(table_name) if c["name"] == column)

    reflected = await conn.run_sync(current)
    new = _changed_column(reflected, directus_type, change)
    sa.Table(table_name, sa.MetaData(), new)
    definition = sa.schema.CreateColumn(new).compile(dialect=conn.dialect)
    await conn.exec_driver_sql(f"ALTER TABLE {quote(conn, table_name)} MODIFY COLUMN {definition}")


async def _alter_sqlite(
    conn: AsyncConnection, table_name: str, column: str, directus_type: str, change: ColumnChange
) -> None:
    edit = _TableEdit(replace={column: lambda old: _changed_column(_as_reflected(old), directus_type, change)})
    await conn.run_sync(_rebuild, table_name, edit)


def _as_reflected(column: sa.Column[Any]) -> dict[str, Any]:
    default = column.server_default
    arg = getattr(default, "arg", None)
    text = arg.text if isinstance(arg, sa.TextClause) else arg
    return {"name": column.name, "type": column.type, "nullable": column.nullable, "default": text}


def _changed_column(reflected: dict[str, Any], directus_type: str, change: ColumnChange) -> sa.Column[Any]:
    sql_type = reflected["type"]
    if change.max_length is not None:
        sql_type = ddl_type_for(directus_type, max_length=change.max_length)
    nullable = reflected.get("nullable", True) if change.nullable is None else change.nullable
    if change.set_default:
        server_default = server_default_for(change.default, directus_type)
    else:
        raw = reflected.get("default")
        server_default = sa.text(raw) if raw is not None else None
    return sa.Column(reflected["name"], sql_type, nullable=nullable, server_default=server_default)


_ALTER: dict[str, Callable[..., Any]] = {
    "postgresql": _alter_postgres,
    "mysql": _alter_mysql,
    "sqlite": _alter_sqlite,
}


def render_default(dialect: sa.Dialect, server_default: Any) -> str | None:
    """A ``server_default`` value as SQL text, for ALTER ... SET DEFAULT; strings become quoted literals."""
    if server_default is None:
        return None
    if isinstance(server_default, sa.TextClause):
        return server_default.text
    if isinstance(server_default, str):
        server_default = sa.literal(server_default, sa.String())
    return str(server_default.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))


# --- foreign keys ----------------------------------------------------------------------------------------


async def add_foreign_key(conn: AsyncConnection, table_name: str, fk: ForeignKey) -> None:
    if conn.dialect.name == "sqlite":
        await conn.run_sync(_rebuild, table_name, _TableEdit(add_fk=fk))
        return
    table = _foreign_key_tables(table_name, fk)
    constraint = sa.ForeignKeyConstraint(
        [fk.column], [f"{fk.ref_table}.{fk.ref_column}"], name=fk.name, ondelete=_on_delete(fk.on_delete)
    )
    table.append_constraint(constraint)
    await conn.execute(sa.schema.AddConstraint(constraint))


def _foreign_key_tables(table_name: str, fk: ForeignKey) -> sa.Table:
    """The two stub tables a ``FOREIGN KEY`` clause names; one table when the relation points at itself
    (a MetaData holds each name once, so a self-relation must add both columns to the same stub)."""
    metadata = sa.MetaData()
    referenced = sa.Table(fk.ref_table, metadata, sa.Column(fk.ref_column))
    table = referenced if fk.ref_table == table_name else sa.Table(table_name, metadata)
    if fk.column not in table.c:
        table.append_column(sa.Column(fk.column))
    return table


async def drop_foreign_key(conn: AsyncConnection, table_name: str, name: str | None, column: str = "") -> None:
    """Drop a foreign key by constraint name (SQLite: by column, through a rebuild)."""
    if conn.dialect.name == "sqlite":
        await conn.run_sync(_rebuild, table_name, _TableEdit(drop_fk={column}))
        return
    if not name:
        return
    table = sa.Table(table_name, sa.MetaData())
    constraint = sa.ForeignKeyConstraint([], [], name=name)
    table.append_constraint(constraint)
    await conn.execute(sa.schema.DropConstraint(constraint))


def _on_delete(value: str | None) -> str | None:
    if value is None:
        return None
    upper = value.upper()
    if upper not in ON_DELETE:
        raise InvalidPayloadError(f'"on_delete" must be one of {", ".join(sorted(ON_DELETE))}')
    return upper


# --- SQLite table rebuild ----------------------------------------------------------------------------------


@dataclass
class _TableEdit:
    add: list[sa.Column[Any]] = field(default_factory=list)
    drop: set[str] = field(default_factory=set)
    replace: dict[str, Callable[[sa.Column[Any]], sa.Column[Any]]] = field(default_factory=dict)
    add_fk: ForeignKey | None = None
    drop_fk: set[str] = field(default_factory=set)


def _rebuild(conn: Connection, table_name: str, edit: _TableEdit) -> None:
    """SQLite's 12-step ALTER: new table, copy the rows, drop the old one, rename, recreate indexes."""
    metadata = sa.MetaData()
    old = sa.Table(table_name, metadata, autoload_with=conn)
    inspector = sa.inspect(conn)
    temp_name = f"tp_rebuild_{table_name}"[:63]
    columns = [
        _plain(edit.replace[c.name](c), c.primary_key) if c.name in edit.replace else _plain(c, c.primary_key)
        for c in old.columns
        if c.name not in edit.drop
    ]
    kept = [c.name for c in columns]
    columns += edit.add
    constraints: list[sa.Constraint] = []
    for fk in inspector.get_foreign_keys(table_name):
        local = fk["constrained_columns"]
        if set(local) & (edit.drop | edit.drop_fk):
            continue
        refs = [f"{fk['referred_table']}.{c}" for c in fk["referred_columns"]]
        ondelete = (fk.get("options") or {}).get("ondelete")
        constraints.append(sa.ForeignKeyConstraint(local, refs, name=fk.get("name"), ondelete=ondelete))
    indexes, uniques = _sqlite_indexes(inspector, table_name, edit.drop)
    constraints += uniques
    if edit.add_fk is not None:
        ref = edit.add_fk
        if ref.ref_table not in metadata.tables:
            sa.Table(ref.ref_table, metadata, autoload_with=conn)
        constraints.append(
            sa.ForeignKeyConstraint(
                [ref.column], [f"{ref.ref_table}.{ref.ref_column}"], name=ref.name, ondelete=_on_delete(ref.on_delete)
            )
        )
    new = sa.Table(temp_name, metadata, *columns, *constraints)
    conn.execute(sa.schema.CreateTable(new))
    conn.execute(sa.insert(new).from_select(kept, sa.select(*(old.c[name] for name in kept))))
    conn.execute(sa.schema.DropTable(old))
    for index in indexes:
        conn.execute(
            sa.schema.CreateIndex(
                sa.Index(index["name"], *(new.c[str(c)] for c in index["column_names"]), unique=index["unique"])
            )
        )
    conn.exec_driver_sql(f"ALTER TABLE {quote(conn, temp_name)} RENAME TO {quote(conn, table_name)}")


def _plain(column: sa.Column[Any], primary_key: bool) -> sa.Column[Any]:
    """A copy of a reflected column without its foreign keys (those are rebuilt as table constraints)."""
    default = column.server_default
    return sa.Column(
        column.name,
        column.type,
        primary_key=primary_key,
        nullable=column.nullable,
        autoincrement=column.autoincrement if primary_key else False,
        server_default=getattr(default, "arg", None),
    )


def _sqlite_indexes(
    inspector: sa.Inspector, table_name: str, dropped: set[str]
) -> tuple[list[Any], list[sa.Constraint]]:
    """Named indexes to recreate, and UNIQUE constraints (SQLite's auto-indexes, inline ones included)."""
    pk = inspector.get_pk_constraint(table_name)["constrained_columns"]
    indexes: list[Any] = []
    uniques: list[sa.Constraint] = []
    for index in inspector.get_indexes(table_name, include_auto_indexes=True):
        columns = [str(c) for c in index["column_names"]]
        if set(columns) & dropped:
            continue
        if not str(index["name"]).startswith("sqlite_autoindex_"):
            indexes.append(index)
        elif columns != pk:
            uniques.append(sa.UniqueConstraint(*columns))
    return indexes, uniques
