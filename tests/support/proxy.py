"""A TCP forwarder on loopback that a test can cut and restore: a database outage without touching the
shared database server. It runs its own event loop in a thread, so the server under test (another thread)
and the test's blocking clients are unaffected by it."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress

from tests.support.live import free_port


class TcpProxy:
    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = free_port()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name=f"proxy-{self.port}", daemon=True)
        self._server: asyncio.Server | None = None
        self._transports: set[asyncio.WriteTransport] = set()
        self._stalled = False
        self._cuts = 0  # cuts so far: a connection set up across one is ended
        self._marker: bytes | None = None
        self.marker_cut = threading.Event()  # set when a ``cut_on`` marker was seen and the cut made

    def start(self) -> None:
        self._thread.start()
        self._call(self._listen())

    def cut(self) -> None:
        """The database goes away: open connections are reset, new ones are refused (nothing listens)."""
        self._call(self._cut())

    def stall(self) -> None:
        """The database host stops answering: open connections are reset, new ones are accepted and then
        left hanging (a firewall dropping packets, a server stuck before its greeting)."""
        self._call(self._cut())
        self._stalled = True
        self._call(self._listen())

    def cut_on(self, marker: bytes) -> None:
        """Cut (as ``cut``) the moment a client sends a packet holding ``marker`` (a statement's text), before
        it reaches the database: an outage at one exact statement, e.g. the row read of a replay after its
        event-log read. Once; ``restore`` as usual. ``marker_cut`` tells whether it happened (a test whose
        statement text changed must fail, not pass without its outage)."""
        self.marker_cut.clear()
        self._marker = marker

    def restore(self) -> None:
        self._call(self._cut())
        self._stalled = False
        self._call(self._listen())

    def stop(self) -> None:
        self._call(self._cut())
        self._call(self._settle())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        self._loop.close()

    def _call(self, coro: object) -> None:
        asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=10)  # type: ignore[arg-type]

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port, reuse_address=True)

    async def _cut(self) -> None:
        self._cuts += 1
        if self._server is not None:
            self._server.close()
            self._server = None
        for transport in list(self._transports):
            transport.abort()
        self._transports.clear()

    async def _settle(self) -> None:
        """Before the loop stops: every connection still being set up (accepted just before the last cut)
        ends too, so no socket is left for the garbage collector (a ``ResourceWarning`` that fails whichever
        test happens to be running then)."""
        others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in others:
            task.cancel()
        await asyncio.gather(*others, return_exceptions=True)
        await self._cut()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._transports.add(writer.transport)  # from the start: a cut while it connects ends it too
        if self._stalled:
            return  # held open, never answered
        cuts = self._cuts
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        except asyncio.CancelledError:
            writer.transport.abort()
            raise
        if cuts != self._cuts:  # cut while it connected: it must not outlive the cut
            writer.transport.abort()
            up_writer.transport.abort()
            return
        self._transports.add(up_writer.transport)
        await asyncio.gather(self._pipe(reader, up_writer, upstream=True), self._pipe(up_reader, writer))

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, upstream: bool = False) -> None:
        with suppress(OSError, asyncio.IncompleteReadError):
            while data := await reader.read(65536):
                if upstream and self._marker is not None and self._marker in data:
                    self._marker = None
                    await self._cut()
                    self.marker_cut.set()
                    return
                writer.write(data)
                await writer.drain()
        self._transports.discard(writer.transport)
        writer.transport.abort()


@contextmanager
def tcp_proxy(target_host: str, target_port: int) -> Iterator[TcpProxy]:
    proxy = TcpProxy(target_host, target_port)
    proxy.start()
    try:
        yield proxy
    finally:
        proxy.stop()
