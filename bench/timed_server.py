"""``tidepool start`` with every SQL statement and commit timed, and cProfile on the event loop thread.

Run as a script (``python bench/timed_server.py``), not as ``-m bench...``: the ``tidepool`` package then
comes from ``PYTHONPATH`` (any checkout, e.g. the baseline worktree of ``bench.eventlog_bench``), and this
file imports nothing of the benchmark package. SIGUSR1 starts the measurement (set-up and warm-up are not
counted). When the server stops (SIGTERM) it writes to ``BENCH_TIMINGS`` a JSON object: per statement kind
(``UPDATE tidepool_event_counters``, ``COMMIT``, ...) the count and the total wall time from the driver call
to its return; and the event loop thread's cProfile statistics to ``BENCH_TIMINGS`` + ``.prof``.

Measurement only: the hooks are SQLAlchemy's own cursor events, a wrapper around the dialect's commit and
one around ``tidepool.eventlog.append`` (wall time of the whole append, on every engine).
"""

from __future__ import annotations

import cProfile
import json
import os
import re
import signal
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.engine.default import DefaultDialect

TOTALS: dict[str, list[float]] = defaultdict(lambda: [0, 0.0])  # kind -> [count, seconds]
_TABLE = re.compile(r"\b(?:FROM|INTO|UPDATE)\s+[\"`]?(\w+)", re.IGNORECASE)


def kind_of(statement: str) -> str:
    """``VERB table``: the statement's first word and the first table it names."""
    verb = statement.lstrip().split(None, 1)[0].upper() if statement.strip() else "?"
    table = _TABLE.search(statement)
    return f"{verb} {table.group(1)}" if table else verb


@event.listens_for(Engine, "before_cursor_execute")
def _before(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
    conn.info.setdefault("bench_started", []).append(time.perf_counter())


@event.listens_for(Engine, "after_cursor_execute")
def _after(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
    started = conn.info["bench_started"].pop()
    total = TOTALS[kind_of(statement)]
    total[0] += 1
    total[1] += time.perf_counter() - started


_do_commit: Any = DefaultDialect.do_commit


def _timed_commit(self: DefaultDialect, dbapi_connection: Any) -> None:
    started = time.perf_counter()
    try:
        _do_commit(self, dbapi_connection)
    finally:
        total = TOTALS["COMMIT"]
        total[0] += 1
        total[1] += time.perf_counter() - started


DefaultDialect.do_commit = _timed_commit  # type: ignore[method-assign]


PROFILER: list[cProfile.Profile] = []


def _measure_from_now(signum: int, frame: Any) -> None:
    """SIGUSR1: forget what set-up and warm-up did; count and profile from here on."""
    TOTALS.clear()
    for old in PROFILER:
        old.disable()
    PROFILER[:] = [cProfile.Profile(time.thread_time)]  # CPU time of the event loop thread, not wall time
    PROFILER[0].enable()


def _exit(signum: int, frame: Any) -> None:
    raise SystemExit(0)


def _time_append() -> None:
    """The current code's ``eventlog.append`` (absent before the event log), timed from call to return: on
    SQLite its statements go to aiosqlite directly, where the cursor events above do not see them."""
    import tidepool

    # Not ``try: import``: the venv's editable install would supply a missing module from the main checkout.
    if not (Path(tidepool.__file__).parent / "eventlog.py").exists():
        return
    from tidepool import eventlog

    append = eventlog.append

    async def timed(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return await append(*args, **kwargs)
        finally:
            total = TOTALS["eventlog.append"]
            total[0] += 1
            total[1] += time.perf_counter() - started

    eventlog.append = timed  # services/base.py calls it through the module


def main() -> None:
    from tidepool.cli import main as tidepool_main

    _time_append()

    out = os.environ["BENCH_TIMINGS"]
    signal.signal(signal.SIGUSR1, _measure_from_now)
    # uvicorn raises the stopping signal again once it has stopped, with the handler it found installed:
    # make that an exit that runs the ``finally`` below instead of the default handler's instant death.
    signal.signal(signal.SIGTERM, _exit)
    try:
        tidepool_main(["start"], standalone_mode=False)
    finally:
        for profiler in PROFILER:
            profiler.disable()
            profiler.dump_stats(out + ".prof")
        with open(out, "w") as file:
            json.dump(TOTALS, file)


if __name__ == "__main__":
    main()
