"""/activity and /revisions over real HTTP: every write records its history in its own transaction, shaped as
Directus 12.4.1 answered the same requests (recorded from the reference server), per ``accountability``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.http.accounts_support import error, make_policy, make_user, ok
from tests.support.live import LiveServer
from tests.support.servers import module_server

srv = module_server("activity")

ACTIVITY_FIELDS = ["id", "action", "user", "timestamp", "ip", "user_agent", "collection", "item", "origin", "revisions"]
REVISION_FIELDS = ["id", "activity", "collection", "item", "data", "delta", "parent", "version"]


@pytest.fixture(scope="module")
def admin(srv: LiveServer) -> Iterator[httpx.Client]:
    with srv.client() as client:
        yield client


def _collection(admin: httpx.Client, name: str, **meta: Any) -> None:
    fields = [
        {"field": "id", "type": "integer", "schema": {"is_primary_key": True, "has_auto_increment": True}},
        {"field": "title", "type": "string"},
        {"field": "n", "type": "integer", "schema": {"default_value": 7}},
        {"field": "date_updated", "type": "timestamp", "meta": {"special": ["date-updated"]}},
    ]
    ok(admin.post("/collections", json={"collection": name, "schema": {}, "meta": meta, "fields": fields}))


def _activity(admin: httpx.Client, collection: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = ok(
        admin.get("/activity", params={"filter[collection][_eq]": collection, "sort": "id", "limit": -1})
    )
    return rows


def _revisions(admin: httpx.Client, collection: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = ok(
        admin.get("/revisions", params={"filter[collection][_eq]": collection, "sort": "id", "limit": -1})
    )
    return rows


def _admin_id(admin: httpx.Client) -> str:
    return str(ok(admin.get("/users/me", params={"fields": "id"}))["id"])


def test_create_update_delete_record_activity_and_revisions_as_directus(admin: httpx.Client) -> None:
    _collection(admin, "h_all")
    headers = {"user-agent": "ua-test", "origin": "http://o.example"}
    ok(admin.post("/items/h_all", json={"title": "a"}, headers=headers))
    after = ok(admin.patch("/items/h_all/1", json={"title": "b"}))
    ok(admin.post("/items/h_all", json=[{"title": "c"}, {"title": "d"}]))
    ok(admin.patch("/items/h_all", json={"keys": [2, 3], "data": {"n": 1}}))
    assert admin.delete("/items/h_all/3").status_code == 204

    me = _admin_id(admin)
    activity = _activity(admin, "h_all")
    assert [(a["action"], a["item"]) for a in activity] == [
        ("create", "1"),
        ("update", "1"),
        ("create", "2"),
        ("create", "3"),
        ("update", "2"),
        ("update", "3"),
        ("delete", "3"),
    ]
    first = activity[0]
    assert list(first) == ACTIVITY_FIELDS
    assert first["user"] == me and first["ip"] == "127.0.0.1"
    assert first["user_agent"] == "ua-test" and first["origin"] == "http://o.example"
    assert first["timestamp"].endswith("Z") and len(first["timestamp"]) == 24  # 2026-12-03T12:10:07.410Z
    assert activity[1]["user_agent"].startswith("python-httpx/") and activity[1]["origin"] is None
    assert activity[-1]["revisions"] == []  # a delete keeps no revision

    revisions = _revisions(admin, "h_all")
    assert len(revisions) == 6 and list(revisions[0]) == REVISION_FIELDS
    by_activity = {r["activity"]: r for r in revisions}
    assert [a["revisions"] for a in activity[:-1]] == [[by_activity[a["id"]]["id"]] for a in activity[:-1]]
    created, updated = by_activity[activity[0]["id"]], by_activity[activity[1]["id"]]
    # a create keeps the payload as sent; an update the whole item after it and the change (with its specials)
    assert created["data"] == created["delta"] == {"title": "a"}
    assert created["item"] == "1" and created["parent"] is None and created["version"] is None
    assert updated["data"] == after == {"id": 1, "title": "b", "n": 7, "date_updated": after["date_updated"]}
    assert updated["delta"] == {"title": "b", "date_updated": after["date_updated"]}
    many = by_activity[activity[5]["id"]]
    assert many["data"]["n"] == 1 and many["delta"] == {"n": 1, "date_updated": many["data"]["date_updated"]}


def test_accountability_activity_keeps_no_revisions_and_null_keeps_nothing(admin: httpx.Client) -> None:
    _collection(admin, "h_act", accountability="activity")
    _collection(admin, "h_none", accountability=None)
    for name in ("h_act", "h_none"):
        ok(admin.post("/items/" + name, json={"title": "x"}))
        ok(admin.patch(f"/items/{name}/1", json={"title": "y"}))
        assert admin.delete(f"/items/{name}/1").status_code == 204
    assert [a["action"] for a in _activity(admin, "h_act")] == ["create", "update", "delete"]
    assert _revisions(admin, "h_act") == []
    assert _activity(admin, "h_none") == [] and _revisions(admin, "h_none") == []
    # the setting is read at each write: switching it on starts the record
    ok(admin.patch("/collections/h_none", json={"meta": {"accountability": "all"}}))
    ok(admin.post("/items/h_none", json={"title": "z"}))
    assert [a["action"] for a in _activity(admin, "h_none")] == ["create"]
    assert [r["delta"] for r in _revisions(admin, "h_none")] == [{"title": "z"}]


def test_a_failed_write_leaves_no_history(admin: httpx.Client) -> None:
    _collection(admin, "h_fail")
    error(admin.post("/items/h_fail", json=[{"title": "ok"}, {"n": "not a number"}]), 400, "INVALID_PAYLOAD")
    assert _activity(admin, "h_fail") == [] and _revisions(admin, "h_fail") == []


def test_account_writes_and_logins_are_recorded_with_secrets_masked(srv: LiveServer, admin: httpx.Client) -> None:
    user, _ = make_user(admin, first_name="Hist")
    created = [a for a in _activity(admin, "directus_users") if a["item"] == user]
    assert [a["action"] for a in created] == ["create"]
    (revision,) = ok(admin.get("/revisions", params={"filter[activity][_eq]": created[0]["id"]}))
    assert revision["delta"]["password"] == "**********" and revision["delta"]["token"] == "**********"
    assert revision["delta"]["first_name"] == "Hist"
    email = ok(admin.get(f"/users/{user}", params={"fields": "email"}))["email"]
    with srv.client(token=None) as anon:
        ok(anon.post("/auth/login", json={"email": email, "password": "pw-secret"}))
    logins = [a for a in _activity(admin, "directus_users") if a["action"] == "login" and a["item"] == user]
    assert len(logins) == 1 and logins[0]["user"] == user and logins[0]["revisions"] == []
    # the first admin was made by the bootstrap, the system's own work: no history, as on Directus
    me = _admin_id(admin)
    assert [a for a in _activity(admin, "directus_users") if a["item"] == me and a["action"] == "create"] == []
    # schema writes are recorded too (directus_collections, as Directus does)
    made = [a for a in _activity(admin, "directus_collections") if a["item"] == "h_all"]
    assert [a["action"] for a in made] == ["create"]


def test_full_query_language_and_relations(admin: httpx.Client) -> None:
    _collection(admin, "h_query")
    for title in ("q1", "q2", "q3"):
        ok(admin.post("/items/h_query", json={"title": title}))
    body = admin.get(
        "/activity",
        params={
            "filter[collection][_eq]": "h_query",
            "fields": "item,revisions.delta,user.email",
            "sort": "-item",
            "limit": 2,
            "meta": "filter_count",
        },
    ).json()
    assert body["meta"] == {"filter_count": 3}
    assert body["data"] == [
        {"item": "3", "revisions": [{"delta": {"title": "q3"}}], "user": {"email": "admin@example.com"}},
        {"item": "2", "revisions": [{"delta": {"title": "q2"}}], "user": {"email": "admin@example.com"}},
    ]
    grouped = ok(
        admin.get(
            "/revisions",
            params={"filter[collection][_eq]": "h_query", "aggregate[count]": "*", "groupBy": "collection"},
        )
    )
    assert grouped == [{"collection": "h_query", "count": 3}]
    one = _revisions(admin, "h_query")[0]
    assert ok(admin.get(f"/revisions/{one['id']}", params={"fields": "activity.action"})) == {
        "activity": {"action": "create"}
    }


def test_missing_items_and_write_routes_answer_as_directus(admin: httpx.Client) -> None:
    forbidden = "You don't have permission to access this."
    assert error(admin.get("/activity/99999"), 403, "FORBIDDEN") == forbidden
    assert error(admin.get("/activity/abc"), 403, "FORBIDDEN") == forbidden
    assert error(admin.get("/revisions/99999"), 403, "FORBIDDEN") == forbidden
    for method, path in [("POST", "/activity"), ("PATCH", "/activity/1"), ("DELETE", "/activity/1")]:
        assert error(admin.request(method, path, json={}), 404, "ROUTE_NOT_FOUND") == f"Route {path} doesn't exist."
    for method, path in [("POST", "/revisions"), ("DELETE", "/revisions/1")]:
        assert error(admin.request(method, path, json={}), 404, "ROUTE_NOT_FOUND") == f"Route {path} doesn't exist."


def test_other_users_read_by_their_permissions(srv: LiveServer, admin: httpx.Client) -> None:
    root = 'You don\'t have permission to access collection "{}" or it does not exist. Queried in root.'
    _, token = make_user(admin)
    with srv.client(token=token) as user:
        assert error(user.get("/activity"), 403, "FORBIDDEN") == root.format("directus_activity")
        assert error(user.get("/revisions"), 403, "FORBIDDEN") == root.format("directus_revisions")
    with srv.client(token=None) as anon:
        assert error(anon.get("/activity"), 403, "FORBIDDEN") == root.format("directus_activity")
    # a policy that grants reading one's own activity is applied like any collection's
    policy = make_policy(
        admin,
        {
            "collection": "directus_activity",
            "action": "read",
            "fields": ["*"],
            "permissions": {"user": {"_eq": "$CURRENT_USER"}},
        },
    )
    reader, reader_token = make_user(admin, policies=(policy,))
    email = ok(admin.get(f"/users/{reader}", params={"fields": "email"}))["email"]
    with srv.client(token=None) as anon:
        ok(anon.post("/auth/login", json={"email": email, "password": "pw-secret"}))
    with srv.client(token=reader_token) as user:
        mine = ok(user.get("/activity", params={"limit": -1}))
        assert mine and {a["user"] for a in mine} == {reader}
        other = _activity(admin, "h_all")[0]["id"]
        assert error(user.get(f"/activity/{other}"), 403, "FORBIDDEN") == "You don't have permission to access this."


def test_schema_writes_are_logged_where_directus_logs_them(admin: httpx.Client) -> None:
    """As Directus 12.4.1 answered the same requests: a collection's row and each field row written through
    its items service with the caller's accountability are logged; a relation (its service has none), a field
    sent without ``meta`` (no row) and a collection without ``meta`` are not."""
    before = {a["id"] for a in ok(admin.get("/activity", params={"limit": -1, "fields": "id"}))}
    key = {"field": "id", "type": "integer", "schema": {"is_primary_key": True, "has_auto_increment": True}}
    name = {"field": "name", "type": "string", "meta": {}, "schema": {}}
    ok(admin.post("/collections", json={"collection": "h_authors", "schema": {}, "meta": {}, "fields": [key, name]}))
    label = {"field": "label", "type": "string", "meta": {}, "schema": {}}
    ok(admin.post("/collections", json={"collection": "h_posts", "schema": {}, "fields": [label]}))  # id injected
    ok(admin.post("/fields/h_posts", json={"field": "author", "type": "integer", "meta": {}}))
    ok(admin.post("/fields/h_posts", json={"field": "bare", "type": "integer"}))
    relation = {"collection": "h_posts", "field": "author", "related_collection": "h_authors", "meta": {}}
    ok(admin.post("/relations", json=relation))
    ok(admin.patch("/relations/h_posts/author", json={"meta": {"one_field": "posts"}}))
    assert admin.delete("/fields/h_posts/bare").status_code == 204
    assert admin.delete("/fields/h_posts/author").status_code == 204
    assert admin.delete("/collections/h_posts").status_code == 204
    rows = ok(admin.get("/activity", params={"limit": -1, "sort": "id", "fields": "id,action,collection,item"}))
    logged = [(a["action"], a["collection"], a["item"]) for a in rows if a["id"] not in before]
    assert logged == [
        ("create", "directus_fields", "name"),
        ("create", "directus_collections", "h_authors"),
        ("create", "directus_fields", "id"),  # the injected key has its meta
        ("create", "directus_fields", "label"),
        ("create", "directus_fields", "author"),
        ("delete", "directus_fields", "author"),
        ("delete", "directus_fields", "id"),
        ("delete", "directus_fields", "label"),
    ]


def test_field_updates_are_recorded_on_every_engine(admin: httpx.Client) -> None:
    """A field's events carry its name, no key of directus_fields: recording them must not break the write."""
    _collection(admin, "h_fields")
    ok(admin.patch("/fields/h_fields/title", json={"meta": {"note": "a note"}}))
    rows = [a for a in _activity(admin, "directus_fields") if a["item"] == "title"]
    assert [a["action"] for a in rows] == ["update"]


