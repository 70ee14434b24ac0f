"""Tables Tidepool did not create: made by hand with raw SQL, served after a schema reload."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from tests.support.live import LiveServer
from tests.support.servers import module_server
from tidepool.db.types import directus_type_of, parse_default

# Hand-written DDL per engine, the way a user or another tool would create the tables.
HAND_MADE: dict[str, list[str]] = {
    "sqlite": [
        "CREATE TABLE hand_authors (id INTEGER PRIMARY KEY, name TEXT)",
        "CREATE TABLE hand_made (id INTEGER PRIMARY KEY, title VARCHAR(80) NOT NULL DEFAULT 'untitled', "
        "flag BOOLEAN DEFAULT 1, happened DATETIME, amount NUMERIC(8, 2), ratio REAL, "
        "code VARCHAR(10) UNIQUE, author_id INTEGER REFERENCES hand_authors(id) ON DELETE CASCADE)",
        "CREATE TABLE no_key (a INTEGER, b TEXT)",
    ],
    "postgresql": [
        "CREATE TABLE hand_authors (id SERIAL PRIMARY KEY, name TEXT)",
        "CREATE TABLE hand_made (id SERIAL PRIMARY KEY, title VARCHAR(80) NOT NULL DEFAULT 'untitled', "
        "flag BOOLEAN DEFAULT true, happened TIMESTAMPTZ, amount NUMERIC(8, 2), ratio DOUBLE PRECISION, "
        "code VARCHAR(10) UNIQUE, author_id INTEGER REFERENCES hand_authors(id) ON DELETE CASCADE, "
        "doc JSONB, ref UUID)",
        "CREATE TABLE no_key (a INTEGER, b TEXT)",
    ],
    "mysql": [
        "CREATE TABLE hand_authors (id INT AUTO_INCREMENT PRIMARY KEY, name TEXT)",
        "CREATE TABLE hand_made (id INT AUTO_INCREMENT PRIMARY KEY, title VARCHAR(80) NOT NULL DEFAULT 'untitled', "
        "flag TINYINT(1) DEFAULT 1, happened TIMESTAMP NULL, amount DECIMAL(8, 2), ratio DOUBLE, "
        "code VARCHAR(10) UNIQUE, author_id INT, "
        "FOREIGN KEY (author_id) REFERENCES hand_authors(id) ON DELETE CASCADE)",
        "CREATE TABLE no_key (a INTEGER, b TEXT)",
    ],
}


def _hand_made(server: LiveServer) -> None:
    server.run(_create_by_hand(server))


srv = module_server("db", seed=_hand_made)


async def _create_by_hand(server: LiveServer) -> None:
    engine = server.runtime.engine
    async with engine.begin() as conn:
        for statement in HAND_MADE[engine.dialect.name]:
            await conn.execute(sa.text(statement))


@pytest.fixture(scope="module")
def api(srv: LiveServer) -> Iterator[httpx.Client]:
    with srv.client() as client:
        yield client


def test_hand_made_table_is_invisible_until_reload(srv: LiveServer, api: httpx.Client) -> None:
    names = [c["collection"] for c in api.get("/collections").json()["data"]]
    assert "hand_made" not in names
    srv.run(srv.runtime.schemas.reload())
    listed = {c["collection"]: c for c in api.get("/collections").json()["data"]}
    assert listed["hand_made"]["meta"] is None
    assert listed["hand_made"]["schema"]["name"] == "hand_made"
    assert "no_key" not in listed  # Directus serves only tables with a single-column primary key


def fields(api: httpx.Client) -> dict[str, dict[str, Any]]:
    return {f["field"]: f for f in api.get("/fields/hand_made").json()["data"]}


def test_reflected_types_keys_and_defaults(srv: LiveServer, api: httpx.Client) -> None:
    srv.run(srv.runtime.schemas.reload())
    found = fields(api)
    assert found["id"]["schema"]["is_primary_key"] and found["id"]["schema"]["has_auto_increment"]
    title = found["title"]
    assert (title["type"], title["schema"]["max_length"], title["schema"]["is_nullable"]) == ("string", 80, False)
    assert title["schema"]["default_value"] == "untitled"
    assert found["flag"]["type"] == "boolean" and found["flag"]["schema"]["default_value"] is True
    assert found["amount"]["type"] == "decimal"
    assert (found["amount"]["schema"]["numeric_precision"], found["amount"]["schema"]["numeric_scale"]) == (8, 2)
    assert found["ratio"]["type"] == "float"
    assert found["code"]["schema"]["is_unique"] is True
    assert found["author_id"]["schema"]["foreign_key_table"] == "hand_authors"
    assert found["title"]["meta"] is None  # no directus_fields row: the database is the only source
    expected_time = {"sqlite": "dateTime", "postgresql": "timestamp", "mysql": "timestamp"}
    assert found["happened"]["type"] == expected_time[srv.runtime.engine.dialect.name]
    if srv.runtime.engine.dialect.name == "postgresql":
        assert (found["doc"]["type"], found["ref"]["type"]) == ("json", "uuid")


def test_foreign_key_becomes_an_m2o_relation(srv: LiveServer, api: httpx.Client) -> None:
    srv.run(srv.runtime.schemas.reload())
    relation = api.get("/relations/hand_made/author_id").json()["data"]
    assert relation["related_collection"] == "hand_authors"
    assert relation["meta"] is None and relation["schema"]["on_delete"] == "CASCADE"


def test_hand_made_table_can_be_extended_and_read(srv: LiveServer, api: httpx.Client) -> None:
    srv.run(srv.runtime.schemas.reload())
    response = api.post("/fields/hand_made", json={"field": "extra", "type": "text"})
    assert response.status_code == 200, response.text
    table = srv.runtime.schemas.current.collections["hand_made"].table

    async def round_trip() -> Any:
        async with srv.runtime.engine.begin() as conn:
            await conn.execute(table.insert().values(title="t", extra="more", flag=False))
            return (await conn.execute(sa.select(table.c.flag, table.c.extra).where(table.c.title == "t"))).one()

    assert tuple(srv.run(round_trip())) == (False, "more")


def test_a_field_row_declares_the_type(srv: LiveServer, api: httpx.Client) -> None:
    """A directus_fields row overrides what the column type alone suggests (text stored as csv)."""
    srv.run(srv.runtime.schemas.reload())
    response = api.patch("/fields/hand_authors/name", json={"meta": {"note": "display name"}})
    assert response.status_code == 200, response.text
    assert response.json()["data"]["meta"]["note"] == "display name"
    assert response.json()["data"]["type"] == "text"


@pytest.mark.parametrize(
    ("raw", "directus_type", "value"),
    [
        ("'abc'::character varying", "string", "abc"),
        ("'it''s'", "string", "it's"),
        ("'5'", "integer", 5),
        ("5", "integer", 5),
        ("('1')", "boolean", True),
        ("false", "boolean", False),
        ("now()", "timestamp", "CURRENT_TIMESTAMP"),
        ("CURRENT_TIMESTAMP", "dateTime", "CURRENT_TIMESTAMP"),
        ("nextval('x_id_seq'::regclass)", "integer", None),
        ("'{\"a\": 1}'::jsonb", "json", {"a": 1}),
        ("'1.50'", "decimal", "1.50"),
        (None, "string", None),
    ],
)
def test_parse_default(raw: str | None, directus_type: str, value: Any) -> None:
    assert parse_default(raw, directus_type) == value


def test_directus_type_of_engine_specific_types() -> None:
    from sqlalchemy.dialects import mysql, postgresql

    assert directus_type_of(postgresql.TIMESTAMP(timezone=True)) == "timestamp"
    assert directus_type_of(postgresql.TIMESTAMP()) == "dateTime"
    assert directus_type_of(postgresql.JSONB()) == "json"
    assert directus_type_of(postgresql.UUID()) == "uuid"
    assert directus_type_of(mysql.TINYINT(display_width=1)) == "boolean"
    assert directus_type_of(mysql.TINYINT()) == "integer"
    assert directus_type_of(mysql.LONGTEXT()) == "text"
    assert directus_type_of(mysql.TIMESTAMP()) == "timestamp"
    assert directus_type_of(sa.BigInteger()) == "bigInteger"
    assert directus_type_of(sa.types.NullType()) == "unknown"
