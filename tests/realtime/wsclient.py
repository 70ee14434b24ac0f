"""A small synchronous WebSocket test client on ``websockets.sync`` (real sockets, no mocks).

``WS`` sends dicts or raw text, receives parsed frames with a timeout, checks silence, and reports how the
server closed (``close_code`` is 1005 for a close frame without a status, as Directus sends). Protocol-level
keepalive pings are off by default, as against Directus.
"""

from __future__ import annotations

import json
import time
from typing import Any

from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect


class WS:
    def __init__(self, url: str, **kwargs: Any) -> None:
        kwargs.setdefault("open_timeout", 10)
        kwargs.setdefault("ping_interval", None)
        kwargs.setdefault("max_size", None)
        kwargs.setdefault("close_timeout", 2)
        kwargs.setdefault("legacy", True)
        self.conn: ClientConnection = connect(url, **kwargs)

    def __enter__(self) -> WS:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def send(self, message: Any) -> None:
        self.conn.send(message if isinstance(message, str | bytes) else json.dumps(message))

    def recv_raw(self, timeout: float = 5) -> str:
        frame = self.conn.recv(timeout=timeout)
        return frame if isinstance(frame, str) else frame.decode()

    def recv(self, timeout: float = 5) -> Any:
        return json.loads(self.recv_raw(timeout))

    def request(self, message: Any, timeout: float = 5) -> Any:
        self.send(message)
        return self.recv(timeout)

    def recv_until(self, predicate: Any, timeout: float = 5) -> Any:
        """The first frame satisfying ``predicate`` (others are skipped, e.g. server pings)."""
        deadline = time.monotonic() + timeout
        while True:
            frame = self.recv(max(0.01, deadline - time.monotonic()))
            if predicate(frame):
                return frame

    def quiet(self, seconds: float, ignore: tuple[Any, ...] = ()) -> None:
        """Assert that nothing (but frames equal to one of ``ignore``) arrives for ``seconds``."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            try:
                frame = self.conn.recv(timeout=left)
            except TimeoutError:
                return
            if json.loads(frame) not in ignore:
                raise AssertionError(f"expected silence, got {frame!r}")

    def wait_closed(self, timeout: float = 5) -> int | None:
        """Wait for the server to close; the received close code (1005 = no status code)."""
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                self.conn.recv(timeout=max(0.01, deadline - time.monotonic()))
        except ConnectionClosed:
            pass
        except TimeoutError:
            raise AssertionError("the server did not close the connection") from None
        rcvd = self.conn.protocol.close_rcvd
        return None if rcvd is None else int(rcvd.code)

    def close(self) -> None:
        self.conn.close()


def rejected_status(url: str, **kwargs: Any) -> int:
    """The HTTP status of an upgrade the server refuses (fails the test if it is accepted)."""
    try:
        conn = connect(url, open_timeout=10, ping_interval=None, legacy=True, **kwargs)
    except InvalidStatus as exc:
        return int(exc.response.status_code)
    conn.close()
    raise AssertionError(f"upgrade to {url} was accepted")


# --------------------------------------------------------------------------------------------- seed

USER_EMAIL = "messages-user@example.com"
USER_PASSWORD = "user-pass"
USER_TOKEN = "messages-user-static-token"


def seed_messages(server: Any) -> dict[str, str]:
    """The transcripts' seed, written with SQL on the server's own engine (independent of the REST
    resources): ``messages`` (id, date_created, text, user) readable and creatable by the messages user,
    ``secrets`` with no permission, then the schema and the permission cache are reloaded."""
    import uuid

    import sqlalchemy as sa

    from tidepool.db import system
    from tidepool.security import hash_password, hash_token

    ids = {"role": str(uuid.uuid4()), "policy": str(uuid.uuid4()), "user": str(uuid.uuid4())}
    meta = sa.MetaData()
    messages = sa.Table(
        "messages",
        meta,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("date_created", sa.DateTime(timezone=True)),
        sa.Column("text", sa.String(255)),
        sa.Column("user", sa.String(255)),
        sqlite_autoincrement=True,
    )
    secrets = sa.Table(
        "secrets",
        meta,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("note", sa.Text),
        sqlite_autoincrement=True,
    )
    fields = [
        ("messages", "id", "integer", None),
        ("messages", "date_created", "timestamp", "date-created"),
        ("messages", "text", "string", None),
        ("messages", "user", "string", None),
        ("secrets", "id", "integer", None),
        ("secrets", "note", "text", None),
    ]

    async def run() -> None:
        engine = server.runtime.engine
        async with engine.begin() as conn:
            await conn.run_sync(meta.create_all, tables=[messages, secrets])
        async with engine.begin() as conn:
            for name in ("messages", "secrets"):
                await conn.execute(sa.insert(system.collections).values(collection=name, hidden=False, singleton=False))
            for collection, field, type_, special in fields:
                await conn.execute(
                    sa.insert(system.fields).values(
                        collection=collection,
                        field=field,
                        type=type_,
                        special=special,
                        readonly=False,
                        hidden=False,
                        required=False,
                    )
                )
            await conn.execute(
                sa.insert(system.policies).values(
                    id=ids["policy"],
                    name="Messages Policy",
                    icon="badge",
                    admin_access=False,
                    app_access=False,
                    enforce_tfa=False,
                )
            )
            for action in ("read", "create"):
                await conn.execute(
                    sa.insert(system.permissions).values(
                        collection="messages", action=action, permissions={}, fields="*", policy=ids["policy"]
                    )
                )
            await conn.execute(sa.insert(system.roles).values(id=ids["role"], name="Messages Role", icon="x"))
            await conn.execute(
                sa.insert(system.access).values(id=str(uuid.uuid4()), role=ids["role"], policy=ids["policy"])
            )
            await conn.execute(
                sa.insert(system.users).values(
                    id=ids["user"],
                    email=USER_EMAIL,
                    password=hash_password(USER_PASSWORD),
                    role=ids["role"],
                    status="active",
                    token=hash_token(USER_TOKEN),
                    provider="default",
                )
            )
        await server.runtime.schemas.reload()
        server.runtime.access_cache.invalidate()

    server.run(run())
    return ids
