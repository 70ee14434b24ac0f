"""``GET /tidepool/realtime``: the realtime inspector's snapshot of this process, for admins only.

Tidepool's own endpoint (Directus has none), under ``/tidepool/`` so that it can never collide with a
Directus route. It reads what the WebSocket side already keeps — open sockets with their send-queue depth
and subscription count, subscriptions per collection grouped by the event read they share, and the event
numbers (``seq``) dispatched and known committed — and changes nothing. Events per second are the change
of ``seq.dispatched`` between two snapshots (the Studio polls every two seconds), so the server keeps no
extra counter. Another process's sockets are not listed: each process answers for its own.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from tidepool.errors import ForbiddenError
from tidepool.http.context import request_context
from tidepool.http.responses import data_response
from tidepool.realtime.connection import Client
from tidepool.realtime.hub import WebSocketHub
from tidepool.realtime.service import RealtimeState
from tidepool.realtime.session import Session


async def realtime(request: Request) -> Response:
    ctx = await request_context(request)
    if not ctx.access.admin:
        raise ForbiddenError()
    hub: WebSocketHub | None = getattr(request.app.state, "websocket", None)
    state: RealtimeState | None = getattr(request.app.state, "realtime", None)
    if hub is None or state is None:
        return data_response({"enabled": False})
    settings = hub.settings
    return data_response(
        {
            "enabled": True,
            "seq": {"dispatched": state.dispatcher.last_seq, "head": state.bus.head},
            "sockets": [_socket(client, session, state) for client, session in hub.sockets.items()],
            "collections": [
                {"collection": collection, "groups": [_group(key, count) for key, count in groups.items()]}
                for collection, groups in sorted(state.subscriptions.groups().items())
            ],
            "limits": {
                "connections": settings.WEBSOCKETS_REST_CONN_LIMIT,
                "send_queue": settings.WEBSOCKETS_SEND_QUEUE_LIMIT,
                "subscriptions": settings.WEBSOCKETS_SUBSCRIPTIONS_LIMIT,
            },
        }
    )


def _socket(client: Client, session: Session, state: RealtimeState) -> dict[str, Any]:
    who = client.accountability
    return {
        "id": client.id,
        "user": who.user,
        "role": who.role,
        "admin": who.admin,
        "ip": session.where.get("ip"),
        "subscriptions": state.subscriptions.count(client),
        "queued": client.queued,
    }


def _group(key: bytes, count: int) -> dict[str, Any]:
    """One event read's shape (the parts of ``subscriptions._query_key``) and how many subscriptions share it."""
    _, fields, filter_, search, deep, alias, meta = orjson.loads(key)
    query = {"fields": fields, "filter": filter_, "search": search, "deep": deep, "alias": alias, "meta": meta}
    return {
        "query": {name: value for name, value in query.items() if value not in (None, [], {})},
        "subscriptions": count,
    }
