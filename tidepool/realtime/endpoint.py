"""The WebSocket endpoint (``WEBSOCKETS_REST_PATH``): an upgrade becomes a checked, running ``Session``.

``serve_websocket`` carries one socket from upgrade to close (``tidepool.app.TidepoolApp`` dispatches the
WebSocket path to it ahead of Starlette's router; ``websocket_endpoint`` is the same as a router route).
Each step of a socket's life has its own module:

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

from starlette.applications import Starlette
from starlette.routing import BaseRoute, WebSocketRoute
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket

from tidepool.config import Settings
from tidepool.errors import CredentialRejectedError
from tidepool.realtime import auth
from tidepool.realtime.hub import WebSocketHub
from tidepool.realtime.session import Session
from tidepool.realtime.upgrade import Where, deny, origin_allowed, upgrade_auth, where_of


def build_routes(settings: Settings) -> list[BaseRoute]:
    """The router's route: reached only when the app is mounted behind something else (``serve_websocket``
    is the usual way in, see ``tidepool.app``)."""
    if not (settings.WEBSOCKETS_ENABLED and settings.WEBSOCKETS_REST_ENABLED):
        return []
    return [WebSocketRoute(settings.WEBSOCKETS_REST_PATH, websocket_endpoint)]


async def websocket_endpoint(ws: WebSocket) -> None:
    await serve_websocket(ws.app, ws.scope, ws.receive, ws.send)


async def serve_websocket(app: Starlette, scope: Scope, receive: Receive, send: Send) -> None:
    """One socket from upgrade to close, as a bare ASGI call.

    The app dispatches the WebSocket path here directly, ahead of Starlette's router and middleware: each
    of their coroutine frames would otherwise stay suspended (and resident) for the socket's whole life.
    Only the upgrade checks use a Starlette ``WebSocket`` (headers, cookies, denial responses); it is gone
    once the socket is accepted, and the session reads and writes through the raw ASGI callables.
    """
    hub: WebSocketHub = app.state.websocket
    opened = await _upgrade(WebSocket(scope, receive, send), hub)
    if opened is None:
        return
    pre_auth, where = opened
    session = Session(receive, send, hub, where)
    hub.sockets[session.client] = session
    try:
        await session.run(pre_auth)
    finally:
        await session.finish()


async def _upgrade(ws: WebSocket, hub: WebSocketHub) -> tuple[auth.AuthResult | None, Where] | None:
    """The checks of spec §2, then accept: (upgrade auth, where) or ``None`` once refused."""
    if hub.draining:  # the server is stopping (``tidepool/drain.py``)
        await deny(ws, 503)
        return None
    if not hub.has_room():
        await deny(ws, 403)
        return None
    if not origin_allowed(ws.headers.get("origin"), ws.headers.get("host"), hub.settings):
        await deny(ws, 403)
        return None
    hub.reserved += 1
    try:
        pre_auth = await upgrade_auth(ws, hub)
    except CredentialRejectedError as exc:
        await deny(ws, exc.told.status if exc.told is not None else 401)  # 429 / 503 when told
        return None
    finally:
        hub.reserved -= 1
    await ws.accept()
    return pre_auth, where_of(ws)
