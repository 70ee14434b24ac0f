"""What one event costs in SQL with 1,000 subscribers in 1, 10 and 100 groups (docs/realtime-events.md).

Subscribers with the same query and the same effective access form one group, encoded once per group; the
"plain" groups of one access (top-level fields, a filter evaluable in Python) share ONE re-read
(``tidepool/realtime/batching.py``): 100 groups under one access cost 1 statement, under 10 accesses 10.
Statements are counted with a ``before_cursor_execute`` listener on the server's engine; statements on
other tables (the writer's auth and permission cache) are left out, and the write's own statements on
``messages`` (insert, read-back) are measured with no subscriber and subtracted. Measured on SQLite,
PostgreSQL and MariaDB: one statement per access with batching, one per group without it.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from tests.realtime.test_subscriptions_helpers import add_reader, realtime, registered, wait_dispatched, wait_until
from tests.realtime.wsclient import WS
from tests.support.live import LiveServer
from tests.support.seed import USER_TOKEN, seed_messages
from tests.support.servers import module_server
from tidepool.events import ChangeEvent
from tidepool.realtime.dispatch import Dispatcher

SOCKETS = 10
PER_SOCKET = 100


def _readers(server: LiveServer) -> None:
    for n in range(SOCKETS):  # ten users with ten distinct read rules: ten distinct accesses
        add_reader(server, f"cost-reader-{n}", {"id": {"_gte": -n}})


# The heartbeat is on so that client pings are answered (the barrier in ``_drain``), but its own pings never
# come during a test.
srv = module_server("cost", env={"WEBSOCKETS_HEARTBEAT_PERIOD": "600"}, seed=[seed_messages, _readers])
# Only a guard against a hang: one event's fan-out to 1,000 subscribers (100 reads of their own when unbatched)
# took more than 5 s between two frames on a loaded PostgreSQL run. The test measures statements, not time.
FRAME_TIMEOUT = 60.0


@pytest.fixture
def unbatched(srv: LiveServer) -> Iterator[None]:
    """The server's dispatcher reads for each group alone while the test runs (switched on its own loop)."""
    dispatcher = realtime(srv).dispatcher
    srv.run(_batching(dispatcher, False))
    try:
        yield
    finally:
        srv.run(_batching(dispatcher, True))


async def _batching(dispatcher: Dispatcher, on: bool) -> None:
    dispatcher.batching = on


