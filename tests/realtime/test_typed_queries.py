"""A query the database cannot run for a field's type is the client's mistake: ``INVALID_QUERY`` with the uid on
the socket (a ``subscribe`` and an ``items`` read) and 400 over REST, the same on every engine; the socket
stays usable and the log has no traceback.

Found by a hostile run: ``sum``/``avg`` of text, dates or booleans, ``min``/``max`` of a boolean,
``min``/``max`` of a ``json`` field reached the database, which
refused some of them (PostgreSQL: 51 of the combinations; SQLite: ``sum`` of a timestamp could not be read back;
MySQL: ``sum`` of a ``time`` or of JSON): an ``items`` read answered ``INTERNAL_SERVER_ERROR``, a ``subscribe``
nothing at all, REST a 500, each with a traceback in the log.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.realtime.wsclient import WS
from tests.support.live import ADMIN_TOKEN, LiveServer
from tests.support.servers import NO_HEARTBEAT, module_server
from tidepool.services.payload_cast import MAX_JSON_NESTING


def typed_collection(server: LiveServer) -> None:
    """``typed``: a field of each type the refusals concern, and two rows."""
    kinds = ("string", "boolean", "json", "timestamp", "time", "integer")
    key = {"field": "id", "type": "integer", "schema": {"is_primary_key": True, "has_auto_increment": True}}
    fields = [key, *({"field": f"f_{kind}", "type": kind, "schema": {}} for kind in kinds)]
    row = {
        "f_string": "a",
        "f_boolean": True,
        "f_json": {"a": 1},
        "f_timestamp": "2024-01-01T00:00:00Z",
        "f_time": "12:00:00",
        "f_integer": 2,
    }
    with server.client() as admin:
        created = admin.post("/collections", json={"collection": "typed", "schema": {}, "meta": {}, "fields": fields})
        assert created.status_code == 200, created.text
        assert admin.post("/items/typed", json=[row, row]).status_code == 200


srv = module_server("typed-queries", env=NO_HEARTBEAT, seed=typed_collection)

REFUSED: list[tuple[dict[str, Any], str]] = [
    ({"aggregate": {"sum": ["f_string"]}}, '"sum" can\'t be used on field "f_string" of type "string"'),
    ({"aggregate": {"avg": ["f_boolean"]}}, '"avg" can\'t be used on field "f_boolean" of type "boolean"'),
    ({"aggregate": {"sum": ["f_timestamp"]}}, '"sum" can\'t be used on field "f_timestamp" of type "timestamp"'),
    ({"aggregate": {"sumDistinct": ["f_time"]}}, '"sumDistinct" can\'t be used on field "f_time" of type "time"'),
    ({"aggregate": {"avgDistinct": ["f_json"]}}, '"avgDistinct" can\'t be used on field "f_json" of type "json"'),
    ({"aggregate": {"max": ["f_boolean"]}}, '"max" can\'t be used on field "f_boolean" of type "boolean"'),
    ({"aggregate": {"min": ["f_json"]}}, '"min" can\'t be used on field "f_json" of type "json"'),
]


def refusal(reason: str, uid: str | None = None, type_: str = "items") -> dict[str, Any]:
    frame: dict[str, Any] = {
        "type": type_,
        "status": "error",
        "error": {"code": "INVALID_QUERY", "message": f"Invalid query. {reason}."},
    }
    if uid is not None:
        frame["uid"] = uid
    return frame


@pytest.mark.parametrize(("query", "reason"), REFUSED, ids=[f"case{n}" for n in range(len(REFUSED))])
def test_a_query_the_field_type_cannot_take_is_invalid_query(
    srv: LiveServer, query: dict[str, Any], reason: str
) -> None:
    with WS(srv.ws_url) as ws:
        assert ws.request({"type": "auth", "access_token": ADMIN_TOKEN})["status"] == "ok"
        read = {"type": "items", "collection": "typed", "action": "read", "query": query, "uid": "r"}
        assert ws.request(read, timeout=10) == refusal(reason, "r")
        subscribe = {"type": "subscribe", "collection": "typed", "query": query, "uid": "s"}
        assert ws.request(subscribe, timeout=10) == refusal(reason, "s", "subscribe")
        after = {"type": "subscription", "event": "unsubscribe", "uid": "after"}
        assert ws.request({"type": "unsubscribe", "uid": "after"}) == after  # the socket still answers
    with srv.client() as admin:
        params = {"sort": ",".join(query["sort"])} if "sort" in query else {}
        for function, names in query.get("aggregate", {}).items():
            params[f"aggregate[{function}]"] = ",".join(names)
        if "groupBy" in query:
            params["groupBy"] = ",".join(query["groupBy"])
        response = admin.get("/items/typed", params=params)
        assert response.status_code == 400, response.text
        assert response.json()["errors"][0]["message"] == f"Invalid query. {reason}."


def test_what_each_type_takes_still_answers(srv: LiveServer) -> None:
    """The functions a type takes are unchanged: counts of anything, sums of numbers, min/max of text and
    dates, sort and groupBy of plain values; a ``json`` field is counted distinctly, grouped and sorted on every
    engine (PostgreSQL compares it as ``jsonb``)."""
    query = {
        "aggregate": {"count": ["f_json"], "sum": ["f_integer"], "max": ["f_string", "f_timestamp"]},
        "groupBy": ["f_boolean"],
        "sort": ["f_boolean"],
    }
    with WS(srv.ws_url) as ws:
        assert ws.request({"type": "auth", "access_token": ADMIN_TOKEN})["status"] == "ok"
        read = ws.request({"type": "items", "collection": "typed", "action": "read", "query": query, "uid": "r"})
    assert read == {
        "type": "items",
        "data": [
            {
                "f_boolean": True,
                "count": {"f_json": 2},
                "sum": {"f_integer": 4},
                "max": {"f_string": "a", "f_timestamp": "2024-01-01T00:00:00.000Z"},
            }
        ],
        "uid": "r",
    }


def _nested_list(levels: int) -> Any:
    value: Any = "leaf"
    for _ in range(levels):
        value = [value]
    return value


def test_a_json_value_nested_past_the_bound_is_refused_and_nothing_is_written(srv: LiveServer) -> None:
    """A ``json`` value nested past ``MAX_JSON_NESTING`` (30: MariaDB's JSON columns hold 31 levels, and a
    revision keeps the value one level down) is ``INVALID_PAYLOAD`` with the uid and writes nothing; one at the
    bound is written, answered and sent to a subscriber on every engine. A 300-level value used to be written on
    SQLite and PostgreSQL and then fail its own reply (a committed write answered ``INTERNAL_SERVER_ERROR``) and
    every later read of the collection; on MariaDB 31 levels failed the revision's check."""
    with WS(srv.ws_url) as ws, srv.client() as admin:
        assert ws.request({"type": "auth", "access_token": ADMIN_TOKEN})["status"] == "ok"
        before = admin.get("/items/typed", params={"aggregate[count]": "*"}).json()["data"]
        for levels in (MAX_JSON_NESTING + 1, 300):
            create = {"type": "items", "collection": "typed", "action": "create", "uid": "deep"}
            reply = ws.request({**create, "data": {"f_json": _nested_list(levels)}}, timeout=10)
            assert reply == {
                "type": "items",
                "status": "error",
                "error": {
                    "code": "INVALID_PAYLOAD",
                    "message": f'Invalid payload. "f_json" is nested too deeply: more than {MAX_JSON_NESTING} levels.',
                },
                "uid": "deep",
            }
        assert admin.get("/items/typed", params={"aggregate[count]": "*"}).json()["data"] == before
        subscribe = {"type": "subscribe", "collection": "typed", "query": {"fields": ["f_json"]}, "uid": "s"}
        assert ws.request(subscribe)["event"] == "init"
        create = {"type": "items", "collection": "typed", "action": "create", "uid": "ok"}
        ws.send({**create, "data": {"f_json": _nested_list(MAX_JSON_NESTING)}, "query": {"fields": ["f_json"]}})
        frames = [ws.recv(timeout=10), ws.recv(timeout=10)]
        assert {frame["type"] for frame in frames} == {"items", "subscription"}, frames
        assert all(
            frame["data"] in ({"f_json": _nested_list(MAX_JSON_NESTING)}, [{"f_json": _nested_list(MAX_JSON_NESTING)}])
            for frame in frames
        )
        assert admin.get("/items/typed", params={"fields": "f_json"}).status_code == 200
