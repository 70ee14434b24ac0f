"""Bad values in queries and payloads answer 400 with Directus's codes, never a 500, on every engine.

A number a column cannot hold (``1e309``, ``2**64``, ``1e10`` on a 32-bit integer, more digits than a
decimal's precision) used to reach the driver and fail there (``OverflowError`` on SQLite, ``value out of
int32 range`` on PostgreSQL) as a 500 that also dropped the keep-alive connection; ``1e1000000`` on an
integer field took the event loop for most of a minute. Each case here is asked over a REST keep-alive
connection and over a WebSocket, and the same connection must answer the next request.
"""

from __future__ import annotations

import json
import socket
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from tests.realtime.wsclient import WS
from tests.support.live import ADMIN_TOKEN, LiveServer
from tests.support.servers import module_server

STOCK = {
    "collection": "stock",
    "schema": {},
    "meta": {},
    "fields": [
        {"field": "id", "type": "integer", "schema": {"is_primary_key": True, "has_auto_increment": True}},
        {"field": "qty", "type": "integer", "schema": {}},
        {"field": "big", "type": "bigInteger", "schema": {}},
        {"field": "ratio", "type": "float", "schema": {}},
        {"field": "amount", "type": "decimal", "schema": {}},
        {"field": "name", "type": "string", "schema": {}},
        {"field": "body", "type": "text", "schema": {}},
        {"field": "checked", "type": "integer", "schema": {}, "meta": {"validation": {"checked": {"_gt": 0}}}},
        {"field": "at", "type": "timestamp", "schema": {}},
        {"field": "day", "type": "date", "schema": {}},
        {"field": "moment", "type": "dateTime", "schema": {}},
        {"field": "doc", "type": "json", "schema": {}, "meta": {"special": ["cast-json"]}},
        {"field": "flag", "type": "boolean", "schema": {}},
    ],
}


def _stock(server: LiveServer) -> None:
    with server.client() as admin:
        assert admin.post("/collections", json=STOCK).status_code == 200
        parent = {"field": "parent", "type": "integer", "schema": {}, "meta": {"special": ["m2o"]}}
        assert admin.post("/fields/stock", json=parent).status_code == 200
        relation = {"collection": "stock", "field": "parent", "related_collection": "stock"}
        assert admin.post("/relations", json=relation).status_code == 200
        row = {
            "qty": 1,
            "big": 5,
            "ratio": 1.5,
            "amount": "1.5",
            "name": "a",
            "body": "a",
            "checked": 1,
            "doc": {"k": 1},
        }
        assert admin.post("/items/stock", json=row).status_code == 200


srv = module_server("bad-values", seed=_stock)


# ------------------------------------------------------------------------------ one keep-alive socket


