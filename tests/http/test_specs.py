"""``GET /server/specs/oas``: the OpenAPI document, per caller, as Directus 12.4.1 shapes it.

Directus's answers were recorded from a live 12.4.1 with the seed guide's ``messages`` collection: its
``components.schemas.ItemsMessages``, the item paths and methods the admin and the limited user (read and
create on ``messages``) see, and the public's tags. The document is generated from the route table, so
every route of the app is in the admin's document (the last tests hold that).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from starlette.routing import Route

from tests.support.live import LiveServer
from tests.support.seed import USER_TOKEN, seed_guide
from tests.support.servers import module_server
from tidepool.app import create_app


def _seed(server: LiveServer) -> None:
    with server.client() as admin:
        seed_guide(admin)


srv = module_server("specs", seed=_seed)


@pytest.fixture
def admin(srv: LiveServer) -> Iterator[httpx.Client]:
    with srv.client() as client:
        yield client


def _spec(client: httpx.Client) -> dict[str, object]:
    response = client.get("/server/specs/oas")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    spec: dict[str, object] = response.json()
    return spec


def _methods(spec: dict[str, object]) -> dict[str, list[str]]:
    paths = spec["paths"]
    assert isinstance(paths, dict)
    return {path: sorted(ops) for path, ops in paths.items()}


# Directus 12.4.1's ``components.schemas.ItemsMessages`` for the seed guide's collection.
DIRECTUS_ITEMS_MESSAGES = {
    "type": "object",
    "properties": {
        "id": {"nullable": False, "type": "integer"},
        "date_created": {"nullable": True, "type": "string", "format": "timestamp"},
        "text": {"nullable": True, "type": "string"},
        "user": {"nullable": True, "type": "string"},
    },
    "x-collection": "messages",
}


def test_the_documents_top_level_shape(admin: httpx.Client, srv: LiveServer) -> None:
    spec = _spec(admin)
    assert list(spec) == ["openapi", "info", "servers", "paths", "tags", "components"]
    assert spec["openapi"] == "3.0.1"
    info = spec["info"]
    assert isinstance(info, dict) and info["title"] == "Dynamic API Specification"
    assert spec["servers"] == [{"url": srv.url, "description": "Your current Tidepool instance."}]
    components = spec["components"]
    assert isinstance(components, dict)
    assert list(components) == ["schemas", "parameters", "responses", "securitySchemes"]
    assert components["securitySchemes"] == {
        "KeyAuth": {"type": "apiKey", "in": "query", "name": "access_token"},
        "Auth": {"type": "apiKey", "in": "header", "name": "Authorization"},
    }


def test_a_collection_schema_is_typed_as_directus_types_it(admin: httpx.Client) -> None:
    components = _spec(admin)["components"]
    assert isinstance(components, dict)
    assert components["schemas"]["ItemsMessages"] == DIRECTUS_ITEMS_MESSAGES


def test_the_admin_sees_every_item_operation(admin: httpx.Client) -> None:
    spec = _spec(admin)
    methods = _methods(spec)
    assert methods["/items/messages"] == ["delete", "get", "patch", "post"]
    assert methods["/items/messages/{id}"] == ["delete", "get", "patch"]
    operation = spec["paths"]["/items/messages"]["get"]  # type: ignore[index]
    assert operation["tags"] == ["Items", "ItemsMessages"]
    assert operation["operationId"] == "readItemsMessages"
    answers = operation["responses"]["200"]["content"]["application/json"]["schema"]["anyOf"]
    rows = {"type": "array", "items": {"$ref": "#/components/schemas/ItemsMessages"}}
    assert answers[0]["properties"]["data"] == rows
    assert answers[1] == rows  # ?export=json: the rows without the envelope
    assert spec["paths"]["/items/messages/{id}"]["get"]["operationId"] == "readSingleItemsMessages"  # type: ignore[index]
    tags = [tag["name"] for tag in spec["tags"]]  # type: ignore[attr-defined]
    assert {"Server", "Authentication", "ItemsMessages", "Users", "Roles", "Collections"} <= set(tags)


def test_the_limited_user_sees_what_it_may_do(srv: LiveServer) -> None:
    """As Directus: read and create on ``messages`` → ``GET``/``POST`` on the list, ``GET`` on one item; no
    system collection (no permission on any), its schema only."""
    with srv.client(token=USER_TOKEN) as user:
        spec = _spec(user)
    methods = _methods(spec)
    assert methods["/items/messages"] == ["get", "post"]
    assert methods["/items/messages/{id}"] == ["get"]
    assert not [path for path in methods if path.startswith(("/users", "/collections", "/roles", "/fields"))]
    assert list(spec["components"]["schemas"]) == ["Error", "x-metadata", "ItemsMessages"]  # type: ignore[index]
    assert [tag["name"] for tag in spec["tags"]] == ["Server", "Authentication", "ItemsMessages"]  # type: ignore[attr-defined]


def test_the_public_sees_the_open_routes_only(srv: LiveServer) -> None:
    with srv.client(token=None) as anon:
        spec = _spec(anon)
    assert [tag["name"] for tag in spec["tags"]] == ["Server", "Authentication"]  # type: ignore[attr-defined]
    assert "/server/ping" in _methods(spec)
    assert not [path for path in _methods(spec) if path.startswith("/items")]


def test_a_field_permission_narrows_the_schema(srv: LiveServer, admin: httpx.Client) -> None:
    policy = admin.post("/policies", json={"name": "text only", "app_access": False, "admin_access": False}).json()
    permission = {"policy": policy["data"]["id"], "collection": "messages", "action": "read", "fields": ["id", "text"]}
    assert admin.post("/permissions", json=permission).status_code == 200
    role = admin.post("/roles", json={"name": "Readers"}).json()["data"]["id"]
    assert admin.post("/access", json={"role": role, "policy": policy["data"]["id"]}).status_code == 200
    user = {
        "email": "reader@example.com",
        "password": "pw-reader",
        "role": role,
        "status": "active",
        "token": "reader-token",
    }
    assert admin.post("/users", json=user).status_code == 200
    with srv.client(token="reader-token") as reader:
        spec = _spec(reader)
    assert list(spec["components"]["schemas"]["ItemsMessages"]["properties"]) == ["id", "text"]  # type: ignore[index]
    assert _methods(spec)["/items/messages"] == ["get"]


def test_a_new_collection_appears_at_once_and_the_version_moves(admin: httpx.Client) -> None:
    before = _spec(admin)
    assert _spec(admin)["info"] == before["info"]  # nothing changed: the same document, the same version
    body = {
        "collection": "later",
        "schema": {},
        "fields": [
            {"field": "code", "type": "uuid", "schema": {"is_primary_key": True}, "meta": {"special": ["uuid"]}},
            {"field": "name", "type": "string", "schema": {"is_nullable": False}},
            {"field": "message", "type": "integer"},
        ],
    }
    assert admin.post("/collections", json=body).status_code == 200
    relation = {"collection": "later", "field": "message", "related_collection": "messages"}
    assert admin.post("/relations", json=relation).status_code == 200
    after = _spec(admin)
    assert after["info"]["version"] != before["info"]["version"]  # type: ignore[index]
    assert _methods(after)["/items/later/{id}"] == ["delete", "get", "patch"]
    schema = after["components"]["schemas"]["ItemsLater"]  # type: ignore[index]
    assert schema["properties"]["code"] == {"nullable": False, "type": "string", "format": "uuid"}
    assert schema["properties"]["message"] == {
        "nullable": True,
        "oneOf": [{"type": "integer"}, {"$ref": "#/components/schemas/ItemsMessages"}],
    }
    identifier = after["paths"]["/items/later/{id}"]["get"]["parameters"][0]  # type: ignore[index]
    assert identifier == {"name": "id", "in": "path", "required": True, "schema": {"type": "string", "format": "uuid"}}
    create = after["paths"]["/items/later"]["post"]["requestBody"]["content"]["application/json"]["schema"]  # type: ignore[index]
    one = {"allOf": [{"$ref": "#/components/schemas/ItemsLater"}, {"type": "object", "required": ["name"]}]}
    assert create == {"oneOf": [{"type": "array", "items": one}, one]}


def test_every_route_of_the_table_is_documented(admin: httpx.Client, srv: LiveServer) -> None:
    """The document is the route table: each (method, path) of the app is in the admin's document, with
    ``/items/{collection}`` once per collection."""
    spec = _spec(admin)
    documented = {(method, path) for path, methods in _methods(spec).items() for method in methods}
    app = create_app(srv.settings)
    for route in app.routes:
        if not isinstance(route, Route) or not route.include_in_schema:  # pages (the Studio), not API
            continue
        path = re.sub(r"\{(\w+):\w+\}", r"{\1}", route.path)  # a path convertor is not OpenAPI's: {id:uuid} is {id}
        path = path.replace("{collection}", "messages") if path.startswith("/items/") else path
        for method in route.methods or ():
            if method in ("HEAD", "SEARCH"):  # SEARCH: no OpenAPI 3.0 operation (Directus's document lacks it too)
                assert (method.lower(), path) not in documented, (method, route.path)
            else:
                assert (method.lower(), path) in documented, (method, route.path)
    operation_ids = [op["operationId"] for ops in spec["paths"].values() for op in ops.values()]  # type: ignore[attr-defined]
    assert len(operation_ids) == len(set(operation_ids))
