"""The bus contract, one suite for both backends: numbering, order, fan-out to every consumer, isolation.

The Redis cases use the local Redis with a unique namespace per test, and also check what only Redis
promises: two processes' buses (two ``RedisBus`` objects) see one global order, and a reader that loses its
connection resumes without losing events.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from tidepool.events import ChangeEvent
from tidepool.realtime.bus import Bus, Consumer, MemoryBus, RedisBus
from tidepool.realtime.bus.base import BusOverflowError

REDIS_URL = "redis://127.0.0.1:6379/0"

BusFactory = Callable[[], Awaitable[Bus]]


def _event(n: int, collection: str = "c") -> ChangeEvent:
    return ChangeEvent(collection, "update", (n,), before=({"id": n, "x": f"v{n}"},), payload={"x": n})


async def _take(consumer: Consumer, count: int, timeout: float = 5.0) -> list[ChangeEvent]:
    async def take() -> list[ChangeEvent]:
        got: list[ChangeEvent] = []
        async for event in consumer:
            got.append(event)
            if len(got) == count:
                break
        return got

    return await asyncio.wait_for(take(), timeout)


def _run(coro: Awaitable[None]) -> None:
    asyncio.run(coro)  # type: ignore[arg-type]


@pytest.fixture(params=["memory", "redis"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _factory(backend: str) -> Callable[[], AsyncIterator[Bus]]:
    namespace = f"tidepool-test:{uuid.uuid4().hex}"

    async def make() -> AsyncIterator[Bus]:
        bus: Bus = MemoryBus() if backend == "memory" else RedisBus(REDIS_URL, namespace)
        await bus.start()
        try:
            yield bus
        finally:
            await bus.stop()

    return make


def test_events_are_numbered_consecutively_and_delivered_in_order(backend: str) -> None:
    async def scenario() -> None:
        async for bus in _factory(backend)():
            first, second = bus.consumer(), bus.consumer()
            start = bus.last_seq
            await bus.publish([_event(1), _event(2)])
            await bus.publish([_event(3)])
            for consumer in (first, second):
                got = await _take(consumer, 3)
                assert [e.seq for e in got] == [start + 1, start + 2, start + 3]
                assert [e.keys for e in got] == [(1,), (2,), (3,)]
                assert got[0].before == ({"id": 1, "x": "v1"},)
                assert got[0].payload == {"x": 1}
            await asyncio.sleep(0.05)
            assert bus.last_seq == start + 3

    _run(scenario())


def test_a_consumer_sees_only_events_published_after_it_joined(backend: str) -> None:
    async def scenario() -> None:
        async for bus in _factory(backend)():
            early = bus.consumer()
            await bus.publish([_event(1)])
            await _take(early, 1)
            late = bus.consumer()
            await bus.publish([_event(2)])
            assert [e.keys for e in await _take(late, 1)] == [(2,)]

    _run(scenario())


def test_an_overflowing_consumer_is_told_it_lost_events(backend: str) -> None:
    async def scenario() -> None:
        async for bus in _factory(backend)():
            small = bus.consumer(maxsize=2)
            await bus.publish([_event(n) for n in range(5)])
            await asyncio.sleep(0.2)
            with pytest.raises(BusOverflowError):
                await _take(small, 5)

    _run(scenario())


def test_stop_ends_iteration(backend: str) -> None:
    async def scenario() -> None:
        make = _factory(backend)
        consumer: Consumer | None = None
        async for bus in make():
            consumer = bus.consumer()
        assert consumer is not None
        assert await asyncio.wait_for(consumer.get(), 2) is None

    _run(scenario())


def test_redis_gives_one_global_order_across_processes() -> None:
    """Two buses on one namespace stand for two server processes publishing concurrently."""

    async def scenario() -> None:
        namespace = f"tidepool-test:{uuid.uuid4().hex}"
        one, two = RedisBus(REDIS_URL, namespace), RedisBus(REDIS_URL, namespace)
        await one.start()
        await two.start()
        try:
            a, b = one.consumer(), two.consumer()
            await asyncio.gather(*(bus.publish([_event(n), _event(n + 100)]) for n in range(20) for bus in (one, two)))
            got_a, got_b = await _take(a, 80), await _take(b, 80)
            assert [e.seq for e in got_a] == [e.seq for e in got_b] == list(range(1, 81))
            assert [(e.keys, e.origin) for e in got_a] == [(e.keys, e.origin) for e in got_b]
            pairs = {e.seq: e.keys[0] for e in got_a}
            for seq, key in pairs.items():  # one transaction's events get consecutive numbers
                if key < 100:
                    assert pairs[seq + 1] == key + 100
            assert {e.origin for e in got_a} == {one.origin, two.origin}
        finally:
            await one.stop()
            await two.stop()

    _run(scenario())


def test_redis_reader_resumes_after_losing_its_connection() -> None:
    async def scenario() -> None:
        import redis.asyncio as aioredis

        namespace = f"tidepool-test:{uuid.uuid4().hex}"
        bus = RedisBus(REDIS_URL, namespace)
        await bus.start()
        admin = aioredis.Redis.from_url(REDIS_URL)
        try:
            consumer = bus.consumer()
            await bus.publish([_event(1)])
            await _take(consumer, 1)
            clients = await admin.client_list()
            for client in clients:  # drop the reader's blocking connection
                if client.get("cmd") == "xread":
                    await admin.client_kill_filter(_id=client["id"])
            await bus.publish([_event(2), _event(3)])
            assert [e.keys for e in await _take(consumer, 2)] == [(2,), (3,)]
        finally:
            await admin.aclose()
            await bus.stop()

    _run(scenario())
