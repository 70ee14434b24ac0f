"""Relational fields into a collection the caller cannot read: Directus 11+ (``parse-fields``: "Skip related
collection if no permissions") leaves them out of the answer and returns the rest with 200; only ``filter`` and
``sort`` through such a relation are FORBIDDEN. Expected answers recorded from Directus 12.4.1 (a user who may
read ``posts`` but not ``authors``/``comments``), replayed here on ``notes``/``topics``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.http.accounts_support import error, make_policy, make_user, ok
from tests.http.masking_support import build_schema, seed
from tests.realtime.wsclient import WS
from tests.support.live import LiveServer, live_server, scratch_database


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, str, str, str]]:
    """(server, token of a reader of notes only, token of a reader of topics only)."""
    with scratch_database(tmp_path_factory.mktemp("unreadable")) as env, live_server(env) as server:
        with server.client() as admin:
            build_schema(admin)
            seed(admin, "someone")
            _labels(admin)
            notes = make_policy(admin, {"collection": "notes", "action": "read", "fields": ["*"]})
            topics = make_policy(admin, {"collection": "topics", "action": "read", "fields": ["*"]})
            _, notes_token = make_user(admin, policies=(notes,))
            _, topics_token = make_user(admin, policies=(topics,))
            both = make_policy(
                admin,
                {"collection": "notes", "action": "read", "fields": ["*"]},
                {"collection": "topics", "action": "read", "fields": ["*"]},
            )
            _, both_token = make_user(admin, policies=(both,))
        yield server, notes_token, topics_token, both_token


def _labels(admin: Any) -> None:
    """``notes.label`` → ``labels``, a collection none of the users may read."""
    integer = {"type": "integer", "meta": {}, "schema": {}}
    pk = {"field": "id", "type": "integer", "schema": {"is_primary_key": True, "has_auto_increment": True}}
    name = {"field": "name", "type": "string", "meta": {}, "schema": {}}
    ok(admin.post("/collections", json={"collection": "labels", "meta": {}, "schema": {}, "fields": [pk, name]}))
    ok(admin.post("/fields/notes", json={"field": "label", **integer}))
    ok(admin.post("/relations", json={"collection": "notes", "field": "label", "related_collection": "labels"}))


def read(server: LiveServer, token: str, collection: str, **params: Any) -> Any:
    with server.client(token=token) as client:
        return ok(client.get(f"/items/{collection}", params={"limit": "2", **params}))


M2O_OMITTED = [
    {"fields": "id,topic.name"},
    {"fields": "id,topic.*"},
    {"fields": "id,t.name", "alias[t]": "topic"},
]


@pytest.mark.parametrize("params", M2O_OMITTED, ids=[p["fields"] for p in M2O_OMITTED])
def test_m2o_into_an_unreadable_collection_is_left_out(world: tuple[LiveServer, str, str, str], params: Any) -> None:
    server, notes_token, _, _ = world
    assert read(server, notes_token, "notes", **params) == [{"id": 1}, {"id": 2}]


def test_m2o_asked_for_plainly_too_keeps_its_key(world: tuple[LiveServer, str, str, str]) -> None:
    server, notes_token, _, _ = world
    assert read(server, notes_token, "notes", fields="id,topic,topic.name") == [
        {"id": 1, "topic": 1},
        {"id": 2, "topic": 2},
    ]
    star = read(server, notes_token, "notes", fields="*,topic.name")
    assert [(row["id"], row["topic"]) for row in star] == [(1, 1), (2, 2)]
    assert list(read(server, notes_token, "notes", fields="*.*")[0]) == ["id", "text", "owner", "note", "n"]


O2M_OMITTED = [
    {"fields": "id,notes.text"},
    {"fields": "id,notes"},
    {"fields": "id,notes.*", "deep[notes][_limit]": "1"},
    {"fields": "id,c.text", "alias[c]": "notes"},
]


@pytest.mark.parametrize("params", O2M_OMITTED, ids=[p["fields"] for p in O2M_OMITTED])
def test_o2m_into_an_unreadable_collection_is_left_out(world: tuple[LiveServer, str, str, str], params: Any) -> None:
    server, _, topics_token, _ = world
    assert read(server, topics_token, "topics", **params) == [{"id": 1}, {"id": 2}]


def test_filter_and_sort_through_it_stay_forbidden(world: tuple[LiveServer, str, str, str]) -> None:
    server, notes_token, _, _ = world
    with server.client(token=notes_token) as client:
        for params in ({"filter[topic][name][_eq]": "red"}, {"sort": "topic.name"}):
            message = error(client.get("/items/notes", params=params), 403, "FORBIDDEN")
            assert message.startswith('You don\'t have permission to access collection "topics"')


def test_websocket_read_and_subscription_leave_it_out_too(world: tuple[LiveServer, str, str, str]) -> None:
    server, notes_token, _, _ = world
    query = {"fields": ["id", "topic.name"], "limit": 2}
    with WS(server.ws_url) as ws:
        assert ws.request({"type": "auth", "access_token": notes_token})["status"] == "ok"
        frame = ws.request({"type": "items", "collection": "notes", "action": "read", "query": query, "uid": "r"})
        assert frame["data"] == [{"id": 1}, {"id": 2}]
        init = ws.request({"type": "subscribe", "collection": "notes", "query": query, "uid": "s"})
        assert init["data"] == [{"id": 1}, {"id": 2}]


def test_a_relation_left_with_nothing_to_show_answers_its_keys(world: tuple[LiveServer, str, str, str]) -> None:
    """Directus 12.4.1: when every sub-field asked under a readable relation leads into an unreadable
    collection, the relation comes back as its keys (``"post": 1``, ``"comments": [1, 2, 3]``)."""
    server, _, _, both_token = world
    topics = read(server, both_token, "topics", fields="id,notes.label.name")
    assert topics == [{"id": 1, "notes": [1]}, {"id": 2, "notes": [2, 3, 4]}]
    notes = read(server, both_token, "notes", fields="id,topic.pinned.label.name")
    assert notes == [{"id": 1, "topic": {"pinned": 2}}, {"id": 2, "topic": {"pinned": 1}}]
    with_title = read(server, both_token, "topics", fields="id,notes.label.name,notes.text", limit="1")
    assert with_title == [{"id": 1, "notes": [{"text": "t1"}]}]
