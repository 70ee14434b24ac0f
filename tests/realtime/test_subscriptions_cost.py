"""What one event costs in SQL with 1,000 subscribers, in 1, 10 and 100 groups (docs/realtime-events.md).

Subscribers with the same query and the same effective access form one group: one re-read per group, one
encoding per group. Statements are counted with a ``before_cursor_execute`` listener on the server's engine;
statements on other tables (the writer's auth and permission cache) are left out, and the write's own
statements on ``messages`` (insert, read-back) are measured with no subscriber and subtracted. Measured on
SQLite, PostgreSQL and MariaDB: exactly one statement per group.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from tests.realtime.test_subscriptions_helpers import registered, wait_dispatched, wait_until
from tests.realtime.wsclient import USER_TOKEN, WS, seed_messages
from tests.support.live import LiveServer, live_server, scratch_database

SOCKETS = 10
PER_SOCKET = 100


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with (
        scratch_database(tmp_path_factory.mktemp("cost")) as db_env,
        live_server({**db_env, "WEBSOCKETS_HEARTBEAT_ENABLED": "false"}) as server,
    ):
        seed_messages(server)
        yield server


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
                frames = [conn.recv() for _ in range(PER_SOCKET)]
                assert {f["event"] for f in frames} == {"create"} and len({f["seq"] for f in frames}) == 1
            wait_dispatched(srv)
        return counter


@pytest.mark.parametrize("groups", [1, 10, 100])
def test_one_event_costs_one_read_per_group(srv: LiveServer, groups: int) -> None:
    wait_until(lambda: registered(srv) == 0)
    baseline = _one_write(srv, []).count
    sockets = [WS(srv.ws_url) for _ in range(SOCKETS)]
    try:
        for conn in sockets:
            conn.request({"type": "auth", "access_token": USER_TOKEN})
        for s, conn in enumerate(sockets):
            for i in range(PER_SOCKET):
                group = (s * PER_SOCKET + i) % groups
                query = {"fields": ["id", "text"], "filter": {"id": {"_gte": -group}}}
                conn.send({"type": "subscribe", "collection": "messages", "event": "create", "query": query})
        for conn in sockets:
            for _ in range(PER_SOCKET):
                frame = conn.recv()
                assert frame.get("event") == "init", frame
        counter = _one_write(srv, sockets)
        cost = counter.count - baseline
        print(f"\n1000 subscribers in {groups} group(s): {cost} SQL statement(s) for one event")
        assert cost == groups
    finally:
        for conn in sockets:
            conn.close()
