"""Per-socket lanes: one kind of handler runs in arrival order, different kinds run concurrently.

Items replies keep request order and a subscribe is registered before a following unsubscribe runs, while a
slow read never delays a ``pong``. A lane's backlog is bounded: a socket that floods faster than it is
served gets ``REQUESTS_EXCEEDED`` instead of unbounded memory.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable

Job = Callable[[], Awaitable[None]]


class Lane:
    """Runs one kind of handler of one socket in arrival order, without blocking the other kinds."""

    def __init__(self, limit: int) -> None:
        self._jobs: deque[Job] = deque()
        self._limit = limit
        self._task: asyncio.Task[None] | None = None

    def submit(self, job: Job) -> bool:
        """Queue ``job``; ``False`` when the backlog is full (the socket is flooding faster than it reads)."""
        if len(self._jobs) >= self._limit:
            return False
        self._jobs.append(job)
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._drain())
        return True

    async def _drain(self) -> None:
        while self._jobs:
            await self._jobs.popleft()()

    def cancel(self) -> None:
        self._jobs.clear()
        if self._task is not None:
            self._task.cancel()
