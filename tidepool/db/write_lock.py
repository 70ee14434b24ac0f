"""One writer at a time across the processes that share one SQLite file (``tidepool start --workers N``, or the
CLI next to a running server).

SQLite admits one writer. Inside a process the runtime's ``WriteGate`` queues writers on an asyncio lock;
between processes nothing did: the second process's writer met the database lock and SQLite's busy handler,
which sleeps 1, 2, 5 … 100 ms between tries, so a write waited far longer than the write it waited for (and
after ``busy_timeout`` failed with "database is locked"). This lock is an advisory ``flock`` on a file next
to the database (``<file>-writer.lock``), taken by the one writer its gate let through and held until that
transaction ended: the kernel hands it to the next waiter, in whichever process, the moment it is released.

Taken with one system call when it is free; otherwise waited for on a thread of its own, so the event loop
never blocks. A cancelled waiter still takes the lock and gives it back before the cancel goes on, so a
late grant can never release a lock another writer of this process holds by then. The file is opened by each
lock object (each runtime), never inherited: a ``flock`` belongs to the open file, which a forked child
would share with its parent.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine


class FileWriteLock:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None
        self._waiter: ThreadPoolExecutor | None = None

    @classmethod
    def for_engine(cls, engine: AsyncEngine) -> FileWriteLock | None:
        """The lock of ``engine``'s SQLite file; None for other engines and in-memory databases (one process)."""
        database = engine.url.database if engine.dialect.name == "sqlite" else None
        if not database or database == ":memory:" or database.startswith("file::memory:"):
            return None
        return cls(Path(f"{database}-writer.lock"))

    def _file(self) -> int:
        if self._fd is None:
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        return self._fd

    async def acquire(self) -> None:
        fd = self._file()
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            pass
        if self._waiter is None:
            self._waiter = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tidepool-write-lock")
        granted = asyncio.get_running_loop().run_in_executor(self._waiter, fcntl.flock, fd, fcntl.LOCK_EX)
        try:
            await asyncio.shield(granted)
        except asyncio.CancelledError:
            while not granted.done():  # the thread cannot be stopped: wait for the grant, then give it back
                try:
                    await asyncio.shield(granted)
                except asyncio.CancelledError:
                    continue
            if granted.exception() is None:
                self.release()
            raise

    def acquire_here(self) -> None:
        """Take the lock on the calling thread, waiting as long as it takes: for a thread of its own (group
        commit takes it on aiosqlite's thread, with the transaction's first statement), never the event loop."""
        fcntl.flock(self._file(), fcntl.LOCK_EX)

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)

    def close(self) -> None:
        """Close the file (releasing the lock if held) and the waiting thread."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        if self._waiter is not None:
            self._waiter.shutdown(wait=False)
            self._waiter = None
