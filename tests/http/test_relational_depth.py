"""``MAX_RELATIONAL_DEPTH`` (Directus default 10): a path in ``fields``, ``filter``, ``sort`` or ``deep`` with more
segments than that is refused with Directus's 400 before anything is read, over REST and WebSocket.

``notes.topic`` → ``topics`` and its o2m ``topics.notes`` alternate, so ``topic.notes.topic.notes…`` is a path
of any length (the issue's ``author.posts.author.posts…`` answered a 119 MB body twelve levels deep)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.http.accounts_support import error, ok
from tests.http.masking_support import World, build_schema, build_world
from tests.realtime.wsclient import WS
from tests.support.live import live_server, scratch_database

MESSAGE = "Invalid query. Max relational depth exceeded."


def segments(count: int) -> list[str]:
    """``count`` relational segments starting from ``notes``."""
    return ["topic" if i % 2 == 0 else "notes" for i in range(count)]


def field_path(count: int) -> str:
    """A field path of exactly ``count`` segments, ending on a scalar."""
    return ".".join([*segments(count - 1), "id"])


def nested(count: int) -> dict[str, Any]:
    """A filter (or deep) object whose field path has ``count`` segments."""
    value: dict[str, Any] = {"id": {"_nnull": True}}
    for key in reversed(segments(count - 1)):
        value = {key: value}
    return value


def deep(count: int) -> dict[str, Any]:
    value: dict[str, Any] = {"_filter": {"id": {"_nnull": True}}}
    for key in reversed(segments(count - 1)):
        value = {key: value}
    return value


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with scratch_database(tmp_path_factory.mktemp("depth")) as env, live_server(env) as server:
        yield from build_world(server)


@pytest.fixture
def admin(world: World) -> Iterator[httpx.Client]:
    with world.server.client() as client:
        yield client


CASES = {
    "fields": lambda n: {"fields": field_path(n)},
    "filter": lambda n: {"fields": "id", "filter": json.dumps(nested(n))},
    "sort": lambda n: {"fields": "id", "sort": "-" + ".".join([*["topic", "pinned"] * 5][: n - 1] + ["id"])},
    "deep": lambda n: {"fields": "id,topic.id", "deep": json.dumps(deep(n))},
}


@pytest.mark.parametrize("part", CASES)
def test_a_path_of_ten_segments_is_read(admin: httpx.Client, part: str) -> None:
    assert ok(admin.get("/items/notes", params=CASES[part](10)))  # note 5 has no topic: 6 or 7 rows


@pytest.mark.parametrize("part", CASES)
def test_a_path_of_eleven_segments_is_refused_with_directus_error(admin: httpx.Client, part: str) -> None:
    assert error(admin.get("/items/notes", params=CASES[part](11)), 400, "INVALID_QUERY") == MESSAGE


def test_twelve_levels_of_fields_answer_a_small_error_not_a_huge_body(admin: httpx.Client) -> None:
    response = admin.get("/items/notes", params={"fields": field_path(12) + ",*.*.*.*.*.*.*.*.*.*.*"})
    assert response.status_code == 400 and len(response.content) < 200


def test_group_by_replaces_fields_as_in_directus(admin: httpx.Client) -> None:
    """Directus checks ``groupBy`` in place of ``fields`` (and no fields under ``aggregate``)."""
    params = {"fields": field_path(11), "aggregate[count]": "*"}
    assert ok(admin.get("/items/notes", params=params)) == [{"count": 7}]


def test_websocket_read_and_subscribe_get_the_same_error(world: World) -> None:
    query = {"fields": [field_path(11)]}
    with WS(world.server.ws_url) as ws:
        assert ws.request({"type": "auth", "access_token": "admin-static-token"})["status"] == "ok"
        for message in (
            {"type": "items", "collection": "notes", "action": "read", "query": query, "uid": "r"},
            {"type": "subscribe", "collection": "notes", "query": query, "uid": "s"},
        ):
            frame = ws.request(message)
            assert frame["status"] == "error", frame
            assert (frame["error"]["code"], frame["error"]["message"]) == ("INVALID_QUERY", MESSAGE)


def test_the_limit_is_configurable_and_never_below_two(tmp_path_factory: pytest.TempPathFactory) -> None:
    for configured, allowed in (("3", 3), ("1", 2)):
        env = {"MAX_RELATIONAL_DEPTH": configured}
        with scratch_database(tmp_path_factory.mktemp("depth3")) as db, live_server({**db, **env}) as server:
            with server.client() as admin:
                build_schema(admin)
                ok(admin.get("/items/notes", params={"fields": field_path(allowed)}))
                message = error(
                    admin.get("/items/notes", params={"fields": field_path(allowed + 1)}), 400, "INVALID_QUERY"
                )
                assert message == MESSAGE
