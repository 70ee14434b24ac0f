"""Random input on every REST endpoint besides ``/items`` never answers 5xx (issue 7 #5).

``test_input_fuzz.py`` covers ``/items``; this file covers the system endpoints: collections, fields,
relations, users, roles, policies, permissions, access, auth and server. Hypothesis draws query parameters
(reusing that file's strategies), path parameters with odd values (very long, unicode, ``..``, ``%00``,
numbers where uuids are expected) and bodies that are random JSON or the endpoint's own keys with values of
every wrong type, and sends them as admin, as a limited user and anonymously over keep-alive connections.
Every answer is a success or a Directus-shaped 4xx error, every connection keeps answering, and a refused
write leaves the endpoint's list as it was (a failed ``POST /collections`` leaves no table behind). Examples
are bounded (seconds in all); SQLite only.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fuzz.test_input_fuzz import ANY_JSON, NUMBERS, QUERIES, _url_form
from tests.support.examples import examples
from tests.support.live import ADMIN_TOKEN, LiveServer, live_server, scratch_database

LIST_ENDPOINTS = ("/collections", "/fields", "/relations", "/users", "/roles", "/policies", "/permissions", "/access")
# The keys each endpoint knows, so that bodies carry the right names with wrong values, not only noise.
KEYS: dict[str, tuple[str, ...]] = {
    "/collections": ("collection", "meta", "schema", "fields"),
    "/fields": ("field", "type", "meta", "schema"),
    "/relations": ("collection", "field", "related_collection", "meta", "schema"),
    "/users": ("email", "password", "role", "status", "first_name", "token", "policies", "language"),
    "/roles": ("name", "parent", "policies", "icon", "description", "children", "users"),
    "/policies": ("name", "admin_access", "app_access", "ip_access", "enforce_tfa", "roles", "users", "permissions"),
    "/permissions": ("policy", "collection", "action", "fields", "permissions", "validation", "presets"),
    "/access": ("role", "user", "policy", "sort"),
    "/auth": ("email", "password", "mode", "otp", "refresh_token"),
}
NESTED_KEYS = (
    "special",
    "interface",
    "options",
    "hidden",
    "required",
    "validation",
    "default_value",
    "is_nullable",
    "is_unique",
    "max_length",
    "numeric_precision",
    "numeric_scale",
    "is_primary_key",
    "has_auto_increment",
    "on_delete",
    "one_field",
    "junction_field",
    "sort_field",
    "singleton",
    "note",
    "name",
)
TYPES = ("integer", "bigInteger", "string", "text", "uuid", "json", "boolean", "timestamp", "csv", "alias", "bogus")
ODD_SEGMENTS = st.one_of(
    st.sampled_from(
        [
            "x" * 5000,
            "..",
            "%2e%2e",
            "%00",
            "a%00b",
            "1",
            "-1",
            "0",
            "18446744073709551616",
            "1e309",
            "null",
            "me",
            "%FF",
            "%C0%AF",
            "directus_users",
            "sqlite_master",
            "fuzz",
            "id",
            str(uuid.UUID(int=0)),
            "é漢字🙂",
            "%20",
            "a;b",
            "'; DROP TABLE x; --",
        ]
    ),
    st.text(min_size=1, max_size=40).map(lambda text: quote(text, safe="")),
)
WRONG = st.one_of(ANY_JSON, NUMBERS, st.sampled_from([10**400, -(10**400), "x" * 70000]))
# Nesting deeper than Python's own recursion limit can only be written as text.
DEEP = st.one_of(
    st.integers(min_value=50, max_value=5000).map(lambda n: "[" * n + "]" * n),
    st.integers(min_value=50, max_value=5000).map(lambda n: '{"a":' * n + "1" + "}" * n),
)
JSON = {"content-type": "application/json"}


def _keyed(prefix: str) -> st.SearchStrategy[Any]:
    """An object with the endpoint's own keys (nested ``meta``/``schema`` keys too), each holding wrong values."""
    nested = st.dictionaries(st.sampled_from(NESTED_KEYS), st.one_of(WRONG, st.sampled_from(TYPES)), max_size=4)
    values = st.one_of(WRONG, nested, st.sampled_from(TYPES), st.lists(nested, max_size=2))
    return st.dictionaries(st.sampled_from(KEYS[prefix]), values, max_size=5)


