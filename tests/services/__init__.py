"""The schema the items tests write to, created with plain DDL in the live server's own database.

The tables are made with SQLAlchemy on the server's engine (as a user's own tool would), Directus field
metadata (types, specials) is added as ``directus_fields`` rows, and the server reloads its schema: the
items API must then serve them like any other collection.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.support.live import LiveServer, live_server, scratch_database
from tidepool.db import system
from tidepool.events import ChangeEvent

metadata = sa.MetaData()

authors = sa.Table(
    "authors",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(50)),
)

articles = sa.Table(
    "articles",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("title", sa.String(20), nullable=False),
    sa.Column("body", sa.Text),
    sa.Column("views", sa.Integer),
    sa.Column("big", sa.BigInteger),
    sa.Column("rating", sa.Float),
    sa.Column("price", sa.Numeric(10, 2)),
    sa.Column("published", sa.Boolean),
    sa.Column("tags", sa.Text),
    sa.Column("meta", sa.JSON),
    sa.Column("day", sa.Date),
    sa.Column("at_time", sa.Time),
    sa.Column("local", sa.DateTime),
    sa.Column("stamp", sa.DateTime(timezone=True)),
    sa.Column("ref", sa.String(36)),
    sa.Column("slug", sa.String(50), unique=True),
    sa.Column("author", sa.Integer, sa.ForeignKey("authors.id")),
    sa.Column("secret", sa.String(255)),
    sa.Column("date_created", sa.DateTime(timezone=True)),
    sa.Column("date_updated", sa.DateTime(timezone=True)),
    sa.Column("user_created", sa.String(36)),
    sa.Column("user_updated", sa.String(36)),
)

codes = sa.Table(
    "codes",
    metadata,
    sa.Column("code", sa.String(10), primary_key=True),
    sa.Column("label", sa.String(50)),
)

tokens = sa.Table(
    "tokens",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("name", sa.String(50)),
)

site = sa.Table(
    "site",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("title", sa.String(50)),
)

owned = sa.Table(
    "owned",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("owner", sa.String(36), nullable=False),
)

# (collection, field, type, special CSV)
FIELDS: tuple[tuple[str, str, str, str | None], ...] = (
    ("articles", "tags", "csv", "cast-csv"),
    ("articles", "meta", "json", "cast-json"),
    ("articles", "day", "date", None),
    ("articles", "at_time", "time", None),
    ("articles", "local", "dateTime", None),
    ("articles", "stamp", "timestamp", None),
    ("articles", "ref", "uuid", None),
    ("articles", "secret", "hash", "hash,conceal"),
    ("articles", "date_created", "timestamp", "date-created"),
    ("articles", "date_updated", "timestamp", "date-updated"),
    ("articles", "user_created", "uuid", "user-created"),
    ("articles", "user_updated", "uuid", "user-updated"),
    ("articles", "published", "boolean", "cast-boolean"),
    ("tokens", "id", "uuid", "uuid"),
    ("owned", "owner", "uuid", "user-created"),
)


# A field-level validation (``directus_fields.validation``): applies to every caller, admins included.
LABEL_RULE = {"_and": [{"label": {"_regex": "^[a-z]+$"}}]}


async def _create(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
        await conn.execute(
            sa.insert(system.fields),
            [{"collection": c, "field": f, "type": t, "special": s} for c, f, t, s in FIELDS],
        )
        await conn.execute(
            sa.insert(system.fields).values(collection="codes", field="label", type="string", validation=LABEL_RULE)
        )
        await conn.execute(sa.insert(system.collections).values(collection="site", singleton=True))


def items_tables(server: LiveServer) -> None:
    """Creates the items test tables in the server's database, then reloads its schema (a seed for
    ``tests.support.servers.module_server``)."""
    server.run(_create(server.runtime.engine))
    server.run(server.runtime.schemas.reload())


@contextmanager
def items_server(tmp_path: Path, env: dict[str, str] | None = None) -> Iterator[LiveServer]:
    """A live server whose database holds the items test tables."""
    with scratch_database(tmp_path) as db_env, live_server({**db_env, **(env or {})}) as server:
        items_tables(server)
        yield server


async def _sql(engine: AsyncEngine, statement: Any) -> list[dict[str, Any]]:
    async with engine.connect() as conn:
        return [dict(row._mapping) for row in await conn.execute(statement)]


def rows(server: LiveServer, table: sa.Table, *where: Any) -> list[dict[str, Any]]:
    """The table's rows read with plain SQL, bypassing the API: what was really written."""
    pk = next(iter(table.primary_key.columns))
    return server.run(_sql(server.runtime.engine, sa.select(table).where(*where).order_by(pk)))


async def _clear(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        for table in reversed(metadata.sorted_tables):
            await conn.execute(sa.delete(table))


def clear(server: LiveServer) -> None:
    server.run(_clear(server.runtime.engine))


class Recorder:
    """A real ``EventSink``: keeps every emitted batch, in order."""

    def __init__(self) -> None:
        self.batches: list[list[ChangeEvent]] = []

    async def emit(self, events: list[ChangeEvent]) -> None:
        self.batches.append(list(events))

    @property
    def events(self) -> list[ChangeEvent]:
        """The emitted events but the history rows' own (``directus_activity``/``directus_revisions`` creates,
        which every tracked write adds: ``tidepool/services/history.py``)."""
        history = ("directus_activity", "directus_revisions")
        return [event for batch in self.batches for event in batch if event.collection not in history]

    def clear(self) -> None:
        self.batches.clear()
