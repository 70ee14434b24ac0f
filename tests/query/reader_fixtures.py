"""Real tables for the read-path tests: a small blog (authors, posts, comments) on the live server's database.

Tables are created with SQLAlchemy DDL on the running server's engine, described to Directus with
``directus_fields``/``directus_relations`` rows (types the database cannot say, o2m aliases), and the
server's schema is reloaded, exactly as the schema service does after its own DDL. Tests then call the
reader on the server's own event loop with ``Access`` values built directly.
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Coroutine, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects import mysql

from tests.support.live import LiveServer, live_server, scratch_database
from tidepool.context import Access, Accountability, Action, Permission
from tidepool.db import system
from tidepool.query.model import Query
from tidepool.services import reader
from tidepool.services.base import ServiceContext

T = TypeVar("T")

metadata = sa.MetaData()

authors = sa.Table(
    "authors",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(100)),
    sa.Column("email", sa.String(100)),
    sa.Column("password", sa.String(255)),
    sa.Column("born", sa.Date),
    sa.Column("wakes", sa.Time),
    sa.Column("joined", sa.DateTime(timezone=True).with_variant(mysql.DATETIME(fsp=3), "mysql")),
    sa.Column("local_time", sa.DateTime(timezone=False)),
    sa.Column("score", sa.Integer),
    sa.Column("big", sa.BigInteger),
    sa.Column("rating", sa.Numeric(10, 2)),
    sa.Column("ratio", sa.Float),
    sa.Column("active", sa.Boolean),
    sa.Column("tags", sa.Text),
    sa.Column("profile", sa.JSON),
    sa.Column("uid", sa.String(36)),
)

posts = sa.Table(
    "posts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("title", sa.String(200)),
    sa.Column("status", sa.String(20)),
    sa.Column("views", sa.Integer),
    sa.Column("price", sa.Numeric(10, 2)),
    sa.Column("author", sa.Integer, sa.ForeignKey("authors.id")),
    sa.Column("editor", sa.Integer, sa.ForeignKey("authors.id")),
)

comments = sa.Table(
    "comments",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("post", sa.Integer, sa.ForeignKey("posts.id")),
    sa.Column("author", sa.Integer, sa.ForeignKey("authors.id")),
    sa.Column("body", sa.String(200)),
    sa.Column("votes", sa.Integer),
)

FIELD_META = [
    ("authors", "password", "hash", "hash,conceal"),
    ("authors", "joined", "timestamp", None),
    ("authors", "local_time", "dateTime", None),
    ("authors", "tags", "csv", "cast-csv"),
    ("authors", "profile", "json", "cast-json"),
    ("authors", "uid", "uuid", None),
    ("authors", "big", "bigInteger", None),
    ("authors", "rating", "decimal", None),
    ("authors", "posts", "alias", "o2m"),
    ("posts", "comments", "alias", "o2m"),
]
RELATIONS: list[dict[str, str | None]] = [
    {"many_collection": "posts", "many_field": "author", "one_collection": "authors", "one_field": "posts"},
    {"many_collection": "posts", "many_field": "editor", "one_collection": "authors", "one_field": None},
    {"many_collection": "comments", "many_field": "post", "one_collection": "posts", "one_field": "comments"},
    {"many_collection": "comments", "many_field": "author", "one_collection": "authors", "one_field": None},
]

UID_ADA = "6f1d2a55-0c1e-4b5e-9d61-1d1f0e7a9c01"


def _joined(dialect: str) -> dt.datetime:
    moment = dt.datetime(2025, 1, 2, 10, 30, 15, 250000)
    return moment.replace(tzinfo=dt.UTC) if dialect == "postgresql" else moment


def author_rows(dialect: str) -> list[dict[str, Any]]:
    return [
        {
            "id": 1,
            "name": "Ada",
            "email": "ada@example.com",
            "password": "$argon2id$secret",
            "born": dt.date(1815, 12, 10),
            "wakes": dt.time(6, 30, 0),
            "joined": _joined(dialect),
            "local_time": dt.datetime(2025, 1, 2, 11, 0, 0),
            "score": 42,
            "big": 9007199254740993,
            "rating": decimal.Decimal("4.50"),
            "ratio": 0.25,
            "active": True,
            "tags": "math,engines",
            "profile": {"lang": "en", "n": [1, 2]},
            "uid": UID_ADA,
        },
        {"id": 2, "name": "Bob", "email": "bob@example.com", "score": 7, "active": False, "tags": ""},
        {"id": 3, "name": "Cy_100%", "email": None, "score": None, "active": None},
    ]


POSTS = [
    {"id": 1, "title": "Hello world", "status": "published", "views": 10, "price": "1.50", "author": 1, "editor": 2},
    {"id": 2, "title": "Second post", "status": "draft", "views": 5, "price": "2.00", "author": 1, "editor": None},
    {"id": 3, "title": "Bob writes", "status": "published", "views": 30, "price": "3.25", "author": 2, "editor": 1},
    {"id": 4, "title": "Orphan", "status": "archived", "views": None, "price": None, "author": None, "editor": None},
    {"id": 5, "title": "Ada again", "status": "draft", "views": 1, "price": "0.75", "author": 1, "editor": 3},
]

COMMENTS: list[dict[str, Any]] = [
    {"id": 1, "post": 1, "author": 2, "body": "first!", "votes": 3},
    {"id": 2, "post": 1, "author": 3, "body": "nice", "votes": 1},
    {"id": 3, "post": 1, "author": 1, "body": "thanks", "votes": 5},
    {"id": 4, "post": 2, "author": 2, "body": "draft?", "votes": 0},
    {"id": 5, "post": 3, "author": 1, "body": "go bob", "votes": 2},
    {"id": 6, "post": 3, "author": 3, "body": "meh", "votes": None},
]


def _complete(table: sa.Table, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every row with every column (executemany needs the same keys in each)."""
    return [{c.name: row.get(c.name) for c in table.columns} for row in rows]


