"""The log-following bus: brings the event log (``tidepool.eventlog``) to this process's consumers, in order.

One follower task per process delivers every logged event exactly once, in ``seq`` order:

- **its own writes**: a write that committed hands its numbered events to ``publish``; when they are the
  next numbers the follower delivers them from memory, without reading anything;
- **other processes' writes**: news from Redis (when configured, ``RedisNotifier``) carries their numbered
  events the same way; without Redis, or while it is down, the follower reads the log every
  ``EVENT_LOG_POLL_INTERVAL``. Any hole in what memory holds (an event still unknown here) is filled by one
  read of the log from the last number delivered, so order never depends on which news came first.

Consumers are bounded and the follower waits for room instead of dropping: a slow dispatcher delays events,
it does not lose them. Memory stays bounded too: at most ``MAX_HINTS`` events wait in memory; beyond that
the log is read instead. Retention (``prune``, every ``EVENT_LOG_PRUNE_INTERVAL``) is the one way events can
be missed, and only by a process that fell behind it: consumers then get a ``Gap``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncEngine

from tidepool import eventlog
from tidepool.events import ChangeEvent
from tidepool.realtime.bus.base import DEFAULT_CONSUMER_SIZE, Consumer, Gap
from tidepool.services.base import WriteGate

log = logging.getLogger("tidepool.realtime.bus")

BATCH = 500  # events per read of the log
MAX_HINTS = 10_000  # events known from memory (own commits, Redis news) waiting to be delivered
GAP_PATIENCE = 2.0  # seconds a hole not explained by retention is re-read before it is given up


class Notifier(Protocol):
    """Carries news of committed events between processes (Redis); never the truth, only a shortcut."""

    async def start(self, on_news: NewsHandler) -> None: ...

    async def stop(self) -> None: ...

    async def check(self) -> None:
        """Answers, or raises ``ServiceUnavailableError`` (start-up and the metrics' checks)."""
        ...

    def announce(self, events: Sequence[ChangeEvent]) -> None:
        """Tell the other processes, without waiting (a lost announcement costs latency, not events)."""
        ...


class NewsHandler(Protocol):
    def __call__(self, events: Sequence[ChangeEvent]) -> None: ...


class LogBus:
    def __init__(
        self,
        engine: AsyncEngine,
        *,
        poll_interval: float = 0.25,
        retention: tuple[int, float] = (100_000, 86_400.0),
        prune_interval: float = 60.0,
        notifier: Notifier | None = None,
        gate: WriteGate | None = None,
    ) -> None:
        self.engine = engine
        self.gate = gate or WriteGate(engine)  # the runtime's: its pruning queues with its writes
        self.poll_interval = poll_interval or 0.25
        self.retention = retention
        self.prune_interval = prune_interval
        self.notifier = notifier
        self._consumers: list[Consumer] = []
        self._delivered = 0
        self._known = 0  # the highest number known to be committed
        self._hints: dict[int, ChangeEvent] = {}
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._failing = False
        self._gap_since: float | None = None
        self._stopping = False

    @property
    def last_seq(self) -> int:
        return self._delivered

    @property
    def head(self) -> int:
        """The highest number this process knows to be committed (delivered or on its way)."""
        return self._known  # every delivery raises it too, so it is never below ``last_seq``

    async def start(self) -> None:
        """Start after the newest logged event: what came before is history, for resumes to read."""
        async with self.engine.connect() as conn:
            self._delivered = self._known = (await eventlog.counters(conn))[eventlog.LAST]
        if self.notifier is not None:
            await self.notifier.start(self._hint)
        self._tasks = [
            asyncio.create_task(self._follow(), name="tidepool-event-log"),
            asyncio.create_task(self._prune_forever(), name="tidepool-event-log-retention"),
        ]

    async def stop(self) -> None:
        self._stopping = True
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self.notifier is not None:
            await self.notifier.stop()
        for consumer in self._consumers:
            consumer.close()
        self._consumers.clear()

    async def sync(self) -> int:
        """Learn the log's newest number from the database now, and fetch up to it: a stopping worker of
        ``--workers N`` delivers every event any process committed before it, not only those it heard of.
        The new ``head``."""
        async with self.engine.connect() as conn:
            last = (await eventlog.counters(conn))[eventlog.LAST]
        self._known = max(self._known, last)
        self._wake.set()
        return self._known

    async def publish(self, events: list[ChangeEvent]) -> None:
        self._hint(events)
        if self.notifier is not None:
            self.notifier.announce(events)

    def consumer(self, maxsize: int = DEFAULT_CONSUMER_SIZE) -> Consumer:
        consumer = Consumer(maxsize)
        self._consumers.append(consumer)
        return consumer

    def remove_consumer(self, consumer: Consumer) -> None:
        if consumer in self._consumers:
            self._consumers.remove(consumer)
        consumer.close()

    # ---------------------------------------------------------------------------------------- following

    def _hint(self, events: Sequence[ChangeEvent]) -> None:
        """Numbered, committed events learnt from memory: keep them for delivery (bounded) and wake up."""
        for event in events:
            seq = event.seq or 0
            self._known = max(self._known, seq)
            if seq > self._delivered and len(self._hints) < MAX_HINTS:
                self._hints[seq] = event
        self._wake.set()

    async def _follow(self) -> None:
        while not self._stopping:
            polled = False
            try:
                async with asyncio.timeout(self.poll_interval):  # unlike wait_for, never swallows a cancel
                    await self._wake.wait()
            except TimeoutError:
                polled = True
            self._wake.clear()
            try:
                await self._catch_up(polled)
                self._recovered()
            except Exception as exc:  # the database is unreachable: try again at the next poll
                self._failed(exc)

    async def _catch_up(self, poll: bool) -> None:
        """Deliver what memory holds in order; read the log where it has a hole or when polling."""
        while True:
            if await self._deliver_hints():
                continue
            if not poll and self._known <= self._delivered:
                return
            events = await self._read()
            if events is None:  # a hole was handled: look again
                continue
            for event in events:
                await self._deliver(event)
            poll = len(events) >= BATCH  # a full batch: there may be more
            if not poll and self._known <= self._delivered:
                return

    async def _deliver_hints(self) -> bool:
        for stale in [seq for seq in self._hints if seq <= self._delivered]:
            del self._hints[stale]
        delivered = False
        while (event := self._hints.pop(self._delivered + 1, None)) is not None:
            await self._deliver(event)
            delivered = True
        return delivered

    async def _deliver(self, item: ChangeEvent | Gap) -> None:
        self._delivered = item.last if isinstance(item, Gap) else item.seq or self._delivered
        self._known = max(self._known, self._delivered)
        for consumer in list(self._consumers):
            await consumer.put(item)

    async def _read(self) -> list[ChangeEvent] | None:
        """The next logged events, or None after a hole was handled. A hole is either retention (a ``Gap`` is
        delivered) or, briefly, news that ran ahead of the log (re-read until ``GAP_PATIENCE`` runs out, then
        given up loudly): committed numbers are a gap-free prefix, so neither should happen to a process
        that keeps up."""
        first, end = self._delivered + 1, self._hole_end()
        async with self.engine.connect() as conn:
            events = await eventlog.read_after(conn, self._delivered, upto=end, limit=BATCH)
            if (events and events[0].seq == first) or (not events and self._known < first):
                self._gap_since = None
                return events
            pruned = (await eventlog.counters(conn))[eventlog.PRUNED]
        if pruned >= first:
            log.error("events %d-%d were removed by retention before this process read them", first, pruned)
            await self._deliver(Gap(first, pruned))
        elif self._waited_long_enough():
            last = (events[0].seq or first) - 1 if events else (end if end is not None else self._known)
            log.error("events %d-%d never appeared in the event log; continuing after them", first, last)
            await self._deliver(Gap(first, last))
        else:
            await asyncio.sleep(0.02)
            return None
        self._gap_since = None
        return None

    def _hole_end(self) -> int | None:
        """The last number of the hole before the events memory holds (None: it holds none): only the hole is
        read, not again what memory holds already. With ``--workers N`` (no Redis) the numbers of each
        worker's commits interleave, so nearly every commit of this one leaves a hole, the others' events."""
        held = [seq for seq in self._hints if seq > self._delivered]
        return min(held) - 1 if held else None

    def _waited_long_enough(self) -> bool:
        now = asyncio.get_running_loop().time()
        if self._gap_since is None:
            self._gap_since = now
        return now - self._gap_since >= GAP_PATIENCE

    def _failed(self, exc: Exception) -> None:
        if not self._failing:
            log.warning("reading the event log failed (%s); retrying every poll", exc)
        self._failing = True

    def _recovered(self) -> None:
        if self._failing:
            log.warning("reading the event log works again")
        self._failing = False

    # ---------------------------------------------------------------------------------------- retention

    async def _prune_forever(self) -> None:
        while True:
            await asyncio.sleep(self.prune_interval)
            try:
                await self.prune()
            except Exception as exc:
                log.warning("event log retention failed (%s); retrying later", exc)

    async def prune(self) -> int:
        """Apply ``EVENT_LOG_RETENTION_COUNT``/``_AGE`` now (one short transaction); the new ``pruned`` mark."""
        keep_count, keep_seconds = self.retention
        async with self.gate, self.engine.begin() as conn:
            return await eventlog.prune(conn, keep_count, keep_seconds)
