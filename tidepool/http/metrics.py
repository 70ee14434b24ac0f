"""``GET /metrics`` (Directus's path) and ``GET /server/metrics``: Prometheus metrics, when ``METRICS_ENABLED``.

Who may read them, as in Directus: an admin, or a request with ``Authorization: Metrics <token>`` where the
token is one of ``METRICS_TOKENS``; anyone else gets ``FORBIDDEN``. Directus's service metrics keep its
names (``<prefix>db_<client>_response_time_ms``, ``<prefix>db_<client>_connection_errors``,
``<prefix>redis_connection_errors``); the checks behind the error counters run at each scrape (Directus runs
them on ``METRICS_SCHEDULE``). Tidepool adds its realtime gauges and counters (``docs/metrics.md``), read
from the hub and the dispatcher at scrape time.
"""

from __future__ import annotations

import hmac
import os

import sqlalchemy as sa
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from tidepool.config import Settings
from tidepool.errors import ForbiddenError, TidepoolError
from tidepool.http.context import request_context, runtime_of
from tidepool.metrics import Family, render
from tidepool.realtime.bus.log import LogBus, Notifier
from tidepool.realtime.hub import WebSocketHub
from tidepool.realtime.service import RealtimeState
from tidepool.runtime import Runtime


def routes(settings: Settings) -> list[BaseRoute]:
    if not settings.METRICS_ENABLED:
        return []
    return [Route(path, scrape, methods=["GET"]) for path in ("/metrics", "/server/metrics")]


async def scrape(request: Request) -> Response:
    runtime = runtime_of(request)
    ctx = await request_context(request)
    if not ctx.access.admin and not _metrics_token(request, runtime.settings):
        raise ForbiddenError()
    families = await _service_families(runtime, request.app.state.realtime)
    families += _realtime_families(request.app.state.realtime, request.app.state.websocket)
    # Each worker of ``tidepool start --workers N`` answers with its own counts: the pid says whose they are.
    families.append(Family("process_pid", "gauge", "Process id of the server process that answered", os.getpid()))
    body = render(runtime.settings.METRICS_NAME_PREFIX, families)
    return PlainTextResponse(body, headers={"Cache-Control": "no-cache", "Vary": "Origin, Cache-Control"})


def _metrics_token(request: Request, settings: Settings) -> bool:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "metrics" or not token or " " in token:
        return False
    return any(hmac.compare_digest(token.encode(), known.encode()) for known in settings.METRICS_TOKENS)


async def _service_families(runtime: Runtime, realtime: RealtimeState) -> list[Family]:
    settings = runtime.settings
    families: list[Family] = []
    if "database" in settings.METRICS_SERVICES:
        client = settings.db_client
        stats = runtime.statements
        if not await _database_answers(runtime):
            stats.connection_errors += 1
        families += [
            Family(f"db_{client}_connection_errors", "counter", f"{client} Database connection error count",
                   stats.connection_errors),
            Family(f"db_{client}_response_time_ms", "histogram", f"{client} Database connection response time",
                   stats.response_ms),
        ]  # fmt: skip
    notifier = realtime.bus.notifier if isinstance(realtime.bus, LogBus) else None
    if "redis" in settings.METRICS_SERVICES and notifier is not None:
        realtime.redis_errors += 0 if await _redis_answers(notifier) else 1
        families.append(Family("redis_connection_errors", "counter", "Redis connection error count",
                               realtime.redis_errors))  # fmt: skip
    return families


async def _database_answers(runtime: Runtime) -> bool:
    try:
        async with runtime.engine.connect() as conn:
            await conn.execute(sa.text("SELECT 1"))
    except TidepoolError:  # the database seam's ServiceUnavailableError
        return False
    return True


async def _redis_answers(notifier: Notifier) -> bool:
    try:
        await notifier.check()
    except TidepoolError:
        return False
    return True


def _realtime_families(realtime: RealtimeState, hub: WebSocketHub) -> list[Family]:
    dispatcher, stats = realtime.dispatcher, realtime.dispatcher.stats
    queued = [client.queued for client in hub.sockets]
    return [
        Family("realtime_sockets", "gauge", "Open WebSocket connections", len(hub.sockets)),
        Family("realtime_subscriptions", "gauge", "Registered subscriptions", realtime.subscriptions.count()),
        Family("realtime_subscriber_groups", "gauge", "Groups of subscribers sharing one read per event",
               dispatcher.groups()),
        Family("realtime_send_queue_entries", "gauge", "Entries queued for all sockets", sum(queued)),
        Family("realtime_send_queue_max", "gauge", "Entries queued for the most behind socket", max(queued, default=0)),
        Family("realtime_dispatch_lag_events", "gauge", "Committed events not dispatched yet",
               max(0, realtime.bus.head - dispatcher.last_seq)),
        Family("realtime_events_dispatched_total", "counter", "Events dispatched to subscribers", stats.events),
        Family("realtime_messages_total", "counter", "Event messages queued for subscribers", stats.messages),
        Family("realtime_dispatch_seconds", "histogram", "Time to dispatch one event", stats.seconds),
        Family("realtime_statements_per_event", "histogram", "SQL statements run to dispatch one event",
               stats.statements),
    ]  # fmt: skip
