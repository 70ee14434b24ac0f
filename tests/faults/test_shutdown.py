"""SIGTERM with writers and subscribers open (issue 8, part 4): a real ``tidepool start`` process is stopped
mid-stream.

* Every write acknowledged to a writer (REST ``200``, WebSocket ``items`` reply) has its event delivered to
  every subscriber, every socket is closed with **1001** "server shutting down", and the process exits 0 well
  within ``SERVER_SHUTDOWN_TIMEOUT``. A WebSocket write the draining server refused (``SERVICE_UNAVAILABLE``)
  did not happen.
* A subscriber that never reads holds the shutdown no longer than ``SERVER_SHUTDOWN_TIMEOUT``.

Runs on SQLite by default and on PostgreSQL / MariaDB with ``TIDEPOOL_TEST_DB``.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import signal
import socket
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from websockets.asyncio.client import ClientConnection, connect
from websockets.client import ClientProtocol
from websockets.exceptions import ConnectionClosed
from websockets.frames import Opcode
from websockets.http11 import Response
from websockets.uri import parse_uri

from tests.support.live import ADMIN_TOKEN, base_env, scratch_database
from tests.support.process import Started, started
from tidepool.config import load_settings
from tidepool.db.engine import create_engine

SHUTTING_DOWN = 1001
STREAM_SECONDS = 1.0  # writers write at least this long before the SIGTERM,
STREAM_WRITES = 50  # and until every subscriber has seen this many creates
STREAM_SECONDS_MAX = 15.0  # (a slow machine gets time; one that cannot manage it fails the floor below)
BOUND = 15.0  # no client loop in this file runs longer than this
STALLED_EVENTS = 140
# The process is gone this long after the drain's grace at the latest: only a hang guard. The stop itself is
# timed by the server's own log; what follows it (closing the pool, the interpreter's teardown) took from 0.4
# to 2.4 s at a load average of 8-9, and more than 5 s on MariaDB at 15.
EXIT_AFTER_GRACE = 20.0


@pytest.fixture
def db_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    with scratch_database(tmp_path) as env:
        yield env


# ------------------------------------------------------------------------------------------- clients


@dataclass
class Subscriber:
    name: str
    ids: list[int] = field(default_factory=list)
    close_code: int | None = None


@dataclass
class Writer:
    name: str
    acked: list[int] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # texts of writes answered SERVICE_UNAVAILABLE
    close_code: int | None = None  # WebSocket writers only
    ended_by: str = ""


def _ws_url(server: Started) -> str:
    return f"ws://127.0.0.1:{server.port}/websocket"


async def _open(server: Started) -> ClientConnection:
    ws = await connect(_ws_url(server), ping_interval=None, max_size=None, close_timeout=2)
    await ws.send(json.dumps({"type": "auth", "access_token": ADMIN_TOKEN}))
    assert json.loads(await ws.recv())["status"] == "ok"
    return ws


def _close_code(ws: ClientConnection) -> int | None:
    rcvd = ws.protocol.close_rcvd
    return None if rcvd is None else int(rcvd.code)


async def subscribe(server: Started, name: str, collection: str, fields: list[str]) -> tuple[Subscriber, Any]:
    """A subscriber with its ``init`` received; the returned task reads create events until the close."""
    sub = Subscriber(name)
    ws = await _open(server)
    await ws.send(json.dumps({"type": "subscribe", "collection": collection, "query": {"fields": fields}, "uid": name}))
    assert json.loads(await ws.recv())["event"] == "init"

    async def read() -> None:
        try:
            async for raw in ws:
                frame = json.loads(raw)
                if frame.get("type") == "subscription" and frame.get("event") == "create":
                    sub.ids.extend(int(row["id"]) for row in frame["data"])
        except ConnectionClosed:
            pass
        sub.close_code = _close_code(ws)

    return sub, asyncio.create_task(read())


async def rest_writer(server: Started, name: str) -> Writer:
    """POSTs one message after another on one keep-alive connection until the server stops answering."""
    writer = Writer(name)
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    async with httpx.AsyncClient(base_url=server.url, headers=headers, timeout=BOUND) as client:
        deadline = time.monotonic() + BOUND
        for i in itertools.count():
            if time.monotonic() > deadline:
                writer.ended_by = "time"
                break
            try:
                response = await client.post("/items/messages", json={"text": f"{name}-{i}"})
            except httpx.TransportError as exc:
                writer.ended_by = type(exc).__name__
                break
            if response.status_code != 200:
                writer.ended_by = f"HTTP {response.status_code}"
                break
            writer.acked.append(int(response.json()["data"]["id"]))
    return writer


async def ws_writer(server: Started, name: str, in_flight: int = 4) -> Writer:
    """Pipelines ``items`` creates (up to ``in_flight`` unanswered) on one socket until the server closes it."""
    writer = Writer(name)
    ws = await _open(server)
    room = asyncio.Semaphore(in_flight)

    async def send() -> None:
        for i in itertools.count():
            await room.acquire()
            text = f"{name}-{i}"
            message = {"type": "items", "collection": "messages", "action": "create", "data": {"text": text}}
            await ws.send(json.dumps({**message, "uid": text}))

    sender = asyncio.create_task(send())
    try:
        async for raw in ws:
            frame = json.loads(raw)
            if frame.get("type") != "items":
                continue
            room.release()
            if frame.get("status") == "error":
                assert frame["error"]["code"] == "SERVICE_UNAVAILABLE", frame
                writer.refused.append(frame["uid"])
            else:
                writer.acked.append(int(frame["data"]["id"]))
    except ConnectionClosed:
        pass
    finally:
        sender.cancel()
        await asyncio.gather(sender, return_exceptions=True)
    writer.close_code = _close_code(ws)
    writer.ended_by = f"close {writer.close_code}"
    return writer


async def wait_exit(server: Started, since: float, limit: float) -> float:
    """Seconds from ``since`` until the process exited (fails past ``limit``, with the tail of its log)."""
    while server.process.poll() is None:
        if time.monotonic() - since > limit:
            server.process.kill()
            out, err = server.process.communicate(timeout=10)
            raise AssertionError(f"tidepool start still running {limit} s after SIGTERM:\n{(out + err)[-4000:]}")
        await asyncio.sleep(0.01)
    return time.monotonic() - since


def _collection(admin: httpx.Client, name: str, text_type: str) -> None:
    body = {
        "collection": name,
        "meta": {},
        "schema": {},
        "fields": [
            {"field": "id", "type": "integer", "schema": {"is_primary_key": True, "has_auto_increment": True}},
            {"field": "text", "type": text_type, "meta": {}, "schema": {}},
        ],
    }
    response = admin.post("/collections", json=body)
    assert response.status_code == 200, response.text


def _admin(server: Started) -> httpx.Client:
    return httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, timeout=30)


async def _stored_texts(env: dict[str, str]) -> dict[int, str]:
    """The rows of ``messages`` as the database holds them after the server is gone."""
    engine = create_engine(load_settings({**base_env(), **env}, env_file=None))
    try:
        async with engine.connect() as conn:
            rows = (await conn.execute(sa.text("SELECT id, text FROM messages"))).all()
    finally:
        await engine.dispose()
    return {int(row[0]): str(row[1]) for row in rows}


# --------------------------------------------------------------------------------------------- tests


@pytest.mark.parametrize("bus", ["memory", "redis"])
def test_sigterm_delivers_every_acknowledged_write_then_closes_1001(db_env: dict[str, str], bus: str) -> None:
    """With Redis, the process's own last events reach its dispatcher only once read back from the stream."""
    grace = 5.0
    env = {**db_env, "SERVER_SHUTDOWN_TIMEOUT": str(int(grace * 1000)), "LOG_STYLE": "json", "LOG_LEVEL": "info"}
    if bus == "redis":
        env |= {"REDIS": "redis://127.0.0.1:6379/0", "REDIS_BUS_NAMESPACE": f"tidepool-test:{uuid.uuid4().hex}"}
    with started(env) as server:
        with _admin(server) as admin:
            _collection(admin, "messages", "string")
        subs, writers, exited = asyncio.run(_stream_then_sigterm(server, grace))
        out, err = server.process.communicate(timeout=10)
        code = server.process.returncode

    acked = {i for w in writers for i in w.acked}
    refused = [t for w in writers for t in w.refused]
    print(f"\nexit {code} after {exited:.2f} s (grace {grace} s)")
    for w in writers:
        print(f"  writer {w.name}: {len(w.acked)} acknowledged, {len(w.refused)} refused, ended by {w.ended_by}")
    missing = {s.name: sorted(acked - set(s.ids)) for s in subs}
    for s in subs:
        dupes = len(s.ids) - len(set(s.ids))
        print(f"  subscriber {s.name}: {len(s.ids)} events, {len(missing[s.name])} missing, {dupes} duplicated, "
              f"closed {s.close_code}")  # fmt: skip
    print(f"  acknowledged writes: {len(acked)}, refused while draining: {len(refused)}")

    assert len(acked) >= STREAM_WRITES, "the writers barely wrote: the stream did not run"
    assert {s.name: len(m) for s, m in zip(subs, missing.values(), strict=True)} == {s.name: 0 for s in subs}, missing
    assert all(len(s.ids) == len(set(s.ids)) for s in subs)
    assert [s.close_code for s in subs] == [SHUTTING_DOWN] * len(subs)
    assert [w.close_code for w in writers if w.name.startswith("ws")] == [SHUTTING_DOWN] * 2
    assert code == 0, err
    # The stop, as the server times it (signal to the end of uvicorn's shutdown), is within the grace; the
    # process's exit after it (the interpreter's teardown) is only bounded: on a loaded 2-core machine it added
    # 0.4-2.4 s, which says nothing about the drain.
    stopped = _logged_seconds(err, "stopping: draining", "stopped: ")
    assert stopped < grace, f"the stop took {stopped:.2f} s"
    assert exited < grace + EXIT_AFTER_GRACE
    assert "Traceback" not in out + err, err

    stored = asyncio.run(_stored_texts(db_env))
    assert acked <= set(stored), "an acknowledged write is not in the database"
    assert not set(refused) & set(stored.values()), "a write refused while draining was run"


