"""Several processes: two Tidepool servers on one database and one Redis (the "several processes" feature).

Writes land on either server; a subscriber on each server sees every change, with the same ``seq`` numbers
in the same order. Runs on PostgreSQL (or MariaDB) — SQLite is one file per server process in practice.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.realtime.test_subscriptions_helpers import wait_until
from tests.realtime.wsclient import WS
from tests.support import live
from tests.support.live import LiveServer, live_server, scratch_database
from tests.support.seed import USER_TOKEN, seed_messages

pytestmark = pytest.mark.skipif(live.test_db_client() == "sqlite3", reason="needs TIDEPOOL_TEST_DB=pg or mysql")


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, LiveServer]]:
    env = {
        "REDIS": "redis://127.0.0.1:6379/0",
        "REDIS_BUS_NAMESPACE": f"tidepool-test:{uuid.uuid4().hex}",
        "WEBSOCKETS_HEARTBEAT_ENABLED": "false",
        # no frame gap, so no frame waits in a queue and none folds (tidepool.realtime.coalesce): the test
        # compares the two streams frame by frame, by seq, and the two sockets would fold differently
        "WEBSOCKETS_FRAME_GAP_MS": "0",
    }
    with scratch_database(tmp_path_factory.mktemp("redis")) as db_env, live_server({**db_env, **env}) as one:
        seed_messages(one)
        with one.client() as admin:  # no history: the last logged event is then a messages event (see ``last``)
            assert admin.patch("/collections/messages", json={"meta": {"accountability": None}}).status_code == 200
        with live_server({**db_env, **env}) as two:
            two.run(two.runtime.schemas.reload())
            yield one, two


def test_a_subscriber_on_each_server_sees_every_change_in_the_same_order(pair: tuple[LiveServer, LiveServer]) -> None:
    one, two = pair
    subscribers = [WS(server.ws_url) for server in pair]
    try:
        inits = []
        for conn in subscribers:
            conn.request({"type": "auth", "access_token": USER_TOKEN})
            query = {"fields": ["id", "text"], "limit": -1}
            inits.append(conn.request({"type": "subscribe", "collection": "messages", "query": query, "uid": "s"}))
        assert inits[0]["data"] == inits[1]["data"]

        def write(server: LiveServer, name: str) -> None:
            with server.client() as rest:
                for i in range(10):
                    key = rest.post("/items/messages", json={"text": f"{name}{i}"}).json()["data"]["id"]
                    rest.patch(f"/items/messages/{key}", json={"text": f"{name}{i}!"})
                    if i % 3 == 0:
                        rest.delete(f"/items/messages/{key}")

        writers = [threading.Thread(target=write, args=(server, name)) for server, name in ((one, "a"), (two, "b"))]
        for t in writers:
            t.start()
        for t in writers:
            t.join()
        with one.client() as rest:
            rows = rest.get("/items/messages", params={"fields": "id", "limit": -1}).json()["data"]
        present = {row["id"] for row in rows}
        last = max(int(server.app.state.realtime.bus.head) for server in pair)
        streams: list[list[dict[str, Any]]] = [[], []]
        for stream, conn in zip(streams, subscribers, strict=True):
            try:  # the last write of each writer is a delete, which always makes a frame
                while not stream or stream[-1]["seq"] < last:
                    stream.append(conn.recv(10))
            except TimeoutError:
                raise AssertionError(f"got {len(stream)}: {[(f['event'], f['seq']) for f in stream]}") from None
        # Same numbers, same keys, same order. Row data is re-read when each server dispatches, so one server
        # may already see a later state: an update of a row deleted by the next commit reaches it as a delete,
        # and a create of a row deleted meanwhile makes no frame at all (its delete follows). Every frame one
        # stream has and the other lacks must be such a create; what each client ends up holding is the same,
        # and it is what the database holds.
        by_seq = [{f["seq"]: f for f in stream} for stream in streams]
        for mine, theirs in ((by_seq[0], by_seq[1]), (by_seq[1], by_seq[0])):
            for seq, frame in mine.items():
                if seq in theirs:
                    assert _shape(frame) == _shape(theirs[seq])
                else:
                    assert frame["event"] == "create" and not {row["id"] for row in frame["data"]} & present, frame
        held = [_fold(inits[i]["data"], stream) for i, stream in enumerate(streams)]
        assert held[0] == held[1] == present
        for stream in streams:
            seqs = [frame["seq"] for frame in stream]
            assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs) and len(seqs) >= 2 * (10 + 4)
        assert {frame["data"][0]["text"][0] for frame in streams[0] if frame["event"] == "create"} == {"a", "b"}
        for conn in subscribers:
            conn.quiet(0.2)
    finally:
        for conn in subscribers:
            conn.close()
    wait_until(lambda: all(s.app.state.realtime.subscriptions.count() == 0 for s in pair))


def _shape(frame: dict[str, Any]) -> tuple[Any, ...]:
    data = frame["data"]
    keys = [row["id"] if isinstance(row, dict) else row for row in data]
    return frame["seq"], [str(k) for k in keys]


def _fold(init: list[dict[str, Any]], frames: list[dict[str, Any]]) -> set[int]:
    """The keys a client holds after applying ``frames`` to its ``init`` data."""
    held = {row["id"] for row in init}
    for frame in frames:
        if frame["event"] == "delete":
            held -= {int(k) for k in frame["data"]}
        else:
            held |= {row["id"] for row in frame["data"]}
    return held
