"""Resume: a subscriber that reconnects with ``since`` gets exactly what it missed, then live events.

The contract (docs/realtime-events.md, "Resuming"): ``resume`` with the ``since`` it asked for, then every
logged change after it that the subscriber may see, in ``seq`` order, computed as live events are (its
permissions, filter and fields; rows as they are now; deletes only of rows it could see), then live events.
When the log cannot answer (``since`` older than retention, beyond the log's head, or more events than
``WEBSOCKETS_RESUME_LIMIT``) the answer is an ordinary ``init``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.realtime.test_subscriptions_helpers import add_bob, create, wait_dispatched, wait_until, ws
from tests.realtime.wsclient import WS
from tests.support.live import LiveServer, live_server, scratch_database
from tests.support.seed import seed_messages
from tests.support.servers import module_server

RESUME_LIMIT = 20


srv = module_server(
    "resume",
    # The heartbeat answers client pings (``frames_until_quiet``); its own pings never come in a test.
    env={"WEBSOCKETS_RESUME_LIMIT": str(RESUME_LIMIT), "WEBSOCKETS_HEARTBEAT_PERIOD": "600"},
    seed=[seed_messages, add_bob],
)


@pytest.fixture
def rest(srv: LiveServer) -> Iterator[httpx.Client]:
    with srv.client() as client:
        yield client


def subscribe(conn: WS, since: int | None = None, **extra: Any) -> dict[str, Any]:
    message: dict[str, Any] = {"type": "subscribe", "collection": "messages", "uid": "chat", **extra}
    message.setdefault("query", {"fields": ["id", "text", "user"]})
    if since is not None:
        message["since"] = since
    reply: dict[str, Any] = conn.request(message)
    return reply


def frames_until_quiet(conn: WS) -> list[dict[str, Any]]:
    """What the socket was sent so far (a replay is queued whole with its ``resume``), up to a ping's pong:
    reading until 0.5 s of silence could stop inside a replay that a loaded machine paced slowly."""
    return conn.until_pong()


def last_seq(srv: LiveServer) -> int:
    wait_dispatched(srv)
    return int(srv.app.state.realtime.bus.head)


def test_resume_replays_every_missed_change_in_order_then_goes_live(srv: LiveServer, rest: httpx.Client) -> None:
    kept, edited, removed = (create(rest, text=t, user="ann") for t in ("kept", "edit me", "remove me"))
    with ws(srv) as first:
        init = subscribe(first)
        assert init["event"] == "init"
        since = init["seq"]
    created = create(rest, text="while away", user="ann")
    rest.patch(f"/items/messages/{edited}", json={"text": "edited"})
    rest.delete(f"/items/messages/{removed}")
    with ws(srv) as again:
        assert subscribe(again, since) == {"type": "subscription", "event": "resume", "uid": "chat", "seq": since}
        missed = frames_until_quiet(again)
        assert [(f["event"], f["data"]) for f in missed] == [
            ("create", [{"id": created, "text": "while away", "user": "ann"}]),
            ("update", [{"id": edited, "text": "edited", "user": "ann"}]),
            ("delete", [str(removed)]),
        ]
        seqs = [f["seq"] for f in missed]
        assert seqs == sorted(seqs) and seqs[0] > since and len(set(seqs)) == 3
        assert all(f["uid"] == "chat" and f["type"] == "subscription" for f in missed)
        rest.patch(f"/items/messages/{kept}", json={"text": "live"})
        live = again.recv()
        assert live["event"] == "update" and live["data"] == [{"id": kept, "text": "live", "user": "ann"}]
        assert live["seq"] > seqs[-1]


def test_resume_applies_permissions_filters_and_fields_as_live_events_do(srv: LiveServer, rest: httpx.Client) -> None:
    """bob may read only rows whose user is bob: he learns nothing of ann's rows, not even their deletes,
    and a row of his that was handed to ann leaves his view as a delete."""
    mine = create(rest, text="bob's", user="bob")
    given = create(rest, text="bob's, given away", user="bob")
    since = last_seq(srv)
    ann = create(rest, text="ann's", user="ann")
    rest.patch(f"/items/messages/{ann}", json={"text": "ann's, edited"})
    rest.delete(f"/items/messages/{ann}")
    rest.patch(f"/items/messages/{mine}", json={"text": "bob's, edited"})
    rest.patch(f"/items/messages/{given}", json={"user": "ann"})
    new = create(rest, text="bob's new", user="bob")
    with ws(srv, "bob-token") as bob:
        reply = subscribe(bob, since, query={"fields": ["text"], "filter": {"text": {"_contains": "bob"}}})
        assert reply["event"] == "resume"
        missed = frames_until_quiet(bob)
    assert [(f["event"], f["data"]) for f in missed] == [
        ("update", [{"text": "bob's, edited"}]),
        ("delete", [given]),  # a leave names the key as stored, as live leave-events do
        ("create", [{"text": "bob's new"}]),
    ], missed
    assert new


def test_event_and_item_subscriptions_replay_only_what_they_watch(srv: LiveServer, rest: httpx.Client) -> None:
    watched = create(rest, text="watched", user="ann")
    since = last_seq(srv)
    other = create(rest, text="other", user="ann")
    rest.patch(f"/items/messages/{other}", json={"text": "other!"})
    rest.patch(f"/items/messages/{watched}", json={"text": "watched!"})
    with ws(srv) as item_sub, ws(srv) as updates:
        assert subscribe(item_sub, since, item=watched)["event"] == "resume"
        assert [(f["event"], f["data"]) for f in frames_until_quiet(item_sub)] == [
            ("update", {"id": watched, "text": "watched!", "user": "ann"})
        ]
        assert subscribe(updates, since, event="update")["event"] == "resume"
        assert [f["data"][0]["text"] for f in frames_until_quiet(updates)] == ["other!", "watched!"]


def test_nothing_missed_gives_resume_alone(srv: LiveServer) -> None:
    since = last_seq(srv)
    with ws(srv) as conn:
        assert subscribe(conn, since)["event"] == "resume"
        assert frames_until_quiet(conn) == []


@pytest.mark.parametrize("reason", ["beyond the head", "too many to replay"])
def test_when_the_log_cannot_answer_the_reply_is_a_fresh_init(srv: LiveServer, rest: httpx.Client, reason: str) -> None:
    since = last_seq(srv)
    if reason == "beyond the head":
        since += 1_000_000
    else:
        rest.post("/items/messages", json=[{"text": f"bulk {n}", "user": "ann"} for n in range(RESUME_LIMIT + 1)])
    with ws(srv) as conn:
        reply = subscribe(conn, since)
        assert reply["event"] == "init" and isinstance(reply["data"], list), reply
        assert frames_until_quiet(conn) == []


@pytest.mark.parametrize("since", [-1, 1.5, "12", True, None])
def test_a_malformed_since_is_an_invalid_payload(srv: LiveServer, since: Any) -> None:
    with ws(srv) as conn:
        message = {"type": "subscribe", "collection": "messages", "uid": "chat", "since": since}
        reply = conn.request(message)
        assert reply["type"] == "subscribe" and reply["status"] == "error", reply
        assert reply["error"]["code"] == "INVALID_PAYLOAD" and "since" in reply["error"]["message"]
        assert subscribe(conn)["event"] == "init"  # the socket stays usable


def test_since_older_than_retention_gives_init(tmp_path_factory: pytest.TempPathFactory) -> None:
    env = {"EVENT_LOG_RETENTION_COUNT": "3", "EVENT_LOG_PRUNE_INTERVAL": "50", "WEBSOCKETS_HEARTBEAT_PERIOD": "600"}
    with scratch_database(tmp_path_factory.mktemp("retention")) as db_env, live_server({**db_env, **env}) as server:
        seed_messages(server)
        with server.client() as rest:  # one event per create: no activity/revision events on top of them
            rest.patch("/collections/messages", json={"meta": {"accountability": None}}).raise_for_status()
        since = last_seq(server)
        with server.client() as rest:
            for n in range(6):
                create(rest, text=f"m{n}", user="ann")
        head = last_seq(server)
        wait_until(lambda: server.run(_pruned(server)) >= head - 3)
        with ws(server) as conn:
            reply = subscribe(conn, since)
            assert reply["event"] == "init", reply
            assert {row["text"] for row in reply["data"]} >= {f"m{n}" for n in range(6)}
        with ws(server) as conn:  # still within the window: resumed
            assert subscribe(conn, head - 2)["event"] == "resume"
            assert [f["data"][0]["text"] for f in frames_until_quiet(conn)] == ["m4", "m5"]


async def _pruned(server: LiveServer) -> int:
    from tidepool import eventlog

    async with server.runtime.engine.connect() as conn:
        return (await eventlog.counters(conn))[eventlog.PRUNED]


def test_a_server_that_fell_behind_retention_closes_its_subscribers_with_1013_and_they_resync(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """Server ``slow`` reads the log rarely; server ``fast`` (same database) writes and prunes to 3 events. The
    events ``slow`` never read are gone: its subscribers are closed with 1013 "events lost", and resuming
    from their last ``seq`` answers a fresh ``init`` holding the database's rows."""
    quiet = {"WEBSOCKETS_HEARTBEAT_ENABLED": "false"}
    slow_env = {**quiet, "EVENT_LOG_POLL_INTERVAL": "1500", "EVENT_LOG_PRUNE_INTERVAL": "1h"}
    fast_env = {**quiet, "EVENT_LOG_RETENTION_COUNT": "3", "EVENT_LOG_PRUNE_INTERVAL": "50"}
    with scratch_database(tmp_path_factory.mktemp("behind")) as db_env, live_server({**db_env, **slow_env}) as slow:
        seed_messages(slow)
        with live_server({**db_env, **fast_env}) as fast:
            fast.run(fast.runtime.schemas.reload())
            with ws(slow) as conn:
                since = subscribe(conn)["seq"]
                with fast.client() as rest:
                    for n in range(8):
                        create(rest, text=f"while behind {n}", user="ann")
                assert conn.wait_closed(timeout=10) == 1013
            with ws(slow) as again, slow.client() as rest:
                reply = subscribe(again, since, query={"fields": ["id", "text", "user"], "limit": -1})
                assert reply["event"] == "init"
                rows = rest.get("/items/messages", params={"limit": -1, "fields": "id,text,user"}).json()["data"]
                assert reply["data"] == rows and len(rows) == 8


@pytest.mark.parametrize("table", ["tidepool_events", "tidepool_event_counters"])
def test_the_event_log_is_no_collection_not_even_for_the_admin(srv: LiveServer, rest: httpx.Client, table: str) -> None:
    """The log holds the ``before`` rows of every collection: readable through any API, it would leak them."""
    assert table not in {c["collection"] for c in rest.get("/collections").json()["data"]}
    assert rest.get(f"/items/{table}").status_code == 403
    assert rest.post(f"/items/{table}", json={"seq": 10**9}).status_code == 403
    assert rest.get(f"/fields/{table}").status_code in (403, 404)
    with ws(srv) as conn:
        reply = conn.request({"type": "subscribe", "collection": table, "uid": "x"})
        assert reply["status"] == "error" and reply["error"]["code"] == "FORBIDDEN"