async def _stream_then_sigterm(server: Started, grace: float) -> tuple[list[Subscriber], list[Writer], float]:
    opened = [await subscribe(server, f"sub{n}", "messages", ["id"]) for n in range(3)]
    jobs = [asyncio.create_task(rest_writer(server, f"rest{n}")) for n in range(2)]
    jobs += [asyncio.create_task(ws_writer(server, f"ws{n}")) for n in range(2)]
    await asyncio.sleep(STREAM_SECONDS)
    deadline = time.monotonic() + STREAM_SECONDS_MAX
    while min(len(sub.ids) for sub, _ in opened) < STREAM_WRITES and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    server.process.send_signal(signal.SIGTERM)
    since = time.monotonic()
    writers = await asyncio.wait_for(asyncio.gather(*jobs), BOUND)
    await asyncio.wait_for(asyncio.gather(*(task for _, task in opened)), BOUND)
    exited = await wait_exit(server, since, grace + EXIT_AFTER_GRACE)
    return [sub for sub, _ in opened], list(writers), exited


def test_a_subscriber_that_never_reads_holds_shutdown_only_for_the_grace_time(db_env: dict[str, str]) -> None:
    """The drain is timed by the server's own log (from "stopping" to the grace's end, both logged by its event
    loop), not by when the test sees the process gone: a process's exit (uvicorn's close, the interpreter's
    teardown) took from 0.5 to 2.4 s more on a loaded 2-core machine, which says nothing about the grace."""
    grace = 1.5
    env = {**db_env, "SERVER_SHUTDOWN_TIMEOUT": str(int(grace * 1000)), "LOG_STYLE": "json", "LOG_LEVEL": "info"}
    with started(env) as server:
        with _admin(server) as admin:
            _collection(admin, "bulk", "text")
        reader, exited = asyncio.run(_stalled_subscriber_then_sigterm(server, grace))
        _, err = server.process.communicate(timeout=10)
        code = server.process.returncode
    drained = _logged_seconds(err, "stopping: draining", "SERVER_SHUTDOWN_TIMEOUT ran out")
    print(f"\nexit {code} after {exited:.2f} s, drain {drained:.3f} s (grace {grace} s); reader {reader.close_code}")
    assert code == 0, err
    assert reader.close_code == SHUTTING_DOWN
    assert drained >= grace * 0.8, "shutdown did not wait for the stalled subscriber: the test proves nothing"
    assert drained < grace + 0.5, f"a stalled subscriber held the drain {drained:.3f} s"
    assert exited < grace + EXIT_AFTER_GRACE  # the process is gone (wait_exit fails past this bound)


