"""/fields over real HTTP on the configured engine: every type, schema changes, errors."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.support.live import LiveServer
from tests.support.servers import module_server

srv = module_server("db")


@pytest.fixture(scope="module")
def api(srv: LiveServer) -> Iterator[httpx.Client]:
    with srv.client() as client:
        response = client.post("/collections", json={"collection": "things", "schema": {}, "meta": {}})
        assert response.status_code == 200, response.text
        yield client


def error(response: httpx.Response) -> tuple[int, str, str]:
    body = response.json()["errors"][0]
    return response.status_code, body["extensions"]["code"], body["message"]


def add(api: httpx.Client, body: dict[str, Any], collection: str = "things") -> dict[str, Any]:
    response = api.post(f"/fields/{collection}", json=body)
    assert response.status_code == 200, response.text
    return dict(response.json()["data"])


@pytest.mark.parametrize(
    "field_type",
    [
        "string",
        "text",
        "integer",
        "bigInteger",
        "float",
        "decimal",
        "boolean",
        "date",
        "time",
        "dateTime",
        "timestamp",
        "json",
        "uuid",
        "csv",
        "hash",
    ],
)
def test_every_column_type_round_trips(api: httpx.Client, field_type: str) -> None:
    created = add(api, {"field": f"f_{field_type}", "type": field_type, "meta": {"note": field_type}})
    assert created["type"] == field_type
    assert created["meta"]["note"] == field_type
    assert created["schema"]["name"] == f"f_{field_type}" and created["schema"]["table"] == "things"
    assert api.get(f"/fields/things/f_{field_type}").json()["data"]["type"] == field_type


def test_json_gets_cast_json_flag(api: httpx.Client) -> None:
    created = add(api, {"field": "payload", "type": "json"})
    assert "cast-json" in created["meta"]["special"]


def test_schema_options_are_applied(api: httpx.Client) -> None:
    created = add(
        api,
        {
            "field": "code",
            "type": "string",
            "schema": {"max_length": 12, "is_nullable": False, "default_value": "it's", "is_unique": True},
        },
    )
    schema = created["schema"]
    assert (schema["max_length"], schema["is_nullable"], schema["default_value"], schema["is_unique"]) == (
        12,
        False,
        "it's",
        True,
    )
    number = add(api, {"field": "amount", "type": "decimal", "schema": {"numeric_precision": 8, "numeric_scale": 2}})
    assert (number["schema"]["numeric_precision"], number["schema"]["numeric_scale"]) == (8, 2)
    flag = add(api, {"field": "active", "type": "boolean", "schema": {"default_value": True}})
    assert flag["schema"]["default_value"] is True
    count = add(api, {"field": "hits", "type": "integer", "schema": {"default_value": 3}})
    assert count["schema"]["default_value"] == 3


def test_optional_system_fields(api: httpx.Client) -> None:
    body = {
        "collection": "articles",
        "schema": {},
        "meta": {"sort_field": "sort", "archive_field": "status", "archive_value": "archived"},
        "fields": [
            {"field": "id", "type": "uuid", "meta": {"special": ["uuid"]}, "schema": {"is_primary_key": True}},
            {"field": "status", "type": "string", "schema": {"default_value": "draft"}},
            {"field": "sort", "type": "integer"},
            {"field": "user_created", "type": "uuid", "meta": {"special": ["user-created"]}},
            {"field": "date_created", "type": "timestamp", "meta": {"special": ["date-created"]}},
            {"field": "user_updated", "type": "uuid", "meta": {"special": ["user-updated"]}},
            {"field": "date_updated", "type": "timestamp", "meta": {"special": ["date-updated"]}},
        ],
    }
    assert api.post("/collections", json=body).status_code == 200
    fields = {f["field"]: f for f in api.get("/fields/articles").json()["data"]}
    assert fields["id"]["schema"]["is_primary_key"] and not fields["id"]["schema"]["has_auto_increment"]
    assert fields["id"]["meta"]["special"] == ["uuid"]
    assert fields["status"]["schema"]["default_value"] == "draft"
    for name, special in [("user_created", "user-created"), ("date_updated", "date-updated")]:
        assert special in fields[name]["meta"]["special"]
    relation = api.post(
        "/relations", json={"collection": "articles", "field": "user_created", "related_collection": "directus_users"}
    )
    assert relation.status_code == 200, relation.text
    assert api.get("/fields/articles/user_created").json()["data"]["schema"]["foreign_key_table"] == "directus_users"
    meta = api.get("/collections/articles").json()["data"]["meta"]
    assert (meta["sort_field"], meta["archive_field"], meta["archive_value"]) == ("sort", "status", "archived")


def test_alias_field_has_no_column(api: httpx.Client) -> None:
    created = add(api, {"field": "divider", "type": "alias", "meta": {"special": ["alias", "no-data"]}})
    assert created["type"] == "alias" and created["schema"] is None


def test_list_all_and_per_collection(api: httpx.Client) -> None:
    everything = api.get("/fields").json()["data"]
    assert {"collection": "directus_users", "field": "email"}.items() <= next(
        f for f in everything if f["collection"] == "directus_users" and f["field"] == "email"
    ).items()
    mine = api.get("/fields/things").json()["data"]
    assert {f["collection"] for f in mine} == {"things"}


def test_unknown_collection_or_field_is_forbidden(api: httpx.Client) -> None:
    forbidden = (403, "FORBIDDEN", "You don't have permission to access this.")
    assert error(api.get("/fields/nowhere")) == forbidden
    assert error(api.get("/fields/things/nothing")) == forbidden
    assert error(api.post("/fields/nowhere", json={"field": "a", "type": "string"})) == forbidden
    assert error(api.patch("/fields/things/nothing", json={"meta": {}})) == forbidden
    assert error(api.delete("/fields/things/nothing")) == forbidden


def test_duplicate_field_is_invalid_payload(api: httpx.Client) -> None:
    add(api, {"field": "twice", "type": "string"})
    assert error(api.post("/fields/things", json={"field": "twice", "type": "string"})) == (
        400,
        "INVALID_PAYLOAD",
        'Invalid payload. Field "twice" already exists in collection "things".',
    )


def test_bad_definitions_are_invalid_payload(api: httpx.Client) -> None:
    for body in (
        {"field": "x", "type": "bogus"},
        {"field": "x"},
        {"type": "string"},
        {"field": "x", "type": "string", "schema": {"max_length": "lots"}},
        {"field": "x", "type": "string", "schema": {"has_auto_increment": True}},
        {"field": "x", "type": "string", "meta": {"special": "not-a-list-but-ok", "note": 1}, "schema": []},
    ):
        assert error(api.post("/fields/things", json=body))[:2] == (400, "INVALID_PAYLOAD"), body


@pytest.mark.parametrize("name", ['x"; DROP TABLE things; --', "x`,y", "a-b", "1x", "x" * 65, "a.b", "drop table"])
def test_sql_injection_in_field_names_is_refused(api: httpx.Client, name: str) -> None:
    assert error(api.post("/fields/things", json={"field": name, "type": "string"}))[:2] == (400, "INVALID_PAYLOAD")
    assert api.get("/fields/things/id").status_code == 200


def test_patch_meta_and_schema(api: httpx.Client) -> None:
    add(api, {"field": "title", "type": "string", "schema": {"max_length": 20}})
    response = api.patch(
        "/fields/things/title",
        json={
            "meta": {"note": "Shown in lists", "interface": "input", "options": {"trim": True}},
            "schema": {"max_length": 120, "is_nullable": False, "default_value": "untitled"},
        },
    )
    assert response.status_code == 200, response.text
    field = api.get("/fields/things/title").json()["data"]
    assert (field["meta"]["note"], field["meta"]["interface"], field["meta"]["options"]) == (
        "Shown in lists",
        "input",
        {"trim": True},
    )
    schema = field["schema"]
    assert (schema["max_length"], schema["is_nullable"], schema["default_value"]) == (120, False, "untitled")
    api.patch("/fields/things/title", json={"schema": {"is_nullable": True, "default_value": None}})
    schema = api.get("/fields/things/title").json()["data"]["schema"]
    assert (schema["is_nullable"], schema["default_value"]) == (True, None)
    assert api.get("/fields/things/title").json()["data"]["meta"]["note"] == "Shown in lists"


def test_patch_many_in_one_call(api: httpx.Client) -> None:
    add(api, {"field": "p1", "type": "string"})
    add(api, {"field": "p2", "type": "string"})
    response = api.patch(
        "/fields/things", json=[{"field": "p1", "meta": {"sort": 50}}, {"field": "p2", "meta": {"sort": 51}}]
    )
    assert [f["meta"]["sort"] for f in response.json()["data"]] == [50, 51]


def test_patch_type_change_and_nullable_pk_are_refused(api: httpx.Client) -> None:
    add(api, {"field": "fixed", "type": "string"})
    assert error(api.patch("/fields/things/fixed", json={"type": "integer"}))[:2] == (400, "INVALID_PAYLOAD")
    assert error(api.patch("/fields/things/id", json={"schema": {"is_nullable": True}})) == (
        400,
        "INVALID_PAYLOAD",
        "Invalid payload. Primary key cannot be null.",
    )


def test_delete_field(api: httpx.Client) -> None:
    add(api, {"field": "gone", "type": "string", "schema": {"is_unique": True}})
    assert api.delete("/fields/things/gone").status_code == 204
    assert error(api.get("/fields/things/gone"))[:2] == (403, "FORBIDDEN")
    add(api, {"field": "gone", "type": "integer"})  # the name is free again


def test_a_dropped_field_is_cleared_where_it_is_named(srv: LiveServer, api: httpx.Client) -> None:
    """As Directus's field delete does: the collection's ``sort_field`` and ``archive_field`` naming it become
    null, the fields it grouped leave the group, and the collection's permissions no longer list it (a list
    left empty is null). Before, all of these kept the dropped name (the Data Studio then sorted and archived
    by a field that no longer exists)."""
    columns: list[dict[str, Any]] = [
        {"field": n, "type": "string", "schema": {}} for n in ("rank", "state", "kept", "inner")
    ]
    body = {"collection": "named", "schema": {}, "fields": columns, "meta": {"sort_field": "rank"}}
    assert api.post("/collections", json=body).status_code == 200
    assert api.patch("/collections/named", json={"meta": {"archive_field": "state"}}).status_code == 200
    group = {"field": "box", "type": "alias", "meta": {"special": ["alias", "no-data", "group"]}}
    add(api, group, "named")
    assert api.patch("/fields/named/inner", json={"meta": {"group": "box"}}).status_code == 200
    policy = api.post("/policies", json={"name": "named readers"}).json()["data"]["id"]
    for fields in (["id", "rank", "kept"], ["rank"]):
        grant = {"policy": policy, "collection": "named", "action": "read", "fields": fields}
        assert api.post("/permissions", json=grant).status_code == 200
    for field in ("rank", "state", "box"):
        assert api.delete(f"/fields/named/{field}").status_code == 204
    meta = api.get("/collections/named").json()["data"]["meta"]
    assert (meta["sort_field"], meta["archive_field"]) == (None, None)
    assert api.get("/fields/named/inner").json()["data"]["meta"]["group"] is None
    granted = api.get("/permissions", params={"filter[policy][_eq]": policy, "sort": "id"}).json()["data"]
    assert [row["fields"] for row in granted] == [["id", "kept"], None]


def test_primary_key_and_system_fields_cannot_be_dropped(api: httpx.Client) -> None:
    assert error(api.delete("/fields/things/id"))[:2] == (400, "INVALID_PAYLOAD")
    assert error(api.delete("/fields/directus_users/email"))[:2] == (400, "INVALID_PAYLOAD")


def test_non_admins_cannot_change_fields(srv: LiveServer, api: httpx.Client) -> None:
    with srv.client(token=None) as anon:
        assert error(anon.post("/fields/things", json={"field": "z", "type": "string"}))[:2] == (403, "FORBIDDEN")
        assert error(anon.patch("/fields/things/id", json={"meta": {}}))[:2] == (403, "FORBIDDEN")
        assert error(anon.delete("/fields/things/id"))[:2] == (403, "FORBIDDEN")
        assert error(anon.get("/fields"))[:2] == (403, "FORBIDDEN")  # no read on directus_fields
        assert error(anon.get("/fields/things"))[:2] == (403, "FORBIDDEN")
