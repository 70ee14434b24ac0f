"""One WebSocket connection: who it is, what it may do, and a send path that never blocks anyone.

Every frame for a client goes through ``Client.send`` (or, from the fan-out, ``Client.put``, which takes a
whole frame built once for many sockets and falls back to ``send``), which never waits: when nothing is
queued, the transport is not paused and the frame gap has passed, the frame is written to the socket's
``Wire`` (its transport, ``tidepool.realtime.wire``) at once; otherwise it is appended to this client's
bounded queue, and a writer task, started by the first queued frame and ended once the queue is empty, drains
it onto the wire as the transport accepts more (an idle socket holds neither a queue nor a task). So a reader
that stops reading fills its transport's buffer, then its own queue, and nothing else: when the queue exceeds
``WEBSOCKETS_SEND_QUEUE_LIMIT`` entries while the transport is full (or its byte cap at any time) the client is
dropped with close code 1013 "send queue overflow" (resume with ``since``), and the dispatcher that fans an
event out to thousands of sockets is never delayed by one of them.

A client that reads at normal speed is never dropped:

* **Our own pacing is not the peer's backlog.** Frames that wait only for the frame gap (below) while the
  transport takes writes are a burst the client is reading at the pace we send it (one REST create of 2,000
  rows is 2,000 events: 4 s at 2 ms each), so the entry limit applies only once the transport is full, the
  sign that the peer is behind; the byte cap bounds the queue's memory either way.
* **One reply never overflows on its own.** The byte cap bounds what waits behind the frame being written, so
  an entry larger than the cap is taken when nothing else is queued (its request waited for room already, and
  it was built in memory anyway): a client on a slow link that pipelines two 8 MB reads gets both, where
  the second, meeting a full transport, used to drop it.
* **One event, one entry.** The frames one event makes for one socket (one per subscription it matches,
  up to ``WEBSOCKETS_SUBSCRIPTIONS_LIMIT`` × update/create/delete) are sent with the event's ``batch``
  number and queued as one entry, so the entry limit counts events a client is behind, not subscriptions.
* **Events fold.** An event whose frames match the last queued entry's (same subscriptions, same event kinds)
  is folded into it: one frame per subscription carrying both events' items and the newer ``seq``
  (``tidepool.realtime.coalesce``). So a batch write of thousands of items (one event each) reaches a socket
  in a few frames, however narrow its frame gap lets it read; a client that stops reading still overflows,
  by bytes (folded frames are counted by their size) or by entries once frames stop folding.
* **Replies wait for room.** Before a socket's next request is read, and again before a lane runs a job it
  admitted earlier, ``drained()`` waits while its queue is past half of either limit: a client that
  pipelines thousands of requests gets its replies at the pace it reads them, and the requests wait in its
  TCP stream instead of as replies in our memory. Only a peer whose queue makes no progress at all for
  ``WEBSOCKETS_SEND_STALL_TIMEOUT`` seconds is dropped (1013), as it has stopped reading; a peer that
  stops reading while events keep coming overflows with events first.

Frames to one socket are spaced by at least ``WEBSOCKETS_FRAME_GAP_MS`` (2 ms by default; 0 turns it off). The official
``@directus/sdk`` reads messages with one-shot listeners that are re-armed only after a microtask, so when
two frames arrive in the same network read it sees the first and silently loses the rest (measured: five
frames in one TCP write → the SDK delivers one). The gap makes back-to-back frames (an ``items`` reply
followed by the subscription events it caused) arrive in separate reads; fan-out is unaffected because
each socket gets one frame per event, and events that queue up behind the gap fold (above).

Closing is ordered: ``close()`` queues the close behind the frames already queued (so an error reply is
delivered before the close that follows it) and refuses new frames at once. Directus closes without a
status code (clients see 1005); ``close()`` without a code does the same.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import struct
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from tidepool.context import Access, Accountability
from tidepool.realtime.coalesce import FOLD_BYTES, EventFrame, Frame, fold
from tidepool.realtime.protocol import encode

log = logging.getLogger("tidepool.realtime")


class Wire(Protocol):
    """What a ``Client`` writes through: one socket's transport (``tidepool.realtime.wire.TidepoolWire``)."""

    paused: bool  # the transport's buffer is past its high-water mark: queue instead of writing
    # The transport while whole frames (``text_frame``) may be written straight to it; None while the wire must
    # frame them itself (permessage-deflate) or is closing: then ``write_text``.
    direct: asyncio.Transport | None

    async def resumed(self) -> None:
        """Return once the transport takes writes again (at once when it is not paused or is gone)."""

    def write_text(self, data: bytes) -> None:
        """Write one text frame (UTF-8 ``data``) now."""

    def close(self, code: int | None, reason: str) -> None:
        """Send the close frame (no status when ``code`` is None) and end the connection."""

    @property
    def ended(self) -> bool:
        """The connection itself is over or ending: the peer answered our close (or never will: timed out,
        aborted) or went away. Until then the peer may still be sending, and closing the socket under it would
        reset the connection, which can destroy our close frame before the peer reads it."""