class StatementCounter:
    def __init__(self, server: LiveServer) -> None:
        self.engine = server.runtime.engine.sync_engine
        self.count = 0
        self.lock = threading.Lock()

    def _on_execute(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        """Statements on the subscribed collection only: the write's auth and permission-cache reloads
        (which come and go with cache expiry) are not part of the fan-out."""
        if "messages" in statement:
            with self.lock:
                self.count += 1

    def __enter__(self) -> StatementCounter:
        sa.event.listen(self.engine, "before_cursor_execute", self._on_execute)
        return self

    def __exit__(self, *exc: object) -> None:
        sa.event.remove(self.engine, "before_cursor_execute", self._on_execute)


def _one_write(srv: LiveServer, sockets: list[WS]) -> StatementCounter:
    """Statements for one REST create and its whole fan-out (every subscriber got its frame)."""
    with srv.client() as rest:
        rest.get("/server/ping")
        with StatementCounter(srv) as counter:
            assert rest.post("/items/messages", json={"text": "cost"}).status_code == 200
            for conn in sockets:
                frames = [conn.recv(FRAME_TIMEOUT) for _ in range(PER_SOCKET)]
                assert {f["event"] for f in frames} == {"create"} and len({f["seq"] for f in frames}) == 1
            wait_dispatched(srv)
        return counter


def _cost(srv: LiveServer, groups: int, tokens: list[str]) -> int:
    """Statements for one create with 1,000 subscribers: socket ``s`` authenticates with ``tokens[s]``
    and its subscriptions cycle through ``groups`` filters."""
    wait_until(lambda: registered(srv) == 0)
    baseline = _one_write(srv, []).count
    sockets = [WS(srv.ws_url) for _ in range(SOCKETS)]
    try:
        for conn, token in zip(sockets, tokens, strict=True):
            conn.request({"type": "auth", "access_token": token})
        for s, conn in enumerate(sockets):
            for i in range(PER_SOCKET):
                group = (s * PER_SOCKET + i) % groups
                query = {"fields": ["id", "text"] if group % 2 else ["text"], "filter": {"id": {"_gte": -group}}}
                conn.send({"type": "subscribe", "collection": "messages", "event": "create", "query": query})
        for conn in sockets:
            for _ in range(PER_SOCKET):
                frame = conn.recv(FRAME_TIMEOUT)
                assert frame.get("event") == "init", frame
        return _one_write(srv, sockets).count - baseline
    finally:
        for conn in sockets:
            conn.close()


@pytest.mark.parametrize("groups", [1, 10, 100])
def test_plain_groups_of_one_access_share_one_read(srv: LiveServer, groups: int) -> None:
    cost = _cost(srv, groups, [USER_TOKEN] * SOCKETS)
    print(f"\n1000 subscribers in {groups} group(s), one access, batched: {cost} SQL statement(s) for one event")
    assert cost == 1


@pytest.mark.parametrize("groups", [10, 100])
def test_unbatched_costs_one_read_per_group(srv: LiveServer, groups: int, unbatched: None) -> None:
    cost = _cost(srv, groups, [USER_TOKEN] * SOCKETS)
    print(f"\n1000 subscribers in {groups} group(s), one access, unbatched: {cost} SQL statement(s) for one event")
    assert cost == groups


def test_one_read_per_access(srv: LiveServer) -> None:
    """Socket ``s`` is user ``s`` (its own read rule): 100 groups under 10 accesses."""
    cost = _cost(srv, 100, [f"cost-reader-{n}" for n in range(SOCKETS)])
    print(f"\n1000 subscribers in 100 groups under 10 accesses, batched: {cost} SQL statement(s) for one event")
    assert cost == SOCKETS


# ------------------------------------------------------------- batched frames == unbatched frames

QUERIES: list[dict[str, Any]] = [
    {},
    {"fields": ["*"]},
    {"fields": ["text", "id"], "filter": {"text": {"_contains": "a"}}},
    {"fields": ["text"], "filter": {"text": {"_starts_with": "b"}}},
    {"fields": ["user", "*", "text"], "filter": {"_or": [{"text": {"_eq": "bx"}}, {"id": {"_lt": 0}}]}},
    {"filter": {"year(date_created)": {"_gte": 2000}, "text": {"_nnull": True}}},
    {"fields": ["date_created", "text", "text"], "filter": {"id": {"_nin": [-1]}}},
    {"fields": ["text"], "filter": {"text": {"_icontains": "A"}}},
    {"fields": ["id", "text"], "search": "b"},  # not plain: its own read, alongside the batch
]
_SEQ = re.compile(rb',"seq":\d+\}$')


def _drain(conn: WS) -> list[bytes]:
    """Every frame the socket was sent before now, ``seq`` removed. Reading until 0.3 s of silence lost frames
    on a loaded machine: late ones were counted with the next dispatch's."""
    return [_SEQ.sub(b"}", frame.encode()) for frame in conn.until_pong_raw(FRAME_TIMEOUT)]


def test_batched_frames_are_byte_identical_to_unbatched(srv: LiveServer) -> None:
    """Every event is dispatched twice: batched (as written), then the same event again unbatched; each
    subscriber must get the same bytes both times (``seq`` aside), and batching must actually apply."""
    wait_until(lambda: registered(srv) == 0)
    state = realtime(srv)
    consumer = srv.run(_consumer(state))
    sockets = {token: WS(srv.ws_url) for token in (USER_TOKEN, "cost-reader-3")}
    try:
        for token, conn in sockets.items():
            conn.request({"type": "auth", "access_token": token})
            for n, query in enumerate(QUERIES):
                reply = conn.request({"type": "subscribe", "collection": "messages", "uid": n, "query": query})
                assert reply["event"] == "init", reply
        with srv.client() as rest:
            writes = [
                lambda: rest.post("/items/messages", json={"text": "ab"}),
                lambda: rest.post("/items/messages", json=[{"text": "bx"}, {"text": "cA"}, {"text": None}]),
            ]
            created: list[Any] = []
            for write in writes:
                data = _checked(srv, state, consumer, sockets, write).json()["data"]
                created.extend(data if isinstance(data, list) else [data])
            first = created[0]["id"]
            _checked(srv, state, consumer, sockets, lambda: rest.patch(f"/items/messages/{first}", json={"text": "bx"}))
            _checked(srv, state, consumer, sockets, lambda: rest.patch(f"/items/messages/{first}", json={"text": "za"}))
            _checked(srv, state, consumer, sockets, lambda: rest.delete(f"/items/messages/{first}"))
    finally:
        for conn in sockets.values():
            conn.close()
        srv.run(_close(state, consumer))


def _checked(srv: LiveServer, state: Any, consumer: Any, sockets: dict[str, WS], write: Any) -> Any:
    response = write()
    assert response.status_code in (200, 204), response.text
    wait_dispatched(srv)
    events: list[ChangeEvent] = srv.run(_events_until(consumer, state.bus.head))
    batched = {token: sorted(_drain(conn)) for token, conn in sockets.items()}
    unbatched = srv.run(_unbatched(srv, state))
    with StatementCounter(srv) as counter:
        for event in events:
            srv.run(unbatched.dispatch(event))
    plain = {token: sorted(_drain(conn)) for token, conn in sockets.items()}
    assert batched == plain
    assert all(batched.values())
    reads = sum(event.action != "delete" for event in events)  # unbatched: one read per group and event
    assert counter.count == reads * len(QUERIES) * len(sockets)
    return response


async def _unbatched(srv: LiveServer, state: Any) -> Dispatcher:
    """A second dispatcher of the same server and subscribers that reads for each group alone."""
    return Dispatcher(srv.runtime, state.subscriptions, state.bus, batching=False)


async def _consumer(state: Any) -> Any:
    return state.bus.consumer()


async def _events_until(consumer: Any, seq: int) -> list[ChangeEvent]:
    """The write's events on ``messages`` (one per created item), up to ``seq``."""
    events: list[ChangeEvent] = []
    while not events or (events[-1].seq or 0) < seq:
        event = await consumer.get()
        assert isinstance(event, ChangeEvent), event
        events.append(event)
    return [event for event in events if event.collection == "messages"]


async def _close(state: Any, consumer: Any) -> None:
    state.bus.remove_consumer(consumer)
