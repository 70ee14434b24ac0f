"""A subscriber that stops reading is closed for overflow (its send queue is small here) and resumes with
``since``: it must end with every change it missed, once, in order, holding exactly the database's rows,
while the subscribers that kept reading are never disturbed."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.faults.harness import OVERFLOW_LOG, RESUME_CLOSE_CODE, Subscriber, assert_clean, cluster, load, wait_until

QUEUE_LIMIT = 8


def test_a_subscriber_closed_for_overflow_resumes_with_since(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env = {"WEBSOCKETS_SEND_QUEUE_LIMIT": str(QUEUE_LIMIT)}
    with cluster(tmp_path, "pg", env=env) as group:
        run = load(group, subscribers=1, interval=0.03, pad=16000)
        slow = Subscriber("slow", group.ws_urls(), home=0, rcvbuf=4096)
        run.subscribers.append(slow)
        run.start()
        run.wait_writes(40)
        slow.paused.set()
        paused = time.monotonic()
        wait_until(lambda: OVERFLOW_LOG in group.servers[0].output(), 60, "the overflow close")
        stalled = time.monotonic() - paused
        slow.paused.clear()
        run.wait_writes(40)
        text, accounts = run.finish(f"a subscriber stops reading for {stalled:.1f} s (queue limit {QUEUE_LIMIT})")
    with capsys.disabled():
        print(text)
    # Closed for overflow at least once, and only ever for that: under load the resumed socket may fall behind
    # again while its replay and the live stream arrive, and it resumes again (each close adds a connection).
    assert slow.closes and set(slow.closes) == {RESUME_CLOSE_CODE}, text
    assert slow.connections == len(slow.closes) + 1, text
    assert_clean(text, accounts, group)
