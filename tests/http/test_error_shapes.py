"""Error bodies as Directus 12.4.1 sends them (issue 7, differential "Errors").

Every expected body below was answered by a running Directus 12.4.1 to the same request on the same
schema: ``reason`` in the extensions of query, payload and permission errors; ``FAILED_VALIDATION`` with
``field``, ``path``, ``type`` and the rule's argument, one entry per broken rule; unique violations naming
the value. WebSocket error frames carry ``code`` and ``message`` only (Directus's ``WebSocketError``).
Runs on SQLite, and on PostgreSQL/MariaDB with TIDEPOOL_TEST_DB=pg|mysql.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.http.accounts_support import ok
from tests.realtime.wsclient import WS
from tests.support.live import ADMIN_TOKEN, LiveServer
from tests.support.servers import module_server


def _validated(name: str, field_type: str, rule: dict[str, Any]) -> dict[str, Any]:
    return {"field": name, "type": field_type, "meta": {"validation": {name: rule}}}


RULES = [
    _validated("a", "integer", {"_eq": 3}),
    _validated("b", "integer", {"_lte": 3}),
    _validated("c", "integer", {"_gte": 3}),
    _validated("d", "string", {"_null": True}),
    _validated("f", "string", {"_nempty": True}),
    _validated("g", "string", {"_ncontains": "x"}),
    {"field": "h", "type": "string", "meta": {"validation": {"_or": [{"h": {"_eq": "p"}}, {"h": {"_eq": "q"}}]}}},
    _validated("i", "integer", {"_lt": 3}),
    _validated("j", "string", {"_in": ["only"]}),
    _validated("l", "string", {"_empty": True}),
    _validated("m", "string", {"_nnull": True}),
    _validated("o", "string", {"_submitted": True}),
    _validated("p", "string", {"_in": ["a", "b"]}),
    _validated("r", "string", {"_contains": "a"}),
    _validated("s", "string", {"_regex": "^x+$"}),
    _validated("t", "string", {"_starts_with": "pre"}),
    _validated("u", "string", {"_nin": ["no"]}),
    _validated("v", "integer", {"_gt": 5}),
]


def _strict_and_rules(server: LiveServer) -> None:
    with server.client() as admin:
        strict = [
            {"field": "code", "type": "string", "schema": {"is_unique": True}},
            {"field": "n", "type": "integer", "schema": {"is_nullable": False}},
            {"field": "m", "type": "integer", "schema": {"is_nullable": False}},
        ]
        ok(admin.post("/collections", json={"collection": "strict", "schema": {}, "meta": {}, "fields": strict}))
        ok(admin.post("/collections", json={"collection": "rules", "schema": {}, "meta": {}, "fields": RULES}))


srv = module_server("error-shapes", seed=_strict_and_rules)


@pytest.fixture
def admin(srv: LiveServer) -> Iterator[httpx.Client]:
    with srv.client() as client:
        yield client


def errors(response: httpx.Response) -> list[dict[str, Any]]:
    assert response.status_code == 400 or response.status_code == 403, response.text
    return list(response.json()["errors"])


def failed(field: str, sentence: str, type_: str, **detail: Any) -> dict[str, Any]:
    message = f'Validation failed for field "{field}".' + (f" {sentence}" if sentence else "")
    return {
        "message": message,
        "extensions": {"field": field, "path": [], "type": type_, **detail, "code": "FAILED_VALIDATION"},
    }


def test_query_errors_carry_their_reason(admin: httpx.Client) -> None:
    assert errors(admin.get("/items/strict", params={"filter": "abc"})) == [
        {
            "message": "Invalid query. Invalid JSON for filter object.",
            "extensions": {"reason": "Invalid JSON for filter object", "code": "INVALID_QUERY"},
        }
    ]
    reason = '"integer" field type does not contain the "_bogus" filter operator'
    assert errors(admin.get("/items/strict", params={"filter[n][_bogus]": "1"})) == [
        {"message": f"Invalid query. {reason}.", "extensions": {"reason": reason, "code": "INVALID_QUERY"}}
    ]


def test_payload_errors_carry_their_reason(admin: httpx.Client) -> None:
    reason = '"collection" can\'t start with "directus_"'
    assert errors(admin.post("/collections", json={"collection": "directus_foo", "schema": {}, "meta": {}})) == [
        {"message": f"Invalid payload. {reason}.", "extensions": {"reason": reason, "code": "INVALID_PAYLOAD"}}
    ]


def test_permission_errors_carry_their_reason_only_when_they_name_something(srv: LiveServer) -> None:
    field = (
        'You don\'t have permission to access field "nope" in collection "strict" or it does not exist. '
        "Queried in root."
    )
    collection = 'You don\'t have permission to access collection "strict" or it does not exist. Queried in root.'
    with srv.client() as admin:
        assert errors(admin.get("/items/strict", params={"fields": "nope"})) == [
            {"message": field, "extensions": {"reason": field, "code": "FORBIDDEN"}}
        ]
        assert errors(admin.get("/items/strict/999")) == [
            {"message": "You don't have permission to access this.", "extensions": {"code": "FORBIDDEN"}}
        ]
    with srv.client(token=None) as anon:
        assert errors(anon.get("/items/strict")) == [
            {"message": collection, "extensions": {"reason": collection, "code": "FORBIDDEN"}}
        ]


def test_each_missing_field_is_its_own_error(admin: httpx.Client) -> None:
    assert errors(admin.post("/items/strict", json={"code": "B"})) == [
        failed("n", "Value is required.", "required"),
        failed("m", "Value is required.", "required"),
    ]
    assert errors(admin.post("/items/strict", json=[{"code": "Q", "n": 1, "m": 1}, {"code": "R"}])) == [
        failed("n", "Value is required.", "required"),
        failed("m", "Value is required.", "required"),
    ]
    assert errors(admin.post("/items/strict", json={"code": "C", "n": None, "m": 2})) == [
        failed("n", "Value can't be null.", "nnull")
    ]


def test_validation_rules_give_directus_extensions(admin: httpx.Client) -> None:
    payload = {
        "a": 1, "b": 5, "c": 1, "d": "x", "f": "", "g": "axb", "h": "z", "i": 4, "j": "k", "l": "n", "m": None,
        "p": "c", "r": "c", "s": "y", "t": "zz", "u": "no", "v": 1,
    }  # fmt: skip
    assert errors(admin.post("/items/rules", json=payload)) == [
        failed("a", 'Value has to be one of "3", "3".', "in", valid=[3, "3"]),
        failed("b", 'Value has to be less than or equal to "3".', "lte", valid=3),
        failed("c", 'Value has to be greater than or equal to "3".', "gte", valid=3),
        failed("d", "Value has to be null.", "null"),
        failed("f", "Value can't be empty.", "nempty"),
        failed("g", 'Value can\'t contain "x".', "ncontains", substring="x"),
        failed("h", 'Value has to be "p".', "eq", valid="p"),
        failed("h", 'Value has to be "q".', "eq", valid="q"),
        failed("i", 'Value has to be less than "3".', "lt", valid=3),
        failed("j", 'Value has to be "only".', "eq", valid="only"),
        failed("l", "Value has to be empty.", "empty"),
        failed("m", "Value can't be null.", "nnull"),
        failed("o", "Value is required.", "required"),
        failed("p", 'Value has to be one of "a", "b".', "in", valid=["a", "b"]),
        failed("r", 'Value has to contain "a".', "contains", substring="a"),
        failed("s", "Value doesn't have the correct format.", "regex", invalid="y"),
        failed("t", "", "starts_with", substring="pre"),
        failed("u", 'Value can\'t be "no".', "neq", invalid="no"),
        failed("v", 'Value has to be greater than "5".', "gt", valid=5),
    ]


def test_unique_violation_names_the_value(admin: httpx.Client) -> None:
    ok(admin.post("/items/strict", json={"code": "A", "n": 1, "m": 1}))
    assert errors(admin.post("/items/strict", json={"code": "A", "n": 1, "m": 1})) == [
        {
            "message": 'Value "A" for field "code" in collection "strict" has to be unique.',
            "extensions": {"collection": "strict", "field": "code", "value": "A", "code": "RECORD_NOT_UNIQUE"},
        }
    ]


def test_websocket_error_frames_carry_code_and_message(srv: LiveServer, admin: httpx.Client) -> None:
    """Directus's frame has room for one error: Tidepool sends the first (Directus itself, given several,
    only logs them and answers nothing; docs/items.md)."""
    ok(admin.post("/items/strict", json={"code": "WS", "n": 1, "m": 1}))
    with WS(srv.ws_url) as socket:
        assert socket.request({"type": "auth", "access_token": ADMIN_TOKEN})["status"] == "ok"
        create = {"type": "items", "collection": "strict", "action": "create"}
        assert socket.request({**create, "data": {"code": "W"}, "uid": "missing"}) == {
            "type": "items",
            "status": "error",
            "error": {"code": "FAILED_VALIDATION", "message": 'Validation failed for field "n". Value is required.'},
            "uid": "missing",
        }
        assert socket.request({**create, "data": {"code": "WS", "n": 1, "m": 1}, "uid": "twice"})["error"] == {
            "code": "RECORD_NOT_UNIQUE",
            "message": 'Value "WS" for field "code" in collection "strict" has to be unique.',
        }
