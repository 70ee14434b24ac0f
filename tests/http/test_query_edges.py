"""Query edges found by hostile testing: alias fields in aggregates, groupBy and sort, and ``deep`` on an m2o
branch.

An alias field (an o2m list here) has no column: ``aggregate[count]=posts`` or ``groupBy=posts`` was a 500
(KeyError) over REST and over the WebSocket ``items`` read; it is the client's INVALID_QUERY. ``deep``'s
``_sort`` on an m2o branch was never resolved against the schema or the caller's permissions (a hidden or
unknown field answered 200); it now goes through the same checks as a top-level ``sort``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.http.accounts_support import error, make_policy, make_user, ok
from tests.realtime.wsclient import WS
from tests.support.live import ADMIN_TOKEN, LiveServer, live_server, scratch_database

PK = {"field": "id", "type": "integer", "schema": {"is_primary_key": True, "has_auto_increment": True}, "meta": {}}


def _field(name: str, kind: str) -> dict[str, Any]:
    return {"field": name, "type": kind, "meta": {}, "schema": {}}


def _build(admin: httpx.Client) -> None:
    authors = [PK, _field("name", "string"), _field("salary", "integer")]
    ok(admin.post("/collections", json={"collection": "qe_authors", "meta": {}, "schema": {}, "fields": authors}))
    posts = [PK, _field("title", "string"), _field("author", "integer")]
    ok(admin.post("/collections", json={"collection": "qe_posts", "meta": {}, "schema": {}, "fields": posts}))
    relation = {"collection": "qe_posts", "field": "author", "related_collection": "qe_authors"}
    ok(admin.post("/relations", json={**relation, "meta": {"one_field": "posts"}}))
    ok(admin.post("/fields/qe_authors", json={"field": "posts", "type": "alias", "meta": {"special": ["o2m"]}}))
    ok(admin.post("/items/qe_authors", json=[{"name": "a", "salary": 1}, {"name": "b", "salary": 2}]))
    ok(admin.post("/items/qe_posts", json=[{"title": "x", "author": 1}, {"title": "y", "author": 2}]))


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, str]]:
    """(server, token of a reader of posts and of authors without ``salary``)."""
    with scratch_database(tmp_path_factory.mktemp("qedges")) as env, live_server(env) as server:
        with server.client() as admin:
            _build(admin)
            policy = make_policy(
                admin,
                {"collection": "qe_posts", "action": "read", "fields": ["*"]},
                {"collection": "qe_authors", "action": "read", "fields": ["id", "name", "posts"]},
            )
            _, token = make_user(admin, policies=(policy,))
        yield server, token


ALIAS_QUERIES = [
    {"aggregate[count]": "posts"},
    {"aggregate[countDistinct]": "posts"},
    {"groupBy": "posts"},
    {"groupBy": "name", "aggregate[count]": "posts"},
    {"sort": "posts"},
]


@pytest.mark.parametrize("params", ALIAS_QUERIES)
def test_an_alias_field_cannot_be_aggregated_grouped_or_sorted(
    world: tuple[LiveServer, str], params: dict[str, str]
) -> None:
    server, _ = world
    with server.client() as admin:
        message = error(admin.get("/items/qe_authors", params=params), 400, "INVALID_QUERY")
        assert '"posts"' in message
        assert admin.get("/items/qe_authors", params={"limit": "1"}).status_code == 200


@pytest.mark.parametrize(
    "query", [{"aggregate": {"count": ["posts"]}}, {"groupBy": ["posts"]}, {"sort": ["posts"], "fields": ["id"]}]
)
def test_an_alias_field_in_a_websocket_read_is_invalid_query(
    world: tuple[LiveServer, str], query: dict[str, Any]
) -> None:
    server, _ = world
    with WS(server.ws_url) as ws:
        assert ws.request({"type": "auth", "access_token": ADMIN_TOKEN})["status"] == "ok"
        message = {"type": "items", "collection": "qe_authors", "action": "read", "query": query, "uid": "bad"}
        reply = ws.request(message, timeout=30)
        assert reply["status"] == "error" and reply["error"]["code"] == "INVALID_QUERY", reply
        after = ws.request({"type": "items", "collection": "qe_authors", "action": "read", "uid": "after"})
        assert after.get("status") != "error" and after["uid"] == "after", after


def _posts(server: LiveServer, params: dict[str, str], token: str | None = None) -> httpx.Response:
    with server.client(token=token) if token else server.client() as client:
        return client.get("/items/qe_posts", params={"fields": "id,author.name", **params})


def test_deep_sort_on_an_m2o_branch_checks_the_callers_permissions(world: tuple[LiveServer, str]) -> None:
    server, token = world
    error(_posts(server, {"deep[author][_sort]": "salary"}, token), 403, "FORBIDDEN")
    error(_posts(server, {"deep[author][_filter][salary][_eq]": "1"}, token), 403, "FORBIDDEN")
    assert ok(_posts(server, {"deep[author][_sort]": "name", "sort": "id"}, token)) == [
        {"id": 1, "author": {"name": "a"}},
        {"id": 2, "author": {"name": "b"}},
    ]


def test_deep_sort_on_an_m2o_branch_is_resolved_against_the_schema(world: tuple[LiveServer, str]) -> None:
    server, _ = world
    error(_posts(server, {"deep[author][_sort]": "nope"}), 403, "FORBIDDEN")
    error(_posts(server, {"deep[author][_sort]": "posts"}), 400, "INVALID_QUERY")
    assert ok(_posts(server, {"deep[author][_sort]": "-salary", "sort": "id"}))[0] == {"id": 1, "author": {"name": "a"}}
