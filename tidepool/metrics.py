"""Prometheus metrics: the counters a running server keeps, and the text exposition format they are read in.

Counters live on what they count, never in this module: the runtime's ``StatementStats`` (every SQL statement
of its engine, timed as Directus times every query for ``<prefix>db_<client>_response_time_ms``) and the
realtime dispatcher's ``DispatchStats`` (events dispatched, how long each took, how many statements each
cost). ``StatementStats.watch`` hooks the engine only when ``METRICS_ENABLED``; the statements of one event
are told apart from the rest by ``statement_tally``, a context variable the dispatcher sets around each event
(SQLAlchemy carries the context into the greenlet that runs the driver, and ``asyncio.gather`` into its
tasks). ``render`` writes families in the text format 0.0.4 (``# HELP``/``# TYPE``, ``_bucket``/``_sum``/
``_count`` for histograms), the names prefixed with ``METRICS_NAME_PREFIX``.
"""

from __future__ import annotations

import bisect
import math
import time
from collections.abc import Iterable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

# Directus's buckets for the database response time (ms).
DB_RESPONSE_BUCKETS = (1.0, 10.0, 20.0, 40.0, 60.0, 80.0, 100.0, 200.0, 500.0, 750.0, 1000.0)
DISPATCH_SECONDS_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
STATEMENT_BUCKETS = (0.0, 1.0, 2.0, 3.0, 5.0, 8.0, 13.0, 21.0, 34.0, 55.0, 89.0)

# The statements run for the event being dispatched: a one-item list the dispatcher sets (None: not counting).
statement_tally: ContextVar[list[int] | None] = ContextVar("tidepool_statement_tally", default=None)


@dataclass
class Histogram:
    """Observations counted per upper bound (``le``), with their sum and count."""

    bounds: tuple[float, ...]
    counts: list[int] = field(init=False)
    total: float = 0.0
    count: int = 0

    def __post_init__(self) -> None:
        self.counts = [0] * len(self.bounds)

    def observe(self, value: float) -> None:
        index = bisect.bisect_left(self.bounds, value)
        if index < len(self.counts):
            self.counts[index] += 1
        self.total += value
        self.count += 1


@dataclass
class StatementStats:
    """Every statement the runtime's engine runs: timed (ms), and added to the current event's tally."""

    response_ms: Histogram = field(default_factory=lambda: Histogram(DB_RESPONSE_BUCKETS))
    connection_errors: int = 0  # scrapes whose database check failed (Directus's ``connection_errors``)

    def watch(self, engine: AsyncEngine) -> None:
        sa.event.listen(engine.sync_engine, "before_cursor_execute", self._before)
        sa.event.listen(engine.sync_engine, "after_cursor_execute", self._after)

    def _before(self, conn: sa.Connection, *args: Any) -> None:
        conn.info.setdefault("tidepool_started", []).append(time.perf_counter())
        tally = statement_tally.get()
        if tally is not None:
            tally[0] += 1

    def _after(self, conn: sa.Connection, *args: Any) -> None:
        started = conn.info.get("tidepool_started")
        if started:
            self.response_ms.observe((time.perf_counter() - started.pop()) * 1000)


@dataclass
class DispatchStats:
    """What the realtime dispatcher did: events, messages queued for subscribers, time and statements per event."""

    events: int = 0
    messages: int = 0
    seconds: Histogram = field(default_factory=lambda: Histogram(DISPATCH_SECONDS_BUCKETS))
    statements: Histogram = field(default_factory=lambda: Histogram(STATEMENT_BUCKETS))


# ------------------------------------------------------------------------------------------ exposition


@dataclass(frozen=True)
class Family:
    """One metric: name (without the prefix), type, help, and its value (a number or a ``Histogram``)."""

    name: str
    kind: str  # counter | gauge | histogram
    help: str
    value: float | Histogram


def _number(value: float) -> str:
    if isinstance(value, int) or (math.isfinite(value) and value.is_integer()):
        return str(int(value))
    return repr(value)


def _lines(name: str, value: float | Histogram) -> Iterable[str]:
    if not isinstance(value, Histogram):
        yield f"{name} {_number(value)}"
        return
    running = 0
    for bound, count in zip(value.bounds, value.counts, strict=True):
        running += count
        yield f'{name}_bucket{{le="{_number(bound)}"}} {running}'
    yield f'{name}_bucket{{le="+Inf"}} {value.count}'
    yield f"{name}_sum {_number(value.total)}"
    yield f"{name}_count {value.count}"


def render(prefix: str, families: Sequence[Family]) -> str:
    out: list[str] = []
    for family in families:
        name = prefix + family.name
        out += [f"# HELP {name} {family.help}", f"# TYPE {name} {family.kind}", *_lines(name, family.value)]
    return "\n".join(out) + "\n"