def _http_exchange(sock: socket.socket, target: str, method: str = "GET", body: bytes = b"") -> tuple[int, Any]:
    """One HTTP/1.1 request on an open socket; the status and the JSON body (reads exactly Content-Length)."""
    head = (
        f"{method} {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {ADMIN_TOKEN}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    sock.sendall(head.encode() + body)
    buffer = b""
    while b"\r\n\r\n" not in buffer:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("the server closed the keep-alive connection")
        buffer += chunk
    header, rest = buffer.split(b"\r\n\r\n", 1)
    lines = header.decode().split("\r\n")
    status = int(lines[0].split()[1])
    length = next(int(line.split(":")[1]) for line in lines if line.lower().startswith("content-length:"))
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("the server closed the connection mid-body")
        rest += chunk
    return status, json.loads(rest) if rest else None


def _rest_twice(srv: LiveServer, target: str, method: str = "GET", body: Any = None) -> tuple[int, Any]:
    """The answer to ``target``, after which the same connection must still answer a ping-like read."""
    with socket.create_connection(("127.0.0.1", srv.port), timeout=30) as sock:
        payload = b"" if body is None else json.dumps(body).encode()
        status, answer = _http_exchange(sock, target, method, payload)
        after, _ = _http_exchange(sock, "/items/stock?limit=1")
        assert after == 200, "the keep-alive connection did not survive the bad request"
    return status, answer


def _code(answer: Any) -> str:
    code: str = answer["errors"][0]["extensions"]["code"]
    return code


def _ws_twice(srv: LiveServer, message: dict[str, Any]) -> Any:
    with WS(srv.ws_url) as ws:
        assert ws.request({"type": "auth", "access_token": ADMIN_TOKEN})["status"] == "ok"
        reply = ws.request({**message, "uid": "bad"}, timeout=30)
        after = ws.request({"type": "items", "collection": "stock", "action": "read", "uid": "after"})
        assert after.get("status") != "error" and after["uid"] == "after", after
    return reply


# ------------------------------------------------------------------------------ filters that overflow

OVERFLOWING_FILTERS: list[tuple[str, str, Any]] = [
    ("qty", "_eq", "1e309"),
    ("qty", "_eq", "18446744073709551616"),
    ("qty", "_eq", "10000000000"),  # fits SQLite, not PostgreSQL's int4
    ("qty", "_eq", "-1e309"),
    ("qty", "_gt", "1e309"),
    ("qty", "_in", "18446744073709551616,1"),
    ("qty", "_between", "1,1e309"),
    ("qty", "_eq", "1e1000000"),  # used to build a million-digit int on the event loop
    ("big", "_eq", "18446744073709551616"),
    ("big", "_gt", "1e999999999"),
    ("id", "_eq", "1e10"),
    ("parent", "_eq", "18446744073709551616"),  # an m2o key
    ("amount", "_eq", "1e10"),  # more integer digits than decimal(10, 5) holds
    ("amount", "_gt", "1e999999999"),
    ("ratio", "_gt", "1e309"),
]


@pytest.mark.parametrize(("field", "operator", "value"), OVERFLOWING_FILTERS)
def test_overflowing_filter_value_is_invalid_query_over_rest(
    srv: LiveServer, field: str, operator: str, value: str
) -> None:
    status, answer = _rest_twice(srv, f"/items/stock?filter[{field}][{operator}]={quote(value)}")
    assert (status, _code(answer)) == (400, "INVALID_QUERY"), answer


@pytest.mark.parametrize(("field", "operator", "value"), OVERFLOWING_FILTERS)
def test_overflowing_filter_value_is_invalid_query_over_websocket(
    srv: LiveServer, field: str, operator: str, value: str
) -> None:
    argument: Any = value.split(",") if operator in ("_in", "_between") else value
    read = {
        "type": "items",
        "collection": "stock",
        "action": "read",
        "query": {"filter": {field: {operator: argument}}},
    }
    reply = _ws_twice(srv, read)
    assert reply["status"] == "error" and reply["error"]["code"] == "INVALID_QUERY", reply


def test_overflow_in_a_relational_filter_and_a_json_number(srv: LiveServer) -> None:
    status, answer = _rest_twice(srv, "/items/stock?filter[parent][qty][_eq]=1e309")
    assert (status, _code(answer)) == (400, "INVALID_QUERY")
    read = {"type": "items", "collection": "stock", "action": "read", "query": {"filter": {"qty": {"_in": [2**64]}}}}
    assert _ws_twice(srv, read)["error"]["code"] == "INVALID_QUERY"


def test_numbers_in_range_still_match(srv: LiveServer) -> None:
    for target in (
        "/items/stock?filter[qty][_in]=1,2147483647",
        "/items/stock?filter[big][_lte]=9223372036854775807",
        "/items/stock?filter[amount][_eq]=1.5",
        "/items/stock?filter[amount][_lt]=99999.99999",
        "/items/stock?filter[ratio][_lt]=1e308",
    ):
        status, answer = _rest_twice(srv, target)
        assert status == 200 and [row["id"] for row in answer["data"]] == [1], (target, answer)


# ------------------------------------------------------------------------------ search and long text

SEARCHES = ["x" * 500_000, "1" * 500_000, "1" * 400, "9" * 30, "1e309", "1e999999", "-1e309", "1." + "1" * 100_000]


@pytest.mark.parametrize("search", SEARCHES, ids=lambda s: f"{s[:8]}..{len(s)}")
def test_any_search_text_answers_over_websocket(srv: LiveServer, search: str) -> None:
    reply = _ws_twice(srv, {"type": "items", "collection": "stock", "action": "read", "query": {"search": search}})
    assert reply.get("status") != "error" and reply["data"] == [], reply


def test_numeric_search_still_matches(srv: LiveServer) -> None:
    reply = _ws_twice(srv, {"type": "items", "collection": "stock", "action": "read", "query": {"search": "5"}})
    assert [row["id"] for row in reply["data"]] == [1]


@pytest.mark.parametrize("operator", ["_contains", "_starts_with", "_ends_with", "_icontains", "_ncontains"])
def test_long_text_operators_answer(srv: LiveServer, operator: str) -> None:
    """Patterns beyond SQLite's 50,000-byte LIKE/GLOB limit are matched like any other."""
    long = "a" * 60_000
    query = {"filter": {"body": {operator: long}}}
    reply = _ws_twice(srv, {"type": "items", "collection": "stock", "action": "read", "query": query})
    assert reply.get("status") != "error", reply
    assert [row["id"] for row in reply["data"]] == ([1] if operator == "_ncontains" else [])


def test_long_text_operators_match_what_they_should(srv: LiveServer) -> None:
    long = "b" * 60_001
    with srv.client() as admin:
        created = admin.post("/items/stock", json={"body": "<" + long + ">"}).json()["data"]["id"]
        try:
            for operator, value, hit in (
                ("_contains", long, True),
                ("_starts_with", "<" + long, True),
                ("_ends_with", long + ">", True),
                ("_ends_with", long + "<", False),
                ("_icontains", long.upper(), True),
                ("_starts_with", long, False),
            ):
                query = {"filter": {"body": {operator: value}}, "fields": ["id"]}
                reply = _ws_twice(srv, {"type": "items", "collection": "stock", "action": "read", "query": query})
                assert [row["id"] for row in reply["data"]] == ([created] if hit else []), operator
        finally:
            admin.delete(f"/items/stock/{created}")


# ------------------------------------------------------------------------------------------ payloads


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"qty": "abc"}, "INVALID_PAYLOAD"),
        ({"qty": 2**64}, "VALUE_OUT_OF_RANGE"),
        ({"qty": "1e999999999"}, "INVALID_PAYLOAD"),
        ({"amount": "1e999999999"}, "VALUE_OUT_OF_RANGE"),
        ({"amount": "-1e999999999"}, "VALUE_OUT_OF_RANGE"),
        ({"big": "9" * 5000}, "INVALID_PAYLOAD"),
        ({"checked": "abc"}, "FAILED_VALIDATION"),  # a validation rule compares it with a number
        ({"checked": "1e999999999"}, "FAILED_VALIDATION"),
        ({"checked": [1]}, "FAILED_VALIDATION"),
        ({"at": 253402300800000.0}, "INVALID_PAYLOAD"),  # epoch ms past year 9999 (found by the fuzz test)
        ({"at": -1e20}, "INVALID_PAYLOAD"),
        ({"at": "9999-12-31T23:00:00-05:00"}, "INVALID_PAYLOAD"),  # in UTC it is past year 9999
        ({"day": 1e300}, "INVALID_PAYLOAD"),
        ({"moment": 253402300800000}, "INVALID_PAYLOAD"),
    ],
)
def test_bad_payload_value_is_a_400(srv: LiveServer, body: dict[str, Any], code: str) -> None:
    status, answer = _rest_twice(srv, "/items/stock", "POST", body)
    assert (status, _code(answer)) == (400, code), answer
    reply = _ws_twice(srv, {"type": "items", "collection": "stock", "action": "create", "data": body})
    assert reply["status"] == "error" and reply["error"]["code"] == code, reply


