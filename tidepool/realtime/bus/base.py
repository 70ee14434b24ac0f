"""The event bus contract: numbered, ordered delivery of committed changes to every consumer.

A write's ``ChangeEvent``s reach the bus after their transaction commits. The bus gives each event a
sequence number (``seq``) that is global across every process sharing the bus, and delivers events to each
consumer in exactly that order. Dispatch to WebSocket subscribers only ever happens from a consumer, never
from the writer, so the writing process and every other process see the same stream.

Consumers are bounded: a consumer that falls more than ``maxsize`` events behind loses its place and gets
``BusOverflowError`` from its iterator (it must then resynchronise, e.g. drop its subscribers), instead of
letting a slow reader grow memory without limit or slow the writers down.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Protocol

from tidepool.events import ChangeEvent

DEFAULT_CONSUMER_SIZE = 10_000


class BusOverflowError(Exception):
    """A consumer fell too far behind and events were dropped for it."""


class Consumer:
    """One reader's bounded queue of numbered events, filled by the bus, drained with ``async for``."""

    def __init__(self, maxsize: int = DEFAULT_CONSUMER_SIZE) -> None:
        self._queue: asyncio.Queue[ChangeEvent | None] = asyncio.Queue(maxsize)
        self.overflowed = False
        self.closed = False

    def offer(self, event: ChangeEvent) -> None:
        """Queue one event without waiting; on overflow mark the consumer lost (it learns on next read)."""
        if self.closed or self.overflowed:
            return
        try:
            self._queue.put_nowait(event)
        except asyncio.QueueFull:
            self.overflowed = True

    def close(self) -> None:
        """End iteration after the events already queued."""
        self.closed = True
        if self._queue.full():
            self._queue.get_nowait()
        self._queue.put_nowait(None)

    async def get(self) -> ChangeEvent | None:
        """The next event, or None once closed; raises ``BusOverflowError`` once events were lost."""
        if self.overflowed:
            raise BusOverflowError("event consumer overflowed")
        return await self._queue.get()

    def __aiter__(self) -> AsyncIterator[ChangeEvent]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[ChangeEvent]:
        while (event := await self.get()) is not None:
            yield event


class Bus(Protocol):
    """What the realtime layer needs from an event bus (in-process or Redis)."""

    @property
    def last_seq(self) -> int:
        """The highest sequence number this process has numbered or received so far.

        Every event with a higher number reaches this process's consumers after this call, which is what
        lets a subscription's ``init`` snapshot be aligned with the events that follow it.
        """
        ...

    @property
    def last_published(self) -> int:
        """The highest sequence number given to an event this process published. With Redis it can run ahead
        of ``last_seq`` until the reader has read the event back; a stopping server waits for both."""
        ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def publish(self, events: list[ChangeEvent]) -> None:
        """Number ``events`` (consecutively, in list order) and deliver them to every consumer."""
        ...

    def consumer(self, maxsize: int = DEFAULT_CONSUMER_SIZE) -> Consumer:
        """A new bounded consumer that receives every event published from now on."""
        ...

    def remove_consumer(self, consumer: Consumer) -> None: ...
