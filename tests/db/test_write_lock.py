"""The SQLite writers' lock between processes (``tidepool/db/write_lock.py``).

Two lock objects on one file stand for two processes: a ``flock`` belongs to the open file, so two opens
exclude each other exactly as two processes do."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy.ext.asyncio import create_async_engine

from tidepool.db.write_lock import FileWriteLock

BOUND = 10.0


def test_a_second_writer_waits_for_the_first_and_gets_the_lock_when_it_is_released(tmp_path: Path) -> None:
    async def scenario() -> None:
        first, second = FileWriteLock(tmp_path / "w.lock"), FileWriteLock(tmp_path / "w.lock")
        await first.acquire()
        waiting = asyncio.create_task(second.acquire())
        await asyncio.sleep(0.05)
        assert not waiting.done()  # still held by the first
        first.release()
        await asyncio.wait_for(waiting, BOUND)
        second.release()
        first.close()
        second.close()

    asyncio.run(scenario())


def test_a_cancelled_waiter_gives_the_lock_back(tmp_path: Path) -> None:
    async def scenario() -> None:
        locks = [FileWriteLock(tmp_path / "w.lock") for _ in range(3)]
        await locks[0].acquire()
        waiting = asyncio.create_task(locks[1].acquire())
        await asyncio.sleep(0.05)
        waiting.cancel()
        locks[0].release()  # the cancelled waiter's thread gets the lock now, and must release it
        await asyncio.gather(waiting, return_exceptions=True)
        assert waiting.cancelled()
        await asyncio.wait_for(locks[2].acquire(), BOUND)
        locks[2].release()
        for lock in locks:
            lock.close()

    asyncio.run(scenario())


def test_only_a_sqlite_file_has_a_lock(tmp_path: Path) -> None:
    file = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}")
    memory = create_async_engine("sqlite+aiosqlite://")
    pg = create_async_engine("postgresql+asyncpg://postgres@127.0.0.1/x")
    lock = FileWriteLock.for_engine(file)
    assert lock is not None and lock.path == Path(f"{tmp_path / 'x.db'}-writer.lock")
    assert FileWriteLock.for_engine(memory) is None and FileWriteLock.for_engine(pg) is None