def test_payload_checks_do_not_block_other_clients(srv: LiveServer) -> None:
    """The server keeps answering while it refuses huge exponents (no giant integers are built)."""
    with httpx.Client(base_url=srv.url, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, timeout=30) as client:
        for value in ("1e999999999", "-1e999999999", "9" * 4301):
            assert client.post("/items/stock", json={"qty": value}).status_code == 400
            assert client.get("/server/ping").status_code == 200


def test_over_precise_decimal_is_refused_not_sent(srv: LiveServer) -> None:
    status, answer = _rest_twice(srv, "/items/stock?filter[amount][_gt]=1e-999999999")
    assert (status, _code(answer)) == (400, "INVALID_QUERY")
    status, answer = _rest_twice(srv, "/items/stock", "POST", {"amount": "1." + "1" * 100_000})
    assert (status, _code(answer)) == (400, "VALUE_OUT_OF_RANGE")


@pytest.mark.parametrize("query", [{"aggregate": {"count": "id"}}, {"groupBy": ["qty"]}])
def test_write_by_query_ignores_aggregation(srv: LiveServer, query: dict[str, Any]) -> None:
    """Found by tests/fuzz: an aggregate in a PATCH/DELETE body's query was a 500 (KeyError on the key)."""
    body = {"query": {**query, "filter": {"id": {"_eq": 1}}}, "data": {"name": "a"}}
    status, answer = _rest_twice(srv, "/items/stock", "PATCH", body)
    assert status == 200 and [row["id"] for row in answer["data"]] == [1], answer