async def build_blog(server: LiveServer) -> None:
    runtime = server.runtime
    dialect = runtime.engine.dialect.name
    async with runtime.engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
        await conn.execute(authors.insert(), _complete(authors, author_rows(dialect)))
        await conn.execute(posts.insert(), POSTS)
        await conn.execute(comments.insert(), COMMENTS)
        for collection, name, type_, special in FIELD_META:
            await conn.execute(
                system.fields.insert().values(collection=collection, field=name, type=type_, special=special)
            )
        for relation in RELATIONS:
            await conn.execute(system.relations.insert().values(**relation))
        if dialect == "postgresql":  # explicit ids above: move the sequences past them
            for table in ("authors", "posts", "comments"):
                await conn.execute(
                    sa.text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
                )
    await runtime.schemas.reload()


@contextmanager
def blog_server(tmp_path: Path) -> Iterator[LiveServer]:
    with scratch_database(tmp_path) as db_env, live_server(db_env) as server:
        server.run(build_blog(server))
        yield server


# -- access values ------------------------------------------------------------------------------------------


def access(*permissions: Permission) -> Access:
    grouped: dict[tuple[str, Action], list[Permission]] = {}
    for permission in permissions:
        grouped.setdefault((permission.collection, permission.action), []).append(permission)
    return Access(Accountability(user="u-1", role="r-1"), admin=False, permissions=grouped)


def can_read(collection: str, fields: Sequence[str] | None = None, rule: Mapping[str, Any] | None = None) -> Permission:
    return Permission(collection, Action.READ, frozenset(fields) if fields is not None else None, rule)


ADMIN = Access.full()


# -- running reads ------------------------------------------------------------------------------------------


@dataclass
class Reader:
    """The reader, called on the live server's loop, as a given caller."""

    server: LiveServer

    def ctx(self, who: Access = ADMIN) -> ServiceContext:
        return self.server.runtime.context(who)

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return self.server.run(coro)

    def query(self, collection: str, who: Access = ADMIN, **query: Any) -> list[dict[str, Any]]:
        return self.run(reader.read_by_query(self.ctx(who), collection, Query(**query)))

    def one(self, collection: str, key: Any, who: Access = ADMIN, **query: Any) -> dict[str, Any]:
        return self.run(reader.read_one(self.ctx(who), collection, key, Query(**query)))

    def many(self, collection: str, keys: Sequence[Any], who: Access = ADMIN, **query: Any) -> list[dict[str, Any]]:
        return self.run(reader.read_many(self.ctx(who), collection, keys, Query(**query)))

    def meta(self, collection: str, wanted: Sequence[str], who: Access = ADMIN, **query: Any) -> dict[str, int]:
        return self.run(reader.read_meta(self.ctx(who), collection, Query(**query), wanted))

    @contextmanager
    def statements(self) -> Iterator[list[str]]:
        """Every SQL statement the server's engine runs inside the block, except the background reads on their
        own timers that may land in any block: the version watcher's (``tidepool_versions``) and the event log
        follower's (``tidepool_event``...)."""
        seen: list[str] = []
        engine = self.server.runtime.engine.sync_engine

        def record(conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool) -> None:
            if "tidepool_versions" not in statement and "tidepool_event" not in statement:
                seen.append(statement)

        sa.event.listen(engine, "before_cursor_execute", record)
        try:
            yield seen
        finally:
            sa.event.remove(engine, "before_cursor_execute", record)


def filters_available() -> bool:
    try:
        import tidepool.query.filters  # noqa: F401
    except ImportError:
        return False
    return True
