"""Helpers for the event-side tests: extra users with given read rules, sockets and writes as a user makes
them, and waiting for the dispatcher."""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx
import sqlalchemy as sa

from tests.realtime.wsclient import WS
from tests.support.live import LiveServer
from tests.support.seed import USER_TOKEN


def add_reader(server: LiveServer, token: str, rule: dict[str, Any] | None, fields: str = "*") -> str:
    """A user (static ``token``) whose only permission is ``read`` on ``messages`` with ``rule``."""
    from tidepool.db import system
    from tidepool.security import hash_token

    ids = {k: str(uuid.uuid4()) for k in ("policy", "role", "user", "access")}

    async def run() -> None:
        async with server.runtime.engine.begin() as conn:
            await conn.execute(
                sa.insert(system.policies).values(
                    id=ids["policy"],
                    name=f"p-{token}",
                    icon="x",
                    admin_access=False,
                    app_access=False,
                    enforce_tfa=False,
                )
            )
            await conn.execute(
                sa.insert(system.permissions).values(
                    collection="messages", action="read", permissions=rule or {}, fields=fields, policy=ids["policy"]
                )
            )
            await conn.execute(sa.insert(system.roles).values(id=ids["role"], name=f"r-{token}", icon="x"))
            await conn.execute(
                sa.insert(system.access).values(id=ids["access"], role=ids["role"], policy=ids["policy"])
            )
            await conn.execute(
                sa.insert(system.users).values(
                    id=ids["user"],
                    email=f"{token}@example.com",
                    role=ids["role"],
                    status="active",
                    token=hash_token(token),
                    provider="default",
                )
            )
        server.runtime.access_cache.invalidate()

    server.run(run())
    return ids["user"]


def realtime(server: LiveServer) -> Any:
    return server.app.state.realtime


def registered(server: LiveServer) -> int:
    """Subscriptions registered in the server right now (pending ones included)."""
    count: int = realtime(server).subscriptions.count()
    return count


def wait_until(predicate: Any, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.01)


def wait_dispatched(server: LiveServer, timeout: float = 5.0) -> None:
    """Until the dispatcher has handled every event numbered so far."""
    state = realtime(server)
    wait_until(lambda: state.dispatcher.last_seq >= state.bus.head, timeout)


def add_bob(server: LiveServer) -> None:
    """A seed step: ``bob-token`` may read only the rows whose ``user`` is bob."""
    add_reader(server, "bob-token", {"user": {"_eq": "bob"}})


def ws(srv: LiveServer, token: str = USER_TOKEN) -> WS:
    """A socket authenticated with ``token``."""
    conn = WS(srv.ws_url)
    assert conn.request({"type": "auth", "access_token": token}) == {"type": "auth", "status": "ok"}
    return conn


def create(rest: httpx.Client, **item: Any) -> int:
    """A REST create of one message; its key."""
    response = rest.post("/items/messages", json=item)
    assert response.status_code == 200, response.text
    key: int = response.json()["data"]["id"]
    return key
