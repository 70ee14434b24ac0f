"""One request cannot stall the server: query size is bounded, regexes run in linear time.

Found by the hostile review: a WebSocket read with a 20,000-60,000-value ``_in`` blocked every other
client for seconds; an admin's validation rule ``^(a+)+$`` took seconds on a 26-character input (Python's
``re`` backtracks); ``limit=`` followed by 20,000 digits and a letter took over a minute in the number
parser. The limit is ``MAX_QUERY_COMPLEXITY`` (default 1000); ``_regex`` runs on RE2 with JavaScript's
syntax and meaning.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.realtime.wsclient import WS
from tests.support.live import ADMIN_TOKEN, LiveServer
from tests.support.servers import module_server

RULES = {
    "word": "^[a-z]+$",
    "shout": "/^ABC$/i",
    "letter": "^\\u0041+$",
    "anything": "^[^]$",
    "greedy": "^(a+)+$",
    "year": "^(?<year>\\d{4})-",
}
NOTES = {
    "collection": "notes",
    "schema": {},
    "meta": {},
    "fields": [
        {"field": "id", "type": "integer", "schema": {"is_primary_key": True, "has_auto_increment": True}},
        {"field": "qty", "type": "integer", "schema": {}},
        {"field": "tags", "type": "csv", "schema": {}},
        *(
            {"field": name, "type": "string", "schema": {}, "meta": {"validation": {name: {"_regex": rule}}}}
            for name, rule in RULES.items()
        ),
    ],
}


def _notes(server: LiveServer) -> None:
    with server.client() as admin:
        assert admin.post("/collections", json=NOTES).status_code == 200, "collection"
        parent = {"field": "parent", "type": "integer", "schema": {}, "meta": {"special": ["m2o"]}}
        assert admin.post("/fields/notes", json=parent).status_code == 200, "parent"
        relation = {"collection": "notes", "field": "parent", "related_collection": "notes"}
        assert admin.post("/relations", json={**relation, "meta": {"one_field": "children"}}).status_code == 200
        children = {"field": "children", "type": "alias", "meta": {"special": ["o2m"]}}
        assert admin.post("/fields/notes", json=children).status_code == 200, "children"
        assert admin.post("/items/notes", json={"qty": 1, "tags": ["x", "y"]}).status_code == 200


srv = module_server("bounds", seed=_notes)
unlimited = module_server("bounds", env={"MAX_QUERY_COMPLEXITY": "-1"}, seed=_notes)


def _code(response: httpx.Response) -> str:
    code: str = response.json()["errors"][0]["extensions"]["code"]
    return code


# ------------------------------------------------------------------------------------------ regexes


@pytest.mark.timeout(30)
def test_catastrophic_regex_rule_is_judged_at_once(srv: LiveServer) -> None:
    with srv.client() as admin:
        refused = admin.post("/items/notes", json={"greedy": "a" * 40 + "!"})
        assert (refused.status_code, _code(refused)) == (400, "FAILED_VALIDATION")
        assert admin.post("/items/notes", json={"greedy": "a" * 40}).status_code == 200
    with WS(srv.ws_url) as ws:
        assert ws.request({"type": "auth", "access_token": ADMIN_TOKEN})["status"] == "ok"
        create = {"type": "items", "collection": "notes", "action": "create", "data": {"greedy": "a" * 60 + "!"}}
        reply = ws.request({**create, "uid": "c"}, timeout=20)
        assert reply["error"]["code"] == "FAILED_VALIDATION", reply


@pytest.mark.parametrize(
    ("field", "value", "valid"),
    [
        ("word", "abc", True),
        ("word", "abc\n", False),  # JavaScript's $ is the end of the input; Python's re also matched before \n
        ("shout", "abc", True),  # /…/i literal with a flag
        ("shout", "abd", False),
        ("letter", "AAA", True),  # \uXXXX
        ("anything", "\n", True),  # [^] is any character in JavaScript
        ("year", "2024-01", True),  # (?<name>…) named group
        ("year", "24-01", False),
    ],
)
def test_regex_rules_follow_javascript(srv: LiveServer, field: str, value: str, valid: bool) -> None:
    with srv.client() as admin:
        response = admin.post("/items/notes", json={field: value})
    if valid:
        assert response.status_code == 200, response.text
    else:
        assert (response.status_code, _code(response)) == (400, "FAILED_VALIDATION"), response.text


# ------------------------------------------------------------------------------------ query complexity


def _in_filter(count: int) -> dict[str, Any]:
    return {"qty": {"_in": list(range(count))}}


def test_query_over_the_complexity_limit_is_refused_over_rest(srv: LiveServer) -> None:
    with srv.client() as admin:
        big = admin.get("/items/notes", params={"filter": json.dumps(_in_filter(1_000))})
        assert (big.status_code, _code(big)) == (400, "INVALID_QUERY"), big.text
        assert "MAX_QUERY_COMPLEXITY" in big.json()["errors"][0]["message"]
        fine = admin.get("/items/notes", params={"filter": json.dumps(_in_filter(990))})
        assert fine.status_code == 200 and [row["id"] for row in fine.json()["data"]] == [1]
        fields = admin.get("/items/notes", params=[("fields[]", "id")] * 1_001)
        assert (fields.status_code, _code(fields)) == (400, "INVALID_QUERY")
        deep = admin.get("/items/notes", params={"deep": json.dumps({"x": {"_filter": _in_filter(1_000)}})})
        assert (deep.status_code, _code(deep)) == (400, "INVALID_QUERY"), deep.text
        patch = admin.patch("/items/notes", json={"query": {"filter": _in_filter(5_000)}, "data": {"qty": 2}})
        assert (patch.status_code, _code(patch)) == (400, "INVALID_QUERY")


def test_wildcards_are_counted_as_they_expand(srv: LiveServer, unlimited: LiveServer) -> None:
    """``fields=*.*.*.*.*.*.*.*.*.*`` is one entry, but through an m2o and an o2m to the same collection it
    expands to 2**10 relational branches: 3.4 s of CPU on the event loop for a 20-row table, doubling with
    each level, within ``MAX_RELATIONAL_DEPTH``. The expanded fields count against ``MAX_QUERY_COMPLEXITY``."""
    stars = ".".join(["*"] * 10)
    with srv.client() as admin:
        refused = admin.get("/items/notes", params={"fields": stars})
        assert (refused.status_code, _code(refused)) == (400, "INVALID_QUERY"), refused.text
        assert "MAX_QUERY_COMPLEXITY" in refused.json()["errors"][0]["message"]
        deep = admin.get("/items/notes", params={"fields": f"id,children.{stars}"})
        assert (deep.status_code, _code(deep)) == (400, "INVALID_QUERY"), deep.text
        fine = admin.get("/items/notes", params={"fields": "*.*.*"})
        assert fine.status_code == 200 and fine.json()["data"][0]["children"] == []
    with WS(srv.ws_url) as ws:
        assert ws.request({"type": "auth", "access_token": ADMIN_TOKEN})["status"] == "ok"
        read = {"type": "items", "collection": "notes", "action": "read", "query": {"fields": [stars]}, "uid": "r"}
        reply = ws.request(read, timeout=30)
        assert reply["uid"] == "r" and reply["error"]["code"] == "INVALID_QUERY", reply
    with unlimited.client() as admin:
        answered = admin.get("/items/notes", params={"fields": ".".join(["*"] * 6)})
        assert answered.status_code == 200 and answered.json()["data"][0]["id"] == 1, answered.text


def _nested(levels: int, key: str = "_and") -> str:
    """``levels`` groups one inside another around one condition, as JSON text (``json.dumps`` itself would
    recurse past Python's limit on the deepest)."""
    return f'{{"{key}":[' * levels + '{"qty":{"_eq":1}}' + "]}" * levels


def test_deeply_nested_filters_are_refused_not_a_500(srv: LiveServer) -> None:
    """300 nested ``_and`` groups (a 6 KB query string) or a 500-level JSON path hit Python's recursion
    limit while the filter was sanitized: a 500 on reads, writes by query and WebSocket reads alike."""
    with srv.client() as admin:
        for target in (_nested(300), _nested(300, "_or"), '{"tags":' + '{"a":' * 500 + "1" + "}" * 501):
            read = admin.get("/items/notes", params={"filter": target})
            assert (read.status_code, _code(read)) == (400, "INVALID_QUERY"), read.text
        body = '{"query":{"filter":' + _nested(300) + '},"data":{"qty":2}}'
        patch = admin.patch("/items/notes", content=body, headers={"Content-Type": "application/json"})
        assert (patch.status_code, _code(patch)) == (400, "INVALID_QUERY"), patch.text
        deep = admin.get("/items/notes", params={"deep": '{"children":' * 400 + '{"_limit":1}' + "}" * 400})
        assert (deep.status_code, _code(deep)) == (400, "INVALID_QUERY"), deep.text
        fine = admin.get("/items/notes", params={"filter": _nested(45)})
        assert fine.status_code == 200 and [row["id"] for row in fine.json()["data"]] == [1], fine.text
    with WS(srv.ws_url) as ws:
        assert ws.request({"type": "auth", "access_token": ADMIN_TOKEN})["status"] == "ok"
        frame = '{"type":"items","collection":"notes","action":"read","uid":"n","query":{"filter":' + _nested(300)
        ws.send(frame + "}}")
        reply = ws.recv(timeout=30)
        assert reply["uid"] == "n" and reply["error"]["code"] == "INVALID_QUERY", reply


def test_query_over_the_complexity_limit_is_refused_over_websocket(srv: LiveServer) -> None:
    with WS(srv.ws_url) as ws:
        assert ws.request({"type": "auth", "access_token": ADMIN_TOKEN})["status"] == "ok"
        read = {"type": "items", "collection": "notes", "action": "read", "query": {"filter": _in_filter(60_000)}}
        reply = ws.request({**read, "uid": "big"}, timeout=30)
        assert reply["uid"] == "big" and reply["error"]["code"] == "INVALID_QUERY", reply
        subscribe = {"type": "subscribe", "collection": "notes", "query": {"filter": _in_filter(5_000)}, "uid": "s"}
        reply = ws.request(subscribe, timeout=30)
        assert reply["uid"] == "s" and reply["error"]["code"] == "INVALID_QUERY", reply
        after = ws.request({"type": "items", "collection": "notes", "action": "read", "uid": "after"})
        assert after["uid"] == "after" and after["data"][0]["id"] == 1


def test_the_limit_is_configurable(unlimited: LiveServer) -> None:
    with WS(unlimited.ws_url) as ws:
        assert ws.request({"type": "auth", "access_token": ADMIN_TOKEN})["status"] == "ok"
        read = {"type": "items", "collection": "notes", "action": "read", "query": {"filter": _in_filter(5_000)}}
        reply = ws.request({**read, "uid": "big"}, timeout=30)
        assert [row["id"] for row in reply["data"]] == [1], reply


@pytest.mark.timeout(30)
def test_long_non_numbers_in_numeric_parameters_are_refused_at_once(srv: LiveServer) -> None:
    with srv.client() as admin:
        for name in ("limit", "offset", "page"):
            response = admin.get("/items/notes", params={name: "1" * 20_000 + "x"})
            assert (response.status_code, _code(response)) == (400, "INVALID_QUERY"), name


def test_long_lists_stay_within_sqlite_expression_depth(srv: LiveServer, unlimited: LiveServer) -> None:
    """A csv ``_in`` is one LIKE per value and a big ``_or`` one term per member: SQLite refused both past
    1000 terms ("Expression tree is too large"), a 500. They are grouped into shallow chunks now."""
    csv = {"filter": {"tags": {"_in": [f"v{i}" for i in range(400)] + ["y"]}}, "fields": ["id"]}
    nin = {"filter": {"tags": {"_nin": [f"v{i}" for i in range(400)]}}, "fields": ["id"]}
    wide_or = {"filter": {"_or": [{"qty": {"_eq": i}} for i in range(1, 1500)]}, "fields": ["id"]}
    for server, query in ((srv, csv), (srv, nin), (unlimited, wide_or)):
        with WS(server.ws_url) as ws:
            assert ws.request({"type": "auth", "access_token": ADMIN_TOKEN})["status"] == "ok"
            read = {"type": "items", "collection": "notes", "action": "read", "query": query, "uid": "r"}
            reply = ws.request(read, timeout=30)
            assert reply.get("data") == [{"id": 1}], reply
