"""/comments over real HTTP: Directus 11's directus_comments, with the answers Directus 12.4.1 gave to the
same requests (recorded from the reference server)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.http.accounts_support import error, make_policy, make_user, ok
from tests.support.live import LiveServer
from tests.support.servers import messages_collection, module_server

srv = module_server("comments", seed=messages_collection)

COMMENT_FIELDS = ["id", "collection", "item", "comment", "date_created", "date_updated", "user_created", "user_updated"]
OWN = {"user_created": {"_eq": "$CURRENT_USER"}}


@pytest.fixture(scope="module")
def admin(srv: LiveServer) -> Iterator[httpx.Client]:
    with srv.client() as client:
        client.post("/items/messages", json=[{"text": "one"}, {"text": "two"}]).raise_for_status()
        yield client


@pytest.fixture(scope="module")
def commenter(srv: LiveServer, admin: httpx.Client) -> Iterator[tuple[str, httpx.Client]]:
    """A user who reads message 1 only, and may comment, editing and deleting its own comments only (the rules
    of Directus's app access)."""
    policy = make_policy(
        admin,
        {"collection": "messages", "action": "read", "fields": ["*"], "permissions": {"id": {"_eq": 1}}},
        {"collection": "directus_comments", "action": "read", "fields": ["*"]},
        {"collection": "directus_comments", "action": "create", "fields": ["*"]},
        {"collection": "directus_comments", "action": "update", "fields": ["comment"], "permissions": OWN},
        {"collection": "directus_comments", "action": "delete", "permissions": OWN},
    )
    user, token = make_user(admin, policies=(policy,))
    with srv.client(token=token) as client:
        yield user, client


def _comment(client: httpx.Client, item: Any = "1", text: str = "hello") -> dict[str, Any]:
    made: dict[str, Any] = ok(client.post("/comments", json={"collection": "messages", "item": item, "comment": text}))
    return made


def test_create_shape_as_directus(admin: httpx.Client) -> None:
    me = ok(admin.get("/users/me", params={"fields": "id"}))["id"]
    made = _comment(admin)
    assert list(made) == COMMENT_FIELDS
    assert made["collection"] == "messages" and made["item"] == "1" and made["comment"] == "hello"
    assert made["user_created"] == me and made["user_updated"] is None
    assert made["date_created"].endswith("Z") and made["date_updated"] is not None  # the column's default
    assert ok(admin.get(f"/comments/{made['id']}")) == made
    activity = ok(
        admin.get("/activity", params={"filter[collection][_eq]": "directus_comments", "fields": "action,item"})
    )
    assert {"action": "create", "item": made["id"]} in activity


def test_required_fields_and_unknown_collection(admin: httpx.Client) -> None:
    for body, reason in [
        ({"collection": "messages", "item": "1", "comment": ""}, '"comment" is required'),
        ({"collection": "messages", "item": "1"}, '"comment" is required'),
        ({"item": "1", "comment": "x"}, '"collection" is required'),
        ({"collection": "messages", "comment": "x"}, '"item" is required'),
    ]:
        assert error(admin.post("/comments", json=body), 400, "INVALID_PAYLOAD") == f"Invalid payload. {reason}."
    unknown = error(admin.post("/comments", json={"collection": "nope", "item": "1", "comment": "x"}), 403, "FORBIDDEN")
    assert unknown == 'You don\'t have permission to access collection "nope" or it does not exist. Queried in root.'
    # an admin may comment on an item that does not exist, as on Directus
    assert _comment(admin, item="999")["item"] == "999"


def test_a_batch_with_one_bad_comment_writes_none(admin: httpx.Client) -> None:
    batch = [
        {"collection": "messages", "item": "2", "comment": "batch-ok"},
        {"collection": "messages", "item": "2"},
    ]
    error(admin.post("/comments", json=batch), 400, "INVALID_PAYLOAD")
    assert ok(admin.get("/comments", params={"filter[comment][_eq]": "batch-ok"})) == []
    made = ok(admin.post("/comments", json=[batch[0], {**batch[0], "comment": "batch-two"}]))
    assert sorted(c["comment"] for c in made) == ["batch-ok", "batch-two"]


def test_a_user_comments_only_on_items_it_can_read(commenter: tuple[str, httpx.Client]) -> None:
    user, client = commenter
    made = _comment(client, item=1)
    assert made["user_created"] == user and made["item"] == "1"
    refused = 'You don\'t have permission to perform "read" for collection "messages" or it does not exist.'
    assert (
        error(client.post("/comments", json={"collection": "messages", "item": "2", "comment": "x"}), 403, "FORBIDDEN")
        == refused
    )
    assert error(
        client.post("/comments", json={"collection": "nope", "item": "2", "comment": "x"}), 403, "FORBIDDEN"
    ) == ('You don\'t have permission to perform "read" for collection "nope" or it does not exist.')


def test_only_the_author_edits_and_deletes(admin: httpx.Client, commenter: tuple[str, httpx.Client]) -> None:
    user, client = commenter
    theirs = _comment(admin, text="admin's")
    mine = _comment(client, item=1, text="mine")
    edited = ok(client.patch(f"/comments/{mine['id']}", json={"comment": "edited"}))
    assert edited["comment"] == "edited" and edited["user_updated"] == user
    assert error(client.patch(f"/comments/{theirs['id']}", json={"comment": "x"}), 403, "FORBIDDEN")
    assert error(client.delete(f"/comments/{theirs['id']}"), 403, "FORBIDDEN")
    assert client.delete(f"/comments/{mine['id']}").status_code == 204
    assert error(admin.get(f"/comments/{mine['id']}"), 403, "FORBIDDEN")
    # the admin may edit anyone's comment
    assert ok(admin.patch(f"/comments/{theirs['id']}", json={"comment": "fixed"}))["comment"] == "fixed"


def test_without_permissions_comments_are_forbidden(srv: LiveServer, admin: httpx.Client) -> None:
    _, token = make_user(admin)
    root = 'You don\'t have permission to access collection "directus_comments" or it does not exist. Queried in root.'
    with srv.client(token=token) as client:
        assert error(client.get("/comments"), 403, "FORBIDDEN") == root
    with srv.client(token=None) as anon:
        assert error(anon.get("/comments"), 403, "FORBIDDEN") == root
