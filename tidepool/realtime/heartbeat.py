"""The server heartbeat (spec §5): one timer for all sockets, owned by the app's lifespan.

Every ``WEBSOCKETS_HEARTBEAT_PERIOD`` seconds the clients registered at that moment get ``{"type":"ping"}``
and become "pending"; any valid non-auth message from a client clears it. At the next tick, clients still
pending are closed without a status code (the client sees 1005), and the next round starts. So a silent
client is closed one period after the ping it did not answer, and a client that joined after a round's
snapshot is only judged from the next round on, exactly as Directus does. The timer runs only while there are
clients, like Directus's interval that starts with the first connection and stops with the last.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from tidepool.realtime.connection import Client
from tidepool.realtime.protocol import encode

log = logging.getLogger("tidepool.realtime")

PING = encode({"type": "ping"})


class Heartbeat:
    def __init__(self, period: float) -> None:
        self.period = period
        self.clients: set[Client] = set()
        self.pending: set[Client] = set()
        self._task: asyncio.Task[None] | None = None

    def add(self, client: Client) -> None:
        self.clients.add(client)
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._pulse(), name="ws-heartbeat")

    def remove(self, client: Client) -> None:
        self.clients.discard(client)
        self.pending.discard(client)

    def alive(self, client: Client) -> None:
        """The client proved it is alive in the current round."""
        self.pending.discard(client)

    async def _pulse(self) -> None:
        while self.clients:
            await asyncio.sleep(self.period)
            self._tick()

    def _tick(self) -> None:
        for client in self.pending:
            client.close()  # no status code: 1005, as Directus
        self.pending = {client for client in self.clients if not client.closed}
        for client in self.pending:
            client.send(PING)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
