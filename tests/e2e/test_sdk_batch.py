"""The official @directus/sdk (Node 22) subscribed while one REST request creates 5,000 items: that is 5,000
events, and the server folds those that queue up for the socket into a few frames
(``tidepool/realtime/coalesce.py``), so the SDK gets every item, once, in order, and is never closed. Before,
the socket took one frame per event and was closed with 1013 "send queue overflow" after about a thousand:
the SDK, which does not resume with ``since``, lost the rest."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.e2e.node import E2E, node
from tests.support.live import ADMIN_TOKEN, live_server, scratch_database
from tests.support.seed import seed_guide

pytestmark = pytest.mark.node

COUNT = 5000


def test_the_sdk_receives_every_item_of_a_5000_item_create(tmp_path: Path) -> None:
    # The wide frame gap of test_sdk.py (the SDK loses frames that share a network read, and a loaded machine
    # can leave Node unscheduled for a while): at most ten frames a second reach this socket.
    env = {"WEBSOCKETS_FRAME_GAP_MS": "100", "WEBSOCKETS_HEARTBEAT_ENABLED": "false"}
    with scratch_database(tmp_path, "sqlite3") as db_env, live_server({**db_env, **env}) as server:
        with server.client() as admin:
            seed_guide(admin)
        result = subprocess.run(
            [str(node()), str(E2E / "sdk_batch.mjs"), server.url, ADMIN_TOKEN, "messages", str(COUNT)],
            capture_output=True,
            text=True,
            timeout=240,
            cwd=E2E,
        )
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["init"] == "init"
    assert answer["closes"] == 0, "never closed"
    assert answer["others"] == []
    assert len(answer["created"]) == COUNT
    frames = answer["frames"]
    assert [key for frame in frames for key in frame["ids"]] == answer["created"], "every item once, in order"
    seqs = [frame["seq"] for frame in frames]
    assert seqs == sorted(set(seqs)), "seq increases frame by frame"
