"""Change events and permissions of ItemsService, on a live server and its real database.

Events are collected by installing a recording ``EventSink`` on the running server's runtime, so what is
checked is exactly what the realtime layer would receive after each commit. Permission cases call the
service with an ``Access`` built here (the permission service's output), against the same database.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.services import Recorder, articles, clear, items_tables, rows
from tests.support.live import LiveServer
from tests.support.servers import module_server
from tidepool.context import Access, Accountability, Action, Permission
from tidepool.errors import FailedValidationError, ForbiddenError
from tidepool.query.model import Query
from tidepool.services.items import ItemsService

USER = str(uuid.uuid4())


srv = module_server("items-events", seed=items_tables)


@pytest.fixture
def recorder(srv: LiveServer) -> Iterator[Recorder]:
    clear(srv)
    previous = srv.runtime.events
    sink = Recorder()
    srv.runtime.events = sink
    yield sink
    srv.runtime.events = previous


@pytest.fixture
def api(srv: LiveServer, recorder: Recorder) -> Iterator[httpx.Client]:
    with srv.client() as client:
        yield client


def _keys(api: httpx.Client, items: list[dict[str, Any]]) -> list[int]:
    response = api.post("/items/articles", json=items)
    assert response.status_code == 200, response.text
    return [row["id"] for row in response.json()["data"]]


# ---- events -------------------------------------------------------------------------------------------


def test_create_many_records_one_event_per_item_in_one_batch(api: httpx.Client, recorder: Recorder) -> None:
    keys = _keys(api, [{"title": "a"}, {"title": "b", "nonsense": 1}])
    assert len(recorder.batches) == 1
    events = recorder.events
    assert [(e.collection, e.action, e.keys) for e in events] == [
        ("articles", "create", (keys[0],)),
        ("articles", "create", (keys[1],)),
    ]
    assert events[1].payload == {"title": "b", "nonsense": 1}
    assert events[0].before == ()


def test_update_many_records_one_event_with_all_keys_and_full_before_rows(
    api: httpx.Client, recorder: Recorder
) -> None:
    keys = _keys(api, [{"title": "a", "views": 1}, {"title": "b", "views": 2}])
    recorder.clear()
    api.patch("/items/articles", json={"keys": keys, "data": {"views": 5}})
    (event,) = recorder.events
    assert (event.action, event.keys, event.payload) == ("update", tuple(keys), {"views": 5})
    assert [row["views"] for row in event.before] == [1, 2]
    assert set(event.before[0]) == {c.name for c in articles.columns}
    assert event.before[0]["date_created"].endswith("Z")  # serialized as the reader returns it


def test_update_by_query_is_one_event(api: httpx.Client, recorder: Recorder) -> None:
    keys = _keys(api, [{"title": "a", "views": 1}, {"title": "b", "views": 1}, {"title": "c", "views": 2}])
    recorder.clear()
    api.patch("/items/articles", json={"query": {"filter": {"views": {"_eq": 1}}}, "data": {"body": "x"}})
    assert [(e.action, e.keys) for e in recorder.events] == [("update", (keys[0], keys[1]))]


def test_update_batch_is_one_event_per_item(api: httpx.Client, recorder: Recorder) -> None:
    keys = _keys(api, [{"title": "a"}, {"title": "b"}])
    recorder.clear()
    api.patch("/items/articles", json=[{"id": keys[0], "views": 1}, {"id": keys[1], "views": 2}])
    assert [(e.action, e.keys, e.payload) for e in recorder.events] == [
        ("update", (keys[0],), {"views": 1}),
        ("update", (keys[1],), {"views": 2}),
    ]
    assert len(recorder.batches) == 1


def test_delete_keys_are_exactly_as_the_caller_passed_them(api: httpx.Client, recorder: Recorder) -> None:
    keys = _keys(api, [{"title": "a"}, {"title": "b"}, {"title": "c"}])
    recorder.clear()
    api.delete(f"/items/articles/{keys[0]}")
    api.request("DELETE", "/items/articles", json=[keys[1]])
    api.request("DELETE", "/items/articles", json={"keys": [str(keys[2])]})
    events = recorder.events
    assert [(e.action, e.keys) for e in events] == [
        ("delete", (str(keys[0]),)),
        ("delete", (keys[1],)),
        ("delete", (str(keys[2]),)),
    ]
    assert [e.before[0]["title"] for e in events] == ["a", "b", "c"]


def test_delete_by_query_reports_the_deleted_keys(api: httpx.Client, recorder: Recorder) -> None:
    keys = _keys(api, [{"title": "a", "views": 1}, {"title": "b", "views": 2}])
    recorder.clear()
    api.request("DELETE", "/items/articles", json={"query": {"filter": {"views": {"_eq": 2}}}})
    assert [(e.action, e.keys) for e in recorder.events] == [("delete", (keys[1],))]


def test_failed_writes_emit_nothing(api: httpx.Client, recorder: Recorder) -> None:
    keys = _keys(api, [{"title": "a", "slug": "a"}])
    recorder.clear()
    assert api.post("/items/articles", json=[{"title": "b"}, {"title": "c", "slug": "a"}]).status_code == 400
    assert (
        api.patch("/items/articles", json=[{"id": keys[0], "views": 1}, {"id": keys[0], "views": "x"}]).status_code
        == 400
    )
    assert recorder.batches == []


# ---- permissions --------------------------------------------------------------------------------------


def _service(srv: LiveServer, *permissions: Permission, collection: str = "articles") -> ItemsService:
    table: dict[tuple[str, Action], list[Permission]] = {}
    for permission in permissions:
        table.setdefault((permission.collection, permission.action), []).append(permission)
    access = Access(Accountability(user=USER, role=str(uuid.uuid4())), permissions=table)
    return ItemsService(srv.runtime.context(access), collection)


def _admin(srv: LiveServer) -> ItemsService:
    return ItemsService(srv.runtime.context(), "articles")


def test_no_permission_is_the_same_forbidden_as_a_missing_collection(srv: LiveServer, recorder: Recorder) -> None:
    read_only = Permission("articles", Action.READ)
    with pytest.raises(ForbiddenError) as denied:
        srv.run(_service(srv, read_only).create_one({"title": "x"}))
    with pytest.raises(ForbiddenError) as missing:
        srv.run(_service(srv, read_only, collection="ghosts").create_one({"title": "x"}))
    assert denied.value.message == (
        'You don\'t have permission to access collection "articles" or it does not exist. Queried in root.'
    )
    assert missing.value.message == denied.value.message.replace('"articles"', '"ghosts"')
    assert rows(srv, articles) == []


def test_create_only_permitted_fields(srv: LiveServer, recorder: Recorder) -> None:
    service = _service(srv, Permission("articles", Action.CREATE, fields=frozenset({"title", "views"})))
    with pytest.raises(ForbiddenError) as one:
        srv.run(service.create_one({"title": "x", "body": "no"}))
    assert one.value.message == (
        'You don\'t have permission to access field "body" in collection "articles" or it does not exist.'
    )
    with pytest.raises(ForbiddenError) as two:
        srv.run(service.create_one({"title": "x", "body": "no", "slug": "no"}))
    assert two.value.message == (
        'You don\'t have permission to access fields "body", "slug" in collection "articles" or they do not exist.'
    )
    key = srv.run(service.create_one({"title": "x", "views": 1}))
    assert [(r["id"], r["user_created"]) for r in rows(srv, articles)] == [(key, USER)]


def test_presets_fill_defaults_and_the_payload_wins(srv: LiveServer, recorder: Recorder) -> None:
    service = _service(srv, Permission("articles", Action.CREATE, presets={"views": 42, "body": "preset"}))
    srv.run(service.create_one({"title": "a"}))
    srv.run(service.create_one({"title": "b", "views": 1}))
    assert [(r["views"], r["body"]) for r in rows(srv, articles)] == [(42, "preset"), (1, "preset")]


def test_validation_filter_must_match_the_merged_payload(srv: LiveServer, recorder: Recorder) -> None:
    rule = {"_and": [{"views": {"_lt": 10}}, {"title": {"_in": ["a", "b"]}}]}
    service = _service(srv, Permission("articles", Action.CREATE, validation=rule, presets={"views": 50}))
    with pytest.raises(FailedValidationError) as preset_fails:
        srv.run(service.create_one({"title": "a"}))
    assert preset_fails.value.message == 'Validation failed for field "views". Value has to be less than "10".'
    with pytest.raises(FailedValidationError) as title_fails:
        srv.run(service.create_one({"title": "c", "views": 1}))
    assert title_fails.value.message == 'Validation failed for field "title". Value has to be one of "a", "b".'
    srv.run(service.create_one({"title": "b", "views": 9}))
    assert [r["title"] for r in rows(srv, articles)] == ["b"]
    assert [e.action for e in recorder.events] == ["create"]


def test_update_only_inside_the_item_rule_all_or_nothing(srv: LiveServer, recorder: Recorder) -> None:
    mine = srv.run(_admin(srv).create_one({"title": "mine", "views": 1}))
    theirs = srv.run(_admin(srv).create_one({"title": "theirs", "views": 2}))
    recorder.clear()
    service = _service(srv, Permission("articles", Action.UPDATE, rule={"views": {"_eq": 1}}))
    with pytest.raises(ForbiddenError):
        srv.run(service.update_many([mine, theirs], {"body": "x"}))
    with pytest.raises(ForbiddenError):
        srv.run(service.update_one(99999, {"body": "x"}))
    assert [r["body"] for r in rows(srv, articles)] == [None, None]
    srv.run(service.update_one(str(mine), {"body": "ok"}))
    assert [r["body"] for r in rows(srv, articles)] == ["ok", None]
    assert [(e.action, e.keys) for e in recorder.events] == [("update", (mine,))]


def test_delete_only_inside_the_item_rule(srv: LiveServer, recorder: Recorder) -> None:
    mine = srv.run(_admin(srv).create_one({"title": "mine", "views": 1}))
    theirs = srv.run(_admin(srv).create_one({"title": "theirs", "views": 2}))
    service = _service(
        srv, Permission("articles", Action.DELETE, rule={"views": {"_eq": 1}}), Permission("articles", Action.READ)
    )
    with pytest.raises(ForbiddenError):
        srv.run(service.delete_many([mine, theirs]))
    assert len(rows(srv, articles)) == 2
    deleted = srv.run(service.delete_by_query(Query(filter={"title": {"_eq": "mine"}})))
    assert deleted == [mine]
    assert [r["id"] for r in rows(srv, articles)] == [theirs]
