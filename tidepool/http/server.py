"""``/server/ping``, ``/server/health``, ``/server/info``."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from tidepool import __version__
from tidepool.errors import ForbiddenError
from tidepool.http.context import request_context, runtime_of
from tidepool.http.responses import JSONResponse, data_response


async def ping(request: Request) -> Response:
    return PlainTextResponse("pong", media_type="text/html; charset=utf-8")


async def health(request: Request) -> Response:
    ctx = await request_context(request)
    if ctx.accountability.is_public:
        raise ForbiddenError()
    status, checks = "ok", {}
    try:
        async with ctx.engine.connect() as conn:
            await conn.execute(sa.text("SELECT 1"))
        checks[f"{ctx.dialect}:responseTime"] = [{"status": "ok", "componentType": "datastore"}]
    except Exception:
        status = "error"
        checks[f"{ctx.dialect}:responseTime"] = [{"status": "error", "componentType": "datastore"}]
    body: dict[str, Any] = {"status": status}
    if ctx.access.admin:
        body |= {"releaseId": __version__, "serviceId": ctx.settings["KEY"], "checks": checks}
    return JSONResponse(body, status_code=503 if status == "error" else 200, media_type="application/health+json")


async def info(request: Request) -> Response:
    ctx = await request_context(request)
    settings = runtime_of(request).settings
    data: dict[str, Any] = {"project": {"project_name": "Tidepool"}}
    if not ctx.accountability.is_public:
        data["version"] = __version__
        data["websocket"] = _websocket_info(settings)
        data["queryLimit"] = {"default": settings["QUERY_LIMIT_DEFAULT"], "max": settings["QUERY_LIMIT_MAX"] or -1}
    return data_response(data)


def _websocket_info(settings: Any) -> Any:
    if not settings["WEBSOCKETS_ENABLED"]:
        return False
    rest = settings["WEBSOCKETS_REST_ENABLED"]
    return {
        "rest": {"authentication": settings["WEBSOCKETS_REST_AUTH"], "path": settings["WEBSOCKETS_REST_PATH"]}
        if rest
        else False,
        "graphql": False,
        "heartbeat": int(settings["WEBSOCKETS_HEARTBEAT_PERIOD"])
        if settings["WEBSOCKETS_HEARTBEAT_ENABLED"]
        else False,
        "collaborativeEditing": False,
        "logs": False,
    }


routes = [
    Route("/server/ping", ping, methods=["GET"]),
    Route("/server/health", health, methods=["GET"]),
    Route("/server/info", info, methods=["GET"]),
]
