"""One WebSocket connection: who it is, what it may do, and a send path that never blocks anyone.

Every frame for a client goes through ``Client.send``, which only appends to this client's bounded queue;
one writer task per socket drains it onto the wire. So a reader that stops reading fills its own queue
and nothing else: when the queue exceeds ``WEBSOCKETS_SEND_QUEUE_LIMIT`` frames (or its byte cap) the
client is dropped with close code 1008 "send queue overflow", and the dispatcher that fans an event out to
thousands of sockets is never delayed by one of them.

Frames to one socket are spaced by at least ``WEBSOCKETS_FRAME_GAP_MS`` (2 ms by default; 0 turns it off). The official
``@directus/sdk`` reads messages with one-shot listeners that are re-armed only after a microtask, so when
two frames arrive in the same network read it sees the first and silently loses the rest (measured: five
frames in one TCP write → the SDK delivers one). The gap makes back-to-back frames (an ``items`` reply
followed by the subscription events it caused) arrive in separate reads; fan-out is unaffected because
each socket gets one frame per event.

Closing is ordered: ``close()`` queues the close behind the frames already queued (so an error reply is
delivered before the close that follows it) and refuses new frames at once. Directus closes without a
status code (clients see 1005); ``close()`` without a code does the same.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import deque
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from typing import Any

from tidepool.context import Access, Accountability
from tidepool.realtime.protocol import encode

log = logging.getLogger("tidepool.realtime")

AsgiSend = Callable[[MutableMapping[str, Any]], Awaitable[None]]

OVERFLOW_CLOSE_CODE = 1008
OVERFLOW_CLOSE_REASON = "send queue overflow"
_CLOSE_GRACE = 2.0  # seconds a close frame may wait for a stalled socket before the transport is dropped


class _Close:
    def __init__(self, code: int | None, reason: str) -> None:
        self.code = code
        self.reason = reason


class Client:
    """A connected socket. ``id`` is internal (logs, rate-limit key) and never sent to the client."""

    def __init__(
        self,
        asgi_send: AsgiSend,
        access: Access,
        *,
        queue_limit: int,
        byte_limit: int,
        frame_gap: float = 0.0,
    ) -> None:
        self.id = str(uuid.uuid4())
        self.access = access
        self.closed = False
        self.expires_at: float | None = None  # unix time the current JWT expires; None = never
        self.finished = asyncio.Event()  # set once the socket is done (closed, overflowed or disconnected)
        self._asgi_send = asgi_send
        self._queue_limit = max(1, queue_limit)
        self._byte_limit = max(1, byte_limit)
        self._frames: deque[str | _Close] = deque()
        self._bytes = 0
        self._wakeup = asyncio.Event()
        self._overflowed = False
        self._frame_gap = frame_gap
        self._last_sent = 0.0
        self._writer = asyncio.get_running_loop().create_task(self._write_loop(), name=f"ws-writer-{self.id}")

    @property
    def accountability(self) -> Accountability:
        """Who is asking; always the accountability of ``access``, so the two cannot disagree."""
        return self.access.accountability

    # ---------------------------------------------------------------------------------------- sending

    def send(self, frame: bytes | str) -> None:
        """Queue one text frame; never blocks. Dropped silently once the client is closed."""
        if self.closed:
            return
        text = frame.decode() if isinstance(frame, bytes) else frame
        if len(self._frames) >= self._queue_limit or self._bytes + len(text) > self._byte_limit:
            self._overflow()
            return
        self._frames.append(text)
        self._bytes += len(text)
        self._wakeup.set()

    def send_message(self, message: Mapping[str, Any]) -> None:
        self.send(encode(message))

    def close(self, code: int | None = None, reason: str = "") -> None:
        """Close after the frames already queued; ``code=None`` sends a close frame without a status (1005)."""
        if self.closed:
            return
        self.closed = True
        self._frames.append(_Close(code, reason))
        self._wakeup.set()

    @property
    def queued(self) -> int:
        """Frames waiting to be written (for tests and metrics)."""
        return len(self._frames)

    def _overflow(self) -> None:
        """The peer stopped reading: drop its frames and close it without waiting for the stuck writer."""
        log.warning("websocket %s dropped: send queue overflow (%d frames queued)", self.id, len(self._frames))
        self.closed = True
        self._overflowed = True
        self._frames.clear()
        self._bytes = 0
        self._writer.cancel()
        asyncio.get_running_loop().create_task(self._send_close_with_grace(OVERFLOW_CLOSE_CODE, OVERFLOW_CLOSE_REASON))

    async def _send_close_with_grace(self, code: int | None, reason: str) -> None:
        try:
            await asyncio.wait_for(self._raw_close(code, reason), _CLOSE_GRACE)
        except Exception:
            pass
        finally:
            self.finished.set()

    async def _raw_close(self, code: int | None, reason: str) -> None:
        await self._asgi_send({"type": "websocket.close", "code": code, "reason": reason})

    async def _write_loop(self) -> None:
        try:
            while True:
                if not self._frames:
                    self._wakeup.clear()
                    await self._wakeup.wait()
                    continue
                item = self._frames.popleft()
                if isinstance(item, _Close):
                    await asyncio.wait_for(self._raw_close(item.code, item.reason), _CLOSE_GRACE)
                    return
                self._bytes -= len(item)
                await self._pace()
                await self._asgi_send({"type": "websocket.send", "text": item})
                self._last_sent = asyncio.get_running_loop().time()
        except asyncio.CancelledError:
            raise
        except Exception:  # the peer went away mid-write: nothing left to deliver
            self.closed = True
        finally:
            if not self._overflowed:  # on overflow, the close task sets ``finished`` once its close is out
                self.finished.set()

    async def _pace(self) -> None:
        """Wait until ``frame_gap`` has passed since the previous frame (see the module docstring)."""
        wait = self._frame_gap - (asyncio.get_running_loop().time() - self._last_sent)
        if wait > 0:
            await asyncio.sleep(wait)

    def disconnected(self) -> None:
        """The peer closed (or the transport failed): stop writing and release everything."""
        self.closed = True
        self._frames.clear()
        self._bytes = 0
        if not self._writer.done():
            self._writer.cancel()
        self.finished.set()

    def __repr__(self) -> str:
        return f"<Client {self.id} user={self.accountability.user}>"