# ------------------------------------------------------------------------- aggregate, groupBy, sort, page


@pytest.mark.parametrize(
    "target",
    [
        "aggregate[sum]=name",  # PostgreSQL: function sum(character varying) does not exist
        "aggregate[avg]=at",
        "aggregate[sumDistinct]=body",
        "aggregate[avgDistinct]=day",
        "aggregate[sum]=flag",
        "aggregate[sum]=doc",
        "aggregate[min]=flag",  # PostgreSQL: function min(boolean) does not exist
        "aggregate[max]=doc",
        "aggregate[count]=",  # a SELECT of nothing, a syntax error on every engine
        "aggregate[sum]=,",
        "groupBy=name&aggregate[avg]=name",
    ],
)
def test_an_aggregate_its_field_cannot_take_is_invalid_query(srv: LiveServer, target: str) -> None:
    """Each was a 500 on PostgreSQL (the type checks) or on every engine (no field), where SQLite and MySQL
    summed text as 0: now INVALID_QUERY everywhere, and the connection answers the next request."""
    status, answer = _rest_twice(srv, f"/items/stock?{target}")
    assert (status, _code(answer)) == (400, "INVALID_QUERY"), answer


def test_aggregates_of_the_types_they_take_still_answer(srv: LiveServer) -> None:
    target = "/items/stock?aggregate[sum]=qty,amount&aggregate[avg]=ratio&aggregate[max]=name,at&aggregate[countAll]"
    status, answer = _rest_twice(srv, target)
    assert status == 200, answer
    row = answer["data"][0]
    assert (row["sum"]["qty"], row["avg"]["ratio"], row["max"]["name"], row["countAll"]) == (1, 1.5, "a", 1)


@pytest.fixture(scope="module")
def huge(srv: LiveServer) -> str:
    """A collection of values each in range whose sums are not: two bigIntegers of 9e18, two floats of 1.7e308."""
    pk = {"field": "id", "type": "integer", "schema": {"is_primary_key": True, "has_auto_increment": True}}
    fields: list[dict[str, Any]] = [pk, {"field": "big", "type": "bigInteger", "schema": {}}]
    fields.append({"field": "ratio", "type": "float", "schema": {}})
    fields.append({"field": "kind", "type": "string", "schema": {}})
    with srv.client() as admin:
        created = admin.post("/collections", json={"collection": "huge", "schema": {}, "meta": {}, "fields": fields})
        assert created.status_code == 200, created.text
        rows = [{"big": "9000000000000000000", "ratio": 1.7e308, "kind": "a"} for _ in range(2)]
        assert admin.post("/items/huge", json=rows).status_code == 200
    return "huge"


@pytest.mark.parametrize(
    "query",
    [
        "aggregate[sum]=big",
        "aggregate[sum]=big&groupBy=kind",
        "aggregate[sumDistinct]=big&aggregate[sum]=ratio",
        "aggregate[sum]=ratio",
        "aggregate[avg]=ratio",
    ],
)
def test_an_aggregate_past_its_type_is_invalid_query_or_answers(srv: LiveServer, huge: str, query: str) -> None:
    """A sum past 64 bits (SQLite) or past a double (PostgreSQL) failed in the database: a 500. Each engine
    now answers (PostgreSQL's numeric sum of bigIntegers, SQLite's infinite float as null) or says why."""
    status, answer = _rest_twice(srv, f"/items/{huge}?{query}")
    if status == 400:
        assert _code(answer) == "INVALID_QUERY", answer
        assert answer["errors"][0]["extensions"]["reason"] == "A numeric value the query computes is out of range"
    else:
        assert status == 200, answer


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("sort=-doc&fields=id", [{"id": 1}]),
        ("groupBy=doc", [{"doc": {"k": 1}}]),
        ("aggregate[countDistinct]=doc", [{"countDistinct": {"doc": 1}}]),
        ("filter[id][_eq]=1&fields=id,parent.id&sort=parent.doc", [{"id": 1, "parent": None}]),
    ],
)
def test_json_fields_sort_group_and_count_distinct(srv: LiveServer, target: str, expected: Any) -> None:
    """PostgreSQL's ``json`` type has no order and no equality: each was a 500 there (they are read as
    ``jsonb``), and answered on SQLite and MySQL."""
    status, answer = _rest_twice(srv, f"/items/stock?{target}")
    assert (status, answer["data"]) == (200, expected), answer


