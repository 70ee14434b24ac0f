"""Random JSON in every query parameter and payload field never makes the server answer 5xx (issue 7 #5).

Hypothesis draws values that are partly shaped like the real thing (field names, operators, numbers at
and past every column's limits, Directus's special strings) and partly anything JSON can hold, and sends
them over one REST keep-alive connection and one WebSocket: every answer is a success or a Directus-shaped
4xx error, no WebSocket reply is ``INTERNAL_SERVER_ERROR``, and both connections keep answering. Examples
are bounded (a few seconds in all); SQLite only (the engine suites cover the SQL differences).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.realtime.wsclient import WS
from tests.support.examples import examples
from tests.support.live import ADMIN_TOKEN, LiveServer, live_server, scratch_database

FIELDS = {
    "id": "integer",
    "qty": "integer",
    "big": "bigInteger",
    "ratio": "float",
    "amount": "decimal",
    "name": "string",
    "body": "text",
    "ref": "uuid",
    "data": "json",
    "flag": "boolean",
    "at": "timestamp",
    "day": "date",
    "tags": "csv",
}
COLLECTION = {
    "collection": "fuzz",
    "schema": {},
    "meta": {},
    "fields": [
        {"field": "id", "type": "integer", "schema": {"is_primary_key": True, "has_auto_increment": True}},
        *({"field": name, "type": kind, "schema": {}} for name, kind in FIELDS.items() if name != "id"),
    ],
}
PARAMETERS = ["fields", "filter", "sort", "limit", "offset", "page", "search", "meta", "aggregate", "groupBy"]
PARAMETERS += ["deep", "alias", "backlink"]
OPERATORS = ["_eq", "_neq", "_lt", "_lte", "_gt", "_gte", "_in", "_nin", "_between", "_nbetween", "_null"]
OPERATORS += ["_nnull", "_contains", "_icontains", "_starts_with", "_ends_with", "_empty", "_regex", "_some"]
OPERATORS += ["_none", "_and", "_or", "_intersects", "_json", "_bogus", "_ieq"]
SPECIAL = ["*", "*.*", "$NOW", "$NOW(-1 day)", "$CURRENT_USER", "1e309", "-1e309", "18446744073709551616", "NaN"]
SPECIAL += ["Infinity", "0x1f", "", " ", "null", "true", "count(id)", "year(at)", "-qty", "parent.name", "{", "["]

NAMES = st.sampled_from([*FIELDS, "parent", "nope", "json(data, a.b)", "count(tags)", "year(at)", "$CURRENT_USER"])
NUMBERS = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([2**31, -(2**31) - 1, 2**63, 9007199254740993, 1e308, -1e308, 5e-324]),
)
SCALARS = st.one_of(st.none(), st.booleans(), NUMBERS, st.text(max_size=30), st.sampled_from(SPECIAL))
ANY_JSON = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5),
        st.dictionaries(st.one_of(NAMES, st.sampled_from(OPERATORS), st.text(max_size=8)), inner, max_size=4),
    ),
    max_leaves=20,
)
FILTERS = st.recursive(
    st.builds(lambda op, value: {op: value}, st.sampled_from(OPERATORS), ANY_JSON),
    lambda inner: st.one_of(
        st.dictionaries(NAMES, inner, min_size=1, max_size=3),
        st.builds(lambda group, items: {group: items}, st.sampled_from(["_and", "_or"]), st.lists(inner, max_size=3)),
    ),
    max_leaves=8,
)
PARAMETER_VALUE = {
    "fields": st.one_of(st.lists(NAMES, max_size=4), ANY_JSON),
    "filter": st.one_of(FILTERS.map(lambda f: {"qty": f} if f and next(iter(f)).startswith("_") else f), ANY_JSON),
    "sort": st.one_of(st.lists(NAMES.map(lambda n: "-" + n), max_size=3), ANY_JSON),
    "aggregate": st.one_of(st.dictionaries(st.sampled_from(["count", "sum", "avg", "min", "bogus"]), NAMES), ANY_JSON),
    "deep": st.one_of(
        st.dictionaries(NAMES, st.dictionaries(st.sampled_from(["_limit", "_filter"]), ANY_JSON)), ANY_JSON
    ),
}
QUERIES = st.dictionaries(
    st.sampled_from(PARAMETERS),
    ANY_JSON,
    max_size=5,
).flatmap(
    lambda base: st.fixed_dictionaries(
        {name: PARAMETER_VALUE.get(name, ANY_JSON) for name in base},
    )
)
PAYLOADS = st.one_of(st.dictionaries(NAMES, ANY_JSON, max_size=5), ANY_JSON)
FUZZ = settings(max_examples=examples(50), deadline=None, suppress_health_check=[HealthCheck.too_slow])


class Conn:
    """One REST keep-alive client and one authenticated WebSocket, shared by every example."""

    def __init__(self, server: LiveServer) -> None:
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        self.http = httpx.Client(
            base_url=server.url, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, timeout=30, limits=limits
        )
        self.ws = WS(server.ws_url)
        assert self.ws.request({"type": "auth", "access_token": ADMIN_TOKEN})["status"] == "ok"
        self.uid = 0

    def rest(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        response = self.http.request(method, url, **kwargs)
        assert response.status_code < 500, (method, url, kwargs, response.text)
        if response.status_code >= 400:
            error = response.json()["errors"][0]
            assert error["extensions"]["code"] != "INTERNAL_SERVER_ERROR", error
        return response

    def frame(self, message: dict[str, Any]) -> Any:
        self.uid += 1
        uid = f"f{self.uid}"
        self.ws.send({**message, "uid": uid})
        reply = self.ws.recv_until(lambda frame: frame.get("uid") == uid, timeout=30)  # skips pings and events
        if reply.get("status") == "error":
            assert reply["error"]["code"] != "INTERNAL_SERVER_ERROR", (message, reply)
        if reply.get("type") == "subscription":
            self.ws.send({"type": "unsubscribe", "uid": uid})
        return reply

    def still_usable(self) -> None:
        assert self.http.get("/server/ping").status_code == 200
        reply = self.frame({"type": "items", "collection": "fuzz", "action": "read", "query": {"limit": 1}})
        assert reply.get("status") != "error", reply


@pytest.fixture(scope="module")
def conn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Conn]:
    with scratch_database(tmp_path_factory.mktemp("fuzz")) as db, live_server(db) as server:
        with server.client() as admin:
            assert admin.post("/collections", json=COLLECTION).status_code == 200
            parent = {"field": "parent", "type": "integer", "schema": {}, "meta": {"special": ["m2o"]}}
            assert admin.post("/fields/fuzz", json=parent).status_code == 200
            relation = {"collection": "fuzz", "field": "parent", "related_collection": "fuzz"}
            assert admin.post("/relations", json=relation).status_code == 200
            row = {"qty": 1, "name": "a", "body": "b", "tags": ["x", "y"], "data": {"a": {"b": 1}}, "flag": True}
            assert admin.post("/items/fuzz", json=row).status_code == 200
        connection = Conn(server)
        yield connection
        connection.ws.close()
        connection.http.close()


def _url_form(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


# Examples that once answered 500 (issue 7 #5), kept so that every run tries them.
KNOWN_BAD = [
    {"filter": {"qty": {"_eq": "1e309"}}},
    {"filter": {"big": {"_in": ["18446744073709551616"]}}},
    {"search": "9" * 30},
    {"aggregate": {"count": "id"}},
]


@FUZZ
@given(query=QUERIES)
@example(query=KNOWN_BAD[0])
@example(query=KNOWN_BAD[1])
@example(query=KNOWN_BAD[2])
@example(query=KNOWN_BAD[3])
def test_random_queries_over_rest(conn: Conn, query: dict[str, Any]) -> None:
    conn.rest("GET", "/items/fuzz", params={name: _url_form(value) for name, value in query.items()})
    conn.rest("PATCH", "/items/fuzz", json={"query": query, "data": {"name": "p"}})
    conn.still_usable()


@FUZZ
@given(query=QUERIES)
@example(query=KNOWN_BAD[0])
@example(query=KNOWN_BAD[1])
@example(query=KNOWN_BAD[2])
def test_random_queries_over_websocket(conn: Conn, query: dict[str, Any]) -> None:
    conn.frame({"type": "items", "collection": "fuzz", "action": "read", "query": query})
    conn.frame({"type": "subscribe", "collection": "fuzz", "query": query})
    conn.still_usable()


@FUZZ
@given(payload=PAYLOADS, query=st.one_of(st.none(), QUERIES))
@example(payload={"qty": "1e999999999"}, query=None)
def test_random_payloads(conn: Conn, payload: Any, query: dict[str, Any] | None) -> None:
    conn.rest("POST", "/items/fuzz", json=payload)
    conn.rest("PATCH", "/items/fuzz/1", json=payload)
    message: dict[str, Any] = {"type": "items", "collection": "fuzz", "action": "create", "data": payload}
    conn.frame(message if query is None else {**message, "query": query})
    conn.frame({"type": "items", "collection": "fuzz", "action": "update", "id": 1, "data": payload})
    conn.still_usable()
