"""The bus contract: every logged event, once, in ``seq`` order, to every consumer of this process.

Events are numbered in the database by the write that makes them (``tidepool.eventlog``). The bus only
brings them to this process's consumers (the dispatcher), in order, without gaps: from the writer's own
commit when that is the next number (no read at all), else from the log. Consumers are bounded and the bus
waits for room instead of dropping: a consumer that falls behind makes the bus read later from the log,
which holds what memory would have. The one loss possible is retention removing events before this process
read them; consumers then get a ``Gap`` and must make their subscribers resynchronise.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Protocol

from tidepool.events import ChangeEvent

DEFAULT_CONSUMER_SIZE = 1_000


@dataclass(frozen=True)
class Gap:
    """Events ``first..last`` were removed from the log before this process could read them."""

    first: int
    last: int


class Consumer:
    """One reader's bounded queue of numbered events (and gaps), filled by the bus, drained with ``async for``."""

    def __init__(self, maxsize: int = DEFAULT_CONSUMER_SIZE) -> None:
        self._queue: asyncio.Queue[ChangeEvent | Gap | None] = asyncio.Queue(maxsize)
        self.closed = False

    async def put(self, item: ChangeEvent | Gap) -> None:
        """Queue one event, waiting for room (the bus's backpressure)."""
        if not self.closed:
            await self._queue.put(item)

    def close(self) -> None:
        """End iteration after the items already queued."""
        self.closed = True
        if self._queue.full():
            self._queue.get_nowait()
        self._queue.put_nowait(None)

    async def get(self) -> ChangeEvent | Gap | None:
        """The next item, or None once closed."""
        return await self._queue.get()

    def __aiter__(self) -> AsyncIterator[ChangeEvent | Gap]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[ChangeEvent | Gap]:
        while (item := await self.get()) is not None:
            yield item


class Bus(Protocol):
    """What the realtime layer needs from the bus."""

    @property
    def last_seq(self) -> int:
        """The highest number handed to this process's consumers so far.

        Every event with a higher number reaches the consumers after this call, which is what lets a
        subscription's ``init`` snapshot, or a resume from the log, be aligned with the events that follow.
        """
        ...

    @property
    def head(self) -> int:
        """The highest number this process knows to be committed: its own writes' as soon as they are
        published, so a stopping server waits for the dispatcher to reach it."""
        ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def publish(self, events: list[ChangeEvent]) -> None:
        """News of ``events``, numbered and committed by this process: deliver them soon. Never blocks on
        consumers or on other processes."""
        ...

    def consumer(self, maxsize: int = DEFAULT_CONSUMER_SIZE) -> Consumer:
        """A new bounded consumer that receives every event after ``last_seq``."""
        ...

    def remove_consumer(self, consumer: Consumer) -> None: ...
