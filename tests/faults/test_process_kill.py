"""One of two processes SIGKILLed mid-stream: its subscribers reconnect to the other and resume with
``since``; its writers fail over. Every subscriber must learn every acknowledged change exactly once, in
order, and end holding what the database holds (a row deleted while it was away included)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.faults.harness import ABNORMAL_CLOSE, assert_clean, cluster, load


@pytest.mark.parametrize("engine", ["pg", pytest.param("mysql", id="mariadb", marks=pytest.mark.faults)])
def test_subscribers_of_a_killed_process_resume_on_the_other(
    tmp_path: Path, engine: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with cluster(tmp_path, engine) as group:
        run = load(group)
        run.start()
        run.wait_writes(80)
        group.kill(1)
        run.wait_writes(80)
        text, accounts = run.finish(f"process 1 of 2 SIGKILLed ({engine})")
    with capsys.disabled():
        print(text)
    moved = [a for a in accounts if a.name.startswith("s1.")]
    assert moved and all(a.connections == 2 and a.closes == [ABNORMAL_CLOSE] for a in moved), text
    assert_clean(text, accounts, group)
