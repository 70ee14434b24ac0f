"""A world where one field is readable on some rows only, for the tests of field masking in queries.

``notes`` (id, text, owner, note, n, topic → topics) is read by a user through two permissions: every field of
the rows the user owns, and ``id``/``text``/``topic`` of every row. So ``note`` and ``n`` come back ``null`` on the
other rows, whose ``note`` values all start with ``HIDDEN-`` (the values an oracle would try to find).
``topics`` (id, name, pinned → notes, and the o2m ``notes``) is fully readable.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx

from tests.http.accounts_support import make_policy, make_user, ok
from tests.support.live import LiveServer

OWN = {"owner": {"_eq": "$CURRENT_USER"}}
ALL_FIELDS_OF_OWN_ROWS = {"collection": "notes", "action": "read", "fields": ["*"], "permissions": OWN}
SOME_FIELDS_OF_ALL_ROWS = {
    "collection": "notes",
    "action": "read",
    "fields": ["id", "text", "topic"],
    "permissions": {},
}
TOPICS = {"collection": "topics", "action": "read", "fields": ["*"], "permissions": {}}


@dataclass
class World:
    server: LiveServer
    user: str
    token: str
    policy: str

    def user_client(self) -> httpx.Client:
        return self.server.client(token=self.token)


def _collection(admin: httpx.Client, name: str, *fields: dict[str, Any]) -> None:
    pk = {"field": "id", "type": "integer", "schema": {"is_primary_key": True, "has_auto_increment": True}}
    ok(admin.post("/collections", json={"collection": name, "meta": {}, "schema": {}, "fields": [pk, *fields]}))


def _m2o(admin: httpx.Client, collection: str, field: str, related: str, one_field: str | None) -> None:
    body = {"collection": collection, "field": field, "related_collection": related, "meta": {"one_field": one_field}}
    ok(admin.post("/relations", json=body))


def build_schema(admin: httpx.Client) -> None:
    string = {"type": "string", "meta": {}, "schema": {}}
    integer = {"type": "integer", "meta": {}, "schema": {}}
    _collection(admin, "topics", {"field": "name", **string}, {"field": "pinned", **integer})
    _collection(
        admin,
        "notes",
        {"field": "text", **string},
        {"field": "owner", **string},
        {"field": "note", **string},
        {"field": "n", **integer},
        {"field": "topic", **integer},
    )
    _m2o(admin, "notes", "topic", "topics", "notes")
    _m2o(admin, "topics", "pinned", "notes", None)


def seed(admin: httpx.Client, user: str) -> None:
    """Three own notes and four of others (``HIDDEN-…``), two topics pinning one note each."""
    ok(admin.post("/items/topics", json=[{"id": 1, "name": "red"}, {"id": 2, "name": "blue"}, {"id": 3, "name": "x"}]))
    notes = [
        {"id": 1, "text": "t1", "owner": user, "note": "mine-b", "n": 5, "topic": 1},
        {"id": 2, "text": "t2", "owner": "other", "note": "HIDDEN-a", "n": 100, "topic": 2},
        {"id": 3, "text": "t3", "owner": user, "note": "mine-a", "n": 1, "topic": 2},
        {"id": 4, "text": "t4", "owner": "other", "note": "HIDDEN-z", "n": 90, "topic": 2},
        {"id": 5, "text": "t5", "owner": user, "note": None, "n": None, "topic": None},
        {"id": 6, "text": "t6", "owner": "other", "note": "HIDDEN-m", "n": 3, "topic": 3},
        {"id": 7, "text": "t7", "owner": "other", "note": "", "n": 0, "topic": 3},
    ]
    ok(admin.post("/items/notes", json=notes))
    ok(admin.patch("/items/topics/1", json={"pinned": 2}))  # pins another user's note
    ok(admin.patch("/items/topics/2", json={"pinned": 1}))  # pins the user's own note


def build_world(server: LiveServer) -> Iterator[World]:
    with server.client() as admin:
        build_schema(admin)
        policy = make_policy(admin, ALL_FIELDS_OF_OWN_ROWS, SOME_FIELDS_OF_ALL_ROWS, TOPICS)
        user, token = make_user(admin, policies=(policy,))
        seed(admin, user)
    yield World(server, user, token, policy)
