"""Items of a collection made over REST (the DDL path): JSON nulls, and writes by query through a
self-relation (``nodes.parent`` → ``nodes``), on every engine (``TIDEPOOL_TEST_DB=pg|mysql``).

JSON ``null`` must be SQL NULL in the column, or ``{"_null": true}`` misses the row; MySQL refuses an
``UPDATE``/``DELETE`` whose own ``WHERE`` selects from the same table (error 1093), so writes by query must
resolve their keys first, as Directus does.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from tests.http.accounts_support import error, make_policy, make_role, make_user, ok
from tests.support.live import LiveServer
from tests.support.servers import module_server

FIELDS: list[dict[str, Any]] = [
    {"field": "id", "type": "integer", "schema": {"is_primary_key": True, "has_auto_increment": True}},
    {"field": "title", "type": "string", "schema": {}},
    {"field": "data", "type": "json", "schema": {}},
    {"field": "parent", "type": "integer", "schema": {}},
]


def _nodes(server: LiveServer) -> None:
    with server.client() as api:
        ok(api.post("/collections", json={"collection": "nodes", "schema": {}, "fields": FIELDS}))
        ok(api.post("/relations", json={"collection": "nodes", "field": "parent", "related_collection": "nodes"}))


srv = module_server("nodes", seed=_nodes)


@pytest.fixture
def api(srv: LiveServer) -> Iterator[httpx.Client]:
    with srv.client() as client:
        ok(client.request("DELETE", "/items/nodes", json={"query": {"limit": -1}}), 204)
        yield client


def _raw(srv: LiveServer, statement: Any) -> list[Any]:
    async def run() -> list[Any]:
        async with srv.runtime.engine.connect() as conn:
            return list(await conn.execute(statement))

    return srv.run(run())


def _titles(api: httpx.Client, query: dict[str, Any] | None = None) -> list[str]:
    params = {"sort": "id", "fields": "title", **(query or {})}
    return [row["title"] for row in ok(api.get("/items/nodes", params=params))]


def _tree(api: httpx.Client) -> dict[str, int]:
    """root ← a ← a1, root ← b, other ← c: titles to keys."""
    keys: dict[str, int] = {}
    for title, parent in (("root", None), ("other", None), ("a", "root"), ("b", "root"), ("c", "other")):
        keys[title] = ok(api.post("/items/nodes", json={"title": title, "parent": keys.get(parent or "")}))["id"]
    keys["a1"] = ok(api.post("/items/nodes", json={"title": "a1", "parent": keys["a"]}))["id"]
    return keys


# ---- JSON nulls ----------------------------------------------------------------------------------------


def test_json_null_is_sql_null_and_matches_the_null_filter(api: httpx.Client, srv: LiveServer) -> None:
    made = ok(api.post("/items/nodes", json=[{"title": "none", "data": None}, {"title": "set", "data": [1]}]))
    omitted = ok(api.post("/items/nodes", json={"title": "omitted"}))
    nodes = sa.table("nodes", sa.column("id"), sa.column("data"))
    stored_null = _raw(srv, sa.select(nodes.c.id).where(nodes.c.data.is_(None)).order_by(nodes.c.id))
    assert [row[0] for row in stored_null] == [made[0]["id"], omitted["id"]]
    assert _titles(api, {"filter": '{"data":{"_null":true}}'}) == ["none", "omitted"]
    assert _titles(api, {"filter": '{"data":{"_nnull":true}}'}) == ["set"]


def test_json_set_to_null_by_update_is_sql_null(api: httpx.Client, srv: LiveServer) -> None:
    item = ok(api.post("/items/nodes", json={"title": "t", "data": {"k": 1}}))
    ok(api.patch(f"/items/nodes/{item['id']}", json={"data": None}))
    assert _titles(api, {"filter": '{"data":{"_null":true}}'}) == ["t"]


def test_json_values_holding_null_round_trip(api: httpx.Client) -> None:
    values = [{"a": None}, [None, 1], {"a": {"b": None}, "c": [None]}]
    made = ok(api.post("/items/nodes", json=[{"title": f"v{i}", "data": v} for i, v in enumerate(values)]))
    read = ok(api.get("/items/nodes", params={"sort": "id", "filter": '{"data":{"_nnull":true}}'}))
    assert [row["data"] for row in made] == values
    assert [row["data"] for row in read] == values


# ---- writes by query through the self-relation -----------------------------------------------------------


def test_update_by_query_through_the_parent(api: httpx.Client) -> None:
    _tree(api)
    body = {"query": {"filter": {"parent": {"title": {"_eq": "root"}}}}, "data": {"data": {"moved": True}}}
    updated = ok(api.patch("/items/nodes", json=body))
    assert sorted(row["title"] for row in updated) == ["a", "b"]
    assert _titles(api, {"filter": '{"data":{"_nnull":true}}'}) == ["a", "b"]


def test_update_by_query_through_the_grandparent_changes_the_relation_itself(api: httpx.Client) -> None:
    keys = _tree(api)
    body = {"query": {"filter": {"parent": {"parent": {"title": {"_eq": "root"}}}}}, "data": {"parent": keys["b"]}}
    assert [row["title"] for row in ok(api.patch("/items/nodes", json=body))] == ["a1"]
    assert _titles(api, {"filter": f'{{"parent":{{"_eq":{keys["b"]}}}}}'}) == ["a1"]


def test_delete_by_query_through_the_parent(api: httpx.Client) -> None:
    _tree(api)
    body = {"query": {"filter": {"parent": {"title": {"_in": ["other", "a"]}}}}}
    ok(api.request("DELETE", "/items/nodes", json=body), 204)
    assert _titles(api) == ["root", "other", "a", "b"]


def test_delete_by_query_of_a_row_and_its_children(api: httpx.Client) -> None:
    """Deleting rows the filter reaches through themselves: the children's foreign key is set null."""
    _tree(api)
    body = {"query": {"filter": {"_or": [{"title": {"_eq": "a"}}, {"parent": {"title": {"_eq": "a"}}}]}}}
    ok(api.request("DELETE", "/items/nodes", json=body), 204)
    assert _titles(api) == ["root", "other", "b", "c"]


def test_non_admin_writes_by_query_inside_a_self_relational_rule(api: httpx.Client, srv: LiveServer) -> None:
    """The item rule itself goes through the self-relation: only children of ``root`` may change."""
    _tree(api)
    rule = {"parent": {"title": {"_eq": "root"}}}
    policy = make_policy(
        api,
        {"collection": "nodes", "action": "read", "fields": ["*"]},
        {"collection": "nodes", "action": "update", "fields": ["*"], "permissions": rule},
        {"collection": "nodes", "action": "delete", "permissions": rule},
    )
    _, token = make_user(api, role=make_role(api, policy))
    with srv.client(token=token) as user:
        patched = ok(user.patch("/items/nodes", json={"query": {"filter": rule}, "data": {"title": "kid"}}))
        assert sorted(row["title"] for row in patched) == ["kid", "kid"]
        outside = {"query": {"filter": {"parent": {"title": {"_eq": "other"}}}}, "data": {"title": "no"}}
        error(user.patch("/items/nodes", json=outside), 403, "FORBIDDEN")
        ok(user.request("DELETE", "/items/nodes", json={"query": {"filter": {"title": {"_eq": "kid"}}}}), 204)
    assert _titles(api) == ["root", "other", "c", "a1"]
