"""The transport-level ceiling of fan-out: the same frames written with ``transport.write`` and nothing else.

    python -m bench.transport_ceiling PORT

A bare asyncio server (uvloop, as ``tidepool start`` runs). Each connection gets a fixed ``101`` answer to
its upgrade (no header parsing beyond the key). A text frame containing ``"subscribe"`` registers the socket
and is answered with an ``init`` frame; a frame containing ``"items"`` makes the server write the bytes it
was started with (``--frame`` file, or a default create event) as one text frame to every registered
socket, in one loop of ``transport.write``. No auth, no permissions, no database, no JSON, no queue: what
Tidepool's fan-out is measured against (``python -m bench --only fanout``).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import sys
from pathlib import Path
from typing import cast

from tidepool.realtime.connection import text_header

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC11B65"
INIT = b'{"type":"subscription","event":"init","data":[]}'
DEFAULT_FRAME = b'{"type":"subscription","event":"create","data":[{"id":1,"text":"fan-out","user":"bench"}],"uid":"s"}'


class Ceiling:
    def __init__(self, frame: bytes) -> None:
        self.frame = frame
        self.subscribers: set[asyncio.Transport] = set()

    def broadcast(self) -> None:
        data = text_header(len(self.frame)) + self.frame
        for transport in self.subscribers:
            transport.write(data)


class Bare(asyncio.Protocol):
    def __init__(self, ceiling: Ceiling) -> None:
        self.ceiling = ceiling
        self.transport: asyncio.Transport | None = None
        self.buffer = b""
        self.open = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's transports do not subclass asyncio's

    def data_received(self, data: bytes) -> None:
        assert self.transport is not None
        if not self.open:
            self.buffer += data
            if b"\r\n\r\n" not in self.buffer:
                return
            head, _, data = self.buffer.partition(b"\r\n\r\n")
            key = next(
                line.split(b":", 1)[1].strip()
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"sec-websocket-key")
            )
            accept = base64.b64encode(hashlib.sha1(key + GUID).digest())
            self.transport.write(
                b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                b"Sec-WebSocket-Accept: " + accept + b"\r\n\r\n"
            )
            self.open, self.buffer = True, b""
        if b"subscribe" in data:
            self.ceiling.subscribers.add(self.transport)
            self.transport.write(text_header(len(INIT)) + INIT)
        elif b"items" in data:
            self.ceiling.broadcast()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.transport is not None:
            self.ceiling.subscribers.discard(self.transport)


async def serve(port: int, frame: bytes) -> None:
    ceiling = Ceiling(frame)
    server = await asyncio.get_running_loop().create_server(lambda: Bare(ceiling), "127.0.0.1", port, backlog=4096)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    import uvloop

    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    frame = Path(sys.argv[2]).read_bytes() if len(sys.argv) > 2 else DEFAULT_FRAME
    asyncio.run(serve(int(sys.argv[1]), frame))