@pytest.mark.parametrize("target", ["page=9007199254740991&limit=100000000", "page=4503599627370497&limit=4096"])
def test_a_page_past_every_row_is_empty(srv: LiveServer, target: str) -> None:
    """``(page - 1) * limit`` beyond bigint was a 500 on every engine; past any table it is an empty page."""
    status, answer = _rest_twice(srv, f"/items/stock?{target}")
    assert (status, answer["data"]) == (200, []), answer


def _nested_list(levels: int) -> Any:
    value: Any = []
    for _ in range(levels - 1):
        value = [value]
    return value


def _stock_count(srv: LiveServer) -> int:
    with srv.client() as admin:
        count: int = admin.get("/items/stock", params={"aggregate[count]": "*"}).json()["data"][0]["count"]
    return count


def test_a_json_value_nested_too_deeply_is_refused_before_it_is_written(srv: LiveServer) -> None:
    """A JSON field's value nested 300 deep was stored, then the create answered 500 (orjson writes at most 254
    levels): a committed write reported as failed, and every later read of the row failed as well; on MariaDB
    32 levels were a 500 (its JSON CHECK). Now INVALID_PAYLOAD over REST and WebSocket with nothing written
    beyond 30 levels on every engine; 30 levels are stored and read back."""
    before = _stock_count(srv)
    deep = {"doc": _nested_list(300)}
    status, answer = _rest_twice(srv, "/items/stock", "POST", {"doc": _nested_list(31)})
    assert (status, _code(answer)) == (400, "INVALID_PAYLOAD"), answer
    status, answer = _rest_twice(srv, "/items/stock", "POST", deep)
    assert (status, _code(answer)) == (400, "INVALID_PAYLOAD"), answer
    status, answer = _rest_twice(srv, "/items/stock/1", "PATCH", deep)
    assert (status, _code(answer)) == (400, "INVALID_PAYLOAD"), answer
    reply = _ws_twice(srv, {"type": "items", "collection": "stock", "action": "create", "data": deep})
    assert reply["status"] == "error" and reply["error"]["code"] == "INVALID_PAYLOAD", reply
    assert _stock_count(srv) == before
    with srv.client() as admin:
        kept = admin.post("/items/stock", json={"doc": _nested_list(30)})
        assert kept.status_code == 200, kept.text
        key = kept.json()["data"]["id"]
        try:
            assert admin.get(f"/items/stock/{key}").json()["data"]["doc"] == _nested_list(30)
        finally:
            admin.delete(f"/items/stock/{key}")


@pytest.mark.parametrize(
    "filter_",
    [{"parent": {"_some": None}}, {"name": {"_none": None}}, {"_and": [{"parent": {"_none": None}}]}],
    ids=["some", "none", "nested"],
)
def test_a_quantifier_without_a_filter_is_invalid_query(srv: LiveServer, filter_: dict[str, Any]) -> None:
    """``{"parent": {"_some": null}}`` was a 500 on every engine and path: the shape check raised an internal
    exception the query parser did not turn into Directus's ``Invalid filter object``."""
    status, answer = _rest_twice(srv, f"/items/stock?filter={quote(json.dumps(filter_))}")
    assert (status, _code(answer)) == (400, "INVALID_QUERY"), answer
    status, answer = _rest_twice(srv, "/items/stock", "PATCH", {"query": {"filter": filter_}, "data": {"qty": 3}})
    assert (status, _code(answer)) == (400, "INVALID_QUERY"), answer
    reply = _ws_twice(srv, {"type": "items", "collection": "stock", "action": "read", "query": {"filter": filter_}})
    assert reply["status"] == "error" and reply["error"]["code"] == "INVALID_QUERY", reply


def test_a_json_sort_field_orders_the_default_read(srv: LiveServer) -> None:
    """The collection's ``sort_field`` on a JSON field: every read without ``sort`` was a 500 on PostgreSQL."""
    with srv.client() as admin:
        assert admin.patch("/collections/stock", json={"meta": {"sort_field": "doc"}}).status_code == 200
        try:
            status, answer = _rest_twice(srv, "/items/stock?fields=id&filter[id][_eq]=1")
        finally:
            assert admin.patch("/collections/stock", json={"meta": {"sort_field": None}}).status_code == 200
    assert (status, answer["data"]) == (200, [{"id": 1}]), answer
