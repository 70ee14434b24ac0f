"""A large batch write does not stall the event loop for every other client.

A create of 20,000 items built its history rows (and encoded its events) in one synchronous step: a second
client's ``GET /server/ping`` waited 600-700 ms behind it. The rows are now built a chunk at a time
(``tidepool.chunked``), the event loop let in between, so the other client's pings keep being answered while
the batch runs, and the batch still commits whole, with one history row per item.

The server runs as a process of its own (``tests.support.process``): in this process it would share the
interpreter's lock with the measuring client, and the client's own work would count as the server's stall.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest

from tests.support import live
from tests.support.live import ADMIN_TOKEN, scratch_database
from tests.support.process import Started, spawn
from tests.support.seed import create_messages

ITEMS = 20_000
BOUND_MS = 450  # the old code: 600-984 ms on a loaded 2-core machine; chunked: 100-320 ms (load 7-9)
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Started]:
    with scratch_database(tmp_path) as db_env:
        handle = spawn(
            {**db_env, "MAX_PAYLOAD_SIZE": "10mb", "MAX_QUERY_COMPLEXITY": "5000"}, log=tmp_path / "server.log"
        )
        try:
            with httpx.Client(base_url=handle.url, headers=ADMIN, timeout=30) as admin:
                create_messages(admin)
            yield handle
        finally:
            handle.stop()


async def _worst_ping_during(url: str, body: bytes) -> tuple[httpx.Response, float]:
    """POST ``body`` (JSON, encoded beforehand so this client's own loop is not held up by it) to ``messages``
    while a second client pings back to back; the POST's reply and the slowest ping (ms) answered meanwhile."""
    async with (
        httpx.AsyncClient(base_url=url, timeout=120, headers={**ADMIN, "Content-Type": "application/json"}) as writer,
        httpx.AsyncClient(base_url=url, timeout=120) as pinger,
    ):
        await pinger.get("/server/ping")
        post = asyncio.create_task(writer.post("/items/messages", content=body))
        worst = 0.0
        while not post.done():
            start = time.perf_counter()
            assert (await pinger.get("/server/ping")).status_code == 200
            worst = max(worst, (time.perf_counter() - start) * 1000)
        return await post, worst


@pytest.mark.long
@pytest.mark.skipif(
    live.test_db_client() != "sqlite3",
    reason="SQLite only for now: on PostgreSQL the 20,000-key read-back's binding still holds the loop ~300 ms",
)
def test_other_clients_are_served_while_a_large_batch_is_created(server: Started) -> None:
    body = orjson.dumps([{"text": f"row {i}", "user": "bulk"} for i in range(ITEMS)])
    reply, worst = asyncio.run(_worst_ping_during(server.url, body))
    assert reply.status_code == 200, reply.text[:300]
    assert len(reply.json()["data"]) == ITEMS
    assert worst < BOUND_MS, f"a ping waited {worst:.0f} ms behind a {ITEMS}-item create"
    with httpx.Client(base_url=server.url, headers=ADMIN, timeout=30) as admin:
        query = {"filter[collection][_eq]": "messages", "filter[action][_eq]": "create", "aggregate[count]": "*"}
        counted = admin.get("/activity", params=query).json()["data"][0]["count"]
    assert int(counted) == ITEMS


def test_a_batch_of_several_chunks_keeps_one_revision_per_item_linked_to_its_activity(server: Started) -> None:
    """An update of 1,200 keys is one history entry whose rows (and its 2,401 events) span three chunks: each
    item still gets its activity row and a revision pointing at that row (PostgreSQL and MariaDB insert the
    rows a chunk per statement and match the ids back by item)."""
    count = 1_200
    with httpx.Client(base_url=server.url, headers=ADMIN, timeout=60) as admin:
        created = admin.post("/items/messages", json=[{"text": f"t{i}"} for i in range(count)]).json()["data"]
        keys = [row["id"] for row in created]
        assert admin.patch("/items/messages", json={"keys": keys, "data": {"text": "x"}}).status_code == 200
        params = {"filter[action][_eq]": "update", "filter[collection][_eq]": "messages", "limit": "-1"}
        activity = {row["id"]: row["item"] for row in admin.get("/activity", params=params).json()["data"]}
        params = {"filter[activity][action][_eq]": "update", "fields": "activity,item,data.text", "limit": "-1"}
        revisions = admin.get("/revisions", params=params).json()["data"]
    assert sorted(activity.values()) == sorted(str(key) for key in keys)
    assert len(revisions) == count
    assert all(activity[row["activity"]] == row["item"] and row["data"]["text"] == "x" for row in revisions)
