"""The ASGI application: routes, error handling, and a lifespan that owns every long-lived resource."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute
from starlette.types import Lifespan, Receive, Scope, Send

from tidepool.config import Settings
from tidepool.errors import RouteNotFoundError, TidepoolError
from tidepool.http.cors import Cors
from tidepool.http.responses import error_response
from tidepool.http.router import IndexedRouter
from tidepool.http.routes import build_routes
from tidepool.http.specs import SpecCache
from tidepool.http.unexpected import UnexpectedErrors
from tidepool.logs import install_redaction
from tidepool.realtime.hub import websocket_service
from tidepool.realtime.service import realtime_service
from tidepool.runtime import Runtime, open_runtime
from tidepool.services.versions import VersionWatcher


class TidepoolApp(Starlette):
    """Starlette, counting the HTTP requests in flight, and naming the WebSocket path.

    The WebSocket path (``websocket_path``: ``WEBSOCKETS_REST_PATH`` when WebSockets are on) is not an ASGI
    route: ``tidepool.realtime.wire`` serves it as an asyncio protocol of its own, which uvicorn runs for each
    upgrade (``ws=websocket_protocol(app)``), so no ASGI call, receive queue or middleware frame stays
    suspended for a socket's life. Other WebSocket paths still reach the app through ASGI.
    """

    websocket_path: str | None = None
    requests_in_flight: int = 0  # HTTP requests being served: a stopping server answers them (``tidepool/drain.py``)

    def __init__(self, *, routes: list[BaseRoute], lifespan: Lifespan[Starlette], **options: Any) -> None:
        super().__init__(routes=routes, lifespan=lifespan, **options)
        # Starlette's router, with the routes indexed by first path segment (``tidepool.http.router``).
        self.router = IndexedRouter(routes, lifespan=lifespan)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        self.requests_in_flight += 1
        try:
            await super().__call__(scope, receive, send)
        finally:
            self.requests_in_flight -= 1


def create_app(settings: Settings, *, bootstrap: bool = True) -> Starlette:
    """The app; its lifespan bootstraps the database first unless ``bootstrap`` is off (the workers of
    ``tidepool start --workers N``, whose parent bootstrapped once before starting them)."""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        install_redaction()
        async with open_runtime(settings, run_bootstrap=bootstrap) as runtime:
            app.state.runtime = runtime
            app.state.loop = asyncio.get_running_loop()
            async with _started_services(app, runtime):
                runtime.outages.arm()
                try:
                    yield
                finally:  # what requests started in the background ends while its events can still be sent
                    await runtime.background.drain()

    routes = build_routes(settings)
    app = TidepoolApp(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={
            TidepoolError: _tidepool_error,
            HTTPException: _http_error,
        },
        middleware=[
            Middleware(Cors, settings=settings, routes=routes),  # outermost: error answers get CORS headers too
            Middleware(UnexpectedErrors),  # inside Starlette's ServerErrorMiddleware, which re-raises
        ],
    )
    app.state.settings = settings
    app.state.specs = SpecCache()  # the OpenAPI documents built so far (``/server/specs/oas``)
    if settings.WEBSOCKETS_ENABLED and settings.WEBSOCKETS_REST_ENABLED:
        app.websocket_path = settings.WEBSOCKETS_REST_PATH
    return app


@asynccontextmanager
async def _started_services(app: Starlette, runtime: Runtime) -> AsyncIterator[None]:
    """Background services (event bus, realtime) live exactly as long as the app."""
    async with (
        _version_watcher(runtime),
        realtime_service(app, runtime) as realtime,
        websocket_service(app, runtime, realtime),
    ):
        yield


@asynccontextmanager
async def _version_watcher(runtime: Runtime) -> AsyncIterator[None]:
    """Schema and access changes made by other processes reach this one (``tidepool.services.versions``)."""
    interval = runtime.settings.CACHE_SYNC_INTERVAL
    runtime.watcher = VersionWatcher(runtime.engine, runtime.schemas, runtime.access_cache, interval)
    task = asyncio.create_task(runtime.watcher.run(), name="tidepool-version-watcher") if interval > 0 else None
    try:
        yield
    finally:
        if task is not None:
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task
        runtime.watcher = None


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
