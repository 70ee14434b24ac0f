"""``tidepool start``: bootstrap, print where to connect, run uvicorn."""

from __future__ import annotations

import asyncio
import logging

import click
import uvicorn

from tidepool.app import create_app
from tidepool.cli.output import print_bootstrap, server_url
from tidepool.config import Settings
from tidepool.db.bootstrap import bootstrap
from tidepool.db.engine import create_engine
from tidepool.logs import configure_logging
from tidepool.realtime.bus import RedisNotifier, redis_url


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
            await RedisNotifier(url, settings["REDIS_BUS_NAMESPACE"], "start-up check").check()

    asyncio.run(run_bootstrap())
    click.echo(f"Tidepool listening on {server_url(settings)}  (WebSocket: {settings['WEBSOCKETS_REST_PATH']})")
    uvicorn.run(
        create_app(settings),
        host=settings["HOST"],
        port=settings["PORT"],
        ws="websockets-sansio",
        ws_per_message_deflate=settings["WEBSOCKETS_COMPRESSION"],
        ws_max_size=settings["MAX_PAYLOAD_SIZE"],
        ws_ping_interval=None,
        log_level=logging.WARNING if settings["LOG_LEVEL"] in ("warn", "error", "fatal", "silent") else logging.INFO,
        access_log=settings["LOG_LEVEL"] in ("debug", "trace"),
        lifespan="on",
    )
