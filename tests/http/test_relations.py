"""/relations over real HTTP on the configured engine: m2o with a real foreign key, o2m, m2m, errors."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from tests.support.live import LiveServer
from tests.support.servers import module_server

srv = module_server("db")


def collection(api: httpx.Client, name: str, *fields: dict[str, Any]) -> None:
    response = api.post("/collections", json={"collection": name, "schema": {}, "meta": {}, "fields": list(fields)})
    assert response.status_code == 200, response.text


@pytest.fixture(scope="module")
def api(srv: LiveServer) -> Iterator[httpx.Client]:
    with srv.client() as client:
        collection(client, "authors", {"field": "name", "type": "string"})
        collection(client, "posts", {"field": "title", "type": "string"}, {"field": "author", "type": "integer"})
        yield client


def error(response: httpx.Response) -> tuple[int, str, str]:
    body = response.json()["errors"][0]
    return response.status_code, body["extensions"]["code"], body["message"]


def foreign_keys(srv: LiveServer, table: str) -> list[dict[str, Any]]:
    """The table's foreign keys as a pooled connection reflects them. On SQLite the connection first reads
    ``sqlite_master``: ``PRAGMA foreign_key_list`` answers from the connection's cached schema without checking
    that it is current, so on a connection idle since the table was rebuilt it disagreed with the table's SQL
    (SQLAlchemy's SAWarning, an intermittent failure here); a real statement refreshes the cache first, as
    ``db/introspect`` does by listing the tables before anything else."""

    def reflect(conn: sa.Connection) -> list[dict[str, Any]]:
        inspector = sa.inspect(conn)
        inspector.get_table_names()
        return [dict(fk) for fk in inspector.get_foreign_keys(table)]

    async def read() -> list[dict[str, Any]]:
        async with srv.runtime.engine.connect() as conn:
            return await conn.run_sync(reflect)

    return srv.run(read())


def test_m2o_creates_a_real_foreign_key(srv: LiveServer, api: httpx.Client) -> None:
    body = {
        "collection": "posts",
        "field": "author",
        "related_collection": "authors",
        "meta": {"one_field": "posts"},
        "schema": {"on_delete": "CASCADE"},
    }
    response = api.post("/relations", json=body)
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert (data["collection"], data["field"], data["related_collection"]) == ("posts", "author", "authors")
    assert data["meta"]["one_field"] == "posts" and data["meta"]["many_collection"] == "posts"
    assert data["schema"]["foreign_key_table"] == "authors" and data["schema"]["on_delete"] == "CASCADE"
    fks = foreign_keys(srv, "posts")
    assert [(fk["constrained_columns"], fk["referred_table"]) for fk in fks] == [(["author"], "authors")]

    async def insert_dangling() -> None:
        table = srv.runtime.schemas.current.collections["posts"].table
        async with srv.runtime.engine.begin() as conn:
            await conn.execute(table.insert().values(title="orphan", author=424242))

    with pytest.raises(IntegrityError):
        srv.run(insert_dangling())


def test_o2m_alias_appears_on_the_related_collection(api: httpx.Client) -> None:
    alias = api.get("/fields/authors/posts").json()["data"]
    assert alias["type"] == "alias" and alias["schema"] is None
    author = api.get("/fields/posts/author").json()["data"]
    assert (author["schema"]["foreign_key_table"], author["schema"]["foreign_key_column"]) == ("authors", "id")


def test_read_list_and_per_collection(api: httpx.Client) -> None:
    assert api.get("/relations/posts/author").json()["data"]["related_collection"] == "authors"
    assert [(r["collection"], r["field"]) for r in api.get("/relations/posts").json()["data"]] == [("posts", "author")]
    everything = [(r["collection"], r["field"]) for r in api.get("/relations").json()["data"]]
    assert ("posts", "author") in everything and ("directus_users", "role") in everything


def test_duplicate_relation_is_invalid_payload(api: httpx.Client) -> None:
    response = api.post("/relations", json={"collection": "posts", "field": "author", "related_collection": "authors"})
    assert error(response) == (
        400,
        "INVALID_PAYLOAD",
        'Invalid payload. Field "author" in collection "posts" already has an associated relationship.',
    )


def test_invalid_targets(api: httpx.Client) -> None:
    cases = [
        ({"field": "author"}, 'Invalid payload. "collection" is required.'),
        ({"collection": "posts"}, 'Invalid payload. "field" is required.'),
        ({"collection": "nope", "field": "x"}, 'Invalid payload. Collection "nope" doesn\'t exist.'),
        (
            {"collection": "posts", "field": "nope"},
            'Invalid payload. Field "nope" doesn\'t exist in collection "posts".',
        ),
        (
            {"collection": "posts", "field": "title", "related_collection": "ghosts"},
            'Invalid payload. Collection "ghosts" doesn\'t exist.',
        ),
    ]
    for body, message in cases:
        assert error(api.post("/relations", json=body)) == (400, "INVALID_PAYLOAD", message), body


def test_patch_meta_and_on_delete(srv: LiveServer, api: httpx.Client) -> None:
    response = api.patch(
        "/relations/posts/author", json={"meta": {"sort_field": "title"}, "schema": {"on_delete": "SET NULL"}}
    )
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data["meta"]["sort_field"] == "title" and data["meta"]["one_field"] == "posts"
    assert data["schema"]["on_delete"] == "SET NULL"
    assert [fk["options"].get("ondelete") for fk in foreign_keys(srv, "posts")] == ["SET NULL"]


def test_m2m_through_a_junction(api: httpx.Client) -> None:
    collection(api, "tags", {"field": "label", "type": "string"})
    collection(api, "posts_tags", {"field": "posts_id", "type": "integer"}, {"field": "tags_id", "type": "integer"})
    api.post("/fields/posts", json={"field": "tags", "type": "alias", "meta": {"special": ["m2m"]}})
    first = {
        "collection": "posts_tags",
        "field": "posts_id",
        "related_collection": "posts",
        "meta": {"one_field": "tags", "junction_field": "tags_id"},
        "schema": {"on_delete": "CASCADE"},
    }
    second = {
        "collection": "posts_tags",
        "field": "tags_id",
        "related_collection": "tags",
        "meta": {"one_field": None, "junction_field": "posts_id"},
        "schema": {"on_delete": "CASCADE"},
    }
    assert api.post("/relations", json=first).status_code == 200
    assert api.post("/relations", json=second).status_code == 200
    junction = {r["field"]: r for r in api.get("/relations/posts_tags").json()["data"]}
    assert junction["posts_id"]["meta"]["junction_field"] == "tags_id"
    assert junction["tags_id"]["meta"]["junction_field"] == "posts_id"
    tags = api.get("/fields/posts/tags").json()["data"]
    assert tags["type"] == "alias" and tags["meta"]["special"] == ["m2m"]


def test_relation_without_foreign_key(srv: LiveServer, api: httpx.Client) -> None:
    api.post("/fields/posts", json={"field": "editor", "type": "integer"})
    body = {"collection": "posts", "field": "editor", "related_collection": "authors", "schema": None}
    data = api.post("/relations", json=body).json()["data"]
    assert data["schema"] is None and data["meta"]["one_collection"] == "authors"
    assert "editor" not in [c for fk in foreign_keys(srv, "posts") for c in fk["constrained_columns"]]


def test_delete_relation_keeps_the_field(srv: LiveServer, api: httpx.Client) -> None:
    api.post("/fields/posts", json={"field": "reviewer", "type": "integer"})
    api.post("/relations", json={"collection": "posts", "field": "reviewer", "related_collection": "authors"})
    assert api.delete("/relations/posts/reviewer").status_code == 204
    assert error(api.get("/relations/posts/reviewer"))[:2] == (403, "FORBIDDEN")
    assert api.get("/fields/posts/reviewer").status_code == 200
    assert "reviewer" not in [c for fk in foreign_keys(srv, "posts") for c in fk["constrained_columns"]]
    assert error(api.delete("/relations/posts/reviewer")) == (
        400,
        "INVALID_PAYLOAD",
        'Invalid payload. Field "reviewer" in collection "posts" doesn\'t have a relationship.',
    )


def test_deleting_a_related_collection_removes_the_m2o_fields(api: httpx.Client) -> None:
    collection(api, "owners", {"field": "name", "type": "string"})
    collection(api, "pets", {"field": "owner", "type": "integer"})
    api.post("/relations", json={"collection": "pets", "field": "owner", "related_collection": "owners"})
    assert api.delete("/collections/owners").status_code == 204
    assert error(api.get("/fields/pets/owner"))[:2] == (403, "FORBIDDEN")
    assert api.get("/relations/pets").json()["data"] == []


def test_non_admins_cannot_change_relations(srv: LiveServer, api: httpx.Client) -> None:
    with srv.client(token=None) as anon:
        body = {"collection": "posts", "field": "title", "related_collection": "authors"}
        assert error(anon.post("/relations", json=body))[:2] == (403, "FORBIDDEN")
        assert error(anon.patch("/relations/posts/author", json={"meta": {}}))[:2] == (403, "FORBIDDEN")
        assert error(anon.delete("/relations/posts/author"))[:2] == (403, "FORBIDDEN")
        assert error(anon.get("/relations"))[:2] == (403, "FORBIDDEN")  # no read on directus_relations
