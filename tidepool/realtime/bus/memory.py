"""The in-process bus: numbering and delivery happen synchronously inside ``publish``.

``publish`` has no await between taking the next number and queueing the event on every consumer, so on
one event loop numbering is atomic and every consumer sees events in ``seq`` order, and ``last_seq`` read
at any point is exact: all later events carry a higher number.
"""

from __future__ import annotations

from dataclasses import replace

from tidepool.events import ChangeEvent
from tidepool.realtime.bus.base import DEFAULT_CONSUMER_SIZE, Consumer


class MemoryBus:
    def __init__(self, origin: str = "local") -> None:
        self._seq = 0
        self._consumers: list[Consumer] = []
        self.origin = origin

    @property
    def last_seq(self) -> int:
        return self._seq

    @property
    def last_published(self) -> int:
        return self._seq

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        for consumer in self._consumers:
            consumer.close()
        self._consumers.clear()

    async def publish(self, events: list[ChangeEvent]) -> None:
        for event in events:
            self._seq += 1
            numbered = replace(event, seq=self._seq, origin=event.origin or self.origin)
            for consumer in self._consumers:
                consumer.offer(numbered)

    def consumer(self, maxsize: int = DEFAULT_CONSUMER_SIZE) -> Consumer:
        consumer = Consumer(maxsize)
        self._consumers.append(consumer)
        return consumer

    def remove_consumer(self, consumer: Consumer) -> None:
        if consumer in self._consumers:
            self._consumers.remove(consumer)
        consumer.close()
