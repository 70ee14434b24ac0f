"""The WebSocket endpoint (``WEBSOCKETS_REST_PATH``): an upgrade becomes a checked, running ``Session``.

The route's handler is here; each step of a socket's life has its own module (their names are re-exported
here, so the old import paths keep working):

* ``tidepool.realtime.hub``: ``WebSocketHub`` (what all sockets share) and the app's ``websocket_service``;
* ``tidepool.realtime.upgrade``: the checks before any WebSocket exists (spec §2) — connection limit → 403,
  foreign ``Origin`` → 403, ``?access_token=`` / session cookie in every mode (bad → 401; ``strict`` without
  one → 401);
* ``tidepool.realtime.session``: the auth modes (``handshake``/``public``/``strict``), the per-frame pipeline
  (rate limit → JSON → ``auth`` → base schema → heartbeat → dispatch) and token expiry;
* ``tidepool.realtime.lanes``: handlers of one kind run in order, different kinds concurrently;
* ``tidepool.realtime.handlers``: ``ping``, ``items``, ``subscribe``, ``unsubscribe`` (``DISPATCH``).
"""

from __future__ import annotations

from starlette.routing import BaseRoute, WebSocketRoute
from starlette.websockets import WebSocket

from tidepool.config import Settings
from tidepool.realtime import auth
from tidepool.realtime.handlers import DISPATCH, Route
from tidepool.realtime.hub import WebSocketHub, websocket_service
from tidepool.realtime.lanes import Job, Lane
from tidepool.realtime.session import Session
from tidepool.realtime.upgrade import Where, deny, origin_allowed, upgrade_auth, where_of


def build_routes(settings: Settings) -> list[BaseRoute]:
    if not (settings["WEBSOCKETS_ENABLED"] and settings["WEBSOCKETS_REST_ENABLED"]):
        return []
    return [WebSocketRoute(settings["WEBSOCKETS_REST_PATH"], websocket_endpoint)]


async def websocket_endpoint(ws: WebSocket) -> None:
    hub: WebSocketHub = ws.app.state.websocket
    if not hub.has_room():
        await deny(ws, 403)
        return
    if not origin_allowed(ws.headers.get("origin"), ws.headers.get("host"), hub.settings):
        await deny(ws, 403)
        return
    hub.reserved += 1
    try:
        pre_auth = await upgrade_auth(ws, hub)
    except auth.AuthFailed:
        await deny(ws, 401)
        return
    finally:
        hub.reserved -= 1
    await ws.accept()
    session = Session(ws, hub, where_of(ws))
    hub.sockets.add(session.client)
    try:
        await session.run(pre_auth)
    finally:
        session.finish()


__all__ = [
    "DISPATCH",
    "Job",
    "Lane",
    "Route",
    "Session",
    "Where",
    "WebSocketHub",
    "build_routes",
    "origin_allowed",
    "websocket_endpoint",
    "websocket_service",
]
