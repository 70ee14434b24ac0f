"""``tidepool start --workers 2`` (issue 11, point 3): two real worker processes on one port, one database.

* Connections spread over both workers (each scrape of ``/metrics`` says which process answered:
  ``process_pid``, with that process's own socket and subscription counts).
* Subscribers on both workers see every create written through sockets and REST connections of both
  workers, each in ``seq`` order; on SQLite the concurrent writes of two processes all succeed.
* A REST write through one worker is read at once through the other.
* A field added, a permission removed and a static token revoked through one worker take effect on the other.
* SIGTERM while writers stream: every acknowledged write reaches every subscriber of either worker, every
  socket is closed with 1001, and the parent exits 0 with its workers.
* A worker that dies is replaced.

Runs on SQLite by default and on PostgreSQL / MariaDB with ``TIDEPOOL_TEST_DB``.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tests.realtime.test_subscriptions_helpers import wait_until
from tests.support.live import ADMIN_TOKEN, scratch_database
from tests.support.process import Started, started
from tests.support.seed import USER_TOKEN, create_guide_messages, seed_guide

METRICS = "metrics-token"
ENV = {
    "METRICS_ENABLED": "true",
    "METRICS_TOKENS": METRICS,
    "METRICS_SERVICES": "",
    "WEBSOCKETS_HEARTBEAT_ENABLED": "false",
    "SERVER_SHUTDOWN_TIMEOUT": "5000",
}
BOUND = 30.0  # no wait in this file lasts longer (a loaded machine starts two interpreters slowly)
SHUTTING_DOWN = 1001


@pytest.fixture
def db_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    with scratch_database(tmp_path) as env:
        yield env


@pytest.fixture(params=["log"])
def server(db_env: dict[str, str], tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Started]:
    """Two workers (``--workers 2``); with ``redis``, news of events travels through Redis too."""
    bus = {"REDIS": "redis://127.0.0.1:6379/0", "REDIS_BUS_NAMESPACE": f"tidepool-test:{uuid.uuid4().hex}"}
    env = {**db_env, **ENV, **(bus if request.param == "redis" else {})}
    with started(env, log=tmp_path / "server.log", args=("--workers", "2")) as handle:
        yield handle


# ------------------------------------------------------------------------------------------------ helpers


def scrape(client: httpx.Client) -> dict[str, float]:
    """The metrics of the worker that holds ``client``'s connection."""
    text = client.get("/metrics", headers={"Authorization": f"Metrics {METRICS}"}).text
    return {m[1]: float(m[2]) for m in re.finditer(r"^directus_(\w+) ([0-9.e+-]+)$", text, re.M)}


def pid_of(client: httpx.Client) -> int:
    return int(scrape(client)["process_pid"])


def by_worker(server: Started) -> dict[int, dict[str, float]]:
    """Each worker's metrics, scraped on fresh connections until both have answered."""
    seen: dict[int, dict[str, float]] = {}
    deadline = time.monotonic() + BOUND
    while len(seen) < 2:
        assert time.monotonic() < deadline, f"only workers {sorted(seen)} answered"
        with httpx.Client(base_url=server.url, timeout=BOUND) as client:
            metrics = scrape(client)
        seen[int(metrics["process_pid"])] = metrics
    return seen


def pinned(server: Started) -> tuple[httpx.Client, httpx.Client]:
    """Two admin clients whose keep-alive connections are held by different workers."""
    first = httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, timeout=BOUND)
    deadline = time.monotonic() + BOUND
    while True:
        other = httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, timeout=BOUND)
        if pid_of(other) != pid_of(first):
            return first, other
        other.close()
        assert time.monotonic() < deadline, "every connection went to one worker"


async def open_socket(server: Started) -> ClientConnection:
    ws = await connect(server.ws_url, ping_interval=None, max_size=None, close_timeout=2)
    await ws.send(json.dumps({"type": "auth", "access_token": ADMIN_TOKEN}))
    assert json.loads(await ws.recv())["status"] == "ok"
    return ws


