"""The WebSocket endpoint (``WEBSOCKETS_REST_PATH``): upgrade checks, auth modes and the per-frame pipeline.

Upgrade (spec §2), each refusal a real HTTP response before any WebSocket exists: connection limit → 403,
foreign ``Origin`` → 403, then ``?access_token=`` / the session cookie in every mode (bad → 401; ``strict``
without one → 401). After the upgrade a socket is a ``Session``:

* ``handshake``: the first frame must be a valid ``auth`` within ``WEBSOCKETS_REST_AUTH_TIMEOUT``, otherwise
  ``AUTH_FAILED`` "Authentication handshake failed." (never a uid) and a close without status;
* ``public``: the socket starts with the Public policy;
* every frame afterwards: rate limit → JSON → ``auth`` (handled inline, so later frames see the new
  identity) → base schema → heartbeat "alive" → dispatch through ``DISPATCH`` by ``type``; unknown types are
  ignored. Handlers of one kind run one after another on their own lane (items replies keep request order,
  a subscribe is registered before a following unsubscribe runs), different kinds run concurrently, so a
  slow read never delays a ``pong``. No input closes the socket; nothing but an error envelope leaves it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import BaseRoute, WebSocketRoute
from starlette.websockets import WebSocket

from tidepool.config import Settings
from tidepool.context import Access, Accountability
from tidepool.errors import ServiceUnavailableError, TidepoolError, TokenExpiredError
from tidepool.realtime import auth
from tidepool.realtime.connection import Client
from tidepool.realtime.heartbeat import Heartbeat
from tidepool.realtime.items import run_items
from tidepool.realtime.limits import MessageLimiter, limiter_for
from tidepool.realtime.protocol import (
    BASE,
    SUBSCRIBE,
    UNSUBSCRIBE,
    AuthFailedError,
    AuthTimeoutError,
    HandshakeFailedError,
    MessagesExceededError,
    ParseError,
    credentials_valid,
    decode,
    error_message,
    reply,
    uid_of,
    validate,
)
from tidepool.runtime import Runtime

log = logging.getLogger("tidepool.realtime")

Where = dict[str, str | None]


# ------------------------------------------------------------------------------------------------ hub


@dataclass
class WebSocketHub:
    """Everything the endpoint shares across sockets; one per app, owned by its lifespan."""

    settings: Settings
    runtime: Runtime
    app: Starlette
    heartbeat: Heartbeat | None
    limiter: MessageLimiter | None
    sockets: set[Client] = field(default_factory=set)
    reserved: int = 0  # upgrades being checked, counted against the connection limit

    def has_room(self) -> bool:
        limit: int | None = self.settings["WEBSOCKETS_REST_CONN_LIMIT"]
        return limit is None or len(self.sockets) + self.reserved < limit

    def subscriptions(self) -> Any:
        """The event side's ``SubscriptionManager`` (``app.state.realtime.subscriptions``), if running."""
        state = getattr(self.app.state, "realtime", None)
        return getattr(state, "subscriptions", None)


@contextlib.asynccontextmanager
async def websocket_service(app: Starlette, runtime: Runtime) -> AsyncIterator[None]:
    """Install the hub on ``app.state.websocket`` for the app's lifetime; close what is left at shutdown."""
    settings = runtime.settings
    heartbeat = Heartbeat(settings["WEBSOCKETS_HEARTBEAT_PERIOD"]) if settings["WEBSOCKETS_HEARTBEAT_ENABLED"] else None
    hub = WebSocketHub(settings, runtime, app, heartbeat, limiter_for(settings))
    app.state.websocket = hub
    try:
        yield
    finally:
        for client in list(hub.sockets):
            client.close(1001, "server shutting down")
        if heartbeat is not None:
            await heartbeat.stop()


def build_routes(settings: Settings) -> list[BaseRoute]:
    if not (settings["WEBSOCKETS_ENABLED"] and settings["WEBSOCKETS_REST_ENABLED"]):
        return []
    return [WebSocketRoute(settings["WEBSOCKETS_REST_PATH"], websocket_endpoint)]


# -------------------------------------------------------------------------------------------- upgrade


async def websocket_endpoint(ws: WebSocket) -> None:
    hub: WebSocketHub = ws.app.state.websocket
    if not hub.has_room():
        await _deny(ws, 403)
        return
    if not origin_allowed(ws.headers.get("origin"), ws.headers.get("host"), hub.settings):
        await _deny(ws, 403)
        return
    hub.reserved += 1
    try:
        pre_auth = await _upgrade_auth(ws, hub)
    except auth.AuthFailed:
        await _deny(ws, 401)
        return
    finally:
        hub.reserved -= 1
    await ws.accept()
    session = Session(ws, hub, _where(ws))
    hub.sockets.add(session.client)
    try:
        await session.run(pre_auth)
    finally:
        session.finish()


