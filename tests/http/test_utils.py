"""``/utils`` over real HTTP, answered as Directus 12.4.1 answers (statuses and texts recorded from it):
random strings, argon2 hashes, the manual sort and the cache clear."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import orjson
import pytest
import sqlalchemy as sa

from tests.http.accounts_support import error, make_policy, make_user, ok
from tests.support.live import LiveServer
from tests.support.servers import messages_collection, module_server
from tidepool.db import system


def sorted_collection(server: LiveServer) -> None:
    with server.client() as admin:
        ok(
            admin.post(
                "/collections",
                json={
                    "collection": "ranked",
                    "meta": {"sort_field": "sort"},
                    "schema": {},
                    "fields": [
                        {
                            "field": "id",
                            "type": "integer",
                            "schema": {"is_primary_key": True, "has_auto_increment": True},
                        },
                        {"field": "sort", "type": "integer"},
                        {"field": "name", "type": "string"},
                    ],
                },
            )
        )


srv = module_server("utils", seed=(messages_collection, sorted_collection))


@pytest.fixture
def anon(srv: LiveServer) -> Iterator[httpx.Client]:
    with srv.client(token=None) as client:
        yield client


@pytest.fixture
def admin(srv: LiveServer) -> Iterator[httpx.Client]:
    with srv.client() as client:
        yield client


ALPHABET = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")


def test_random_string(anon: httpx.Client) -> None:
    first, second = ok(anon.get("/utils/random/string")), ok(anon.get("/utils/random/string"))
    assert len(first) == 32 and set(first) <= ALPHABET and first != second
    assert len(ok(anon.get("/utils/random/string", params={"length": "5"}))) == 5
    assert len(ok(anon.get("/utils/random/string", params={"length": "1e2"}))) == 100
    assert len(ok(anon.get("/utils/random/string", params={"length": "500"}))) == 500


@pytest.mark.parametrize(
    ("query", "issue"),
    [
        ("length=600", "Too big: expected number to be <=500"),
        ("length=abc", "Invalid input: expected number, received NaN"),
        ("length=0", "Too small: expected number to be >=1"),
        ("length=-1", "Too small: expected number to be >=1"),
        ("length=", "Too small: expected number to be >=1"),
        ("length=5.5", "Invalid input: expected int, received number"),
        ("length=5&length=6", "Invalid input: expected number, received NaN"),
    ],
)
def test_random_string_bad_length(anon: httpx.Client, query: str, issue: str) -> None:
    reason = f'Validation error: {issue} at "length"'
    response = anon.get("/utils/random/string?" + query)
    assert response.status_code == 400
    assert response.json() == {
        "errors": [{"message": f"Invalid query. {reason}.", "extensions": {"reason": reason, "code": "INVALID_QUERY"}}]
    }


def test_hash_generate_and_verify(anon: httpx.Client, admin: httpx.Client) -> None:
    digest = ok(admin.post("/utils/hash/generate", json={"string": "abc"}))
    assert digest.startswith("$argon2id$")
    assert ok(admin.post("/utils/hash/verify", json={"string": "abc", "hash": digest})) is True
    assert ok(admin.post("/utils/hash/verify", json={"string": "abd", "hash": digest})) is False
    assert ok(admin.post("/utils/hash/verify", json={"string": "abc", "hash": "not a hash"})) is False
    assert error(admin.post("/utils/hash/generate", json={}), 400, "INVALID_PAYLOAD") == (
        'Invalid payload. "string" is required.'
    )
    assert error(admin.post("/utils/hash/verify", json={"string": "abc"}), 400, "INVALID_PAYLOAD") == (
        'Invalid payload. "hash" is required.'
    )
    assert error(admin.post("/utils/hash/generate"), 400, "INVALID_PAYLOAD") == 'Invalid payload. "string" is required.'
    assert error(anon.post("/utils/hash/generate", json={"string": "abc"}), 403, "FORBIDDEN")


def _order(admin: httpx.Client) -> list[str]:
    rows = ok(admin.get("/items/ranked", params={"sort": "sort", "fields": "name,sort"}))
    return [row["name"] for row in rows]


def _reset(admin: httpx.Client, names: str, sorts: list[int | None] | None = None) -> list[Any]:
    existing = [row["id"] for row in ok(admin.get("/items/ranked", params={"fields": "id", "limit": "-1"}))]
    if existing:
        assert admin.request("DELETE", "/items/ranked", json=existing).status_code == 204
    values = sorts or list(range(1, len(names) + 1))
    created = ok(admin.post("/items/ranked", json=[{"name": n, "sort": s} for n, s in zip(names, values, strict=True)]))
    by_name = {row["name"]: row["id"] for row in created}
    return [by_name[name] for name in names]


def test_sort_moves_an_item_down_and_up(admin: httpx.Client) -> None:
    a, b, c, d = _reset(admin, "abcd")
    assert admin.post("/utils/sort/ranked", json={"item": a, "to": c}).status_code == 200
    assert _order(admin) == list("bcad")
    rows = ok(admin.get("/items/ranked", params={"sort": "sort", "fields": "sort"}))
    assert [row["sort"] for row in rows] == [1, 2, 3, 4]
    response = admin.post("/utils/sort/ranked", json={"item": str(d), "to": str(b)})
    assert response.status_code == 200 and response.content == b""
    assert _order(admin) == list("dbca")


def test_sort_numbers_missing_and_duplicate_values_first(admin: httpx.Client) -> None:
    a, b, c, d = _reset(admin, "abcd", [5, None, 5, 1])
    assert admin.post("/utils/sort/ranked", json={"item": d, "to": b}).status_code == 200
    rows = ok(admin.get("/items/ranked", params={"sort": "sort", "fields": "name,sort"}))
    assert [row["sort"] for row in rows] == [1, 2, 3, 4]
    assert [row["name"] for row in rows] == list("acbd")


def test_sort_records_one_update_event_per_moved_row(srv: LiveServer, admin: httpx.Client) -> None:
    a, b, c, d = _reset(admin, "abcd")

    async def ranked_events() -> list[dict[str, Any]]:
        log = system.event_log
        statement = sa.select(log.c.action, log.c.body).where(log.c.collection == "ranked").order_by(log.c.seq)
        async with srv.runtime.engine.connect() as conn:
            rows = (await conn.execute(statement)).all()
        return [{"action": row.action, **orjson.loads(row.body)} for row in rows]

    before = len(srv.run(ranked_events()))
    assert admin.post("/utils/sort/ranked", json={"item": b, "to": d}).status_code == 200
    events = srv.run(ranked_events())[before:]
    assert [event["action"] for event in events] == ["update"] * 3
    assert sorted(str(key) for event in events for key in event["keys"]) == sorted(str(k) for k in (b, c, d))


def test_concurrent_sorts_keep_the_sort_values_a_permutation(srv: LiveServer, admin: httpx.Client) -> None:
    """Moves sent at once, on separate connections, each see the order the one before left: the sort values
    stay 1..n. Before, each move read the order unlocked, two moves computed their renumberings from the same
    order, and the later one's writes overwrote part of the earlier one's on PostgreSQL and MariaDB (duplicate
    values). SQLite runs one writer at a time."""
    keys = _reset(admin, "abcdefgh")
    moves = [(keys[i % 8], keys[(i * 5 + 3) % 8]) for i in range(24)]

    def send(chunk: list[tuple[Any, Any]]) -> list[int]:
        with srv.client() as own:
            return [own.post("/utils/sort/ranked", json={"item": a, "to": b}).status_code for a, b in chunk]

    with ThreadPoolExecutor(4) as pool:
        statuses = [code for codes in pool.map(send, [moves[i::4] for i in range(4)]) for code in codes]
    assert statuses == [200] * len(moves)
    rows = ok(admin.get("/items/ranked", params={"fields": "sort", "limit": "-1"}))
    assert sorted(row["sort"] for row in rows) == list(range(1, 9))


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (
            {"item": 1},
            'Validation error: Invalid input: expected string, received undefined at "to" '
            'or Invalid input: expected number, received undefined at "to"',
        ),
        ({"item": 1, "to": 3, "x": 1}, 'Validation error: Unrecognized key: "x"'),
        ({"item": 1, "to": 3, "x": 1, "y": 2}, 'Validation error: Unrecognized keys: "x", "y"'),
        ([], "Validation error: Invalid input: expected object, received array"),
        (
            {"item": None, "to": {}},
            'Validation error: Invalid input: expected string, received null at "item" or Invalid input: expected '
            'number, received null at "item"; Invalid input: expected string, received object at "to" or Invalid '
            'input: expected number, received object at "to"',
        ),
        (
            {"item": True, "to": 3},
            'Validation error: Invalid input: expected string, received boolean at "item" '
            'or Invalid input: expected number, received boolean at "item"',
        ),
    ],
)
def test_sort_bad_payload(admin: httpx.Client, body: Any, reason: str) -> None:
    response = admin.post("/utils/sort/ranked", json=body)
    assert response.status_code == 400
    assert response.json() == {
        "errors": [
            {"message": f"Invalid payload. {reason}.", "extensions": {"reason": reason, "code": "INVALID_PAYLOAD"}}
        ]
    }


def test_sort_refusals(srv: LiveServer, anon: httpx.Client, admin: httpx.Client) -> None:
    move = {"item": 1, "to": 2}
    nonexist = error(admin.post("/utils/sort/nonexist", json=move), 403, "FORBIDDEN")
    assert (
        nonexist == 'You don\'t have permission to access collection "nonexist" or it does not exist. Queried in root.'
    )
    no_field = error(admin.post("/utils/sort/messages", json=move), 400, "INVALID_PAYLOAD")
    assert no_field == 'Invalid payload. Collection "messages" doesn\'t have a sort field.'
    # as from Directus: the body is checked before the sort field, the sort field before the caller's rights
    assert error(admin.post("/utils/sort/messages", json={"item": 1}), 400, "INVALID_PAYLOAD").startswith(
        "Invalid payload. Validation error:"
    )
    assert error(anon.post("/utils/sort/messages", json=move), 400, "INVALID_PAYLOAD") == no_field
    no_update = 'You don\'t have permission to perform "update" for collection "ranked" or it does not exist.'
    assert error(anon.post("/utils/sort/ranked", json=move), 403, "FORBIDDEN") == no_update
    reader = make_policy(admin, {"collection": "ranked", "action": "read", "fields": ["*"]})
    _, token = make_user(admin, policies=(reader,))
    with srv.client(token=token) as client:
        assert error(client.post("/utils/sort/ranked", json=move), 403, "FORBIDDEN") == no_update
    names_only = make_policy(admin, {"collection": "ranked", "action": "update", "fields": ["name"]})
    _, token = make_user(admin, policies=(names_only,))
    with srv.client(token=token) as client:
        assert error(client.post("/utils/sort/ranked", json=move), 403, "FORBIDDEN")
    a, b = _reset(admin, "ab")
    # Directus answers a missing item with a 500 (a TypeError); Tidepool with 403.
    assert error(admin.post("/utils/sort/ranked", json={"item": a, "to": 999999}), 403, "FORBIDDEN")
    assert _order(admin) == list("ab")


def test_sort_with_update_permission(srv: LiveServer, admin: httpx.Client) -> None:
    a, b, c = _reset(admin, "abc")
    sorter = make_policy(admin, {"collection": "ranked", "action": "update", "fields": ["sort"]})
    _, token = make_user(admin, policies=(sorter,))
    with srv.client(token=token) as client:
        assert client.post("/utils/sort/ranked", json={"item": c, "to": a}).status_code == 200
    assert _order(admin) == list("cab")


def test_sort_changes_no_row_outside_the_update_rule(srv: LiveServer, admin: httpx.Client) -> None:
    """Tidepool only (Directus applies no item rule to a sort): a move that would renumber a row the caller may
    not update is FORBIDDEN and moves nothing; one that changes only rows inside the rule goes through."""
    a, b, c, d = _reset(admin, "abcd")
    inside = {"name": {"_in": ["a", "b", "c"]}}
    sorter = make_policy(admin, {"collection": "ranked", "action": "update", "fields": ["sort"], "permissions": inside})
    _, token = make_user(admin, policies=(sorter,))
    with srv.client(token=token) as client:
        error(client.post("/utils/sort/ranked", json={"item": a, "to": d}), 403, "FORBIDDEN")  # d would move
        assert _order(admin) == list("abcd")
        assert client.post("/utils/sort/ranked", json={"item": a, "to": c}).status_code == 200
    assert _order(admin) == list("bcad")


def test_cache_clear_is_for_admins(srv: LiveServer, anon: httpx.Client, admin: httpx.Client) -> None:
    assert error(anon.post("/utils/cache/clear"), 403, "FORBIDDEN")
    _, token = make_user(admin)
    with srv.client(token=token) as client:
        assert error(client.post("/utils/cache/clear"), 403, "FORBIDDEN")
    ok(admin.get("/items/messages"))  # leaves a read plan behind
    generation = srv.runtime.access_cache.generation
    assert srv.runtime.plans.size() > 0
    response = admin.post("/utils/cache/clear")
    assert response.status_code == 200 and response.content == b""
    assert srv.runtime.access_cache.generation > generation
    assert srv.runtime.plans.size() == 0
    version = srv.runtime.schemas.version
    assert admin.post("/utils/cache/clear?system").status_code == 200
    assert srv.runtime.schemas.version > version
