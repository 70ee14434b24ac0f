"""Issue 7 item 4: a field readable on some rows only counts as ``null`` in filter, sort, search, aggregate,
groupBy and ``meta`` on exactly the rows where it is returned as ``null`` (REST and WebSocket, plain and
relational), so none of them is an oracle for the hidden values."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.http.accounts_support import ok
from tests.http.masking_reference import ids
from tests.http.masking_support import World, build_world
from tests.realtime.wsclient import WS
from tests.support.live import live_server, scratch_database


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with scratch_database(tmp_path_factory.mktemp("masking")) as env, live_server(env) as server:
        yield from build_world(server)


@pytest.fixture(scope="module")
def seen(world: World) -> list[dict[str, Any]]:
    """What the user reads without a filter: ``note`` and ``n`` are null on other users' rows."""
    with world.user_client() as user:
        rows: list[dict[str, Any]] = ok(user.get("/items/notes", params={"fields": "id,note,n", "limit": "-1"}))
    assert [r["note"] for r in rows] == ["mine-b", None, "mine-a", None, None, None, None]
    return rows


def read(world: World, **params: Any) -> Any:
    with world.user_client() as user:
        return ok(user.get("/items/notes", params={"limit": "-1", **params}))


FILTERS = [
    {"note": {"_starts_with": "HIDDEN-"}},
    {"note": {"_contains": "IDDEN"}},
    {"note": {"_eq": "HIDDEN-a"}},
    {"note": {"_in": ["HIDDEN-a", "mine-a"]}},
    {"note": {"_neq": "mine-a"}},
    {"note": {"_nin": ["mine-a"]}},
    {"note": {"_ncontains": "mine"}},
    {"note": {"_null": True}},
    {"note": {"_nnull": True}},
    {"note": {"_empty": True}},
    {"n": {"_gte": 50}},
    {"n": {"_lt": 4}},
    {"n": {"_between": [2, 200]}},
    {"_or": [{"n": {"_gte": 90}}, {"note": {"_starts_with": "HIDDEN"}}]},
]


@pytest.mark.parametrize("filter", FILTERS, ids=[json.dumps(f) for f in FILTERS])
def test_filter_sees_the_field_as_returned(world: World, seen: list[dict[str, Any]], filter: dict[str, Any]) -> None:
    rows = read(world, fields="id", filter=json.dumps(filter))
    assert [r["id"] for r in rows] == ids(seen, filter)


def test_hidden_prefix_is_not_found_and_filter_count_is_zero(world: World) -> None:
    with world.user_client() as user:
        body = user.get(
            "/items/notes", params={"filter[note][_starts_with]": "HIDDEN-", "meta": "filter_count,total_count"}
        ).json()
    assert body["data"] == [] and body["meta"] == {"filter_count": 0, "total_count": 7}


@pytest.mark.parametrize("field", ["note", "n"])
def test_sort_orders_hidden_values_as_null(world: World, seen: list[dict[str, Any]], field: str) -> None:
    """Hidden values sort as NULL (first ascending, last descending), ties by primary key."""
    nulls = [r["id"] for r in seen if r[field] is None]
    shown = sorted((r for r in seen if r[field] is not None), key=lambda r: (r[field], r["id"]))
    ascending = [r["id"] for r in read(world, fields="id", sort=field)]
    descending = [r["id"] for r in read(world, fields="id", sort=f"-{field},id")]
    assert ascending == nulls + [r["id"] for r in shown]
    assert descending == [r["id"] for r in reversed(shown)] + nulls


def test_search_does_not_match_hidden_values(world: World) -> None:
    assert read(world, fields="id", search="HIDDEN") == []
    assert [r["id"] for r in read(world, fields="id", search="mine")] == [1, 3]


def test_aggregates_ignore_hidden_values_also_under_a_filter(world: World) -> None:
    rows = read(world, **{"aggregate[count]": "n", "aggregate[sum]": "n", "aggregate[min]": "n", "aggregate[max]": "n"})
    assert rows == [{"count": {"n": 2}, "sum": {"n": 6}, "min": {"n": 1}, "max": {"n": 5}}]
    filtered = read(world, **{"aggregate[count]": "*", "filter[n][_gte]": "50"})
    assert filtered == [{"count": 0}]


def test_group_by_puts_hidden_values_in_the_null_group(world: World) -> None:
    rows = read(world, **{"aggregate[count]": "*", "groupBy": "note"})
    assert rows == [{"note": None, "count": 5}, {"note": "mine-a", "count": 1}, {"note": "mine-b", "count": 1}]
    filtered = read(world, **{"aggregate[count]": "*", "groupBy": "text", "filter[note][_contains]": "HIDDEN"})
    assert filtered == []


def test_relational_filters_see_related_fields_as_returned(world: World) -> None:
    with world.user_client() as user:
        topics = ok(user.get("/items/topics", params={"fields": "id", "filter[notes][note][_starts_with]": "HIDDEN"}))
        pinned = ok(user.get("/items/topics", params={"fields": "id", "filter[pinned][n][_gte]": "50"}))
        some = ok(user.get("/items/topics", params={"fields": "id", "filter[notes][_some][n][_null]": "true"}))
        count = user.get("/items/topics", params={"filter[pinned][note][_nnull]": "true", "meta": "filter_count"})
    assert topics == [] and pinned == []
    assert [t["id"] for t in some] == [2, 3]  # topic 2 has hidden notes 2, 4; topic 3 has 6, 7
    assert count.json()["meta"]["filter_count"] == 1  # only topic 2 pins a note whose text the user sees


def test_m2o_sort_path_sorts_hidden_related_values_as_null(world: World) -> None:
    with world.user_client() as user:
        rows = ok(user.get("/items/topics", params={"fields": "id,pinned.note", "sort": "-pinned.note,id"}))
    # topic 1 pins another user's note: its note reads null, so it sorts with topic 3 (no pinned note) last
    assert rows == [
        {"id": 2, "pinned": {"note": "mine-b"}},
        {"id": 1, "pinned": {"note": None}},
        {"id": 3, "pinned": None},
    ]


def test_deep_filter_and_sort_see_fields_as_returned(world: World) -> None:
    deep = {"notes": {"_filter": {"note": {"_nnull": True}}, "_sort": ["-n"]}}
    with world.user_client() as user:
        rows = ok(user.get("/items/topics", params={"fields": "id,notes.id", "deep": json.dumps(deep)}))
    assert rows == [{"id": 1, "notes": [{"id": 1}]}, {"id": 2, "notes": [{"id": 3}]}, {"id": 3, "notes": []}]


def test_websocket_reads_and_subscription_init_see_fields_as_returned(world: World) -> None:
    query = {"fields": ["id"], "filter": {"note": {"_starts_with": "HIDDEN"}}}
    sorted_query = {"fields": ["id"], "sort": ["-n", "id"], "filter": {"n": {"_nnull": True}}}
    with WS(world.server.ws_url) as ws:
        assert ws.request({"type": "auth", "access_token": world.token})["status"] == "ok"
        read = ws.request({"type": "items", "collection": "notes", "action": "read", "query": query, "uid": "r"})
        assert read["data"] == []
        init = ws.request({"type": "subscribe", "collection": "notes", "query": query, "uid": "s"})
        assert (init["event"], init["data"]) == ("init", [])
        ordered = ws.request({"type": "subscribe", "collection": "notes", "query": sorted_query, "uid": "o"})
        assert [r["id"] for r in ordered["data"]] == [1, 3]  # n 5 then 1; hidden n 100/90/3/0 are null
