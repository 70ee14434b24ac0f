"""The event log and the bus that follows it, on a real database (SQLite file, or PG/MariaDB with
TIDEPOOL_TEST_DB) and the local Redis: numbering, order, delivery to every process, backpressure, retention.

Writes go through ``tidepool.eventlog.append`` inside a transaction, exactly as every service write does
(``ServiceContext.transaction``); two ``LogBus`` objects on one database stand for two server processes.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.support.live import base_env, scratch_database
from tidepool import eventlog
from tidepool.config import load_settings
from tidepool.db.bootstrap import bootstrap
from tidepool.db.engine import create_engine
from tidepool.errors import ServiceUnavailableError
from tidepool.events import ChangeEvent
from tidepool.realtime.bus import Consumer, Gap, LogBus, RedisNotifier

REDIS_URL = "redis://127.0.0.1:6379/0"
SLOW_POLL = 60.0  # seconds: when a test must show that something arrived without polling


def _event(n: int, collection: str = "c") -> ChangeEvent:
    return ChangeEvent(collection, "update", (n,), before=({"id": n, "x": f"v{n}"},))


@asynccontextmanager
async def _database(db_env: dict[str, str]) -> AsyncIterator[AsyncEngine]:
    settings = load_settings({**base_env(), **db_env}, env_file=None)
    engine = create_engine(settings)
    try:
        await bootstrap(engine, settings)
        yield engine
    finally:
        await engine.dispose()


async def _write(engine: AsyncEngine, events: list[ChangeEvent], bus: LogBus | None = None) -> list[ChangeEvent]:
    """One write transaction that logs ``events`` (then tells ``bus``, as the writer's process does)."""
    async with engine.begin() as conn:
        numbered = await eventlog.append(conn, events, "test")
    if bus is not None:
        await bus.publish(numbered)
    return numbered


@asynccontextmanager
async def _bus(engine: AsyncEngine, **options: Any) -> AsyncIterator[LogBus]:
    bus = LogBus(engine, **options)
    await bus.start()
    try:
        yield bus
    finally:
        await bus.stop()


async def _take(consumer: Consumer, count: int, timeout: float = 10.0) -> list[ChangeEvent | Gap]:
    async def take() -> list[ChangeEvent | Gap]:
        got: list[ChangeEvent | Gap] = []
        async for item in consumer:
            got.append(item)
            if len(got) == count:
                break
        return got

    return await asyncio.wait_for(take(), timeout)


def _run(tmp_path: Path, scenario: Callable[[AsyncEngine], Awaitable[None]]) -> None:
    async def main(db_env: dict[str, str]) -> None:
        async with _database(db_env) as engine:
            await scenario(engine)

    with scratch_database(tmp_path) as db_env:  # outside the loop: it runs its own for PG/MariaDB
        asyncio.run(main(db_env))


def test_concurrent_writers_get_consecutive_numbers_with_no_gap_and_no_reuse(tmp_path: Path) -> None:
    """8 writers × 20 transactions of 1–3 events: the numbers are exactly 1..N past the start, each
    transaction's events consecutive and in its order, and the log holds each number once."""

    async def scenario(engine: AsyncEngine) -> None:
        async with engine.connect() as conn:
            start = (await eventlog.counters(conn))[eventlog.LAST]

        async def writer(w: int) -> list[list[int]]:
            done = []
            for t in range(20):
                size = random.randint(1, 3)
                events = [_event(w * 1000 + t * 10 + i) for i in range(size)]
                numbered = await _write(engine, events)
                assert [e.keys for e in numbered] == [e.keys for e in events]
                done.append([e.seq or 0 for e in numbered])
            return done

        transactions = [tx for done in await asyncio.gather(*(writer(w) for w in range(8))) for tx in done]
        for seqs in transactions:
            assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))
        numbers = sorted(n for seqs in transactions for n in seqs)
        assert numbers == list(range(start + 1, start + 1 + len(numbers)))
        async with engine.connect() as conn:
            logged = await eventlog.read_after(conn, start, limit=10_000)
        assert [e.seq for e in logged] == numbers

    _run(tmp_path, scenario)