# "Try again later": the socket missed events it cannot be sent any more; reconnect and subscribe with
# ``since`` (the last ``seq`` seen) to get exactly what was missed (docs/realtime-events.md, Resuming).
RESUME_CLOSE_CODE = 1013
OVERFLOW_CLOSE_CODE = RESUME_CLOSE_CODE
OVERFLOW_CLOSE_REASON = "send queue overflow"
SHUTDOWN_CLOSE_CODE = 1001  # the server is stopping (``tidepool/drain.py``)
SHUTDOWN_CLOSE_REASON = "server shutting down"
_NUMBERS = itertools.count(1)  # ``Client.id``: short, unique in the process, cheaper than a uuid
_SHORT = struct.Struct("!BB")
_MEDIUM = struct.Struct("!BBH")
_LONG = struct.Struct("!BBQ")
_TEXT_FIN = 0x81


def text_header(size: int) -> bytes:
    """The header of an unmasked, final text frame of ``size`` payload bytes (RFC 6455 §5.2)."""
    if size < 126:
        return _SHORT.pack(_TEXT_FIN, size)
    if size < 65536:
        return _MEDIUM.pack(_TEXT_FIN, 126, size)
    return _LONG.pack(_TEXT_FIN, 127, size)


def text_frame(payload: bytes) -> bytes:
    """A whole unmasked text frame: what ``Client.put`` writes (built once per group and uid by the fan-out)."""
    return text_header(len(payload)) + payload


class _Close:
    __slots__ = ("code", "reason")

    def __init__(self, code: int | None, reason: str) -> None:
        self.code = code
        self.reason = reason


