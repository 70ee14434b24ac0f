"""What the WebSocket endpoint shares across sockets: settings, runtime, the event side's subscription manager,
heartbeat, limiter, open sockets.

One ``WebSocketHub`` per app, installed on ``app.state.websocket`` by ``websocket_service`` for the app's
lifetime (its lifespan closes the sockets left at shutdown). It is built from the running event side
(``realtime_service``'s ``RealtimeState``), so the manager is there for every socket's whole life.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from starlette.applications import Starlette

from tidepool.config import Settings
from tidepool.realtime.connection import SHUTDOWN_CLOSE_CODE, SHUTDOWN_CLOSE_REASON, Client
from tidepool.realtime.heartbeat import Heartbeat
from tidepool.realtime.limits import MessageLimiter, limiter_for
from tidepool.realtime.revalidate import Revalidator
from tidepool.realtime.service import RealtimeState
from tidepool.realtime.subscriptions import SubscriptionManager
from tidepool.runtime import Runtime

if TYPE_CHECKING:  # the session imports this module
    from tidepool.realtime.session import Session


@dataclass
class WebSocketHub:
    """Everything the endpoint shares across sockets; one per app, owned by its lifespan."""

    settings: Settings
    runtime: Runtime
    subscriptions: SubscriptionManager  # the event side's registry (``RealtimeState.subscriptions``)
    heartbeat: Heartbeat | None
    limiter: MessageLimiter | None
    sockets: dict[Client, Session] = field(default_factory=dict)  # every open socket, with its session
    reserved: int = 0  # upgrades being checked, counted against the connection limit
    revalidator: Revalidator | None = None  # re-resolves sockets' access after a change (while running)
    draining: bool = False  # the server is stopping: no new upgrade, no new request (``tidepool/drain.py``)
    running: int = 0  # lane jobs running now (an ``items`` write until its reply is queued); a stop waits for 0

    def has_room(self) -> bool:
        limit = self.settings.WEBSOCKETS_REST_CONN_LIMIT
        return limit is None or len(self.sockets) + self.reserved < limit


@contextlib.asynccontextmanager
async def websocket_service(app: Starlette, runtime: Runtime, realtime: RealtimeState) -> AsyncIterator[None]:
    """Install the hub on ``app.state.websocket`` for the app's lifetime; close what is left at shutdown."""
    settings = runtime.settings
    heartbeat = Heartbeat(settings.WEBSOCKETS_HEARTBEAT_PERIOD) if settings.WEBSOCKETS_HEARTBEAT_ENABLED else None
    hub = WebSocketHub(settings, runtime, realtime.subscriptions, heartbeat, limiter_for(settings))
    hub.revalidator = revalidator = Revalidator(runtime.schemas, runtime.access_cache, lambda: hub.sockets.values())
    _follow_access_changes(realtime, runtime, revalidator)
    app.state.websocket = hub
    try:
        yield
    finally:
        _follow_access_changes(realtime, runtime, None)
        for client in list(hub.sockets):
            client.close(SHUTDOWN_CLOSE_CODE, SHUTDOWN_CLOSE_REASON)
        await revalidator.aclose()
        if heartbeat is not None:
            await heartbeat.stop()


def _follow_access_changes(realtime: RealtimeState, runtime: Runtime, revalidator: Revalidator | None) -> None:
    """Hook the revalidator into the event side (awaited before each event) and the version watcher (told
    after each change); ``None`` unhooks it at shutdown."""
    realtime.dispatcher.before_event = revalidator.settle if revalidator is not None else None
    if runtime.watcher is not None:
        runtime.watcher.on_change[:] = [revalidator.schedule] if revalidator is not None else []
