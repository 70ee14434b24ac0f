"""Admin schema calls that used to answer 500 answer 400 with Directus's code and message (issue 7, item 11).

Expected answers were taken from a running Directus 12.4.1 (``INVALID_PAYLOAD`` "already exists",
``RECORD_NOT_UNIQUE``, the role-nesting reasons) and, where Directus answers 500 or differs per engine, from
its PostgreSQL code path (``CONTAINS_NULL_VALUES``); docs/schema.md lists each.
Runs on SQLite, and on PostgreSQL/MariaDB with TIDEPOOL_TEST_DB=pg|mysql.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.http.accounts_support import ok
from tests.support.live import LiveServer
from tests.support.servers import messages_collection, module_server

srv = module_server("schema-errors", seed=messages_collection)


@pytest.fixture
def admin(srv: LiveServer) -> Iterator[httpx.Client]:
    with srv.client() as client:
        yield client


def refused(response: httpx.Response) -> dict[str, Any]:
    """The one error of a 400 answer (``message`` and ``extensions``)."""
    assert response.status_code == 400, response.text
    errors = response.json()["errors"]
    assert len(errors) == 1, errors
    return dict(errors[0])


def payload_error(reason: str) -> dict[str, Any]:
    return {"message": f"Invalid payload. {reason}.", "extensions": {"reason": reason, "code": "INVALID_PAYLOAD"}}


def new_table(admin: httpx.Client, name: str, *fields: dict[str, Any]) -> None:
    ok(admin.post("/collections", json={"collection": name, "schema": {}, "meta": {}, "fields": list(fields)}))


@pytest.mark.parametrize("name", ["Messages", "MESSAGES", "messageS"])
def test_collection_name_differing_only_in_case(admin: httpx.Client, name: str) -> None:
    body = {"collection": name, "schema": {}, "meta": {}}
    assert refused(admin.post("/collections", json=body)) == payload_error(f'Collection "{name}" already exists')
    assert admin.get("/items/messages").status_code == 200


@pytest.mark.parametrize("name", ["sqlite_foo", "sqlite_master", "SQLITE_x"])
def test_sqlite_reserved_names(admin: httpx.Client, name: str) -> None:
    body = {"collection": name, "schema": {}, "meta": {}}
    assert refused(admin.post("/collections", json=body)) == payload_error('"collection" can\'t start with "sqlite_"')


@pytest.mark.parametrize("name", ["Text", "ID", "TEXT"])
def test_field_name_differing_only_in_case(admin: httpx.Client, name: str) -> None:
    response = admin.post("/fields/messages", json={"field": name, "type": "string"})
    assert refused(response) == payload_error(f'Field "{name}" already exists in collection "messages"')
    assert admin.get("/items/messages").status_code == 200


def test_fields_of_a_new_collection_differing_only_in_case(admin: httpx.Client) -> None:
    body = {
        "collection": "cased",
        "schema": {},
        "fields": [{"field": "a", "type": "string"}, {"field": "A", "type": "string"}],
    }
    assert refused(admin.post("/collections", json=body)) == payload_error(
        'Field "A" already exists in collection "cased"'
    )
    assert admin.get("/collections/cased").status_code == 403


def test_not_null_field_without_default_on_a_table_with_rows(admin: httpx.Client) -> None:
    new_table(admin, "filled", {"field": "code", "type": "string"})
    ok(admin.post("/items/filled", json=[{"code": "a"}]))
    response = admin.post("/fields/filled", json={"field": "req", "type": "string", "schema": {"is_nullable": False}})
    assert refused(response) == {
        "message": 'Field "req" in collection "filled" contains null values.',
        "extensions": {"collection": "filled", "field": "req", "code": "CONTAINS_NULL_VALUES"},
    }
    assert "req" not in {f["field"] for f in ok(admin.get("/fields/filled"))}
    with_default = {"field": "req", "type": "string", "schema": {"is_nullable": False, "default_value": "x"}}
    ok(admin.post("/fields/filled", json=with_default))
    assert [row["req"] for row in ok(admin.get("/items/filled"))] == ["x"]


def test_not_null_field_without_default_on_an_empty_table(admin: httpx.Client) -> None:
    new_table(admin, "empty_one", {"field": "code", "type": "string"})
    ok(admin.post("/fields/empty_one", json={"field": "req", "type": "integer", "schema": {"is_nullable": False}}))
    field = ok(admin.get("/fields/empty_one/req"))
    assert field["schema"]["is_nullable"] is False


def test_making_a_column_with_nulls_not_nullable(admin: httpx.Client) -> None:
    new_table(admin, "holes", {"field": "code", "type": "string"})
    ok(admin.post("/items/holes", json=[{"code": "a"}, {"code": None}]))
    response = admin.patch("/fields/holes/code", json={"schema": {"is_nullable": False}})
    assert refused(response) == {
        "message": 'Field "code" in collection "holes" contains null values.',
        "extensions": {"collection": "holes", "field": "code", "code": "CONTAINS_NULL_VALUES"},
    }
    assert ok(admin.get("/fields/holes/code"))["schema"]["is_nullable"] is True


def test_unique_on_a_column_with_duplicates(admin: httpx.Client) -> None:
    new_table(admin, "dupes", {"field": "code", "type": "string"})
    ok(admin.post("/items/dupes", json=[{"code": "A"}, {"code": "A"}, {"code": "B"}]))
    response = admin.patch("/fields/dupes/code", json={"schema": {"is_unique": True}})
    assert refused(response) == {
        "message": 'Value for field "code" in collection "dupes" has to be unique.',
        "extensions": {"collection": "dupes", "field": "code", "code": "RECORD_NOT_UNIQUE"},
    }
    assert ok(admin.get("/fields/dupes/code"))["schema"]["is_unique"] is False
    assert len(ok(admin.post("/items/dupes", json={"code": "A"}))) > 0


def test_unique_new_field_with_a_default_on_several_rows(admin: httpx.Client) -> None:
    new_table(admin, "crowd", {"field": "code", "type": "string"})
    ok(admin.post("/items/crowd", json=[{"code": "a"}, {"code": "b"}]))
    body = {"field": "tag", "type": "string", "schema": {"is_unique": True, "default_value": "same"}}
    assert refused(admin.post("/fields/crowd", json=body))["extensions"] == {
        "collection": "crowd",
        "field": "tag",
        "code": "RECORD_NOT_UNIQUE",
    }


def test_a_role_cannot_be_its_own_parent_or_descendant(admin: httpx.Client) -> None:
    top = ok(admin.post("/roles", json={"name": "top"}))["id"]
    middle = ok(admin.post("/roles", json={"name": "middle", "parent": top}))["id"]
    bottom = ok(admin.post("/roles", json={"name": "bottom", "parent": middle}))["id"]
    assert refused(admin.patch(f"/roles/{top}", json={"parent": top})) == payload_error(
        "A role cannot be a parent of itself"
    )
    for descendant in (middle, bottom):
        assert refused(admin.patch(f"/roles/{top}", json={"parent": descendant})) == payload_error(
            "A role cannot have a parent that is already a descendant of itself"
        )
    many = admin.patch("/roles", json={"keys": [middle, bottom], "data": {"parent": bottom}})
    assert refused(many) == payload_error("A role cannot be a parent of itself")
    assert ok(admin.get(f"/roles/{top}"))["parent"] is None
    ok(admin.patch(f"/roles/{bottom}", json={"parent": top}))