# Valid bodies with one key (top level or in meta/schema) replaced: these get past the first checks, so the
# wrong value reaches the deeper layers (how the metadata 500s of test_system_meta_types.py were found).
VALID: dict[str, dict[str, Any]] = {
    "/collections": {"collection": "c", "meta": {"note": "n", "sort_field": None, "hidden": False}, "schema": {}},
    "/fields": {"field": "f", "type": "integer", "meta": {"note": None, "sort": 1}, "schema": {"default_value": 1}},
    "/roles": {"name": "r", "parent": None, "icon": "x"},
    "/policies": {"name": "p", "admin_access": False, "app_access": True, "ip_access": None},
    "/users": {"email": "m@example.com", "first_name": "a", "role": None},
}


def _mutated(prefix: str) -> st.SearchStrategy[Any]:
    base = VALID[prefix]

    def replace(key: str, sub: str | None, value: Any) -> dict[str, Any]:
        name = f"{prefix[1]}{uuid.uuid4().hex[:8]}"
        body = {
            **base,
            **({"collection": name} if "collection" in base else {"field": name} if "field" in base else {}),
        }
        if sub is not None and isinstance(body.get(key), dict):
            return {**body, key: {**body[key], sub: value}}
        return {**body, key: value}

    return st.builds(replace, st.sampled_from(list(base)), st.one_of(st.none(), st.sampled_from(NESTED_KEYS)), WRONG)


def bodies(prefix: str) -> st.SearchStrategy[str]:
    """Request bodies as JSON text: the endpoint's keys with wrong values, lists of them, any JSON, deep nesting."""
    keyed = _keyed(prefix)
    shapes = [keyed, st.lists(keyed, max_size=3), WRONG] + ([_mutated(prefix)] * 2 if prefix in VALID else [])
    return st.one_of(st.one_of(*shapes).map(json.dumps), DEEP)