async def _upgrade_auth(ws: WebSocket, hub: WebSocketHub) -> auth.AuthResult | None:
    """Token auth at the upgrade: the result, ``None`` (no token and none needed), or ``AuthFailed`` (401)."""
    settings = hub.settings
    token = ws.query_params.get("access_token") or ws.cookies.get(settings["SESSION_COOKIE_NAME"])
    if not token:
        if settings["WEBSOCKETS_REST_AUTH"] == "strict":
            raise auth.AuthFailed("strict mode needs a token on the upgrade")
        return None
    try:
        return await auth.from_token(hub.runtime, token, _where(ws))
    except auth.AuthFailed:
        raise
    except Exception:
        log.exception("websocket upgrade authentication failed unexpectedly")
        raise auth.AuthFailed("unexpected error") from None


async def _deny(ws: WebSocket, status: int) -> None:
    """Refuse the upgrade with a plain HTTP status and an empty body (as Directus's raw responses)."""
    if "websocket.http.response" in ws.scope.get("extensions", {}):
        await ws.send_denial_response(Response(status_code=status))
    else:  # servers without the denial extension answer 403 to a close before accept
        await ws.close()


def origin_allowed(origin: str | None, host: str | None, settings: Settings) -> bool:
    """Cross-site WebSocket hijacking guard (spec §2.4): no Origin, same host, ``PUBLIC_URL`` or CORS."""
    if not origin:
        return True
    parts = urlsplit(origin)
    if host and parts.netloc.lower() == host.lower():
        return True
    public = urlsplit(settings["PUBLIC_URL"])
    if (
        public.scheme
        and public.netloc
        and (parts.scheme, parts.netloc.lower()) == (public.scheme, public.netloc.lower())
    ):
        return True
    return settings["CORS_ENABLED"] and _cors_allows(origin, str(settings["CORS_ORIGIN"]))


def _cors_allows(origin: str, configured: str) -> bool:
    """``CORS_ORIGIN``: ``true``, or a comma list of exact origins and ``/regex/`` entries (``*`` never)."""
    value = configured.strip()
    if value.lower() == "true":
        return True
    for entry in (part.strip() for part in value.split(",")):
        if len(entry) > 2 and entry.startswith("/") and entry.endswith("/"):
            if re.search(entry[1:-1], origin):
                return True
        elif entry and entry != "*" and entry.rstrip("/") == origin.rstrip("/"):
            return True
    return False


def _where(ws: WebSocket) -> Where:
    return {
        "ip": ws.client.host if ws.client else None,
        "user_agent": (ws.headers.get("user-agent") or "")[:1024] or None,
        "origin": ws.headers.get("origin"),
    }


# -------------------------------------------------------------------------------------------- session

Job = Callable[[], Awaitable[None]]


class Lane:
    """Runs one kind of handler of one socket in arrival order, without blocking the other kinds."""

    def __init__(self, limit: int) -> None:
        self._jobs: deque[Job] = deque()
        self._limit = limit
        self._task: asyncio.Task[None] | None = None

    def submit(self, job: Job) -> bool:
        """Queue ``job``; ``False`` when the backlog is full (the socket is flooding faster than it reads)."""
        if len(self._jobs) >= self._limit:
            return False
        self._jobs.append(job)
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._drain())
        return True

    async def _drain(self) -> None:
        while self._jobs:
            await self._jobs.popleft()()

    def cancel(self) -> None:
        self._jobs.clear()
        if self._task is not None:
            self._task.cancel()