def test_a_manual_sort_and_a_tracked_page_leave_no_history(admin: httpx.Client) -> None:
    """As on Directus 12.4.1 (recorded: the first hour's sort leaves only its three creates, ``track/page``
    nothing): both write without accountability there; subscribers still hear of the moved rows."""
    key = {"field": "id", "type": "integer", "schema": {"is_primary_key": True, "has_auto_increment": True}}
    sort = {"field": "sort", "type": "integer", "meta": {"hidden": True}, "schema": {}}
    body = {"collection": "h_sorted", "schema": {}, "meta": {"sort_field": "sort"}, "fields": [key, sort]}
    ok(admin.post("/collections", json=body))
    first, second = (row["id"] for row in ok(admin.post("/items/h_sorted", json=[{"sort": 1}, {"sort": 2}])))
    assert admin.post("/utils/sort/h_sorted", json={"item": second, "to": first}).status_code == 200
    assert [row["sort"] for row in ok(admin.get("/items/h_sorted", params={"sort": "id"}))] == [2, 1]
    assert [(a["action"], a["item"]) for a in _activity(admin, "h_sorted")] == [("create", "1"), ("create", "2")]
    me = _admin_id(admin)
    mine = [a["id"] for a in _activity(admin, "directus_users") if a["item"] == me]
    assert admin.patch("/users/me/track/page", json={"last_page": "/content/h_sorted"}).status_code == 204
    assert ok(admin.get("/users/me", params={"fields": "last_page"}))["last_page"] == "/content/h_sorted"
    assert [a["id"] for a in _activity(admin, "directus_users") if a["item"] == me] == mine
