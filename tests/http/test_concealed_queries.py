"""A concealed value (a ``conceal`` special, a hash) reads as ``**********``, and a filter on it takes only
``_null``/``_nnull`` (Directus's rule). Everything else a query can do with the value must not tell it either:
sorting by ``directus_users.token`` (stored as sent) told whose static token sorts before which, and with a row
of one's own to write a binary search reads a value back; ``groupBy``/``countDistinct`` told which rows share a
secret; ``fields=json(blob,a)`` and ``year(when)`` returned the concealed value itself. All are INVALID_QUERY,
for every caller, as the filter operators are."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.http.accounts_support import error, make_policy, make_user, ok
from tests.realtime.wsclient import WS
from tests.support.live import ADMIN_TOKEN, LiveServer, live_server, scratch_database

CONCEAL = {"special": ["conceal"]}
FIELDS = [
    {"field": "id", "type": "integer", "schema": {"is_primary_key": True, "has_auto_increment": True}},
    {"field": "label", "type": "string", "meta": {}, "schema": {}},
    {"field": "secret", "type": "string", "meta": CONCEAL, "schema": {}},
    {"field": "blob", "type": "json", "meta": {"special": ["conceal", "cast-json"]}, "schema": {}},
    {"field": "when", "type": "timestamp", "meta": CONCEAL, "schema": {}},
]
ROWS = [
    {"label": "a", "secret": "alpha", "blob": {"a": "SECRET-JSON"}, "when": "2020-05-01T00:00:00Z"},
    {"label": "b", "secret": "beta", "blob": {"a": "x"}, "when": "2021-01-01T00:00:00Z"},
    {"label": "c", "secret": "alpha", "blob": None, "when": None},
]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, str]]:
    """(server, token of a user who may read every field of ``vault`` and create rows in it)."""
    with scratch_database(tmp_path_factory.mktemp("concealed")) as env, live_server(env) as server:
        with server.client() as admin:
            ok(admin.post("/collections", json={"collection": "vault", "meta": {}, "schema": {}, "fields": FIELDS}))
            ok(admin.post("/items/vault", json=ROWS))
            policy = make_policy(
                admin,
                {"collection": "vault", "action": "read", "fields": ["*"]},
                {"collection": "vault", "action": "create", "fields": ["*"]},
                {"collection": "directus_users", "action": "read", "fields": ["*"]},
            )
            _, token = make_user(admin, policies=(policy,))
        yield server, token


REFUSED: list[tuple[str, dict[str, str]]] = [
    ("vault", {"sort": "secret"}),
    ("vault", {"sort": "-secret"}),
    ("vault", {"sort": "json(blob,a)"}),
    ("vault", {"sort": "year(when)"}),
    ("vault", {"groupBy": "secret"}),
    ("vault", {"groupBy": "year(when)"}),
    ("vault", {"aggregate[countDistinct]": "secret"}),
    ("vault", {"aggregate[min]": "when"}),
    ("vault", {"fields": "id,json(blob,a)"}),
    ("vault", {"fields": "id,year(when)"}),
    ("vault", {"filter[year(when)][_eq]": "2020"}),
    ("directus_users", {"sort": "token"}),
    ("directus_users", {"groupBy": "token"}),
    ("directus_users", {"aggregate[countDistinct]": "tfa_secret"}),
]


@pytest.mark.parametrize(("collection", "params"), REFUSED, ids=[f"{c}-{p}" for c, p in REFUSED])
@pytest.mark.parametrize("who", ["admin", "user"])
def test_a_query_cannot_order_group_or_compute_a_concealed_value(
    world: tuple[LiveServer, str], collection: str, params: dict[str, str], who: str
) -> None:
    server, token = world
    with server.client(token=ADMIN_TOKEN if who == "admin" else token) as client:
        path = "/users" if collection == "directus_users" else f"/items/{collection}"
        message = error(client.get(path, params=params), 400, "INVALID_QUERY")
    assert "conceal" in message, message


MASK = "**********"
ALLOWED: list[tuple[dict[str, str], Any]] = [
    ({"fields": "secret", "filter[secret][_nnull]": "true"}, [{"secret": MASK}] * 3),
    ({"fields": "id", "filter[year(when)][_null]": "true"}, [{"id": 3}]),
    ({"aggregate[count]": "secret"}, [{"count": {"secret": 3}}]),
    ({"fields": "id", "sort": "-label", "limit": "1"}, [{"id": 3}]),
]


@pytest.mark.parametrize(("params", "expected"), ALLOWED, ids=[str(p) for p, _ in ALLOWED])
def test_what_a_concealed_value_allows_still_works(
    world: tuple[LiveServer, str], params: dict[str, str], expected: Any
) -> None:
    server, token = world
    with server.client(token=token) as client:
        rows = ok(client.get("/items/vault", params=params))
    assert rows == expected


def test_a_subscription_cannot_sort_by_a_concealed_value(world: tuple[LiveServer, str]) -> None:
    server, token = world
    with WS(server.ws_url) as ws:
        assert ws.request({"type": "auth", "access_token": token})["status"] == "ok"
        queries = [
            ("vault", {"sort": ["secret"]}),
            ("vault", {"fields": ["json(blob,a)"]}),
            ("vault", {"aggregate": {"countDistinct": ["secret"]}}),
            ("directus_users", {"sort": ["token"]}),
        ]
        for collection, query in queries:
            reply = ws.request({"type": "subscribe", "collection": collection, "query": query, "uid": "s"})
            assert reply["status"] == "error" and reply["error"]["code"] == "INVALID_QUERY", reply
        read = {"type": "items", "collection": "vault", "action": "read", "query": {"sort": ["-secret"]}}
        reply = ws.request({**read, "uid": "r"})
        assert reply["status"] == "error" and reply["error"]["code"] == "INVALID_QUERY", reply
