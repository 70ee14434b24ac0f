"""/versions over real HTTP: content versions, save, compare, promote and ``?version=`` reads, with the
statuses, shapes and error texts Directus 12.4.1 gave to the same requests (recorded from the reference)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.http.accounts_support import error, make_policy, make_user, ok
from tests.support.live import LiveServer
from tests.support.servers import module_server

srv = module_server("versions")

VERSION_FIELDS = [
    "id",
    "key",
    "name",
    "collection",
    "item",
    "hash",
    "date_created",
    "date_updated",
    "user_created",
    "user_updated",
    "delta",
]


@pytest.fixture(scope="module")
def admin(srv: LiveServer) -> Iterator[httpx.Client]:
    with srv.client() as client:
        fields = [
            {"field": "id", "type": "integer", "schema": {"is_primary_key": True, "has_auto_increment": True}},
            {"field": "title", "type": "string"},
            {"field": "n", "type": "integer", "schema": {"default_value": 7}},
            {"field": "date_updated", "type": "timestamp", "meta": {"special": ["date-updated"]}},
        ]
        for name, versioning in (("v_things", True), ("v_plain", False)):
            body = {"collection": name, "schema": {}, "meta": {"versioning": versioning}, "fields": fields}
            ok(client.post("/collections", json=body))
            ok(client.post(f"/items/{name}", json=[{"title": "a"}, {"title": "b"}]))
        yield client


def _version(admin: httpx.Client, key: str, item: str = "1") -> dict[str, Any]:
    made: dict[str, Any] = ok(
        admin.post("/versions", json={"key": key, "name": key.title(), "collection": "v_things", "item": item})
    )
    return made


def test_create_shape_and_directus_checks(admin: httpx.Client) -> None:
    made = _version(admin, "draft1")
    assert list(made) == VERSION_FIELDS
    assert made["key"] == "draft1" and made["item"] == "1" and made["delta"] is None and made["user_updated"] is None
    assert isinstance(made["hash"], str) and len(made["hash"]) == 40
    body = {"key": "draft1", "collection": "v_things", "item": "1"}
    assert error(admin.post("/versions", json=body), 422, "UNPROCESSABLE_CONTENT") == (
        'Can\'t process content. Version "draft1" already exists for item "1" in collection "v_things".'
    )
    cases: list[tuple[dict[str, Any], str]] = [
        ({"key": "published", "collection": "v_things", "item": "1"}, '"published" is a reserved version key'),
        ({"key": "x", "collection": "v_things"}, '"key" must be "draft" for versions not linked to an item'),
        ({"name": "x", "collection": "v_things", "item": "1"}, '"key" is required'),
        ({"key": "k", "collection": "v_things", "item": 1}, '"item" must be a string'),
        ({"key": "k", "collection": "v_things", "item": "2", "extra": 1}, '"extra" is not allowed'),
    ]
    for payload, reason in cases:
        assert error(admin.post("/versions", json=payload), 400, "INVALID_PAYLOAD") == f"Invalid payload. {reason}."
    plain = {"key": "k", "collection": "v_plain", "item": "1"}
    assert error(admin.post("/versions", json=plain), 422, "UNPROCESSABLE_CONTENT") == (
        'Can\'t process content. Content Versioning is not enabled for collection "v_plain".'
    )
    missing = {"key": "k2", "collection": "v_things", "item": "999"}
    assert error(admin.post("/versions", json=missing), 403, "FORBIDDEN") == "You don't have permission to access this."
    draft = ok(admin.post("/versions", json={"key": "draft", "collection": "v_things"}))
    assert draft["item"] is None and draft["hash"] is None and draft["name"] is None


def test_update_allows_only_key_name_item(admin: httpx.Client) -> None:
    made = _version(admin, "renamable", item="2")
    assert error(admin.patch(f"/versions/{made['id']}", json={"collection": "x"}), 400, "INVALID_PAYLOAD") == (
        'Invalid payload. "collection" is not allowed.'
    )
    assert ok(admin.patch(f"/versions/{made['id']}", json={"name": "renamed"}))["name"] == "renamed"


def test_save_compare_read_and_promote(admin: httpx.Client) -> None:
    me = ok(admin.get("/users/me", params={"fields": "id"}))["id"]
    made = _version(admin, "work")
    saved = ok(admin.post(f"/versions/{made['id']}/save", json={"title": "draft title"}))
    assert saved["id"] == 1 and saved["title"] == "draft title" and saved["n"] == 7
    assert saved["_user"] == me and saved["_date"].endswith("Z")
    saved = ok(admin.post(f"/versions/{made['id']}/save", json={"n": 42}))
    assert saved["title"] == "draft title" and saved["n"] == 42

    stored = ok(admin.get(f"/versions/{made['id']}"))
    assert stored["delta"] == {"id": "1", "title": "draft title", "n": 42, "date_updated": saved["_date"]}
    compared = ok(admin.get(f"/versions/{made['id']}/compare"))
    assert compared["outdated"] is False and compared["mainHash"] == made["hash"]
    assert compared["current"] == stored["delta"]
    assert compared["main"] == {"id": 1, "title": "a", "n": 7, "date_updated": None}

    read = ok(admin.get("/items/v_things/1", params={"version": "work"}))
    assert read == {
        "id": 1,
        "title": "draft title",
        "n": 42,
        "date_updated": saved["_date"],
        "$meta": {"version_id": made["id"]},
    }
    assert ok(admin.get("/items/v_things", params={"version": "work"})) == [read]
    only = ok(admin.get("/items/v_things/1", params={"version": "work", "fields": "title"}))
    assert only == {"title": "draft title", "$meta": {"version_id": made["id"]}}
    assert ok(admin.get("/items/v_things/1", params={"version": "published"}))["title"] == "a"
    assert error(admin.get("/items/v_things/1", params={"version": "nope"}), 403, "FORBIDDEN")

    # each save is a version_save activity on the item, its revision pointing at the version
    saves = ok(
        admin.get("/activity", params={"filter[action][_eq]": "version_save", "fields": "collection,item,revisions.*"})
    )
    assert [(a["collection"], a["item"]) for a in saves] == [("v_things", "1"), ("v_things", "1")]
    assert [a["revisions"][0]["delta"] for a in saves] == [{"title": "draft title"}, {"n": 42}]
    assert {a["revisions"][0]["version"] for a in saves} == {made["id"]}

    promote = f"/versions/{made['id']}/promote"
    assert (
        error(admin.post(promote, json={}), 400, "INVALID_PAYLOAD") == 'Invalid payload. "mainHash" field is required.'
    )
    mismatch = admin.post(promote, json={"mainHash": "wrong"})
    assert mismatch.status_code == 422
    assert mismatch.json()["errors"] == [
        {
            "message": "Main item has changed since this version was last updated.",
            "extensions": {"mainHash": made["hash"], "code": "VERSION_HASH_MISMATCH"},
        }
    ]
    assert ok(admin.post(promote, json={"mainHash": made["hash"], "fields": ["title"]})) == "1"
    main = ok(admin.get("/items/v_things/1"))
    assert main["title"] == "draft title" and main["n"] == 7
    # the main item moved on: comparing says so, and an old hash no longer promotes
    assert ok(admin.get(f"/versions/{made['id']}/compare"))["outdated"] is True
    assert error(admin.post(promote, json={"mainHash": made["hash"]}), 422, "VERSION_HASH_MISMATCH")


def test_unknown_versions_and_empty_promote(admin: httpx.Client) -> None:
    unknown = "00000000-0000-4000-8000-000000000000"
    assert error(admin.post(f"/versions/{unknown}/save", json={"n": 1}), 403, "FORBIDDEN")
    assert error(admin.get(f"/versions/{unknown}/compare"), 403, "FORBIDDEN")
    empty = _version(admin, "empty", item="2")
    assert error(
        admin.post(f"/versions/{empty['id']}/promote", json={"mainHash": empty["hash"]}), 422, "UNPROCESSABLE_CONTENT"
    ) == ("Can't process content. No changes to promote.")


def test_others_use_versions_by_their_permissions(srv: LiveServer, admin: httpx.Client) -> None:
    root = 'You don\'t have permission to access collection "directus_versions" or it does not exist. Queried in root.'
    _, token = make_user(admin)
    with srv.client(token=token) as user:
        assert error(user.get("/versions"), 403, "FORBIDDEN") == root
    policy = make_policy(
        admin,
        {"collection": "v_things", "action": "read", "fields": ["*"], "permissions": {"id": {"_eq": 2}}},
        {"collection": "directus_versions", "action": "read", "fields": ["*"]},
        {"collection": "directus_versions", "action": "create", "fields": ["*"]},
    )
    _, token = make_user(admin, policies=(policy,))
    with srv.client(token=token) as user:
        made = ok(user.post("/versions", json={"key": "mine", "collection": "v_things", "item": "2"}))
        assert made["item"] == "2"
        body = {"key": "mine", "collection": "v_things", "item": "1"}
        assert error(user.post("/versions", json=body), 403, "FORBIDDEN") == "You don't have permission to access this."
