"""The ASGI application: routes, error handling, and a lifespan that owns every long-lived resource."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from tidepool.config import Settings
from tidepool.errors import RouteNotFoundError, TidepoolError
from tidepool.http.responses import error_response
from tidepool.http.routes import build_routes
from tidepool.runtime import Runtime, open_runtime

log = logging.getLogger("tidepool")


def create_app(settings: Settings) -> Starlette:
    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with open_runtime(settings) as runtime:
            app.state.runtime = runtime
            app.state.loop = asyncio.get_running_loop()
            async with _started_services(app, runtime):
                yield

    app = Starlette(
        routes=build_routes(settings),
        lifespan=lifespan,
        exception_handlers={
            TidepoolError: _tidepool_error,
            HTTPException: _http_error,
            Exception: _unexpected_error,
        },
    )
    app.state.settings = settings
    return app


@asynccontextmanager
async def _started_services(app: Starlette, runtime: Runtime) -> AsyncIterator[None]:
    """Background services (event bus, realtime) live exactly as long as the app."""
    from tidepool.realtime.endpoint import websocket_service
    from tidepool.realtime.service import realtime_service

    async with realtime_service(app, runtime), websocket_service(app, runtime):
        yield


async def _tidepool_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, TidepoolError)
    return error_response([exc])


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        return error_response([RouteNotFoundError(request.url.path)])
    if exc.status_code == 405:
        return error_response([RouteNotFoundError(request.url.path)])
    return error_response([TidepoolError(exc.detail)])


async def _unexpected_error(request: Request, exc: Exception) -> Response:
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    return error_response([TidepoolError()])
