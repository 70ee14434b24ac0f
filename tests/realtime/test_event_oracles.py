"""Subscription filters through relations must not see related rows the subscriber cannot read, in the row as
it was before an update either. A relational filter cannot be decided in Python, so the "before" check runs it
in SQL on the old row; it used to be compiled with the admin's access there, so a subscription whose filter
named a hidden related row's value got a ``delete`` when the guess was right and nothing when it was wrong (an
oracle). Events arrive in ``seq`` order: the control subscription's later event proves nothing came first."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from tests.http.accounts_support import make_policy, make_user, ok
from tests.http.masking_support import OWN, build_schema, build_world, seed
from tests.realtime.wsclient import WS
from tests.support.live import ADMIN_TOKEN, LiveServer, live_server, scratch_database
from tests.support.seed import create_messages

HIDDEN_TOPIC = 3  # named "x": readable to the admin only
NOTES = {"collection": "notes", "action": "read", "fields": ["*"], "permissions": OWN}
TOPICS = {"collection": "topics", "action": "read", "fields": ["*"], "permissions": {"id": {"_neq": HIDDEN_TOPIC}}}


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[LiveServer, str, str]]:
    with scratch_database(tmp_path) as env, live_server(env) as server, server.client() as admin:
        build_schema(admin)
        user, token = make_user(admin, policies=(make_policy(admin, NOTES, TOPICS),))
        seed(admin, user)
        yield server, user, token


def _frames_until_control(ws: WS) -> list[dict[str, Any]]:
    """Every frame up to the control subscription's ``create`` (the last write's event)."""
    frames: list[dict[str, Any]] = []
    while not frames or (frames[-1].get("uid"), frames[-1].get("event")) != ("control", "create"):
        frames.append(ws.recv(timeout=5))
    return frames


@pytest.mark.parametrize(
    ("collection", "key", "guess", "change"),
    [
        # the user's own note 5, moved to the hidden topic "x" before the subscribe, then edited
        ("notes", 5, {"topic": {"name": {"_eq": "x"}}}, {"topic": None}),
        # topic 2 lists another user's note "t2", which the user cannot read
        ("topics", 2, {"notes": {"_some": {"text": {"_eq": "t2"}}}}, {"name": "renamed"}),
    ],
    ids=["m2o", "o2m"],
)
def test_a_filter_on_a_hidden_related_row_decides_no_event(
    world: tuple[LiveServer, str, str], collection: str, key: int, guess: dict[str, Any], change: dict[str, Any]
) -> None:
    server, _, token = world
    with WS(server.ws_url) as ws, server.client() as admin:
        ok(admin.patch("/items/notes/5", json={"topic": HIDDEN_TOPIC}))
        assert ws.request({"type": "auth", "access_token": token})["status"] == "ok"
        subscribe = {"type": "subscribe", "collection": collection, "uid": "guess"}
        init = ws.request({**subscribe, "query": {"fields": ["id"], "filter": guess}})
        assert (init["event"], init["data"]) == ("init", []), init
        control = {"type": "subscribe", "collection": "topics", "uid": "control"}
        assert ws.request({**control, "query": {"fields": ["id"]}})["event"] == "init"
        ok(admin.patch(f"/items/{collection}/{key}", json=change))
        ok(admin.post("/items/topics", json={"name": "marker"}))
        frames = _frames_until_control(ws)
        assert [f for f in frames if f.get("uid") == "guess"] == [], frames


@pytest.fixture
def messages(server: LiveServer, admin: httpx.Client) -> tuple[LiveServer, httpx.Client, str]:
    """``messages`` with a hidden ``number``: the user reads id, text and user, on every row."""
    create_messages(admin)
    read = {"collection": "messages", "action": "read", "fields": ["id", "text", "user"], "permissions": {}}
    _, token = make_user(admin, policies=(make_policy(admin, read),))
    ok(admin.post("/items/messages", json={"id": 1, "text": "a", "number": 1}))
    return server, admin, token


@pytest.mark.parametrize("item", [None, "1"], ids=["collection", "item"])
def test_an_update_of_hidden_fields_only_sends_no_update(
    messages: tuple[LiveServer, httpx.Client, str], item: str | None
) -> None:
    """An ``update`` frame for a write that changed only fields the subscriber may not read showed nothing but
    that a hidden value changed, and when: the timing oracle on ``number``. A write it may read still arrives."""
    server, admin, token = messages
    with WS(server.ws_url) as ws:
        assert ws.request({"type": "auth", "access_token": token})["status"] == "ok"
        subscribe = {"type": "subscribe", "collection": "messages", "query": {"fields": ["*"]}, "uid": "s"}
        assert ws.request(subscribe if item is None else {**subscribe, "item": item})["event"] == "init"
        ok(admin.patch("/items/messages/1", json={"number": 2}))
        ok(admin.patch("/items/messages", json={"keys": [1], "data": {"number": 3}}))
        ok(admin.patch("/items/messages/1", json={"text": "b", "number": 4}))
        frame = ws.recv(timeout=5)
        assert (frame["event"], frame["uid"]) == ("update", "s"), frame
        row = frame["data"][0] if item is None else frame["data"]
        assert row == {"id": 1, "text": "b", "user": None}, frame
        ws.quiet(0.3)


@pytest.mark.parametrize("item", [None, "2"], ids=["collection", "item"])
def test_an_update_of_fields_hidden_on_that_row_sends_no_update(server: LiveServer, item: str | None) -> None:
    """Field permissions can differ per row: the masking world's user reads every field of its own notes and
    ``id``/``text``/``topic`` of the others. A write of ``n`` on another's note showed nothing readable, yet its
    ``update`` frame (sent because some permission grants ``n`` somewhere) told that the hidden value changed,
    and when. The same write on the user's own note, and a readable write on another's, still arrive."""
    world = next(build_world(server))
    with WS(server.ws_url) as ws, server.client() as admin:
        assert ws.request({"type": "auth", "access_token": world.token})["status"] == "ok"
        subscribe = {"type": "subscribe", "collection": "notes", "query": {"fields": ["id", "text"]}, "uid": "s"}
        assert ws.request(subscribe if item is None else {**subscribe, "item": item})["event"] == "init"
        ok(admin.patch("/items/notes/2", json={"n": 101}))
        ok(admin.patch("/items/notes", json={"keys": [2, 4], "data": {"note": "HIDDEN-b"}}))
        ok(admin.patch("/items/notes", json={"keys": [1, 2], "data": {"n": 6}}))
        ok(admin.patch("/items/notes/2", json={"text": "seen"}))
        frames = [ws.recv(timeout=5)]  # events arrive in order: nothing of the hidden writes comes after this
        while "seen" not in orjson.dumps(frames[-1]).decode():
            frames.append(ws.recv(timeout=5))
    own = [{"event": "update", "data": [{"id": 1, "text": "t1"}]}] if item is None else []
    seen = {"id": 2, "text": "seen"}
    assert [{"event": f["event"], "data": f["data"]} for f in frames] == [
        *own,
        {"event": "update", "data": [seen] if item is None else seen},
    ], frames


def test_an_admin_still_hears_an_update_of_any_field(messages: tuple[LiveServer, httpx.Client, str]) -> None:
    server, admin, _ = messages
    with WS(server.ws_url) as ws:
        assert ws.request({"type": "auth", "access_token": ADMIN_TOKEN})["status"] == "ok"
        subscribe = {"type": "subscribe", "collection": "messages", "query": {"fields": ["id", "number"]}, "uid": "s"}
        assert ws.request(subscribe)["event"] == "init"
        ok(admin.patch("/items/messages/1", json={"number": 2}))
        frame = ws.recv(timeout=5)
        assert (frame["event"], frame["data"]) == ("update", [{"id": 1, "number": 2}]), frame


def test_a_deep_filters_dynamic_variables_are_each_subscribers_own(server: LiveServer, admin: httpx.Client) -> None:
    """Two users with the same permissions share one read of an event. A ``deep`` ``_filter``'s placeholders were
    resolved at that read, for the group's first subscriber only, so the second got its rows chosen by the first's
    ``$CURRENT_USER`` (and by its ``$CURRENT_USER.<field>``s, values the second may not read). They are resolved
    per subscriber at subscribe time, as the root ``filter`` always was (and as Directus does)."""
    build_schema(admin)
    readers = make_policy(
        admin,
        {"collection": "notes", "action": "read", "fields": ["*"], "permissions": {}},
        {"collection": "topics", "action": "read", "fields": ["*"], "permissions": {}},
    )
    first, second = (make_user(admin, policies=(readers,)) for _ in range(2))
    ok(admin.post("/items/topics", json={"id": 1, "name": "t"}))
    ok(
        admin.post(
            "/items/notes",
            json=[{"text": f"of-{n}", "owner": who, "topic": 1} for n, (who, _) in enumerate((first, second))],
        )
    )
    query = {"fields": ["id", "notes.text"], "deep": {"notes": {"_filter": {"owner": {"_eq": "$CURRENT_USER"}}}}}
    with WS(server.ws_url) as ws1, WS(server.ws_url) as ws2:
        for ws, (_, token) in ((ws1, first), (ws2, second)):
            assert ws.request({"type": "auth", "access_token": token})["status"] == "ok"
            init = ws.request({"type": "subscribe", "collection": "topics", "query": query, "uid": "s"})
            assert init["event"] == "init", init
        ok(admin.patch("/items/topics/1", json={"name": "renamed"}))
        assert ws1.recv(timeout=5)["data"] == [{"id": 1, "notes": [{"text": "of-0"}]}]
        assert ws2.recv(timeout=5)["data"] == [{"id": 1, "notes": [{"text": "of-1"}]}]