def test_a_rolled_back_write_logs_nothing_and_its_numbers_are_given_again(tmp_path: Path) -> None:
    async def scenario(engine: AsyncEngine) -> None:
        first = await _write(engine, [_event(1)])
        with pytest.raises(RuntimeError):
            async with engine.begin() as conn:
                await eventlog.append(conn, [_event(2), _event(3)], "test")
                raise RuntimeError("the write failed after logging")
        second = await _write(engine, [_event(4)])
        assert second[0].seq == (first[0].seq or 0) + 1
        async with engine.connect() as conn:
            assert [e.keys for e in await eventlog.read_after(conn, first[0].seq or 0)] == [(4,)]

    _run(tmp_path, scenario)


def test_every_process_gets_every_event_in_order_from_the_log_alone(tmp_path: Path) -> None:
    """Two buses without Redis: each delivers its own writes at once and the other's by polling."""

    async def scenario(engine: AsyncEngine) -> None:
        async with _bus(engine, poll_interval=0.05) as one, _bus(engine, poll_interval=0.05) as two:
            consumers = [one.consumer(), two.consumer()]
            written: list[ChangeEvent] = []
            for n in range(30):
                written += await _write(engine, [_event(n), _event(n + 100)], one if n % 2 else two)
            for consumer in consumers:
                got = await _take(consumer, len(written))
                assert [(e.seq, e.keys) for e in got if isinstance(e, ChangeEvent)] == [
                    (e.seq, e.keys) for e in written
                ]
                first = got[0]
                assert isinstance(first, ChangeEvent) and first.before == ({"id": 0, "x": "v0"},)

    _run(tmp_path, scenario)


def test_own_writes_arrive_without_waiting_for_a_poll(tmp_path: Path) -> None:
    async def scenario(engine: AsyncEngine) -> None:
        async with _bus(engine, poll_interval=SLOW_POLL) as bus:
            consumer = bus.consumer()
            numbered = await _write(engine, [_event(1)], bus)
            (got,) = await _take(consumer, 1, timeout=2)
            assert got is numbered[0]  # from memory: not even decoded again
            assert bus.last_seq == numbered[0].seq

    _run(tmp_path, scenario)


def test_a_hole_from_another_process_is_read_alone_and_own_events_still_come_from_memory(tmp_path: Path) -> None:
    """With ``--workers N`` and no Redis the numbers of each process's writes interleave: the other process's
    event leaves a hole before this one's. The follower reads the hole from the log and delivers its own
    event from memory (the very object), not read and decoded again with it (bench/README.md, "Workers")."""

    async def scenario(engine: AsyncEngine) -> None:
        async with _bus(engine, poll_interval=SLOW_POLL) as bus:
            consumer = bus.consumer()
            others = await _write(engine, [_event(1), _event(2)])  # another process's write: no news here
            own = await _write(engine, [_event(3)], bus)
            got = await _take(consumer, 3, timeout=5)
            assert [(e.seq, e.keys) for e in got if isinstance(e, ChangeEvent)] == [
                (e.seq, e.keys) for e in others + own
            ]
            assert got[2] is own[0]  # from memory
            first = got[0]
            assert isinstance(first, ChangeEvent) and first is not others[0]  # from the log
            assert first.before == ({"id": 1, "x": "v1"},)

    _run(tmp_path, scenario)


async def _subscribers(channel: str, count: int, timeout: float = 5.0) -> None:
    """Wait until Redis itself counts ``count`` subscribers on ``channel`` (PUBSUB NUMSUB): a message
    published before a notifier has subscribed would be lost, by Redis's design."""
    client = aioredis.Redis.from_url(REDIS_URL)
    try:
        deadline = asyncio.get_running_loop().time() + timeout
        while (subscribed := dict(await client.pubsub_numsub(channel))).get(channel.encode(), 0) < count:
            assert asyncio.get_running_loop().time() < deadline, (channel, subscribed)
            await asyncio.sleep(0.01)
    finally:
        await client.aclose()


