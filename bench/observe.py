"""What each party of a multi-process benchmark did in a window, read from /proc and from PostgreSQL: how the
connections spread over the workers, how much of the time SQLite's writer lock between processes was held,
what PostgreSQL's backends were waiting for, and how much CPU the rest of the machine took
(``bench/workers_bench.py``)."""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from typing import Self

from bench.procs import PG_HOST, PG_PORT, PG_USER


def connections_per_worker(port: int, workers: list[int]) -> list[int]:
    """How many established connections to ``port`` each worker holds (its sockets' inodes, matched against
    /proc/net/tcp), largest first."""
    established: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                if fields[1].endswith(f":{port:04X}") and fields[3] == "01":
                    established.add(fields[9])
    counts = []
    for pid in workers:
        held = 0
        with suppress(OSError):
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                with suppress(OSError):
                    target = os.readlink(fd)
                    held += target.startswith("socket:[") and target[8:-1] in established
        counts.append(held)
    return sorted(counts, reverse=True)


class _Sampler:
    """A thread that samples while a window runs (``with sampler:``), started only when there is something to
    sample (``active``)."""

    def __init__(self, active: bool, run: Callable[[], None]) -> None:
        self.active = active
        self._stop = threading.Event()
        self._thread = threading.Thread(target=run, daemon=True)

    def __enter__(self) -> Self:
        if self.active:
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()


class LockSampler(_Sampler):
    """How much of a window SQLite's writer lock between processes (``tidepool/db/write_lock.py``, an ``flock``
    on ``<db>-writer.lock``) was held, and held with another process waiting, sampled from /proc/locks every
    millisecond on a thread. Held time over the writes made in it is the part of a write done under the lock:
    with one worker holding it a fraction ``h`` of the time, no number of workers can write more than 1/h
    times as fast (the lock admits one at a time)."""

    def __init__(self, workers: list[int]) -> None:
        self.device_inode = _lock_file(workers)
        self.samples = self.held = self.contended = 0
        super().__init__(self.device_inode is not None, self._run)

    def _run(self) -> None:
        assert self.device_inode is not None
        while not self._stop.wait(0.001):
            locks = [line for line in Path("/proc/locks").read_text().splitlines() if self.device_inode in line]
            self.samples += 1
            self.held += any("->" not in line for line in locks)
            self.contended += any("->" in line for line in locks)

    def fractions(self) -> dict[str, float] | None:
        if not self.samples:
            return None
        return {"held": round(self.held / self.samples, 3), "waited_for": round(self.contended / self.samples, 3)}


class PgWaits(_Sampler):
    """What a PostgreSQL database's backends were doing during a window, from ``pg_stat_activity`` every 5 ms:
    the mean number of them running (on a core or waiting for one), waiting for a lock (the event log's
    counter row: ``Lock:transactionid``), for the WAL to be flushed (``IO:WALSync``, ``LWLock:WALWrite``), or
    for Tidepool (``Client:ClientRead``)."""

    def __init__(self, database: str | None) -> None:
        self.database = database
        self.tally: dict[str, int] = {}
        self.samples = 0
        super().__init__(database is not None, lambda: asyncio.run(self._run()))

    async def _run(self) -> None:
        import asyncpg  # type: ignore[import-untyped]

        try:
            conn = await asyncpg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, database="postgres")
        except (OSError, asyncpg.PostgresError):  # no connection left on a busy server: this window goes without
            return
        try:
            while not self._stop.is_set():
                rows = await conn.fetch(
                    "SELECT state, wait_event_type, wait_event FROM pg_stat_activity WHERE datname = $1",
                    self.database,
                )
                self.samples += 1
                for row in rows:
                    if row["state"] == "idle":
                        continue
                    what = "running" if row["wait_event"] is None else f"{row['wait_event_type']}:{row['wait_event']}"
                    self.tally[what] = self.tally.get(what, 0) + 1
                await asyncio.sleep(0.005)
        finally:
            await conn.close()

    def means(self) -> dict[str, float] | None:
        if not self.samples:
            return None
        top = sorted(self.tally.items(), key=lambda kv: -kv[1])[:6]
        return {what: round(count / self.samples, 2) for what, count in top}


def _lock_file(workers: list[int]) -> str | None:
    """``major:minor:inode`` of the writer lock file a worker has open, as /proc/locks names it; None if none."""
    for pid in workers:
        with suppress(OSError):
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                with suppress(OSError):
                    if os.readlink(fd).endswith("-writer.lock"):
                        device = os.stat(fd).st_dev
                        return f"{os.major(device):02x}:{os.minor(device):02x}:{os.stat(fd).st_ino} "
    return None


def machine_busy() -> float:
    """CPU-seconds all cores spent busy so far (/proc/stat): what the parties measured did not use of it was
    other work on the machine."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle, iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def per_s(before: dict[int, float], after: dict[int, float], elapsed: float) -> list[float]:
    """CPU-seconds per second of each process (one that started in the window counts from zero), largest first."""
    return sorted(((after[pid] - before.get(pid, 0.0)) / elapsed for pid in after), reverse=True)
