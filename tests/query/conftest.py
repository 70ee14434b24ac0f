"""A scratch database with real tables for the filter tests, on the engine chosen by TIDEPOOL_TEST_DB.

``items`` has one column of every Directus type; ``authors`` is its m2o target; ``comments`` is its o2m
(``items.comments``); ``items.parent`` is a self-relation (``items.children``). The tables are created with
SQLAlchemy DDL, the Directus metadata rows are plain inserts, and the schema is loaded with
``load_schema`` exactly as the server does. Tests run statements on a private event loop.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Coroutine, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.support.live import base_env, scratch_database
from tidepool.config import load_settings
from tidepool.context import Access
from tidepool.db import system
from tidepool.db.bootstrap import bootstrap
from tidepool.db.engine import create_engine
from tidepool.db.introspect import load_schema
from tidepool.db.schema import SchemaOverview
from tidepool.query.filters import compile_filter, read_rule_filter
from tidepool.query.model import Filter

T = TypeVar("T")

UUIDS = ("0b7e6a57-0000-4000-8000-000000000001", "0b7e6a57-0000-4000-8000-000000000002")

ITEM_TYPES = {
    "id": "integer",
    "s": "string",
    "t": "text",
    "n": "integer",
    "big": "bigInteger",
    "f": "float",
    "d": "decimal",
    "flag": "boolean",
    "day": "date",
    "at": "time",
    "dt": "dateTime",
    "ts": "timestamp",
    "u": "uuid",
    "tags": "csv",
    "data": "json",
    "secret": "hash",
    "author": "integer",
    "parent": "integer",
}

metadata = sa.MetaData()
authors = sa.Table(
    "authors",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("name", sa.String(255)),
    sa.Column("active", sa.Boolean),
)
items = sa.Table(
    "items",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("s", sa.String(255)),
    sa.Column("t", sa.Text),
    sa.Column("n", sa.Integer),
    sa.Column("big", sa.BigInteger),
    sa.Column("f", sa.Float),
    sa.Column("d", sa.Numeric(10, 5)),
    sa.Column("flag", sa.Boolean),
    sa.Column("day", sa.Date),
    sa.Column("at", sa.Time),
    sa.Column("dt", sa.DateTime),
    sa.Column("ts", sa.DateTime(timezone=True)),
    sa.Column("u", sa.String(36)),
    sa.Column("tags", sa.Text),
    sa.Column("data", sa.JSON(none_as_null=True)),
    sa.Column("secret", sa.String(255)),
    sa.Column("author", sa.Integer, sa.ForeignKey("authors.id")),
    sa.Column("parent", sa.Integer),
)
comments = sa.Table(
    "comments",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("item", sa.Integer, sa.ForeignKey("items.id")),
    sa.Column("body", sa.String(255)),
    sa.Column("visible", sa.Boolean),
)

_FIELD_ROWS: list[dict[str, str | None]] = [
    *(
        {"collection": "items", "field": name, "type": kind, "special": "hash,conceal" if kind == "hash" else None}
        for name, kind in ITEM_TYPES.items()
    ),
    {"collection": "items", "field": "comments", "type": "alias", "special": "o2m"},
    {"collection": "items", "field": "children", "type": "alias", "special": "o2m"},
]
_RELATION_ROWS: list[dict[str, str | None]] = [
    {"many_collection": "items", "many_field": "author", "one_collection": "authors", "one_field": None},
    {"many_collection": "items", "many_field": "parent", "one_collection": "items", "one_field": "children"},
    {"many_collection": "comments", "many_field": "item", "one_collection": "items", "one_field": "comments"},
]


@dataclass
class QueryDb:
    """The scratch database, its schema and a private loop to run statements on."""

    engine: AsyncEngine
    schema: SchemaOverview
    loop: asyncio.AbstractEventLoop

    def __repr__(self) -> str:
        return f"QueryDb({self.dialect})"

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(coro)

    def condition(self, filter: Filter, collection: str = "items", access: Access | None = None) -> Any:
        return compile_filter(
            filter, collection, schema=self.schema, access=access or Access.full(), dialect=self.dialect
        )

    def ids(self, filter: Filter, collection: str = "items", access: Access | None = None) -> list[int]:
        """Primary keys of the rows matching ``filter`` (plus the collection's read rule for ``access``)."""
        access = access or Access.full()
        info = self.schema.collections[collection]
        where = self.condition(filter, collection, access)
        rule = read_rule_filter(collection, access)
        if rule is not None:
            where = sa.and_(where, self.condition(rule, collection, Access.full()))
        statement = sa.select(info.table.c.id).where(where).order_by(info.table.c.id)

        async def go() -> list[int]:
            async with self.engine.connect() as conn:
                return [row[0] for row in await conn.execute(statement)]

        return self.run(go())

    def replace_rows(self, rows: Mapping[sa.Table, Sequence[Mapping[str, Any]]]) -> None:
        self.run(replace_rows(self.engine, rows))


async def replace_rows(engine: AsyncEngine, rows: Mapping[sa.Table, Sequence[Mapping[str, Any]]]) -> None:
    async with engine.begin() as conn:
        for table in (comments, items, authors):
            await conn.execute(table.delete())
        for table in (authors, items, comments):
            if rows.get(table):
                await conn.execute(table.insert(), [stored(engine, r) for r in rows[table]])


def stored(engine: AsyncEngine, row: Mapping[str, Any]) -> dict[str, Any]:
    """Aware timestamps are stored as naive UTC where the engine has no zone-aware type."""
    if engine.dialect.name == "postgresql":
        return dict(row)
    return {
        k: v.astimezone(UTC).replace(tzinfo=None) if isinstance(v, datetime) and v.tzinfo else v for k, v in row.items()
    }


async def _setup(env: dict[str, str]) -> tuple[AsyncEngine, SchemaOverview]:
    settings = load_settings({**base_env(), **env}, env_file=None)
    engine = create_engine(settings)
    await bootstrap(engine, settings)
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
        await conn.execute(system.fields.insert(), _FIELD_ROWS)
        await conn.execute(system.relations.insert(), _RELATION_ROWS)
    return engine, await load_schema(engine)


@pytest.fixture(scope="module")
def query_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[QueryDb]:
    loop = asyncio.new_event_loop()
    with scratch_database(Path(tmp_path_factory.mktemp("filters"))) as env:
        engine, schema = loop.run_until_complete(_setup(env))
        try:
            yield QueryDb(engine, schema, loop)
        finally:
            loop.run_until_complete(engine.dispose())
            loop.close()


# ------------------------------------------------------------------ JSON-ready rows, as the API returns them

_API: dict[str, Any] = {
    "timestamp": lambda v: (
        v.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{v.microsecond // 1000:03d}Z"
        if v.tzinfo
        else v.strftime("%Y-%m-%dT%H:%M:%S.") + f"{v.microsecond // 1000:03d}Z"
    ),
    "dateTime": lambda v: v.strftime("%Y-%m-%dT%H:%M:%S"),
    "date": lambda v: v.isoformat() if isinstance(v, date) else str(v),
    "time": lambda v: v.strftime("%H:%M:%S") if isinstance(v, time) else str(v),
    "decimal": lambda v: str(v),
    "bigInteger": lambda v: str(v),
    "csv": lambda v: [p for p in v.split(",")] if v else [],
}


def api_value(kind: str, value: Any) -> Any:
    if value is None:
        return None
    convert = _API.get(kind)
    return convert(value) if convert else value


def api_rows(db: QueryDb, table: sa.Table, types: Mapping[str, str]) -> list[dict[str, Any]]:
    """Every row of ``table`` read back from the database and serialized like the API."""

    async def go() -> list[dict[str, Any]]:
        async with db.engine.connect() as conn:
            result = await conn.execute(sa.select(table).order_by(table.c.id))
            return [dict(r._mapping) for r in result]

    return [{k: api_value(types.get(k, ""), v) for k, v in row.items()} for row in db.run(go())]


def sample_rows() -> dict[sa.Table, list[dict[str, Any]]]:
    """A small fixed data set with NULLs, unicode, case and wildcard characters."""
    return {
        authors: [
            {"id": 1, "name": "Ada", "active": True},
            {"id": 2, "name": "Bob", "active": False},
            {"id": 3, "name": "Hidden", "active": False},
        ],
        items: [
            _item(1, "Hello World", 5, author=1, tags="a,b", day=date(2024, 1, 31)),
            _item(2, "hello world", -3, author=2, tags="ab", day=date(2023, 6, 1), parent=1),
            _item(3, "100% _sure_ [x]*?", 0, author=None, tags="b", day=None, parent=1),
            _item(4, "Ärger über Öl 😀", 7, author=1, tags="", day=date(2024, 12, 30)),
            _item(5, None, None, author=3, tags=None, day=None),
            _item(6, "", 2, author=None, tags="a b,c", day=date(2021, 1, 3)),
            _item(7, "trailing ", 3, author=2, tags="c,a", day=date(2024, 2, 29)),
        ],
        comments: [
            {"id": 1, "item": 1, "body": "first", "visible": True},
            {"id": 2, "item": 1, "body": "secret", "visible": False},
            {"id": 3, "item": 2, "body": "nice", "visible": True},
            {"id": 4, "item": 4, "body": "secret", "visible": False},
        ],
    }


def _item(
    id_: int,
    s: str | None,
    n: int | None,
    *,
    author: int | None,
    tags: str | None,
    day: date | None,
    parent: int | None = None,
) -> dict[str, Any]:
    return {
        "id": id_,
        "s": s,
        "t": None if s is None else s.upper(),
        "n": n,
        "big": None if n is None else n * 10_000_000_000,
        "f": None if n is None else n / 4,
        "d": None if n is None else Decimal(n) / 8,
        "flag": None if n is None else n % 2 == 1,
        "day": day,
        "at": None if n is None else time(abs(n) % 24, 30, 15),
        "dt": None if day is None else datetime(day.year, day.month, day.day, 23, 30, 0),
        "ts": None if day is None else datetime(day.year, day.month, day.day, 23, 30, 0, tzinfo=UTC),
        "u": UUIDS[id_ % 2] if n is not None else None,
        "tags": tags,
        "data": {"k": id_} if n is not None else None,
        "secret": "$argon2-hash" if id_ % 2 else None,
        "author": author,
        "parent": parent,
    }


def new_uuid() -> str:
    return str(uuid.uuid4())