class Subscriber:
    """A socket subscribed to ``messages`` creates; ``frames`` fills in until the socket closes."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.frames: list[dict[str, Any]] = []
        self.close_code: int | None = None
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.ws.send(json.dumps({"type": "subscribe", "collection": "messages", "query": {"fields": ["id"]}}))
        assert json.loads(await self.ws.recv())["event"] == "init"
        self.task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        try:
            async for raw in self.ws:
                frame = json.loads(raw)
                if frame.get("type") == "subscription" and frame.get("event") == "create":
                    self.frames.append(frame)
        except ConnectionClosed:
            pass
        rcvd = self.ws.protocol.close_rcvd
        self.close_code = None if rcvd is None else int(rcvd.code)

    @property
    def ids(self) -> list[int]:
        return [int(row["id"]) for frame in self.frames for row in frame["data"]]

    def in_order(self) -> bool:
        seqs = [frame["seq"] for frame in self.frames]
        return seqs == sorted(seqs) and len(set(seqs)) == len(seqs)


async def ws_create(ws: ClientConnection, text: str) -> int:
    await ws.send(json.dumps({"type": "items", "collection": "messages", "action": "create", "data": {"text": text}}))
    reply = json.loads(await ws.recv())
    assert reply.get("type") == "items" and "errors" not in reply, reply
    return int(reply["data"]["id"])


async def until(predicate: Any, what: str) -> None:
    deadline = time.monotonic() + BOUND
    while not predicate():
        assert time.monotonic() < deadline, what
        await asyncio.sleep(0.02)


# -------------------------------------------------------------------------------------------------- tests


@pytest.mark.parametrize("server", ["log", "redis"], indirect=True)
def test_two_workers_share_sockets_events_writes_and_stop_together(server: Started) -> None:
    by_worker(server)  # both workers serve
    output = server.output()
    assert "2 worker processes" in output and "Tidepool: 2 workers serving" in output, output
    a, b = pinned(server)
    create_guide_messages(a)
    wait_until(lambda: b.get("/items/messages").status_code == 200, BOUND)  # the schema reached the other worker
    key = a.post("/items/messages", json={"text": "through a"}).json()["data"]["id"]
    assert b.get(f"/items/messages/{key}").json()["data"]["text"] == "through a"  # visible at once on the other
    asyncio.run(_share_and_stop(server, a, b))
    assert server.process.wait(BOUND) == 0, server.output()
    a.close()
    b.close()


async def _share_and_stop(server: Started, a: httpx.Client, b: httpx.Client) -> None:
    sockets = [await open_socket(server) for _ in range(16)]
    try:
        await _share_and_stop_on(server, a, b, sockets)
    finally:
        for ws in sockets:
            await ws.close()


async def _share_and_stop_on(
    server: Started, a: httpx.Client, b: httpx.Client, sockets: list[ClientConnection]
) -> None:
    counts = {pid: metrics["realtime_sockets"] for pid, metrics in by_worker(server).items()}
    assert sum(counts.values()) == 16 and all(counts.values()), counts  # both workers hold sockets
    subscribers = [Subscriber(ws) for ws in sockets[:8]]
    for sub in subscribers:
        await sub.start()
    subscribed = {pid: metrics["realtime_subscriptions"] for pid, metrics in by_worker(server).items()}
    assert all(subscribed.values()), subscribed  # subscribers on both workers

    # Concurrent writes from both workers: 8 sockets and 2 REST connections (one per worker).
    async def socket_writer(ws: ClientConnection, n: int) -> list[int]:
        return [await ws_create(ws, f"ws{n}-{i}") for i in range(10)]

    def rest_writer(client: httpx.Client, name: str) -> list[int]:
        out = []
        for i in range(10):
            response = client.post("/items/messages", json={"text": f"{name}-{i}"})
            assert response.status_code == 200, response.text
            out.append(int(response.json()["data"]["id"]))
        return out

    written = await asyncio.gather(
        *(socket_writer(ws, n) for n, ws in enumerate(sockets[8:])),
        asyncio.to_thread(rest_writer, a, "a"),
        asyncio.to_thread(rest_writer, b, "b"),
    )
    acked = {key for keys in written for key in keys}
    assert len(acked) == 100
    for sub in subscribers:
        await until(lambda sub=sub: acked <= set(sub.ids), f"a subscriber saw {len(sub.ids)} of 100")
        assert sub.in_order() and len(sub.ids) == len(set(sub.ids))

    # SIGTERM while REST writers stream through both workers: every acknowledged write reaches every subscriber.
    streamed: list[int] = []

    async def stream(client: httpx.Client, name: str) -> None:
        async with httpx.AsyncClient(base_url=server.url, headers=client.headers, timeout=BOUND) as own:
            i = 0
            while True:
                try:
                    response = await own.post("/items/messages", json={"text": f"{name}-{i}"})
                except httpx.TransportError:
                    return
                if response.status_code != 200:
                    return
                streamed.append(int(response.json()["data"]["id"]))
                i += 1

    writers = [asyncio.create_task(stream(client, name)) for client, name in ((a, "sa"), (b, "sb"))]
    await until(lambda: len(streamed) >= 20, "the writers stream")
    server.process.send_signal(signal.SIGTERM)
    await asyncio.wait_for(asyncio.gather(*writers), BOUND)
    for sub in subscribers:
        assert sub.task is not None
        await asyncio.wait_for(sub.task, BOUND)
    everything = acked | set(streamed)
    for sub in subscribers:
        assert sub.close_code == SHUTTING_DOWN
        assert everything <= set(sub.ids), f"missing {sorted(everything - set(sub.ids))[:10]}"
        assert sub.in_order()


def test_changes_through_one_worker_reach_the_other(server: Started) -> None:
    a, b = pinned(server)
    seed = seed_guide(a)
    user = {"Authorization": f"Bearer {USER_TOKEN}"}
    wait_until(lambda: b.get("/items/messages", headers=user).status_code == 200, BOUND)

    # A field added through A: B reads and writes it.
    assert a.post("/fields/messages", json={"field": "mood", "type": "string"}).status_code == 200
    wait_until(lambda: b.get("/items/messages", params={"fields": "mood"}).status_code == 200, BOUND)
    assert b.post("/items/messages", json={"text": "x", "mood": "calm"}).status_code == 200
    calm = b.get("/items/messages", params={"fields": "mood", "filter": json.dumps({"mood": {"_eq": "calm"}})})
    assert calm.status_code == 200 and calm.json()["data"] == [{"mood": "calm"}], calm.text

    # The user's read permission removed through A: B refuses the user's read.
    permissions = a.get("/permissions", params={"filter[policy][_eq]": seed.policy, "limit": -1}).json()["data"]
    read = next(p["id"] for p in permissions if p["action"] == "read" and p["collection"] == "messages")
    assert a.delete(f"/permissions/{read}").status_code == 204
    wait_until(lambda: b.get("/items/messages", headers=user).status_code == 403, BOUND)

    # The user's static token revoked through A: B no longer knows it.
    assert a.patch(f"/users/{seed.user}", json={"token": None}).status_code == 200
    wait_until(lambda: b.get("/users/me", headers=user).status_code == 401, BOUND)
    a.close()
    b.close()


def test_a_worker_that_dies_is_replaced_and_sigint_stops_them_all(db_env: dict[str, str], tmp_path: Path) -> None:
    """Started by ``WEB_CONCURRENCY`` (no flag); stopped by SIGINT sent to the parent alone (``kill -INT``)."""
    env = {**db_env, **ENV, "WEB_CONCURRENCY": "2"}
    with started(env, log=tmp_path / "server.log") as server:
        pids = set(by_worker(server))
        victim = min(pids)
        os.kill(victim, signal.SIGKILL)

        def replaced() -> bool:
            try:
                seen = set(by_worker(server))
            except (httpx.TransportError, AssertionError):
                return False
            return victim not in seen and len(seen) == 2

        wait_until(replaced, BOUND)
        assert f"(pid {victim}) exited" in server.output()
        survivors = set(by_worker(server))
        server.process.send_signal(signal.SIGINT)
        assert server.process.wait(BOUND) == 0, server.output()
        for pid in survivors:  # the workers ended with the parent
            assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text()
