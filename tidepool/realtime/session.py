"""One accepted socket: its ``Client``, its auth state and the per-frame intake pipeline.

* ``handshake``: the first frame must be a valid ``auth`` within ``WEBSOCKETS_REST_AUTH_TIMEOUT``, otherwise
  ``AUTH_FAILED`` "Authentication handshake failed." (never a uid) and a close without status;
* ``public``: the socket starts with the Public policy;
* every frame afterwards: rate limit → JSON → ``auth`` (handled inline, so later frames see the new
  identity) → base schema → heartbeat "alive" → dispatch through ``tidepool.realtime.handlers.DISPATCH`` by
  ``type`` onto the session's lanes; unknown types are ignored. No input closes the socket; nothing but an
  error envelope leaves it.
* a JWT's ``exp`` drops the socket to public access (``TOKEN_EXPIRED``), then closes it unless the client
  re-authenticates in time.
* while the server stops (``tidepool/drain.py``), a request (``auth`` or a handled type) read from the socket,
  or waiting in a lane, is answered ``SERVICE_UNAVAILABLE`` instead of run (``Session.refused``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from tidepool.context import Access, Accountability
from tidepool.errors import (
    AuthFailedError,
    AuthTimeoutError,
    CredentialRejectedError,
    HandshakeFailedError,
    ParseError,
    RequestsExceededError,
    ServiceUnavailableError,
    TidepoolError,
    TokenExpiredError,
)
from tidepool.realtime import auth
from tidepool.realtime.connection import Client, Wire
from tidepool.realtime.handlers import DISPATCH
from tidepool.realtime.hub import WebSocketHub
from tidepool.realtime.lanes import Job, Lane
from tidepool.realtime.protocol import (
    BASE,
    credentials_valid,
    decode,
    error_message,
    reply,
    uid_of,
    validate,
)
from tidepool.realtime.upgrade import Where

log = logging.getLogger("tidepool.realtime")


class Session:
    """One accepted socket: its ``Client``, its auth state and the intake pipeline.

    Driven by its wire (``tidepool.realtime.wire``): ``open`` once after the upgrade, then ``receive`` for each
    message, one at a time and in order. Slotted and lean: no task of its own, lanes exist only while they
    have work, and the handshake deadline and token expiry are loop timers until they fire.
    """

    __slots__ = (
        "hub", "where", "mode", "client", "lanes", "registered", "token", "stamp", "_expiry", "_reauth", "_deadline",
    )  # fmt: skip

    def __init__(
        self, wire: Wire, hub: WebSocketHub, where: Where, on_finished: Callable[[], None] | None = None
    ) -> None:
        self.hub = hub
        self.where = where
        self.mode: str = hub.settings.WEBSOCKETS_REST_AUTH
        self.client = Client(
            wire,
            Access(Accountability.public(**where)),
            queue_limit=hub.settings.WEBSOCKETS_SEND_QUEUE_LIMIT,
            byte_limit=hub.settings.WEBSOCKETS_SEND_QUEUE_BYTES,
            stall_timeout=hub.settings.WEBSOCKETS_SEND_STALL_TIMEOUT,
            frame_gap=hub.settings.WEBSOCKETS_FRAME_GAP_MS / 1000,
            on_finished=on_finished,
        )
        self.lanes: dict[str, Lane] | None = None  # only while some lane has work
        self.registered = False
        self.token: str | None = None  # the credential the access came from (re-checked after access changes)
        self.stamp = 0  # the access generation the current access was resolved at (or after)
        self._expiry: asyncio.TimerHandle | asyncio.Task[None] | None = None
        self._reauth: asyncio.Event | None = None
        self._deadline: asyncio.TimerHandle | None = None  # ``handshake`` mode: until the first frame comes

    # ------------------------------------------------------------------------------------ lifecycle

    async def open(self, pre_auth: auth.AuthResult | None) -> None:
        """Bring the socket to the open state according to the auth mode. In ``handshake`` mode without an
        upgrade credential the first message decides (``receive``), within ``WEBSOCKETS_REST_AUTH_TIMEOUT``."""
        if pre_auth is not None:
            self._authenticated(pre_auth)
        elif self.mode == "public":
            self.stamp = self._generation()
            self.client.access = await auth.public_access(self.hub.runtime, self.where)
        else:
            timeout = self.hub.settings.WEBSOCKETS_REST_AUTH_TIMEOUT
            self._deadline = asyncio.get_running_loop().call_later(timeout, self._handshake_timed_out)
            return
        await self._register()

    async def receive(self, frame: str) -> None:
        """One message from the peer: the handshake's first frame, or the per-frame pipeline."""
        if self.client.closed:
            return
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None
            await self._handshake(frame)
        elif self.registered:
            await self.on_frame(frame)

    async def _register(self) -> None:
        self.registered = True
        if self.hub.heartbeat is not None:
            self.hub.heartbeat.add(self.client)
        await self._catch_up()

    def _handshake_timed_out(self) -> None:
        self._deadline = None
        self._handshake_failed(HandshakeFailedError())

    def _handshake_failed(self, error: TidepoolError) -> None:
        self.client.send_message(error_message("auth", error))
        self.client.close()

    async def _handshake(self, frame: str) -> None:
        """The first frame must be a valid ``auth``; the ok reply is the first thing the client receives."""
        message = _decode_or_none(frame)
        try:
            if not (isinstance(message, dict) and message.get("type") == "auth" and credentials_valid(message)):
                raise CredentialRejectedError("first frame is not a valid auth message")
            result = await auth.from_message(self.hub.runtime, message, self.where)
        except Exception as exc:
            if not isinstance(exc, CredentialRejectedError):
                log.exception("websocket handshake failed unexpectedly")
            told = exc.told if isinstance(exc, CredentialRejectedError) else None
            self._handshake_failed(told or HandshakeFailedError())
            return
        self._authenticated(result)
        self.client.send_message(_auth_ok(message, result))
        await self._register()

    async def finish(self) -> None:
        """Release everything the socket holds: registration, subscriptions, timers, lanes; return once the
        socket's running jobs have stopped (so nothing of it still uses the database after it is gone)."""
        self.client.disconnected()
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None
        self.hub.sockets.pop(self.client, None)
        if self.hub.heartbeat is not None:
            self.hub.heartbeat.remove(self.client)
        if self.hub.limiter is not None:
            self.hub.limiter.forget(self.client.id)
        self.hub.subscriptions.remove_client(self.client)
        lanes, self.lanes = list((self.lanes or {}).values()), None
        expiry, self._expiry = self._expiry, None
        if expiry is not None:
            expiry.cancel()
        running: list[Awaitable[object]] = [lane.aclose() for lane in lanes]
        if isinstance(expiry, asyncio.Task):
            running.append(asyncio.wait([expiry]))
        if running:
            await asyncio.gather(*running)

    # ------------------------------------------------------------------------------------- intake

    async def on_frame(self, frame: str) -> None:
        """The per-frame pipeline of spec §4.1. Whatever answers the frame waits for room in the send queue
        first (``Client.drained``): a parse, schema or rate-limit error (``_answer``) as much as a handler's
        reply, so a client that pipelines thousands of bad frames gets every error at the pace it reads them,
        not a 1013 overflow (Directus answers them all), and one that stops reading is dropped for the stall,
        not buffered. A frame that needs no answer (``pong``, an unknown type) waits for nothing: it still
        counts for the heartbeat at once while the client is busy reading a backlog."""
        if self.hub.limiter is not None:
            retry_after = self.hub.limiter.consume(self.client.id)
            if retry_after is not None:
                await self._answer(error_message("server", RequestsExceededError(retry_after, what="messages")))
                return
        message = _decode_or_none(frame, invalid=_INVALID)
        if message is _INVALID:
            await self._answer(error_message("server", ParseError()))
            return
        if _is_request(message) and self.refused(message):
            return
        if isinstance(message, dict) and message.get("type") == "auth":
            await self.on_auth(message)
            return
        try:
            validate(BASE, message)
        except TidepoolError as exc:
            await self._answer(error_message("server", exc))
            return
        if self.hub.heartbeat is not None:
            self.hub.heartbeat.alive(self.client)
        route = DISPATCH.get(message["type"])
        if route is not None:
            await self.client.drained()
            if not self.client.closed:
                await route(self, message)

    async def _answer(self, message: Mapping[str, Any]) -> None:
        """Send a frame-level error once the send queue has room for it (see ``on_frame``)."""
        await self.client.drained()
        self.client.send_message(message)

    def refused(self, message: Mapping[str, Any]) -> bool:
        """While the server stops (``tidepool/drain.py``) no request starts: it is answered at once with
        ``SERVICE_UNAVAILABLE`` (its type and uid), so the client knows it was not done. False otherwise."""
        if not self.hub.draining:
            return False
        self.client.send_message(error_message(str(message["type"]), _STOPPING, uid_of(message)))
        return True

    def in_lane(self, name: str, job: Job) -> bool:
        """Queue ``job`` in the lane ``name``; ``False`` when the lane is full and the job was refused (the
        client got ``REQUESTS_EXCEEDED``): the caller then gives back whatever it took for the job."""
        if self.lanes is None:
            self.lanes = {}
        lane = self.lanes.get(name)
        if lane is None:
            lane = self.lanes[name] = Lane(self.hub.settings.WEBSOCKETS_SEND_QUEUE_LIMIT, self._lane_idle)
        if lane.submit(self._guarded(job)):
            return True
        self.client.send_message(error_message("server", RequestsExceededError(0, what="messages")))
        return False

    def _lane_idle(self, lane: Lane) -> None:
        """A lane ran out of work: forget it (the next job of its kind starts a fresh one)."""
        if self.lanes is None:
            return
        for name, held in list(self.lanes.items()):
            if held is lane:
                del self.lanes[name]
        if not self.lanes:
            self.lanes = None

    def _guarded(self, job: Job) -> Job:
        """``job`` as a lane runs it: after waiting for room in the send queue, as intake does, because the
        jobs a lane holds were admitted while the queue had room and would otherwise all reply at once (a
        lane holds up to ``WEBSOCKETS_SEND_QUEUE_LIMIT`` jobs: together with the replies already queued, more
        than the queue takes, and a client that reads everything was closed for it); a failure is logged."""

        async def run() -> None:
            try:
                await self.client.drained()
                self.hub.running += 1  # a stopping server waits for the job and its reply
                try:
                    await job()
                finally:
                    self.hub.running -= 1
            except Exception:
                log.exception("websocket handler failed")

        return run

    # --------------------------------------------------------------------------------------- auth

    async def on_auth(self, message: dict[str, Any]) -> None:
        """``auth`` on an open socket: a malformed one is ignored; a failed one drops to public (and closes
        unless the mode is ``public``); a good one replaces the identity and keeps the subscriptions the new
        identity may read: the others end as on any access change (``SubscriptionManager.revalidate``), so no
        subscription outlives its reader's right to it and answers each later event with an error. A failed one
        in ``public`` mode, which leaves the socket public, checks them the same way. A refusal that is no
        verdict on the credential (``CredentialRejectedError.told``) is sent as it is and changes nothing."""
        if self._reauth is not None:
            self._reauth.set()
        if not credentials_valid(message):
            return
        uid = uid_of(message)
        try:
            result = await auth.from_message(self.hub.runtime, message, self.where)
        except Exception as exc:
            told = exc.told if isinstance(exc, CredentialRejectedError) else None
            if told is not None:  # rate limit or outage: no verdict on the credential, the socket stays as it was
                self.client.send_message(error_message("auth", told, uid))
                return
            if not isinstance(exc, CredentialRejectedError):
                log.exception("websocket re-authentication failed unexpectedly")
            await self._drop_to_public()
            self.client.send_message(error_message("auth", AuthFailedError(), uid))
            if self.mode != "public":
                self.client.close()
            else:
                self.hub.subscriptions.revalidate(self.client)
            return
        self._authenticated(result)
        self.client.send_message(_auth_ok(message, result))
        self.hub.subscriptions.revalidate(self.client)
        await self._catch_up()

    def _authenticated(self, result: auth.AuthResult) -> None:
        self.client.access = result.access
        self.token = result.token
        self.stamp = result.generation
        self.client.expires_at = result.expires_at
        if self._expiry is not None:
            self._expiry.cancel()
            self._expiry = None
        if result.expires_at is not None:
            delay = max(0.0, result.expires_at - time.time())
            self._expiry = asyncio.get_running_loop().call_later(delay, self._start_expiry)

    def _start_expiry(self) -> None:
        """The JWT's ``exp`` has come: only now does the expiry need a task (it awaits a re-auth)."""
        self._expiry = asyncio.get_running_loop().create_task(self._expire())

    async def _drop_to_public(self) -> None:
        if self._expiry is not None:
            self._expiry.cancel()
            self._expiry = None
        self.client.expires_at = None
        self.token = None
        self.client.access = await auth.public_access(self.hub.runtime, self.where)

    async def _expire(self) -> None:
        """At the JWT's ``exp``: public access, ``TOKEN_EXPIRED``, then ``AUTH_TIMEOUT`` + close unless the
        client re-authenticates within ``WEBSOCKETS_REST_AUTH_TIMEOUT``. Subscriptions are kept through that
        window (the SDK re-authenticates and carries on with them, as with Directus); in ``public`` mode, where
        the socket stays open as public after the window, those the Public policy may not read end then."""
        self._expiry = None
        self.client.expires_at = None
        self.token = None
        self.client.access = await auth.public_access(self.hub.runtime, self.where)
        self.client.send_message(error_message("auth", TokenExpiredError()))
        self._reauth = asyncio.Event()
        try:
            await asyncio.wait_for(self._reauth.wait(), self.hub.settings.WEBSOCKETS_REST_AUTH_TIMEOUT)
        except TimeoutError:
            self.client.send_message(error_message("auth", AuthTimeoutError()))
            if self.mode != "public":
                self.client.close()
            else:  # public for good now: what the Public policy may not read ends, as after a failed re-auth
                self.hub.subscriptions.revalidate(self.client)
        finally:
            self._reauth = None

    # ------------------------------------------------------------------------------ access changes

    async def settled(self) -> bool:
        """Before a job uses this socket's access: wait until it reflects every access change made so far
        (``realtime/revalidate.py``); False when the socket is closed meanwhile (its job must not run)."""
        if self.hub.revalidator is not None:
            await self.hub.revalidator.settle()
        return not self.client.closed

    def holds_session(self) -> bool:
        """Whether this socket's credential is a session-mode JWT, valid only while its session lives."""
        return self.client.access.accountability.session is not None

    async def revalidate(self) -> None:
        """Resolve this socket's access again, as a new request with the same credential would get it."""
        if self.client.closed or not self.registered:
            return
        self.stamp = self._generation()
        if self.token is None:
            self.client.access = await auth.public_access(self.hub.runtime, self.where)
        else:
            try:
                result = await auth.from_token(self.hub.runtime, self.token, self.where)
            except CredentialRejectedError as exc:
                if exc.told is not None:  # no verdict on the credential: the revalidator closes with 1011
                    raise exc.told from None
                if exc.error is None or isinstance(exc.error, TokenExpiredError):
                    return  # the expiry timer owns this case (TOKEN_EXPIRED, then AUTH_TIMEOUT)
                await self._revoked(exc.error)
                return
            self.client.access = result.access
        self.hub.subscriptions.revalidate(self.client)

    async def _catch_up(self) -> None:
        """An access change that landed while this socket's access was being resolved (before the socket was
        registered for re-checks, or during a re-auth) is applied now rather than missed."""
        if self.stamp != self._generation():
            await self.revalidate()

    def _generation(self) -> int:
        return self.hub.runtime.access_cache.generation

    async def _revoked(self, error: TidepoolError) -> None:
        """The credential no longer holds (user suspended or deleted, token replaced): say so as REST would,
        then close with ``REVOKED_CLOSE_CODE``; in ``public`` mode carry on as public instead."""
        await self._drop_to_public()
        self.client.send_message(error_message("auth", error))
        if self.mode == "public":
            self.hub.subscriptions.revalidate(self.client)
            return
        self.hub.subscriptions.remove_client(self.client)
        self.client.close(REVOKED_CLOSE_CODE, REVOKED_CLOSE_REASON)


# A socket whose user was suspended or deleted, or whose token stopped working, after it authenticated.
REVOKED_CLOSE_CODE = 4401
REVOKED_CLOSE_REASON = "credentials revoked"

_INVALID = object()
_STOPPING = ServiceUnavailableError("server", "The server is shutting down")


def _is_request(message: Any) -> bool:
    """A message that would start work (``auth`` or a handled type): refused while the server stops."""
    kind = message.get("type") if isinstance(message, dict) else None
    return isinstance(kind, str) and (kind == "auth" or kind in DISPATCH)


def _decode_or_none(frame: str, invalid: Any = None) -> Any:
    try:
        return decode(frame)
    except ParseError:
        return invalid


def _auth_ok(message: Mapping[str, Any], result: auth.AuthResult) -> dict[str, Any]:
    """``{"type":"auth","status":"ok","uid"?,"refresh_token"?}`` in that key order."""
    ok = reply("auth", uid_of(message), status="ok")
    ok = {"type": "auth", "status": "ok", **{k: v for k, v in ok.items() if k == "uid"}}
    if result.refresh_token is not None:
        ok["refresh_token"] = result.refresh_token
    return ok