# TIDEPOOL_FUZZ_EXAMPLES sets the count for a longer hunt; otherwise 60 (a quarter of that in the quick profile).
FUZZ = settings(
    max_examples=int(os.environ.get("TIDEPOOL_FUZZ_EXAMPLES", "0")) or examples(60),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


@dataclass
class Clients:
    server: LiveServer
    admin: httpx.Client
    user: httpx.Client
    anon: httpx.Client
    ids: dict[str, str]

    def each(self) -> list[httpx.Client]:
        return [self.admin, self.user, self.anon]


def _new_client(server: LiveServer, token: str | None) -> httpx.Client:
    return server.client(token=token, limits=httpx.Limits(max_connections=1, max_keepalive_connections=1))


def check(response: httpx.Response) -> httpx.Response:
    """The invariant: below 500, and every 4xx is ``{"errors":[{"message","extensions":{"code"}}]}``."""
    request = response.request
    context = (request.method, str(request.url)[:300], request.content[:300], response.text[:500])
    assert response.status_code < 500, context
    if response.status_code >= 400:
        errors = response.json()["errors"]
        assert errors and isinstance(errors[0]["message"], str), context
        code = errors[0]["extensions"]["code"]
        assert isinstance(code, str) and code != "INTERNAL_SERVER_ERROR", context
    return response


def still_usable(clients: Clients) -> None:
    for client in clients.each():
        assert client.get("/server/ping").status_code == 200


def listing(clients: Clients, prefix: str) -> Any:
    response = check(clients.admin.get(prefix, params={"limit": "-1"}))
    assert response.status_code == 200
    return response.json()["data"]


@pytest.fixture(scope="module")
def clients(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Clients]:
    with scratch_database(tmp_path_factory.mktemp("sysfuzz")) as db, live_server(db) as server:
        admin = _new_client(server, ADMIN_TOKEN)
        fields = [{"field": "id", "type": "integer", "schema": {"is_primary_key": True, "has_auto_increment": True}}]
        fields.append({"field": "name", "type": "string", "schema": {}})
        assert admin.post("/collections", json={"collection": "fuzz", "schema": {}, "fields": fields}).is_success
        policy = admin.post("/policies", json={"name": "limited", "app_access": True}).json()["data"]["id"]
        permission = {"policy": policy, "collection": "fuzz", "action": "read", "fields": ["*"], "permissions": {}}
        assert admin.post("/permissions", json=permission).is_success
        role = admin.post("/roles", json={"name": "victim", "policies": [{"policy": policy}]}).json()["data"]["id"]
        token = f"tok-{uuid.uuid4().hex}"
        body = {"email": "limited@example.com", "password": "pw", "token": token, "role": role}
        user = admin.post("/users", json=body).json()["data"]["id"]
        spare_policy = admin.post("/policies", json={"name": "spare"}).json()["data"]["id"]
        spare_role = admin.post("/roles", json={"name": "spare"}).json()["data"]["id"]
        spare_user = admin.post("/users", json={"email": "spare@example.com"}).json()["data"]["id"]
        ids = {"/users": spare_user, "/roles": spare_role, "/policies": spare_policy, "/limited-user": user}
        result = Clients(server, admin, _new_client(server, token), _new_client(server, None), ids)
        yield result
        for client in result.each():
            client.close()


@FUZZ
@given(prefix=st.sampled_from(LIST_ENDPOINTS), query=QUERIES, who=st.integers(0, 2))
def test_random_queries_on_system_lists(clients: Clients, prefix: str, query: dict[str, Any], who: int) -> None:
    client = clients.each()[who]
    params = {name: _url_form(value) for name, value in query.items()}
    check(client.get(prefix, params=params))
    if prefix == "/users":
        check(client.get("/users/me", params=params))
    still_usable(clients)


ITEM_PATHS = (
    "/collections/{}",
    "/fields/{}",
    "/fields/fuzz/{}",
    "/fields/{}/id",
    "/relations/{}",
    "/relations/fuzz/{}",
    "/users/{}",
    "/roles/{}",
    "/policies/{}",
    "/permissions/{}",
    "/access/{}",
    "/server/{}",
    "/{}",
)


@FUZZ
@given(
    template=st.sampled_from(ITEM_PATHS),
    segment=ODD_SEGMENTS,
    method=st.sampled_from(["GET", "PATCH", "DELETE"]),
    who=st.integers(0, 2),
    body=st.one_of(WRONG.map(json.dumps), DEEP),
)
def test_odd_path_parameters(clients: Clients, template: str, segment: str, method: str, who: int, body: str) -> None:
    if method == "DELETE" and segment in ("fuzz", "id", "me", "directus_users"):
        method = "GET"  # keep the fixture's own collection and rows
    client = clients.each()[who]
    before = {prefix: listing(clients, prefix) for prefix in ("/collections", "/fields")}
    kwargs: dict[str, Any] = {"content": body, "headers": JSON} if method == "PATCH" else {}
    response = check(client.request(method, template.format(segment), **kwargs))
    if response.status_code >= 400:
        assert before == {prefix: listing(clients, prefix) for prefix in before}
    still_usable(clients)


WRITES = (
    ("POST", "/collections", "/collections"),
    ("POST", "/fields/fuzz", "/fields"),
    ("PATCH", "/fields/fuzz/name", "/fields"),
    ("PATCH", "/collections/fuzz", "/collections"),
    ("POST", "/relations", "/relations"),
    ("POST", "/users", "/users"),
    ("PATCH", "/users/{/users}", "/users"),
    ("POST", "/roles", "/roles"),
    ("PATCH", "/roles/{/roles}", "/roles"),
    ("POST", "/policies", "/policies"),
    ("PATCH", "/policies/{/policies}", "/policies"),
    ("POST", "/permissions", "/permissions"),
    ("PATCH", "/permissions", "/permissions"),
    ("POST", "/access", "/access"),
    ("PATCH", "/users/me", "/users"),
)


@FUZZ
@given(write=st.sampled_from(WRITES), who=st.integers(0, 2), data=st.data())
def test_random_bodies_on_system_writes(clients: Clients, write: tuple[str, str, str], who: int, data: Any) -> None:
    method, path, prefix = write
    body = data.draw(bodies(prefix))
    if path == "/users/me":  # the admin keeps its rights; the limited user its token, status and login
        who = max(who, 1)
        loaded = json.loads(body) if not body.startswith(("[[", '{"a":{')) else None
        if isinstance(loaded, dict):
            body = json.dumps(
                {
                    k: v
                    for k, v in loaded.items()
                    if k not in ("token", "status", "email", "password", "role", "policies")
                }
            )
    for key, value in clients.ids.items():
        path = path.replace("{" + key + "}", value)
    client = clients.each()[who]
    watched = ("/collections", "/fields", prefix)
    before = {name: listing(clients, name) for name in watched}
    response = check(client.request(method, path, content=body, headers=JSON))
    if response.status_code >= 400:
        assert before == {name: listing(clients, name) for name in watched}, (method, path, body)
    still_usable(clients)


@FUZZ
@given(
    path=st.sampled_from(["/auth/login", "/auth/refresh", "/auth/logout"]),
    body=bodies("/auth"),
    who=st.integers(0, 2),
)
def test_random_bodies_on_auth(clients: Clients, path: str, body: Any, who: int) -> None:
    client = clients.each()[who]
    check(client.post(path, content=body, headers=JSON))
    for name in ("/server/ping", "/server/health", "/server/info"):
        check(client.get(name, params={"fields": "*", "x": body[:2000]}))
    still_usable(clients)
