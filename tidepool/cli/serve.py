"""``tidepool start``: bootstrap, print where to connect, run uvicorn, and stop gracefully on SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
import socket
import sys
from types import FrameType
from typing import Any

import click
import uvicorn
from starlette.applications import Starlette
from uvicorn.config import STARTUP_FAILURE
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

from tidepool.app import create_app
from tidepool.cli.output import print_bootstrap, server_url
from tidepool.config import Settings
from tidepool.db.bootstrap import bootstrap
from tidepool.db.engine import create_engine
from tidepool.drain import Settle, drain
from tidepool.http.studio import STUDIO_PATH
from tidepool.logs import configure_logging
from tidepool.realtime.bus import RedisNotifier, redis_url
from tidepool.realtime.wire import TidepoolWire, websocket_protocol

_log = logging.getLogger("tidepool")

# Net allocations of container objects between two young-generation runs of the cyclic garbage collector
# (CPython's default: 700). A REST create leaves a few hundred such objects behind for a moment, so at the
# default the collector ran every few requests, and each tenth run went through the older generation too:
# about a tenth of a POST's server CPU under the ``rest`` bench. Garbage is still collected, in larger batches.
YOUNG_COLLECTION_THRESHOLD = 10_000


def serve(settings: Settings) -> None:
    configure_logging(settings)

    async def run_bootstrap() -> None:
        """Reach the database and Redis before uvicorn starts: an unreachable one is the command's one-line
        error here, instead of a traceback from inside the server's start-up."""
        engine = create_engine(settings)
        try:
            print_bootstrap(await bootstrap(engine, settings), settings)
        finally:
            await engine.dispose()
        url = redis_url(settings)
        if url is not None:
            await RedisNotifier(url, settings.REDIS_BUS_NAMESPACE, "start-up check").check()

    asyncio.run(run_bootstrap())
    workers = settings.WEB_CONCURRENCY
    processes = f", {workers} worker processes" if workers > 1 else ""
    click.echo(f"Tidepool listening on {server_url(settings)}  (WebSocket: {settings.WEBSOCKETS_REST_PATH}{processes})")
    if settings.STUDIO_ENABLED:
        click.echo(f"Tidepool Studio: {server_url(settings)}{STUDIO_PATH}/  (sign in as the admin)")
    if workers > 1:
        from tidepool.cli.workers import Supervisor  # only a multi-process start needs it

        sys.exit(Supervisor(settings).run())
    app = create_app(settings)
    tune_collector()
    server = DrainingServer(uvicorn_config(settings, app), app, settings.SERVER_SHUTDOWN_TIMEOUT)
    server.run()
    if not server.started:
        sys.exit(STARTUP_FAILURE)


def tune_collector() -> None:
    """The garbage collector as a server process runs it (``tidepool start`` and each of its workers): the
    young generation collected every ``YOUNG_COLLECTION_THRESHOLD`` allocations; the older generations keep
    their ratios to it. Process-wide, so only the commands that own their process call it."""
    _, middle, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_COLLECTION_THRESHOLD, middle, oldest)


def uvicorn_config(settings: Settings, app: Starlette, **options: Any) -> uvicorn.Config:
    """uvicorn as Tidepool runs it (one process, each worker of ``--workers N``, the tests' servers);
    ``options`` are more of uvicorn's (the tests' ``forwarded_allow_ips``)."""
    return uvicorn.Config(
        app,
        host=settings.HOST,
        port=settings.PORT,
        ws=websocket_protocol(app),  # WEBSOCKETS_REST_PATH on Tidepool's own protocol (deflate, max size: settings)
        ws_per_message_deflate=settings.WEBSOCKETS_COMPRESSION,  # other WebSocket paths (uvicorn's protocol)
        ws_max_size=settings.MAX_PAYLOAD_SIZE,
        ws_ping_interval=None,
        log_level=logging.WARNING if settings.LOG_LEVEL in ("warn", "error", "fatal", "silent") else logging.INFO,
        access_log=settings.LOG_LEVEL in ("debug", "trace"),
        lifespan="on",
        **options,
    )


# The connections that are WebSockets: Tidepool's own, and uvicorn's for any other WebSocket path.
WEBSOCKETS = (TidepoolWire, WebSocketsSansIOProtocol)


class DrainingServer(uvicorn.Server):
    """uvicorn, stopping in Tidepool's order: first stop accepting, then ``tidepool.drain.drain`` (finish what
    started, deliver every event, close each socket with 1001), then uvicorn's own shutdown, all within
    ``grace`` seconds (``SERVER_SHUTDOWN_TIMEOUT``). A clean stop exits 0. ``settle``: see ``drain``."""

    def __init__(self, config: uvicorn.Config, app: Starlette, grace: float, settle: Settle | None = None) -> None:
        super().__init__(config)
        self.app = app
        self.grace = grace
        self.settle = settle

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        """uvicorn's, without remembering the signal: uvicorn raises it again once stopped, and the process
        then dies of it (-15 for SIGTERM, 1 for SIGINT) after a clean stop. A second Ctrl+C still forces."""
        if self.should_exit and sig == signal.SIGINT:
            self.force_exit = True
        else:
            self.should_exit = True

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.grace
        self._stop_accepting()
        await drain(self.app, deadline, lambda: self.force_exit, self.settle)
        if loop.time() >= deadline:
            await asyncio.sleep(0.01)  # the closes the drain sent at the deadline reach the transports
            self._drop_stalled_sockets()
        # What is left for uvicorn (HTTP requests still running past the grace time): at most the rest of it.
        # uvicorn's annotation says int; the value only ever reaches ``asyncio.wait_for``.
        self.config.timeout_graceful_shutdown = max(deadline - loop.time(), 0.1)  # type: ignore[assignment]
        await super().shutdown(sockets)
        _log.info("stopped: the server shut down %.3f s after the signal", self.grace - (deadline - loop.time()))

    def _stop_accepting(self) -> None:
        """Close the listening sockets and every idle HTTP keep-alive connection; a request in flight is
        answered, then its connection closes (uvicorn's ``shutdown`` of an HTTP connection). Sockets are
        left to the drain: uvicorn's ``shutdown`` of one closes it with 1012 at once."""
        for server in self.servers:
            server.close()
        for connection in list(self.server_state.connections):
            if not isinstance(connection, WEBSOCKETS):
                connection.shutdown()

    def _drop_stalled_sockets(self) -> None:
        """Past the grace time: a socket whose peer stopped reading has data waiting above a full kernel
        buffer, so not even a close frame reaches it, and uvicorn would wait for it to flush until its own
        timeout (without one, for ever). Such connections are dropped (what the kernel holds is still sent);
        every other socket has its 1001 on the way."""
        for connection in list(self.server_state.connections):
            if isinstance(connection, WEBSOCKETS) and connection.transport.get_write_buffer_size() > 0:
                connection.transport.abort()