class Session:
    """One accepted socket: its ``Client``, its auth state and the intake pipeline."""

    def __init__(self, ws: WebSocket, hub: WebSocketHub, where: Where) -> None:
        self.ws = ws
        self.hub = hub
        self.where = where
        self.mode: str = hub.settings["WEBSOCKETS_REST_AUTH"]
        self.client = Client(
            ws.send,
            Access(Accountability.public(**where)),
            queue_limit=hub.settings["WEBSOCKETS_SEND_QUEUE_LIMIT"],
            byte_limit=hub.settings["WEBSOCKETS_SEND_QUEUE_BYTES"],
            frame_gap=hub.settings["WEBSOCKETS_FRAME_GAP_MS"] / 1000,
        )
        self.lanes: dict[str, Lane] = {}
        self.registered = False
        self._expiry: asyncio.Task[None] | None = None
        self._reauth: asyncio.Event | None = None

    # ------------------------------------------------------------------------------------ lifecycle

    async def run(self, pre_auth: auth.AuthResult | None) -> None:
        reader = asyncio.get_running_loop().create_task(self._read(pre_auth))
        finished = asyncio.get_running_loop().create_task(self.client.finished.wait())
        try:
            await asyncio.wait({reader, finished}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (reader, finished):
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await reader

    async def _read(self, pre_auth: auth.AuthResult | None) -> None:
        if not await self._open(pre_auth):
            await self._drain_until_disconnect()
            return
        while (frame := await self._next_frame()) is not None:
            if not self.client.closed:
                await self.on_frame(frame)

    async def _open(self, pre_auth: auth.AuthResult | None) -> bool:
        """Bring the socket to the open state according to the auth mode; False if it was refused."""
        if pre_auth is not None:
            self._authenticated(pre_auth)
        elif self.mode == "public":
            self.client.access = await auth.public_access(self.hub.runtime, self.where)
        elif not await self._handshake():
            return False
        self.registered = True
        if self.hub.heartbeat is not None:
            self.hub.heartbeat.add(self.client)
        return True

    async def _handshake(self) -> bool:
        """The first frame must be a valid ``auth``; the ok reply is the first thing the client receives."""
        try:
            frame = await asyncio.wait_for(self._next_frame(), self.hub.settings["WEBSOCKETS_REST_AUTH_TIMEOUT"])
        except TimeoutError:
            frame = ""
        if frame is None:
            return False
        message = _decode_or_none(frame)
        try:
            if not (isinstance(message, dict) and message.get("type") == "auth" and credentials_valid(message)):
                raise auth.AuthFailed("first frame is not a valid auth message")
            result = await auth.from_message(self.hub.runtime, message, self.where)
        except Exception as exc:
            if not isinstance(exc, auth.AuthFailed):
                log.exception("websocket handshake failed unexpectedly")
            self.client.send_message(error_message("auth", HandshakeFailedError()))
            self.client.close()
            return False
        self._authenticated(result)
        self.client.send_message(_auth_ok(message, result))
        return True

    async def _next_frame(self) -> str | None:
        """The next text (or UTF-8 binary) frame; ``None`` once the peer is gone."""
        message = await self.ws.receive()
        if message["type"] == "websocket.disconnect":
            return None
        text = message.get("text")
        if text is not None:
            return str(text)
        data = message.get("bytes") or b""
        return data.decode("utf-8", "replace")

    async def _drain_until_disconnect(self) -> None:
        while await self._next_frame() is not None:
            pass

    def finish(self) -> None:
        """Release everything the socket holds: registration, subscriptions, timers, lanes."""
        self.client.disconnected()
        self.hub.sockets.discard(self.client)
        if self.hub.heartbeat is not None:
            self.hub.heartbeat.remove(self.client)
        if self.hub.limiter is not None:
            self.hub.limiter.forget(self.client.id)
        manager = self.hub.subscriptions()
        if manager is not None:
            manager.remove_client(self.client)
        for lane in self.lanes.values():
            lane.cancel()
        if self._expiry is not None:
            self._expiry.cancel()

    # ------------------------------------------------------------------------------------- intake

    async def on_frame(self, frame: str) -> None:
        """The per-frame pipeline of spec §4.1."""
        if self.hub.limiter is not None:
            retry_after = self.hub.limiter.consume(self.client.id)
            if retry_after is not None:
                self.client.send_message(error_message("server", MessagesExceededError(retry_after)))
                return
        message = _decode_or_none(frame, invalid=_INVALID)
        if message is _INVALID:
            self.client.send_message(error_message("server", ParseError()))
            return
        if isinstance(message, dict) and message.get("type") == "auth":
            await self.on_auth(message)
            return
        try:
            validate(BASE, message)
        except TidepoolError as exc:
            self.client.send_message(error_message("server", exc))
            return
        if self.hub.heartbeat is not None:
            self.hub.heartbeat.alive(self.client)
        route = DISPATCH.get(message["type"])
        if route is not None:
            await route(self, message)

    def in_lane(self, name: str, job: Job) -> None:
        lane = self.lanes.get(name)
        if lane is None:
            lane = self.lanes[name] = Lane(self.hub.settings["WEBSOCKETS_SEND_QUEUE_LIMIT"])
        if not lane.submit(self._guarded(job)):
            self.client.send_message(error_message("server", MessagesExceededError(0)))

    def _guarded(self, job: Job) -> Job:
        async def run() -> None:
            try:
                await job()
            except Exception:
                log.exception("websocket handler failed")

        return run

    # --------------------------------------------------------------------------------------- auth

    async def on_auth(self, message: dict[str, Any]) -> None:
        """``auth`` on an open socket: a malformed one is ignored; a failed one drops to public (and closes
        unless the mode is ``public``); a good one replaces the identity and keeps the subscriptions."""
        if self._reauth is not None:
            self._reauth.set()
        if not credentials_valid(message):
            return
        uid = uid_of(message)
        try:
            result = await auth.from_message(self.hub.runtime, message, self.where)
        except Exception as exc:
            if not isinstance(exc, auth.AuthFailed):
                log.exception("websocket re-authentication failed unexpectedly")
            await self._drop_to_public()
            self.client.send_message(error_message("auth", AuthFailedError(), uid))
            if self.mode != "public":
                self.client.close()
            return
        self._authenticated(result)
        self.client.send_message(_auth_ok(message, result))

    def _authenticated(self, result: auth.AuthResult) -> None:
        self.client.access = result.access
        self.client.expires_at = result.expires_at
        if self._expiry is not None:
            self._expiry.cancel()
            self._expiry = None
        if result.expires_at is not None:
            self._expiry = asyncio.get_running_loop().create_task(self._expire(result.expires_at))

    async def _drop_to_public(self) -> None:
        if self._expiry is not None:
            self._expiry.cancel()
            self._expiry = None
        self.client.expires_at = None
        self.client.access = await auth.public_access(self.hub.runtime, self.where)

    async def _expire(self, expires_at: float) -> None:
        """At the JWT's ``exp``: public access, ``TOKEN_EXPIRED``, then ``AUTH_TIMEOUT`` + close unless the
        client re-authenticates within ``WEBSOCKETS_REST_AUTH_TIMEOUT`` (or the mode is ``public``)."""
        await asyncio.sleep(max(0.0, expires_at - time.time()))
        self._expiry = None
        self.client.expires_at = None
        self.client.access = await auth.public_access(self.hub.runtime, self.where)
        self.client.send_message(error_message("auth", TokenExpiredError()))
        self._reauth = asyncio.Event()
        try:
            await asyncio.wait_for(self._reauth.wait(), self.hub.settings["WEBSOCKETS_REST_AUTH_TIMEOUT"])
        except TimeoutError:
            self.client.send_message(error_message("auth", AuthTimeoutError()))
            if self.mode != "public":
                self.client.close()
        finally:
            self._reauth = None


_INVALID = object()


def _decode_or_none(frame: str, invalid: Any = None) -> Any:
    try:
        return decode(frame)
    except ValueError:
        return invalid


def _auth_ok(message: Mapping[str, Any], result: auth.AuthResult) -> dict[str, Any]:
    """``{"type":"auth","status":"ok","uid"?,"refresh_token"?}`` in that key order."""
    ok = reply("auth", uid_of(message), status="ok")
    ok = {"type": "auth", "status": "ok", **{k: v for k, v in ok.items() if k == "uid"}}
    if result.refresh_token is not None:
        ok["refresh_token"] = result.refresh_token
    return ok


# ----------------------------------------------------------------------------------------- handlers


async def _ping(session: Session, message: dict[str, Any]) -> None:
    """Client ``ping`` → ``pong`` with the uid echoed; like Directus, only while the heartbeat is on."""
    if session.hub.heartbeat is not None:
        session.client.send_message(reply("pong", uid_of(message)))


async def _items(session: Session, message: dict[str, Any]) -> None:
    async def job() -> None:
        uid = uid_of(message)
        ctx = session.hub.runtime.context(session.client.access)
        try:
            data, meta = await run_items(ctx, message)
        except TidepoolError as exc:
            session.client.send_message(error_message("items", exc, uid))
            return
        except Exception:
            log.exception("items message failed")
            session.client.send_message(error_message("items", TidepoolError(), uid))
            return
        body: dict[str, Any] = {"data": data} if meta is None else {"data": data, "meta": meta}
        session.client.send_message(reply("items", uid, **body))

    session.in_lane("items", job)


async def _subscribe(session: Session, message: dict[str, Any]) -> None:
    try:
        validate(SUBSCRIBE, message)
    except TidepoolError as exc:  # schema errors carry no uid (Directus's zod path)
        session.client.send_message(error_message("subscribe", exc))
        return
    _to_manager(session, message, "handle_subscribe")


async def _unsubscribe(session: Session, message: dict[str, Any]) -> None:
    try:
        validate(UNSUBSCRIBE, message)
    except TidepoolError as exc:
        session.client.send_message(error_message("unsubscribe", exc))
        return
    _to_manager(session, message, "handle_unsubscribe")


def _to_manager(session: Session, message: dict[str, Any], method: str) -> None:
    async def job() -> None:
        manager = session.hub.subscriptions()
        if manager is None:
            unavailable = ServiceUnavailableError("realtime", "Subscriptions are not running")
            session.client.send_message(error_message("subscribe", unavailable, uid_of(message)))
            return
        await getattr(manager, method)(session.client, message)

    session.in_lane("subscriptions", job)


Route = Callable[[Session, dict[str, Any]], Awaitable[None]]

DISPATCH: dict[str, Route] = {
    "ping": _ping,
    "items": _items,
    "subscribe": _subscribe,
    "unsubscribe": _unsubscribe,
}
