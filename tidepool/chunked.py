"""Pure-CPU work over a large batch, done in bounded chunks with a turn of the event loop between them.

A batch write builds a row (or an event) per item before it sends anything: for 10,000 items that was one
synchronous step of hundreds of milliseconds (the history rows' JSON and timestamps through their bind
processors), during which no other client was served. Built here ``CHUNK`` items at a time, each step costs a
few milliseconds and every other request gets its turn in between. The work, its order and its result are the
same; only the event loop is let in between chunks (a batch of at most one chunk does not wait at all).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")

CHUNK = 500  # items built per step: about 5 ms of CPU for the heaviest rows (a revision's JSON)
BUDGET = 0.01  # seconds of CPU a ``Pacer`` lets run before it lets the event loop in


class Pacer:
    """For a loop over many small pieces of work (a batch's history entries, one per created item): ``tick``
    after each lets the event loop in once ``BUDGET`` has passed since it last did, so the loop's step stays
    short whatever each piece costs."""

    def __init__(self, budget: float = BUDGET) -> None:
        self.budget = budget
        self._since = time.perf_counter()

    async def tick(self) -> None:
        if time.perf_counter() - self._since >= self.budget:
            await asyncio.sleep(0)
            self._since = time.perf_counter()


async def build(items: Sequence[T], step: Callable[[Sequence[T]], list[R]], size: int = CHUNK) -> list[R]:
    """``step`` over ``items`` in slices of ``size``, concatenated in order; the event loop runs between them."""
    if len(items) <= size:
        return step(items)
    out: list[R] = []
    for start in range(0, len(items), size):
        if start:
            await asyncio.sleep(0)
        out.extend(step(items[start : start + size]))
    return out


def slices(items: Sequence[T], size: int = CHUNK) -> list[Sequence[T]]:
    """``items`` in slices of ``size`` (one slice when they fit), for statements sent a chunk at a time."""
    return [items[start : start + size] for start in range(0, len(items), size)] or [items]
