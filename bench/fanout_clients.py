"""Fan-out receivers: many subscribed WebSockets in one process, as cheap per delivery as a client can be.

    python -m bench.fanout_clients HOST PORT PATH COUNT MARKER

A Python WebSocket client library costs tens of µs per received frame, so 10,000 of them in one process
measure the client, not the server. Here each socket is a bare asyncio protocol: the upgrade is a fixed
request (``?access_token=`` authenticates on Tidepool), the subscribe a masked text frame built by hand, and
after the ``init`` reply a delivery is only a search for ``MARKER`` in the bytes received (a few µs). The
bench runs several of these processes so their reading runs beside the server's writing.

Driven over stdin/stdout, one line each: prints ``ready`` once every socket is subscribed; then for each
``go`` it prints ``armed`` and, once every socket has seen ``MARKER`` (or 60 s passed),
``done <last arrival, perf_counter> <deliveries>``; ``quit`` closes everything.
"""

from __future__ import annotations

import asyncio
import sys
import time
from typing import cast

UPGRADE = (
    "GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
)
SUBSCRIBE = b'{"type":"subscribe","collection":"messages","query":{"fields":["*"],"limit":1}}'
CONNECT_CONCURRENCY = 200


def masked_text(payload: bytes) -> bytes:
    """A client text frame; the mask key is zero, so the payload goes as it is (RFC 6455 allows any key)."""
    size = len(payload)
    head = bytes((0x81, 0x80 | size)) if size < 126 else bytes((0x81, 0x80 | 126)) + size.to_bytes(2, "big")
    return head + b"\0\0\0\0" + payload


class Round:
    """One trial: how many sockets still wait for the marker, and when the last one got it."""

    def __init__(self, expected: int) -> None:
        self.left = expected
        self.last = 0.0
        self.done = asyncio.get_running_loop().create_future()

    def hit(self) -> None:
        self.last = time.perf_counter()
        self.left -= 1
        if self.left == 0 and not self.done.done():
            self.done.set_result(None)


class Receiver(asyncio.Protocol):
    def __init__(self, request: bytes, marker: bytes, rounds: list[Round]) -> None:
        self.request = request
        self.marker = marker
        self.rounds = rounds  # the current trial is the last one (shared by every receiver)
        self.opened: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.state = "upgrade"
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's transports do not subclass asyncio's
        self.transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        if self.state == "live":
            tail = self.buffer + data  # the marker may straddle two reads
            if self.marker in tail and self.rounds:
                self.rounds[-1].hit()
                self.buffer = b""
            else:
                self.buffer = tail[-len(self.marker) :]
            return
        self.buffer += data
        if self.state == "upgrade" and b"\r\n\r\n" in self.buffer:
            head, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
            if not head.startswith(b"HTTP/1.1 101"):
                self.opened.set_exception(RuntimeError(head.decode(errors="replace")))
                return
            self.state = "subscribing"
            assert self.transport is not None
            self.transport.write(masked_text(SUBSCRIBE))
        if self.state == "subscribing" and b'"init"' in self.buffer:
            self.state, self.buffer = "live", b""
            self.opened.set_result(None)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.opened.done():
            self.opened.set_exception(ConnectionError("closed before subscribing"))


async def main(host: str, port: int, path: str, count: int, marker: bytes) -> None:
    loop = asyncio.get_running_loop()
    request = UPGRADE.format(path=path, host=host, port=port).encode()
    rounds: list[Round] = []
    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)

    async def one() -> Receiver:
        async with gate:
            _, receiver = await loop.create_connection(lambda: Receiver(request, marker, rounds), host, port)
            await asyncio.wait_for(receiver.opened, 60)
            return receiver

    receivers = await asyncio.gather(*(one() for _ in range(count)))
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    print("ready", flush=True)
    while (line := (await reader.readline()).strip()) not in (b"quit", b""):
        if line != b"go":
            continue
        current = Round(count)
        rounds[:] = [current]
        print("armed", flush=True)
        try:
            await asyncio.wait_for(asyncio.shield(current.done), 60)
        except TimeoutError:
            pass
        print(f"done {current.last:.6f} {count - current.left}", flush=True)
    for receiver in receivers:
        if receiver.transport is not None:
            receiver.transport.close()


if __name__ == "__main__":
    import uvloop  # as the servers run: the clients' per-read cost is uvloop's too

    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    host, port, path, count, marker = sys.argv[1:6]
    asyncio.run(main(host, int(port), path, int(count), marker.encode()))
