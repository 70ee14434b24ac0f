"""``search`` over REST and in subscriptions: one matcher (``tidepool.query.search``) for the SQL read and the
Python "visible before?" check, with Directus 12.4.1's field types and number rules.

Expected answers are Directus 12.4.1's (its ``applySearch``: string/text contain the text, numeric fields
equal the number the text spells exactly, uuid fields equal a uuid; csv/json/hash never match), on
PostgreSQL where engines differ. The subscription cases failed before: the realtime layer had its own search
(csv fields matched, ``"01"`` did not match 1 while the SQL one did), so a plain update became a ``create``
or ``delete`` event. Runs on SQLite, and on PostgreSQL/MariaDB with TIDEPOOL_TEST_DB=pg|mysql.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.http.accounts_support import ok
from tests.realtime.test_subscriptions_helpers import wait_dispatched
from tests.realtime.wsclient import WS
from tests.support.live import LiveServer
from tests.support.servers import module_server

UUID1 = "0b7e6a57-0000-4000-8000-000000000001"
UUID2 = "0b7e6a57-0000-4000-8000-000000000002"

FIELDS: list[dict[str, Any]] = [
    {"field": "id", "type": "integer", "schema": {"is_primary_key": True, "has_auto_increment": True}},
    {"field": "s", "type": "string"},
    {"field": "n", "type": "integer"},
    {"field": "b", "type": "bigInteger"},
    {"field": "f", "type": "float"},
    {"field": "d", "type": "decimal"},
    {"field": "tags", "type": "csv", "meta": {"special": ["cast-csv"]}},
    {"field": "u", "type": "uuid"},
    {"field": "j", "type": "json"},
]
ROWS: list[dict[str, Any]] = [
    {"s": "Hello World", "n": 1, "b": "7000000000", "f": 1.5, "d": "2.5", "tags": ["alpha", "beta"], "u": UUID1},
    {"s": " lead", "n": 10, "b": "7", "f": 0.25, "d": "0.125", "tags": ["gamma"], "u": UUID2, "j": {"k": "zeta"}},
    {"s": "a_c 100%", "n": -5, "b": "-3", "f": 2.5, "d": "10", "tags": [], "u": None},
]

# search text → ids Directus 12.4.1 returns (PostgreSQL).
CASES: list[tuple[str, list[int]]] = [
    ("hello", [1]),
    ("WORLD", [1]),
    ("1", [1, 3]),  # n = 1; "a_c 100%" contains 1
    ("01", []),  # not how JavaScript prints 1: no numeric match
    ("1.0", []),
    ("1.5", [1]),
    ("1.50", []),
    ("-5", [3]),
    ("0.25", [2]),
    ("10", [2, 3]),  # n = 10; d = 10 (and "100%")
    ("7", [2]),  # b = 7
    ("7000000000", [1]),  # a bigInteger beyond 32 bits
    ("99999999999", []),  # out of range for the integer field: not bound, no error
    ("12345678901234567890123", []),  # beyond bigInteger: no error
    ("alpha", []),  # csv fields are not searched
    ("zeta", []),  # nor json
    ("   lead  ", [2]),  # trimmed
    (" ", [1, 2, 3]),  # blank: kept as it is, and searched for (Directus)
    ("  ", []),
    (UUID1.upper(), [1]),
    (UUID2, [2]),
    ("%", [3]),  # literally (Directus: a LIKE wildcard)
    ("a_c", [3]),
]


def _things(server: LiveServer) -> None:
    with server.client() as admin:
        fields = [{"meta": {}, "schema": {}, **f} for f in FIELDS]
        ok(admin.post("/collections", json={"collection": "things", "meta": {}, "schema": {}, "fields": fields}))
        ok(admin.post("/items/things", json=ROWS))


srv = module_server("search", seed=_things)


@pytest.fixture
def admin(srv: LiveServer) -> Iterator[httpx.Client]:
    with srv.client() as client:
        yield client


def ids(client: httpx.Client, search: str) -> list[int]:
    response = client.get("/items/things", params={"search": search, "fields": "id", "sort": "id"})
    assert response.status_code == 200, (search, response.text)
    return [row["id"] for row in response.json()["data"]]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_rest_search_follows_directus(admin: httpx.Client, text: str, expected: list[int]) -> None:
    assert ids(admin, text) == expected


def test_websocket_read_and_meta_use_the_same_search(srv: LiveServer, admin: httpx.Client) -> None:
    body = admin.get("/items/things", params={"search": "10", "meta": "filter_count", "fields": "id"}).json()
    assert body["meta"] == {"filter_count": 2}
    with WS(srv.ws_url) as conn:
        assert conn.request({"type": "auth", "access_token": "admin-static-token"})["status"] == "ok"
        query = {"search": "1.5", "fields": ["id"]}
        reply = conn.request({"type": "items", "collection": "things", "action": "read", "query": query})
        assert reply["data"] == [{"id": 1}]


@pytest.mark.parametrize(
    ("search", "event"),
    [
        ("alpha", None),  # csv: no row matches before or after; was a "delete" (Python matched csv)
        ("01", None),  # was a "create" (SQL matched 1, Python did not)
        ("1", "update"),  # the row matches before and after: an update
        ("hello", "update"),
    ],
)
def test_subscription_search_agrees_before_and_after(
    srv: LiveServer, admin: httpx.Client, search: str, event: str | None
) -> None:
    """A second subscription without search marks the end: frames arrive in event order, so every frame of
    the searched subscription for the first two updates precedes the marker's third one."""
    with WS(srv.ws_url) as conn:
        assert conn.request({"type": "auth", "access_token": "admin-static-token"})["status"] == "ok"
        query = {"search": search, "fields": ["id", "f"]}
        init = conn.request({"type": "subscribe", "collection": "things", "query": query, "uid": "s"})
        assert init["event"] == "init" and [r["id"] for r in init["data"]] == ids(admin, search)
        marker = conn.request({"type": "subscribe", "collection": "things", "query": {"fields": ["id"]}, "uid": "m"})
        assert marker["event"] == "init"
        # Each update is dispatched before the next: a frame's data is re-read at dispatch, so a lagging
        # dispatcher would show 1.5 for both (docs/realtime-events.md).
        ok(admin.patch("/items/things/1", json={"f": 1.75}))
        wait_dispatched(srv)
        ok(admin.patch("/items/things/1", json={"f": 1.5}))
        wait_dispatched(srv)
        ok(admin.patch("/items/things/2", json={"f": 0.25}))  # matches none of the searches
        searched: list[tuple[str, Any]] = []
        marks = 0
        while marks < 3:
            frame = conn.recv()
            if frame["uid"] == "m":
                marks += 1
            else:
                searched.append((frame["event"], frame["data"]))
        expected = [] if event is None else [(event, [{"id": 1, "f": 1.75}]), (event, [{"id": 1, "f": 1.5}])]
        assert searched == expected
