"""Per-socket lanes: one kind of handler runs in arrival order, different kinds run concurrently.

Items replies keep request order and a subscribe is registered before a following unsubscribe runs, while a
slow read never delays a ``pong``. A lane's backlog is bounded: a socket that floods faster than it is
served gets ``REQUESTS_EXCEEDED`` instead of unbounded memory.

A lane exists only while it has work: its task ends when the backlog is empty and the lane tells its owner
(``on_idle``) so the owner can forget it. An idle socket therefore holds no lane, no deque and no task.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable

Job = Callable[[], Awaitable[None]]


class Lane:
    """Runs one kind of handler of one socket in arrival order, without blocking the other kinds."""

    __slots__ = ("_jobs", "_limit", "_task", "_on_idle")

    def __init__(self, limit: int, on_idle: Callable[[Lane], None] | None = None) -> None:
        self._jobs: deque[Job] = deque()
        self._limit = limit
        self._task: asyncio.Task[None] | None = None
        self._on_idle = on_idle

    def submit(self, job: Job) -> bool:
        """Queue ``job``; ``False`` when the backlog is full (the socket is flooding faster than it reads)."""
        if len(self._jobs) >= self._limit:
            return False
        self._jobs.append(job)
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._drain())
        return True

    @property
    def busy(self) -> bool:
        return self._task is not None

    async def _drain(self) -> None:
        try:
            while self._jobs:
                await self._jobs.popleft()()
        finally:
            self._task = None
        if self._on_idle is not None:
            self._on_idle(self)

    async def aclose(self) -> None:
        """Drop the backlog and stop the running job, returning once it has stopped: a job may hold a
        database connection, which must go back to the pool before the pool is disposed at shutdown."""
        self._jobs.clear()
        task = self._task
        if task is not None and task is not asyncio.current_task():
            task.cancel()
            await asyncio.wait([task])