def _logged_seconds(log: str, first: str, then: str) -> float:
    """Seconds between the server's JSON log entries starting with ``first`` and ``then`` (the first of each)."""
    times: dict[str, float] = {}
    for line in log.splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue  # uvicorn's own lines are not JSON
        for prefix in (first, then):
            if isinstance(entry, dict) and str(entry.get("msg", "")).startswith(prefix):
                times.setdefault(prefix, entry["time"] / 1000)
    assert set(times) == {first, then}, log
    return times[then] - times[first]


async def _stalled_subscriber_then_sigterm(server: Started, grace: float) -> tuple[Subscriber, float]:
    stalled = _never_reading_subscriber(server, "bulk")
    try:
        reader, task = await subscribe(server, "reader", "bulk", ["id"])
        body = "x" * 60_000  # MariaDB's TEXT holds 64 KB
        with _admin(server) as admin:  # more than the kernel buffers of both ends take
            for _ in range(STALLED_EVENTS):
                assert admin.post("/items/bulk", json={"text": body}).status_code == 200
        await asyncio.sleep(0.3)
        server.process.send_signal(signal.SIGTERM)
        since = time.monotonic()
        await asyncio.wait_for(task, BOUND)
        return reader, await wait_exit(server, since, grace + EXIT_AFTER_GRACE)
    finally:
        stalled.close()


