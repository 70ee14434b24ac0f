"""The WebSocket endpoint's own asyncio protocol: ``WEBSOCKETS_REST_PATH`` without ASGI in the way.

uvicorn parses the HTTP request; an upgrade is handed to ``config.ws_protocol_class``, which
``websocket_protocol(app)`` makes this class. It answers the handshake itself with ``websockets``' sans-I/O
``ServerProtocol`` and then drives the socket's ``Session`` directly:

* **Upgrade.** A malformed handshake gets ``websockets``' 400; then the checks of spec §2
  (``tidepool.realtime.upgrade``: stopping 503, connection limit 403, foreign ``Origin`` 403, a bad
  ``?access_token=`` / session cookie 401) answer as plain HTTP with an empty body. Only the credential check
  awaits (a task of its own, reading paused meanwhile). The request and response are not kept (not even in
  ``ServerProtocol``'s parser: ``_forget_request``).
* **Frames in.** Each complete message (fragments joined) goes to ``Session.receive`` one at a time, in order.
  A message arriving while the previous one is being handled waits in a short deque and reading pauses, so
  a pipelining client waits in its own TCP stream; an idle socket holds neither deque nor task. Pings are
  answered by ``ServerProtocol``; a frame past ``MAX_PAYLOAD_SIZE`` closes with 1009, invalid UTF-8 with
  1007, a protocol error with 1002.
* **Frames out.** ``Client`` (``tidepool.realtime.connection``) writes each frame straight to the transport
  (``write_text``: a 2–10 byte header and the payload; through ``ServerProtocol`` when permessage-deflate was
  negotiated, which only ``WEBSOCKETS_COMPRESSION`` offers). The fan-out writes whole frames, built once per
  group and uid, through ``direct`` (``Client.put``): the transport itself, None when compressed or closing.
  It queues instead while the transport is paused (``pause_writing``, past its high-water mark) and its
  writer waits in ``resumed``.
* **Close.** ``close`` sends the close frame and waits up to ``CLOSE_TIMEOUT`` for the peer's; a close from the
  peer is answered and ends the connection. uvicorn's ``shutdown`` (after Tidepool's drain) closes a socket
  nobody closed with 1012, as uvicorn's own classes do.

Any other path (a WebSocket route of a mounted app) is handed, request bytes and all, to uvicorn's
``websockets-sansio`` protocol, which serves it through ASGI as before.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from typing import Any, ClassVar, cast
from urllib.parse import unquote, urlsplit

from starlette.applications import Starlette
from uvicorn.config import Config
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from uvicorn.server import ServerState
from websockets.datastructures import Headers
from websockets.exceptions import InvalidState
from websockets.extensions.permessage_deflate import ServerPerMessageDeflateFactory
from websockets.frames import Frame, Opcode
from websockets.http11 import Request, Response
from websockets.protocol import Protocol
from websockets.server import ServerProtocol

from tidepool.errors import CredentialRejectedError
from tidepool.realtime.connection import text_header
from tidepool.realtime.hub import WebSocketHub
from tidepool.realtime.session import Session
from tidepool.realtime.upgrade import ProxyRule, proxy_rule, refusal, token_of, upgrade_auth, where_of

log = logging.getLogger("tidepool.realtime")
_FRAMES = logging.getLogger("websockets.server")  # ServerProtocol's own (debug) log
_SERVER = logging.getLogger("uvicorn.error")  # where uvicorn logs each upgrade (tokens redacted: ``tidepool.logs``)

CLOSE_TIMEOUT = 10.0  # seconds our close frame waits for the peer's before the transport is closed anyway
_REASONS = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 503: "Service Unavailable"}


def websocket_protocol(app: Starlette) -> type[TidepoolWire]:
    """The protocol class for uvicorn's ``ws=``, serving ``app``'s WebSocket path (its hub, its settings)."""
    return type("TidepoolWire", (TidepoolWire,), {"app": app, "proxies": None, "__slots__": ()})


class TidepoolWire(asyncio.Protocol):
    """One upgraded connection on ``WEBSOCKETS_REST_PATH`` (see the module docstring); the ``Wire`` of its
    ``Client``. Slotted: tens of thousands live at once, and an idle one holds only what is listed here."""

    app: ClassVar[Starlette]
    proxies: ClassVar[ProxyRule | None]  # uvicorn's proxy-header rule, built at the first connection

    __slots__ = (
        "config", "server_state", "app_state", "transport", "conn", "session", "_greeting", "direct",
        "_parts", "_pending", "_intake", "paused", "_resumed", "_reading", "_closing", "_close_timer",
    )  # fmt: skip

    def __init__(self, config: Config, server_state: ServerState, app_state: dict[str, Any]) -> None:
        self.config = config
        self.server_state = server_state
        self.app_state = app_state
        self.transport: asyncio.Transport = cast(asyncio.Transport, None)
        settings = self.app.state.settings
        extensions = []
        if settings.WEBSOCKETS_COMPRESSION:
            extensions = [
                ServerPerMessageDeflateFactory(
                    server_max_window_bits=12, client_max_window_bits=12, compress_settings={"memLevel": 5}
                )
            ]
        self.conn = ServerProtocol(extensions=extensions, max_size=settings.MAX_PAYLOAD_SIZE, logger=_FRAMES)
        self.session: Session | None = None
        self._greeting: bytes | None = b""  # the request's bytes, until it is parsed (to hand it over)
        # The transport while frames may be written to it ready-framed (``Client.put``): set at the upgrade unless
        # permessage-deflate was negotiated (then every frame goes through ``ServerProtocol``), None once closing.
        self.direct: asyncio.Transport | None = None
        self._parts: list[bytes] | None = None  # a fragmented message being joined
        self._pending: deque[str] | None = None  # messages waiting while one is handled
        self._intake: asyncio.Task[None] | None = None  # the task handling messages, while there are any
        self.paused = False  # the transport asked us to stop writing: queue instead (``Wire.paused``)
        self._resumed: asyncio.Future[None] | None = None  # only while a writer waits for resume_writing
        self._reading = True
        self._closing = False  # our close frame went out
        self._close_timer: asyncio.TimerHandle | None = None

    # ------------------------------------------------------------------------------- transport events

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        self.server_state.connections.add(cast(Any, self))

    def connection_lost(self, exc: Exception | None) -> None:
        self.server_state.connections.discard(cast(Any, self))
        if self._close_timer is not None:
            self._close_timer.cancel()
            self._close_timer = None
        self.paused = False
        self._wake_writer()
        if self.session is not None:
            self.session.client.disconnected()  # finishes the session (``_finished``) if it was still open

    def pause_writing(self) -> None:
        self.paused = True

    def resume_writing(self) -> None:
        self.paused = False
        self._wake_writer()

    def data_received(self, data: bytes) -> None:
        if self._greeting is not None:
            self._greeting += data
        self.conn.receive_data(data)
        for event in self.conn.events_received():
            if isinstance(event, Request):
                if not self._on_request(event):
                    return  # handed over to uvicorn's protocol
            elif isinstance(event, Frame):
                self._on_frame(event)
        self._flush()  # pongs, the answer to a close, the close of a failed frame

    def eof_received(self) -> bool | None:
        return None  # the transport closes itself

    # -------------------------------------------------------------------------------- the upgrade

    def _on_request(self, request: Request) -> bool:
        """Answer or refuse the handshake, or start the credential check; False once handed over."""
        greeting, self._greeting = self._greeting, None
        if unquote(urlsplit(request.path).path) != getattr(self.app, "websocket_path", None):
            self._hand_over(greeting or b"")
            return False
        response = self.conn.accept(request)
        if response.status_code != 101:  # not a valid WebSocket handshake: websockets' 400 / 426
            self._answer(response)
            return True
        hub: WebSocketHub | None = getattr(self.app.state, "websocket", None)
        status = refusal(hub, request)
        if status is not None or hub is None:
            self._deny(status or 503, request.path)
            return True
        self.direct = None if self.conn.extensions else self.transport
        if (greeting or b"").endswith(b"\r\n\r\n"):  # nothing of a frame came with the request
            self._forget_request()
        token = token_of(request, hub.settings)
        cls = type(self)
        if cls.proxies is None and self.config.proxy_headers:
            cls.proxies = proxy_rule(self.config)
        where = where_of(request, self.transport.get_extra_info("peername"), cls.proxies)
        hub.reserved += 1  # counted against the connection limit until it opens or is refused
        self._pause_reading()
        task = asyncio.get_running_loop().create_task(self._open(hub, token, where, response, request.path))
        self._track(task)
        return True

    async def _open(
        self, hub: WebSocketHub, token: str | None, where: dict[str, str | None], response: Response, path: str
    ) -> None:
        """Check the credential, accept, open the session, then handle what the peer sent meanwhile."""
        try:
            try:
                pre_auth = await upgrade_auth(token, hub, where)
            finally:
                hub.reserved -= 1
        except CredentialRejectedError as exc:
            self._deny(exc.told.status if exc.told is not None else 401, path)  # 429 / 503 when told
            return
        if self.transport.is_closing():
            return
        self.conn.send_response(response)
        self._flush()
        _SERVER.info('%s - "WebSocket %s" [accepted]', self._peer(), path)
        session = self.session = Session(self, hub, where, on_finished=self._finished)
        hub.sockets[session.client] = session
        self._intake = asyncio.current_task()
        self._pending = deque()
        self._resume_reading()
        try:
            await session.open(pre_auth)
        except Exception:
            log.exception("websocket open failed")
            session.client.close(1011, "")
        await self._take()

    def _forget_request(self) -> None:
        """``ServerProtocol``'s parser keeps the handshake request (about 2.7 KB of headers) as a local of its
        suspended generator for the socket's whole life; what it goes on with is ``Protocol.parse``, the frame
        parser, so that one is started afresh on the same reader instead (no byte of a frame has been read:
        the request was the last thing received)."""
        parser = Protocol.parse(self.conn)
        next(parser)
        self.conn.parser = parser

    def _peer(self) -> str:
        peer = self.transport.get_extra_info("peername")
        return f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) and len(peer) >= 2 else "-"

    def _deny(self, status: int, path: str) -> None:
        """Refuse the upgrade with a plain HTTP status and an empty body (as Directus's raw responses)."""
        _SERVER.info('%s - "WebSocket %s" %d', self._peer(), path, status)
        headers = Headers([("Content-Length", "0"), ("Connection", "close")])
        self._answer(Response(status, _REASONS.get(status, ""), headers, b""))

    def _answer(self, response: Response) -> None:
        self.conn.send_response(response)  # not a 101: ServerProtocol ends the connection after it (EOF)
        self._flush()

    def _hand_over(self, greeting: bytes) -> None:
        """Another WebSocket path: uvicorn's own protocol serves it through the ASGI app."""
        self.server_state.connections.discard(cast(Any, self))
        other = WebSocketsSansIOProtocol(self.config, self.server_state, self.app_state)
        other.connection_made(self.transport)
        self.transport.set_protocol(other)
        other.data_received(greeting)

    def _track(self, task: asyncio.Task[None]) -> None:
        """uvicorn's shutdown waits for the tasks in ``server_state.tasks``, as for its own ASGI tasks."""
        self.server_state.tasks.add(task)
        task.add_done_callback(self.server_state.tasks.discard)

    # ---------------------------------------------------------------------------------- frames in

    def _on_frame(self, frame: Frame) -> None:
        opcode = frame.opcode
        if opcode is Opcode.TEXT or opcode is Opcode.BINARY:
            if frame.fin:
                self._message(opcode, frame.data)
            else:
                self._parts = [opcode.value.to_bytes(1, "big"), bytes(frame.data)]
        elif opcode is Opcode.CONT and self._parts is not None:
            self._parts.append(bytes(frame.data))
            if frame.fin:
                kind, *chunks = self._parts
                self._parts = None
                self._message(Opcode(kind[0]), b"".join(chunks))
        elif opcode is Opcode.CLOSE:
            self._parts = None
        # PING: ServerProtocol has queued the pong; PONG: nothing asked for it

    def _message(self, opcode: Opcode, data: bytes | bytearray | memoryview) -> None:
        if self.session is None or self._closing:
            return
        if opcode is Opcode.TEXT:
            try:
                text = bytes(data).decode()
            except UnicodeDecodeError:
                self._fail(1007, "invalid UTF-8")
                return
        else:
            text = bytes(data).decode("utf-8", "replace")  # a binary frame is read as UTF-8
        if self._pending is not None:  # one is being handled: wait, and let the peer's stream wait too
            self._pending.append(text)
            self._pause_reading()
            return
        self._pending = deque((text,))
        task = self._intake = asyncio.get_running_loop().create_task(self._take())
        self._track(task)

    async def _take(self) -> None:
        """Hand the waiting messages to the session in order, then end (the next message starts a new task).

        A finished client (closed by us, overflowed) interrupts this by cancelling the task; that cancellation
        is ours and is absorbed here, any other one propagates.
        """
        session = self.session
        task = asyncio.current_task()
        try:
            while session is not None and self._pending:
                await session.receive(self._pending.popleft())
                if not self._pending:
                    self._resume_reading()
        except asyncio.CancelledError:
            if task is None or not (session is not None and session.client.finished) or task.uncancel() > 0:
                raise
        except Exception:
            log.exception("websocket message handling failed")
        finally:
            if self._intake is task:
                self._intake = None
                self._pending = None
                self._resume_reading()

    def _fail(self, code: int, reason: str) -> None:
        self.conn.fail(code, reason)
        self._closing = True
        self.direct = None
        self._flush()
        if self.session is not None:
            self.session.client.disconnected()

    def _pause_reading(self) -> None:
        if self._reading:
            self._reading = False
            self.transport.pause_reading()

    def _resume_reading(self) -> None:
        if not self._reading and not self.transport.is_closing():
            self._reading = True
            self.transport.resume_reading()

    # --------------------------------------------------------------------------- frames out (``Wire``)

    async def resumed(self) -> None:
        if not self.paused or self.transport.is_closing():
            return
        if self._resumed is None:
            self._resumed = asyncio.get_running_loop().create_future()
        await asyncio.shield(self._resumed)

    def _wake_writer(self) -> None:
        if self._resumed is not None:
            if not self._resumed.done():
                self._resumed.set_result(None)
            self._resumed = None

    def write_text(self, data: bytes) -> None:
        if self._closing:
            return
        if self.direct is None:  # compressed: ``ServerProtocol`` frames it
            self.conn.send_text(data)
            self._flush()
        else:
            self.direct.write(text_header(len(data)) + data)

    def close(self, code: int | None, reason: str) -> None:
        if self._closing or self.transport.is_closing():
            return
        self._closing = True
        self.direct = None
        try:
            if code is None:
                self.conn.send_close()
            else:
                self.conn.send_close(code, reason)
        except InvalidState:
            pass
        self._flush()
        self._resume_reading()  # the peer's close frame is what ends the connection now
        self._close_timer = asyncio.get_running_loop().call_later(CLOSE_TIMEOUT, self._close_unanswered)

    @property
    def ended(self) -> bool:
        """``Wire.ended``: the transport closes once the close handshake is complete (``_flush``), the close went
        unanswered (``_close_unanswered``) or the connection was lost."""
        return self.transport.is_closing()

    def _close_unanswered(self) -> None:
        """The peer never answered our close: end the connection, dropping what it did not read."""
        self._close_timer = None
        if self.transport.get_write_buffer_size() > 0:
            self.transport.abort()
        else:
            self.transport.close()

    def _flush(self) -> None:
        """Write what ``ServerProtocol`` has queued; close the transport once it has sent its EOF (after a
        refused handshake, a completed close handshake, or a failure)."""
        writes = self.conn.data_to_send()
        if writes:
            data = b"".join(writes)
            if data:
                self.transport.write(data)
            if self.conn.eof_sent and not self.transport.is_closing():
                self.transport.close()

    # ---------------------------------------------------------------------------------- the end

    def _finished(self) -> None:
        """``Client.on_finished``: stop handling messages, release the session, and make sure the connection
        ends (a close frame went out, unless the peer went away or a close could not be sent)."""
        if self._intake is not None:
            self._intake.cancel()
        if not self._closing and not self.transport.is_closing():
            self.transport.close()
        session = self.session
        if session is not None:
            self._track(asyncio.get_running_loop().create_task(session.finish()))

    def shutdown(self) -> None:
        """uvicorn's shutdown: a socket nobody closed gets 1012 "service restart" (Tidepool's drain has closed
        every other one with 1001 already); then the connection ends, as uvicorn's own protocols do."""
        if self.session is not None and not self._closing:
            self.close(1012, "")
        self.transport.close()  # what is written still goes out; the peer's close is not waited for
