"""The /items REST API over real HTTP: every endpoint and body shape, Directus's envelopes and status codes."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest
import sqlalchemy as sa

from tests.services import articles, authors, clear, items_tables, rows
from tests.support.live import LiveServer
from tests.support.servers import module_server
from tidepool.db import system
from tidepool.runtime import Runtime
from tidepool.security import hash_token

srv = module_server("items", seed=items_tables)


@pytest.fixture
def api(srv: LiveServer) -> Iterator[httpx.Client]:
    clear(srv)
    with srv.client() as client:
        yield client


def _ids(response: httpx.Response) -> list[int]:
    assert response.status_code == 200, response.text
    return [row["id"] for row in response.json()["data"]]


def _error(response: httpx.Response, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == code
    message: str = error["message"]
    return message


def test_create_one_returns_the_item_read_back(api: httpx.Client) -> None:
    response = api.post("/items/articles", json={"title": "Hello", "views": 3})
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data["title"] == "Hello"
    assert data["views"] == 3
    assert isinstance(data["id"], int)


def test_create_reply_honours_the_query_string(api: httpx.Client) -> None:
    response = api.post("/items/articles?fields=id,title", json={"title": "Only", "views": 1})
    assert set(response.json()["data"]) == {"id", "title"}


def test_create_many_returns_an_array_in_order(api: httpx.Client, srv: LiveServer) -> None:
    response = api.post("/items/articles", json=[{"title": "a"}, {"title": "b"}, {"title": "c"}])
    assert [row["title"] for row in response.json()["data"]] == ["a", "b", "c"]
    assert [row["title"] for row in rows(srv, articles)] == ["a", "b", "c"]


def test_create_with_empty_array_returns_empty_array(api: httpx.Client) -> None:
    response = api.post("/items/articles", json=[])
    assert response.status_code == 200
    assert response.json() == {"data": []}


def test_read_list_single_and_meta(api: httpx.Client) -> None:
    api.post("/items/articles", json=[{"title": "x", "views": 1}, {"title": "y", "views": 2}])
    listed = api.get("/items/articles", params={"sort": "-views", "fields": "title,views"})
    assert listed.json() == {"data": [{"title": "y", "views": 2}, {"title": "x", "views": 1}]}
    first = _ids(api.get("/items/articles", params={"sort": "id"}))[0]
    one = api.get(f"/items/articles/{first}", params={"fields": "title"})
    assert one.json() == {"data": {"title": "x"}}
    with_meta = api.get("/items/articles", params={"meta": "*", "filter[views][_eq]": "2"}).json()
    assert with_meta["meta"] == {"total_count": 2, "filter_count": 1}
    assert "meta" not in listed.json()


def test_missing_item_and_bad_key_are_forbidden_not_404(api: httpx.Client) -> None:
    assert _error(api.get("/items/articles/999"), 403, "FORBIDDEN") == "You don't have permission to access this."
    _error(api.get("/items/articles/not-a-number"), 403, "FORBIDDEN")
    _error(api.patch("/items/articles/abc", json={"title": "x"}), 403, "FORBIDDEN")
    _error(api.delete("/items/articles/abc"), 403, "FORBIDDEN")


def test_unknown_collection_is_forbidden_with_directus_text(api: httpx.Client) -> None:
    message = _error(api.get("/items/nope"), 403, "FORBIDDEN")
    assert message == 'You don\'t have permission to access collection "nope" or it does not exist. Queried in root.'
    assert _error(api.post("/items/nope", json={"a": 1}), 403, "FORBIDDEN") == message


def test_system_collections_are_refused_here(api: httpx.Client) -> None:
    for method in ("GET", "POST", "PATCH", "DELETE"):
        response = api.request(method, "/items/directus_users", json={})
        assert _error(response, 403, "FORBIDDEN") == "You don't have permission to access this."


def test_update_one_returns_the_updated_item(api: httpx.Client) -> None:
    key = api.post("/items/articles", json={"title": "old"}).json()["data"]["id"]
    response = api.patch(f"/items/articles/{key}?fields=id,title", json={"title": "new"})
    assert response.json() == {"data": {"id": key, "title": "new"}}


def test_update_many_by_keys(api: httpx.Client, srv: LiveServer) -> None:
    keys = _ids(api.post("/items/articles", json=[{"title": "a"}, {"title": "b"}, {"title": "c"}]))
    response = api.patch("/items/articles?fields=id,views", json={"keys": keys[:2], "data": {"views": 9}})
    assert response.json()["data"] == [{"id": keys[0], "views": 9}, {"id": keys[1], "views": 9}]
    assert [r["views"] for r in rows(srv, articles)] == [9, 9, None]


def test_update_by_query(api: httpx.Client, srv: LiveServer) -> None:
    api.post("/items/articles", json=[{"title": "a", "views": 1}, {"title": "b", "views": 5}])
    body = {"query": {"filter": {"views": {"_gt": 2}}}, "data": {"body": "popular"}}
    response = api.patch("/items/articles?fields=title,body", json=body)
    assert response.json()["data"] == [{"title": "b", "body": "popular"}]
    assert [r["body"] for r in rows(srv, articles)] == [None, "popular"]


def test_update_batch_of_rows_with_their_keys(api: httpx.Client, srv: LiveServer) -> None:
    keys = _ids(api.post("/items/articles", json=[{"title": "a"}, {"title": "b"}]))
    body = [{"id": keys[0], "title": "A"}, {"id": keys[1], "views": 2}]
    response = api.patch("/items/articles?fields=id,title,views", json=body)
    assert response.json()["data"] == [
        {"id": keys[0], "title": "A", "views": None},
        {"id": keys[1], "title": "b", "views": 2},
    ]


def test_update_batch_row_without_key_is_invalid(api: httpx.Client) -> None:
    message = _error(api.patch("/items/articles", json=[{"title": "x"}]), 400, "INVALID_PAYLOAD")
    assert message == "Invalid payload. Item in update misses primary key."


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"data": {"title": "x"}}, '"value" must contain at least one of [query, keys]'),
        ({"keys": [1], "query": {}, "data": {}}, '"value" contains a conflict between exclusive peers [query, keys]'),
        ({"keys": [1]}, '"data" is required'),
    ],
)
def test_batch_update_body_is_validated(api: httpx.Client, body: object, message: str) -> None:
    assert _error(api.patch("/items/articles", json=body), 400, "INVALID_PAYLOAD") == f"Invalid payload. {message}."


def test_delete_one_and_each_batch_shape(api: httpx.Client, srv: LiveServer) -> None:
    keys = _ids(api.post("/items/articles", json=[{"title": str(i), "views": i} for i in range(5)]))
    single = api.delete(f"/items/articles/{keys[0]}")
    assert (single.status_code, single.content) == (204, b"")
    assert api.request("DELETE", "/items/articles", json=[keys[1]]).status_code == 204
    assert api.request("DELETE", "/items/articles", json={"keys": [keys[2]]}).status_code == 204
    by_query = {"query": {"filter": {"views": {"_eq": 3}}}}
    assert api.request("DELETE", "/items/articles", json=by_query).status_code == 204
    assert [r["id"] for r in rows(srv, articles)] == [keys[4]]


def test_delete_without_target_is_invalid(api: httpx.Client) -> None:
    response = api.request("DELETE", "/items/articles", json={})
    assert (
        _error(response, 400, "INVALID_PAYLOAD")
        == 'Invalid payload. "value" must contain at least one of [query, keys].'
    )


def test_singleton_reads_as_object_and_upserts(api: httpx.Client) -> None:
    empty = api.get("/items/site")
    assert empty.json() == {"data": {"id": None}}
    created = api.patch("/items/site", json={"title": "My site"})
    assert created.json()["data"]["title"] == "My site"
    updated = api.patch("/items/site?fields=title", json={"title": "Renamed"})
    assert updated.json() == {"data": {"title": "Renamed"}}
    assert api.get("/items/site?fields=title").json() == {"data": {"title": "Renamed"}}
    _error(api.post("/items/site", json={"title": "x"}), 404, "ROUTE_NOT_FOUND")


def test_body_must_be_json(api: httpx.Client) -> None:
    response = api.post("/items/articles", content=b"{not json", headers={"content-type": "application/json"})
    _error(response, 400, "INVALID_PAYLOAD")
    _error(api.post("/items/articles", json="just a string"), 400, "INVALID_PAYLOAD")


def test_unknown_fields_are_ignored_on_create(api: httpx.Client, srv: LiveServer) -> None:
    response = api.post("/items/articles", json={"title": "t", "nonsense": 1})
    assert response.status_code == 200, response.text
    assert "nonsense" not in response.json()["data"]


def test_foreign_key_field_accepts_related_key(api: httpx.Client, srv: LiveServer) -> None:
    author = api.post("/items/authors", json={"name": "Ann"}).json()["data"]["id"]
    response = api.post("/items/articles?fields=title,author.name", json={"title": "t", "author": author})
    assert response.json()["data"] == {"title": "t", "author": {"name": "Ann"}}
    assert rows(srv, authors)[0]["name"] == "Ann"


def test_anonymous_caller_cannot_write(srv: LiveServer) -> None:
    with srv.client(token=None) as anon:
        message = _error(anon.post("/items/articles", json={"title": "x"}), 403, "FORBIDDEN")
    assert (
        message == 'You don\'t have permission to access collection "articles" or it does not exist. Queried in root.'
    )


WRITER_TOKEN = "items-writer-token"


async def _grant_create_only(runtime: Runtime) -> str:
    """A user whose only permission is creating articles with two fields (rows written as an admin tool would)."""
    user, policy = str(uuid.uuid4()), str(uuid.uuid4())
    async with runtime.engine.begin() as conn:
        await conn.execute(sa.insert(system.policies).values(id=policy, name="Writers"))
        await conn.execute(
            sa.insert(system.users).values(
                id=user, email="writer@example.com", status="active", token=hash_token(WRITER_TOKEN)
            )
        )
        await conn.execute(sa.insert(system.access).values(id=str(uuid.uuid4()), user=user, policy=policy))
        await conn.execute(
            sa.insert(system.permissions).values(
                collection="articles", action="create", fields="title,views", policy=policy, permissions={}
            )
        )
    runtime.access_cache.invalidate()
    return user


def test_writer_without_read_permission_gets_204_and_the_row_is_written(api: httpx.Client, srv: LiveServer) -> None:
    user = srv.run(_grant_create_only(srv.runtime))
    with srv.client(token=WRITER_TOKEN) as writer:
        created = writer.post("/items/articles", json={"title": "blind", "views": 1})
        assert (created.status_code, created.content) == (204, b"")
        refused = writer.post("/items/articles", json={"title": "x", "body": "no"})
        assert _error(refused, 403, "FORBIDDEN") == (
            'You don\'t have permission to access field "body" in collection "articles" or it does not exist.'
        )
        _error(writer.get("/items/articles"), 403, "FORBIDDEN")
        _error(writer.request("DELETE", "/items/articles", json=[1]), 403, "FORBIDDEN")
    assert [(r["title"], r["user_created"]) for r in rows(srv, articles)] == [("blind", user)]


def test_explicit_integer_key_then_generated_keys_do_not_collide(api: httpx.Client) -> None:
    assert api.post("/items/authors", json={"id": 10, "name": "chosen"}).json()["data"]["id"] == 10
    following = api.post("/items/authors", json={"name": "generated"})
    assert following.status_code == 200, following.text
    assert following.json()["data"]["id"] > 10