class Client:
    """A connected socket. ``id`` is internal (logs, rate-limit key) and never sent to the client.

    Slotted, and holding no asyncio object while idle: tens of thousands of these live at once.
    """

    __slots__ = (
        "id",
        "access",
        "closed",
        "expires_at",
        "on_finished",
        "_wire",
        "_queue_limit",
        "_byte_limit",
        "_stall_timeout",
        "_frames",
        "_bytes",
        "_overflowed",
        "_frame_gap",
        "_last_sent",
        "_writer",
        "_done",
        "_batch",
        "_written",
        "_room",
        "_close_timer",
        "_fold_bytes",
    )

    def __init__(
        self,
        wire: Wire,
        access: Access,
        *,
        queue_limit: int,
        byte_limit: int,
        stall_timeout: float = 10.0,
        frame_gap: float = 0.0,
        on_finished: Callable[[], None] | None = None,
    ) -> None:
        self.id = f"ws{next(_NUMBERS)}"
        self.access = access
        self.closed = False
        self.expires_at: float | None = None  # unix time the current JWT expires; None = never
        self.on_finished = on_finished  # called once when the socket is done (closed, overflowed, disconnected)
        self._wire = wire
        self._queue_limit = max(1, queue_limit)
        self._byte_limit = max(1, byte_limit)
        self._stall_timeout = stall_timeout
        self._frames: deque[bytes | list[Frame] | _Close] | None = None  # only while frames wait
        self._bytes = 0
        self._overflowed = False
        self._frame_gap = frame_gap
        self._last_sent = 0.0
        self._writer: asyncio.Task[None] | None = None  # only while frames wait
        self._done = False
        self._batch: int | None = None  # the batch number of the queue's last entry, if it is a batch
        self._written = 0  # frames written so far: progress, for ``drained``
        self._room: asyncio.Event | None = None  # only while a request waits in ``drained``
        self._close_timer: asyncio.TimerHandle | None = None  # only while a close waits behind queued frames
        self._fold_bytes = min(self._byte_limit // 8, FOLD_BYTES)  # a folded frame's bound

    @property
    def accountability(self) -> Accountability:
        """Who is asking; always the accountability of ``access``, so the two cannot disagree."""
        return self.access.accountability

    @property
    def finished(self) -> bool:
        """True once the socket is done: its close went out, it overflowed, or the peer went away."""
        return self._done

    @property
    def ended(self) -> bool:
        """True once the connection is over too (``Wire.ended``): what a stopping server waits for."""
        return self._done and self._wire.ended

    # ---------------------------------------------------------------------------------------- sending

    def send(self, frame: bytes | str | EventFrame, *, batch: int | None = None) -> None:
        """Write one text frame now, or queue it; never blocks. Dropped silently once the client is closed.

        Frames sent back to back with the same ``batch`` number (one event's frames) share one queue entry;
        an ``EventFrame`` is a subscription event that may fold with the next event's while queued.
        """
        if self.closed:
            return
        text = frame.encode() if isinstance(frame, str) else frame
        now = asyncio.get_running_loop().time()
        if self._ready(now):  # straight onto the transport
            self._wire.write_text(text if isinstance(text, bytes) else text.encode())
            self._wrote(now)
            return
        if self._bytes and self._bytes + len(text) > self._byte_limit:  # only behind others: see the docstring
            self._overflow()
            return
        frames = self._frames
        if batch is not None and batch == self._batch and frames and isinstance(frames[-1], list):
            self._bytes += len(text)
            frames[-1].append(text)
            return
        self._fold_last()  # the last entry is complete: fold it into the one before if they match
        if self.queued >= self._queue_limit and self._wire.paused:
            self._overflow()
            return
        self._bytes += len(text)
        self._batch = batch
        if batch is None:
            self._enqueue(text if isinstance(text, bytes) else text.encode())
        else:
            self._enqueue([text])

    def _fold_last(self) -> None:
        """Fold the queue's last entry into the entry before it when their frames match (``coalesce.fold``);
        the last entry is never being written (the writer takes entries from the front before writing them)."""
        frames = self._frames
        if frames is None or len(frames) < 2:
            return
        newer, older = frames[-1], frames[-2]
        if not (isinstance(newer, list) and isinstance(older, list)):
            return
        held = sum(map(len, older)) + sum(map(len, newer))
        if fold(older, newer, self._fold_bytes):
            frames.pop()
            self._bytes += sum(map(len, older)) - held

    def put(self, frame: bytes, now: float) -> bool:
        """The fan-out's path (``subscriptions.deliver_group``): write ``frame``, a whole frame (``text_frame``,
        shared by every subscriber with the same uid), straight onto the transport when ``send`` would write at
        once at loop time ``now``. False when it would not (closed, frames queued, transport paused or framing
        itself, within the frame gap): the caller then ``send``s the payload, which queues or drops it."""
        direct = self._wire.direct
        if direct is None or self.closed or not self._ready(now):
            return False
        direct.write(frame)
        self._wrote(now)
        return True

    def _ready(self, now: float) -> bool:
        """Whether a frame may go onto the wire at once: nothing queued ahead of it, the transport takes writes,
        and ``frame_gap`` has passed since the previous frame (the rule for ``send`` and ``put`` alike)."""
        return self._frames is None and not self._wire.paused and now - self._last_sent >= self._frame_gap

    def _wrote(self, now: float) -> None:
        """Bookkeeping of a frame written at once: the gap's clock, progress, and no open batch entry."""
        self._last_sent = now
        self._written += 1
        self._batch = None

    def send_message(self, message: Mapping[str, Any]) -> None:
        self.send(encode(message))

    def close(self, code: int | None = None, reason: str = "") -> None:
        """Close after the frames already queued; ``code=None`` sends a close frame without a status (1005).

        A peer that has stopped reading would keep that close behind its queue for ever (the heartbeat's close
        of a silent client, an ``AUTH_TIMEOUT``): once the queue makes no progress for
        ``WEBSOCKETS_SEND_STALL_TIMEOUT`` seconds the close goes out ahead of it instead (``_drop``), as ``ws``
        ends a socket whose close is not completed in time."""
        if self.closed:
            return
        self.closed = True
        self._enqueue(_Close(code, reason))
        self._watch_close(self._written, code, reason)

    def _watch_close(self, progress: int, code: int | None, reason: str) -> None:
        self._close_timer = asyncio.get_running_loop().call_later(
            self._stall_timeout, self._close_overdue, progress, code, reason
        )

    def _close_overdue(self, progress: int, code: int | None, reason: str) -> None:
        """The queued close is still waiting: drop now if the queue made no progress since ``progress``."""
        self._close_timer = None
        if self._done:
            return
        if self._written == progress:
            log.warning(
                "websocket %s dropped: its close waited %.0f s behind an unread queue", self.id, self._stall_timeout
            )
            self._drop(code, reason)
        else:
            self._watch_close(self._written, code, reason)

    @property
    def queued(self) -> int:
        """Entries waiting to be written (for tests and metrics)."""
        return 0 if self._frames is None else len(self._frames)

    async def drained(self) -> None:
        """Wait until the queue is under half of both limits (see the module docstring); drop the client as
        overflowed if it makes no progress at all for ``WEBSOCKETS_SEND_STALL_TIMEOUT`` seconds."""
        progress = self._written
        while not self.closed and self._crowded():
            if self._room is None:
                self._room = asyncio.Event()
            try:
                await asyncio.wait_for(self._room.wait(), self._stall_timeout)
            except TimeoutError:
                if self._written == progress and self._crowded() and not self.closed:
                    self._overflow()
                    return
                progress = self._written

    def _crowded(self) -> bool:
        return self.queued * 2 > self._queue_limit or self._bytes * 2 > self._byte_limit

    def _enqueue(self, item: bytes | list[Frame] | _Close) -> None:
        """Append, and start a writer if none is running: an idle socket has neither queue nor task."""
        if self._frames is None:
            self._frames = deque()
        self._frames.append(item)
        if self._writer is None:
            self._writer = asyncio.get_running_loop().create_task(self._write_queued())

    def _overflow(self) -> None:
        """The peer stopped reading: drop its frames and close it without waiting for the stuck writer."""
        log.warning("websocket %s dropped: send queue overflow (%d entries queued)", self.id, self.queued)
        self._overflowed = True
        self._drop(OVERFLOW_CLOSE_CODE, OVERFLOW_CLOSE_REASON)

    def abort(self, code: int, reason: str) -> None:
        """Close at once, dropping the frames still queued (and a close queued behind them): a stopping server
        whose grace time ran out (``tidepool/drain.py``)."""
        if not self._done:
            self._drop(code, reason)

    def _drop(self, code: int | None, reason: str) -> None:
        """Close now, ahead of anything queued: the close frame goes to the transport even while it is paused
        (a few bytes past its high-water mark), so a peer that reads again learns why."""
        self._stop_writing()
        self._wire.close(code, reason)
        self._finish()

    def _stop_writing(self) -> None:
        """Refuse new frames, forget the queued ones and stop the writer (it may be stuck on a full socket)."""
        self.closed = True
        self._frames = None
        self._bytes = 0
        self._wake()
        if self._writer is not None:
            self._writer.cancel()

    async def _write_queued(self) -> None:
        """Drain the queue onto the wire, then end: the next ``send`` starts a new writer."""
        try:
            while self._frames:
                item = self._frames.popleft()
                if isinstance(item, _Close):
                    self._wire.close(item.code, item.reason)
                    self._finish()
                    return
                for text in item if isinstance(item, list) else (item,):
                    await self._write(text)
            self._frames = None
        except asyncio.CancelledError:
            raise
        except Exception:  # the peer went away mid-write: nothing left to deliver
            self.closed = True
            self._finish()
        finally:
            self._writer = None

    async def _write(self, frame: Frame) -> None:
        """One frame onto the wire (paced, once the transport takes writes), then wake a request waiting for
        room if there is room now."""
        self._bytes -= len(frame)
        await self._pace()
        if self._wire.paused:
            await self._wire.resumed()
        self._wire.write_text(frame if isinstance(frame, bytes) else frame.encode())
        self._last_sent = asyncio.get_running_loop().time()
        self._written += 1
        if self._room is not None and not self._crowded():
            self._wake()

    def _wake(self) -> None:
        if self._room is not None:
            self._room.set()
            self._room = None

    async def _pace(self) -> None:
        """Wait until ``frame_gap`` has passed since the previous frame (see the module docstring)."""
        wait = self._frame_gap - (asyncio.get_running_loop().time() - self._last_sent)
        if wait > 0:
            await asyncio.sleep(wait)

    def _finish(self) -> None:
        if self._done:
            return
        self._done = True
        if self._close_timer is not None:
            self._close_timer.cancel()
            self._close_timer = None
        if self.on_finished is not None:
            self.on_finished()

    def disconnected(self) -> None:
        """The peer closed (or the transport failed): stop writing and release everything."""
        self._stop_writing()
        self._finish()

    def __repr__(self) -> str:
        return f"<Client {self.id} user={self.accountability.user}>"
