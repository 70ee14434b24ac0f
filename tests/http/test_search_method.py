"""The HTTP ``SEARCH`` method: ``GET``'s read of a collection with the query (and ``keys``) in the JSON body,
where Directus 12.4.1 routes it (``/items/{collection}``, the system collections' lists, ``/activity``,
``/revisions``, ``/collections``; not one item, not ``/settings``). Answers recorded from Directus 12.4.1."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.http.files_support import data
from tests.support.live import LiveServer
from tests.support.seed import seed_guide
from tests.support.servers import module_server


def _seed(server: LiveServer) -> None:
    with server.client() as admin:
        seed_guide(admin)
        for n in range(5):
            data(admin.post("/items/messages", json={"text": f"search {n}", "user": f"u{n % 2}"}))


srv = module_server("search_method", seed=_seed)


def _search(client: httpx.Client, path: str, body: Any = None, **kwargs: Any) -> httpx.Response:
    content = httpx.Request("POST", "/", json=body).content if body is not None else b""
    return client.request("SEARCH", path, content=content, headers={"Content-Type": "application/json"}, **kwargs)


def test_search_answers_as_get_with_the_query_in_the_body(srv: LiveServer) -> None:
    query = {"fields": ["id", "text"], "filter": {"user": {"_eq": "u1"}}, "sort": ["-id"], "meta": "*", "limit": 1}
    params = {"fields": "id,text", "filter[user][_eq]": "u1", "sort": "-id", "meta": "*", "limit": "1"}
    with srv.client() as admin:
        searched = _search(admin, "/items/messages", {"query": query})
        got = admin.get("/items/messages", params=params)
        assert searched.status_code == 200
        assert searched.json() == got.json()
        assert searched.json()["meta"] == {"total_count": 5, "filter_count": 2}
        # the body's query replaces the URL's
        replaced = _search(admin, "/items/messages?limit=3&fields=id", {"query": {"limit": 1, "fields": ["text"]}})
        assert data(replaced) == [{"text": "search 0"}]
        assert data(_search(admin, "/items/messages")) == data(admin.get("/items/messages"))
        assert data(_search(admin, "/items/messages", {})) == data(admin.get("/items/messages"))


def test_keys_read_those_items(srv: LiveServer) -> None:
    with srv.client() as admin:
        answer = _search(admin, "/items/messages", {"keys": [2, 1], "query": {"fields": ["id"]}})
    assert sorted(row["id"] for row in data(answer)) == [1, 2]


def test_an_export_in_the_body_query_is_a_file(srv: LiveServer) -> None:
    with srv.client() as admin:
        answer = _search(admin, "/items/messages", {"query": {"export": "csv", "fields": ["id"], "limit": 2}})
    assert answer.status_code == 200
    assert answer.text == '"id"\n1\n2'


@pytest.mark.parametrize("path", ["/users", "/roles", "/files", "/notifications", "/activity", "/revisions"])
def test_system_collections_are_searched_too(srv: LiveServer, path: str) -> None:
    with srv.client() as admin:
        answer = _search(admin, path, {"query": {"limit": 1, "meta": "total_count"}})
        assert answer.status_code == 200
        assert answer.json() == admin.get(path, params={"limit": 1, "meta": "total_count"}).json()


def test_collections_are_searched(srv: LiveServer) -> None:
    with srv.client() as admin:
        assert data(_search(admin, "/collections", {})) == data(admin.get("/collections"))


@pytest.mark.parametrize("path", ["/items/messages/1", "/settings", "/fields", "/relations"])
def test_where_directus_has_no_search_it_is_route_not_found(srv: LiveServer, path: str) -> None:
    with srv.client() as admin:
        answer = _search(admin, path, {"query": {}})
    assert answer.status_code == 404
    assert answer.json()["errors"][0] == {
        "message": f"Route {path} doesn't exist.",
        "extensions": {"path": path, "code": "ROUTE_NOT_FOUND"},
    }


@pytest.mark.parametrize(
    ("token", "body", "status", "message"),
    [
        ("admin", [1], 400, 'Invalid payload. "value" must be of type object.'),
        ("admin", {"query": 3}, 400, 'Invalid payload. "query" must be of type object.'),  # Directus: a 500
        ("admin", {"query": {"filter": {"nope": {"_eq": 1}}}}, 403,
         'You don\'t have permission to access field "nope" in collection "messages" or it does not exist. '
         "Queried in root."),
        (None, {"query": {"limit": 1}}, 403,
         'You don\'t have permission to access collection "messages" or it does not exist. Queried in root.'),
    ],
)  # fmt: skip
def test_bad_searches_get_directus_errors(
    srv: LiveServer, token: str | None, body: Any, status: int, message: str
) -> None:
    client = srv.client() if token else srv.client(token=None)
    with client:
        answer = _search(client, "/items/messages", body)
    assert answer.status_code == status
    assert answer.json()["errors"][0]["message"] == message
