"""Redis killed for 10 s mid-stream, then restarted empty (no persistence), under two processes (on one
PostgreSQL, MariaDB or SQLite database: two ``tidepool start`` processes on one SQLite file); and Redis
frozen (SIGSTOP) for 10 s, so that connections hang instead of being refused.

While the bus is down, writes keep being acknowledged and subscribers keep getting events; every event of
every acknowledged write must still reach every subscriber, in order, once, with numbers never given to
another change (the new Redis starts with no counter), and each subscriber must end holding exactly what
the database holds.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.faults.harness import PrivateRedis, assert_clean, cluster, load

pytestmark = pytest.mark.faults

OUTAGE = 10.0


def outage(
    tmp_path: Path, engine: str, down: Callable[[PrivateRedis], None], up: Callable[[PrivateRedis], None], what: str
) -> None:
    """Writers and subscribers on two processes; Redis taken ``down`` for ``OUTAGE`` seconds mid-stream."""
    with cluster(tmp_path, engine) as group:
        assert group.redis is not None
        run = load(group)
        run.start()
        run.wait_writes(60)
        down(group.redis)
        began = time.monotonic()
        writes_before, events_before = run.acknowledged(), [sub.events() for sub in run.subscribers]
        time.sleep(OUTAGE)
        writes_during = run.acknowledged() - writes_before
        events_during = [sub.events() - n for sub, n in zip(run.subscribers, events_before, strict=True)]
        up(group.redis)
        lasted = time.monotonic() - began
        run.wait_writes(60)
        text, accounts = run.finish(f"Redis {what} {lasted:.1f} s ({engine})")
    text += f"\nwhile Redis was down: {writes_during} writes acknowledged, events per subscriber {events_during}"
    print(text)
    assert writes_during > 0, f"writes must keep working while Redis is down\n{text}"
    assert all(events_during), f"a process's own subscribers get its writes' events without Redis\n{text}"
    assert_clean(text, accounts, group)


@pytest.mark.parametrize("engine", ["pg", pytest.param("mysql", id="mariadb"), pytest.param("sqlite3", id="sqlite")])
def test_redis_killed_and_restarted_empty_loses_no_event(
    tmp_path: Path, engine: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with capsys.disabled():
        outage(tmp_path, engine, PrivateRedis.kill, PrivateRedis.start, "killed, restarted empty after")


def test_redis_frozen_loses_no_event(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with capsys.disabled():
        outage(tmp_path, "pg", PrivateRedis.freeze, PrivateRedis.thaw, "frozen (SIGSTOP) for")
