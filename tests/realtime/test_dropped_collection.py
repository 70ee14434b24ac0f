"""A subscription is to one collection, not to a name: when the collection is deleted, its subscriptions end
(FORBIDDEN naming their uid), and a collection created again under the same name (with its own fields, rows
and permissions) never reaches them. The end is dispatched in ``seq`` order with the delete's own event, so it
holds on a server that has not yet reloaded its schema: before, such a server re-checked the subscription
only when it next reloaded (``CACHE_SYNC_INTERVAL``), by which time the name could stand for the new
collection, and the old subscription carried on into it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.http.accounts_support import ok
from tests.realtime.test_subscriptions_helpers import realtime, wait_until
from tests.realtime.wsclient import WS
from tests.support import live
from tests.support.live import LiveServer, live_server, scratch_database
from tests.support.seed import create_messages

WAIT = 10.0  # a hang guard only: each wait returns as its frame arrives


@pytest.fixture
def stale_pair(tmp_path: Path) -> Iterator[tuple[LiveServer, LiveServer]]:
    """Two servers on one database and one Redis bus; the second never polls for schema changes
    (``CACHE_SYNC_INTERVAL=0``), so it holds the schema it started with: a server whose poll has not come yet."""
    if live.test_db_client() == "sqlite3":
        pytest.skip("needs TIDEPOOL_TEST_DB=pg or mysql")
    env = {
        "REDIS": "redis://127.0.0.1:6379/0",
        "REDIS_BUS_NAMESPACE": f"tidepool-test:{uuid.uuid4().hex}",
        "WEBSOCKETS_HEARTBEAT_PERIOD": "600",  # pings answered (``until_pong``), none sent meanwhile
    }
    with scratch_database(tmp_path) as db_env, live_server({**db_env, **env}) as one:
        with one.client() as admin:
            create_messages(admin)
        with live_server({**db_env, **env, "CACHE_SYNC_INTERVAL": "0"}) as two:
            yield one, two


def test_a_deleted_collections_subscription_ends_before_the_one_made_again(
    stale_pair: tuple[LiveServer, LiveServer],
) -> None:
    one, two = stale_pair
    with WS(two.ws_url) as ws, one.client() as admin:
        assert ws.request({"type": "auth", "access_token": "admin-static-token"})["status"] == "ok"
        init = ws.request({"type": "subscribe", "collection": "messages", "uid": "m"})
        assert init["event"] == "init", init
        assert admin.delete("/collections/messages").status_code == 204
        create_messages(admin)
        ok(admin.post("/items/messages", json={"text": "in the new collection"}))
        head = realtime(one).bus.head
        wait_until(lambda: realtime(two).dispatcher.last_seq >= head, WAIT)
        frames = [frame for frame in ws.until_pong() if frame.get("type") != "ping"]
    assert [(f["type"], f.get("uid"), f.get("error", {}).get("code")) for f in frames] == [
        ("subscribe", "m", "FORBIDDEN")
    ], frames


def test_a_resume_across_the_collections_delete_gets_a_fresh_init(server: LiveServer, admin: httpx.Client) -> None:
    """A client resuming from before the delete holds rows of the old collection: replaying the old one's
    events and the new one's by key would mix the two (the new item 1 shown as an update of the old item 1),
    so the answer is a fresh ``init`` of the collection that bears the name now. Before, it was a ``resume``."""
    create_messages(admin)
    ok(admin.post("/items/messages", json={"text": "old"}))
    subscribe = {"type": "subscribe", "collection": "messages", "uid": "m", "query": {"fields": ["id", "text"]}}
    with WS(server.ws_url) as ws:
        assert ws.request({"type": "auth", "access_token": "admin-static-token"})["status"] == "ok"
        since = ws.request(subscribe)["seq"]
    ok(admin.patch("/items/messages/1", json={"text": "old, changed"}))
    assert admin.delete("/collections/messages").status_code == 204
    create_messages(admin)
    ok(admin.post("/items/messages", json={"text": "new"}))
    with WS(server.ws_url) as ws:
        assert ws.request({"type": "auth", "access_token": "admin-static-token"})["status"] == "ok"
        opening = ws.request({**subscribe, "since": since})
    assert (opening["event"], opening["data"]) == ("init", [{"id": 1, "text": "new"}]), opening
