"""Stopping without cutting off what was acknowledged: ``drain`` runs on SIGTERM / SIGINT, before uvicorn's own
shutdown (``tidepool/cli/serve.py`` has closed the listening sockets and the idle keep-alive connections).

1. **Nothing new starts.** The hub refuses upgrades (HTTP 503) and answers every request a socket sends, or has
   waiting in a lane, with ``SERVICE_UNAVAILABLE`` instead of running it (``realtime/session.py``).
2. **What started finishes and is answered:** HTTP requests in flight (``TidepoolApp.requests_in_flight``),
   the background work they started (``Runtime.background``: exports being written to files),
   upgrades being checked, socket jobs running (an ``items`` write until its reply is queued:
   ``WebSocketHub.running``) and write transactions until their events are published (``Runtime.writes``).
3. **Every event numbered so far is dispatched** by this process's dispatcher: its own events, and with Redis
   those of other processes it has read (``Dispatcher.last_seq`` reaches the bus's numbers).
4. **Each socket is closed with 1001** "server shutting down", behind the frames already queued for it, and
   the peer's answering close is waited for (RFC 6455 §7.1.1: the server ends the TCP connection after the
   close handshake; ending it earlier resets a peer still sending, which can lose the 1001).

One deadline (``SERVER_SHUTDOWN_TIMEOUT`` after the signal) bounds it all: what is still open then is closed
with 1001 at once, its unsent frames dropped, and the server stops anyway. uvicorn then finds every socket
closed (it sends its own 1012 "service restart" only to a socket nobody closed) and finishes as usual.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from starlette.applications import Starlette

from tidepool.realtime.connection import SHUTDOWN_CLOSE_CODE, SHUTDOWN_CLOSE_REASON, Client

log = logging.getLogger("tidepool")

_POLL = 0.005  # seconds between looks at the counters while waiting


Settle = Callable[[float, Callable[[], bool]], Awaitable[None]]


async def drain(
    app: Starlette, deadline: float, give_up: Callable[[], bool] = lambda: False, settle: Settle | None = None
) -> None:
    """Steps 1–4 of the module docstring; ``deadline`` is in ``loop.time()`` seconds, and ``give_up()`` true
    (a second Ctrl+C) ends every wait at once, as the deadline does. ``settle(deadline, give_up)`` runs
    between steps 2 and 3: a worker of ``--workers N`` waits there for the other workers to finish their
    writes too, then learns the newest event number from the database (``tidepool/cli/workers.py``)."""
    hub = getattr(app.state, "websocket", None)
    if hub is not None:
        hub.draining = True
    left = deadline - asyncio.get_running_loop().time()
    log.info("stopping: draining %d socket(s) for up to %.3g s", len(hub.sockets) if hub else 0, left)
    finished_work = await _until(lambda: _idle(app), deadline, give_up)
    if settle is not None:
        await settle(deadline, give_up)
    dispatched = await _until(_dispatched_so_far(app), deadline, give_up)
    clients: list[Client] = list(hub.sockets) if hub is not None else []
    for client in clients:
        client.close(SHUTDOWN_CLOSE_CODE, SHUTDOWN_CLOSE_REASON)
    # Done means the connection ended, not that our close went out: a peer still sending would meet a reset
    # once the process closes its socket, and a reset can destroy the 1001 before the peer reads it.
    await _until(lambda: all(client.ended for client in clients), deadline, give_up)
    cut = [client for client in clients if not client.finished]
    for client in cut:
        client.abort(SHUTDOWN_CLOSE_CODE, SHUTDOWN_CLOSE_REASON)
    if cut or not (finished_work and dispatched):
        log.warning(
            "SERVER_SHUTDOWN_TIMEOUT ran out: %s; %s; %d of %d socket(s) closed with frames still unsent",
            "work finished" if finished_work else "requests or writes still running",
            "events dispatched" if dispatched else "events left undispatched",
            len(cut),
            len(clients),
        )


def _idle(app: Starlette) -> bool:
    """No HTTP request, upgrade being checked, socket job, background task (an export being written) or write
    transaction is in flight."""
    hub = getattr(app.state, "websocket", None)
    runtime = getattr(app.state, "runtime", None)
    return (
        getattr(app, "requests_in_flight", 0) == 0
        and (hub is None or (hub.running == 0 and hub.reserved == 0))
        and (runtime is None or (runtime.writes.count == 0 and runtime.background.running == 0))
    )


def _dispatched_so_far(app: Starlette) -> Callable[[], bool]:
    """Whether the dispatcher has handled every event this process knows committed by now (the target is
    fixed here: other processes' events keep coming and are not waited for)."""
    realtime = getattr(app.state, "realtime", None)
    if realtime is None:
        return lambda: True
    target = realtime.bus.head
    return lambda: bool(realtime.dispatcher.last_seq >= target)


async def _until(done: Callable[[], bool], deadline: float, give_up: Callable[[], bool]) -> bool:
    """Wait until ``done()``, the deadline or ``give_up()``; whether it is done."""
    loop = asyncio.get_running_loop()
    while not done():
        if loop.time() >= deadline or give_up():
            return False
        await asyncio.sleep(_POLL)
    return True
