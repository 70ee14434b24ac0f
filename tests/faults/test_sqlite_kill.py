"""The single-process SQLite run: the process is SIGKILLed while writers write, then started again on the
same port. Subscribers reconnect with ``since`` and must receive the event of every create that was
acknowledged, before or after the kill, once and in order."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.faults.harness import ABNORMAL_CLOSE, assert_clean, cluster, load


def test_every_acknowledged_create_reaches_a_subscriber_resuming_after_sigkill(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with cluster(tmp_path, "sqlite3", processes=1, redis=False) as group:
        run = load(group, actions=("create",))
        run.start()
        run.wait_writes(60)
        group.kill(0)
        group.restart(0)
        run.wait_writes(60)
        text, accounts = run.finish("SQLite, the only process SIGKILLed and restarted")
    with capsys.disabled():
        print(text)
    assert all(a.closes == [ABNORMAL_CLOSE] and a.connections == 2 for a in accounts), text
    assert_clean(text, accounts, group)
