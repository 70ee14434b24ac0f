"""Work a request starts and does not wait for (``POST /utils/export`` writing its file), owned by the runtime.

Each task is kept until it ends, so it is never collected half-way, and ``drain`` lets a closing runtime wait
for what is still running before its engine is disposed: an acknowledged export is written, not cut off.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any


class Background:
    def __init__(self) -> None:
        self._pending: set[asyncio.Task[None]] = set()

    def start(self, work: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.create_task(work, name=name)
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    @property
    def running(self) -> int:
        return len(self._pending)

    async def drain(self) -> None:
        """Wait for every task still running (those they start included)."""
        while self._pending:
            await asyncio.gather(*self._pending, return_exceptions=True)