def _never_reading_subscriber(server: Started, collection: str) -> socket.socket:
    """A WebSocket, authenticated and subscribed to ``collection`` (all fields), that then never reads again;
    its receive buffer is as small as the kernel allows."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", server.port))
    sock.settimeout(5)
    protocol = ClientProtocol(parse_uri(_ws_url(server)))
    protocol.send_request(protocol.connect())
    sock.sendall(b"".join(protocol.data_to_send()))
    _read_until(sock, protocol, lambda event: isinstance(event, Response) and event.status_code == 101)
    subscribe = {"type": "subscribe", "collection": collection, "query": {"fields": ["*"]}, "uid": "stalled"}
    for message in ({"type": "auth", "access_token": ADMIN_TOKEN}, subscribe):
        protocol.send_text(json.dumps(message).encode())
    sock.sendall(b"".join(protocol.data_to_send()))
    _read_until(sock, protocol, lambda event: json.loads(event.data).get("event") == "init")
    return sock


def _read_until(sock: socket.socket, protocol: ClientProtocol, done: Any) -> None:
    """Feed what the socket brings to ``protocol`` until an event satisfies ``done``."""
    while True:
        data = sock.recv(65536)
        assert data, "the server closed the connection"
        protocol.receive_data(data)
        if any(done(event) for event in protocol.events_received()):
            return


def test_the_connection_ends_only_after_the_clients_answer_to_the_1001(db_env: dict[str, str]) -> None:
    """RFC 6455 §7.1.1: the server ends the TCP connection once the client has answered its close frame. The
    drain took "the close went out" for "the close is done", so the process closed every socket at once: a
    client still sending (a pipelining writer at the signal) then met a reset, which can destroy the 1001 in its
    receive buffer before it is read (test_sigterm_..., ws writer ``closed None``, about one run in five under
    load). This client answers the close 0.5 s late: the connection must still be open until it does."""
    grace = 5.0
    env = {**db_env, "SERVER_SHUTDOWN_TIMEOUT": str(int(grace * 1000)), "LOG_STYLE": "json", "LOG_LEVEL": "info"}
    with started(env) as server:
        sock, protocol = _raw_socket(server)
        with sock:
            server.process.send_signal(signal.SIGTERM)
            _read_until(sock, protocol, lambda event: event.opcode is Opcode.CLOSE)
            assert protocol.close_rcvd is not None and protocol.close_rcvd.code == SHUTTING_DOWN
            answer = b"".join(protocol.data_to_send())  # the client's close frame, held back for now
            sock.settimeout(0.5)
            with pytest.raises(TimeoutError):  # neither EOF nor a reset: the server waits for the answer
                ended = sock.recv(65536)
                pytest.fail(f"the server ended the connection before the client's close: {ended!r}")
            sock.settimeout(5)
            sock.sendall(answer)
            assert sock.recv(65536) == b""  # now the server closes the connection
        server.process.wait(timeout=grace + EXIT_AFTER_GRACE)
        _, err = server.process.communicate(timeout=10)
    assert server.process.returncode == 0, err
    assert "SERVER_SHUTDOWN_TIMEOUT ran out" not in err, err


def _raw_socket(server: Started) -> tuple[socket.socket, ClientProtocol]:
    """An authenticated WebSocket driven frame by frame: the test decides when its answers go out."""
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
    protocol = ClientProtocol(parse_uri(_ws_url(server)))
    protocol.send_request(protocol.connect())
    sock.sendall(b"".join(protocol.data_to_send()))
    _read_until(sock, protocol, lambda event: isinstance(event, Response) and event.status_code == 101)
    protocol.send_text(json.dumps({"type": "auth", "access_token": ADMIN_TOKEN}).encode())
    sock.sendall(b"".join(protocol.data_to_send()))
    _read_until(sock, protocol, lambda event: json.loads(event.data).get("status") == "ok")
    return sock, protocol
