"""Issue 7 item 4 over subscription events: a subscription filter on a field readable on some rows only must
not see the hidden value in the row as it was before an update either (else the subscriber gets a ``delete``
for a row whose hidden value matched: an oracle). Events arrive in ``seq`` order, so a later event the
subscriber must get proves that nothing came before it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.http.accounts_support import make_policy, make_user, ok
from tests.http.masking_support import OWN, TOPICS, World, build_schema, seed
from tests.realtime.wsclient import WS
from tests.support.live import live_server, scratch_database

ALL = ["id", "text", "owner", "note", "n", "topic"]


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    """The masking world, with the field lists spelled out (as a policy editor may save them)."""
    with scratch_database(tmp_path) as env, live_server(env) as server, server.client() as admin:
        build_schema(admin)
        policy = make_policy(
            admin,
            {"collection": "notes", "action": "read", "fields": ALL, "permissions": OWN},
            {"collection": "notes", "action": "read", "fields": ["id", "text", "topic"], "permissions": {}},
            TOPICS,
        )
        user, token = make_user(admin, policies=(policy,))
        seed(admin, user)
        yield World(server, user, token, policy)


def test_update_of_a_row_whose_hidden_value_matched_sends_nothing(world: World) -> None:
    query = {"fields": ["id", "note"], "filter": {"note": {"_starts_with": "HIDDEN"}}}
    with WS(world.server.ws_url) as ws, world.server.client() as admin:
        assert ws.request({"type": "auth", "access_token": world.token})["status"] == "ok"
        init = ws.request({"type": "subscribe", "collection": "notes", "query": query, "uid": "s"})
        assert (init["event"], init["data"]) == ("init", [])
        ok(admin.patch("/items/notes/2", json={"text": "edited"}))  # another user's note "HIDDEN-a"
        ok(admin.patch("/items/notes/1", json={"note": "HIDDEN-mine"}))  # the user's own note enters the view
        frame = ws.recv_until(lambda f: f.get("type") == "subscription")
        assert (frame["event"], frame["data"]) == ("create", [{"id": 1, "note": "HIDDEN-mine"}])