def test_redis_brings_other_processes_events_without_polling(tmp_path: Path) -> None:
    async def scenario(engine: AsyncEngine) -> None:
        namespace = f"tidepool-test:{uuid.uuid4().hex}"
        one_notes = RedisNotifier(REDIS_URL, namespace, "one")
        two_notes = RedisNotifier(REDIS_URL, namespace, "two")
        async with _bus(engine, poll_interval=SLOW_POLL, notifier=one_notes) as one:
            async with _bus(engine, poll_interval=SLOW_POLL, notifier=two_notes) as two:
                await _subscribers(one_notes.channel, 2)
                consumer = two.consumer()
                numbered = await _write(engine, [_event(1), _event(2)], one)
                got = await _take(consumer, 2, timeout=3)
                assert [(e.seq, e.keys) for e in got if isinstance(e, ChangeEvent)] == [
                    (e.seq, e.keys) for e in numbered
                ]

    _run(tmp_path, scenario)


def test_redis_unreachable_at_start_is_one_clear_error() -> None:
    async def scenario() -> None:
        with pytest.raises(ServiceUnavailableError) as raised:
            await RedisNotifier("redis://127.0.0.1:1/0", "x", "one").check()
        assert "Could not connect to Redis" in str(raised.value)

    asyncio.run(scenario())


def test_a_slow_consumer_delays_events_but_loses_none(tmp_path: Path) -> None:
    async def scenario(engine: AsyncEngine) -> None:
        async with _bus(engine, poll_interval=0.05) as bus:
            consumer = bus.consumer(maxsize=2)
            written: list[ChangeEvent] = []
            for n in range(40):
                written += await _write(engine, [_event(n)], bus)
            await asyncio.sleep(0.3)  # the follower waits for room; nothing is dropped meanwhile
            got = await _take(consumer, 40)
            assert [e.seq for e in got if isinstance(e, ChangeEvent)] == [e.seq for e in written]

    _run(tmp_path, scenario)


def test_events_removed_by_retention_before_they_were_read_are_reported_as_a_gap(tmp_path: Path) -> None:
    """A process that polls too rarely: retention (keep 3) removes events it never read. Its consumer gets
    a ``Gap`` for exactly those numbers, then the rest in order."""

    async def scenario(engine: AsyncEngine) -> None:
        async with _bus(engine, poll_interval=1.0, retention=(3, 0)) as bus:
            consumer = bus.consumer()
            written = []
            for n in range(10):
                written += await _write(engine, [_event(n)])  # another process's writes: no news here
            pruned = await bus.prune()
            assert pruned == written[-4].seq
            got = await _take(consumer, 4, timeout=5)
            assert got[0] == Gap(written[0].seq or 0, pruned)
            assert [e.seq for e in got[1:] if isinstance(e, ChangeEvent)] == [e.seq for e in written[-3:]]
            async with engine.connect() as conn:
                assert (await conn.execute(sa.select(sa.func.count()).select_from(eventlog._log))).scalar() == 3

    _run(tmp_path, scenario)


def test_retention_by_age_keeps_only_recent_events(tmp_path: Path) -> None:
    async def scenario(engine: AsyncEngine) -> None:
        old = await _write(engine, [_event(1), _event(2)])
        async with engine.begin() as conn:  # make them an hour old
            await conn.execute(sa.update(eventlog._log).values(created_at=eventlog._log.c.created_at - 3_600_000))
        recent = await _write(engine, [_event(3)])
        async with engine.begin() as conn:
            assert await eventlog.prune(conn, 0, 60) == old[-1].seq
        async with engine.connect() as conn:
            assert [e.seq for e in await eventlog.read_after(conn, 0)] == [recent[0].seq]

    _run(tmp_path, scenario)
