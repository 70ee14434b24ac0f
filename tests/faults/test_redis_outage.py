"""Redis killed for 10 s mid-stream, then restarted empty (no persistence), under two processes.

While the bus is down, writes keep being acknowledged and each process's own subscribers keep getting the
events of writes made through that process; every event of every acknowledged write must still reach every
subscriber, in order, once, with numbers never given to another change (the new Redis starts with no
counter), and each subscriber must end holding exactly what the database holds.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.faults.harness import assert_clean, cluster, load

pytestmark = pytest.mark.faults

OUTAGE = 10.0


@pytest.mark.parametrize("engine", ["pg", pytest.param("mysql", id="mariadb")])
def test_redis_killed_and_restarted_empty_loses_no_event(
    tmp_path: Path, engine: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with cluster(tmp_path, engine) as group:
        assert group.redis is not None
        run = load(group)
        run.start()
        run.wait_writes(60)
        group.redis.kill()
        killed = time.monotonic()
        writes_before, events_before = run.acknowledged(), [sub.events() for sub in run.subscribers]
        time.sleep(OUTAGE)
        writes_during = run.acknowledged() - writes_before
        events_during = [sub.events() - n for sub, n in zip(run.subscribers, events_before, strict=True)]
        group.redis.start()
        outage = time.monotonic() - killed
        run.wait_writes(60)
        text, accounts = run.finish(f"Redis killed {outage:.1f} s, restarted empty ({engine})")
    text += f"\nwhile Redis was down: {writes_during} writes acknowledged, events per subscriber {events_during}"
    with capsys.disabled():
        print(text)
    assert writes_during > 0, "writes must keep working while Redis is down"
    assert all(events_during), f"a process's own subscribers get its writes' events without Redis\n{text}"
    assert_clean(text, accounts)
