"""``/server/ping``, ``/server/health``, ``/server/info`` (its content: ``tidepool.services.server_info``)."""

from __future__ import annotations

import time
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from tidepool import __version__
from tidepool.config import Settings
from tidepool.errors import ForbiddenError, ServiceUnavailableError
from tidepool.http.context import request_context, runtime_of
from tidepool.http.responses import JSONResponse, data_response
from tidepool.services.base import ServiceContext
from tidepool.services.server_info import server_info


async def ping(request: Request) -> Response:
    return PlainTextResponse("pong", media_type="text/html; charset=utf-8")


async def health(request: Request) -> Response:
    """Directus's health report (``application/health+json``; 503 when a check is in error).

    Admins get ``releaseId``, ``serviceId`` and the checks; other users only ``status``. While the database
    is down nobody can be identified (tokens are checked against it), so that caller gets the status and the
    failed check, never the release.
    """
    runtime = runtime_of(request)
    try:
        ctx: ServiceContext | None = await request_context(request)
    except ServiceUnavailableError:
        ctx = None
    if ctx is not None and ctx.accountability.is_public:
        raise ForbiddenError()
    checks = await database_checks(runtime.engine, runtime.settings) | await runtime.mailer.health_checks()
    statuses = {check["status"] for entries in checks.values() for check in entries}
    status = "error" if "error" in statuses else "warn" if "warn" in statuses else "ok"
    body: dict[str, Any] = {"status": status}
    if ctx is None:
        body["checks"] = checks
    elif ctx.access.admin:
        body |= {"releaseId": __version__, "serviceId": runtime.settings.PUBLIC_URL, "checks": checks}
    return JSONResponse(body, status_code=503 if status == "error" else 200, media_type="application/health+json")


async def database_checks(engine: AsyncEngine, settings: Settings) -> dict[str, list[dict[str, Any]]]:
    """``<DB_CLIENT>:responseTime`` (a ``SELECT 1`` against ``DB_HEALTHCHECK_THRESHOLD`` ms), and the pool's
    ``connectionsAvailable`` / ``connectionsUsed``, in Directus's shape."""
    client, threshold = settings.db_client, settings.DB_HEALTHCHECK_THRESHOLD
    started = time.perf_counter()
    response: dict[str, Any] = {"status": "ok", "componentType": "datastore", "observedUnit": "ms"}
    try:
        async with engine.connect() as conn:
            await conn.execute(sa.text("SELECT 1"))
    except ServiceUnavailableError:
        response |= {"status": "error", "output": "Can't connect to the database."}
    elapsed = round((time.perf_counter() - started) * 1000, 3)
    response |= {"observedValue": elapsed, "threshold": threshold}
    if response["status"] == "ok" and elapsed > threshold:
        response["status"] = "warn"
    pool = engine.sync_engine.pool
    free, used = (getattr(pool, name, lambda: 0)() for name in ("checkedin", "checkedout"))
    return {
        f"{client}:responseTime": [response],
        f"{client}:connectionsAvailable": [{"status": "ok", "componentType": "datastore", "observedValue": free}],
        f"{client}:connectionsUsed": [{"status": "ok", "componentType": "datastore", "observedValue": used}],
    }


async def info(request: Request) -> Response:
    return data_response(await server_info(await request_context(request)))
