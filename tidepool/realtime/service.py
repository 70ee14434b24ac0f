"""Starts and stops the realtime event side with the app: bus, sink on the runtime, dispatcher.

Every write logs its events in its own transaction (``tidepool.eventlog``, numbered at commit); after the
commit they reach ``BusSink.emit`` (the runtime's event sink), which tells the bus. The bus follows the log
and hands every logged event, in order, to this process's dispatcher (events of other processes come from
the log, sooner with Redis), which fans them out to subscribers. The writer never dispatches directly, so
one server and several servers behave the same.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass

from starlette.applications import Starlette

from tidepool.events import ChangeEvent, EventSink
from tidepool.realtime.bus import Bus, create_bus
from tidepool.realtime.dispatch import Dispatcher
from tidepool.realtime.subscriptions import SubscriptionManager
from tidepool.runtime import Runtime

log = logging.getLogger("tidepool.realtime")


class BusSink:
    """The runtime's ``EventSink`` while the server runs: committed events go to the bus."""

    def __init__(self, bus: Bus) -> None:
        self.bus = bus

    async def emit(self, events: list[ChangeEvent]) -> None:
        try:
            await self.bus.publish(events)
        except Exception:  # the write is committed; a bus failure must not turn it into an error reply
            log.exception("publishing %d event(s) to the bus failed", len(events))


@dataclass
class RealtimeState:
    """``app.state.realtime``, and what ``realtime_service`` yields: what the WebSocket endpoint talks to."""

    bus: Bus
    subscriptions: SubscriptionManager
    dispatcher: Dispatcher
    redis_errors: int = 0  # metrics scrapes whose Redis check failed (``<prefix>redis_connection_errors``)


@asynccontextmanager
async def realtime_service(app: Starlette, runtime: Runtime) -> AsyncIterator[RealtimeState]:
    bus = create_bus(runtime.settings, runtime.engine, runtime.origin, runtime.write_gate)
    await bus.start()
    manager = SubscriptionManager(runtime, bus)
    dispatcher = Dispatcher(runtime, manager, bus)
    manager.replay = dispatcher.replay
    task = asyncio.create_task(dispatcher.run(), name="tidepool-realtime-dispatch")
    previous: EventSink = runtime.events
    runtime.events = BusSink(bus)
    app.state.realtime = state = RealtimeState(bus, manager, dispatcher)
    try:
        yield state
    finally:
        runtime.events = previous
        await bus.stop()
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task
